//! Linkerd's behaviour, decided from the inventory as Linkerd's own controllers decide it. Each
//! submodule answers one part; the sources are cited in `docs/linkerd-semantics.md`.

/// The authorization model: which Server governs a pod port, which authorizations apply to it,
/// what they admit, and the reference facts (dangling refs, unknown identities, selectors that
/// select nothing) the Linkerd rules report.
pub mod policy;
