//! Fetches a recording over HTTP(S) into a temporary file: streamed, capped
//! in size and time, and closed to server-side request forgery:
//!
//! - no proxy, whatever `HTTP(S)_PROXY`/`ALL_PROXY` say (a proxy would
//!   connect where the address check never looked);
//! - http(s) only, no credentials in the URL, IPv4 literals only as four
//!   decimals (`http://2130706433/`, `http://0x7f.1/`, `http://0177.0.0.1/`
//!   are refused as spelled, whatever they mean);
//! - ports from `[media] allowed_ports` (80 and 443 by default);
//! - every address the host resolves to must be global unicast
//!   ([`is_forbidden`]): one internal address among public ones is a
//!   rebinding attempt; the connection is pinned to a checked address, so
//!   DNS cannot change its mind between the check and the connection;
//! - redirects followed by hand, each hop checked the same way, never from
//!   https down to http.
//!
//! `allow_private_networks` (tests and the local demo) lifts the address and
//! port rules only. Error messages name hosts, never query strings.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::FetchError;
use panelflow_core::redact;

/// Fetch limits.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Largest body accepted.
    pub max_bytes: u64,
    /// Connect time-out.
    pub connect_timeout: Duration,
    /// Whole-request time-out.
    pub timeout: Duration,
    /// Allow loopback and private addresses, and any port (tests and the
    /// local demo only).
    pub allow_private_networks: bool,
    /// Ports allowed (unless `allow_private_networks`).
    pub allowed_ports: Vec<u16>,
    /// Addresses allowed although [`is_forbidden`] (exact matches).
    pub allowed_addresses: Vec<IpAddr>,
    /// Redirects followed at most.
    pub max_redirects: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 2 << 30,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(600),
            allow_private_networks: false,
            allowed_ports: vec![80, 443],
            allowed_addresses: Vec::new(),
            max_redirects: 5,
        }
    }
}

impl FetchPolicy {
    /// The policy of a pipeline config.
    pub fn from_section(m: &super::MediaSection) -> Self {
        Self {
            max_bytes: m.max_bytes,
            connect_timeout: Duration::from_secs(m.connect_timeout_s),
            timeout: Duration::from_secs(m.timeout_s),
            allow_private_networks: m.allow_private_networks,
            allowed_ports: m.allowed_ports.clone(),
            allowed_addresses: m.allowed_addresses.clone(),
            max_redirects: 5,
        }
    }
}

/// A fetched recording, deleted when dropped.
#[derive(Debug)]
pub struct Fetched {
    /// The temporary file.
    pub file: tempfile::TempPath,
    /// Bytes received.
    pub bytes: u64,
    /// Host it came from (recorded in the audit trail).
    pub host: String,
}

fn v4_in(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    (u128::from(ip) & mask) == (u128::from(net) & mask)
}

/// IPv4 ranges that are not global unicast (IANA special-purpose registry).
const V4_FORBIDDEN: [([u8; 4], u32); 16] = [
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // CGNAT shared space
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local (cloud metadata)
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation TEST-NET-1
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation TEST-NET-2
    ([203, 0, 113, 0], 24),  // documentation TEST-NET-3
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, broadcast
    ([255, 255, 255, 255], 32),
];

/// Ranges inside 2000::/3 (global unicast) that are not globally reachable
/// hosts, or that tunnel to an IPv4 address panelflow would not check.
const V6_FORBIDDEN: [(Ipv6Addr, u32); 5] = [
    // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID.
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),     // 6to4
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),     // documentation
    (Ipv6Addr::new(0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0), 48), // AS112
];

/// Whether an address is anything but global unicast: loopback, private
/// (RFC 1918, ULA), link-local, CGNAT, unspecified, multicast, broadcast,
/// documentation, benchmarking, `192.0.0.0/24`; every IPv6 address outside
/// `2000::/3` — IPv4-mapped `::ffff:0:0/96`, IPv4-compatible `::/96`,
/// NAT64 `64:ff9b::/96`, site-local `fec0::/10` — and inside it Teredo
/// `2001::/32` (with the rest of `2001::/23`), 6to4 `2002::/16` and the
/// documentation ranges.
///
/// ```
/// use panelflow_connectors::media::fetch::is_forbidden;
/// for a in ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "64:ff9b::7f00:1",
///           "::7f00:1", "::ffff:8.8.8.8", "2002:7f00:1::", "2001:0:4136:e378::1", "fec0::1"] {
///     assert!(is_forbidden(a.parse().unwrap()), "{a}");
/// }
/// assert!(!is_forbidden("93.184.216.34".parse().unwrap()));
/// assert!(!is_forbidden("2606:4700::1111".parse().unwrap()));
/// ```
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => V4_FORBIDDEN.iter().any(|(n, p)| v4_in(v4, *n, *p)),
        IpAddr::V6(v6) => {
            !v6_in(v6, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3)
                || V6_FORBIDDEN.iter().any(|(n, p)| v6_in(v6, *n, *p))
        }
    }
}

/// The host as written in `raw` (between `://` and the path, without
/// credentials and port), lowercased.
fn raw_host(raw: &str) -> Option<String> {
    let rest = raw.trim().split_once("://")?.1;
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port
            .split_once(']')
            .map_or(host_port, |(h, _)| h)
            .trim_start_matches('[')
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    Some(host.to_ascii_lowercase())
}

/// Parses a media URL (or a redirect's absolute `Location`) and refuses
/// what no recording link needs: other schemes, credentials, and IPv4
/// literals in any spelling but four decimals.
///
/// ```
/// use panelflow_connectors::media::fetch::parse_media_url;
/// assert!(parse_media_url("https://cdn.example/a.mp4?sig=1").is_ok());
/// for bad in ["http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/",
///             "http://127.1/", "http://u:p@cdn.example/", "file:///etc/passwd"] {
///     assert!(parse_media_url(bad).is_err(), "{bad}");
/// }
/// ```
pub fn parse_media_url(raw: &str) -> Result<url::Url, FetchError> {
    let u = url::Url::parse(raw.trim())
        .map_err(|e| FetchError::BadUrl(format!("{}: {e}", redact::url(raw))))?;
    check_url(&u, Some(raw))?;
    Ok(u)
}

fn check_url(u: &url::Url, raw: Option<&str>) -> Result<(), FetchError> {
    if !matches!(u.scheme(), "http" | "https") {
        return Err(FetchError::BadUrl(format!(
            "scheme {} is not http(s)",
            u.scheme()
        )));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(FetchError::BadUrl(format!(
            "{}: credentials in the URL",
            redact::url(u.as_str())
        )));
    }
    match u.host() {
        None => return Err(FetchError::BadUrl("no host".into())),
        Some(url::Host::Ipv4(v4)) => {
            // The URL parser reads 2130706433, 0x7f.1 and 0177.0.0.1 as
            // 127.0.0.1; only the dotted-decimal spelling is accepted.
            if let Some(written) = raw.and_then(raw_host) {
                if written != v4.to_string() {
                    return Err(FetchError::BadUrl(format!(
                        "the IPv4 address {v4} is spelled `{written}`: only four decimals are accepted"
                    )));
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}
/// Downloads `url` into a temporary file in `dir` under `policy`.
pub fn fetch(
    url: &str,
    policy: &FetchPolicy,
    dir: &std::path::Path,
) -> Result<Fetched, FetchError> {
    let mut current = parse_media_url(url)?;
    for _ in 0..=policy.max_redirects {
        let (host, addr) = resolve_checked(&current, policy)?;
        let mut builder = reqwest::blocking::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.timeout);
        if current.domain().is_some() {
            builder = builder.resolve(&host, addr);
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Fetch(describe(&e)))?;
        let mut response = client
            .get(current.clone())
            .send()
            .map_err(|e| FetchError::Fetch(describe(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| FetchError::Fetch(format!("HTTP {status} without Location")))?
                .to_owned();
            let next = current.join(&location).map_err(|e| {
                FetchError::BadUrl(format!("redirect to {}: {e}", redact::url(&location)))
            })?;
            // An absolute Location is checked as written; a relative one
            // keeps the host already checked.
            let written = location.contains("://").then_some(location.as_str());
            check_url(&next, written)?;
            if current.scheme() == "https" && next.scheme() != "https" {
                return Err(FetchError::BadUrl(format!(
                    "redirect from https down to {}",
                    redact::url(next.as_str())
                )));
            }
            current = next;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::HttpStatus {
                status: status.as_u16(),
                host,
            });
        }
        if let Some(len) = response.content_length() {
            if len > policy.max_bytes {
                return Err(FetchError::TooLarge {
                    limit: policy.max_bytes,
                });
            }
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".media-")
            .tempfile_in(dir)?;
        let bytes = copy_capped(&mut response, tmp.as_file_mut(), policy.max_bytes)?;
        if bytes == 0 {
            return Err(FetchError::NotAudio("empty body".into()));
        }
        tmp.as_file_mut().flush()?;
        return Ok(Fetched {
            file: tmp.into_temp_path(),
            bytes,
            host,
        });
    }
    Err(FetchError::Fetch(format!(
        "more than {} redirects",
        policy.max_redirects
    )))
}

/// The host and the one address to connect to, after every address the
/// host resolves to was checked (and the port).
fn resolve_checked(
    url: &url::Url,
    policy: &FetchPolicy,
) -> Result<(String, SocketAddr), FetchError> {
    check_url(url, None)?;
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::BadUrl("no host".into()))?
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let literal = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
    // A name is not even resolved for a port that is not allowed; an
    // address literal is judged by its address first (the clearer reason
    // when both are wrong).
    if !policy.allow_private_networks && !literal && !policy.allowed_ports.contains(&port) {
        return Err(FetchError::ForbiddenPort { host, port });
    }
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(v4)) => vec![SocketAddr::new(IpAddr::V4(v4), port)],
        Some(url::Host::Ipv6(v6)) => vec![SocketAddr::new(IpAddr::V6(v6), port)],
        _ => (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| FetchError::Fetch(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    let first = *addrs
        .first()
        .ok_or_else(|| FetchError::Fetch(format!("{host} has no address")))?;
    if !policy.allow_private_networks {
        // Every address must be global: a mixed answer is a rebinding attempt.
        if let Some(bad) = addrs
            .iter()
            .find(|a| is_forbidden(a.ip()) && !policy.allowed_addresses.contains(&a.ip()))
        {
            return Err(FetchError::ForbiddenAddress {
                host,
                addr: bad.ip(),
            });
        }
        if !policy.allowed_ports.contains(&port) {
            return Err(FetchError::ForbiddenPort { host, port });
        }
    }
    Ok((host, first))
}

fn copy_capped(
    from: &mut impl Read,
    to: &mut std::fs::File,
    limit: u64,
) -> Result<u64, FetchError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = from
            .read(&mut buf)
            .map_err(|e| FetchError::Fetch(format!("reading body: {e}")))?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        if total > limit {
            return Err(FetchError::TooLarge { limit });
        }
        to.write_all(&buf[..n])?;
    }
}

/// A reqwest error without its URL (whose query may hold a signature or
/// the candidate's name), and with any URL in its causes redacted.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut text = String::new();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cause {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&c.to_string());
        cause = c.source();
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "reading body"
    } else if e.is_builder() {
        "building the request"
    } else {
        "request failed"
    };
    if text.is_empty() {
        what.to_string()
    } else {
        redact::urls_in(&format!("{what}: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_urls_are_refused_before_any_connection() {
        let dir = tempfile::tempdir().unwrap();
        for url in [
            "http://127.0.0.1/x.mp4",
            "http://10.0.0.1/x.mp4",
            "http://[::1]/x",
            "http://169.254.169.254/latest",
            "http://[64:ff9b::7f00:1]/x",
            "http://[::7f00:1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://[fec0::1]/x",
            "http://[2002:7f00:1::]/x",
            "http://[2001::1]/x",
            "http://192.0.0.8/x",
            "http://localhost/x",
        ] {
            let err = fetch(url, &FetchPolicy::default(), dir.path()).unwrap_err();
            assert!(
                matches!(err, FetchError::ForbiddenAddress { .. }),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn non_http_schemes_odd_spellings_and_ports_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for url in [
            "file:///etc/passwd",
            "gopher://x/",
            "http://2130706433/x",
            "http://0x7f000001/x",
            "http://0x7f.0.0.1/x",
            "http://0177.0.0.1/x",
            "http://127.1/x",
            "http://user:pw@example.com/x",
        ] {
            let err = fetch(url, &FetchPolicy::default(), dir.path()).unwrap_err();
            assert!(matches!(err, FetchError::BadUrl(_)), "{url}: {err}");
        }
        let err = fetch(
            "http://93.184.216.34:6379/x",
            &FetchPolicy::default(),
            dir.path(),
        )
        .unwrap_err();
        assert!(
            matches!(err, FetchError::ForbiddenPort { port: 6379, .. }),
            "{err}"
        );
    }

    #[test]
    fn errors_name_no_query_string() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch(
            "http://0x7f000001/x?X-Amz-Signature=s3cr3t&email=ann%40example.com",
            &FetchPolicy::default(),
            dir.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("s3cr3t") && !err.contains("ann"), "{err}");
        let err = parse_media_url("ht!tp://x?secret=1")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn global_unicast_only() {
        for ok in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::1"] {
            assert!(!is_forbidden(ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "0.1.2.3",
            "100.64.0.1",
            "172.31.255.255",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.9",
            "198.19.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
            "64:ff9b:1::1",
        ] {
            assert!(is_forbidden(bad.parse().unwrap()), "{bad}");
        }
    }
}
