//! `meshaudit graph`: builds the effective-policy graph, filters its edges and renders them.

use std::io::Write;
use std::process::ExitCode;

use meshaudit_engine::graph::{Edge, Transport};
use meshaudit_model::Inventory;
use meshaudit_report::graph::{
    client_id, dot, edge_gets_through, explain, json, mermaid, table, workload_id, GraphView,
    OTHER_MESHED, OTHER_UNMESHED,
};

use crate::cli::{GraphArgs, GraphFormatArg};
use crate::progress::{Phase, Progress};
use crate::{read_paths, write_output};

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

fn check_selector(inventory: &Inventory, selector: &str, allow_groups: bool) -> anyhow::Result<()> {
    let s = selector.trim_end_matches("/*");
    if allow_groups && (s == OTHER_MESHED || s == OTHER_UNMESHED) {
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
                ", or *meshed / *unmeshed"
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
    let edges: Vec<Edge<'_>> = graph
        .edges()
        .filter(|e| {
            args.from.is_empty()
                || args
                    .from
                    .iter()
                    .any(|s| selects(s, &client_id(inventory, e.client)))
        })
        .filter(|e| {
            args.to.is_empty()
                || args
                    .to
                    .iter()
                    .any(|s| selects(s, &workload_id(inventory, e.server.workload)))
        })
        .filter(|e| args.port.is_none_or(|p| e.server.port == p))
        .filter(|e| !args.plaintext || e.group.transport == Transport::Plaintext)
        .collect();
    let mut view = GraphView {
        inventory,
        graph: &graph,
        edges,
    };
    if args.allowed {
        let kept: Vec<Edge<'_>> = view
            .edges
            .iter()
            .filter(|e| edge_gets_through(&view, e))
            .copied()
            .collect();
        view.edges = kept;
    }
    progress.phase(Phase::Writing);
    let rendered = if args.explain {
        explain(&view)
    } else {
        match args.format {
            GraphFormatArg::Table => table(&view),
            GraphFormatArg::Json => json(&view),
            GraphFormatArg::Dot => dot(&view),
            GraphFormatArg::Mermaid => mermaid(&view),
        }
    };
    progress.finish();
    write_output(args.output.as_deref(), &rendered)?;
    let mut err = std::io::stderr();
    for e in &scanned.errors {
        let _ = writeln!(err, "error: {e}");
    }
    Ok(if scanned.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
