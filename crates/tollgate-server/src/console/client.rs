//! Who the client is: its address and whether it reached us over HTTPS.
//!
//! The TCP peer is the client unless it is one of `--trusted-proxies`; only then are
//! `X-Forwarded-For` (its rightmost hop that is not itself a trusted proxy) and `X-Forwarded-Proto`
//! believed. From anyone else those headers are removed from the request, so nothing downstream
//! (login throttling, the cookie's `Secure` flag, OAuth callback URLs, upstream requests) can be
//! steered by them.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::state::AppState;

/// The client's address as resolved by [`resolve`], in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

/// Whether the request carried forwarding headers (it came through a proxy, trusted or not).
#[derive(Debug, Clone, Copy)]
pub struct ViaProxy(pub bool);

/// Parses `--trusted-proxies`: CIDRs or single addresses.
pub fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let t = text.trim();
    t.parse::<IpNet>()
        .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("--trusted-proxies: {t:?} is not an address or CIDR (e.g. 10.0.0.0/8)"))
}

fn trusted(proxies: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    proxies.iter().any(|n| n.contains(&ip))
}

/// The client behind trusted proxies: walking `X-Forwarded-For` from the right, the first hop that
/// is not a trusted proxy. A hop that does not parse ends the walk at the last good one.
pub fn client_ip(proxies: &[IpNet], peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
    if !trusted(proxies, peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.iter().flat_map(|v| v.split(',')).rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
        client = ip;
        if !trusted(proxies, ip) {
            break;
        }
    }
    client
}

const FORWARDING: [&str; 4] = ["x-forwarded-for", "x-forwarded-proto", "forwarded", "x-real-ip"];

/// Middleware: records [`ClientIp`] and drops forwarding headers that do not come from a trusted
/// proxy.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let via_proxy = FORWARDING.iter().any(|h| req.headers().contains_key(*h));
    let proxies = &state.config.trusted_proxies;
    let ip = match peer {
        Some(peer) if trusted(proxies, peer) => {
            let hops: Vec<&str> =
                req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
            Some(client_ip(proxies, peer, &hops))
        }
        _ => {
            for name in FORWARDING {
                req.headers_mut().remove(name);
            }
            peer
        }
    };
    req.extensions_mut().insert(ClientIp(ip));
    req.extensions_mut().insert(ViaProxy(via_proxy));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_peers_forward() {
        let proxies = vec![parse_proxy("10.0.0.0/8").unwrap(), parse_proxy("127.0.0.1").unwrap()];
        // Untrusted peer: its own address, whatever it claims.
        assert_eq!(client_ip(&proxies, ip("203.0.113.9"), &["1.2.3.4"]), ip("203.0.113.9"));
        // Trusted peer: the rightmost untrusted hop (the left ones are the client's own claims).
        assert_eq!(client_ip(&proxies, ip("127.0.0.1"), &["6.6.6.6, 198.51.100.7", "10.1.1.1"]), ip("198.51.100.7"));
        assert_eq!(client_ip(&proxies, ip("::ffff:10.0.0.1"), &["198.51.100.7"]), ip("198.51.100.7"));
        assert_eq!(client_ip(&proxies, ip("10.0.0.1"), &[]), ip("10.0.0.1"));
        assert_eq!(client_ip(&proxies, ip("10.0.0.1"), &["junk, 10.0.0.2"]), ip("10.0.0.2"));
        assert!(parse_proxy("10.0.0.0/33").is_err());
    }
}
