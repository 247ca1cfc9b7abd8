//! The production shape on one machine, under faults: PostgreSQL, three `bangui-api`
//! processes, two `bangui-scheduler` processes and a private fail2ban. A steady mix of
//! reads and ban/unban commands goes through every API process while the leading
//! scheduler and one API process are killed and restarted again and again.
//!
//! Proves: no command lost or applied twice (fail2ban's dummy action logs every real
//! ban and unban), no failed request apart from those in flight on a killed process, a
//! new leader within TTL + renew interval each time, and fail2ban's final state equal to
//! the commands' final state. Prints a summary table (`--nocapture`; also
//! `scripts/rehearsal.sh`). `BANGUI_REHEARSAL_SECONDS` sets the length (default 40).

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::db::{Backend, TestDb, backends};
use testkit::fail2ban::PrivateFail2ban;

use testkit::fail2ban::fail2ban_env;
use testkit::processes::{SchedulerProcess, Timings, binary, free_port};

const SLACK: Duration = Duration::from_millis(1000);

struct ApiProcess {
    port: u16,
    url: String,
    child: Option<Child>,
}

impl ApiProcess {
    fn spawn(url: &str, port: u16) -> Self {
        let child = Command::new(binary("bangui-api"))
            .env("BANGUI_DATABASE_URL", url)
            .env("BANGUI_API_ADDR", format!("127.0.0.1:{port}"))
            .env("BANGUI_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bangui-api");
        Self {
            port,
            url: url.to_owned(),
            child: Some(child),
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn restart(&mut self) {
        self.kill();
        *self = Self::spawn(&self.url.clone(), self.port);
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1", self.port)
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// When each API process was down: failures of requests overlapping these are excused.
#[derive(Default)]
struct Downtime {
    windows: Vec<(usize, Instant, Option<Instant>)>,
}

impl Downtime {
    fn excuses(&self, api: usize, sent: Instant, failed: Instant) -> bool {
        self.windows.iter().any(|(a, from, to)| {
            *a == api
                && *from <= failed + Duration::from_millis(200)
                && to.is_none_or(|t| t + Duration::from_millis(500) >= sent)
        })
    }
}

#[derive(Default)]
struct Ledger {
    reads: u64,
    commands: Vec<(i64, &'static str, String)>,
    failed_excused: u64,
    failed_unexcused: Vec<String>,
    banned_ok: Vec<String>,
}

async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    let url = base.replace("/api/v1", "/readyz");
    for _ in 0..200 {
        if http
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never became ready");
}

async fn leader_index(scheds: &[SchedulerProcess]) -> Option<usize> {
    for (i, s) in scheds.iter().enumerate() {
        if s.health().await.is_some_and(|h| h.leader) {
            return Some(i);
        }
    }
    None
}

#[tokio::test]
async fn production_shape_survives_killed_leaders_and_api_processes() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!(
            "rehearsal skipped: it runs on PostgreSQL (BANGUI_TEST_BACKENDS has no postgres)"
        );
        return;
    }
    let seconds: u64 = std::env::var("BANGUI_REHEARSAL_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let f2b = PrivateFail2ban::start();
    let test_db = TestDb::create(Backend::Postgres).await;
    let env = fail2ban_env(&f2b);
    let mut scheds = vec![
        SchedulerProcess::spawn_with(&test_db.url, Timings::SHORT, "rehearsal-a", &env),
        SchedulerProcess::spawn_with(&test_db.url, Timings::SHORT, "rehearsal-b", &env),
    ];
    for s in &scheds {
        s.wait_healthy().await;
    }
    let apis: Vec<Arc<Mutex<ApiProcess>>> = (0..3)
        .map(|_| Arc::new(Mutex::new(ApiProcess::spawn(&test_db.url, free_port()))))
        .collect();
    let bases: Vec<String> = apis
        .iter()
        .map(|a| a.lock().expect("lock").base())
        .collect();
    for b in &bases {
        wait_ready(b).await;
    }
    // The jails must be in the snapshot before commands validate against it.
    let http = testkit::client::admin_client(&bases[0]).await;
    for _ in 0..200 {
        let v: Value = http
            .get(format!("{}/jails", bases[0]))
            .send()
            .await
            .expect("jails")
            .json()
            .await
            .expect("json");
        if v["items"].as_array().is_some_and(|a| a.len() == 4) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let downtime = Arc::new(Mutex::new(Downtime::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();

    // The load: four workers, each a steady mix of reads and commands on every API.
    let mut workers = Vec::new();
    for w in 0..4u32 {
        let (bases, ledger, downtime, stop, http) = (
            bases.clone(),
            ledger.clone(),
            downtime.clone(),
            stop.clone(),
            http.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n: u32 = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let api = ((n + w) % 3) as usize;
                let base = &bases[api];
                let sent = Instant::now();
                let (kind, request) = match n % 5 {
                    0 | 1 => ("read", http.get(format!("{base}/bans?page_size=5"))),
                    2 => ("read", http.get(format!("{base}/status"))),
                    3 => {
                        // Unique per worker and iteration (100.64.0.0/10 is bannable).
                        let k = n / 5;
                        let ip = format!("100.{}.{}.{}", 64 + w, k / 250, k % 250 + 1);
                        (
                            "ban",
                            http.post(format!("{base}/bans"))
                                .json(&json!({"jail": "web-auth", "ips": [ip]})),
                        )
                    }
                    _ => {
                        let victim = ledger.lock().expect("lock").banned_ok.pop();
                        match victim {
                            Some(ip) => (
                                "unban",
                                http.post(format!("{base}/bans/unban"))
                                    .json(&json!({"jail": "web-auth", "ips": [ip]})),
                            ),
                            None => ("read", http.get(format!("{base}/jails"))),
                        }
                    }
                };
                let result = request.send().await;
                let outcome: Result<Value, String> = match result {
                    Ok(r) if r.status().is_success() => r.json().await.map_err(|e| e.to_string()),
                    Ok(r) => Err(format!(
                        "{} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )),
                    Err(e) => Err(e.to_string()),
                };
                {
                    let mut l = ledger.lock().expect("lock");
                    match outcome {
                        Ok(body) if kind == "read" => {
                            let _ = body;
                            l.reads += 1;
                        }
                        Ok(body) => {
                            let id = body["id"].as_i64().expect("a command id");
                            let ip = body["payload"]["ips"][0]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned();
                            if kind == "ban" {
                                l.banned_ok.insert(0, ip.clone());
                            }
                            l.commands.push((id, kind, ip));
                        }
                        Err(e) => {
                            if downtime
                                .lock()
                                .expect("lock")
                                .excuses(api, sent, Instant::now())
                            {
                                l.failed_excused += 1;
                            } else {
                                l.failed_unexcused.push(format!("api {api} {kind}: {e}"));
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }));
    }

    // The faults: alternately kill the leading scheduler and one API process.
    let mut takeovers: Vec<Duration> = Vec::new();
    let mut api_kills = 0;
    let mut round = 0u32;
    let mut next_name = 0u32;
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(4)).await;
        round += 1;
        if round % 2 == 1 {
            let Some(leader) = leader_index(&scheds).await else {
                continue;
            };
            scheds[leader].signal("KILL");
            let killed = Instant::now();
            let took = loop {
                if let Some(i) = leader_index(&scheds).await
                    && i != leader
                {
                    break killed.elapsed();
                }
                assert!(
                    killed.elapsed() < Timings::SHORT.ttl * 4,
                    "no new leader after a kill"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            takeovers.push(took);
            next_name += 1;
            scheds[leader] = SchedulerProcess::spawn_with(
                &test_db.url,
                Timings::SHORT,
                &format!("rehearsal-r{next_name}"),
                &env,
            );
        } else {
            let victim = (round / 2) as usize % 3;
            downtime
                .lock()
                .expect("lock")
                .windows
                .push((victim, Instant::now(), None));
            apis[victim].lock().expect("lock").kill();
            api_kills += 1;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            apis[victim].lock().expect("lock").restart();
            wait_ready(&bases[victim]).await;
            if let Some(w) = downtime.lock().expect("lock").windows.last_mut() {
                w.2 = Some(Instant::now());
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in workers {
        w.await.expect("worker");
    }

    // Every command reaches a final state.
    let db = test_db.connect().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let rows = loop {
        let rows = shared::db::query_all(
            &db,
            "SELECT id, kind, status, attempts, error_code, payload FROM commands ORDER BY id",
            [],
        )
        .await
        .expect("commands");
        let open = rows.iter().filter(|r| {
            let s: String = r.try_get("", "status").unwrap_or_default();
            s == "pending" || s == "running"
        });
        if open.count() == 0 || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("workers done")
        .into_inner()
        .expect("lock");
    let statuses: BTreeMap<i64, (String, i32, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "id").expect("id"),
                (
                    r.try_get("", "status").expect("status"),
                    r.try_get("", "attempts").expect("attempts"),
                    r.try_get("", "error_code").expect("code"),
                ),
            )
        })
        .collect();

    // fail2ban's dummy action wrote one line per real ban (+ip) and unban (-ip).
    let actions = std::fs::read_to_string(f2b.dir.join("dummy-web-auth.txt")).unwrap_or_default();
    let mut applied: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for line in actions.lines() {
        if let Some(ip) = line.strip_prefix('+') {
            applied.entry(ip.to_owned()).or_default().0 += 1;
        } else if let Some(ip) = line.strip_prefix('-') {
            applied.entry(ip.to_owned()).or_default().1 += 1;
        }
    }
    // Expected state from every command in the queue, in execution (id) order: also those
    // whose HTTP answer was lost with a killed API process.
    let mut expected_banned: BTreeSet<String> = BTreeSet::new();
    let mut bans_per_ip: BTreeMap<String, u32> = BTreeMap::new();
    let mut not_succeeded = Vec::new();
    for r in &rows {
        let id: i64 = r.try_get("", "id").expect("id");
        let (status, _, code) = &statuses[&id];
        let payload: Value =
            serde_json::from_str(&r.try_get::<String>("", "payload").expect("payload"))
                .expect("json");
        let ip = payload["ips"][0].as_str().unwrap_or_default().to_owned();
        if status != "succeeded" {
            not_succeeded.push(format!("{id} {payload}: {status} {code:?}"));
            continue;
        }
        if payload["kind"] == "ban" {
            if expected_banned.insert(ip.clone()) {
                *bans_per_ip.entry(ip).or_default() += 1;
            }
        } else {
            expected_banned.remove(&ip);
        }
    }
    let lost: Vec<i64> = ledger
        .commands
        .iter()
        .map(|(id, _, _)| *id)
        .filter(|id| !statuses.contains_key(id))
        .collect();
    let double_applied: Vec<_> = applied
        .iter()
        .filter(|(ip, (plus, minus))| {
            *plus > bans_per_ip.get(*ip).copied().unwrap_or(0).max(1) || *minus > *plus
        })
        .collect();
    let actual: BTreeSet<String> = f2b.banned("web-auth").into_iter().collect();
    let retried = statuses
        .values()
        .filter(|(_, attempts, _)| *attempts > 1)
        .count();
    let max_takeover = takeovers.iter().max().copied().unwrap_or_default();

    println!(
        "\nrehearsal: PostgreSQL, 3 bangui-api, 2 bangui-scheduler (ttl 2 s, renew 500 ms), private fail2ban, {seconds} s"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| reads answered | {} |", ledger.reads);
    println!(
        "| commands accepted (ban/unban) | {} |",
        ledger.commands.len()
    );
    println!(
        "| commands in the queue (incl. answers lost with a killed API) | {} |",
        rows.len()
    );
    println!(
        "| commands succeeded | {} |",
        rows.len() - not_succeeded.len()
    );
    println!(
        "| commands lost / not succeeded | {} / {} |",
        lost.len(),
        not_succeeded.len()
    );
    println!("| commands retried after a leader was killed | {retried} |");
    println!(
        "| bans or unbans applied twice by fail2ban | {} |",
        double_applied.len()
    );
    println!(
        "| leader kills / API kills | {} / {api_kills} |",
        takeovers.len()
    );
    println!(
        "| takeover after a leader kill, max | {:.0} ms (bound {} ms) |",
        max_takeover.as_secs_f64() * 1000.0,
        (Timings::SHORT.ttl + Timings::SHORT.interval).as_millis()
    );
    println!(
        "| failed requests sent to an API process while it was killed | {} |",
        ledger.failed_excused
    );
    println!(
        "| other failed requests | {} |",
        ledger.failed_unexcused.len()
    );
    for f in ledger.failed_unexcused.iter().take(3) {
        println!("  failed: {f}");
    }
    println!(
        "| fail2ban's final state = the commands' final state | {} ({} IPs banned) |",
        actual == expected_banned,
        actual.len()
    );

    assert!(ledger.commands.len() > 20, "the load ran");
    assert!(!takeovers.is_empty() && api_kills > 0, "the faults ran");
    assert!(lost.is_empty(), "lost commands: {lost:?}");
    assert!(
        not_succeeded.is_empty(),
        "commands that did not succeed: {not_succeeded:?}"
    );
    assert!(
        double_applied.is_empty(),
        "applied twice: {double_applied:?}"
    );
    assert!(
        ledger.failed_unexcused.is_empty(),
        "failed requests: {:?}",
        ledger.failed_unexcused
    );
    for t in &takeovers {
        assert!(
            *t <= Timings::SHORT.ttl + Timings::SHORT.interval + SLACK,
            "takeover took {t:?}"
        );
    }
    assert_eq!(actual, expected_banned, "fail2ban's final state");
    drop(scheds);
    drop(apis);
    db.close().await.ok();
    test_db.drop_db().await;
}
