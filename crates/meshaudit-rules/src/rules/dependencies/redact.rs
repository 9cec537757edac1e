//! URLs as findings may print them.

/// A URL as findings may print it: without user information (`user:token@`) or query string,
/// where credentials sometimes travel.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let redacted_query = if url.contains('?') { "?…" } else { "" };
    match scheme {
        Some(s) => format!("{s}://{authority}{path}{redacted_query}"),
        None => format!("{authority}{path}{redacted_query}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials() {
        assert_eq!(
            redact_url("https://user:s3cret@plugins.example.com/f.wasm?token=abc"),
            "https://plugins.example.com/f.wasm?…"
        );
        assert_eq!(redact_url("oci://ghcr.io/x/y:v1"), "oci://ghcr.io/x/y:v1");
        assert_eq!(redact_url("authz.example.net"), "authz.example.net");
    }
}
