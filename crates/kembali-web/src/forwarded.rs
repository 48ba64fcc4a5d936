//! The client's address behind a reverse proxy (`trusted_proxies`).
//!
//! The accept loop puts each request's client address on it (`ClientAddr`,
//! what the portal's look-up limits count by). By default that is the TCP
//! peer. Behind nginx, Caddy or a load balancer every shopper would then be
//! the proxy, and twenty failed look-ups anywhere would lock the whole shop's
//! portal out. When the peer is a configured proxy, the client is read from
//! `X-Forwarded-For` instead: from the right, past every trusted proxy's own
//! entry, the first address no trusted proxy has (what nginx's
//! `real_ip_recursive` does). What the client itself wrote into the header is
//! left of that and never believed; a peer that is not a trusted proxy is
//! never asked, so the header cannot be forged from outside.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderMap;

/// One address or network: `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(text: &str) -> Result<Net, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(Net {
            addr: addr.to_canonical(),
            prefix,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed; none by default.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[Net]>);

impl TrustedProxies {
    /// A comma-separated list of addresses and networks; empty for none.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Net::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies(nets.into()))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if self.0.is_empty() || !self.trusts(client) {
            return client;
        }
        // Several headers are one list, in order (RFC 9110 §5.3).
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            // An entry that is no address ends the walk: the proxy that
            // appended it is the last hop known.
            let Some(ip) = hop_address(hop.trim()) else {
                return client;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// An entry of `X-Forwarded-For`: an address, an IPv4 address with a port,
/// or a bracketed IPv6 address with or without one.
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                "x-forwarded-for",
                v.parse().unwrap_or_else(|_| panic!("header value {v}")),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("address {s}"))
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let h = headers(&["203.0.113.7"]);
        assert_eq!(none.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
    }

    #[test]
    fn a_peer_that_is_no_trusted_proxy_cannot_forge_it() {
        let t = TrustedProxies::parse("127.0.0.1").expect("list");
        let h = headers(&["203.0.113.7"]);
        assert_eq!(t.client(ip("198.51.100.9"), &h), ip("198.51.100.9"));
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").expect("list");
        // The shopper wrote "1.1.1.1" themselves; nginx appended their
        // address, the load balancer its own.
        let h = headers(&["1.1.1.1, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("203.0.113.7"));
        // No header: the proxy itself.
        assert_eq!(
            t.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        // Every hop trusted: the leftmost.
        let h = headers(&["10.9.9.9, 10.1.2.3"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("10.9.9.9"));
    }

    #[test]
    fn garbage_ends_the_walk_at_the_last_known_hop() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").expect("list");
        let h = headers(&["203.0.113.7, unknown, 10.1.2.3"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("10.1.2.3"));
    }

    #[test]
    fn ports_brackets_and_ipv6() {
        let t = TrustedProxies::parse("::1, fd00::/8").expect("list");
        let h = headers(&["[2001:db8::5]:4711, fd00::1"]);
        assert_eq!(t.client(ip("::1"), &h), ip("2001:db8::5"));
        let h = headers(&["203.0.113.7:5000"]);
        assert_eq!(t.client(ip("::1"), &h), ip("203.0.113.7"));
        // An IPv4 peer seen through an IPv6 socket is still an IPv4 proxy.
        let v4 = TrustedProxies::parse("127.0.0.0/8").expect("list");
        assert_eq!(
            v4.client(ip("::ffff:127.0.0.1"), &headers(&["203.0.113.7"])),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_bad_list_is_refused_with_the_entry_named() {
        for bad in ["10.0.0.0/33", "localhost", "::1/129", "10.0.0.0/x"] {
            let e = TrustedProxies::parse(bad).expect_err(bad);
            assert!(e.contains(bad.split('/').next().unwrap_or(bad)), "{e}");
        }
        assert!(TrustedProxies::parse(" , ").expect("empty").0.is_empty());
        // A /0 trusts every address of its family.
        let all = TrustedProxies::parse("0.0.0.0/0").expect("all");
        assert!(all.trusts(ip("203.0.113.7")));
        assert!(!all.trusts(ip("2001:db8::1")));
    }
}
