//! Linkerd's facts, computed once for every rule and the graph, as Linkerd's own controllers
//! decide them: which workloads get a proxy and what it captures ([`membership`]), which
//! default inbound policy each pod port falls back to ([`defaults`]), the authorization model
//! ([`policy`]: which Server governs a pod port, which authorizations apply to it, what they
//! admit, and the reference facts the Linkerd rules report), and the graph's evaluator that
//! puts them together ([`evaluator`]). The behaviour modelled here is described, with its
//! sources, in `docs/linkerd-semantics.md`, `docs/linkerd-membership.md` and
//! `docs/linkerd-policy.md`.

pub mod defaults;
pub mod evaluator;
pub mod membership;
pub mod policy;
