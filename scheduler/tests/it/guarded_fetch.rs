//! The guarded fetch (ADR 0009) against real HTTP servers on loopback: a list served by a
//! trusted server on 127.0.0.1 (`BANGUI_BLOCKLIST_ALLOW_NETS=127.0.0.1/32` in
//! production terms), conditional requests (304), gzip, redirects, a retry after a 503,
//! the size cap (declared and streamed), a server that trickles bytes; and every way to
//! reach a second server on 127.0.0.2 (its address, a name that resolves to it, a
//! redirect to it) refused before it sees a single request.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scheduler::net::{FetchError, Fetched, Guard, Limits, Resolver, Validators};
use shared::domain::IpOrNet;
use shared::error_code::ErrorCode;
use testkit::list_server::{gzip, read_head, respond};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A map of names to addresses, as the system resolver would answer.
struct Names(HashMap<String, IpAddr>);

impl Resolver for Names {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        let found = self.0.get(host).copied();
        Box::pin(async move {
            found
                .map(|a| vec![a])
                .ok_or_else(|| std::io::Error::other("no such name"))
        })
    }
}

struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

/// The list server: every route the tests need. `other` is the refused server's address.
async fn serve(ip: &str, other: Option<SocketAddr>) -> Server {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(AtomicUsize::new(0));
    let flaky = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let flaky = flaky.clone();
            tokio::spawn(async move {
                let Some((path, headers)) = read_head(&mut sock).await else {
                    return;
                };
                let list = b"192.0.2.1\n198.51.100.0/24\n2001:db8::/48\n".to_vec();
                match path.as_str() {
                    "/list"
                        if headers.get("if-none-match").map(String::as_str) == Some("\"v1\"") =>
                    {
                        respond(&mut sock, "304 Not Modified", &[], b"").await;
                    }
                    "/list" => {
                        let len = list.len().to_string();
                        respond(
                            &mut sock,
                            "200 OK",
                            &[("ETag", "\"v1\"".into()), ("Content-Length", len)],
                            &list,
                        )
                        .await;
                    }
                    "/list.gz" => {
                        respond(
                            &mut sock,
                            "200 OK",
                            &[("Content-Type", "application/gzip".into())],
                            &gzip(&list),
                        )
                        .await
                    }
                    "/moved" => {
                        respond(&mut sock, "302 Found", &[("Location", "/list".into())], b"").await
                    }
                    "/loop" => {
                        respond(&mut sock, "302 Found", &[("Location", "/loop".into())], b"").await
                    }
                    "/to-other" => {
                        let to = format!("http://{}/stolen", other.expect("the other server"));
                        respond(&mut sock, "301 Moved Permanently", &[("Location", to)], b"").await;
                    }
                    "/flaky" => {
                        if flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                            respond(
                                &mut sock,
                                "503 Service Unavailable",
                                &[("Retry-After", "0".into())],
                                b"",
                            )
                            .await;
                        } else {
                            respond(&mut sock, "200 OK", &[], &list).await;
                        }
                    }
                    "/gone" => respond(&mut sock, "404 Not Found", &[], b"").await,
                    "/declared-huge" => {
                        respond(
                            &mut sock,
                            "200 OK",
                            &[("Content-Length", "999999999".into())],
                            b"",
                        )
                        .await;
                    }
                    "/streamed-huge" => {
                        respond(&mut sock, "200 OK", &[], &vec![b'1'; 64 * 1024]).await
                    }
                    "/bomb" => {
                        respond(
                            &mut sock,
                            "200 OK",
                            &[],
                            &gzip(&vec![b'\n'; 4 * 1024 * 1024]),
                        )
                        .await
                    }
                    "/trickle" => {
                        respond(&mut sock, "200 OK", &[], b"").await;
                        for _ in 0..100 {
                            if sock.write_all(b"1").await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                    _ => respond(&mut sock, "404 Not Found", &[], b"").await,
                }
            });
        }
    });
    Server { addr, requests }
}

fn guard(names: &[(&str, IpAddr)]) -> Guard {
    Guard::new(
        vec![IpOrNet::parse_any("127.0.0.1/32").expect("net")],
        Arc::new(Names(
            names.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect(),
        )),
        Limits {
            max_bytes: 16 * 1024,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
        },
    )
}

fn body(f: Fetched) -> Vec<u8> {
    match f {
        Fetched::Body { bytes, .. } => bytes,
        Fetched::NotModified => panic!("expected a body"),
    }
}

#[tokio::test]
async fn lists_come_from_trusted_servers_and_nowhere_else() {
    let other = serve("127.0.0.2", None).await;
    let mirror = serve("127.0.0.1", Some(other.addr)).await;
    let g = guard(&[
        ("mirror.test", mirror.addr.ip()),
        ("evil.test", other.addr.ip()),
    ]);
    let at = |path: &str| format!("http://mirror.test:{}{path}", mirror.addr.port());
    let none = Validators::default();

    // A list, then the same list unchanged: one 304.
    let first = g.fetch(&at("/list"), &none).await.expect("the list");
    let Fetched::Body {
        bytes,
        validators,
        status,
        ..
    } = first
    else {
        panic!("a body")
    };
    assert_eq!(status, 200);
    assert_eq!(bytes, b"192.0.2.1\n198.51.100.0/24\n2001:db8::/48\n");
    assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        g.fetch(&at("/list"), &validators).await.expect("unchanged"),
        Fetched::NotModified
    );
    // gzip, a redirect on the same server, a retry after a 503.
    assert_eq!(
        body(g.fetch(&at("/list.gz"), &none).await.expect("gzip")),
        b"192.0.2.1\n198.51.100.0/24\n2001:db8::/48\n"
    );
    assert!(!body(g.fetch(&at("/moved"), &none).await.expect("redirect")).is_empty());
    assert!(!body(g.fetch(&at("/flaky"), &none).await.expect("retried")).is_empty());

    // Failures, each with its reason.
    let code = |r: Result<Fetched, FetchError>| r.expect_err("refused").code();
    assert_eq!(
        code(g.fetch(&at("/gone"), &none).await),
        ErrorCode::HttpStatus
    );
    assert_eq!(
        code(g.fetch(&at("/loop"), &none).await),
        ErrorCode::HttpStatus
    );
    assert_eq!(
        code(g.fetch(&at("/declared-huge"), &none).await),
        ErrorCode::TooLarge
    );
    assert_eq!(
        code(g.fetch(&at("/streamed-huge"), &none).await),
        ErrorCode::TooLarge
    );
    assert_eq!(
        code(g.fetch(&at("/bomb"), &none).await),
        ErrorCode::TooLarge
    );
    let started = std::time::Instant::now();
    assert_eq!(
        code(g.fetch(&at("/trickle"), &none).await),
        ErrorCode::Timeout
    );
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );

    // The other server, by address, by a name, by a redirect: refused before it is
    // asked anything.
    for url in [
        format!("http://{}/stolen", other.addr),
        format!("http://evil.test:{}/stolen", other.addr.port()),
        at("/to-other"),
    ] {
        assert_eq!(
            code(g.fetch(&url, &none).await),
            ErrorCode::SsrfRefused,
            "{url}"
        );
    }
    assert_eq!(
        other.requests.load(Ordering::SeqCst),
        0,
        "127.0.0.2 saw a request"
    );
    assert!(mirror.requests.load(Ordering::SeqCst) > 0);
}
