//! The scheduler's one way out to the network (ADR 0009, ARCHITECTURE.md §8): a URL is
//! fetched only from addresses [`address::allowed`] lets through, checked after the one
//! name lookup and pinned for the connection (no second lookup: no DNS rebinding), every
//! redirect checked the same way, the body capped while it streams (and again once
//! decompressed), the whole request bounded in time, conditional requests and retries
//! with back-off built in. Every refusal names its reason.

pub mod address;

use std::future::Future;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{
    CONTENT_LENGTH, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
    RETRY_AFTER,
};
use reqwest::{StatusCode, Url};
use shared::domain::IpOrNet;
use shared::error_code::ErrorCode;

/// The most redirects followed.
pub const MAX_REDIRECTS: usize = 5;
/// Attempts for a 429, a 5xx or a timeout (the first and two retries).
const ATTEMPTS: u32 = 3;
/// The longest `Retry-After` waited for; a longer one ends the fetch.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a fetch did not bring a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Not an http(s) URL with a host, or one with credentials in it.
    #[error("{0}")]
    BadUrl(String),
    /// The host resolves to an address BanGUI does not connect to.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Timeout(String),
    #[error("the server answered {status}{}", if reason.is_empty() { String::new() } else { format!(" ({reason})") })]
    HttpStatus { status: u16, reason: String },
    /// The name did not resolve, the connection failed, TLS failed.
    #[error("{0}")]
    Network(String),
}

impl FetchError {
    /// The error code the import log and the API show.
    pub fn code(&self) -> ErrorCode {
        match self {
            FetchError::BadUrl(_) | FetchError::Refused(_) => ErrorCode::SsrfRefused,
            FetchError::TooLarge(_) => ErrorCode::TooLarge,
            FetchError::Timeout(_) => ErrorCode::Timeout,
            FetchError::HttpStatus { .. } => ErrorCode::HttpStatus,
            FetchError::Network(_) => ErrorCode::NetworkError,
        }
    }

    fn retried(&self) -> bool {
        matches!(self, FetchError::Timeout(_))
            || matches!(self, FetchError::HttpStatus { status, .. } if *status == 429 || *status >= 500)
    }
}

/// Looks a host name up; the system's resolver in production, a fixed map in tests.
pub trait Resolver: Send + Sync {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>>;
}

/// The system's resolver (`getaddrinfo` through tokio).
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host, port))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// What a fetch may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most bytes read from the wire, and the most a gzip body may unpack to.
    pub max_bytes: u64,
    pub connect_timeout: Duration,
    /// The whole of one attempt (redirects included).
    pub timeout: Duration,
}

/// What the server said last time, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A fetch's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: unchanged since the validators sent.
    NotModified,
    Body {
        /// The body, gzip already unpacked.
        bytes: Vec<u8>,
        /// Bytes read from the wire.
        wire_bytes: u64,
        status: u16,
        validators: Validators,
        /// Where it came from after redirects.
        url: String,
    },
}

pub struct Guard {
    trusted: Vec<IpOrNet>,
    resolver: Arc<dyn Resolver>,
    limits: Limits,
    user_agent: String,
}

impl Guard {
    pub fn new(trusted: Vec<IpOrNet>, resolver: Arc<dyn Resolver>, limits: Limits) -> Self {
        Self {
            trusted,
            resolver,
            limits,
            user_agent: format!("BanGUI/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// The URL's host, and the one address to connect to: every address the host
    /// resolves to must be allowed (one refused refuses the host).
    pub async fn check(&self, url: &Url) -> Result<(String, SocketAddr), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl(format!(
                "{}: only http and https URLs are fetched",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::BadUrl(
                "a URL with credentials in it is not fetched".into(),
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| FetchError::BadUrl("the URL has no host".into()))?
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| FetchError::BadUrl("the URL has no port".into()))?;
        let literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        let addrs = match literal {
            Some(ip) => vec![ip],
            None => self
                .resolver
                .lookup(&host, port)
                .await
                .map_err(|e| FetchError::Network(format!("{host} did not resolve: {e}")))?,
        };
        if addrs.is_empty() {
            return Err(FetchError::Network(format!("{host} has no address")));
        }
        for ip in &addrs {
            address::allowed(*ip, &self.trusted).map_err(|why| {
                FetchError::Refused(format!(
                    "{host} resolves to {ip}, {why}; BanGUI does not fetch from it (BANGUI_BLOCKLIST_ALLOW_NETS trusts a network)"
                ))
            })?;
        }
        Ok((host, SocketAddr::new(addrs[0], port)))
    }

    /// Fetches `url` (with retries on 429, 5xx and timeouts).
    pub async fn fetch(&self, url: &str, validators: &Validators) -> Result<Fetched, FetchError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = tokio::time::timeout(self.limits.timeout, self.once(url, validators))
                .await
                .unwrap_or_else(|_| {
                    Err(FetchError::Timeout(format!(
                        "no complete answer within {} s",
                        self.limits.timeout.as_secs()
                    ))
                    .into())
                });
            match outcome {
                Err(Retry { error, after }) if error.retried() && attempt < ATTEMPTS => {
                    let wait = after.unwrap_or(Duration::from_millis(500 * 2u64.pow(attempt)));
                    if wait > MAX_RETRY_AFTER {
                        return Err(error);
                    }
                    tracing::info!(attempt, error = %error, wait_ms = wait.as_millis() as u64, "fetch retried");
                    tokio::time::sleep(wait).await;
                }
                Err(Retry { error, .. }) => return Err(error),
                Ok(f) => return Ok(f),
            }
        }
    }

    /// One attempt: redirects followed by hand, each target checked.
    async fn once(&self, url: &str, validators: &Validators) -> Result<Fetched, Retry> {
        let mut url = Url::parse(url)
            .map_err(|e| FetchError::BadUrl(format!("{url:?} is not a URL: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            let (host, addr) = self.check(&url).await?;
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(self.limits.connect_timeout)
                .user_agent(self.user_agent.clone())
                // The checked address and no other: reqwest does not look the name up.
                .resolve(&host, addr)
                .no_proxy()
                .build()
                .map_err(|e| FetchError::Network(e.to_string()))?;
            let mut req = client.get(url.clone());
            if let Some(etag) = &validators.etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
            let mut resp = req.send().await.map_err(network)?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| FetchError::HttpStatus {
                        status: status.as_u16(),
                        reason: "a redirect without a Location".into(),
                    })?;
                url = url.join(next).map_err(|e| {
                    FetchError::BadUrl(format!("the redirect to {next:?} is not a URL: {e}"))
                })?;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Fetched::NotModified);
            }
            if !status.is_success() {
                return Err(Retry {
                    after: retry_after(resp.headers()),
                    error: FetchError::HttpStatus {
                        status: status.as_u16(),
                        reason: status.canonical_reason().unwrap_or("").to_owned(),
                    },
                });
            }
            let max = self.limits.max_bytes;
            if let Some(len) = resp
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                && len > max
            {
                return Err(too_large(max).into());
            }
            let header = |name| {
                resp.headers()
                    .get(name)
                    .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            let validators = Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            };
            let mut bytes = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(network)? {
                if bytes.len() as u64 + chunk.len() as u64 > max {
                    return Err(too_large(max).into());
                }
                bytes.extend_from_slice(&chunk);
            }
            let wire_bytes = bytes.len() as u64;
            let bytes = gunzip(bytes, max)?;
            return Ok(Fetched::Body {
                bytes,
                wire_bytes,
                status: status.as_u16(),
                validators,
                url: url.to_string(),
            });
        }
        Err(FetchError::HttpStatus {
            status: 310,
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        }
        .into())
    }
}

/// An attempt's error, with how long the server asked to wait before the next.
struct Retry {
    error: FetchError,
    after: Option<Duration>,
}

impl From<FetchError> for Retry {
    fn from(error: FetchError) -> Self {
        Self { error, after: None }
    }
}

fn network(e: reqwest::Error) -> Retry {
    if e.is_timeout() {
        FetchError::Timeout(format!("the server did not answer in time: {e}")).into()
    } else {
        FetchError::Network(e.to_string()).into()
    }
}

fn too_large(max: u64) -> FetchError {
    FetchError::TooLarge(format!(
        "the list is over {max} bytes (BANGUI_BLOCKLIST_MAX_BYTES)"
    ))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A gzip body (by its magic bytes, whatever the server called it) unpacked, within the
/// same cap: a small bomb is still too large.
fn gunzip(bytes: Vec<u8>, max: u64) -> Result<Vec<u8>, FetchError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| FetchError::Network(format!("the gzip body is damaged: {e}")))?;
    if out.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<IpAddr>);

    impl Resolver for Fixed {
        fn lookup<'a>(
            &'a self,
            _host: &'a str,
            _port: u16,
        ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
            let addrs = self.0.clone();
            Box::pin(async move { Ok(addrs) })
        }
    }

    fn guard(resolves_to: &[&str], trusted: &[&str]) -> Guard {
        Guard::new(
            trusted
                .iter()
                .map(|t| IpOrNet::parse_any(t).expect("net"))
                .collect(),
            Arc::new(Fixed(
                resolves_to.iter().map(|a| a.parse().expect("ip")).collect(),
            )),
            Limits {
                max_bytes: 1024,
                connect_timeout: Duration::from_secs(1),
                timeout: Duration::from_secs(2),
            },
        )
    }

    async fn check(g: &Guard, url: &str) -> Result<SocketAddr, FetchError> {
        g.check(&Url::parse(url).expect("url"))
            .await
            .map(|(_, a)| a)
    }

    #[tokio::test]
    async fn names_and_literals_are_checked_before_any_connection() {
        let public = guard(&["93.184.215.14"], &[]);
        assert_eq!(
            check(&public, "https://lists.example/drop.txt").await,
            Ok("93.184.215.14:443".parse().expect("addr"))
        );
        // A name with one inside address among public ones is refused whole.
        let rebinding = guard(&["93.184.215.14", "10.0.0.5"], &[]);
        let e = check(&rebinding, "http://lists.example/")
            .await
            .expect_err("refused");
        assert_eq!(e.code(), ErrorCode::SsrfRefused, "{e}");
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://127.0.0.1:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://0x7f000001/",
            "http://2130706433/",
            "ftp://lists.example/",
            "file:///etc/passwd",
            "http://user:pw@lists.example/",
        ] {
            let e = check(&public, url).await.expect_err(url);
            assert_eq!(e.code(), ErrorCode::SsrfRefused, "{url}: {e}");
        }
        // A trusted network lets its addresses through, and only those.
        let mirror = guard(&["127.0.0.1"], &["127.0.0.1/32"]);
        assert!(
            check(&mirror, "http://mirror.internal:9000/list")
                .await
                .is_ok()
        );
        let other = guard(&["127.0.0.2"], &["127.0.0.1/32"]);
        assert!(
            check(&other, "http://mirror.internal:9000/list")
                .await
                .is_err()
        );
    }

    #[test]
    fn a_gzip_body_is_unpacked_within_the_cap() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"192.0.2.1\n198.51.100.0/24\n")
            .expect("write");
        let small = enc.finish().expect("gzip");
        assert_eq!(
            gunzip(small, 1024).expect("unpacked"),
            b"192.0.2.1\n198.51.100.0/24\n"
        );
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'\n'; 1_000_000]).expect("write");
        let bomb = enc.finish().expect("gzip");
        assert!(bomb.len() < 4096);
        assert_eq!(
            gunzip(bomb, 1024).expect_err("too large").code(),
            ErrorCode::TooLarge
        );
        assert_eq!(gunzip(b"plain".to_vec(), 1024).expect("plain"), b"plain");
    }
}
