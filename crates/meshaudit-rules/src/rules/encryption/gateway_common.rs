//! Lookups the Gateway TLS rules share: which workloads a Gateway configures, how they are
//! exposed, and the field paths of a server's TLS settings.

use meshaudit_model::k8s::Service;
use meshaudit_model::{Inventory, Step, WorkloadId};

use meshaudit_engine::Because;

use crate::context::Context;
use crate::finding::Finding;

/// Services that select workload `index`.
pub fn workload_services<'a>(ctx: &'a Context<'_>, index: WorkloadId) -> Vec<&'a Service> {
    let inv: &'a Inventory = ctx.inventory;
    match ctx.graph().workloads.get(index.index()) {
        Some(node) => node.services.iter().map(|&s| inv.service(s)).collect(),
        None => Vec::new(),
    }
}

/// Whether a Service makes its pods reachable from outside the cluster.
pub fn is_external(service: &Service) -> bool {
    matches!(service.spec.service_type(), "LoadBalancer" | "NodePort")
        || !service.spec.external_ips.is_empty()
}

/// How the gateway workloads are reachable.
pub enum Exposure {
    /// No selected workload is in the input.
    Unknown,
    /// Some Service of a selected workload is LoadBalancer/NodePort or has externalIPs.
    External(ExposureLines),
    /// Workloads are in the input and only cluster-internal Services select them.
    Internal(ExposureLines),
}

/// One evidence line per workload and Service, and each Service's `spec.type` as a fact (for
/// the finding's related locations).
#[derive(Default)]
pub struct ExposureLines {
    pub lines: Vec<String>,
    pub services: Vec<Because>,
}

impl ExposureLines {
    /// Adds the first `n` lines to `f` as evidence, and the Services they name as related
    /// locations.
    pub fn add_to(&self, inv: &Inventory, f: &mut Finding, n: usize) {
        for l in self.lines.iter().take(n) {
            f.evidence.push(l.clone());
        }
        for b in self.services.iter().take(n) {
            f.relate(inv, b);
        }
    }
}

/// Exposure of the gateway's workloads, with one evidence line per workload.
pub fn exposure(ctx: &Context<'_>, workloads: &[WorkloadId]) -> Exposure {
    if workloads.is_empty() {
        return Exposure::Unknown;
    }
    let inv = ctx.inventory;
    let mut out = ExposureLines::default();
    let lines = &mut out.lines;
    let mut external = false;
    for &i in workloads {
        let w = &inv.workloads[i];
        let services = workload_services(ctx, i);
        if services.is_empty() {
            lines.push(format!(
                "{} {}/{} is selected by the Gateway; no Service in the input selects it",
                w.kind, w.namespace, w.name
            ));
            continue;
        }
        for s in services {
            let ext = is_external(s);
            external |= ext;
            let obj = inv.object(s.object);
            out.services.push(Because::at(
                s.object,
                &[Step::Key("spec"), Step::Key("type")],
                format!(
                    "type {}{}",
                    s.spec.service_type(),
                    if ext {
                        ", reachable from outside the cluster"
                    } else {
                        ""
                    }
                ),
            ));
            lines.push(format!(
                "{} {}/{} is selected by the Gateway and exposed by Service {}/{} ({}) of type {}{}",
                w.kind,
                w.namespace,
                w.name,
                s.namespace,
                s.name,
                obj.origin,
                s.spec.service_type(),
                if ext {
                    ": reachable from outside the cluster"
                } else {
                    ""
                }
            ));
        }
    }
    if external {
        Exposure::External(out)
    } else {
        Exposure::Internal(out)
    }
}

/// `spec.servers[i].tls.<field>`.
pub fn tls_path<'a>(server: usize, field: &'a str) -> [Step<'a>; 5] {
    [
        Step::Key("spec"),
        Step::Key("servers"),
        Step::Index(server),
        Step::Key("tls"),
        Step::Key(field),
    ]
}

/// A short name for server `i` of a Gateway: "port 443 (https)".
pub fn server_label(server: &meshaudit_model::istio::GatewayServer, i: usize) -> String {
    match &server.port {
        Some(p) => match &p.name {
            Some(n) => format!("port {} ({n})", p.number),
            None => format!("port {}", p.number),
        },
        None => format!("server {i}"),
    }
}

/// The server's hosts, comma-separated, or "no hosts".
pub fn hosts_text(server: &meshaudit_model::istio::GatewayServer) -> String {
    if server.hosts.is_empty() {
        "no hosts".to_owned()
    } else {
        server.hosts.join(", ")
    }
}

/// The upper-cased TLS mode of a server, if it has TLS settings.
pub fn tls_mode(server: &meshaudit_model::istio::GatewayServer) -> Option<String> {
    server
        .tls
        .as_ref()
        .and_then(|t| t.mode.as_deref())
        .map(str::to_ascii_uppercase)
}

/// Whether the gateway terminates TLS on this server (so its TLS parameters take effect).
pub fn terminates_tls(server: &meshaudit_model::istio::GatewayServer) -> bool {
    matches!(
        tls_mode(server).as_deref(),
        Some("SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL" | "ISTIO_MUTUAL")
    )
}
