//! Certificate rules: every certificate the mesh depends on (see
//! `meshaudit_engine::certificates`), its expiry, strength, structure, chain and rotation.

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[];
