//! Blocklist imports (issue #20) end to end, on a real private fail2ban and both
//! databases, with lists served by a server the test starts on 127.0.0.1
//! (`BANGUI_BLOCKLIST_ALLOW_NETS=127.0.0.1/32`): a first import bans the list (networks
//! and IPv6 included, invalid lines counted, allowlisted entries skipped); the same list
//! again costs no fail2ban call (304, and the same content through gzip); 1 % churn
//! applies only the difference; an entry another source holds stays banned; refusals
//! (`ssrf_refused` for 127.0.0.2 by address, by a name mapped to it and by a redirect;
//! `too_large`; `timeout`) before a second server on 127.0.0.2 sees any request; the
//! blocklist jail created through the write path when missing; a source with history is
//! disabled, not deleted, unless `?purge=true`, which unbans (a purge lost is queued
//! again); and a leading scheduler killed mid-import leaves a standby to finish it with
//! fail2ban holding exactly the list and nothing recorded twice.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use shared::domain::IpOrNet;
use testkit::db::backends;
use testkit::fail2ban::PrivateFail2ban;
use testkit::list_server::ListServer;
use testkit::stack::Stack;

const JAIL: &str = "blocklist-import";

/// A list of `n` addresses (plus a network and IPv6), with comments and bad lines.
fn list(n: usize, offset: usize) -> (String, BTreeSet<String>) {
    let mut text = String::from("# test list\n; another comment\n\n");
    let mut want = BTreeSet::new();
    for i in offset..offset + n {
        let ip = format!("45.{}.{}.{}", 10 + i / 60_000, (i / 250) % 240, i % 250 + 1);
        text.push_str(&format!("{ip}  # entry {i}\n"));
        want.insert(ip);
    }
    for entry in ["46.1.0.0/24 ; SBL1", "2001:db8:1::/48", "2001:db8::5"] {
        text.push_str(entry);
        text.push('\n');
        want.insert(entry.split(' ').next().unwrap_or(entry).to_owned());
    }
    text.push_str("not-an-ip\n10.0.0.0/4\n");
    (text, want)
}

fn canonical(entries: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    entries
        .into_iter()
        .filter_map(|e| IpOrNet::parse_any(&e).ok().map(|n| n.to_string()))
        .collect()
}

fn banned(s: &Stack, jail: &str) -> BTreeSet<String> {
    canonical(s.f2b.banned(jail))
}

async fn import(s: &Stack, id: i64) -> Value {
    let (code, cmd) = s
        .command(
            reqwest::Method::POST,
            &format!("/blocklists/{id}/import"),
            None,
        )
        .await;
    assert_eq!(code, 200, "{cmd}");
    cmd
}

/// The source's newest import, once it ended.
async fn last_import(s: &Stack, id: i64) -> Value {
    s.eventually("the import ended", Duration::from_secs(60), || async {
        let v = s.get(&format!("/blocklists/{id}")).await;
        let last = v["last_import"].clone();
        (last["outcome"].as_str().is_some_and(|o| o != "running")).then_some(last)
    })
    .await
}

async fn create(s: &Stack, body: Value) -> i64 {
    let (code, v) = s.post("/blocklists", body).await;
    assert_eq!(code, 201, "{v}");
    v["id"].as_i64().expect("id")
}

#[tokio::test]
async fn blocklist_imports_apply_only_the_difference_and_refuse_what_is_not_allowed() {
    let (first, want) = list(1000, 0);
    let lists = ListServer::start("127.0.0.1", &first).await;
    let other = ListServer::start("127.0.0.2", "203.0.113.9\n").await;
    let evil = format!("evil.test={}", other.addr.ip());
    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start(),
            backend,
            &[
                ("BANGUI_BLOCKLIST_ALLOW_NETS", "127.0.0.1/32"),
                ("BANGUI_BLOCKLIST_RESOLVE", evil.as_str()),
                ("BANGUI_BLOCKLIST_MAX_BYTES", "65536"),
                ("BANGUI_BLOCKLIST_TIMEOUT", "2s"),
                ("BANGUI_BLOCKLIST_SCHEDULE_INTERVAL", "1s"),
            ],
        )
        .await;
        lists.set(&first);
        // One entry of the list is on the allowlist: it is skipped and counted.
        let (code, v) = s
            .post(
                "/allowlist",
                json!({ "entry": "45.10.0.7", "jails": ["sshd"] }),
            )
            .await;
        assert_eq!(code, 201, "{v}");

        // Refused at once: not http, credentials, a CSV without its column, a jail the
        // configuration does not enable, a schedule too short.
        for (body, status, code) in [
            (
                json!({ "name": "x", "url": "file:///etc/passwd" }),
                422,
                "ssrf_refused",
            ),
            (
                json!({ "name": "x", "url": "http://u:p@example.org/" }),
                422,
                "ssrf_refused",
            ),
            (
                json!({ "name": "x", "url": "http://example.org/", "format": "csv" }),
                422,
                "validation_failed",
            ),
            (
                json!({ "name": "x", "url": "http://example.org/", "jail": "nope" }),
                404,
                "unknown_jail",
            ),
            (
                json!({ "name": "x", "url": "http://example.org/", "jail": "../x" }),
                422,
                "invalid_jail_name",
            ),
            (
                json!({ "name": "x", "url": "http://example.org/", "schedule": { "kind": "interval", "minutes": 4 } }),
                400,
                "bad_request",
            ),
            (
                json!({ "name": "x", "url": "http://example.org/", "schedule": { "kind": "daily", "at": "25:00" } }),
                422,
                "validation_failed",
            ),
            (
                json!({ "name": "", "url": "http://example.org/" }),
                400,
                "bad_request",
            ),
        ] {
            let (got, v) = s.post("/blocklists", body.clone()).await;
            assert_eq!(
                (got, v["error_code"].as_str()),
                (status, Some(code)),
                "{body}: {v}"
            );
        }
        assert_eq!(s.get("/blocklists").await["items"], json!([]));

        // A live preview of a list not saved yet: counts, the first entries, samples.
        let (code, cmd) = s
            .command(
                reqwest::Method::POST,
                "/blocklists/preview",
                Some(json!({ "url": lists.url("/list") })),
            )
            .await;
        assert_eq!(code, 200, "{cmd}");
        let p = &cmd["result"];
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert_eq!(p["entries"], 1003, "{p}");
        assert_eq!(p["invalid"], 2, "{p}");
        assert_eq!(p["allowlisted"], 1, "{p}");
        assert_eq!(p["first_entries"].as_array().map(Vec::len), Some(100));
        assert_eq!(p["invalid_samples"][0]["text"], "not-an-ip", "{p}");

        let id = create(
            &s,
            json!({
                "name": "Test list", "url": lists.url("/list"), "enabled": false,
                "schedule": { "kind": "weekly", "weekday": "mon", "at": "03:15" }
            }),
        )
        .await;
        let (code, v) = s
            .post(
                "/blocklists",
                json!({ "name": "again", "url": lists.url("/list") }),
            )
            .await;
        assert_eq!(
            (code, v["error_code"].as_str()),
            (409, Some("blocklist_exists")),
            "{v}"
        );

        // The first import bans the whole list but the allowlisted entry.
        let cmd = import(&s, id).await;
        let r = &cmd["result"];
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert_eq!(r["added"], 1002, "{r}");
        assert_eq!(r["invalid"], 2, "{r}");
        assert_eq!(r["allowlisted"], 1, "{r}");
        assert_eq!(r["fail2ban_calls"], 3, "1002 entries, 500 a call: {r}");
        let mut expected = want.clone();
        expected.remove("45.10.0.7");
        assert_eq!(banned(&s, JAIL), canonical(expected.clone()));
        let source = s.get(&format!("/blocklists/{id}")).await;
        assert_eq!(source["entries"], 1002, "{source}");
        assert_eq!(source["next_run_at"], Value::Null, "disabled: {source}");
        let log = &source["last_import"];
        assert_eq!(log["trigger"], "manual");
        assert_eq!(log["done_ops"], 1002, "{log}");
        assert_eq!(
            log["invalid_samples"].as_array().map(Vec::len),
            Some(2),
            "{log}"
        );
        assert_eq!(log["request_id"], cmd["request_id"]);
        // Bans carry origin blocklist and the source in the archive.
        let bans = s.get(&format!("/jails/{JAIL}/bans?q=45.10.0.8")).await;
        assert_eq!(bans["items"][0]["origin"], "blocklist", "{bans}");
        let timeline = s.get("/history/45.10.0.8").await;
        assert!(
            timeline.to_string().contains("blocklist:Test list"),
            "{timeline}"
        );

        // The same list again: 304, no fail2ban call.
        let r = import(&s, id).await["result"].clone();
        assert_eq!(
            (
                r["outcome"].as_str(),
                r["http_status"].as_i64(),
                r["fail2ban_calls"].as_i64()
            ),
            (Some("unchanged"), Some(304), Some(0)),
            "{r}"
        );
        // The same content read in full (gzip, no validators): still no fail2ban call.
        let (code, v) = s
            .send(
                reqwest::Method::PATCH,
                &format!("/blocklists/{id}"),
                Some(json!({ "url": lists.url("/list.gz") })),
            )
            .await;
        assert_eq!(code, 200, "{v}");
        let r = import(&s, id).await["result"].clone();
        assert_eq!(
            (
                r["outcome"].as_str(),
                r["http_status"].as_i64(),
                r["unchanged"].as_i64()
            ),
            (Some("unchanged"), Some(200), Some(1002)),
            "{r}"
        );

        // A second source holds one entry the first one will drop.
        let lists_b = ListServer::start("127.0.0.1", "45.10.0.1\n").await;
        let b = create(
            &s,
            json!({ "name": "B", "url": lists_b.url("/list"), "enabled": false }),
        )
        .await;
        assert_eq!(import(&s, b).await["result"]["added"], 1);

        // 1 % churn: ten dropped (one of them held by B), ten added; only they change.
        let (next, next_want) = list(1000, 10);
        lists.set(&next);
        let cmd = import(&s, id).await;
        let r = &cmd["result"];
        assert_eq!(
            (
                r["added"].as_i64(),
                r["removed"].as_i64(),
                r["kept"].as_i64()
            ),
            (Some(10), Some(8), Some(1)),
            "{r}"
        );
        assert_eq!(r["fail2ban_calls"], 2, "{r}");
        let mut expected: BTreeSet<String> = next_want.clone();
        expected.insert("45.10.0.1".into());
        expected.remove("45.10.0.7");
        assert_eq!(banned(&s, JAIL), canonical(expected));

        // Refused before connecting: the second server on 127.0.0.2 sees nothing.
        for url in [
            other.url("/list"),
            format!("http://evil.test:{}/list", other.addr.port()),
            lists.url(&format!("/to/{}", other.addr)),
        ] {
            let bad = create(&s, json!({ "name": "bad", "url": url, "enabled": false })).await;
            let cmd = import(&s, bad).await;
            assert_eq!(
                (cmd["status"].as_str(), cmd["error_code"].as_str()),
                (Some("failed"), Some("ssrf_refused")),
                "{url}: {cmd}"
            );
            let log = last_import(&s, bad).await;
            assert_eq!(log["error_code"], "ssrf_refused", "{log}");
            let (code, v) = s
                .send(reqwest::Method::DELETE, &format!("/blocklists/{bad}"), None)
                .await;
            assert_eq!(
                (
                    code,
                    v["error_code"].as_str(),
                    v["details"]["imports"].as_i64()
                ),
                (409, Some("blocklist_has_history"), Some(1)),
                "a source with history goes only with ?purge=true: {v}"
            );
            let kept = s.get(&format!("/blocklists/{bad}")).await;
            assert_eq!(
                (kept["name"].as_str(), kept["enabled"].as_bool()),
                (Some("bad"), Some(false)),
                "disabled, not deleted: {kept}"
            );
            if url.contains("evil.test") {
                // A deletion whose purge never ran (the command lost): the schedule job
                // queues the purge again, and the source goes with its import log.
                let db = s.test_db.connect().await;
                shared::db::execute(
                    &db,
                    "UPDATE blocklist_sources SET enabled = false, deleted_at_ms = 1 WHERE id = $1",
                    [bad.into()],
                )
                .await
                .expect("mark deleted");
                let (code, _) = s
                    .send(reqwest::Method::GET, &format!("/blocklists/{bad}"), None)
                    .await;
                assert_eq!(code, 404, "a source being deleted is gone from the API");
                s.eventually(
                    "the purge queued again",
                    Duration::from_secs(30),
                    || async {
                        let all = s.get("/blocklists/imports").await;
                        let left = all["items"].as_array().is_some_and(|a| {
                            a.iter().any(|i| i["source_id"].as_i64() == Some(bad))
                        });
                        (!left).then_some(())
                    },
                )
                .await;
                continue;
            }
            let (code, cmd) = s
                .command(
                    reqwest::Method::DELETE,
                    &format!("/blocklists/{bad}?purge=true"),
                    None,
                )
                .await;
            assert_eq!(
                (code, cmd["status"].as_str()),
                (200, Some("succeeded")),
                "{cmd}"
            );
        }
        let (code, cmd) = s
            .command(
                reqwest::Method::POST,
                "/blocklists/preview",
                Some(json!({ "url": other.url("/list") })),
            )
            .await;
        assert_eq!(
            (code, cmd["error_code"].as_str()),
            (200, Some("ssrf_refused")),
            "{cmd}"
        );
        assert_eq!(other.requests(), 0, "127.0.0.2 saw a request");
        for (path, code) in [("/huge", "too_large"), ("/trickle", "timeout")] {
            let (c, cmd) = s
                .command(
                    reqwest::Method::POST,
                    "/blocklists/preview",
                    Some(json!({ "url": lists.url(path) })),
                )
                .await;
            assert_eq!(
                (c, cmd["error_code"].as_str()),
                (200, Some(code)),
                "{path}: {cmd}"
            );
        }

        // The import log, per source and overall.
        let log = s.get(&format!("/blocklists/{id}/imports?limit=2")).await;
        assert_eq!(log["items"].as_array().map(Vec::len), Some(2), "{log}");
        assert!(log["next_before"].is_i64(), "{log}");
        // Every source's (the purged ones' went with them).
        let all = s.get("/blocklists/imports").await;
        assert_eq!(all["items"].as_array().map(Vec::len), Some(5), "{all}");

        // A schedule that is due runs once (the job queues it) and moves on.
        let (code, v) = s
            .send(
                reqwest::Method::PATCH,
                &format!("/blocklists/{b}"),
                Some(json!({ "enabled": true, "schedule": { "kind": "interval", "minutes": 5 } })),
            )
            .await;
        assert_eq!(code, 200, "{v}");
        let scheduled = s
            .eventually(
                "the scheduled import ran",
                Duration::from_secs(30),
                || async {
                    let v = s.get(&format!("/blocklists/{b}/imports")).await;
                    v["items"].as_array().and_then(|a| {
                        a.iter()
                            .find(|i| i["trigger"] == "schedule" && i["outcome"] != "running")
                            .cloned()
                    })
                },
            )
            .await;
        assert_eq!(scheduled["outcome"], "unchanged", "{scheduled}");
        let v = s.get(&format!("/blocklists/{b}")).await;
        let next: chrono::DateTime<chrono::Utc> = v["next_run_at"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("next run");
        assert!(
            next > chrono::Utc::now() + chrono::Duration::minutes(4),
            "{v}"
        );

        // Purged, the source's entries go, except what B still holds.
        let (code, cmd) = s
            .command(
                reqwest::Method::DELETE,
                &format!("/blocklists/{id}?purge=true"),
                None,
            )
            .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert_eq!(banned(&s, JAIL), canonical(["45.10.0.1".to_owned()]));
        for path in [
            format!("/blocklists/{id}"),
            format!("/blocklists/{id}/imports"),
        ] {
            let (code, _) = s.send(reqwest::Method::GET, &path, None).await;
            assert_eq!(code, 404, "{path}");
        }
        let (code, _) = s
            .send(reqwest::Method::DELETE, &format!("/blocklists/{id}"), None)
            .await;
        assert_eq!(code, 404, "deleted already");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_missing_blocklist_jail_is_created_through_the_write_path() {
    let lists = ListServer::start("127.0.0.1", "198.51.100.23\n2001:db8:77::/48\n").await;
    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start(),
            backend,
            &[
                ("BANGUI_BLOCKLIST_ALLOW_NETS", "127.0.0.1/32"),
                ("BANGUI_BLOCKLIST_JAIL", "bl-feeds"),
                ("BANGUI_CONFIG_SYNC_INTERVAL", "1s"),
            ],
        )
        .await;
        let v = s.get("/blocklists").await;
        assert_eq!(v["default_jail"], "bl-feeds", "{v}");
        let id = create(
            &s,
            json!({ "name": "feeds", "url": lists.url("/list"), "enabled": false }),
        )
        .await;
        let cmd = import(&s, id).await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert_eq!(cmd["result"]["added"], 2, "{cmd}");
        let file = s.f2b.config_dir().join("jail.d/bangui-blocklist.local");
        let text = std::fs::read_to_string(&file).expect("the jail's file");
        assert!(
            text.contains("[bl-feeds]") && text.contains("bantime = -1"),
            "{text}"
        );
        assert_eq!(
            banned(&s, "bl-feeds"),
            canonical(["198.51.100.23".to_owned(), "2001:db8:77::/48".to_owned()])
        );
        let log = last_import(&s, id).await;
        assert!(
            log["notes"]
                .to_string()
                .contains("created the jail bl-feeds"),
            "{log}"
        );
        // The write is a revision like any other.
        let revisions = s.get("/config/revisions").await;
        assert!(
            revisions.to_string().contains("bangui-blocklist.local"),
            "{revisions}"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn a_leader_killed_mid_import_leaves_the_standby_to_finish_it() {
    let (text, want) = list(30_000, 0);
    let lists = ListServer::start("127.0.0.1", &text).await;
    for backend in backends() {
        let mut s = Stack::start_on(
            PrivateFail2ban::start(),
            backend,
            &[("BANGUI_BLOCKLIST_ALLOW_NETS", "127.0.0.1/32")],
        )
        .await;
        let standby = s.standby("e2e-standby").await;
        let id = create(
            &s,
            json!({ "name": "big", "url": lists.url("/list"), "enabled": false }),
        )
        .await;
        let (code, cmd) = s
            .send(
                reqwest::Method::POST,
                &format!("/blocklists/{id}/import"),
                None,
            )
            .await;
        assert_eq!(code, 202, "{cmd}");
        // Killed once some chunks are done and others are not.
        s.eventually(
            "the import is part-way",
            Duration::from_secs(60),
            || async {
                let v = s.get(&format!("/blocklists/{id}")).await;
                let done = v["last_import"]["done_ops"].as_i64().unwrap_or(0);
                (done >= 1000).then_some(())
            },
        )
        .await;
        s.scheduler.signal("KILL");
        let _ = s.scheduler.wait_exit(Duration::from_secs(5)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let log = loop {
            let v = s.get(&format!("/blocklists/{id}")).await;
            if v["last_import"]["outcome"] != "running" {
                break v["last_import"].clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the standby did not finish the import: {v}\n{}",
                standby
                    .log_text()
                    .lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(log["outcome"], "applied", "{log}\n{}", standby.log_text());
        assert_eq!(log["done_ops"], log["total_ops"], "{log}");
        let path = format!("/commands/{}", cmd["id"]);
        let cmd = s
            .eventually("the command ended", Duration::from_secs(10), || async {
                let c = s.get(&path).await;
                matches!(c["status"].as_str(), Some("succeeded" | "failed")).then_some(c)
            })
            .await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert!(cmd["attempts"].as_i64() >= Some(2), "{cmd}");
        assert_eq!(banned(&s, JAIL), canonical(want.clone()));
        let source = s.get(&format!("/blocklists/{id}")).await;
        assert_eq!(
            source["entries"].as_u64(),
            Some(want.len() as u64),
            "{source}"
        );
        // Nothing recorded twice: one ban event per entry.
        let events = s.test_db.connect().await;
        let row = shared::db::query_one(
            &events,
            "SELECT COUNT(*) AS n, COUNT(DISTINCT ip) AS d FROM ban_events WHERE jail = $1 AND kind = 'ban'",
            [JAIL.into()],
        )
        .await
        .expect("count")
        .expect("row");
        let (n, d): (i64, i64) = (
            row.try_get("", "n").expect("n"),
            row.try_get("", "d").expect("d"),
        );
        assert_eq!((n, d), (want.len() as i64, want.len() as i64));
        drop(standby);
        s.stop().await;
    }
}
