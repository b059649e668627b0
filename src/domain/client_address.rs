//! `server.trusted_proxies`: which peers may tell us, in `X-Forwarded-For` or
//! `Forwarded`, the address of the client they relay. The address found is
//! the one that audit, throttles and error pages use.
//!
//! The rule (as in nginx's `real_ip_recursive` and Go's `RealIP` middleware):
//! start from the socket peer; while the address in hand is a trusted proxy,
//! step to the address that proxy appended (the rightmost one not yet used).
//! The first untrusted address is the client. Entries left of it were written
//! by the client itself and mean nothing. A malformed entry stops the walk at
//! the proxy that passed it on.
//!
//! Proxies append to `X-Forwarded-For` (HAProxy `option forwardfor`, nginx
//! `$proxy_add_x_forwarded_for`) and pass a client's `Forwarded` header on
//! untouched, so `X-Forwarded-For` is read when present and `Forwarded` only
//! when it is absent: a proxy that writes only `Forwarded` must drop a
//! client's `X-Forwarded-For`.
use ipnet::IpNet;
use std::net::IpAddr;

/// The configured proxies, as networks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct TrustedProxies(Vec<IpNet>);

impl TryFrom<Vec<String>> for TrustedProxies {
    type Error = String;
    fn try_from(values: Vec<String>) -> Result<Self, String> {
        values
            .iter()
            .map(|v| {
                let v = v.trim();
                v.parse::<IpNet>()
                    .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{v}` is not an address or a CIDR network"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl From<TrustedProxies> for Vec<String> {
    fn from(p: TrustedProxies) -> Vec<String> {
        p.0.iter().map(ToString::to_string).collect()
    }
}

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address, given the socket peer and the forwarding headers
    /// as received (every `X-Forwarded-For` or `Forwarded` line, in order).
    pub fn client_address(&self, peer: IpAddr, forwarded_for: &[&str], forwarded: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<Option<IpAddr>> = if !forwarded_for.is_empty() {
            forwarded_for.iter().flat_map(|line| line.split(',')).map(parse_hop).collect()
        } else {
            forwarded
                .iter()
                .flat_map(|line| line.split(','))
                .map(|element| {
                    let pair = element.split(';').find_map(|p| {
                        let (k, v) = p.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then_some(v)
                    });
                    pair.and_then(parse_hop)
                })
                .collect()
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(address) if self.trusts(client) => client = *address,
                _ => break,
            }
        }
        client
    }
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, quoted in
/// `Forwarded` (RFC 7239); obfuscated or `unknown` hops are None.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let v = raw.trim().trim_matches('"');
    let v = match v.strip_prefix('[') {
        Some(rest) => rest.split(']').next()?,
        None if v.matches(':').count() == 1 => v.split(':').next()?,
        None => v,
    };
    v.parse::<IpAddr>().ok().map(canonical)
}

/// IPv4 written as IPv6 (`::ffff:192.0.2.1`, from dual-stack sockets) is the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::try_from(nets.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_count_only_from_a_trusted_peer() {
        let none = TrustedProxies::default();
        assert_eq!(none.client_address(ip("203.0.113.9"), &["198.51.100.1"], &[]), ip("203.0.113.9"));
        let lb = proxies(&["10.0.0.0/8"]);
        assert_eq!(lb.client_address(ip("203.0.113.9"), &["198.51.100.1"], &[]), ip("203.0.113.9"));
        assert_eq!(lb.client_address(ip("10.1.2.3"), &["198.51.100.1"], &[]), ip("198.51.100.1"));
        assert_eq!(lb.client_address(ip("10.1.2.3"), &[], &[]), ip("10.1.2.3"), "no header: the proxy");
    }

    #[test]
    fn a_client_cannot_choose_its_address_by_sending_the_header() {
        let lb = proxies(&["10.0.0.0/8", "192.168.1.1"]);
        // The client sent "1.1.1.1"; the proxies appended what they saw.
        let chain = ["1.1.1.1, 198.51.100.7", "192.168.1.1"];
        assert_eq!(lb.client_address(ip("10.0.0.2"), &chain, &[]), ip("198.51.100.7"));
        // A malformed entry stops the walk at the proxy that passed it on.
        assert_eq!(lb.client_address(ip("10.0.0.2"), &["1.1.1.1, junk"], &[]), ip("10.0.0.2"));
        // Every hop trusted: the leftmost.
        assert_eq!(lb.client_address(ip("10.0.0.2"), &["10.9.9.9"], &[]), ip("10.9.9.9"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let lb = proxies(&["127.0.0.1/32"]);
        let f = [r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#];
        assert_eq!(lb.client_address(ip("127.0.0.1"), &[], &f), ip("2001:db8:cafe::17"));
        assert_eq!(lb.client_address(ip("127.0.0.1"), &["192.0.2.1"], &f), ip("192.0.2.1"));
        assert_eq!(lb.client_address(ip("127.0.0.1"), &[], &["for=unknown"]), ip("127.0.0.1"));
        assert_eq!(lb.client_address(ip("127.0.0.1"), &["192.0.2.1:4711"], &[]), ip("192.0.2.1"));
    }

    #[test]
    fn mapped_ipv4_is_ipv4_and_bad_networks_are_named() {
        let lb = proxies(&["127.0.0.1"]);
        assert_eq!(lb.client_address(ip("::ffff:127.0.0.1"), &["::ffff:192.0.2.1"], &[]), ip("192.0.2.1"));
        let err = TrustedProxies::try_from(vec!["10.0.0.0/33".to_owned()]).unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }
}
