//! A progress bar on stderr for runs long enough to wonder about (large meshes, many
//! kustomizations): the phase the run is in and the time so far.
//!
//! It appears only after [`DELAY`], so the usual sub-second scan prints nothing extra, and never
//! when stderr is not a terminal or `CI` is set: logs and pipes stay clean. It is cleared before
//! the report is written, so it never mixes with the output.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before the bar appears.
pub const DELAY: Duration = Duration::from_millis(1000);

/// The phases of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Reading,
    Parsing,
    Graph,
    Rules,
    Writing,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Reading,
        Phase::Parsing,
        Phase::Graph,
        Phase::Rules,
        Phase::Writing,
    ];

    fn words(self) -> &'static str {
        match self {
            Phase::Reading => "reading input",
            Phase::Parsing => "parsing manifests",
            Phase::Graph => "building the effective-policy graph",
            Phase::Rules => "running the rules",
            Phase::Writing => "writing the report",
        }
    }

    fn number(self) -> u64 {
        Phase::ALL.iter().position(|p| *p == self).unwrap_or(0) as u64 + 1
    }
}

/// Whether a bar may be shown: stderr is a terminal and `CI` is not set.
pub fn wanted(stderr_is_terminal: bool, ci: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && ci.is_none()
}

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Stops the thread that reveals the bar after [`DELAY`].
    reveal: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Progress {
    /// A bar on stderr when [`wanted`] there; otherwise one that does nothing.
    pub fn for_stderr() -> Progress {
        if wanted(
            std::io::stderr().is_terminal(),
            std::env::var_os("CI").filter(|v| !v.is_empty()),
        ) {
            Progress::delayed(ProgressDrawTarget::stderr(), DELAY)
        } else {
            Progress::off()
        }
    }

    /// Does nothing.
    pub fn off() -> Progress {
        Progress {
            bar: None,
            reveal: None,
        }
    }

    /// A bar drawn to `target` once `delay` has passed without [`Progress::finish`].
    fn delayed(target: ProgressDrawTarget, delay: Duration) -> Progress {
        let bar = ProgressBar::with_draw_target(
            Some(Phase::ALL.len() as u64),
            ProgressDrawTarget::hidden(),
        );
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})")
        {
            bar.set_style(style);
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let shown = bar.clone();
        let thread = std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(delay) {
                shown.set_draw_target(target);
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress {
            bar: Some(bar),
            reveal: Some((stop, thread)),
        }
    }

    /// Whether a bar may appear in this run.
    pub fn is_on(&self) -> bool {
        self.bar.is_some()
    }

    /// The run enters `phase`.
    pub fn phase(&self, phase: Phase) {
        if let Some(bar) = &self.bar {
            bar.set_position(phase.number());
            bar.set_message(phase.words());
        }
    }

    /// The run enters `phase`, for one part of the input (`overlays/prod`).
    pub fn phase_of(&self, phase: Phase, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_position(phase.number());
            bar.set_message(format!("{}: {what}", phase.words()));
        }
    }

    /// Runs `f` (which writes to stderr) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar for good; call before writing the report.
    pub fn finish(&mut self) {
        if let Some((stop, thread)) = self.reveal.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    #[cfg(test)]
    fn position(&self) -> Option<(u64, String)> {
        self.bar.as_ref().map(|b| (b.position(), b.message()))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::TermLike;

    use super::*;

    #[test]
    fn only_on_a_terminal_and_never_in_ci() {
        assert!(wanted(true, None));
        assert!(!wanted(false, None));
        assert!(!wanted(true, Some("true".into())));
    }

    #[test]
    fn phases_advance_the_bar() {
        let p = Progress::delayed(ProgressDrawTarget::hidden(), DELAY);
        p.phase(Phase::Parsing);
        assert_eq!(p.position(), Some((2, "parsing manifests".to_owned())));
        p.phase_of(Phase::Rules, "overlays/prod");
        assert_eq!(
            p.position(),
            Some((4, "running the rules: overlays/prod".to_owned()))
        );
    }

    /// A terminal that keeps what is written to it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl Screen {
        fn text(&self) -> String {
            self.0.lock().unwrap().clone()
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            self.0.lock().unwrap().push('\n');
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_short_run_never_draws_and_a_long_one_does() {
        let screen = Screen::default();
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        let mut short = Progress::delayed(target, DELAY);
        short.phase(Phase::Reading);
        short.finish();
        assert!(!short.is_on());
        assert_eq!(screen.text(), "");

        let screen = Screen::default();
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        let long = Progress::delayed(target, Duration::ZERO);
        long.phase(Phase::Parsing);
        let mut waited = Duration::ZERO;
        while !screen.text().contains("parsing manifests") && waited < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
            waited += Duration::from_millis(20);
        }
        assert!(
            screen.text().contains("[2/5] parsing manifests"),
            "{}",
            screen.text()
        );
    }

    #[test]
    fn off_does_nothing() {
        let mut p = Progress::off();
        p.phase(Phase::Graph);
        assert_eq!(p.suspend(|| 7), 7);
        assert!(!p.is_on());
        p.finish();
    }
}
