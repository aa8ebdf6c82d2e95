//! Fetches a recording over HTTP(S) into a temporary file: streamed, capped
//! in size and time, and refusing hosts that resolve to loopback, private,
//! link-local or otherwise internal addresses (server-side request forgery),
//! checked again on every redirect and pinned so DNS cannot change its mind.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::FetchError;

/// Fetch limits.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Largest body accepted.
    pub max_bytes: u64,
    /// Connect time-out.
    pub connect_timeout: Duration,
    /// Whole-request time-out.
    pub timeout: Duration,
    /// Allow loopback and private addresses (tests and the local demo only).
    pub allow_private_networks: bool,
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

/// Whether an address is internal: loopback, private (RFC 1918, ULA),
/// link-local, CGNAT, unspecified, multicast, broadcast or documentation.
///
/// ```
/// use panelflow_connectors::media::fetch::is_forbidden;
/// assert!(is_forbidden("127.0.0.1".parse().unwrap()));
/// assert!(is_forbidden("10.1.2.3".parse().unwrap()));
/// assert!(is_forbidden("169.254.169.254".parse().unwrap()));
/// assert!(is_forbidden("::1".parse().unwrap()));
/// assert!(!is_forbidden("93.184.216.34".parse().unwrap()));
/// ```
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Downloads `url` into a temporary file in `dir` under `policy`.
pub fn fetch(
    url: &str,
    policy: &FetchPolicy,
    dir: &std::path::Path,
) -> Result<Fetched, FetchError> {
    let mut current =
        url::Url::parse(url).map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
    for _ in 0..=policy.max_redirects {
        let (host, addr) = resolve_checked(&current, policy)?;
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.timeout)
            .resolve(&host, addr)
            .build()
            .map_err(|e| FetchError::Fetch(e.to_string()))?;
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
                .ok_or_else(|| FetchError::Fetch(format!("HTTP {status} without Location")))?;
            current = current
                .join(location)
                .map_err(|e| FetchError::BadUrl(format!("redirect {location}: {e}")))?;
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

fn resolve_checked(
    url: &url::Url,
    policy: &FetchPolicy,
) -> Result<(String, SocketAddr), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::BadUrl(format!(
            "scheme {} is not http(s)",
            url.scheme()
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::BadUrl("no host".into()))?
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| FetchError::Fetch(format!("cannot resolve {host}: {e}")))?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| FetchError::Fetch(format!("{host} has no address")))?;
    if !policy.allow_private_networks {
        // Every address must be public: a mixed answer is a rebinding attempt.
        if let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
            return Err(FetchError::ForbiddenAddress {
                host,
                addr: bad.ip(),
            });
        }
    }
    Ok((bare.to_string(), first))
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

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {e}")
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_urls_are_refused_before_any_connection() {
        let dir = tempfile::tempdir().unwrap();
        for url in [
            "http://127.0.0.1:9/x.mp4",
            "http://10.0.0.1/x.mp4",
            "http://[::1]:9/x",
            "http://169.254.169.254/latest",
        ] {
            let err = fetch(url, &FetchPolicy::default(), dir.path()).unwrap_err();
            assert!(
                matches!(err, FetchError::ForbiddenAddress { .. }),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn non_http_schemes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch("file:///etc/passwd", &FetchPolicy::default(), dir.path()).unwrap_err();
        assert!(matches!(err, FetchError::BadUrl(_)), "{err}");
    }

    #[test]
    fn ipv4_mapped_ipv6_is_checked_as_ipv4() {
        assert!(is_forbidden("::ffff:192.168.1.1".parse().unwrap()));
        assert!(is_forbidden("fd00::1".parse().unwrap()));
        assert!(!is_forbidden("2606:4700::1111".parse().unwrap()));
    }
}
