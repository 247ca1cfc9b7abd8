//! End-to-end numbers against a real private fail2ban, on every backend of
//! `BANGUI_TEST_BACKENDS`:
//!
//! - round trip `POST /bans?wait` → banned in fail2ban → visible in `GET /bans`, p50/p95
//!   over 200 commands;
//! - one command banning 10 000 IPs into a jail with no action, end to end;
//! - freshness: from fail2ban banning an IP (log lines) to the ban in the API, with the
//!   ban sync at its default 5 s and at 1 s.
//!
//!     cargo build --release -p scheduler && cargo bench -p e2e --bench fail2ban

use std::time::{Duration, Instant};

use serde_json::json;
use testkit::db::backends;
use testkit::stack::Stack;

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn visible(s: &Stack, ip: &str) -> bool {
    s.get(&format!("/bans?q={ip}")).await["items"]
        .as_array()
        .is_some_and(|a| a.iter().any(|b| b["ip"] == ip))
}

async fn round_trips(s: &Stack, n: u32) -> Vec<Duration> {
    let mut samples = Vec::new();
    for i in 0..n {
        let ip = format!("198.18.{}.{}", i / 250, i % 250 + 1);
        let start = Instant::now();
        let (code, cmd) = s
            .post("/bans?wait=5s", json!({"jail": "bulk", "ips": [ip]}))
            .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        while !visible(s, &ip).await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        samples.push(start.elapsed());
        if i % 50 == 0 {
            assert!(
                s.f2b.banned("bulk").contains(&ip),
                "fail2ban itself has {ip}"
            );
        }
    }
    samples.sort();
    samples
}

async fn bulk_ban(s: &Stack, n: u32) -> Duration {
    let ips: Vec<String> = (0..n)
        .map(|i| format!("100.{}.{}.{}", 64 + i / 65536, (i / 256) % 256, i % 256))
        .collect();
    let start = Instant::now();
    let (code, cmd) = s
        .post("/bans?wait=10s", json!({"jail": "bulk", "ips": ips}))
        .await;
    assert_eq!(
        (code, cmd["status"].as_str()),
        (200, Some("succeeded")),
        "{cmd}"
    );
    assert_eq!(cmd["result"]["newly_banned"], n, "{cmd}");
    loop {
        if s.get("/bans?jail=bulk&q=100.&page_size=1").await["total"] == n {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Log lines → fail2ban bans (its own polling) → visible in the API. Returns the time
/// from fail2ban reporting the ban to the API showing it.
async fn freshness(s: &Stack, ip: &str) -> Duration {
    s.f2b.fail("web.log", ip, 2);
    loop {
        if s.f2b.banned("web-auth").iter().any(|b| b == ip) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let banned = Instant::now();
    while !visible(s, ip).await {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    banned.elapsed()
}

/// Paging and searching a jail with 100 000 current bans (rows written straight into the
/// snapshot table, as the ban sync would): p50/p95 of 50 requests each.
async fn big_jail(s: &Stack) -> [(String, f64, f64); 3] {
    let db = s.test_db.connect().await;
    let rows: Vec<scheduler::ban_writer::CurrentBan> = (0..100_000u32)
        .map(|i| scheduler::ban_writer::CurrentBan {
            jail: "sshd".into(),
            ip: std::net::Ipv4Addr::from(0x0A00_0000 + i).to_string(),
            banned_at_ms: 1_700_000_000_000 + i64::from(i) * 1000,
            expires_at_ms: None,
            bantime_s: Some(-1),
            bancount: 1,
            origin: scheduler::ban_writer::Origin::Auto,
            failures: Some(3),
            matches: None,
        })
        .collect();
    scheduler::ban_writer::upsert_current(&db, &rows, 0)
        .await
        .expect("seed 100 000 bans");
    db.close().await.ok();
    let mut out = Vec::new();
    for (label, path) in [
        ("first page", "/jails/sshd/bans?page_size=50"),
        ("page 1000", "/jails/sshd/bans?page=1000&page_size=50"),
        ("search q=10.1.2", "/jails/sshd/bans?q=10.1.2&page_size=50"),
    ] {
        let mut samples = Vec::new();
        for _ in 0..50 {
            let start = Instant::now();
            let page = s.get(path).await;
            samples.push(start.elapsed());
            assert!(page["total"].as_i64().unwrap_or(0) > 0, "{page}");
        }
        samples.sort();
        out.push((label.to_owned(), pct(&samples, 0.5), pct(&samples, 0.95)));
    }
    out.try_into().unwrap_or_else(|_| unreachable!())
}

#[tokio::main]
async fn main() {
    for backend in backends() {
        let s = Stack::start(backend).await;
        let rt = round_trips(&s, 200).await;
        println!(
            "{:<8} round trip POST /bans?wait -> fail2ban -> GET /bans   p50 {:>6.1} ms  p95 {:>6.1} ms  max {:>6.1} ms (n={})",
            backend.name(),
            pct(&rt, 0.5),
            pct(&rt, 0.95),
            pct(&rt, 1.0),
            rt.len()
        );
        let bulk = bulk_ban(&s, 10_000).await;
        println!(
            "{:<8} one command banning 10 000 IPs (no action), end to end   {:>7.0} ms",
            backend.name(),
            bulk.as_secs_f64() * 1000.0
        );
        let mut fresh: Vec<Duration> = Vec::new();
        for i in 0..10 {
            fresh.push(freshness(&s, &format!("203.0.113.{}", 100 + i)).await);
        }
        fresh.sort();
        println!(
            "{:<8} freshness, ban sync every 1 s: fail2ban ban -> API   p50 {:>6.0} ms  max {:>6.0} ms (n=10)",
            backend.name(),
            pct(&fresh, 0.5),
            pct(&fresh, 1.0)
        );
        // Stop the ban sync from diffing 100 000 fake bans against fail2ban.
        s.scheduler.signal("STOP");
        for (label, p50, p95) in big_jail(&s).await {
            println!(
                "{:<8} GET /jails/{{name}}/bans with 100 000 bans, {:<16} p50 {:>6.1} ms  p95 {:>6.1} ms (n=50)",
                backend.name(),
                label,
                p50,
                p95
            );
        }
        s.scheduler.signal("CONT");
        s.stop().await;
    }
}
