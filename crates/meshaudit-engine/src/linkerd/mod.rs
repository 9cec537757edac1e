//! Linkerd's facts, computed once for every rule and the graph: which workloads get a proxy and
//! what it captures ([`membership`]), and which default inbound policy each pod port falls back
//! to ([`defaults`]). The behaviour modelled here is described, with its sources, in
//! `docs/linkerd-semantics.md` and `docs/linkerd-membership.md`.

pub mod defaults;
pub mod membership;
