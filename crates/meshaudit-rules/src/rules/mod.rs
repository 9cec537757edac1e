//! One module per category, one file per rule; the modules beside them hold what rules of
//! several categories share.

pub mod admission;
pub mod anchor;
pub mod authentication;
pub mod authorization;
pub mod certificates;
pub mod dependencies;
pub mod encryption;
pub mod istio_scope;
pub mod naming;
pub mod network_policy;
