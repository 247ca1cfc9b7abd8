//! fail2ban's own log through the API (issue #19): the scheduler reads fail2ban's
//! `logtarget` file and the API serves its newest entries with their level, logger and
//! time, filtered by level and text; a rotated file is read from its start.

use std::time::Duration;

use serde_json::Value;
use testkit::db::backends;
use testkit::stack::Stack;

fn messages(log: &Value) -> Vec<String> {
    log["lines"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn fail2bans_log_is_served_with_levels_and_follows_a_rotation() {
    for backend in backends() {
        let s = Stack::start_with(backend, &[("BANGUI_LOG_TAIL_INTERVAL", "1s")]).await;
        let file = s.f2b.dir.join("fail2ban.log");
        s.f2b.fail("web.log", "192.0.2.71", 3);
        let log = s
            .eventually(
                "the ban is in fail2ban's log",
                Duration::from_secs(30),
                || async {
                    let log = s.get("/config/log?level=notice&q=192.0.2.71").await;
                    messages(&log)
                        .iter()
                        .any(|m| m.contains("Ban 192.0.2.71"))
                        .then_some(log)
                },
            )
            .await;
        assert_eq!(log["target"], file.display().to_string().as_str(), "{log}");
        assert_eq!(log["file"], true);
        assert!(log["error"].is_null(), "{log}");
        let ban = log["lines"]
            .as_array()
            .and_then(|a| {
                a.iter().find(|l| {
                    l["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("Ban 192.0.2.71"))
                })
            })
            .expect("the ban line")
            .clone();
        assert_eq!(ban["level"], "NOTICE", "{ban}");
        assert_eq!(ban["logger"], "fail2ban.actions", "{ban}");
        let at: chrono::DateTime<chrono::Utc> = ban["time"]
            .as_str()
            .expect("time")
            .parse()
            .expect("RFC 3339");
        assert!((chrono::Utc::now() - at).num_seconds().abs() < 120, "{ban}");

        // Levels below the one asked for are left out; all of them come without a level.
        let all = s.get("/config/log?lines=5000").await;
        assert!(
            all["lines"]
                .as_array()
                .is_some_and(|a| a.iter().any(|l| l["level"] == "INFO")),
            "{all}"
        );
        let warnings = s.get("/config/log?level=warning&lines=5000").await;
        for l in warnings["lines"].as_array().expect("lines") {
            assert!(
                ["WARNING", "ERROR", "CRITICAL"].contains(&l["level"].as_str().unwrap_or("")),
                "{l}"
            );
        }
        let few = s.get("/config/log?lines=2").await;
        assert_eq!(few["lines"].as_array().map(Vec::len), Some(2));
        for bad in [
            "/config/log?lines=0",
            "/config/log?lines=5001",
            "/config/log?level=loud",
        ] {
            let (code, err) = s.send(reqwest::Method::GET, bad, None).await;
            assert_eq!(code, 400, "{bad}: {err}");
            assert_eq!(err["error_code"], "bad_request", "{bad}: {err}");
        }

        // A rotation: fail2ban reopens a new file; the old entries go, the new ones come.
        std::fs::rename(&file, s.f2b.dir.join("fail2ban.log.1")).expect("rotate");
        s.f2b.client(&["flushlogs"]);
        s.f2b.fail("web.log", "192.0.2.72", 3);
        s.eventually("the new file is read", Duration::from_secs(30), || async {
            let log = s.get("/config/log?lines=5000").await;
            let m = messages(&log);
            (m.iter().any(|m| m.contains("Ban 192.0.2.72"))
                && !m.iter().any(|m| m.contains("Ban 192.0.2.71")))
            .then_some(())
        })
        .await;
        s.stop().await;
    }
}

/// Writes entries into a journal file of `dir` (fail2ban's fields, as its journal handler
/// writes them) with systemd's own `systemd-journal-remote`.
fn write_journal(dir: &std::path::Path, file: &str, entries: &[(i64, u8, &str)]) {
    use std::io::Write;
    let mut export = String::new();
    for (at_us, priority, message) in entries {
        // One boot: its monotonic clock runs with the wall clock (journalctl orders a
        // boot's entries by it across files).
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={at_us}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n\
             _HOSTNAME=test\nSYSLOG_IDENTIFIER=fail2ban\nLOGGER=fail2ban.actions\nPRIORITY={priority}\n_PID=4242\nMESSAGE={message}\n\n",
            at_us - 1_700_000_000_000_000
        ));
    }
    let mut child = std::process::Command::new("/lib/systemd/systemd-journal-remote")
        .arg("-o")
        .arg(dir.join(file))
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("systemd-journal-remote (apt-get install systemd-journal-remote)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(export.as_bytes())
        .expect("write");
    assert!(child.wait().expect("wait").success());
}

#[tokio::test]
async fn fail2bans_journal_entries_are_served_when_it_logs_to_the_journal() {
    let backend = backends()[0];
    let journal =
        std::env::temp_dir().join(format!("bangui-journal-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&journal).expect("journal dir");
    let now_us = chrono::Utc::now().timestamp_micros();
    write_journal(
        &journal,
        "a.journal",
        &[
            (now_us - 2_000_000, 6, "[sshd] Found 192.0.2.80"),
            (now_us - 1_000_000, 5, "[sshd] Ban 192.0.2.80"),
        ],
    );
    let dir = journal.display().to_string();
    let s = Stack::start_with(
        backend,
        &[
            ("BANGUI_LOG_TAIL_INTERVAL", "1s"),
            ("BANGUI_FAIL2BAN_JOURNAL_DIR", dir.as_str()),
        ],
    )
    .await;
    let said = s.f2b.client(&["set", "logtarget", "SYSTEMD-JOURNAL"]);
    assert!(said.contains("SYSTEMD-JOURNAL"), "{said}");
    let log = s
        .eventually("the journal's entries", Duration::from_secs(30), || async {
            let log = s.get("/config/log").await;
            (messages(&log).len() == 2).then_some(log)
        })
        .await;
    assert_eq!(log["target"], "SYSTEMD-JOURNAL", "{log}");
    assert_eq!(log["readable"], true);
    assert_eq!(log["file"], false);
    assert_eq!(log["lines"][1]["level"], "NOTICE", "{log}");
    assert_eq!(log["lines"][1]["logger"], "fail2ban.actions", "{log}");
    assert_eq!(log["lines"][1]["pid"], 4242, "{log}");
    // Newer entries are added after the cursor, the old ones not again.
    write_journal(
        &journal,
        "b.journal",
        &[(now_us + 1_000_000, 3, "[sshd] Unban failed")],
    );
    let log = s
        .eventually("the new entry", Duration::from_secs(30), || async {
            let log = s.get("/config/log").await;
            (messages(&log).len() == 3).then_some(log)
        })
        .await;
    assert_eq!(log["lines"][2]["level"], "ERROR", "{log}");
    let errors = s.get("/config/log?level=error").await;
    assert_eq!(messages(&errors), ["[sshd] Unban failed"], "{errors}");
    s.f2b.client(&[
        "set",
        "logtarget",
        &s.f2b.dir.join("fail2ban.log").display().to_string(),
    ]);
    s.stop().await;
    let _ = std::fs::remove_dir_all(&journal);
}
