//! A blocklist server for tests and benchmarks, on a loopback address: `/list` serves the
//! current content with an `ETag` (and answers `If-None-Match` with 304), `/list.gz` the
//! same gzip-compressed, `/to/<host:port>` redirects to that server's `/stolen`, `/huge`
//! streams 256 KiB, `/trickle` sends a byte every 200 ms. It counts the requests it
//! sees, so a test can prove a refused fetch never reached it.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct ListServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    content: Arc<Mutex<Vec<u8>>>,
}

impl ListServer {
    /// Listens on `ip` (e.g. `127.0.0.1`, `127.0.0.2`), serving `content`.
    pub async fn start(ip: &str, content: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let content = Arc::new(Mutex::new(content.as_bytes().to_vec()));
        let (count, shared) = (requests.clone(), content.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let body = shared.lock().map(|c| c.clone()).unwrap_or_default();
                tokio::spawn(answer(sock, body));
            }
        });
        Self {
            addr,
            requests,
            content,
        }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, content: &str) {
        if let Ok(mut c) = self.content.lock() {
            *c = content.as_bytes().to_vec();
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A request's path and headers (lower-cased names).
pub async fn read_head(sock: &mut TcpStream) -> Option<(String, HashMap<String, String>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await.ok()? == 0 || buf.len() > 16 * 1024 {
            return None;
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.lines();
    let path = lines.next()?.split_whitespace().nth(1)?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    Some((path, headers))
}

/// Writes a whole HTTP/1.1 answer (the connection closes after it).
pub async fn respond(sock: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body).await;
}

/// A strong validator of the content.
fn etag(body: &[u8]) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

pub fn gzip(text: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text).expect("gzip");
    enc.finish().expect("gzip")
}

async fn answer(mut sock: TcpStream, body: Vec<u8>) {
    let Some((path, headers)) = read_head(&mut sock).await else {
        return;
    };
    let tag = etag(&body);
    match path.as_str() {
        "/list" if headers.get("if-none-match") == Some(&tag) => {
            respond(&mut sock, "304 Not Modified", &[("ETag", tag)], b"").await;
        }
        "/list" => {
            let len = body.len().to_string();
            respond(
                &mut sock,
                "200 OK",
                &[("ETag", tag), ("Content-Length", len)],
                &body,
            )
            .await;
        }
        "/list.gz" => {
            let packed = gzip(&body);
            respond(
                &mut sock,
                "200 OK",
                &[("Content-Type", "application/gzip".into())],
                &packed,
            )
            .await;
        }
        p if p.starts_with("/to/") => {
            let to = format!("http://{}/stolen", &p[4..]);
            respond(&mut sock, "302 Found", &[("Location", to)], b"").await;
        }
        "/huge" => respond(&mut sock, "200 OK", &[], &vec![b'1'; 256 * 1024]).await,
        "/trickle" => {
            respond(&mut sock, "200 OK", &[], b"").await;
            for _ in 0..300 {
                if sock.write_all(b"#").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        _ => respond(&mut sock, "404 Not Found", &[], b"").await,
    }
}
