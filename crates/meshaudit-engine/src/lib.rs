//! Analysis shared by rules: which workloads have a proxy, and which Istio policies apply to a
//! workload. The effective-policy graph grows here.

pub mod membership;
pub mod scope;
