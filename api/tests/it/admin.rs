//! The admin's endpoints over real HTTP, on every backend: instance settings (validated,
//! audited, in effect without a restart), the System view (standbys and versions, job
//! summaries, schema, grouped browser errors) and the audit log's filters and CSV export.

use serde_json::{Value, json};
use testkit::api::spawn_app;
use testkit::client::{ADMIN, assert_error, login_token};
use testkit::db::backends;

async fn put(app: &testkit::api::TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http
        .put(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn settings_are_validated_audited_and_in_effect_at_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let before: Value = app
            .get("/api/v1/settings")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(before["timezone"], "UTC", "{backend:?} {before}");
        assert_eq!(before["retention_days_set"], false, "{before}");
        assert!(
            before["retention_days"].as_i64().is_some_and(|d| d > 0),
            "{before}"
        );

        let r = put(
            &app,
            "/api/v1/settings",
            json!({"timezone": "Europe/Berlin", "session_minutes": 90, "retention_days": 30}),
        )
        .await;
        assert_eq!(r.status(), 200);
        let after: Value = r.json().await.expect("json");
        assert_eq!(
            after,
            json!({"timezone": "Europe/Berlin", "session_minutes": 90, "retention_days": 30, "retention_days_set": true})
        );
        // The session (every page's times) follows at once.
        let session: Value = app
            .get("/api/v1/auth/session")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(session["timezone"], "Europe/Berlin", "{session}");
        // Audited with old and new values.
        let audit: Value = app
            .get("/api/v1/audit?action=settings.")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(audit["items"][0]["action"], "settings.update", "{audit}");
        assert_eq!(
            audit["items"][0]["details"]["timezone"],
            json!({"from": "UTC", "to": "Europe/Berlin"}),
            "{audit}"
        );

        // Bad input: a clear error, nothing changed.
        for (body, status, code) in [
            (json!({"timezone": "Mars/Olympus"}), 422, "invalid_timezone"),
            (json!({"session_minutes": 4}), 422, "validation_failed"),
            (json!({"session_minutes": 43_201}), 422, "validation_failed"),
            (json!({"retention_days": 6}), 422, "validation_failed"),
            (json!({"retention_days": 3651}), 422, "validation_failed"),
            (json!({}), 422, "validation_failed"),
            (
                json!({"timezone": "Europe/Paris", "retention_days": 0}),
                422,
                "validation_failed",
            ),
        ] {
            assert_error(
                put(&app, "/api/v1/settings", body.clone()).await,
                status,
                code,
            )
            .await;
        }
        let r = put(&app, "/api/v1/settings", json!({"session_minutes": "many"})).await;
        assert_eq!(r.status(), 400, "a schema error");
        let unchanged: Value = app
            .get("/api/v1/settings")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(unchanged, after, "a refused change changed nothing");

        // Admins only.
        let viewer = login_token(&app.base, ADMIN, testkit::client::ADMIN_PASSWORD, "viewer").await;
        let as_viewer = testkit::client::bearer_client(&viewer);
        let r = as_viewer
            .get(app.url("/api/v1/settings"))
            .send()
            .await
            .expect("request");
        assert_error(r, 403, "forbidden").await;
        let r = as_viewer
            .put(app.url("/api/v1/settings"))
            .json(&json!({"retention_days": 60}))
            .send()
            .await
            .expect("request");
        assert_error(r, 403, "forbidden").await;
        app.stop().await;
    }
}

#[tokio::test]
async fn the_system_view_lists_schedulers_jobs_schema_and_grouped_browser_errors() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // Two scheduler processes said they are alive; one holds the lease.
        for (holder, version) in [("sched-a", "0.1.0"), ("sched-b", "0.1.0")] {
            shared::store::scheduler_instances::seen(&app.db, holder, version)
                .await
                .expect("seen");
        }
        shared::db::execute(
            &app.db,
            "INSERT INTO scheduler_lease (name, holder, token, acquired_at_ms, renewed_at_ms, expires_at_ms) \
             VALUES ('scheduler', 'sched-a', 7, {now_ms}, {now_ms}, {now_ms} + 60000)",
            [],
        )
        .await
        .expect("lease");
        shared::db::execute(
            &app.db,
            "INSERT INTO scheduler_job_runs (job, holder, token, started_at_ms, finished_at_ms, ok, error) VALUES \
             ('status_probe', 'sched-a', 7, {now_ms} - 50, {now_ms} - 40, true, NULL), \
             ('status_probe', 'sched-a', 7, {now_ms} - 30, {now_ms}, false, 'fail2ban is unreachable')",
            [],
        )
        .await
        .expect("runs");
        for message in [
            "TypeError: a is undefined",
            "TypeError: a is undefined",
            "other",
        ] {
            let r = app
                .anon
                .post(app.url("/api/v1/client-errors"))
                .json(&json!({"kind": "render", "message": message, "url": "/jails", "request_id": "ui-1"}))
                .send()
                .await
                .expect("report");
            assert_eq!(r.status(), 204);
        }
        let system: Value = app.get("/api/v1/system").await.json().await.expect("json");
        assert_eq!(system["api_version"], env!("CARGO_PKG_VERSION"), "{system}");
        assert_eq!(system["has_leader"], true, "{system}");
        let schedulers = system["schedulers"].as_array().expect("schedulers");
        assert_eq!(schedulers.len(), 2, "{system}");
        assert_eq!(
            schedulers[0]["holder"], "sched-a",
            "the leader first: {system}"
        );
        assert_eq!(schedulers[0]["role"], "leader");
        assert_eq!(schedulers[0]["token"], 7);
        assert_eq!(schedulers[1]["role"], "standby");
        assert!(schedulers[1]["token"].is_null());
        let job = &system["jobs"][0];
        assert_eq!(job["job"], "status_probe", "{system}");
        assert_eq!(job["runs"], 2);
        assert_eq!(job["failures"], 1);
        assert_eq!(job["last_ok"], false);
        assert_eq!(job["last_error"], "fail2ban is unreachable");
        assert!(
            system["schema"]["version"]
                .as_str()
                .is_some_and(|v| v.starts_with('m')),
            "{system}"
        );
        assert_eq!(system["schema"]["pending"], json!([]));
        let groups = system["client_errors"].as_array().expect("groups");
        let undefined = groups
            .iter()
            .find(|g| g["message"] == "TypeError: a is undefined")
            .expect("grouped");
        assert_eq!(undefined["count"], 2, "{system}");
        assert_eq!(undefined["kind"], "render");
        assert_eq!(undefined["last_request_id"], "ui-1");
        assert_eq!(groups.len(), 2, "{system}");

        // A flood is logged but not kept: at most 200 reports an hour reach the database.
        let report = shared::store::client_errors::Report {
            kind: "error",
            message: "flood",
            url: "/",
            request_id: None,
            username: None,
        };
        let mut kept = 0;
        for _ in 0..210 {
            if shared::store::client_errors::insert(&app.db, &report)
                .await
                .expect("insert")
            {
                kept += 1;
            }
        }
        assert_eq!(
            kept,
            shared::store::client_errors::MAX_PER_HOUR - 3,
            "{backend:?}"
        );
        let r = app
            .anon
            .post(app.url("/api/v1/client-errors"))
            .json(&json!({"kind": "error", "message": "over the cap", "url": "/"}))
            .send()
            .await
            .expect("report");
        assert_eq!(r.status(), 204, "still accepted (and logged)");
        let system: Value = app.get("/api/v1/system").await.json().await.expect("json");
        let groups = system["client_errors"].as_array().expect("groups");
        assert!(
            groups.iter().all(|g| g["message"] != "over the cap"),
            "{system}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn the_audit_log_filters_by_result_time_and_request_id_and_exports_csv() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // A user created under a known request id, with a name a spreadsheet would run.
        let r = app
            .http
            .post(app.url("/api/v1/users"))
            .header("X-Request-Id", "audit-filter-1")
            .json(&json!({"username": "dana", "password": "orchid lantern basalt 42", "role": "viewer"}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 201);
        let page: Value = app
            .get("/api/v1/audit?request_id=audit-filter-1")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(page["total"], 1, "{page}");
        assert_eq!(page["items"][0]["action"], "user.create", "{page}");
        let ok: Value = app
            .get("/api/v1/audit?request_id=audit-filter-1&result=ok")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(ok["total"], 1, "{ok}");
        let denied: Value = app
            .get("/api/v1/audit?request_id=audit-filter-1&result=denied")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(denied["total"], 0, "{denied}");
        let future: Value = app
            .get("/api/v1/audit?since=2999-01-01T00:00:00Z")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(future["total"], 0, "{future}");
        let past: Value = app
            .get("/api/v1/audit?until=2000-01-01T00:00:00Z")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(past["total"], 0, "{past}");
        let all: Value = app.get("/api/v1/audit").await.json().await.expect("json");
        assert!(all["total"].as_i64().is_some_and(|n| n >= 2), "{all}");
        assert_error(
            app.get("/api/v1/audit?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z")
                .await,
            422,
            "invalid_range",
        )
        .await;

        let r = app
            .get("/api/v1/audit/export?request_id=audit-filter-1")
            .await;
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/csv")),
            "{:?}",
            r.headers()
        );
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .is_ok_and(|c| c.starts_with("attachment; filename=\"bangui-audit-")),
        );
        let csv = r.text().await.expect("text");
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(
            lines[0].starts_with("id,at,user,role,client_ip,request_id,action"),
            "{csv}"
        );
        assert!(
            lines[1].contains(",audit-filter-1,user.create,dana,ok,"),
            "{csv}"
        );
        let everything = app
            .get("/api/v1/audit/export")
            .await
            .text()
            .await
            .expect("csv");
        assert!(everything.split("\r\n").filter(|l| !l.is_empty()).count() >= 3);
        app.stop().await;
    }
}
