//! Istio: which workloads have a sidecar or ztunnel and what they capture (`membership`), the
//! mTLS mode of each port (`peer_authentication`), what clients send (`destination_rule`), what
//! authorization decides (`authorization`), and the evaluator that puts them together for the
//! effective-policy graph (`evaluator`).

pub mod authorization;
pub mod destination_rule;
pub mod evaluator;
pub mod membership;
pub mod peer_authentication;
