//! The persistent allowlist (issue #18) against a real fail2ban: an entry lands in every
//! enabled jail's `.local` (or only the jails it names) through the validated write
//! path, fail2ban ignores it, and keeps ignoring it across a full reload; the admin's
//! own `ignoreip` words stay when entries come and go; broad networks need a
//! confirmation; duplicates conflict; expired entries leave the files; viewers cannot
//! change it.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::client::{ADMIN, ADMIN_PASSWORD, bearer_client, login_token};
use testkit::db::backends;
use testkit::stack::Stack;

fn ignored(s: &Stack, jail: &str) -> String {
    s.f2b.client(&["get", jail, "ignoreip"])
}

async fn settled(s: &Stack, what: &str) -> Value {
    s.eventually(what, Duration::from_secs(30), || async {
        let list = s.get("/allowlist").await;
        let idle = list["items"]
            .as_array()
            .is_some_and(|a| a.iter().all(|e| e["pending"] == json!([])));
        let queued = s.get("/commands?kind=allowlist_apply&status=pending").await["total"] != 0
            || s.get("/commands?kind=allowlist_apply&status=running").await["total"] != 0;
        (idle && !queued).then_some(list)
    })
    .await
}

#[tokio::test]
async fn allowlist_entries_are_written_into_the_jails_and_survive_a_reload() {
    for backend in backends() {
        let s = Stack::start_with(
            backend,
            &[
                ("BANGUI_CONFIG_SYNC_INTERVAL", "1s"),
                ("BANGUI_ALLOWLIST_INTERVAL", "1s"),
            ],
        )
        .await;
        let conf = s.f2b.config_dir();
        // The admin's own ignoreip word in web-auth, set through the configuration API.
        let web = s
            .eventually(
                "the configuration is read",
                Duration::from_secs(20),
                || async {
                    let j = s.get("/config/jails/web-auth").await;
                    j["local"]["revision"].is_string().then_some(j)
                },
            )
            .await;
        let (_, cmd) = s
            .send(
                reqwest::Method::PUT,
                "/config/jails/web-auth?wait=10s",
                Some(json!({ "expected_revision": web["local"]["revision"], "settings": { "ignoreip": ["192.0.2.50"] } })),
            )
            .await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");

        // For every enabled jail.
        let (code, everywhere) = s
            .post(
                "/allowlist",
                json!({ "entry": "198.51.100.7", "note": "office uplink" }),
            )
            .await;
        assert_eq!(code, 201, "{everywhere}");
        assert_eq!(everywhere["author"], "admin");
        // For one jail.
        let (code, one) = s
            .post(
                "/allowlist",
                json!({ "entry": "203.0.113.0/24", "jails": ["web-auth"] }),
            )
            .await;
        assert_eq!(code, 201, "{one}");
        let list = settled(&s, "the allowlist is written").await;
        let item = |entry: &str| {
            list["items"]
                .as_array()
                .and_then(|a| a.iter().find(|e| e["entry"] == entry))
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(
            item("198.51.100.7")["targets"],
            json!(["blocklist-import", "bulk", "sshd", "web-auth"])
        );
        assert_eq!(item("203.0.113.0/24")["targets"], json!(["web-auth"]));
        for jail in ["sshd", "web-auth", "bulk"] {
            assert!(
                ignored(&s, jail).contains("198.51.100.7"),
                "{jail}: {}",
                ignored(&s, jail)
            );
        }
        assert!(ignored(&s, "web-auth").contains("203.0.113.0/24"));
        assert!(ignored(&s, "web-auth").contains("192.0.2.50"));
        assert!(!ignored(&s, "sshd").contains("203.0.113.0/24"));
        // Persisted: a full reload keeps them.
        s.f2b.client(&["reload"]);
        assert!(ignored(&s, "sshd").contains("198.51.100.7"));
        assert!(ignored(&s, "web-auth").contains("203.0.113.0/24"));
        let revisions = s.get("/config/revisions?file=jail.d/sshd.local").await;
        assert_eq!(revisions["items"][0]["reason"], "allowlist", "{revisions}");

        // Refusals.
        let (code, broad) = s.post("/allowlist", json!({ "entry": "10.0.0.0/8" })).await;
        assert_eq!(
            (code, broad["error_code"].as_str()),
            (422, Some("allowlist_too_broad")),
            "{broad}"
        );
        let (code, dup) = s
            .post("/allowlist", json!({ "entry": "198.51.100.7" }))
            .await;
        assert_eq!(
            (code, dup["error_code"].as_str()),
            (409, Some("allowlist_exists")),
            "{dup}"
        );
        let (code, unknown) = s
            .post(
                "/allowlist",
                json!({ "entry": "192.0.2.9", "jails": ["nope"] }),
            )
            .await;
        assert_eq!(
            (code, unknown["error_code"].as_str()),
            (404, Some("unknown_jail")),
            "{unknown}"
        );
        let (code, bad) = s.post("/allowlist", json!({ "entry": "not-an-ip" })).await;
        assert!(code == 400 || code == 422, "{code} {bad}");
        let base = s.base.trim_end_matches("/api/v1");
        let viewer = bearer_client(&login_token(base, ADMIN, ADMIN_PASSWORD, "viewer").await);
        let r = viewer
            .post(format!("{}/allowlist", s.base))
            .json(&json!({ "entry": "192.0.2.8" }))
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status(), 403);
        let (code, confirmed) = s
            .post(
                "/allowlist",
                json!({ "entry": "10.0.0.0/8", "confirm_broad": true, "jails": ["bulk"] }),
            )
            .await;
        assert_eq!(code, 201, "{confirmed}");

        // Removing an entry takes out only BanGUI's words.
        let (code, _) = s
            .send(
                reqwest::Method::DELETE,
                &format!("/allowlist/{}", one["id"]),
                None,
            )
            .await;
        assert_eq!(code, 204);
        let (code, changed) = s
            .send(
                reqwest::Method::PATCH,
                &format!("/allowlist/{}", confirmed["id"]),
                Some(json!({ "expires_in": "1m", "note": "temporary" })),
            )
            .await;
        assert_eq!(code, 200, "{changed}");
        assert!(changed["expires_at"].is_string());
        settled(&s, "the removal is written").await;
        let web_auth = ignored(&s, "web-auth");
        assert!(!web_auth.contains("203.0.113.0/24"), "{web_auth}");
        assert!(
            web_auth.contains("192.0.2.50"),
            "the admin's own word stays: {web_auth}"
        );
        assert!(ignored(&s, "bulk").contains("10.0.0.0/8"));

        // An entry whose time is up leaves the files.
        let db = s.test_db.connect().await;
        shared::db::execute(
            &db,
            "UPDATE allowlist SET expires_at_ms = {now_ms} - 1 WHERE entry = '10.0.0.0/8'",
            [],
        )
        .await
        .expect("expire");
        s.eventually(
            "the expired entry leaves",
            Duration::from_secs(30),
            || async { (!ignored(&s, "bulk").contains("10.0.0.0/8")).then_some(()) },
        )
        .await;
        let list = s.get("/allowlist").await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
        // The last entry removed: BanGUI's ignoreip lines go, web-auth keeps the admin's.
        let (code, _) = s
            .send(
                reqwest::Method::DELETE,
                &format!("/allowlist/{}", everywhere["id"]),
                None,
            )
            .await;
        assert_eq!(code, 204);
        settled(&s, "the last removal is written").await;
        let sshd = std::fs::read_to_string(conf.join("jail.d/sshd.local")).unwrap_or_default();
        assert!(!sshd.contains("ignoreip"), "{sshd}");
        let web = std::fs::read_to_string(conf.join("jail.d/web-auth.local")).expect("web");
        assert!(web.contains("ignoreip = 192.0.2.50"), "{web}");
        s.stop().await;
    }
}
