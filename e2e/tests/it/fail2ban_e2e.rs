//! The whole path against a real fail2ban-server (Debian's package, private config):
//! log lines → fail2ban → scheduler snapshot → API, and API → command queue → scheduler
//! → fail2ban. On every test backend.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::db::{TestDb, backends};
use testkit::fail2ban::PrivateFail2ban;

use testkit::fail2ban::fail2ban_env;
use testkit::processes::{SchedulerProcess, Timings};
use testkit::stack::Stack;

#[tokio::test]
async fn log_lines_bans_and_unbans_flow_through_to_the_api_and_back() {
    for backend in backends() {
        let s = Stack::start(backend).await;
        // fail2ban bans from log lines, IPv4 and IPv6.
        s.f2b.fail("web.log", "192.0.2.10", 2);
        s.f2b.fail("web.log", "2001:db8::5", 2);
        for ip in ["192.0.2.10", "2001:db8::5"] {
            let ban = s
                .eventually("a log-line ban in the API", Duration::from_secs(15), || {
                    s.ban_of("web-auth", ip)
                })
                .await;
            assert_eq!(ban["origin"], "auto", "{backend:?} {ban}");
            assert!(ban["expires_at"].is_string(), "{ban}");
        }
        let status = s.get("/status").await;
        assert_eq!(status["reachable"], true, "{status}");
        assert_eq!(
            status["version"]
                .as_str()
                .map(|v| v.starts_with(char::is_numeric)),
            Some(true)
        );
        assert_eq!(status["jail_count"], 4);

        // A ban through the API is banned by fail2ban itself, and shows as manual at once.
        let (code, cmd) = s
            .post(
                "/bans?wait=5s",
                json!({"jail": "web-auth", "ips": ["198.51.100.7", "2001:db8:1::/48"]}),
            )
            .await;
        assert_eq!(code, 200, "{backend:?} {cmd}");
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert_eq!(cmd["result"]["newly_banned"], 2, "{cmd}");
        let banned = s.f2b.banned("web-auth");
        assert!(banned.iter().any(|b| b == "198.51.100.7"), "{banned:?}");
        let ban = s
            .ban_of("web-auth", "198.51.100.7")
            .await
            .expect("visible right after the command");
        assert_eq!(ban["origin"], "manual");
        // It stays manual once the sync has enriched it from fail2ban's database.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(
            s.ban_of("web-auth", "198.51.100.7")
                .await
                .expect("still banned")["origin"],
            "manual"
        );

        // The same IP banned in a second jail, then unbanned from one jail only.
        let (code, _) = s
            .post(
                "/bans?wait=5s",
                json!({"jail": "bulk", "ips": ["198.51.100.7"]}),
            )
            .await;
        assert_eq!(code, 200);
        let (code, cmd) = s
            .post(
                "/bans/unban?wait=5s",
                json!({"jail": "bulk", "ips": ["198.51.100.7"]}),
            )
            .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert!(!s.f2b.banned("bulk").contains(&"198.51.100.7".to_owned()));
        assert!(
            s.f2b
                .banned("web-auth")
                .contains(&"198.51.100.7".to_owned()),
            "still banned in web-auth"
        );

        // Unban from every jail.
        let (code, cmd) = s
            .post(
                "/bans/unban?wait=5s",
                json!({"ips": ["192.0.2.10", "198.51.100.7"]}),
            )
            .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        let left = s.f2b.banned("web-auth");
        assert!(
            !left
                .iter()
                .any(|b| b == "192.0.2.10" || b == "198.51.100.7"),
            "{left:?}"
        );
        assert!(s.ban_of("web-auth", "192.0.2.10").await.is_none());

        // The events: bans and unbans were archived with the right origin.
        let db = s.test_db.connect().await;
        let events = shared::db::query_all(
            &db,
            "SELECT kind, jail, ip, origin FROM ban_events ORDER BY id",
            [],
        )
        .await
        .expect("events");
        let seen: Vec<(String, String, String, String)> = events
            .iter()
            .map(|r| {
                (
                    r.try_get("", "kind").unwrap(),
                    r.try_get("", "jail").unwrap(),
                    r.try_get("", "ip").unwrap(),
                    r.try_get("", "origin").unwrap(),
                )
            })
            .collect();
        let has = |k: &str, j: &str, ip: &str, o: &str| {
            seen.iter()
                .any(|e| (e.0.as_str(), e.1.as_str(), e.2.as_str(), e.3.as_str()) == (k, j, ip, o))
        };
        assert!(has("ban", "web-auth", "192.0.2.10", "auto"), "{seen:?}");
        assert!(has("ban", "web-auth", "2001:db8::5", "auto"), "{seen:?}");
        assert!(has("ban", "web-auth", "198.51.100.7", "manual"), "{seen:?}");
        assert!(has("unban", "web-auth", "192.0.2.10", "auto"), "{seen:?}");
        assert!(has("unban", "bulk", "198.51.100.7", "manual"), "{seen:?}");
        let bans_of_manual = seen
            .iter()
            .filter(|e| e.0 == "ban" && e.1 == "web-auth" && e.2 == "198.51.100.7")
            .count();
        assert_eq!(
            bans_of_manual, 1,
            "one ban event, not one per source: {seen:?}"
        );
        db.close().await.ok();

        // The history shows the same story: how each ban ended, the IP's timeline, and the
        // dashboard counts (current even before the rollup job has run).
        let h = s.get("/history?ip=192.0.2.10").await;
        assert_eq!(h["items"][0]["state"], "unbanned", "{h}");
        assert_eq!(h["items"][0]["jail"], "web-auth");
        let tl = s.get("/history/2001:DB8::5").await;
        assert_eq!(tl["ip"], "2001:db8::5", "{tl}");
        assert_eq!(tl["bans"][0]["state"], "banned", "{tl}");
        assert_eq!(tl["banned_in"], json!(["web-auth"]));
        assert_eq!(tl["bans"][0]["by"], Value::Null, "fail2ban's own ban: {tl}");
        // A ban made through BanGUI names who made it, and who lifted it.
        let tl = s.get("/history/198.51.100.7").await;
        let in_jail = |jail: &str| {
            tl["bans"]
                .as_array()
                .and_then(|a| a.iter().find(|b| b["jail"] == jail))
                .cloned()
                .unwrap_or_default()
        };
        let user = testkit::client::ADMIN;
        assert_eq!(
            (&in_jail("bulk")["by"], &in_jail("bulk")["ended_by"]),
            (&json!(user), &json!(user)),
            "{tl}"
        );
        assert_eq!(in_jail("web-auth")["by"], json!(user), "{tl}");
        let by_jail = s.get("/dashboard/by-jail?range=24h").await;
        let web = by_jail["items"]
            .as_array()
            .and_then(|a| a.iter().find(|j| j["jail"] == "web-auth"))
            .cloned()
            .unwrap_or_default();
        assert!(web["bans"].as_i64() >= Some(3), "{by_jail}");
        let g = s.get("/geo/192.0.2.10").await;
        assert_eq!(
            g["source"], "none",
            "documentation addresses are nowhere: {g}"
        );

        // Clear all.
        let (code, cmd) = s.post("/bans/clear?wait=5s", json!({})).await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert!(s.f2b.banned("web-auth").is_empty());
        let all = s.get("/bans").await;
        assert_eq!(all["total"], 0, "{all}");
        s.stop().await;
    }
}

#[tokio::test]
async fn without_fail2bans_database_bans_still_arrive_from_the_socket_alone() {
    for backend in backends() {
        let s = Stack::start_with(
            backend,
            &[("BANGUI_FAIL2BAN_DB", "/nonexistent/fail2ban.sqlite3")],
        )
        .await;
        s.f2b.fail("web.log", "192.0.2.44", 2);
        let ban = s
            .eventually(
                "a log-line ban without fail2ban's database",
                Duration::from_secs(15),
                || s.ban_of("web-auth", "192.0.2.44"),
            )
            .await;
        assert_eq!(ban["origin"], "auto", "{backend:?} {ban}");
        assert_eq!(ban["bantime_s"], 600, "the jail's bantime stands in: {ban}");
        let (code, cmd) = s
            .post(
                "/bans?wait=5s",
                json!({"jail": "web-auth", "ips": ["192.0.2.45"]}),
            )
            .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert_eq!(
            s.ban_of("web-auth", "192.0.2.45").await.expect("banned")["origin"],
            "manual"
        );
        assert_eq!(
            s.get("/status").await["db_file"],
            "/nonexistent/fail2ban.sqlite3"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn jails_stop_start_idle_reload_and_ignore_lists() {
    for backend in backends() {
        let s = Stack::start(backend).await;
        let (code, cmd) = s.post("/jails/web-auth/stop?wait=5s", json!({})).await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{backend:?} {cmd}"
        );
        assert!(!s.f2b.client(&["status"]).contains("web-auth"));
        let jail = s.get("/jails/web-auth").await;
        assert_eq!(jail["running"], false, "{jail}");
        // The status bar's count follows at once, not at the next probe.
        assert_eq!(s.get("/status").await["jail_count"], 3);

        let (code, cmd) = s.post("/jails/web-auth/start?wait=10s", json!({})).await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert!(s.f2b.client(&["status"]).contains("web-auth"));
        // The scheduler re-read the jail before it reported success: no sync to wait for.
        assert_eq!(s.get("/jails/web-auth").await["running"], true);
        assert_eq!(s.get("/status").await["jail_count"], 4);

        let (code, cmd) = s
            .send(
                reqwest::Method::PUT,
                "/jails/sshd/idle?wait=5s",
                Some(json!({"on": true})),
            )
            .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert_eq!(s.get("/jails/sshd").await["idle"], true);
        let (_, cmd) = s
            .send(
                reqwest::Method::PUT,
                "/jails/sshd/idle?wait=5s",
                Some(json!({"on": false})),
            )
            .await;
        assert_eq!(cmd["status"], "succeeded");

        let (code, cmd) = s.post("/jails/sshd/reload?wait=10s", json!({})).await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        let (code, cmd) = s.post("/jails/reload?wait=10s", json!({})).await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );

        let (code, cmd) = s
            .post(
                "/jails/web-auth/ignore?wait=5s",
                json!({"ip": "198.51.100.0/24"}),
            )
            .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert!(
            s.f2b
                .client(&["get", "web-auth", "ignoreip"])
                .contains("198.51.100.0/24")
        );
        // Listed the moment the command succeeded (the jail sync caches settings for 30 s;
        // the command refreshed them).
        let listed = |v: Value| {
            v["ignoreip"]
                .as_array()
                .is_some_and(|a| a.iter().any(|i| i == "198.51.100.0/24"))
        };
        assert!(listed(s.get("/jails/web-auth/ignore").await));
        let (code, cmd) = s
            .send(
                reqwest::Method::DELETE,
                "/jails/web-auth/ignore?ip=198.51.100.0/24&wait=5s",
                None,
            )
            .await;
        assert_eq!(
            (code, cmd["status"].as_str()),
            (200, Some("succeeded")),
            "{cmd}"
        );
        assert!(
            !s.f2b
                .client(&["get", "web-auth", "ignoreip"])
                .contains("198.51.100.0/24")
        );
        assert!(!listed(s.get("/jails/web-auth/ignore").await));
        let (code, cmd) = s
            .send(
                reqwest::Method::PUT,
                "/jails/web-auth/ignoreself?wait=5s",
                Some(json!({"on": true})),
            )
            .await;
        assert_eq!(
            (code, cmd["status"].as_str(), &cmd["result"]["ignoreself"]),
            (200, Some("succeeded"), &json!(true)),
            "{cmd}"
        );
        assert_eq!(s.get("/jails/web-auth/ignore").await["ignoreself"], true);
        s.stop().await;
    }
}

#[tokio::test]
async fn fail2ban_going_away_and_coming_back_loses_no_command() {
    for backend in backends() {
        let s = Stack::start(backend).await;
        s.f2b.stop();
        s.eventually(
            "the status says offline",
            Duration::from_secs(10),
            || async {
                let st = s.get("/status").await;
                (st["reachable"] == false && st["error"].is_string()).then_some(())
            },
        )
        .await;
        // The API keeps serving the last snapshot.
        assert_eq!(
            s.get("/jails").await["items"].as_array().map(Vec::len),
            Some(4)
        );
        let (code, cmd) = s
            .post(
                "/bans",
                json!({"jail": "web-auth", "ips": ["203.0.113.50"]}),
            )
            .await;
        assert_eq!(code, 202, "{cmd}");
        let id = cmd["id"].as_i64().expect("id");
        // A few more waiting commands: the log says fail2ban is away once, not once per
        // try of each of them (they back off: 0.5 s, then as long as they have waited,
        // up to 10 s).
        for i in 0..4 {
            let (code, _) = s
                .post(
                    "/bans",
                    json!({"jail": "web-auth", "ips": [format!("203.0.113.{}", 60 + i)]}),
                )
                .await;
            assert_eq!(code, 202);
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
        let pending = s.get(&format!("/commands/{id}")).await;
        assert_eq!(
            pending["status"], "pending",
            "waits for fail2ban: {pending}"
        );
        let log = s.scheduler.log_text();
        let away = log.matches("fail2ban unavailable; commands wait").count();
        assert_eq!(away, 1, "one line while fail2ban is away:\n{log}");
        let loud = log
            .lines()
            .filter(|l| l.contains("commands::executor") && !l.contains("\"DEBUG\""))
            .count();
        assert_eq!(loud, 1, "retries are not logged one by one:\n{log}");

        s.f2b.restart();
        let done = s
            .eventually(
                "the queued ban runs once fail2ban is back",
                Duration::from_secs(20),
                || async {
                    let c = s.get(&format!("/commands/{id}")).await;
                    (c["status"] == "succeeded").then_some(c)
                },
            )
            .await;
        assert!(done["attempts"].as_i64().unwrap_or(0) >= 1, "{done}");
        assert!(
            s.f2b
                .banned("web-auth")
                .contains(&"203.0.113.50".to_owned())
        );
        s.eventually(
            "the other waiting bans run",
            Duration::from_secs(20),
            || async { (s.f2b.banned("web-auth").len() >= 5).then_some(()) },
        )
        .await;
        assert_eq!(
            s.scheduler
                .log_text()
                .matches("fail2ban takes commands again")
                .count(),
            1
        );
        s.eventually(
            "the status says online",
            Duration::from_secs(10),
            || async { (s.get("/status").await["reachable"] == true).then_some(()) },
        )
        .await;
        let health = s
            .scheduler
            .health()
            .await
            .expect("the scheduler never restarted");
        assert!(health.leader);
        s.stop().await;
    }
}

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_code_and_never_reaches_fail2ban() {
    for backend in backends() {
        let s = Stack::start(backend).await;
        let before = s.f2b.client(&["banned"]);
        let cases: Vec<(&str, Value, u16, &str)> = vec![
            (
                "/bans",
                json!({"jail": "web-auth", "ips": ["not-an-ip"]}),
                422,
                "invalid_ip",
            ),
            (
                "/bans",
                json!({"jail": "web-auth", "ips": ["0.0.0.0/0"]}),
                422,
                "prefix_too_broad",
            ),
            (
                "/bans",
                json!({"jail": "web-auth", "ips": ["127.0.0.1"]}),
                422,
                "ip_not_allowed",
            ),
            (
                "/bans",
                json!({"jail": "web-auth", "ips": ["192.0.2.1<F2B_END_COMMAND>"]}),
                422,
                "invalid_ip",
            ),
            (
                "/bans",
                json!({"jail": "web-auth", "ips": []}),
                422,
                "invalid_ip",
            ),
            (
                "/bans",
                json!({"jail": "nojail", "ips": ["192.0.2.1"]}),
                404,
                "unknown_jail",
            ),
            (
                "/bans",
                json!({"jail": "../x", "ips": ["192.0.2.1"]}),
                422,
                "invalid_jail_name",
            ),
            (
                "/bans",
                json!({"jail": "web<F2B_END_COMMAND>", "ips": ["192.0.2.1"]}),
                422,
                "invalid_jail_name",
            ),
            ("/bans", json!({"jail": "web-auth"}), 400, "bad_request"),
            ("/bans", json!("nonsense"), 400, "bad_request"),
            (
                "/bans?wait=1h",
                json!({"jail": "web-auth", "ips": ["192.0.2.1"]}),
                422,
                "invalid_wait",
            ),
            (
                "/bans/unban",
                json!({"ips": ["::/0"]}),
                422,
                "prefix_too_broad",
            ),
            (
                "/bans/unban",
                json!({"ips": ["192.0.2.1"], "jail": "nojail"}),
                404,
                "unknown_jail",
            ),
            ("/jails/..%2Fx/stop", json!({}), 422, "invalid_jail_name"),
            ("/jails/nojail/stop", json!({}), 404, "unknown_jail"),
            (
                "/jails/web-auth/ignore",
                json!({"ip": "10.0.0.0/7"}),
                422,
                "prefix_too_broad",
            ),
        ];
        // IPv6 spellings of addresses fail2ban would ban as IPv4 (it converts mapped
        // addresses itself): loopback, unspecified, broadcast, multicast, and networks
        // that swallow every IPv4 address. Also a space around an address.
        let mut cases = cases;
        for (ip, code) in [
            ("::ffff:127.0.0.1", "ip_not_allowed"),
            ("::ffff:0.0.0.0", "ip_not_allowed"),
            ("::ffff:255.255.255.255", "ip_not_allowed"),
            ("::ffff:224.0.0.1", "ip_not_allowed"),
            ("::FFFF:7f00:1", "ip_not_allowed"),
            ("::127.0.0.1", "ip_not_allowed"),
            ("64:ff9b::127.0.0.1", "ip_not_allowed"),
            ("::ffff:0:0/96", "prefix_too_broad"),
            ("::/32", "prefix_too_broad"),
            (" 192.0.2.1", "invalid_ip"),
        ] {
            cases.push(("/bans", json!({"jail": "web-auth", "ips": [ip]}), 422, code));
            cases.push(("/jails/web-auth/ignore", json!({"ip": ip}), 422, code));
        }
        for (path, body, status, code) in cases {
            let (got, body) = s.post(path, body.clone()).await;
            assert_eq!(got, status, "{backend:?} {path}: {body}");
            assert_eq!(body["error_code"], code, "{path}: {body}");
            assert!(body["request_id"].is_string());
        }
        // Bodies: JSON in UTF-8 only, each key once (the first "jail" would be
        // refused, the last one taken: neither is).
        for (content_type, body, status, code) in [
            (
                "application/json",
                r#"{"jail":"../x","jail":"web-auth","ips":["192.0.2.1"]}"#,
                400,
                "bad_request",
            ),
            (
                "application/json-patch+json",
                r#"{"jail":"web-auth","ips":["192.0.2.1"]}"#,
                415,
                "unsupported_media_type",
            ),
            (
                "application/json; charset=latin1",
                r#"{"jail":"web-auth","ips":["192.0.2.1"]}"#,
                415,
                "unsupported_media_type",
            ),
            (
                "text/plain",
                r#"{"jail":"web-auth","ips":["192.0.2.1"]}"#,
                415,
                "unsupported_media_type",
            ),
            // A string field takes a JSON string, not a number or boolean read as one.
            (
                "application/json",
                r#"{"jail":5,"ips":["192.0.2.1"]}"#,
                400,
                "bad_request",
            ),
            (
                "application/json",
                r#"{"jail":true,"ips":["192.0.2.1"]}"#,
                400,
                "bad_request",
            ),
            (
                "application/json",
                r#"{"jail":"web-auth","ips":[3221225985]}"#,
                400,
                "bad_request",
            ),
        ] {
            let r = s
                .http
                .post(format!("{}/bans", s.base))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("req");
            assert_eq!(r.status().as_u16(), status, "{content_type} {body}");
            let v: Value = r.json().await.expect("envelope");
            assert_eq!(v["error_code"], code, "{v}");
        }
        let many: Vec<String> = (0..20_001)
            .map(|i| format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256))
            .collect();
        let (got, body) = s.post("/bans", json!({"jail": "bulk", "ips": many})).await;
        assert_eq!(
            (got, body["error_code"].as_str()),
            (422, Some("too_many_ips")),
            "{body}"
        );
        // 10 MB and a million IPs: refused by the body limit before any parsing.
        let million: Vec<String> = (0..1_000_000u32)
            .map(|i| std::net::Ipv4Addr::from(0x0A00_0000 + i).to_string())
            .collect();
        let (got, body) = s
            .post("/bans", json!({"jail": "bulk", "ips": million}))
            .await;
        assert_eq!(
            (got, body["error_code"].as_str()),
            (413, Some("payload_too_large")),
            "{body}"
        );
        let r = s
            .http
            .post(format!("{}/bans", s.base))
            .body(vec![b'{'; 10 * 1024 * 1024])
            .header("content-type", "application/json")
            .send()
            .await
            .expect("req");
        assert_eq!(r.status().as_u16(), 413);

        let commands = s.get("/commands").await;
        assert_eq!(commands["total"], 0, "no bad input was queued: {commands}");
        assert_eq!(
            s.f2b.client(&["banned"]),
            before,
            "fail2ban was not touched"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn a_command_interrupted_by_a_lost_leader_is_retried_by_the_next() {
    for backend in backends() {
        let f2b = PrivateFail2ban::start();
        let test_db = TestDb::create(backend).await;
        let db = test_db.connect().await;
        migrations::up_guarded(&db).await.expect("migrate");
        // A command a previous leader (token 41) claimed and never finished.
        shared::db::execute(
            &db,
            "INSERT INTO commands (kind, payload, status, requested_by, request_id, created_at_ms, started_at_ms, attempts, lease_token) \
             VALUES ('ban', '{\"kind\":\"ban\",\"jail\":\"bulk\",\"ips\":[\"203.0.113.77\"]}', 'running', 'test', 'req-interrupted', {now_ms}, {now_ms}, 1, 41)",
            [],
        )
        .await
        .expect("insert");
        let scheduler =
            SchedulerProcess::spawn_with(&test_db.url, Timings::SHORT, "heir", &fail2ban_env(&f2b));
        scheduler.wait_healthy().await;
        let start = Instant::now();
        loop {
            let row = shared::db::query_one(
                &db,
                "SELECT status, attempts FROM commands WHERE request_id = 'req-interrupted'",
                [],
            )
            .await
            .expect("read")
            .expect("row");
            let status: String = row.try_get("", "status").expect("status");
            if status == "succeeded" {
                let attempts: i32 = row.try_get("", "attempts").expect("attempts");
                assert_eq!(attempts, 2, "{backend:?}");
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{backend:?}: still {status}\n{}",
                scheduler.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(f2b.banned("bulk").contains(&"203.0.113.77".to_owned()));
        // The scheduler logged the request id of the call that made the command.
        assert!(scheduler.log_text().contains("req-interrupted"));
        drop(scheduler);
        db.close().await.ok();
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn a_database_that_takes_no_writes_for_a_while_stalls_the_stack_but_not_for_good() {
    if !testkit::db::can_freeze_files() {
        eprintln!("skipped: freezing the SQLite file needs root (chattr +i)");
        return;
    }
    for backend in backends() {
        let s = Stack::start(backend).await;
        s.test_db.set_writable(false).await;
        // Long enough for every heartbeat, job and pooled connection to meet the fault
        // (and for connections opened meanwhile to be opened read-only).
        tokio::time::sleep(Duration::from_secs(8)).await;
        let (code, _) = s
            .post(
                "/bans",
                json!({"jail": "web-auth", "ips": ["203.0.113.90"]}),
            )
            .await;
        assert_eq!(
            code, 503,
            "{backend:?}: a command cannot be queued while read-only"
        );
        s.test_db.set_writable(true).await;
        // Both processes recover by themselves: a command is queued, run by the
        // scheduler against fail2ban, and its ban shows up.
        let id = s
            .eventually("a command is queued", Duration::from_secs(20), || async {
                let (code, cmd) = s
                    .post(
                        "/bans",
                        json!({"jail": "web-auth", "ips": ["203.0.113.91"]}),
                    )
                    .await;
                (code == 202).then(|| cmd["id"].as_i64()).flatten()
            })
            .await;
        s.eventually("the command succeeds", Duration::from_secs(30), || async {
            let cmd = s.get(&format!("/commands/{id}")).await;
            (cmd["status"] == "succeeded").then_some(())
        })
        .await;
        assert!(
            s.f2b
                .banned("web-auth")
                .contains(&"203.0.113.91".to_owned()),
            "{backend:?}: fail2ban has the ban"
        );
        s.stop().await;
    }
}
