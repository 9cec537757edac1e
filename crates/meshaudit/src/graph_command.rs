//! `meshaudit graph`: builds the effective-policy graph, filters it and streams it out.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use meshaudit_engine::edge_rows::{ClientFilter, EdgeRows};
use meshaudit_engine::graph::{Client, ServerPortId};
use meshaudit_model::{Inventory, Mesh};
use meshaudit_report::graph::{
    client_id, other_mesh_id, workload_id, write_graph, GraphFormat, GraphView, OTHER_MESHED,
    OTHER_UNMESHED,
};

use crate::cli::{GraphArgs, GraphFormatArg};
use crate::progress::{Phase, Progress};
use crate::read_paths;

/// Does a `--from`/`--to` value select the workload or group `id`?
fn selects(selector: &str, id: &str) -> bool {
    let selector = selector.trim_end_matches("/*");
    if selector == id {
        return true;
    }
    // A bare namespace selects every workload in it.
    !selector.contains('/')
        && !selector.starts_with('*')
        && id.split_once('/').is_some_and(|(ns, _)| ns == selector)
}

/// `*istio`, `*linkerd`, `*consul`: the catch-all group of another mesh's workloads.
fn is_mesh_group(selector: &str) -> bool {
    [Mesh::Istio, Mesh::Linkerd, Mesh::Consul]
        .into_iter()
        .any(|m| selector == other_mesh_id(m))
}

fn check_selector(inventory: &Inventory, selector: &str, allow_groups: bool) -> anyhow::Result<()> {
    let s = selector.trim_end_matches("/*");
    if allow_groups && (s == OTHER_MESHED || s == OTHER_UNMESHED || is_mesh_group(s)) {
        return Ok(());
    }
    let known = inventory.workloads.iter().any(|w| {
        let id = format!("{}/{}", w.namespace, w.name);
        selects(s, &id)
    });
    if known {
        Ok(())
    } else {
        anyhow::bail!(
            "`{selector}` names no workload in the input (use namespace/name or a namespace{})",
            if allow_groups {
                ", or *meshed / *unmeshed / *istio / *linkerd"
            } else {
                ""
            }
        )
    }
}

pub fn run(args: &GraphArgs) -> anyhow::Result<ExitCode> {
    let mut progress = Progress::for_stderr();
    let scanned = read_paths("graph", &args.paths, args.verbose, &progress)?;
    let inventory = &scanned.ingested.inventory;
    for s in &args.from {
        check_selector(inventory, s, true)?;
    }
    for s in &args.to {
        check_selector(inventory, s, false)?;
    }
    progress.phase(Phase::Graph);
    let graph = meshaudit_engine::build_graph(inventory);
    let filter = if args.from.is_empty() {
        ClientFilter::all(&graph)
    } else {
        ClientFilter::only(&graph, |client: Client| {
            let id = client_id(inventory, client);
            args.from.iter().any(|s| selects(s, &id))
        })
    };
    let servers: Vec<ServerPortId> = ServerPortId::enumerate(&graph.servers)
        .filter(|(_, server)| {
            args.to.is_empty() || {
                let id = workload_id(inventory, server.workload);
                args.to.iter().any(|s| selects(s, &id))
            }
        })
        .filter(|(_, server)| args.port.is_none_or(|p| server.port == p))
        .map(|(s, _)| s)
        .collect();
    let rows = EdgeRows::new(&graph, inventory, filter);
    let view = GraphView {
        inventory,
        graph: &graph,
        rows: &rows,
        servers,
        expand: args.expand,
        plaintext_only: args.plaintext,
        allowed_only: args.allowed,
    };
    let format = if args.explain {
        GraphFormat::Explain
    } else {
        match args.format {
            GraphFormatArg::Table => GraphFormat::Table,
            GraphFormatArg::Json => GraphFormat::Json,
            GraphFormatArg::Dot => GraphFormat::Dot,
            GraphFormatArg::Mermaid => GraphFormat::Mermaid,
        }
    };
    // The bar stays up while the graph streams to a file or a pipe; output to the terminal
    // itself goes after it, so that the two do not interleave.
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    if to_terminal {
        progress.finish();
    } else {
        progress.phase(Phase::Writing);
    }
    match args.output.as_deref() {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            write_graph(&view, format, &mut out)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            write_graph(&view, format, &mut out)?;
        }
    }
    progress.finish();
    let mut err = std::io::stderr();
    for e in &scanned.errors {
        let _ = writeln!(err, "error: {e}");
    }
    let code = if scanned.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    };
    // The inventory and graph go back to the operating system at exit (see skip_drop).
    std::mem::forget(rows);
    std::mem::forget(graph);
    std::mem::forget(scanned);
    Ok(code)
}
