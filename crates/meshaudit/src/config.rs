//! `meshaudit.toml`: the same settings as the flags, plus exclusions and severity overrides.
//! Parsed with spans so every mistake is reported at its line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use meshaudit_rules::selection::validate_selector;
use meshaudit_rules::{rule, ExpiryThresholds, Severity};
use toml_span::value::{Table, ValueInner};
use toml_span::{Span, Value};

pub const FILE_NAME: &str = "meshaudit.toml";

/// A validated config file. `None` fields were not set.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// `None` means "never fail".
    pub fail_on: Option<Option<Severity>>,
    pub min_severity: Option<Severity>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude_namespaces: Vec<String>,
    pub exclude_resources: Vec<String>,
    pub baseline: Option<PathBuf>,
    pub severity: BTreeMap<String, Severity>,
    /// `[certificates]`: when certificate expiry becomes a finding (defaults when absent).
    pub expiry: ExpiryThresholds,
}

/// Every problem in a config file, each with its place.
#[derive(Debug)]
pub struct ConfigErrors {
    pub path: PathBuf,
    pub errors: Vec<(usize, usize, String)>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (line, col, msg)) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{line}:{col}: {msg}", self.path.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

const KEYS: &[&str] = &[
    "fail-on",
    "min-severity",
    "select",
    "ignore",
    "exclude-namespaces",
    "exclude-resources",
    "baseline",
    "severity",
    "certificates",
];

const CERTIFICATE_KEYS: &[&str] = &[
    "expiry-critical-days",
    "expiry-high-days",
    "expiry-medium-days",
];

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Validator<'t> {
    text: &'t str,
    errors: Vec<(usize, usize, String)>,
}

impl Validator<'_> {
    fn error(&mut self, span: Span, msg: impl Into<String>) {
        let (l, c) = line_col(self.text, span.start);
        self.errors.push((l, c, msg.into()));
    }

    fn string(&mut self, key: &str, v: &Value<'_>) -> Option<String> {
        if let Some(s) = v.as_str() {
            Some(s.to_owned())
        } else {
            let found = type_name(v);
            self.error(v.span, format!("`{key}` must be a string, found {found}"));
            None
        }
    }

    fn strings(&mut self, key: &str, v: &Value<'_>) -> Vec<(String, Span)> {
        match v.as_array() {
            Some(items) => items
                .iter()
                .filter_map(|item| match item.as_str() {
                    Some(s) => Some((s.to_owned(), item.span)),
                    None => {
                        let found = type_name(item);
                        self.error(
                            item.span,
                            format!("`{key}` must list strings, found {found}"),
                        );
                        None
                    }
                })
                .collect(),
            None => {
                let found = type_name(v);
                self.error(
                    v.span,
                    format!("`{key}` must be an array of strings, found {found}"),
                );
                Vec::new()
            }
        }
    }

    fn severity(&mut self, key: &str, v: &Value<'_>) -> Option<Severity> {
        let s = self.string(key, v)?;
        match s.parse() {
            Ok(sev) => Some(sev),
            Err(msg) => {
                self.error(v.span, format!("`{key}`: {msg}"));
                None
            }
        }
    }

    /// A positive whole number of days.
    fn days(&mut self, key: &str, v: &Value<'_>) -> Option<i64> {
        match v.as_integer() {
            Some(n) if n > 0 => Some(n),
            Some(n) => {
                self.error(
                    v.span,
                    format!("`{key}` must be a positive number of days, found {n}"),
                );
                None
            }
            None => {
                let found = type_name(v);
                self.error(
                    v.span,
                    format!("`{key}` must be a positive whole number of days, found {found}"),
                );
                None
            }
        }
    }

    /// `[certificates]`: expiry thresholds, each optional, ordered critical <= high <= medium.
    fn certificates(&mut self, v: &Value<'_>) -> ExpiryThresholds {
        let mut expiry = ExpiryThresholds::default();
        let Some(table) = v.as_table() else {
            let found = type_name(v);
            self.error(
                v.span,
                format!("`certificates` must be a table (`[certificates]`), found {found}"),
            );
            return expiry;
        };
        let mut spans: Vec<(&str, Span)> = Vec::new();
        for (key, value) in table {
            let k = key.name.as_ref();
            let name = format!("certificates.{k}");
            let slot = match k {
                "expiry-critical-days" => &mut expiry.critical_days,
                "expiry-high-days" => &mut expiry.high_days,
                "expiry-medium-days" => &mut expiry.medium_days,
                _ => {
                    let suggestion = suggest(CERTIFICATE_KEYS, k);
                    self.error(
                        key.span,
                        format!(
                            "unknown key `{name}`{suggestion}; known keys in [certificates]: {}",
                            CERTIFICATE_KEYS.join(", ")
                        ),
                    );
                    continue;
                }
            };
            if let Some(days) = self.days(&name, value) {
                *slot = days;
                spans.push((k, value.span));
            }
        }
        let span_of = |k: &str| spans.iter().find(|(key, _)| *key == k).map(|(_, s)| *s);
        let pairs = [
            (
                "expiry-critical-days",
                expiry.critical_days,
                "expiry-high-days",
                expiry.high_days,
            ),
            (
                "expiry-high-days",
                expiry.high_days,
                "expiry-medium-days",
                expiry.medium_days,
            ),
        ];
        for (lower, lower_days, upper, upper_days) in pairs {
            if lower_days > upper_days {
                // Point at whichever of the two the file sets (the later one if both).
                let span = span_of(upper).or_else(|| span_of(lower)).unwrap_or(v.span);
                self.error(
                    span,
                    format!(
                        "`certificates`: {lower} ({lower_days}) must not be larger than {upper} ({upper_days}); thresholds go critical <= high <= medium (defaults 7, 30, 60)"
                    ),
                );
            }
        }
        expiry
    }

    fn selectors(&mut self, key: &str, v: &Value<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for (s, span) in self.strings(key, v) {
            match validate_selector(&s) {
                Ok(()) => out.push(s),
                Err(e) => self.error(span, format!("`{key}`: {e}")),
            }
        }
        out
    }
}

fn type_name(v: &Value<'_>) -> &'static str {
    if v.as_str().is_some() {
        "a string"
    } else if v.as_array().is_some() {
        "an array"
    } else if v.as_table().is_some() {
        "a table"
    } else if v.as_bool().is_some() {
        "a boolean"
    } else {
        "a number"
    }
}

/// ` (did you mean `x`?)` when `k` is a known key spelled with `_` or without dashes.
fn suggest(keys: &[&str], k: &str) -> String {
    keys.iter()
        .find(|known| {
            known.replace('-', "_") == k || known.replace('-', "") == k.replace(['-', '_'], "")
        })
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// Parses and validates config text; `path` is for messages and relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let fail = |errors| ConfigErrors {
        path: path.to_owned(),
        errors,
    };
    let mut root = toml_span::parse(text).map_err(|e| {
        let (l, c) = e
            .line_info
            .map_or_else(|| line_col(text, e.span.start), |(l, c)| (l + 1, c + 1));
        fail(vec![(l, c, format!("invalid TOML: {e}"))])
    })?;
    let mut v = Validator {
        text,
        errors: Vec::new(),
    };
    let mut config = Config::default();
    let root_span = root.span;
    let table: Table<'_> = match root.take() {
        ValueInner::Table(t) => t,
        _ => {
            v.error(root_span, "the config must be a table");
            return Err(fail(v.errors));
        }
    };
    for (key, value) in &table {
        let k = key.name.as_ref();
        match k {
            "fail-on" => {
                if let Some(s) = v.string(k, value) {
                    if s.eq_ignore_ascii_case("never") {
                        config.fail_on = Some(None);
                    } else {
                        match s.parse::<Severity>() {
                            Ok(sev) => config.fail_on = Some(Some(sev)),
                            Err(msg) => v.error(value.span, format!("`fail-on`: {msg}, or never")),
                        }
                    }
                }
            }
            "min-severity" => config.min_severity = v.severity(k, value),
            "select" => config.select = v.selectors(k, value),
            "ignore" => config.ignore = v.selectors(k, value),
            "exclude-namespaces" => {
                config.exclude_namespaces =
                    v.strings(k, value).into_iter().map(|(s, _)| s).collect();
            }
            "exclude-resources" => {
                for (s, span) in v.strings(k, value) {
                    let parts = s.split('/').count();
                    if (parts == 2 || parts == 3) && s.split('/').all(|p| !p.is_empty()) {
                        config.exclude_resources.push(s);
                    } else {
                        v.error(
                            span,
                            format!("`exclude-resources`: `{s}` must be Kind/namespace/name or Kind/name (each part may use *)"),
                        );
                    }
                }
            }
            "baseline" => {
                if let Some(s) = v.string(k, value) {
                    let base = path.parent().unwrap_or(Path::new("."));
                    config.baseline = Some(base.join(s));
                }
            }
            "severity" => {
                match value.as_table() {
                    Some(overrides) => {
                        for (code, sev) in overrides {
                            match rule(&code.name) {
                            Some(r) => {
                                if let Some(s) = v.severity(&format!("severity.{}", code.name), sev) {
                                    config.severity.insert(r.code.to_owned(), s);
                                }
                            }
                            None => v.error(
                                code.span,
                                format!("`severity`: `{}` is not a rule code (see `meshaudit rules`)", code.name),
                            ),
                        }
                        }
                    }
                    None => {
                        let found = type_name(value);
                        v.error(
                            value.span,
                            format!(
                                "`severity` must be a table of CODE = \"severity\", found {found}"
                            ),
                        );
                    }
                }
            }
            "certificates" => config.expiry = v.certificates(value),
            _ => {
                let suggestion = suggest(KEYS, k);
                v.error(
                    key.span,
                    format!(
                        "unknown key `{k}`{suggestion}; known keys: {}",
                        KEYS.join(", ")
                    ),
                );
            }
        }
    }
    if v.errors.is_empty() {
        Ok(config)
    } else {
        Err(fail(v.errors))
    }
}

/// Loads the config: `explicit` if given (it must exist), else `./meshaudit.toml` if present.
pub fn load(explicit: Option<&Path>, disabled: bool) -> anyhow::Result<Config> {
    if disabled {
        return Ok(Config::default());
    }
    let path = match explicit {
        Some(p) => p.to_owned(),
        None => {
            let p = PathBuf::from(FILE_NAME);
            if !p.is_file() {
                return Ok(Config::default());
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read config: {e}", path.display()))?;
    Ok(parse(&text, &path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<(usize, usize, String)> {
        parse(text, Path::new("meshaudit.toml")).unwrap_err().errors
    }

    #[test]
    fn a_full_config_parses() {
        let c = parse(
            "fail-on = \"medium\"\nmin-severity = \"low\"\nselect = [\"AUTHN\", \"authorization\"]\nignore = [\"NET001\"]\nexclude-namespaces = [\"kube-*\"]\nexclude-resources = [\"Deployment/legacy/*\"]\nbaseline = \"base.json\"\n[severity]\nNET001 = \"low\"\n",
            Path::new("conf/meshaudit.toml"),
        )
        .unwrap();
        assert_eq!(c.fail_on, Some(Some(Severity::Medium)));
        assert_eq!(c.select, vec!["AUTHN", "authorization"]);
        assert_eq!(c.severity.get("NET001"), Some(&Severity::Low));
        assert_eq!(c.baseline, Some(PathBuf::from("conf/base.json")));
        let never = parse("fail-on = \"never\"\n", Path::new("m.toml")).unwrap();
        assert_eq!(never.fail_on, Some(None));
    }

    #[test]
    fn mistakes_point_into_the_file() {
        let e = errors("fail-on = \"hgh\"\nselect = [\"NOPE1\"]\nfail_on2 = 1\n[severity]\nXYZ001 = \"low\"\nNET001 = 3\n");
        let lines: Vec<usize> = e.iter().map(|(l, _, _)| *l).collect();
        assert!(lines.contains(&1), "{e:?}");
        assert!(lines.contains(&2), "{e:?}");
        assert!(lines.contains(&3), "{e:?}");
        assert!(lines.contains(&5), "{e:?}");
        assert!(lines.contains(&6), "{e:?}");
        assert!(e
            .iter()
            .any(|(_, _, m)| m.contains("unknown severity `hgh`")));
        assert!(e
            .iter()
            .any(|(_, _, m)| m.contains("`NOPE1` matches no rule")));
    }

    #[test]
    fn invalid_toml_has_a_line() {
        let e = errors("select = [\n\"a\",\n= oops\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].0 >= 2, "{e:?}");
        assert!(e[0].2.starts_with("invalid TOML"));
    }

    #[test]
    fn certificate_thresholds_parse_with_defaults_for_the_rest() {
        let c = parse(
            "[certificates]\nexpiry-critical-days = 14\nexpiry-medium-days = 90\n",
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(
            c.expiry,
            ExpiryThresholds {
                critical_days: 14,
                high_days: 30,
                medium_days: 90
            }
        );
        assert_eq!(
            parse("", Path::new("m.toml")).unwrap().expiry,
            ExpiryThresholds::default()
        );
    }

    #[test]
    fn certificate_threshold_mistakes_point_into_the_file() {
        let e = errors("[certificates]\nexpiry-critical-days = 0\nexpiry-high-days = \"30\"\nexpiry_medium_days = 5\n");
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!((e[0].0, e[0].1), (2, 24), "{e:?}");
        assert!(e[0].2.contains("positive"), "{e:?}");
        assert_eq!(e[1].0, 3, "{e:?}");
        assert_eq!(e[2].0, 4, "{e:?}");
        assert!(
            e[2].2.contains("did you mean `expiry-medium-days`"),
            "{e:?}"
        );
        // Order: high 40 > medium 20 is reported at the medium line.
        let e = errors("[certificates]\nexpiry-high-days = 40\nexpiry-medium-days = 20\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, 3, "{e:?}");
        assert!(e[0].2.contains("critical <= high <= medium"), "{e:?}");
        // Against a default: critical 45 > high (default 30).
        let e = errors("[certificates]\nexpiry-critical-days = 45\n");
        assert_eq!(e[0].0, 2, "{e:?}");
        let e = errors("certificates = 3\n");
        assert!(e[0].2.contains("must be a table"), "{e:?}");
    }

    #[test]
    fn typo_suggestion() {
        let e = errors("fail_on = \"high\"\n");
        assert!(e[0].2.contains("did you mean `fail-on`"), "{e:?}");
    }
}
