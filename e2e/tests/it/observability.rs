//! One request id end to end (issue #21): from the client's `X-Request-Id` (or its W3C
//! `traceparent`) to the command row, the scheduler's log line for each fail2ban call the
//! command made, the audit row completed with the command's outcome (a failed one in
//! `api/tests/it/commands.rs`), and the archive
//! (the IP timeline names the request). And fail2ban's figures under the Prometheus
//! exporter's metric names, checked against a real fail2ban. On every backend.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::db::backends;
use testkit::stack::Stack;

/// A number no other call of this process returns (the clock's nanoseconds, made unique).
fn unique() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos());
    nanos + u128::from(N.fetch_add(1, Ordering::Relaxed))
}

/// POSTs with extra headers, as a client with its own request id would.
async fn post_with(s: &Stack, path: &str, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = s.http.post(format!("{}{path}", s.base)).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("POST");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The scheduler's "fail2ban call" log lines made inside the command of `request_id`.
fn calls_of(s: &Stack, request_id: &str) -> Vec<Value> {
    s.scheduler
        .log_events("fail2ban call")
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| v["span"]["request_id"] == request_id)
        .collect()
}

#[tokio::test]
async fn one_request_id_follows_a_ban_and_an_unban_through_fail2ban_the_audit_log_and_the_archive()
{
    for backend in backends() {
        let s = Stack::start(backend).await;
        let rid = format!("trace-{}", unique());
        let (code, cmd) = post_with(
            &s,
            "/bans?wait=5s",
            json!({"jail": "web-auth", "ips": ["198.51.100.61"]}),
            &[("X-Request-Id", &rid)],
        )
        .await;
        assert_eq!(code, 200, "{backend:?} {cmd}");
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert_eq!(cmd["request_id"], rid.as_str(), "{cmd}");
        let command_id = cmd["id"].as_i64().expect("id");

        // Every fail2ban call of the command is logged with the request id, what it was,
        // how long it took and how it ended.
        let calls = s
            .eventually(
                "the command's fail2ban calls in the log",
                Duration::from_secs(5),
                || async {
                    let calls = calls_of(&s, &rid);
                    (!calls.is_empty()).then_some(calls)
                },
            )
            .await;
        let ban_call = calls
            .iter()
            .find(|c| c["call"].as_str().is_some_and(|t| t.contains("banip")))
            .unwrap_or_else(|| panic!("no banip call among {calls:?}"));
        assert_eq!(ban_call["outcome"], "ok", "{ban_call}");
        assert!(ban_call["duration_ms"].as_f64().is_some(), "{ban_call}");
        assert_eq!(ban_call["span"]["id"], command_id, "{ban_call}");
        assert_eq!(ban_call["level"], "INFO", "{ban_call}");
        // The periodic jobs' calls are not logged at info level (no request id there).
        assert!(
            s.scheduler
                .log_events("fail2ban call")
                .iter()
                .all(|(_, v)| v["span"]["request_id"].is_string()),
            "a job's fail2ban call was logged at info level"
        );

        // The audit row of the request is completed with the command's outcome.
        let audit = s.get(&format!("/audit?request_id={rid}")).await;
        let items = audit["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{audit}");
        assert_eq!(items[0]["action"], "command.ban", "{audit}");
        assert_eq!(items[0]["result"], "queued", "{audit}");
        assert_eq!(items[0]["command_id"], command_id, "{audit}");
        assert_eq!(items[0]["outcome"], "succeeded", "{audit}");
        assert!(items[0]["outcome_at"].is_string(), "{audit}");
        let by_outcome = s
            .get(&format!("/audit?request_id={rid}&result=succeeded"))
            .await;
        assert_eq!(by_outcome["total"], 1, "{by_outcome}");
        let none = s
            .get(&format!("/audit?request_id={rid}&result=failed"))
            .await;
        assert_eq!(none["total"], 0, "{none}");

        // The unban comes from a tracing client: its trace id is the request id.
        let trace = format!("{:032x}", unique());
        let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
        let (code, unban) = post_with(
            &s,
            "/bans/unban?wait=5s",
            json!({"jail": "web-auth", "ips": ["198.51.100.61"]}),
            &[("traceparent", &traceparent)],
        )
        .await;
        assert_eq!(code, 200, "{unban}");
        assert_eq!(unban["request_id"], trace.as_str(), "{unban}");
        assert!(
            !calls_of(&s, &trace).is_empty(),
            "the unban's calls are logged"
        );

        // The IP timeline answers who banned it, when, from which request, and who lifted it.
        let timeline = s.get("/history/198.51.100.61").await;
        let ban = &timeline["bans"][0];
        assert_eq!(ban["origin"], "manual", "{timeline}");
        assert_eq!(ban["by"], "admin", "{timeline}");
        assert_eq!(ban["command_id"], command_id, "{timeline}");
        assert_eq!(ban["request_id"], rid.as_str(), "{timeline}");
        assert_eq!(ban["ended_request_id"], trace.as_str(), "{timeline}");
        assert_eq!(ban["ended_command_id"], unban["id"], "{timeline}");

        s.stop().await;
    }
}

/// The figures of `/metrics` for a metric and jail, as numbers.
fn metric(text: &str, name: &str, jail: Option<&str>) -> Option<f64> {
    let prefix = match jail {
        Some(j) => format!("{name}{{jail=\"{j}\"}} "),
        None => format!("{name} "),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn the_leader_exports_fail2bans_figures_under_the_exporters_names() {
    for backend in backends() {
        let s = Stack::start(backend).await;
        let (code, _) = s
            .post(
                "/bans?wait=5s",
                json!({"jail": "web-auth", "ips": ["198.51.100.71", "198.51.100.72"]}),
            )
            .await;
        assert_eq!(code, 200);
        s.f2b.fail("web.log", "192.0.2.71", 1);
        let banned_now = s.f2b.banned("web-auth").len() as f64;
        let text = s
            .eventually(
                "the exporter's figures",
                Duration::from_secs(15),
                || async {
                    let text = s.scheduler.metrics().await;
                    (metric(&text, "f2b_jail_banned_current", Some("web-auth")) == Some(banned_now))
                        .then_some(text)
                },
            )
            .await;
        assert_eq!(metric(&text, "f2b_up", None), Some(1.0), "{text}");
        let jails = s.get("/jails").await;
        let jail_count = jails["items"].as_array().map_or(0, Vec::len) as f64;
        assert_eq!(
            metric(&text, "f2b_jail_count", None),
            Some(jail_count),
            "{text}"
        );
        for jail in jails["items"].as_array().expect("jails") {
            let name = jail["name"].as_str().expect("name");
            let get =
                |key: &str| -> f64 { s.f2b.client(&["get", name, key]).trim().parse().expect(key) };
            for (metric_name, key) in [
                ("f2b_config_jail_ban_time", "bantime"),
                ("f2b_jail_config_ban_time", "bantime"),
                ("f2b_config_jail_find_time", "findtime"),
                ("f2b_jail_config_find_time", "findtime"),
                ("f2b_config_jail_max_retries", "maxretry"),
                ("f2b_jail_config_fail_count", "maxretry"),
            ] {
                assert_eq!(
                    metric(&text, metric_name, Some(name)),
                    Some(get(key)),
                    "{metric_name} of {name}:\n{text}"
                );
            }
            for m in [
                "f2b_jail_banned_current",
                "f2b_jail_banned_total",
                "f2b_jail_failed_current",
                "f2b_jail_failed_total",
            ] {
                assert!(
                    metric(&text, m, Some(name)).is_some(),
                    "{m} of {name}:\n{text}"
                );
            }
        }
        assert!(
            metric(&text, "f2b_jail_banned_total", Some("web-auth")).unwrap_or(0.0) >= 2.0,
            "{text}"
        );
        for line in [
            "# TYPE f2b_errors counter",
            "# TYPE f2b_jail_banned_current gauge",
            "f2b_errors{type=\"socket_conn\"} ",
            "f2b_errors{type=\"socket_req\"} ",
            "f2b_version{exporter=\"bangui-",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }

        // fail2ban gone: f2b_up drops to 0 and connection errors are counted.
        s.f2b.stop();
        let text = s
            .eventually("f2b_up 0", Duration::from_secs(15), || async {
                let text = s.scheduler.metrics().await;
                (metric(&text, "f2b_up", None) == Some(0.0)).then_some(text)
            })
            .await;
        assert!(
            text.lines()
                .find_map(|l| l.strip_prefix("f2b_errors{type=\"socket_conn\"} "))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .is_some_and(|n| n >= 1.0),
            "{text}"
        );

        // A standby exports none of fail2ban's figures (its f2b_up 0 would be a false alarm).
        let standby = s.standby("observability-standby").await;
        let standby_text = standby.metrics().await;
        assert!(!standby_text.contains("f2b_up"), "{standby_text}");
        drop(standby);
        s.stop().await;
    }
}
