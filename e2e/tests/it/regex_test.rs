//! The regex tester (issue #19) against a real scheduler and fail2ban's own tools: for
//! every stock filter with a sample log in fail2ban's package (of the version under test,
//! `BANGUI_TEST_F2B_VERSION`), the tester counts what that version's `fail2ban-regex`
//! counts on the same file; pasted regexes mean what they mean in a
//! filter file (`%(__prefix_line)s`, `<HOST>`, `<F-USER>`, ignoreregex); a log tail is
//! read only from a jail's logpath or an allowed folder, links resolved; a regex fail2ban
//! cannot compile, a catastrophic one, too many lines and the wrong callers are refused
//! with their error codes while the scheduler keeps serving bans.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::client::{ADMIN, ADMIN_PASSWORD, bearer_client, login_token};
use testkit::db::backends;
use testkit::fail2ban::PrivateFail2ban;
use testkit::stack::Stack;

/// `fail2ban-regex`'s own counts: (matched, ignored, missed).
fn oracle(program: &Path, conf: &Path, sample: &Path, filter: &str) -> (u64, u64, u64) {
    let out = std::process::Command::new(program)
        .args(["-e", "UTF-8", "-c"])
        .arg(conf)
        .arg(sample)
        .arg(filter)
        .output()
        .expect("fail2ban-regex runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("Lines: "))
        .unwrap_or_else(|| panic!("no counts from fail2ban-regex on {filter}: {text}"));
    // "Lines: 148 lines, 42 ignored, 64 matched, 42 missed"
    let n = |word: &str| -> u64 {
        let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let at = words.iter().position(|w| *w == word).expect("a count");
        words[at - 1].parse().expect("a number")
    };
    (n("matched"), n("ignored"), n("missed"))
}

async fn test(s: &Stack, body: Value) -> (u16, Value) {
    s.post("/config/regex-test?wait=10s", body).await
}

fn counts(result: &Value) -> (u64, u64, u64) {
    let n = |k: &str| result[k].as_u64().unwrap_or(u64::MAX);
    (n("matched"), n("ignored"), n("missed"))
}

#[tokio::test]
async fn the_regex_tester_counts_what_fail2ban_regex_counts_on_every_stock_sample() {
    // What is compared is fail2ban's work, not the database's: one backend is enough.
    // The tester reads each sample file itself, as fail2ban-regex does.
    // On the version under test: its own fail2ban-regex, filters and sample logs.
    let backend = backends()[0];
    let f2b = PrivateFail2ban::start();
    let samples_dir = f2b.sample_logs();
    let program = f2b.regex_program();
    let allow = samples_dir.display().to_string();
    let s = Stack::start_on(f2b, backend, &[("BANGUI_LOG_ALLOW_DIRS", allow.as_str())]).await;
    let conf = s.f2b.config_dir();
    let filters: Vec<String> = std::fs::read_dir(conf.join("filter.d"))
        .expect("filter.d")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".conf").map(str::to_owned))
        .collect();
    let mut compared = 0;
    let mut disagreements = Vec::new();
    let mut samples: Vec<PathBuf> = std::fs::read_dir(&samples_dir)
        .expect("fail2ban ships its sample logs")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_file())
        .collect();
    samples.sort();
    for sample in samples {
        let name = sample
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !filters.contains(&name) {
            continue;
        }
        let theirs = oracle(&program, &conf, &sample, &name);
        let log = json!({ "path": sample.display().to_string(), "max_lines": 10_000 });
        let (code, cmd) = test(&s, json!({ "filter": name, "log": log })).await;
        assert_eq!(code, 200, "{name}: {cmd}");
        assert_eq!(cmd["status"], "succeeded", "{name}: {cmd}");
        let ours = counts(&cmd["result"]);
        if ours != theirs {
            disagreements.push(format!("{name}: ours {ours:?}, fail2ban-regex {theirs:?}"));
        }
        // The lines agree with the counts.
        let lines = cmd["result"]["lines"].as_array().expect("lines");
        let matched = lines.iter().filter(|l| l["matched"] == true).count() as u64;
        let ignored = lines.iter().filter(|l| l["ignored"] == true).count() as u64;
        assert_eq!((matched, ignored), (ours.0, ours.1), "{name}");
        compared += 1;
    }
    assert!(compared >= 80, "only {compared} stock filters with samples");
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    s.stop().await;
}

#[tokio::test]
async fn regexes_are_tested_as_a_filter_file_holds_them_within_bounds() {
    for backend in backends() {
        let extra = std::env::temp_dir().join(format!("bangui-allowed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&extra);
        std::fs::create_dir_all(&extra).expect("allowed dir");
        let s = Stack::start_with(
            backend,
            &[
                ("BANGUI_REGEX_TEST_TIMEOUT", "2s"),
                ("BANGUI_LOG_ALLOW_DIRS", extra.to_str().expect("utf-8")),
                ("BANGUI_CONFIG_SYNC_INTERVAL", "1s"),
            ],
        )
        .await;
        s.eventually(
            "the configuration is read",
            Duration::from_secs(20),
            || async {
                let j = s.get("/config/jails/sshd").await;
                j["local"]["revision"].is_string().then_some(())
            },
        )
        .await;

        // Pasted lines, regexes as in filter.d (prefix line, HOST, F-USER, ignoreregex).
        let lines = [
            "Dec  3 10:00:01 host sshd[1]: Failed password for root from 203.0.113.7 port 22 ssh2",
            "Dec  3 10:00:02 host sshd[1]: Failed password for alice from 198.51.100.9 port 22 ssh2",
            "Dec  3 10:00:03 host sshd[1]: Accepted password for bob from 192.0.2.1 port 22 ssh2",
            "",
            "# a comment",
        ];
        let (code, cmd) = test(
            &s,
            json!({
                "failregex": ["^%(__prefix_line)sFailed password for <F-USER>\\S+</F-USER> from <HOST>"],
                "ignoreregex": ["for alice"],
                "lines": [lines.join("\n")],
            }),
        )
        .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        let r = &cmd["result"];
        assert_eq!(counts(r), (1, 1, 1), "{r}");
        assert_eq!(
            r["tested"], 3,
            "blank and comment lines are not tested: {r}"
        );
        assert_eq!(r["lines"][0]["host"], "203.0.113.7");
        assert_eq!(r["lines"][0]["user"], "root");
        assert!(
            r["lines"][0]["time"]
                .as_str()
                .is_some_and(|t| t.contains("T10:00:01")),
            "{r}"
        );
        assert_eq!(r["lines"][1]["ignored"], true);
        assert_eq!(r["lines"][2]["matched"], false);

        // A regex fail2ban cannot compile: its own words.
        let (_, cmd) = test(
            &s,
            json!({ "failregex": ["from <HOST> (unterminated"], "lines": ["x"] }),
        )
        .await;
        assert_eq!(cmd["status"], "failed", "{cmd}");
        assert_eq!(cmd["error_code"], "regex_invalid", "{cmd}");
        assert!(
            cmd["error"]
                .as_str()
                .is_some_and(|e| e.contains("unterminated") || e.contains("missing")),
            "{cmd}"
        );

        // Catastrophic patterns are stopped at the limit, and bans go on meanwhile, even
        // with more of them queued than run at once (two).
        let catastrophic =
            json!({ "failregex": ["^(a+)+<HOST>$"], "lines": [format!("{}!", "a".repeat(40))] });
        let slow = async {
            let (a, b, c) = tokio::join!(
                s.post("/config/regex-test?wait=10s", catastrophic.clone()),
                s.post("/config/regex-test?wait=10s", catastrophic.clone()),
                s.post("/config/regex-test?wait=10s", catastrophic.clone()),
            );
            for (_, cmd) in [&b, &c] {
                assert!(
                    cmd["error_code"] == "regex_timeout"
                        || cmd["status"] == "pending"
                        || cmd["status"] == "running",
                    "{cmd}"
                );
            }
            a
        };
        let ban = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let started = Instant::now();
            let (code, cmd) = s
                .post(
                    "/bans?wait=10s",
                    json!({ "jail": "sshd", "ips": ["192.0.2.200"] }),
                )
                .await;
            (code, cmd, started.elapsed())
        };
        let ((_, slow), (code, banned, took)) = tokio::join!(slow, ban);
        assert_eq!(slow["status"], "failed", "{slow}");
        assert_eq!(slow["error_code"], "regex_timeout", "{slow}");
        assert_eq!(
            (code, banned["status"].as_str()),
            (200, Some("succeeded")),
            "{banned}"
        );
        assert!(
            took < Duration::from_millis(1500),
            "a ban waited {took:?} behind a regex test"
        );

        // A filter of the configuration on the tail of a jail's own log.
        let auth = s.f2b.dir.join("auth.log");
        let mut text = String::new();
        for i in 0..50 {
            text.push_str(&format!(
                "Dec  3 10:00:{:02} host sshd[7]: Failed password for root from 203.0.113.{i} port 22 ssh2\n",
                i % 60
            ));
        }
        std::fs::write(&auth, &text).expect("auth.log");
        let (code, cmd) = test(
            &s,
            json!({ "filter": "sshd", "log": { "path": auth.display().to_string(), "max_lines": 20 } }),
        )
        .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert_eq!(counts(&cmd["result"]), (20, 0, 0), "{cmd}");
        assert_eq!(cmd["result"]["lines"][19]["host"], "203.0.113.49");

        // Refused, nothing run: unknown filter, traversal, both or neither, too much.
        let refused = |body: Value, status: u16, code: &'static str| {
            let s = &s;
            async move {
                let (got, err) = test(s, body.clone()).await;
                assert_eq!(
                    (got, err["error_code"].as_str()),
                    (status, Some(code)),
                    "{body}: {err}"
                );
            }
        };
        refused(
            json!({ "filter": "no-such-filter", "lines": ["x"] }),
            404,
            "unknown_filter",
        )
        .await;
        refused(
            json!({ "filter": "../../etc/passwd", "lines": ["x"] }),
            422,
            "validation_failed",
        )
        .await;
        refused(
            json!({ "filter": "sshd", "failregex": ["<HOST>"], "lines": ["x"] }),
            422,
            "regex_invalid",
        )
        .await;
        refused(json!({ "lines": ["x"] }), 422, "regex_invalid").await;
        refused(
            json!({ "failregex": ["a\nb <HOST>"], "lines": ["x"] }),
            422,
            "regex_invalid",
        )
        .await;
        refused(json!({ "failregex": ["<HOST>"] }), 422, "validation_failed").await;
        refused(
            json!({ "failregex": ["<HOST>"], "lines": vec!["x"; 10_001] }),
            422,
            "too_many_lines",
        )
        .await;
        refused(
            json!({ "failregex": ["<HOST>"], "lines": [ "y".repeat(1_100_000) ] }),
            422,
            "too_many_lines",
        )
        .await;
        let big = s
            .http
            .post(format!("{}/config/regex-test", s.base))
            .header("content-type", "application/json")
            .body(format!(
                "{{\"failregex\":[\"<HOST>\"],\"lines\":[\"{}\"]}}",
                "z".repeat(2_200_000)
            ))
            .send()
            .await
            .expect("request");
        assert_eq!(big.status().as_u16(), 413);
        let (_, cmd) = test(
            &s,
            json!({ "failregex": ["<HOST>"], "log": { "path": "/etc/shadow" } }),
        )
        .await;
        assert_eq!(
            (cmd["status"].as_str(), cmd["error_code"].as_str()),
            (Some("failed"), Some("log_path_refused")),
            "{cmd}"
        );
        refused(json!({ "failregex": ["<HOST>"], "log": { "path": format!("{}/../../etc/shadow", extra.display()) } }), 422, "log_path_refused").await;

        // A link in an allowed folder that leads out of it is refused once resolved.
        let link = extra.join("innocent.log");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/etc/passwd", &link).expect("link");
        let (_, cmd) = test(
            &s,
            json!({ "failregex": ["<HOST>"], "log": { "path": link.display().to_string() } }),
        )
        .await;
        assert_eq!(
            (cmd["status"].as_str(), cmd["error_code"].as_str()),
            (Some("failed"), Some("log_path_refused")),
            "{cmd}"
        );
        // A real file there is read.
        let real = extra.join("app.log");
        std::fs::write(&real, "login failure from 192.0.2.33\n").expect("app.log");
        let (_, cmd) = test(&s, json!({ "failregex": ["failure from <HOST>$"], "log": { "path": real.display().to_string() } })).await;
        assert_eq!(counts(&cmd["result"]), (1, 0, 0), "{cmd}");

        // Operators may test; viewers may not.
        let base = s.base.clone();
        let root = base.trim_end_matches("/api/v1");
        let viewer = bearer_client(&login_token(root, ADMIN, ADMIN_PASSWORD, "viewer").await);
        let r = viewer
            .post(format!("{base}/config/regex-test"))
            .json(&json!({ "failregex": ["<HOST>"], "lines": ["x"] }))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 403);
        let operator = bearer_client(&login_token(root, ADMIN, ADMIN_PASSWORD, "operator").await);
        let r = operator
            .post(format!("{base}/config/regex-test?wait=10s"))
            .json(&json!({ "failregex": ["from <HOST>$"], "lines": ["failure from 192.0.2.1"] }))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 200);
        let _ = std::fs::remove_dir_all(&extra);
        s.stop().await;
    }
}
