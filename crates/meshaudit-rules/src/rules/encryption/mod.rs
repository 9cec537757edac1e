pub mod gateway_plaintext_http;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[&gateway_plaintext_http::RULE];
