//! One module per category, one file per rule.

pub mod admission;
pub mod authentication;
pub mod authorization;
pub mod certificates;
pub mod dependencies;
pub mod encryption;
pub mod helpers;
pub mod network_policy;
