//! Who the client is: the TCP peer, or the address a trusted proxy says it forwarded for.

use std::net::{IpAddr, SocketAddr};

use crate::wire::http_head::RequestHead;

/// The client's address: the TCP peer, or — only when the peer is a trusted proxy — the
/// address that proxy appended last to `X-Forwarded-For`.
pub fn client_address(peer: SocketAddr, head: &RequestHead, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = peer.ip();
    if !trusted.contains(&peer_ip) {
        return peer_ip;
    }
    head.header("x-forwarded-for")
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer_ip)
}
