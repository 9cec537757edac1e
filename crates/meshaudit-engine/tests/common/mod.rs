//! Helpers the scenario test files share.
// Each test file uses the helpers it needs.
#![allow(dead_code)]

use std::sync::Arc;

use meshaudit_engine::graph::Client;
use meshaudit_ingest::{ingest, SourceText};
use meshaudit_model::{Inventory, WorkloadId};

/// The inventory of a scenario's YAML, which must be valid input.
pub fn mesh(yaml: &str) -> Inventory {
    let ingested = ingest(&[SourceText {
        path: Arc::from("scenario.yaml"),
        text: yaml.to_owned(),
    }]);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    ingested.inventory
}

/// A client by `namespace/name`, or a catch-all group (`*meshed`, `*unmeshed`).
pub fn client(inv: &Inventory, id: &str) -> Client {
    match id {
        "*meshed" => Client::OtherMeshed,
        "*unmeshed" => Client::OtherUnmeshed,
        _ => Client::Workload(
            WorkloadId::enumerate(&inv.workloads)
                .find(|(_, w)| format!("{}/{}", w.namespace, w.name) == id)
                .map(|(i, _)| i)
                .unwrap_or_else(|| panic!("no workload {id}")),
        ),
    }
}
