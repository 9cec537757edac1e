//! One decision: a client on a pod port, through the port's Server (its authorizations, then
//! its routes) or the pod's default policy.

use meshaudit_model::linkerd::DefaultInboundPolicy;
use meshaudit_model::{LinkerdServerId, Step, WorkloadId};

use super::{
    describe_default, Admits, Authorization, AuthzSource, DefaultPolicy, LinkerdClient,
    LinkerdDecision, LinkerdPolicy,
};
use crate::authorization::{Decision, PeerIdentity};
use crate::evidence::Because;

/// The client in a few words, for evidence.
pub fn describe_client(client: &LinkerdClient<'_>) -> String {
    match client {
        LinkerdClient::Meshed { peer } => match peer {
            PeerIdentity::Known {
                namespace,
                service_account,
            } => {
                format!("the meshed client running as ServiceAccount {namespace}/{service_account}")
            }
            PeerIdentity::Namespace { namespace } => {
                format!("a meshed client of namespace `{namespace}` that no authorization names by service account")
            }
            PeerIdentity::Other => "a meshed client that no authorization names".to_owned(),
            PeerIdentity::None => "a client without a mesh identity".to_owned(),
        },
        LinkerdClient::Unauthenticated { from } => {
            format!("a client without a mesh identity from {}", from.as_str())
        }
    }
}

fn decision_of(admits: Admits) -> Decision {
    match admits {
        Admits::Yes => Decision::Allowed,
        Admits::Some => Decision::Conditional,
        Admits::No => Decision::Denied,
    }
}

pub(super) fn authorize(
    lp: &LinkerdPolicy<'_>,
    w: WorkloadId,
    port: u16,
    client: &LinkerdClient<'_>,
    default: &DefaultPolicy,
) -> LinkerdDecision {
    match lp.server_for(w, port) {
        None => by_default(lp, w, port, client, default),
        Some(s) => by_server(lp, s, w, port, client),
    }
}

fn workload_text(lp: &LinkerdPolicy<'_>, w: WorkloadId) -> String {
    let wl = &lp.inventory().workloads[w];
    format!("{} {}/{}", wl.kind, wl.namespace, wl.name)
}

fn by_default(
    lp: &LinkerdPolicy<'_>,
    w: WorkloadId,
    port: u16,
    client: &LinkerdClient<'_>,
    default: &DefaultPolicy,
) -> LinkerdDecision {
    let policy = default.policy;
    let mut because = default.because.clone();
    because.push(Because::default(format!(
        "no Server selects port {port} of {}, so the default policy {policy} applies: it admits {}",
        workload_text(lp, w),
        describe_default(policy)
    )));
    let admits = if policy == DefaultInboundPolicy::Deny {
        Admits::No
    } else {
        // No resource writes the default policy, so it is no `Authorization` (which names its
        // source): only what it requires is checked.
        let (authentication, networks) = lp.default_policy_parts(policy);
        lp.requirements_admit(&authentication, &networks.addrs, client)
    };
    let decision = decision_of(admits);
    if decision == Decision::Denied {
        because.push(Because::default(format!(
            "the default policy {policy} does not admit {}",
            describe_client(client)
        )));
    }
    let mut deciders: Vec<_> = default.because.iter().filter_map(|b| b.object).collect();
    deciders.dedup();
    LinkerdDecision {
        decision,
        audit: policy == DefaultInboundPolicy::Audit && decision != Decision::Denied,
        deciders,
        because,
        conditions: Vec::new(),
    }
}

/// The authorizations of a list that admit the client, and the combined answer.
fn evaluate<'x>(
    lp: &LinkerdPolicy<'_>,
    authzs: impl IntoIterator<Item = &'x Authorization<'x>>,
    client: &LinkerdClient<'_>,
    skip_audit: bool,
) -> (Admits, Vec<(&'x Authorization<'x>, Admits)>) {
    let mut all = Admits::No;
    let mut admitting = Vec::new();
    for a in authzs {
        if skip_audit
            && matches!(
                a.source,
                AuthzSource::AccessPolicy {
                    policy: DefaultInboundPolicy::Audit,
                    ..
                }
            )
        {
            continue;
        }
        let r = lp.admits(a, client);
        if r != Admits::No {
            admitting.push((a, r));
        }
        all = all.or(r);
    }
    (all, admitting)
}

fn by_server(
    lp: &LinkerdPolicy<'_>,
    s: LinkerdServerId,
    w: WorkloadId,
    port: u16,
    client: &LinkerdClient<'_>,
) -> LinkerdDecision {
    let inv = lp.inventory();
    let server = &inv.linkerd.servers[s];
    let facts = lp.server(s);
    let mut because = vec![Because::at(
        server.object,
        &[Step::Key("spec"), Step::Key("port")],
        format!(
            "Server {}/{} selects port {port} of {}",
            server.namespace,
            server.name,
            workload_text(lp, w)
        ),
    )];
    for &other in lp.shadowed_at(w, port) {
        let o = &inv.linkerd.servers[other];
        because.push(Because::object(
            o.object,
            format!(
                "Server {}/{} selects the same port; Linkerd 2.18 and later apply the older one (then the first by name), earlier releases either",
                o.namespace, o.name
            ),
        ));
    }
    let mut deciders = vec![server.object];
    let mut conditions = Vec::new();
    let (server_admits, server_hits) = evaluate(lp, &facts.authorizations, client, false);

    let (decision, audit) = if facts.routes.is_empty() {
        let (without_audit, _) = evaluate(lp, &facts.authorizations, client, true);
        for (a, r) in &server_hits {
            deciders.extend(a.objects.iter().copied());
            because.extend(a.because.iter().cloned());
            if *r == Admits::Some {
                conditions.push(format!("{}: only from {}", a.label, a.networks.text));
            }
        }
        (
            decision_of(server_admits),
            server_admits != Admits::No && without_audit != server_admits,
        )
    } else {
        let mut all_yes = true;
        let mut any = false;
        let mut any_without_audit_change = false;
        for &route in &facts.routes {
            let rf = lp.route(route);
            let (route_admits, route_hits) = evaluate(lp, &rf.authorizations, client, false);
            let combined = route_admits.or(server_admits);
            let (route_plain, _) = evaluate(lp, &rf.authorizations, client, true);
            let (server_plain, _) = evaluate(lp, &facts.authorizations, client, true);
            if combined != Admits::No && route_plain.or(server_plain) != combined {
                any_without_audit_change = true;
            }
            if combined != Admits::Yes {
                all_yes = false;
            }
            if combined == Admits::No {
                continue;
            }
            any = true;
            deciders.push(lp.route_object(route));
            let hits = route_hits.iter().chain(server_hits.iter());
            let mut only_from = Vec::new();
            for (a, r) in hits {
                deciders.extend(a.objects.iter().copied());
                because.extend(a.because.iter().cloned());
                if *r == Admits::Some {
                    only_from.push(a.networks.text.clone());
                }
            }
            let mut condition = format!("{}: {}", lp.route_label(route), rf.matches);
            if combined == Admits::Some {
                condition.push_str(&format!(" (only from {})", only_from.join(" or ")));
            }
            conditions.push(condition);
        }
        because.push(Because::object(
            server.object,
            format!(
                "{} route(s) are attached to Server {}/{}: requests that match none of them get 404",
                facts.routes.len(),
                server.namespace,
                server.name
            ),
        ));
        let decision = if !any {
            Decision::Denied
        } else if all_yes {
            conditions.clear();
            Decision::Allowed
        } else {
            Decision::Conditional
        };
        (decision, any && any_without_audit_change)
    };
    if decision == Decision::Denied {
        let access = server.spec.access_policy();
        because.push(Because::at(
            server.object,
            &[Step::Key("spec"), Step::Key("accessPolicy")],
            format!(
                "no authorization of Server {}/{} admits {} (accessPolicy {access}{})",
                server.namespace,
                server.name,
                describe_client(client),
                if server.spec.access_policy.is_none() {
                    ", the default when it is not set"
                } else {
                    ""
                }
            ),
        ));
    }
    deciders.sort_unstable();
    deciders.dedup();
    because.dedup();
    LinkerdDecision {
        decision,
        audit,
        deciders,
        because,
        conditions,
    }
}
