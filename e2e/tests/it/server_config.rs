//! fail2ban's own settings and lifecycle through BanGUI (issue #19), on a real private
//! fail2ban: settings shown as running and as configured; `loglevel` changed at runtime
//! (`fail2ban-client get loglevel` agrees) and written into `fail2ban.local`; a short
//! `dbpurgeage` warned about; bad input refused with an `error_code` and nothing written;
//! flush-logs; a restart (fail2ban's own, and every jail's where BanGUI may not start
//! fail2ban) keeps the bans.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::client::{ADMIN, ADMIN_PASSWORD, bearer_client, login_token};
use testkit::db::backends;
use testkit::fail2ban::PrivateFail2ban;
use testkit::stack::Stack;

async fn put(s: &Stack, body: Value) -> (u16, Value) {
    s.command(reqwest::Method::PUT, "/config/server", Some(body))
        .await
}

async fn server_view(s: &Stack) -> Value {
    s.eventually(
        "fail2ban's settings are read",
        Duration::from_secs(20),
        || async {
            let v = s.get("/config/server").await;
            v["loglevel"]["running"].is_string().then_some(v)
        },
    )
    .await
}

#[tokio::test]
async fn server_settings_are_set_at_runtime_and_persisted() {
    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start(),
            backend,
            &[("BANGUI_CONFIG_SYNC_INTERVAL", "1s")],
        )
        .await;
        let conf = s.f2b.config_dir();
        let v = server_view(&s).await;
        assert_eq!(v["loglevel"]["running"], "INFO", "{v}");
        assert_eq!(v["loglevel"]["configured"], "INFO", "{v}");
        assert!(
            v["loglevel"]["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("fail2ban.conf")),
            "{v}"
        );
        assert_eq!(v["dbpurgeage"]["running"], "86400", "{v}");
        assert_eq!(v["dbpurgeage_seconds"], 86400, "{v}");
        assert!(
            v["dbfile"]["running"]
                .as_str()
                .is_some_and(|f| f.ends_with("f2b.sqlite3"))
        );
        assert_eq!(v["local"]["exists"], false);
        assert_eq!(v["warnings"], json!([]), "{v}");

        // Refused at once, nothing written.
        let revision = v["local"]["revision"].clone();
        for (body, field) in [
            (
                json!({ "expected_revision": revision, "dbfile": "/tmp/other.sqlite3" }),
                "dbfile",
            ),
            (
                json!({ "expected_revision": revision, "logtarget": "relative.log" }),
                "logtarget",
            ),
            (
                json!({ "expected_revision": revision, "logtarget": "/var/log/../etc/x" }),
                "logtarget",
            ),
            (
                json!({ "expected_revision": revision, "dbpurgeage": "soon" }),
                "dbpurgeage",
            ),
            (
                json!({ "expected_revision": revision, "syslogsocket": "dev/log" }),
                "syslogsocket",
            ),
            (json!({ "expected_revision": revision }), "loglevel"),
        ] {
            let (code, e) = put(&s, body.clone()).await;
            assert_eq!(code, 422, "{body} → {e}");
            assert_eq!(e["error_code"], "config_refused", "{body} → {e}");
            assert_eq!(e["details"]["field"], field, "{body} → {e}");
        }
        for body in [
            json!({ "expected_revision": revision, "loglevel": "LOUD" }),
            json!({ "expected_revision": revision, "dbmaxmatches": 10001 }),
            json!({ "expected_revision": revision, "loglevel": 3 }),
        ] {
            let (code, e) = put(&s, body.clone()).await;
            assert!(code == 400 || code == 422, "{body} → {code} {e}");
        }
        let (code, e) = put(
            &s,
            json!({ "expected_revision": "0".repeat(64), "loglevel": "DEBUG" }),
        )
        .await;
        assert_eq!(
            (code, e["error_code"].as_str()),
            (409, Some("config_changed")),
            "{e}"
        );
        // A log file outside the allowed folders: the scheduler refuses it.
        let (code, cmd) = put(
            &s,
            json!({ "expected_revision": revision, "logtarget": "/root/bangui-test.log" }),
        )
        .await;
        assert_eq!(code, 200, "{cmd}");
        assert_eq!(cmd["error_code"], "log_path_refused", "{cmd}");
        assert!(!conf.join("fail2ban.local").exists(), "nothing written");

        // loglevel and dbmaxmatches: set at runtime, written, read back.
        let (code, cmd) = put(
            &s,
            json!({ "expected_revision": revision, "loglevel": "DEBUG", "dbmaxmatches": 5 }),
        )
        .await;
        assert_eq!(code, 200, "{cmd}");
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert!(s.f2b.client(&["get", "loglevel"]).contains("DEBUG"));
        assert!(s.f2b.client(&["get", "dbmaxmatches"]).contains('5'));
        let local = std::fs::read_to_string(conf.join("fail2ban.local")).expect("fail2ban.local");
        assert!(
            local.contains("[Definition]") && local.contains("loglevel = DEBUG"),
            "{local}"
        );
        let v = s
            .eventually(
                "the new level is shown",
                Duration::from_secs(10),
                || async {
                    let v = s.get("/config/server").await;
                    (v["loglevel"]["running"] == "DEBUG" && v["loglevel"]["configured"] == "DEBUG")
                        .then_some(v)
                },
            )
            .await;
        assert!(
            v["loglevel"]["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("fail2ban.local")),
            "{v}"
        );

        // A purge age shorter than a day: applied, and warned about.
        let (code, cmd) = put(
            &s,
            json!({ "expected_revision": v["local"]["revision"], "dbpurgeage": "1h" }),
        )
        .await;
        assert_eq!(code, 200, "{cmd}");
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert!(
            cmd["result"]["warnings"]
                .as_array()
                .is_some_and(|w| !w.is_empty()),
            "{cmd}"
        );
        assert!(s.f2b.client(&["get", "dbpurgeage"]).contains("3600"));
        s.eventually("the warning is shown", Duration::from_secs(10), || async {
            let v = s.get("/config/server").await;
            v["warnings"]
                .as_array()
                .is_some_and(|w| !w.is_empty())
                .then_some(())
        })
        .await;

        // Viewers and operators do not change fail2ban.
        let base = s.base.trim_end_matches("/api/v1");
        for role in ["viewer", "operator"] {
            let client = bearer_client(&login_token(base, ADMIN, ADMIN_PASSWORD, role).await);
            let r = client
                .put(format!("{}/config/server", s.base))
                .json(&json!({ "expected_revision": revision, "loglevel": "INFO" }))
                .send()
                .await
                .expect("PUT");
            assert_eq!(r.status().as_u16(), 403, "{role}");
            let r = client
                .post(format!("{}/config/server/restart", s.base))
                .send()
                .await
                .expect("POST");
            assert_eq!(r.status().as_u16(), 403, "{role}");
        }

        let (code, cmd) = s
            .command(reqwest::Method::POST, "/config/server/flush-logs", None)
            .await;
        assert_eq!(code, 200, "{cmd}");
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_restart_keeps_the_bans() {
    for backend in backends() {
        for may_start in ["true", "false"] {
            let s = Stack::start_on(
                PrivateFail2ban::start(),
                backend,
                &[("BANGUI_FAIL2BAN_MAY_START", may_start)],
            )
            .await;
            let (code, cmd) = s
                .command(
                    reqwest::Method::POST,
                    "/bans",
                    Some(json!({ "jail": "web-auth", "ips": ["192.0.2.50", "2001:db8::50"] })),
                )
                .await;
            assert_eq!(code, 200, "{cmd}");
            assert_eq!(cmd["status"], "succeeded", "{cmd}");
            let (code, cmd) = s
                .command(reqwest::Method::POST, "/config/server/restart", None)
                .await;
            assert_eq!(code, 200, "{cmd}");
            assert_eq!(cmd["status"], "succeeded", "{cmd}");
            let mode = if may_start == "true" {
                "server"
            } else {
                "jails"
            };
            assert_eq!(cmd["result"]["mode"], mode, "{cmd}");
            assert!(
                cmd["result"]["bans_after"].as_u64() >= cmd["result"]["bans_before"].as_u64(),
                "{cmd}"
            );
            let banned = s.f2b.banned("web-auth");
            for ip in ["192.0.2.50", "2001:db8::50"] {
                assert!(banned.contains(&ip.to_owned()), "{ip} in {banned:?}");
            }
            // BanGUI still shows both bans, as bans that never ended.
            for ip in ["192.0.2.50", "2001:db8::50"] {
                assert!(s.ban_of("web-auth", ip).await.is_some(), "{ip}");
            }
            s.stop().await;
        }
    }
}
