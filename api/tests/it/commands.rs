//! The command queue and the snapshot reads, without a scheduler: commands expire with
//! `scheduler_unavailable`, lists page and search on the server.

use serde_json::{Value, json};
use testkit::db::backends;

use testkit::api::{TestApp, spawn_app_with};
use testkit::client::assert_error;

async fn seed_jail(app: &TestApp, name: &str) {
    shared::db::execute(
        &app.db,
        "INSERT INTO f2b_jails (name, running, idle, currently_failed, total_failed, currently_banned, total_banned, settings, updated_at_ms) \
         VALUES ($1, true, false, 0, 0, 0, 0, '{\"bantime\": 600, \"ignoreip\": [\"192.0.2.0/24\"], \"ignoreself\": true}', {now_ms})",
        [name.into()],
    )
    .await
    .expect("seed jail");
}

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_command_nobody_runs_expires_with_scheduler_unavailable() {
    for backend in backends() {
        let app = spawn_app_with(backend, true, &[("BANGUI_COMMAND_EXPIRY", "1s")]).await;
        seed_jail(&app, "sshd").await;
        let r = post(
            &app,
            "/api/v1/bans",
            json!({"jail": "sshd", "ips": ["192.0.2.9", "192.0.2.9", "2001:DB8::1"]}),
        )
        .await;
        assert_eq!(r.status(), 202, "{backend:?}");
        let request_id = r.headers()["x-request-id"].to_str().expect("id").to_owned();
        let cmd: Value = r.json().await.expect("json");
        assert_eq!(cmd["status"], "pending");
        assert_eq!(cmd["kind"], "ban");
        assert_eq!(
            cmd["request_id"],
            request_id.as_str(),
            "the command carries the request id"
        );
        assert_eq!(
            cmd["payload"]["ips"],
            json!(["192.0.2.9", "2001:db8::1"]),
            "deduplicated, canonical"
        );
        let r = post(
            &app,
            "/api/v1/bans?wait=3s",
            json!({"jail": "sshd", "ips": ["192.0.2.10"]}),
        )
        .await;
        assert_eq!(r.status(), 200, "waited until it expired");
        let done: Value = r.json().await.expect("json");
        assert_eq!(done["status"], "failed");
        assert_eq!(done["error_code"], "scheduler_unavailable");
        let first: Value = app
            .get(&format!("/api/v1/commands/{}", cmd["id"]))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(first["error_code"], "scheduler_unavailable", "{first}");
        // The audit row of the request is completed with the outcome and its reason.
        let audit: Value = app
            .get(&format!("/api/v1/audit?request_id={request_id}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(audit["items"][0]["command_id"], cmd["id"], "{audit}");
        assert_eq!(audit["items"][0]["outcome"], "failed", "{audit}");
        assert!(
            audit["items"][0]["outcome_error"]
                .as_str()
                .is_some_and(|e| e.starts_with("scheduler_unavailable: ")),
            "{audit}"
        );
        let list: Value = app
            .get("/api/v1/commands?status=failed")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(list["total"], 2, "{list}");
        assert_error(
            app.get("/api/v1/commands?status=bogus").await,
            400,
            "bad_request",
        )
        .await;
        assert_error(app.get("/api/v1/commands/999999").await, 404, "not_found").await;
        app.stop().await;
    }
}

#[tokio::test]
async fn status_without_a_probe_says_so() {
    for backend in backends() {
        let app = spawn_app_with(backend, true, &[]).await;
        let st: Value = app.get("/api/v1/status").await.json().await.expect("json");
        assert_eq!(st["reachable"], false);
        assert_eq!(st["scheduler_running"], false);
        assert!(
            st["error"]
                .as_str()
                .is_some_and(|e| e.contains("scheduler")),
            "{st}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn jail_bans_page_and_search_on_the_server() {
    for backend in backends() {
        let app = spawn_app_with(backend, true, &[]).await;
        seed_jail(&app, "web").await;
        for i in 0..120 {
            shared::db::execute(
                &app.db,
                "INSERT INTO f2b_bans (jail, ip, banned_at_ms, expires_at_ms, bantime_s, bancount, origin, failures, seen_at_ms) \
                 VALUES ('web', $1, $2, NULL, -1, 1, 'auto', 3, 0)",
                [format!("198.51.100.{i}").into(), (1_000_000 + i64::from(i)).into()],
            )
            .await
            .expect("seed ban");
        }
        let page: Value = app
            .get("/api/v1/jails/web/bans?page=3&page_size=50")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(page["total"], 120, "{backend:?}");
        assert_eq!(page["items"].as_array().map(Vec::len), Some(20));
        let first: Value = app
            .get("/api/v1/jails/web/bans?page_size=1")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(first["items"][0]["ip"], "198.51.100.119", "newest first");
        assert!(first["items"][0]["expires_at"].is_null(), "permanent");
        let found: Value = app
            .get("/api/v1/jails/web/bans?q=198.51.100.11")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(found["total"], 11, "11 and 110-119: {found}");
        // `q` is the start of an address: anything else (LIKE wildcards included) is
        // refused, and NUL, which PostgreSQL cannot even compare, never reaches it.
        for q in ["10_", "10%25", "x", "1.2.3.4%20OR%201"] {
            assert_error(
                app.get(&format!("/api/v1/bans?q={q}")).await,
                422,
                "invalid_ip_search",
            )
            .await;
        }
        assert_error(app.get("/api/v1/bans?q=1%00").await, 400, "bad_request").await;
        let r = app
            .http
            .post(app.url("/api/v1/auth/tokens"))
            .json(&serde_json::json!({"name": "a\u{0}b", "role": "viewer"}))
            .send()
            .await
            .expect("req");
        assert_error(r, 400, "bad_request").await;
        assert_error(
            app.get("/api/v1/jails/web/bans?page_size=1000").await,
            400,
            "bad_request",
        )
        .await;
        assert_error(
            app.get("/api/v1/jails/nope/bans").await,
            404,
            "unknown_jail",
        )
        .await;
        let ignore: Value = app
            .get("/api/v1/jails/web/ignore")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            ignore,
            json!({"jail": "web", "ignoreip": ["192.0.2.0/24"], "ignoreself": true})
        );
        app.stop().await;
    }
}
