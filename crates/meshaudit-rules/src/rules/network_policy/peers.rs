//! Which NetworkPolicy peers and rules admit everyone.

use meshaudit_engine::network_policy::ip_block_covers_pods;
use meshaudit_model::k8s::{NetworkPolicyPeer, NetworkPolicyRule};
use meshaudit_model::selector::LabelSelector;

/// A peer list that admits every pod and every address: absent or empty `from`/`to`, or a peer
/// that does (see [`peer_is_everyone`]). The index of that peer, if one.
pub enum Everyone {
    /// The rule has no `from`/`to`: every source or destination.
    NoPeers,
    /// This peer (index in `from`/`to`) matches everyone.
    Peer(usize),
}

pub fn rule_admits_everyone(rule: &NetworkPolicyRule) -> Option<Everyone> {
    match rule.from.as_deref() {
        None | Some([]) => Some(Everyone::NoPeers),
        Some(peers) => peers.iter().position(peer_is_everyone).map(Everyone::Peer),
    }
}

/// `namespaceSelector: {}` (with no or an empty `podSelector`): every pod of every namespace;
/// or an `ipBlock` of `0.0.0.0/0` / `::/0` with no exception that keeps pod networks out.
pub fn peer_is_everyone(peer: &NetworkPolicyPeer) -> bool {
    if let Some(block) = &peer.ip_block {
        return ip_block_covers_pods(block);
    }
    peer.namespace_selector
        .as_ref()
        .is_some_and(LabelSelector::is_empty)
        && peer
            .pod_selector
            .as_ref()
            .is_none_or(LabelSelector::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_peers() {
        let peer: NetworkPolicyPeer = serde_json::from_str(r#"{"namespaceSelector": {}}"#).unwrap();
        assert!(peer_is_everyone(&peer));
        let peer: NetworkPolicyPeer = serde_json::from_str(
            r#"{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "x"}}}"#,
        )
        .unwrap();
        assert!(!peer_is_everyone(&peer));
        let peer: NetworkPolicyPeer = serde_json::from_str(
            r#"{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}"#,
        )
        .unwrap();
        assert!(peer_is_everyone(&peer));
        let peer: NetworkPolicyPeer =
            serde_json::from_str(r#"{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}"#)
                .unwrap();
        assert!(!peer_is_everyone(&peer));
        let peer: NetworkPolicyPeer = serde_json::from_str(r#"{"podSelector": {}}"#).unwrap();
        assert!(!peer_is_everyone(&peer));
    }
}
