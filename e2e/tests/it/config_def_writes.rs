//! Changing filters and actions through BanGUI (issue #19), on a real fail2ban with a full
//! private copy of Debian's tree: a filter created, assigned to a jail (an edit of the
//! jail), and a line of the jail's log matching it gets the address banned; a filter
//! used by a jail cannot be deleted; a change whose regex does not compile is refused
//! before anything is written (fail2ban's reload would drop the jail); a stock filter
//! is never deleted; an action's `.local` change reloads the jails that use it; every
//! bad input refused with an `error_code` and nothing written.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::db::backends;
use testkit::fail2ban::PrivateFail2ban;
use testkit::stack::Stack;

use crate::config_write::tree_bytes;

/// A command request followed to its end (the `?wait=` of `path` is the helper's own).
async fn send(s: &Stack, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let path = path.split("?wait=").next().unwrap_or(path);
    s.command(method, path, body).await
}

fn succeeded(code: u16, cmd: &Value) {
    assert_eq!(code, 200, "{cmd}");
    assert_eq!(cmd["status"], "succeeded", "{cmd}");
}

#[tokio::test]
async fn filters_are_created_assigned_and_guarded() {
    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start_stock(),
            backend,
            &[("BANGUI_CONFIG_SYNC_INTERVAL", "1s")],
        )
        .await;
        let conf = s.f2b.config_dir();
        s.eventually("the filters are read", Duration::from_secs(30), || async {
            let list = s.get("/config/filters").await;
            (list["items"].as_array().map_or(0, Vec::len) > 50).then_some(())
        })
        .await;

        // A new filter, from its keys.
        let (code, cmd) = s
            .command(
                reqwest::Method::POST,
                "/config/filters",
                Some(json!({
                    "name": "bangui-app",
                    "definition": {
                        "failregex": "^Login failed for \\S+ from <HOST>$",
                        "datepattern": "{NONE}"
                    }
                })),
            )
            .await;
        succeeded(code, &cmd);
        let written = std::fs::read_to_string(conf.join("filter.d/bangui-app.conf")).expect("conf");
        assert!(written.contains("before = common.conf"), "{written}");
        assert!(written.contains("failregex = ^Login failed"), "{written}");
        let f = s.get("/config/filters/bangui-app").await;
        assert_eq!(f["created_by_bangui"], true, "{f}");
        assert_eq!(f["used_by"], json!([]), "{f}");

        // The name is taken now; a bad name or key is refused at once.
        let before = tree_bytes(&conf);
        for (body, want) in [
            (
                json!({ "name": "bangui-app", "raw": "[Definition]\nfailregex = x <HOST>\n" }),
                "config_exists",
            ),
            (
                json!({ "name": "../jail", "raw": "[Definition]\n" }),
                "config_refused",
            ),
            (
                json!({ "name": "a/b", "raw": "[Definition]\n" }),
                "config_refused",
            ),
            (
                json!({ "name": "new-one", "definition": { "fail regex": "x" } }),
                "config_refused",
            ),
            (
                json!({ "name": "new-one", "definition": { "ignoreregex": "x" } }),
                "config_refused",
            ),
            (
                json!({ "name": "new-one", "raw": "[Definition]\nfailregex = <F2B_END_COMMAND>\n" }),
                "config_refused",
            ),
        ] {
            let (code, e) = s
                .command(reqwest::Method::POST, "/config/filters", Some(body.clone()))
                .await;
            assert_eq!(e["error_code"], want, "{body} → {e}");
            assert!(code == 409 || code == 422, "{body} → {code} {e}");
        }
        assert_eq!(tree_bytes(&conf), before, "nothing written");

        // Assigned to a stock jail (an edit of the jail) with a log of its own.
        let log = s.f2b.dir.join("app.log");
        std::fs::write(&log, "").expect("log");
        let jail = s.get("/config/jails/nginx-http-auth").await;
        let (code, cmd) = send(
            &s,
            reqwest::Method::PUT,
            "/config/jails/nginx-http-auth?wait=20s",
            Some(json!({
                "expected_revision": jail["local"]["revision"],
                "settings": {
                    "enabled": true,
                    "filter": "bangui-app",
                    "logpath": [log.display().to_string()],
                    "maxretry": 2
                }
            })),
        )
        .await;
        succeeded(code, &cmd);
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("open");
            for _ in 0..3 {
                writeln!(f, "Login failed for bob from 198.51.100.77").expect("write");
            }
        }
        s.eventually(
            "the matching address is banned",
            Duration::from_secs(20),
            || async {
                s.f2b
                    .banned("nginx-http-auth")
                    .contains(&"198.51.100.77".to_owned())
                    .then_some(())
            },
        )
        .await;

        // Used by a jail: not deleted.
        let used = s
            .eventually(
                "the jail's use is read",
                Duration::from_secs(10),
                || async {
                    let f = s.get("/config/filters/bangui-app").await;
                    (f["used_by"] == json!(["nginx-http-auth"])).then_some(f)
                },
            )
            .await;
        let (code, e) = send(
            &s,
            reqwest::Method::DELETE,
            "/config/filters/bangui-app?wait=5s",
            None,
        )
        .await;
        assert_eq!(
            (code, e["error_code"].as_str()),
            (409, Some("config_in_use")),
            "{e}"
        );
        assert!(conf.join("filter.d/bangui-app.conf").is_file());

        // A regex that does not compile passes `-t` but would drop the jail on reload:
        // refused before the file is written; the jail keeps running.
        let before = tree_bytes(&conf);
        let (code, cmd) = send(
            &s,
            reqwest::Method::PUT,
            "/config/filters/bangui-app?wait=20s",
            Some(json!({
                "expected_revision": used["local"]["revision"],
                "definition": { "failregex": "^(unclosed <HOST>" }
            })),
        )
        .await;
        assert_eq!(code, 200, "{cmd}");
        assert_eq!(cmd["status"], "failed", "{cmd}");
        assert_eq!(cmd["error_code"], "config_invalid", "{cmd}");
        assert_eq!(tree_bytes(&conf), before, "nothing written");
        assert!(s.f2b.client(&["status"]).contains("nginx-http-auth"));

        // A good `.local` change: written, the jail reloaded and running with it.
        let (code, cmd) = send(
            &s,
            reqwest::Method::PUT,
            "/config/filters/bangui-app?wait=20s",
            Some(json!({
                "expected_revision": used["local"]["revision"],
                "definition": { "ignoreregex": "^Login failed for root from" }
            })),
        )
        .await;
        succeeded(code, &cmd);
        assert_eq!(
            cmd["result"]["reloaded"],
            json!(["nginx-http-auth"]),
            "{cmd}"
        );
        let local = std::fs::read_to_string(conf.join("filter.d/bangui-app.local")).expect("local");
        assert!(
            local.contains("ignoreregex = ^Login failed for root from"),
            "{local}"
        );
        let ignored = s.f2b.client(&["get", "nginx-http-auth", "ignoreregex"]);
        assert!(ignored.contains("Login failed for root from"), "{ignored}");
        // The revision it was made against is gone: a second change made against it conflicts.
        let (code, e) = send(
            &s,
            reqwest::Method::PUT,
            "/config/filters/bangui-app?wait=5s",
            Some(
                json!({ "expected_revision": used["local"]["revision"], "raw": "[Definition]\n" }),
            ),
        )
        .await;
        assert_eq!(
            (code, e["error_code"].as_str()),
            (409, Some("config_changed")),
            "{e}"
        );

        // Unassigned, it is deleted with its `.local`, each removal a revision.
        let jail = s.get("/config/jails/nginx-http-auth").await;
        let (code, cmd) = send(
            &s,
            reqwest::Method::PUT,
            "/config/jails/nginx-http-auth?wait=20s",
            Some(json!({ "expected_revision": jail["local"]["revision"], "settings": { "enabled": false }, "unset": ["filter"] })),
        )
        .await;
        succeeded(code, &cmd);
        s.eventually("the filter is free", Duration::from_secs(10), || async {
            let f = s.get("/config/filters/bangui-app").await;
            (f["used_by"] == json!([])).then_some(())
        })
        .await;
        let (code, cmd) = send(
            &s,
            reqwest::Method::DELETE,
            "/config/filters/bangui-app?wait=20s",
            None,
        )
        .await;
        succeeded(code, &cmd);
        assert!(!conf.join("filter.d/bangui-app.conf").exists());
        assert!(!conf.join("filter.d/bangui-app.local").exists());
        let revisions = s
            .get("/config/revisions?file=filter.d/bangui-app.conf")
            .await;
        let reasons: Vec<&str> = revisions["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|r| r["reason"].as_str())
            .collect();
        assert_eq!(reasons, ["delete", "create"], "{revisions}");

        // Stock filters are not BanGUI's to delete; unknown names are 404.
        let (code, e) = send(
            &s,
            reqwest::Method::DELETE,
            "/config/filters/common?wait=5s",
            None,
        )
        .await;
        assert_eq!(
            (code, e["error_code"].as_str()),
            (409, Some("config_not_owned")),
            "{e}"
        );
        let (code, e) = send(
            &s,
            reqwest::Method::DELETE,
            "/config/filters/nope-nope?wait=5s",
            None,
        )
        .await;
        assert_eq!(
            (code, e["error_code"].as_str()),
            (404, Some("unknown_filter")),
            "{e}"
        );
        let (code, e) = send(
            &s,
            reqwest::Method::PUT,
            "/config/actions/a%20b",
            Some(json!({ "expected_revision": "x", "raw": "" })),
        )
        .await;
        assert_eq!(code, 404, "{e}");
        assert_eq!(e["error_code"], "unknown_action", "{e}");

        // An action's `.local`: the jails that use it are reloaded and run again.
        let dummy = s
            .eventually(
                "dummy's users are read",
                Duration::from_secs(10),
                || async {
                    let a = s.get("/config/actions/dummy").await;
                    a["used_by"]
                        .as_array()
                        .is_some_and(|u| !u.is_empty())
                        .then_some(a)
                },
            )
            .await;
        let (code, cmd) = send(
            &s,
            reqwest::Method::PUT,
            "/config/actions/dummy?wait=30s",
            Some(json!({
                "expected_revision": dummy["local"]["revision"],
                "init": { "init": "BanGUI was here" }
            })),
        )
        .await;
        succeeded(code, &cmd);
        let reloaded = cmd["result"]["reloaded"].as_array().map_or(0, Vec::len);
        assert!(reloaded >= 2, "{cmd}");
        let status = s.f2b.client(&["status"]);
        for jail in ["sshd", "web-auth"] {
            assert!(status.contains(jail), "{status}");
        }

        // A new action: created from its keys, then deleted (no jail names it).
        let (code, cmd) = s
            .command(
                reqwest::Method::POST,
                "/config/actions",
                Some(json!({
                    "name": "bangui-notify",
                    "definition": {
                        "actionban": "logger -t bangui \"ban <ip> in <name>\"",
                        "actionunban": "logger -t bangui \"unban <ip> in <name>\""
                    },
                    "init": { "name": "default" }
                })),
            )
            .await;
        succeeded(code, &cmd);
        let written =
            std::fs::read_to_string(conf.join("action.d/bangui-notify.conf")).expect("conf");
        assert!(
            written.contains("[Init]") && written.contains("actionban = logger"),
            "{written}"
        );
        let a = s
            .eventually("the action is read", Duration::from_secs(10), || async {
                let a = s.get("/config/actions/bangui-notify").await;
                (a["created_by_bangui"] == true).then_some(a)
            })
            .await;
        assert_eq!(a["init"]["name"]["raw"], "default", "{a}");
        let (code, cmd) = send(
            &s,
            reqwest::Method::DELETE,
            "/config/actions/bangui-notify",
            None,
        )
        .await;
        succeeded(code, &cmd);
        assert!(!conf.join("action.d/bangui-notify.conf").exists());
        // Stock actions are not BanGUI's to delete.
        let (code, e) = send(&s, reqwest::Method::DELETE, "/config/actions/dummy", None).await;
        assert_eq!(code, 409, "{e}");
        assert!(
            e["error_code"] == "config_in_use" || e["error_code"] == "config_not_owned",
            "{e}"
        );
        s.stop().await;
    }
}
