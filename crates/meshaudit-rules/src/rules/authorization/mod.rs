pub mod allow_matches_everything;
pub mod workload_without_allow_policy;
