//! Blocklist import numbers (issue #20), against a real private fail2ban, on every backend
//! of `BANGUI_TEST_BACKENDS`, with lists served from 127.0.0.1:
//!
//! - fail2ban's own bound: 100 000 addresses banned 500 a call over the socket (`set
//!   <jail> banip …`, the scheduler's client, nothing recorded) into a jail with no action;
//! - a first import of the same 100 000 through the API (download, parse, diff, staged,
//!   banned 500 a call, recorded in the archive), `POST /blocklists/{id}/import` until the
//!   command ends (target: at most twice fail2ban's own bound);
//! - the same list again: 304 (the server's ETag), and read in full (gzip, no validators)
//!   with the same content (target ≤ 1 s, no fail2ban call);
//! - 1 % churn (1 000 dropped, 1 000 added) (target ≤ 2 s);
//! - a preview of a 1 000 000-line list: the scheduler's peak RSS (VmHWM) before and
//!   after (target ≤ 64 MiB).
//!
//!     cargo build --release -p scheduler && cargo bench -p e2e --bench blocklist

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::domain::{IpOrNet, JailName};
use testkit::db::backends;
use testkit::fail2ban::PrivateFail2ban;
use testkit::list_server::ListServer;
use testkit::stack::Stack;

const N: usize = 100_000;

/// Addresses `from..from + n` as a plain list.
fn list(from: usize, n: usize) -> String {
    let mut out = String::with_capacity(n * 16);
    for i in from..from + n {
        let a = 11 + i / 62_500;
        let b = (i / 250) % 250;
        out.push_str(&format!("{a}.{b}.{}.{}\n", (i / 62_500) % 200, i % 250 + 1));
    }
    out
}

/// The scheduler's peak and current resident memory, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

async fn timed_import(s: &Stack, id: i64) -> (f64, Value) {
    let start = Instant::now();
    let (code, cmd) = s
        .command(
            reqwest::Method::POST,
            &format!("/blocklists/{id}/import"),
            None,
        )
        .await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(
        (code, cmd["status"].as_str()),
        (200, Some("succeeded")),
        "{cmd}"
    );
    (ms, cmd["result"].clone())
}

#[tokio::main]
async fn main() {
    let first = list(0, N);
    let churned = list(N / 100, N);
    let mut million = list(0, 1_000_000);
    million.push_str("# end\n");
    let lists = ListServer::start("127.0.0.1", &first).await;
    let big = ListServer::start("127.0.0.1", &million).await;
    println!("blocklist imports, {N} entries (jail without action), 500 a fail2ban call");
    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start(),
            backend,
            &[
                ("BANGUI_BLOCKLIST_ALLOW_NETS", "127.0.0.1/32"),
                (
                    "BANGUI_LOG",
                    "warn,scheduler::blocklist=info,scheduler::jobs=debug",
                ),
            ],
        )
        .await;
        lists.set(&first);
        let pid = s.scheduler.pid();

        // The preview of a million lines, first: the process's peak is still its own.
        let (peak_before, _) = memory(pid);
        let start = Instant::now();
        let (code, cmd) = s
            .command(
                reqwest::Method::POST,
                "/blocklists/preview",
                Some(json!({ "url": big.url("/list") })),
            )
            .await;
        let preview_ms = start.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        let (peak_after, now) = memory(pid);

        // fail2ban's own bound: a second private fail2ban that no scheduler watches, into
        // `bulk` (no action), the way the import calls it.
        let alone = PrivateFail2ban::start();
        let client = scheduler::fail2ban::client::Fail2banClient::spawn(
            &alone.socket(),
            Duration::from_secs(60),
        );
        let bulk = JailName::parse("bulk").expect("jail");
        let ips: Vec<IpOrNet> = first
            .lines()
            .map(|l| IpOrNet::parse(l).expect("ip"))
            .collect();
        let start = Instant::now();
        client.ban(&bulk, &ips).await.expect("banip");
        let bound_ms = start.elapsed().as_secs_f64() * 1000.0;
        drop(client);
        drop(alone);

        let (code, v) = s
            .post(
                "/blocklists",
                json!({ "name": "bench", "url": lists.url("/list"), "enabled": false }),
            )
            .await;
        assert_eq!(code, 201, "{v}");
        let id = v["id"].as_i64().expect("id");
        let (first_ms, r) = timed_import(&s, id).await;
        assert_eq!(r["added"].as_u64(), Some(N as u64), "{r}");
        let (same_ms, r) = timed_import(&s, id).await;
        assert_eq!(
            (r["http_status"].as_i64(), r["fail2ban_calls"].as_i64()),
            (Some(304), Some(0)),
            "{r}"
        );
        let (code, _) = s
            .send(
                reqwest::Method::PATCH,
                &format!("/blocklists/{id}"),
                Some(json!({ "url": lists.url("/list.gz") })),
            )
            .await;
        assert_eq!(code, 200);
        let (full_ms, r) = timed_import(&s, id).await;
        assert_eq!(
            (r["outcome"].as_str(), r["fail2ban_calls"].as_i64()),
            (Some("unchanged"), Some(0)),
            "{r}"
        );
        lists.set(&churned);
        let (churn_ms, r) = timed_import(&s, id).await;
        assert_eq!(
            (r["added"].as_u64(), r["removed"].as_u64()),
            (Some(N as u64 / 100), Some(N as u64 / 100)),
            "{r}"
        );

        println!("  {}:", backend.name());
        println!("    fail2ban alone, {N} banip 500 a call    {bound_ms:>9.0} ms");
        println!(
            "    first import through BanGUI            {first_ms:>9.0} ms  ({:.2}× fail2ban alone; target ≤ 2×)",
            first_ms / bound_ms
        );
        println!(
            "    same list again (304)                  {same_ms:>9.0} ms  (target ≤ 1 000 ms)"
        );
        println!(
            "    same content read in full (gzip)       {full_ms:>9.0} ms  (target ≤ 1 000 ms)"
        );
        println!(
            "    1 % churn (1 000 out, 1 000 in)        {churn_ms:>9.0} ms  (target ≤ 2 000 ms)"
        );
        println!(
            "    preview of 1 000 000 lines             {preview_ms:>9.0} ms; scheduler peak RSS {peak_before:.1} → {peak_after:.1} MiB (now {now:.1}; target ≤ 64 MiB)"
        );
        for line in s
            .scheduler
            .log_text()
            .lines()
            .filter(|l| l.contains("blocklist") || std::env::var_os("BENCH_ALL_LOG").is_some())
        {
            println!("    | {line}");
        }
        s.stop().await;
    }
}
