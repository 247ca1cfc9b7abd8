//! Configuration numbers (issue #18), against a real fail2ban on a full private copy of
//! Debian's `/etc/fail2ban`, on every backend of `BANGUI_TEST_BACKENDS`:
//!
//! - parsing the full stock tree (every jail with its settings and origins), as the
//!   scheduler does after every change, beside `fail2ban-client -d` (fail2ban's own read);
//! - the activation round trip: `PUT /config/jails/{name}?wait` (tested on a copy with
//!   `-t`, recorded, written, reloaded, verified, the tree read again) until the API
//!   answers with the jail running, beside fail2ban's own bound measured in the same run:
//!   `fail2ban-client reload --if-exists <jail>` alone on the same tree;
//! - the regex tester on the largest stock sample log beside `fail2ban-regex` on the same
//!   file;
//! - fail2ban's log served by the API: the newest 1 000 entries (`GET
//!   /config/log?lines=1000`), plain and filtered, after 5 000 lines were written to the
//!   log fail2ban writes (target: p95 < 100 ms).
//!
//!     cargo build --release -p scheduler && cargo bench -p e2e --bench config

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::db::backends;
use testkit::fail2ban::PrivateFail2ban;
use testkit::stack::Stack;

const RUNS: usize = 15;
const JAIL: &str = "nginx-http-auth";

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn p95(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * 0.95).round() as usize].as_secs_f64() * 1000.0
}

fn parse_numbers() {
    let root = std::env::temp_dir().join(format!("bangui-bench-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let copied = Command::new("cp")
        .args(["-r", "/etc/fail2ban"])
        .arg(&root)
        .status()
        .expect("cp");
    assert!(copied.success());
    let mut ours = Vec::new();
    let mut jails = 0;
    for _ in 0..50 {
        let start = Instant::now();
        let read = scheduler::config_tree::jails::read(&root, "1.0.2").expect("read");
        ours.push(start.elapsed());
        jails = read.len();
    }
    let mut theirs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let out = Command::new("fail2ban-client")
            .arg("-c")
            .arg(&root)
            .arg("-d")
            .output()
            .expect("fail2ban-client -d");
        assert!(out.status.success());
        theirs.push(start.elapsed());
    }
    println!(
        "parse the stock tree ({jails} jails): median {:.2} ms, p95 {:.2} ms (target <= 50 ms); fail2ban-client -d on it: median {:.0} ms",
        median(ours.clone()),
        p95(ours),
        median(theirs)
    );
    let _ = std::fs::remove_dir_all(&root);
}

async fn activation_numbers(s: &Stack) -> (Vec<Duration>, Vec<Duration>) {
    let conf = s.f2b.config_dir();
    let log = s.f2b.dir.join("nginx-error.log");
    std::fs::write(&log, "").expect("log");
    let local = conf.join(format!("jail.d/{JAIL}.local"));
    let text = format!("[{JAIL}]\nenabled = true\nlogpath = {}\n", log.display());
    let mut ours = Vec::new();
    let mut bound = Vec::new();
    for _ in 0..RUNS {
        // BanGUI: the API call until it answers with the jail verified running.
        let jail = s
            .eventually("the jail's revision", Duration::from_secs(20), || async {
                let j = s.get(&format!("/config/jails/{JAIL}")).await;
                (j["enabled"] == false).then_some(j)
            })
            .await;
        let start = Instant::now();
        let (code, cmd) = s
            .send(
                reqwest::Method::PUT,
                &format!("/config/jails/{JAIL}?wait=10s"),
                Some(json!({
                    "expected_revision": jail["local"]["revision"],
                    "raw": text,
                })),
            )
            .await;
        ours.push(start.elapsed());
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert_eq!(cmd["result"]["running"], true, "{cmd}");
        let jail = s.get(&format!("/config/jails/{JAIL}")).await;
        let (_, cmd) = s
            .send(
                reqwest::Method::PUT,
                &format!("/config/jails/{JAIL}?wait=10s"),
                Some(json!({ "expected_revision": jail["local"]["revision"], "raw": "" })),
            )
            .await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        // fail2ban's own bound: the same file, `reload --if-exists` alone.
        std::fs::write(&local, &text).expect("write");
        let start = Instant::now();
        let out = Command::new("fail2ban-client")
            .arg("-c")
            .arg(&conf)
            .arg("-s")
            .arg(s.f2b.socket())
            .args(["reload", "--if-exists", JAIL])
            .output()
            .expect("reload");
        bound.push(start.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&local, "").expect("write");
        let out = Command::new("fail2ban-client")
            .arg("-c")
            .arg(&conf)
            .arg("-s")
            .arg(s.f2b.socket())
            .args(["reload", "--if-exists", JAIL])
            .output()
            .expect("reload");
        assert!(out.status.success());
    }
    (ours, bound)
}

/// Where an activation's time goes, from the scheduler's own log lines: each
/// `fail2ban-client` run by verb, and the commands' execute and record times.
fn breakdown(s: &Stack) {
    let ms = |v: &serde_json::Value, key: &str| {
        Duration::from_millis(v[key].as_u64().unwrap_or_default())
    };
    let mut by_verb: std::collections::BTreeMap<String, Vec<Duration>> = Default::default();
    for (_, line) in s.scheduler.log_events("fail2ban-client ran") {
        let verb = line["verb"].as_str().unwrap_or("?");
        let verb = if verb == "-t" {
            "-t (on the copy)"
        } else {
            "reloads (activating and deactivating)"
        };
        let warm = if line["warm"] == true { "warm" } else { "cold" };
        by_verb
            .entry(format!("{verb}, {warm}"))
            .or_default()
            .push(ms(&line, "duration_ms"));
    }
    let commands = s.scheduler.log_events("command done");
    let execute: Vec<_> = commands.iter().map(|(_, l)| ms(l, "execute_ms")).collect();
    let record: Vec<_> = commands.iter().map(|(_, l)| ms(l, "record_ms")).collect();
    let mut parts: Vec<String> = by_verb
        .into_iter()
        .map(|(verb, d)| format!("{verb} {:.0} ms", median(d)))
        .collect();
    if !execute.is_empty() {
        parts.push(format!(
            "command execute {:.0} ms, record {:.0} ms",
            median(execute),
            median(record)
        ));
    }
    println!("    inside (medians): {}", parts.join("; "));
}

/// The regex tester on the largest stock sample log (by lines), filter and file as
/// fail2ban ships them: the API round trip (`POST /config/regex-test?wait`, the file read
/// by the scheduler) beside `fail2ban-regex` on the same file.
async fn regex_numbers(s: &Stack, name: &str) {
    let samples = std::path::Path::new(SAMPLES);
    let conf = s.f2b.config_dir();
    let (lines, sample) = std::fs::read_dir(samples)
        .expect("samples")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| conf.join(format!("filter.d/{n}.conf")).is_file())
        })
        .map(|p| {
            (
                std::fs::read_to_string(&p)
                    .unwrap_or_default()
                    .lines()
                    .count(),
                p,
            )
        })
        .max()
        .expect("a sample");
    let filter = sample
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_owned();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let (code, cmd) = s
            .post(
                "/config/regex-test?wait=10s",
                json!({ "filter": filter, "log": { "path": sample.display().to_string(), "max_lines": 10_000 } }),
            )
            .await;
        ours.push(start.elapsed());
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        let start = Instant::now();
        let out = Command::new("fail2ban-regex")
            .args(["-e", "UTF-8", "-c"])
            .arg(&conf)
            .arg(&sample)
            .arg(&filter)
            .output()
            .expect("fail2ban-regex");
        theirs.push(start.elapsed());
        assert!(out.status.success());
    }
    let (o, t) = (median(ours.clone()), median(theirs));
    println!(
        "[{name}] regex tester on {filter}'s sample ({lines} lines): median {o:.0} ms, p95 {:.0} ms; \
         fail2ban-regex on the same file: median {t:.0} ms; ratio {:.2} (target <= 1.0)",
        p95(ours),
        o / t
    );
}

/// `GET /config/log?lines=1000`, plain and filtered by level and text, after 5 000 lines
/// in fail2ban's format were added to the file fail2ban logs to.
async fn log_tail_numbers(s: &Stack, name: &str) {
    use std::io::Write;
    let file = s.f2b.dir.join("fail2ban.log");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .expect("fail2ban.log");
    let now = chrono::Local::now();
    for i in 0..5_000 {
        let level = if i % 10 == 0 { "NOTICE " } else { "INFO   " };
        writeln!(
            f,
            "{},{:03} fail2ban.filter         [4242]: {level} [sshd] Found 192.0.2.{} - {}",
            now.format("%Y-%m-%d %H:%M:%S"),
            i % 1000,
            i % 250 + 1,
            now.format("%Y-%m-%d %H:%M:%S")
        )
        .expect("write");
    }
    drop(f);
    s.eventually("5 000 lines read", Duration::from_secs(60), || async {
        let log = s.get("/config/log?lines=5000").await;
        (log["lines"].as_array().map_or(0, Vec::len) >= 5_000).then_some(())
    })
    .await;
    for (label, query) in [
        ("newest 1 000", "lines=1000"),
        (
            "1 000, notice and up, text",
            "lines=1000&level=notice&q=192.0.2.1",
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..50 {
            let start = Instant::now();
            let log = s.get(&format!("/config/log?{query}")).await;
            times.push(start.elapsed());
            assert!(log["lines"].is_array(), "{log}");
        }
        println!(
            "[{name}] fail2ban's log, {label}: median {:.1} ms, p95 {:.1} ms (target p95 < 100 ms)",
            median(times.clone()),
            p95(times)
        );
    }
}

const SAMPLES: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

#[tokio::main]
async fn main() {
    parse_numbers();
    for backend in backends() {
        let name = format!("{backend:?}");
        let s = Stack::start_on(
            PrivateFail2ban::start_stock(),
            backend,
            &[
                ("BANGUI_LOG_ALLOW_DIRS", SAMPLES),
                ("BANGUI_LOG_TAIL_INTERVAL", "1s"),
            ],
        )
        .await;
        regex_numbers(&s, &name).await;
        log_tail_numbers(&s, &name).await;
        let (ours, bound) = activation_numbers(&s).await;
        let (o, b) = (median(ours.clone()), median(bound));
        println!(
            "[{name}] activation round trip over {RUNS} runs: median {o:.0} ms, p95 {:.0} ms; \
             fail2ban-client reload --if-exists alone: median {b:.0} ms; ratio {:.2} (target <= 1.5)",
            p95(ours),
            o / b
        );
        breakdown(&s);
        s.stop().await;
    }
}
