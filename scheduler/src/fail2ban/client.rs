//! The socket client: one long-lived connection owned by an actor task, because
//! fail2ban serves one command at a time for all clients anyway. Callers send typed
//! requests through a channel; the actor connects lazily, applies a per-command timeout,
//! and reconnects with back-off when the socket goes away (fail2ban restarted).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shared::domain::{IpOrNet, JailName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use super::codec::{
    self, ArgumentError, DecodeError, END_COMMAND, MAX_REPLY_BYTES, Reply, ServerError, Value,
};
use super::exporter::{self, SocketError};
use super::replies::{self, JailCounters};

/// IPs per `banip` / `unbanip` call: keeps each call well inside its timeout even with a
/// slow action, and lets other commands interleave between chunks.
pub const CHUNK: usize = 500;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    #[error("fail2ban is unreachable: {0}")]
    Unreachable(String),
    #[error("fail2ban did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the connection to fail2ban broke: {0}")]
    Io(String),
    #[error("undecodable reply from fail2ban: {0}")]
    Decode(#[from] DecodeError),
    #[error("fail2ban refused the command: {0}")]
    Server(ServerError),
    #[error("fail2ban could not run the command: {0}")]
    Protocol(String),
    #[error("invalid argument: {0}")]
    Argument(#[from] ArgumentError),
    #[error("unexpected reply shape: {0}")]
    Unexpected(String),
    #[error("the fail2ban client has stopped")]
    Closed,
    #[error(
        "fail2ban {0} is not supported: BanGUI needs fail2ban 0.11 or newer (tested with 0.11.2, 1.0.2 and 1.1.0)"
    )]
    Unsupported(String),
}

/// The oldest fail2ban BanGUI talks to: 0.11 brought `get <jail> banip --with-time`, the
/// `bips` table (database version 4) and the ban-time increment BanGUI reads.
pub const OLDEST_SUPPORTED: (u32, u32) = (0, 11);

/// Whether BanGUI supports this fail2ban version (`0.11.2`, `1.1.0.dev1`, …). A version
/// string that does not start with two numbers is not refused (a build of its own).
pub fn supported_version(version: &str) -> bool {
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= OLDEST_SUPPORTED,
        _ => true,
    }
}

/// One line per socket call (what, how long, how it ended), and the exporter's error
/// counts. A call's arguments are shortened: a `banip` of 500 addresses is one line.
fn observe_call(args: &[&str], result: &Result<Value, ClientError>, took: Duration) {
    let call = args.iter().take(3).copied().collect::<Vec<_>>().join(" ");
    let more = args.len().saturating_sub(3);
    let duration_ms = took.as_secs_f64() * 1000.0;
    let error = result.as_ref().err();
    match error {
        Some(ClientError::Unreachable(_)) => exporter::count_error(SocketError::Conn),
        Some(
            ClientError::Timeout(_)
            | ClientError::Io(_)
            | ClientError::Decode(_)
            | ClientError::Protocol(_)
            | ClientError::Unexpected(_)
            | ClientError::Closed,
        ) => exporter::count_error(SocketError::Req),
        _ => {}
    }
    let outcome = if error.is_some() { "error" } else { "ok" };
    let error = error.map(ToString::to_string);
    if crate::commands::running().is_some() {
        tracing::info!(
            call,
            more_args = more,
            duration_ms,
            outcome,
            error,
            "fail2ban call"
        );
    } else {
        tracing::debug!(
            call,
            more_args = more,
            duration_ms,
            outcome,
            error,
            "fail2ban call"
        );
    }
}

impl ClientError {
    /// Errors that mean "fail2ban is not there right now": worth retrying later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            ClientError::Unreachable(_)
                | ClientError::Timeout(_)
                | ClientError::Io(_)
                | ClientError::Closed
                // Not usable until it is upgraded: jobs wait, the status says why.
                | ClientError::Unsupported(_)
        )
    }

    pub fn is_unknown_jail(&self) -> bool {
        matches!(self, ClientError::Server(e) if e.is_unknown_jail())
    }
}

struct Request {
    args: Vec<String>,
    timeout: Duration,
    reply: oneshot::Sender<Result<Value, ClientError>>,
}

/// A handle to the actor; cheap to clone.
#[derive(Clone)]
pub struct Fail2banClient {
    tx: mpsc::Sender<Request>,
    socket: PathBuf,
    timeout: Duration,
    connected_at: ConnectedAt,
    server_version: ServerVersion,
}

/// When the actor's current connection was opened (`None` while disconnected). Shared so
/// callers can tell a server that has only just come up from one that has been running.
type ConnectedAt = Arc<Mutex<Option<Instant>>>;

/// The version the server on the current connection reported, shared with the handles.
type ServerVersion = Arc<Mutex<Option<String>>>;

impl Fail2banClient {
    /// Starts the actor for `socket`. It lives as long as a handle does.
    pub fn spawn(socket: &Path, timeout: Duration) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let connected_at = ConnectedAt::default();
        let server_version = ServerVersion::default();
        tokio::spawn(
            Actor::new(
                socket.to_path_buf(),
                connected_at.clone(),
                server_version.clone(),
            )
            .run(rx),
        );
        Self {
            tx,
            socket: socket.to_path_buf(),
            timeout,
            connected_at,
            server_version,
        }
    }

    /// The version the connected server reported (`None` before the first connection).
    pub fn server_version(&self) -> Option<String> {
        self.server_version.lock().ok().and_then(|v| v.clone())
    }

    /// How long the current connection has been open; `None` while disconnected.
    /// fail2ban opens its socket before it has loaded its jails, so a young connection
    /// may be talking to a server that is still starting.
    pub fn connection_age(&self) -> Option<Duration> {
        self.connected_at
            .lock()
            .ok()
            .and_then(|at| at.map(|t| t.elapsed()))
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one command (already validated strings) and returns the value of `(0, v)`.
    pub async fn call(
        &self,
        args: &[&str],
        timeout: Option<Duration>,
    ) -> Result<Value, ClientError> {
        for a in args {
            codec::check_argument(a)?;
        }
        let (reply, rx) = oneshot::channel();
        let req = Request {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            timeout: timeout.unwrap_or(self.timeout),
            reply,
        };
        let started = Instant::now();
        let result = match self.tx.send(req).await {
            Ok(()) => rx.await.unwrap_or(Err(ClientError::Closed)),
            Err(_) => Err(ClientError::Closed),
        };
        observe_call(args, &result, started.elapsed());
        result
    }

    pub async fn ping(&self) -> Result<(), ClientError> {
        match self.call(&["ping"], None).await? {
            Value::Str(s) if s == "pong" => Ok(()),
            other => Err(ClientError::Unexpected(format!("ping answered {other}"))),
        }
    }

    pub async fn version(&self) -> Result<String, ClientError> {
        let v = self.call(&["version"], None).await?;
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Unexpected(format!("version {v}")))
    }

    /// The names of the running jails.
    pub async fn jails(&self) -> Result<Vec<JailName>, ClientError> {
        replies::jail_list(&self.call(&["status"], None).await?)
    }

    pub async fn jail_counters(&self, jail: &JailName) -> Result<JailCounters, ClientError> {
        replies::jail_counters(&self.call(&["status", jail.as_str(), "short"], None).await?)
    }

    /// Every current ban, per jail (`banned`): one call for the whole server.
    pub async fn banned(&self) -> Result<Vec<(JailName, Vec<String>)>, ClientError> {
        replies::banned_map(&self.call(&["banned"], None).await?)
    }

    /// The current bans of one jail (`get <jail> banned`).
    pub async fn banned_in(&self, jail: &JailName) -> Result<Vec<String>, ClientError> {
        replies::string_list(&self.get(jail, "banned").await?)
    }

    pub async fn get(&self, jail: &JailName, key: &str) -> Result<Value, ClientError> {
        self.call(&["get", jail.as_str(), key], None).await
    }

    pub async fn set(&self, jail: &JailName, key: &str, value: &str) -> Result<Value, ClientError> {
        self.call(&["set", jail.as_str(), key, value], None).await
    }

    pub async fn server_get(&self, key: &str) -> Result<Value, ClientError> {
        self.call(&["get", key], None).await
    }

    /// fail2ban's database file, or None when it runs without one.
    pub async fn dbfile(&self) -> Result<Option<String>, ClientError> {
        Ok(match self.server_get("dbfile").await? {
            Value::Str(s) if !s.is_empty() && s != ":memory:" => Some(s),
            _ => None,
        })
    }

    pub async fn dbpurgeage(&self) -> Result<i64, ClientError> {
        let v = self.server_get("dbpurgeage").await?;
        v.as_int()
            .ok_or_else(|| ClientError::Unexpected(format!("dbpurgeage {v}")))
    }

    /// Bans in chunks; returns how many were newly banned.
    pub async fn ban(&self, jail: &JailName, ips: &[IpOrNet]) -> Result<i64, ClientError> {
        let mut newly = 0;
        for chunk in ips.chunks(CHUNK) {
            let texts: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            let mut args = vec!["set", jail.as_str(), "banip"];
            args.extend(texts.iter().map(String::as_str));
            newly += self
                .call(&args, Some(self.timeout * 3))
                .await?
                .as_int()
                .unwrap_or(0);
        }
        Ok(newly)
    }

    /// Unbans in chunks from one jail, or from every jail; returns how many were removed.
    pub async fn unban(
        &self,
        jail: Option<&JailName>,
        ips: &[IpOrNet],
    ) -> Result<i64, ClientError> {
        let mut removed = 0;
        for chunk in ips.chunks(CHUNK) {
            let texts: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            let mut args: Vec<&str> = match jail {
                Some(j) => vec!["set", j.as_str(), "unbanip"],
                None => vec!["unban"],
            };
            args.extend(texts.iter().map(String::as_str));
            removed += self
                .call(&args, Some(self.timeout * 3))
                .await?
                .as_int()
                .unwrap_or(0);
        }
        Ok(removed)
    }

    pub async fn unban_all(&self) -> Result<i64, ClientError> {
        Ok(self
            .call(&["unban", "--all"], Some(self.timeout * 6))
            .await?
            .as_int()
            .unwrap_or(0))
    }

    pub async fn stop_jail(&self, jail: &JailName) -> Result<(), ClientError> {
        self.call(&["stop", jail.as_str()], Some(self.timeout * 3))
            .await
            .map(|_| ())
    }

    pub async fn set_idle(&self, jail: &JailName, on: bool) -> Result<(), ClientError> {
        self.set(jail, "idle", if on { "on" } else { "off" })
            .await
            .map(|_| ())
    }

    pub async fn ignore_list(&self, jail: &JailName) -> Result<Vec<String>, ClientError> {
        replies::string_list(&self.get(jail, "ignoreip").await?)
    }

    pub async fn add_ignoreip(
        &self,
        jail: &JailName,
        ip: &IpOrNet,
    ) -> Result<Vec<String>, ClientError> {
        replies::string_list(&self.set(jail, "addignoreip", &ip.to_string()).await?)
    }

    pub async fn del_ignoreip(
        &self,
        jail: &JailName,
        ip: &IpOrNet,
    ) -> Result<Vec<String>, ClientError> {
        replies::string_list(&self.set(jail, "delignoreip", &ip.to_string()).await?)
    }

    pub async fn set_ignoreself(&self, jail: &JailName, on: bool) -> Result<bool, ClientError> {
        let v = self
            .set(jail, "ignoreself", if on { "true" } else { "false" })
            .await?;
        Ok(v.as_bool().unwrap_or(on))
    }
}

struct Actor {
    socket: PathBuf,
    stream: Option<UnixStream>,
    connected_at: ConnectedAt,
    backoff: Duration,
    next_connect: Instant,
    /// What the server on the current connection said its version is, once asked.
    version: Option<String>,
    /// The last version a server reported, for the handles.
    server_version: ServerVersion,
}

impl Actor {
    fn new(socket: PathBuf, connected_at: ConnectedAt, server_version: ServerVersion) -> Self {
        Self {
            socket,
            stream: None,
            connected_at,
            backoff: BACKOFF_START,
            next_connect: Instant::now(),
            version: None,
            server_version,
        }
    }

    fn set_stream(&mut self, stream: Option<UnixStream>) {
        if let Ok(mut at) = self.connected_at.lock() {
            *at = stream.as_ref().map(|_| Instant::now());
        }
        // A new connection may be a new server (an upgrade): asked again.
        self.version = None;
        self.stream = stream;
    }

    /// Asks a newly connected server its version once; a version BanGUI does not support
    /// refuses every command on that connection.
    async fn check_version(&mut self, timeout: Duration) -> Result<(), ClientError> {
        self.connect().await?;
        if self.version.is_none() {
            let body = self
                .exchange(&codec::encode_request(&["version".to_owned()])?, timeout)
                .await?;
            let version = match codec::decode_reply(&body)? {
                Reply::Ok(Value::Str(v)) => v,
                // An answer of another shape is left to the commands to trip over.
                _ => String::new(),
            };
            if !supported_version(&version) {
                tracing::warn!(socket = %self.socket.display(), version, "fail2ban's version is not supported");
            }
            if let Ok(mut shared) = self.server_version.lock() {
                *shared = Some(version.clone());
            }
            self.version = Some(version);
        }
        match &self.version {
            Some(v) if !supported_version(v) => Err(ClientError::Unsupported(v.clone())),
            _ => Ok(()),
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        while let Some(req) = rx.recv().await {
            let result = self.handle(&req.args, req.timeout).await;
            let _ = req.reply.send(result);
        }
        if let Some(mut s) = self.stream.take() {
            let mut close = codec::CLOSE_COMMAND.to_vec();
            close.extend_from_slice(END_COMMAND);
            let _ = s.write_all(&close).await;
        }
    }

    async fn handle(&mut self, args: &[String], timeout: Duration) -> Result<Value, ClientError> {
        let request = codec::encode_request(args)?;
        let started = Instant::now();
        let reused = self.stream.is_some();
        if !reused {
            self.check_version(timeout).await?;
        } else if let Some(v) = self.version.as_ref().filter(|v| !supported_version(v)) {
            return Err(ClientError::Unsupported(v.clone()));
        }
        let first = self.exchange(&request, timeout).await;
        let body = match first {
            // A connection kept from before a fail2ban restart fails on first use; one
            // fresh attempt is safe because every command we send is idempotent.
            Err(ClientError::Io(_)) if reused => {
                let left = timeout.saturating_sub(started.elapsed());
                self.check_version(left).await?;
                self.exchange(&request, left).await?
            }
            other => other?,
        };
        match codec::decode_reply(&body)? {
            Reply::Ok(v) => Ok(v),
            Reply::Raised(e) => Err(ClientError::Server(e)),
            Reply::ProtocolError(m) => Err(ClientError::Protocol(m)),
        }
    }

    async fn connect(&mut self) -> Result<(), ClientError> {
        if self.stream.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if now < self.next_connect {
            return Err(ClientError::Unreachable(format!(
                "{} (next attempt in {} ms)",
                self.socket.display(),
                (self.next_connect - now).as_millis()
            )));
        }
        match tokio::time::timeout(Duration::from_secs(2), UnixStream::connect(&self.socket)).await
        {
            Ok(Ok(s)) => {
                if self.backoff > BACKOFF_START {
                    tracing::info!(socket = %self.socket.display(), "reconnected to fail2ban");
                }
                self.set_stream(Some(s));
                self.backoff = BACKOFF_START;
                Ok(())
            }
            Ok(Err(e)) => {
                self.next_connect = now + self.backoff;
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                Err(ClientError::Unreachable(format!(
                    "{}: {e}",
                    self.socket.display()
                )))
            }
            Err(_) => {
                self.next_connect = now + self.backoff;
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                Err(ClientError::Unreachable(format!(
                    "{}: connect timed out",
                    self.socket.display()
                )))
            }
        }
    }

    /// Writes one request and reads one reply body; any failure drops the connection so
    /// a late reply can never be taken for the next command's.
    async fn exchange(
        &mut self,
        request: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, ClientError> {
        self.connect().await?;
        let Some(stream) = self.stream.as_mut() else {
            return Err(ClientError::Closed);
        };
        let result = tokio::time::timeout(timeout, async {
            stream
                .write_all(request)
                .await
                .map_err(|e| ClientError::Io(e.to_string()))?;
            read_reply(stream).await
        })
        .await;
        match result {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(e)) => {
                self.set_stream(None);
                Err(e)
            }
            Err(_) => {
                self.set_stream(None);
                Err(ClientError::Timeout(timeout))
            }
        }
    }
}

async fn read_reply(stream: &mut UnixStream) -> Result<Vec<u8>, ClientError> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| ClientError::Io(e.to_string()))?;
        if n == 0 {
            return Err(ClientError::Io("fail2ban closed the connection".into()));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.ends_with(END_COMMAND) {
            buf.truncate(buf.len() - END_COMMAND.len());
            return Ok(buf);
        }
        if buf.len() > MAX_REPLY_BYTES + END_COMMAND.len() {
            return Err(ClientError::Decode(DecodeError::TooLarge));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_before_0_11_are_refused() {
        for v in [
            "0.11.2",
            "1.0.2",
            "1.1.0",
            "1.1.1.dev1",
            "2.0",
            "custom-build",
            "",
        ] {
            assert!(supported_version(v), "{v}");
        }
        for v in ["0.10.6", "0.9.7", "0.8.14"] {
            assert!(!supported_version(v), "{v}");
        }
    }

    /// A server answering `version` with 0.10.6 (fail2ban's own pickle bytes for
    /// `(0, '0.10.6')`): every command is refused with the reason, none reaches it.
    #[tokio::test]
    async fn an_unsupported_server_is_told_apart_and_not_commanded() {
        let dir = std::env::temp_dir().join(format!("bangui-old-f2b-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let socket = dir.join("f2b.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let heard = seen.clone();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = conn.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf
                    .windows(END_COMMAND.len())
                    .position(|w| w == END_COMMAND)
                {
                    let request: Vec<u8> = buf.drain(..end + END_COMMAND.len()).collect();
                    heard
                        .lock()
                        .expect("lock")
                        .push(String::from_utf8_lossy(&request).into_owned());
                    let mut reply =
                        b"\x80\x05\x95\x0e\x00\x00\x00\x00\x00\x00\x00K\x00\x8c\x060.10.6\x94\x86\x94."
                            .to_vec();
                    reply.extend_from_slice(END_COMMAND);
                    conn.write_all(&reply).await.expect("reply");
                }
            }
        });
        let client = Fail2banClient::spawn(&socket, Duration::from_secs(2));
        let err = client.ping().await.expect_err("refused");
        assert_eq!(err, ClientError::Unsupported("0.10.6".into()));
        assert!(err.is_unavailable());
        assert!(err.to_string().contains("0.11 or newer"), "{err}");
        let jail = JailName::parse("sshd").expect("jail");
        let ip = IpOrNet::parse("192.0.2.1").expect("ip");
        assert!(matches!(
            client.ban(&jail, &[ip]).await,
            Err(ClientError::Unsupported(_))
        ));
        let requests = seen.lock().expect("lock").clone();
        assert_eq!(
            requests.len(),
            1,
            "only the version was asked: {requests:?}"
        );
        assert!(requests[0].contains("version"), "{requests:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
