//! Media fetching: a recording's (signed) URL streamed to a temporary file
//! under size and time caps, refusing private-network addresses
//! ([`fetch`]), configured by `[media]`.

pub mod fetch;

use serde::{Deserialize, Serialize};

/// `[media]`: media fetching limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSection {
    /// Largest media file fetched.
    pub max_bytes: u64,
    /// Longest recording analysed, in seconds.
    pub max_duration_s: f64,
    /// Connect time-out.
    pub connect_timeout_s: u64,
    /// Whole-download time-out.
    pub timeout_s: u64,
    /// Allow loopback and private addresses, and any port (tests, the demo);
    /// off in production.
    pub allow_private_networks: bool,
    /// Media items one interview may have at most.
    pub max_items: usize,
    /// Bytes all of one interview's media may have together.
    pub max_total_bytes: u64,
    /// Seconds all of one interview's media may last together.
    pub max_total_duration_s: f64,
    /// Ports media may be fetched from (a URL's explicit or default port);
    /// `[80, 443]` unless configured.
    pub allowed_ports: Vec<u16>,
    /// Addresses media may be fetched from although they are not global
    /// (an internal media store meant to be reached); none by default.
    pub allowed_addresses: Vec<std::net::IpAddr>,
    /// `[media.decoder]`: where fetched recordings are decoded, and under
    /// which limits.
    pub decoder: DecoderSection,
}

/// `[media.decoder]`: fetched recordings are untrusted input, and a hostile
/// file can make a demuxer ask for gigabytes (an allocation failure aborts
/// a process outright), so the engine decodes each one in a child process
/// under an address-space limit and a CPU-time limit, and stops waiting for
/// it after a time-out. A file that passes a limit fails its interview with
/// `media_decoder_limit`, naming the limit; the worker goes on.
///
/// ```
/// use panelflow_connectors::media::MediaSection;
/// let media = MediaSection::default();
/// assert!(media.decoder.isolated);
/// // 1 GiB at least; twice the recording beyond 512 MiB.
/// assert_eq!(media.decoder.memory_limit_mb(10 << 20), 1024);
/// assert_eq!(media.decoder.memory_limit_mb(1 << 30), 2048);
/// // CPU: 30 s plus a tenth of the 3-hour duration cap; waiting: twice that.
/// assert_eq!(media.decoder.cpu_limit_s(media.max_duration_s), 1110);
/// assert_eq!(media.decoder.timeout_s(media.max_duration_s), 2220);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecoderSection {
    /// Decode in a child process under the limits below (the default).
    /// `false` decodes in the worker's own process: faster to start, but a
    /// hostile file can then abort the whole worker.
    pub isolated: bool,
    /// The child's address-space limit in MiB; unset: the larger of 1 GiB
    /// and twice the recording's size (so at most twice `max_bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// The child's CPU-time limit in seconds; unset: 30 s plus a tenth of
    /// `max_duration_s` (decoding runs well over 10 times faster than real
    /// time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_s: Option<u64>,
    /// Seconds the engine waits for the child's audio in all before it
    /// kills it (time the engine spends on speech meanwhile does not
    /// count); unset: twice the CPU-time limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u64>,
    /// The program run as the decoder (`PROGRAM decode-media FILE`); unset:
    /// the running `panelflow` executable itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<std::path::PathBuf>,
}

impl Default for DecoderSection {
    fn default() -> Self {
        Self {
            isolated: true,
            memory_mb: None,
            cpu_s: None,
            timeout_s: None,
            program: None,
        }
    }
}

impl DecoderSection {
    /// Smallest automatic address-space limit, MiB.
    pub const MIN_MEMORY_MB: u64 = 1024;

    /// The address-space limit (MiB) for a recording of `file_bytes`.
    pub fn memory_limit_mb(&self, file_bytes: u64) -> u64 {
        self.memory_mb
            .unwrap_or_else(|| Self::MIN_MEMORY_MB.max((file_bytes >> 20).saturating_mul(2)))
            .max(1)
    }

    /// The CPU-time limit (s) for recordings of at most `max_duration_s`.
    pub fn cpu_limit_s(&self, max_duration_s: f64) -> u64 {
        self.cpu_s
            .unwrap_or_else(|| 30 + (max_duration_s.max(0.0) / 10.0).min(1e9) as u64)
            .max(1)
    }

    /// Seconds the engine waits on the child in all, for recordings of at
    /// most `max_duration_s`.
    pub fn timeout_s(&self, max_duration_s: f64) -> u64 {
        self.timeout_s
            .unwrap_or_else(|| self.cpu_limit_s(max_duration_s).saturating_mul(2))
            .max(1)
    }
}

impl Default for MediaSection {
    fn default() -> Self {
        Self {
            max_bytes: 2 << 30,
            max_duration_s: 3.0 * 3600.0,
            connect_timeout_s: 10,
            timeout_s: 600,
            allow_private_networks: false,
            max_items: 32,
            max_total_bytes: 4 << 30,
            max_total_duration_s: 4.0 * 3600.0,
            allowed_ports: vec![80, 443],
            allowed_addresses: Vec::new(),
            decoder: DecoderSection::default(),
        }
    }
}

/// Why a recording could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not http(s), cannot be parsed, carries credentials,
    /// spells an IPv4 address other than as four decimals, or a redirect
    /// goes from https to http. (Messages never hold a query string.)
    #[error("media URL refused: {0}")]
    BadUrl(String),
    /// The host resolves to an address that is not global unicast.
    #[error("media URL refused: {host} resolves to the forbidden address {addr}")]
    ForbiddenAddress {
        /// Host name in the URL.
        host: String,
        /// The address it resolved to.
        addr: std::net::IpAddr,
    },
    /// The URL's port is not one of `[media] allowed_ports`.
    #[error("media URL refused: port {port} of {host} is not allowed")]
    ForbiddenPort {
        /// Host name in the URL.
        host: String,
        /// The port.
        port: u16,
    },
    /// The server answered with a non-success status.
    #[error("media fetch failed: HTTP {status} from {host}")]
    HttpStatus {
        /// HTTP status.
        status: u16,
        /// Host of the URL.
        host: String,
    },
    /// Network failure or time-out.
    #[error("media fetch failed: {0}")]
    Fetch(String),
    /// Larger than the configured cap.
    #[error("media too large: more than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
    /// The body is empty.
    #[error("not audio: {0}")]
    NotAudio(String),
    /// Local I/O.
    #[error("media I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl FetchError {
    /// Whether a later try may succeed: no answer or a time-out, a 5xx, 429
    /// or 408 from the host. A refused URL, a 4xx, a file too large or not
    /// audio will fail the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Fetch(_) => true,
            FetchError::HttpStatus { status, .. } => {
                *status >= 500 || *status == 429 || *status == 408
            }
            _ => false,
        }
    }

    /// A short, stable code for Parquet's `failure_reason` and dashboards
    /// (the same family as the decoder's `media_*` codes).
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::BadUrl(_) => "media_bad_url",
            FetchError::ForbiddenAddress { .. } => "media_forbidden_address",
            FetchError::ForbiddenPort { .. } => "media_forbidden_port",
            FetchError::HttpStatus { .. } => "media_http_status",
            FetchError::Fetch(_) => "media_fetch",
            FetchError::TooLarge { .. } => "media_too_large",
            FetchError::NotAudio(_) => "media_not_audio",
            FetchError::Io(_) => "media_io",
        }
    }
}
