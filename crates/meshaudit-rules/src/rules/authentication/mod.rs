pub mod mesh_mtls_not_strict;
pub mod namespace_mtls_not_strict;
