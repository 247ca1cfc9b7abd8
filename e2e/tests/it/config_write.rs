//! Configuring jails through BanGUI (ADR 0008, issue #18), against a real fail2ban
//! started on a full private copy of Debian's `/etc/fail2ban`: every stock jail listed
//! with where its settings come from; a stock jail activated with a log file that exists
//! runs; one whose log is missing is refused and every file stays byte-identical; a
//! change fail2ban cannot run is written, fails, and is rolled back with fail2ban's
//! words; concurrent edits conflict; refused input writes nothing; revisions show diffs
//! and restore.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::client::{ADMIN, ADMIN_PASSWORD, bearer_client, login_token};
use testkit::db::backends;
use testkit::fail2ban::PrivateFail2ban;
use testkit::stack::Stack;

/// Every file of the tree and its bytes (symlinks as their target).
pub(crate) fn tree_bytes(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            // The scheduler's write probe comes and goes; it is never a config file.
            if entry.file_name().to_string_lossy().starts_with(".bangui-") {
                continue;
            }
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            let key = path
                .strip_prefix(root)
                .expect("inside")
                .display()
                .to_string();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                out.insert(key, target.display().to_string().into_bytes());
            } else if meta.is_dir() {
                walk(&path, root, out);
            } else {
                out.insert(key, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn running_jails(s: &Stack) -> Vec<String> {
    let status = s.f2b.client(&["status"]);
    let list = status
        .lines()
        .find_map(|l| l.split_once("Jail list:").map(|(_, j)| j.to_owned()))
        .unwrap_or_default();
    let mut jails: Vec<String> = list
        .split(',')
        .map(|j| j.trim().to_owned())
        .filter(|j| !j.is_empty())
        .collect();
    jails.sort();
    jails
}

async fn config_jail(s: &Stack, name: &str) -> Value {
    s.get(&format!("/config/jails/{name}")).await
}

async fn put(s: &Stack, path: &str, body: Value) -> (u16, Value) {
    s.send(reqwest::Method::PUT, path, Some(body)).await
}

/// Activates the stock `nginx-http-auth` jail on a log file that exists, once the tree
/// is read (`wait`: the query's `wait`, empty for none); the status and the answer.
async fn activate_nginx(s: &Stack, wait: &str) -> (u16, Value) {
    let log = s.f2b.dir.join("nginx-error.log");
    std::fs::write(&log, "").expect("log");
    let nginx = s
        .eventually(
            "the stock tree is read",
            Duration::from_secs(20),
            || async {
                let j = config_jail(s, "nginx-http-auth").await;
                j["local"]["revision"].is_string().then_some(j)
            },
        )
        .await;
    put(
        s,
        &format!("/config/jails/nginx-http-auth?wait={wait}"),
        json!({
            "expected_revision": nginx["local"]["revision"],
            "settings": { "enabled": true, "logpath": [log.display().to_string()] }
        }),
    )
    .await
}

#[tokio::test]
async fn jails_are_configured_through_the_validated_write_path() {
    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start_stock(),
            backend,
            &[("BANGUI_CONFIG_SYNC_INTERVAL", "1s")],
        )
        .await;
        let conf = s.f2b.config_dir();

        // Every stock jail is listed, enabled or not, with where `enabled` is decided.
        let list = s
            .eventually(
                "the stock tree is read",
                Duration::from_secs(20),
                || async {
                    let list = s.get("/config/jails").await;
                    (list["items"].as_array().map_or(0, Vec::len) > 50).then_some(list)
                },
            )
            .await;
        assert_eq!(list["source"]["writable"], true, "{}", list["source"]);
        let item = |name: &str| {
            list["items"]
                .as_array()
                .and_then(|a| a.iter().find(|j| j["name"] == name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(item("apache-auth")["enabled"], false);
        assert_eq!(item("apache-auth")["running"], false);
        assert_eq!(item("web-auth")["enabled"], true);
        assert_eq!(item("web-auth")["running"], true);
        assert!(
            item("web-auth")["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("/jail.local")),
            "{}",
            item("web-auth")
        );
        let enabled = s.get("/config/jails?enabled=true").await;
        let names: Vec<&str> = enabled["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|j| j["name"].as_str())
            .collect();
        assert_eq!(names, ["blocklist-import", "bulk", "sshd", "web-auth"]);
        let found = s.get("/config/jails?q=NGINX").await;
        assert!(
            found["items"]
                .as_array()
                .expect("items")
                .iter()
                .all(|j| j["name"].as_str().is_some_and(|n| n.contains("nginx"))),
            "{found}"
        );

        // One jail: settings with origins, and the override it does not have yet.
        let web = config_jail(&s, "web-auth").await;
        assert_eq!(web["settings"]["maxretry"]["value"], "2", "{web}");
        assert!(
            web["settings"]["maxretry"]["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("jail.local"))
        );
        assert_eq!(web["local"]["path"], "jail.d/web-auth.local");
        assert_eq!(web["local"]["exists"], false);
        let empty_revision = web["local"]["revision"]
            .as_str()
            .expect("revision")
            .to_owned();

        // A stock jail whose log file does not exist: refused by `-t`, nothing changes.
        let before = tree_bytes(&conf);
        let running_before = running_jails(&s);
        let (code, cmd) = s
            .post("/config/jails/apache-auth/activate?wait=10s", json!({}))
            .await;
        assert_eq!(code, 200, "{cmd}");
        assert_eq!(cmd["status"], "failed", "{cmd}");
        assert_eq!(cmd["error_code"], "config_invalid", "{cmd}");
        assert!(
            cmd["error"]
                .as_str()
                .is_some_and(|e| e.contains("Have not found any log file for apache-auth")),
            "{cmd}"
        );
        assert_eq!(tree_bytes(&conf), before, "no file changed");
        assert_eq!(running_jails(&s), running_before);

        // A stock jail pointed at a log that exists: activated, running, and read back
        // with its new origins.
        let log = s.f2b.dir.join("nginx-error.log");
        std::fs::write(&log, "").expect("log");
        let nginx = config_jail(&s, "nginx-http-auth").await;
        let (code, cmd) = put(
            &s,
            "/config/jails/nginx-http-auth?wait=10s",
            json!({
                "expected_revision": nginx["local"]["revision"],
                "settings": { "enabled": true, "logpath": [log.display().to_string()], "maxretry": 4 }
            }),
        )
        .await;
        assert_eq!(code, 200, "{cmd}");
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert_eq!(cmd["result"]["running"], true, "{cmd}");
        assert!(running_jails(&s).contains(&"nginx-http-auth".to_owned()));
        let nginx = config_jail(&s, "nginx-http-auth").await;
        assert_eq!(nginx["enabled"], true, "{nginx}");
        assert_eq!(nginx["running"], true, "{nginx}");
        assert_eq!(nginx["settings"]["maxretry"]["value"], "4");
        assert_eq!(nginx["settings"]["maxretry"]["line"], 4, "{nginx}");
        assert!(
            nginx["settings"]["logpath"]["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("jail.d/nginx-http-auth.local"))
        );
        let written = std::fs::read_to_string(conf.join("jail.d/nginx-http-auth.local"))
            .expect("the override");
        assert_eq!(nginx["local"]["text"], written.as_str());
        assert_eq!(
            s.f2b.client(&["get", "nginx-http-auth", "maxretry"]).trim(),
            "4"
        );

        // Two edits made against the same revision: one wins, the other gets 409.
        let revision = nginx["local"]["revision"].clone();
        let a = put(
            &s,
            "/config/jails/nginx-http-auth",
            json!({ "expected_revision": revision, "settings": { "maxretry": 6 } }),
        );
        let b = put(
            &s,
            "/config/jails/nginx-http-auth",
            json!({ "expected_revision": revision, "settings": { "maxretry": 7 } }),
        );
        let ((ca, ba), (cb, bb)) = tokio::join!(a, b);
        let mut codes = [ca, cb];
        codes.sort_unstable();
        assert_eq!(codes, [202, 409], "{ba} {bb}");
        let loser = if ca == 409 { &ba } else { &bb };
        assert_eq!(loser["error_code"], "config_changed", "{loser}");
        let winner = if ca == 409 { &bb } else { &ba };
        let id = winner["id"].as_i64().expect("command id");
        s.eventually("the winning edit ends", Duration::from_secs(20), || async {
            let c = s.get(&format!("/commands/{id}")).await;
            (c["status"] == "succeeded").then_some(())
        })
        .await;
        // The old revision is stale now.
        let (code, stale) = put(
            &s,
            "/config/jails/nginx-http-auth?wait=5s",
            json!({ "expected_revision": revision, "settings": { "maxretry": 8 } }),
        )
        .await;
        assert_eq!(code, 409, "{stale}");
        assert_eq!(stale["error_code"], "config_changed");

        // A change `-t` accepts but fail2ban cannot run (a regex that does not compile):
        // written, reloaded, refused, rolled back; the jail runs again as before.
        let before = tree_bytes(&conf);
        let (code, cmd) = put(
            &s,
            "/config/jails/web-auth?wait=10s",
            json!({
                "expected_revision": empty_revision,
                "raw": "[web-auth]\nfailregex = ^(unclosed <HOST>\n"
            }),
        )
        .await;
        assert_eq!(code, 200, "{cmd}");
        assert_eq!(cmd["error_code"], "config_rolled_back", "{cmd}");
        assert!(
            cmd["error"]
                .as_str()
                .is_some_and(|e| e.to_lowercase().contains("regular expression")),
            "{cmd}"
        );
        assert_eq!(tree_bytes(&conf), before, "the file is as it was");
        assert!(running_jails(&s).contains(&"web-auth".to_owned()));
        let revisions = s.get("/config/revisions?file=jail.d/web-auth.local").await;
        let last = &revisions["items"][0];
        assert_eq!(last["state"], "rolled_back", "{revisions}");
        assert!(last["error"].as_str().is_some_and(|e| !e.is_empty()));

        // Deactivate and activate again.
        let (_, cmd) = s
            .post("/config/jails/web-auth/deactivate?wait=10s", json!({}))
            .await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert!(!running_jails(&s).contains(&"web-auth".to_owned()));
        let (_, cmd) = s
            .post("/config/jails/web-auth/activate?wait=10s", json!({}))
            .await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert!(running_jails(&s).contains(&"web-auth".to_owned()));

        // A dry run: the file, the diff and fail2ban's verdict; nothing written.
        let web = config_jail(&s, "web-auth").await;
        let before = tree_bytes(&conf);
        let (code, dry) = s
            .post(
                "/config/validate",
                json!({
                    "jail": "web-auth",
                    "expected_revision": web["local"]["revision"],
                    "settings": { "maxretry": 9, "bantime": "1h 30m" }
                }),
            )
            .await;
        assert_eq!(code, 200, "{dry}");
        assert!(
            dry["diff"]
                .as_str()
                .is_some_and(|d| d.contains("+maxretry = 9") && d.contains("+bantime = 1h 30m")),
            "{dry}"
        );
        assert_eq!(dry["test"]["status"], "succeeded", "{dry}");
        assert_eq!(tree_bytes(&conf), before);

        // Refused input writes nothing, with a stable code.
        let refusals = [
            (
                json!({ "expected_revision": web["local"]["revision"], "raw": "[web-auth]\naction = x <F2B_END_COMMAND>\n" }),
                422,
                "config_refused",
            ),
            (
                json!({ "expected_revision": web["local"]["revision"], "raw": "#".repeat(600 * 1024) }),
                400,
                "bad_request",
            ),
            (
                json!({ "expected_revision": web["local"]["revision"], "settings": { "bantime": "soon" } }),
                422,
                "config_refused",
            ),
            (
                json!({ "expected_revision": web["local"]["revision"], "settings": { "logpath": ["relative.log"] } }),
                422,
                "config_refused",
            ),
            (
                json!({ "expected_revision": web["local"]["revision"], "settings": { "port": "22\nenabled = false" } }),
                422,
                "config_refused",
            ),
            (
                json!({ "expected_revision": "nope", "settings": { "maxretry": 3 } }),
                400,
                "bad_request",
            ),
        ];
        for (body, status, code) in refusals {
            let (got, answer) = put(&s, "/config/jails/web-auth?wait=5s", body).await;
            assert_eq!(
                (got, answer["error_code"].as_str()),
                (status, Some(code)),
                "{answer}"
            );
        }
        let (got, answer) = put(
            &s,
            "/config/jails/..%2F..%2Fetc?wait=5s",
            json!({ "expected_revision": empty_revision, "raw": "" }),
        )
        .await;
        assert_eq!(got, 422, "{answer}");
        assert_eq!(answer["error_code"], "invalid_jail_name");
        // A symlinked override is never written through.
        let outside = s.f2b.dir.join("outside.local");
        std::fs::write(&outside, "[sshd]\n").expect("outside");
        std::os::unix::fs::symlink(&outside, conf.join("jail.d/sshd.local")).expect("symlink");
        let sshd = s
            .eventually("the symlink is read", Duration::from_secs(20), || async {
                let j = config_jail(&s, "sshd").await;
                (j["local"]["exists"] == true).then_some(j)
            })
            .await;
        let (_, cmd) = put(
            &s,
            "/config/jails/sshd?wait=10s",
            json!({ "expected_revision": sshd["local"]["revision"], "settings": { "maxretry": 5 } }),
        )
        .await;
        assert_eq!(cmd["error_code"], "config_path_refused", "{cmd}");
        assert_eq!(std::fs::read_to_string(&outside).expect("read"), "[sshd]\n");
        std::fs::remove_file(conf.join("jail.d/sshd.local")).expect("unlink");
        // Viewers and operators may read but not write.
        let base = s.base.trim_end_matches("/api/v1");
        for role in ["viewer", "operator"] {
            let token = login_token(base, ADMIN, ADMIN_PASSWORD, role).await;
            let r = bearer_client(&token)
                .put(format!("{}/config/jails/web-auth", s.base))
                .json(&json!({ "expected_revision": empty_revision, "raw": "" }))
                .send()
                .await
                .expect("PUT");
            assert_eq!(r.status(), 403, "{role}");
            let r = bearer_client(&token)
                .get(format!("{}/config/jails/web-auth", s.base))
                .send()
                .await
                .expect("GET");
            assert_eq!(r.status(), 200, "{role}");
        }

        // Revisions: the diff of the activation, and undoing it.
        let revisions = s
            .get("/config/revisions?file=jail.d/nginx-http-auth.local")
            .await;
        let first = revisions["items"]
            .as_array()
            .expect("items")
            .last()
            .expect("the activation")
            .clone();
        assert_eq!(first["state"], "applied");
        assert_eq!(first["author"], "admin");
        let shown = s.get(&format!("/config/revisions/{}", first["id"])).await;
        assert_eq!(shown["previous_existed"], false, "{shown}");
        assert!(
            shown["diff"]
                .as_str()
                .is_some_and(|d| d.contains("+enabled = true")),
            "{shown}"
        );
        let (_, cmd) = s
            .post(
                &format!(
                    "/config/revisions/{}/restore?side=before&wait=10s",
                    first["id"]
                ),
                json!({}),
            )
            .await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        assert!(!running_jails(&s).contains(&"nginx-http-auth".to_owned()));
        assert_eq!(
            std::fs::read_to_string(conf.join("jail.d/nginx-http-auth.local")).expect("read"),
            ""
        );
        s.stop().await;
    }
}

/// The leading scheduler is SIGKILLed in the middle of an activation (after it recorded
/// the revision, while it writes, reloads or verifies) with a standby running: the
/// standby takes over and the command ends succeeded or rolled back; the file is the old
/// one or the new one, whole, and no temporary file is left.
#[tokio::test]
async fn a_leader_killed_mid_activation_leaves_the_old_file_or_the_new_one() {
    use shared::config_edit::RevisionState;
    use testkit::fail2ban::fail2ban_env;
    use testkit::processes::{SchedulerProcess, Timings};

    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start_stock(),
            backend,
            &[("BANGUI_CONFIG_SYNC_INTERVAL", "1s")],
        )
        .await;
        let mut env = fail2ban_env(&s.f2b);
        env.push(("BANGUI_CONFIG_SYNC_INTERVAL".into(), "1s".into()));
        let standby = SchedulerProcess::spawn_with(&s.test_db.url, Timings::SHORT, "standby", &env);
        standby.wait_healthy().await;
        let db = s.test_db.connect().await;
        let conf = s.f2b.config_dir();
        let target = conf.join("jail.d/nginx-http-auth.local");
        let (code, cmd) = activate_nginx(&s, "").await;
        assert_eq!(code, 202, "{cmd}");
        let id = cmd["id"].as_i64().expect("id");
        // Kill the leader as soon as it has recorded the revision (it is then writing,
        // reloading or verifying).
        let started = std::time::Instant::now();
        loop {
            let rev = shared::store::config_revisions::by_command(&db, id)
                .await
                .expect("revision");
            if rev.is_some_and(|r| r.state == RevisionState::Applying) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the write never started"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        s.scheduler.signal("KILL");
        let end = s
            .eventually(
                "the standby ends the command",
                Duration::from_secs(40),
                || async {
                    let c = s.get(&format!("/commands/{id}")).await;
                    (c["status"] == "succeeded" || c["status"] == "failed").then_some(c)
                },
            )
            .await;
        let rev = shared::store::config_revisions::by_command(&db, id)
            .await
            .expect("revision")
            .expect("recorded");
        let on_disk = std::fs::read_to_string(&target).ok();
        if end["status"] == "succeeded" {
            assert_eq!(rev.state, RevisionState::Applied);
            assert_eq!(on_disk, rev.content, "the new file, whole");
            assert!(running_jails(&s).contains(&"nginx-http-auth".to_owned()));
        } else {
            assert_eq!(end["error_code"], "config_rolled_back", "{end}");
            assert_eq!(rev.state, RevisionState::RolledBack);
            assert_eq!(on_disk, None, "the old file (there was none)");
        }
        let leftovers: Vec<String> = std::fs::read_dir(conf.join("jail.d"))
            .expect("jail.d")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        drop(standby);
        s.stop().await;
    }
}

/// fail2ban stops right after an activation: BanGUI restores the previous file, starts
/// fail2ban again (`BANGUI_FAIL2BAN_MAY_START`), which comes back without the change, and
/// shows what happened as an alert until an admin acknowledges it.
#[tokio::test]
async fn fail2ban_stopping_after_a_change_rolls_it_back_and_raises_an_alert() {
    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start_stock(),
            backend,
            &[
                ("BANGUI_CONFIG_SYNC_INTERVAL", "1s"),
                ("BANGUI_FAIL2BAN_MAY_START", "true"),
            ],
        )
        .await;
        let conf = s.f2b.config_dir();
        let (_, cmd) = activate_nginx(&s, "10s").await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        let revision = cmd["result"]["revision_id"].as_i64().expect("revision");
        assert!(running_jails(&s).contains(&"nginx-http-auth".to_owned()));
        assert_eq!(s.get("/config/alerts").await["items"], json!([]));

        s.f2b.stop();
        let alerts = s
            .eventually(
                "the change is rolled back",
                Duration::from_secs(30),
                || async {
                    let alerts = s.get("/config/alerts").await;
                    (alerts["items"].as_array().is_some_and(|a| !a.is_empty())).then_some(alerts)
                },
            )
            .await;
        let alert = &alerts["items"][0];
        assert_eq!(alert["id"], revision, "{alerts}");
        assert_eq!(alert["state"], "rolled_back");
        assert!(
            alert["alert"]
                .as_str()
                .is_some_and(|a| a.contains("jail.d/nginx-http-auth.local")
                    && a.contains("started fail2ban again")),
            "{alert}"
        );
        assert!(!conf.join("jail.d/nginx-http-auth.local").exists());
        // fail2ban is back, as it was before the change.
        s.eventually("fail2ban is back", Duration::from_secs(30), || async {
            let up = std::process::Command::new(s.f2b.client_program())
                .arg("-s")
                .arg(s.f2b.socket())
                .arg("ping")
                .output()
                .is_ok_and(|o| o.status.success());
            up.then_some(())
        })
        .await;
        let jails = running_jails(&s);
        assert!(jails.contains(&"web-auth".to_owned()), "{jails:?}");
        assert!(!jails.contains(&"nginx-http-auth".to_owned()), "{jails:?}");
        // The alert stays until an admin acknowledges it.
        let (code, acked) = s
            .post(&format!("/config/alerts/{revision}/acknowledge"), json!({}))
            .await;
        assert_eq!(code, 200, "{acked}");
        assert_eq!(acked["acknowledged_by"], "admin");
        assert_eq!(s.get("/config/alerts").await["items"], json!([]));
        let (code, again) = s
            .post(&format!("/config/alerts/{revision}/acknowledge"), json!({}))
            .await;
        assert_eq!(code, 404, "{again}");
        s.stop().await;
    }
}

/// A `jail.d/` the scheduler cannot write: BanGUI says so (`writable: false`) and refuses
/// writes at once with `config_read_only`, writing nothing; writable again, it writes.
#[tokio::test]
async fn a_folder_the_scheduler_cannot_write_makes_the_configuration_read_only() {
    if !testkit::db::can_freeze_files() {
        eprintln!("skipped: needs root for chattr +i");
        return;
    }
    for backend in backends() {
        let s = Stack::start_with(backend, &[("BANGUI_CONFIG_SYNC_INTERVAL", "1s")]).await;
        let conf = s.f2b.config_dir();
        let jail_d = conf.join("jail.d");
        std::fs::create_dir_all(&jail_d).expect("jail.d");
        let web = s
            .eventually(
                "the configuration is read",
                Duration::from_secs(20),
                || async {
                    let j = config_jail(&s, "web-auth").await;
                    (j["source"]["writable"] == true).then_some(j)
                },
            )
            .await;
        /// `chattr +i` on a folder, undone on drop (a failed assertion included).
        struct Frozen(std::path::PathBuf);
        impl Frozen {
            fn new(dir: &Path) -> Self {
                let ok = std::process::Command::new("chattr")
                    .arg("+i")
                    .arg(dir)
                    .status()
                    .is_ok_and(|st| st.success());
                assert!(ok, "chattr +i");
                Self(dir.to_path_buf())
            }
        }
        impl Drop for Frozen {
            fn drop(&mut self) {
                let _ = std::process::Command::new("chattr")
                    .arg("-i")
                    .arg(&self.0)
                    .status();
            }
        }
        // Any change to the tree makes the scheduler look again (else within a minute).
        let touch = || {
            let jail_conf = conf.join("jail.conf");
            let text = std::fs::read_to_string(&jail_conf).expect("read");
            std::fs::write(&jail_conf, format!("{text}\n")).expect("touch");
        };
        {
            let _frozen = Frozen::new(&jail_d);
            touch();
            s.eventually("read-only is noticed", Duration::from_secs(20), || async {
                let j = config_jail(&s, "web-auth").await;
                (j["source"]["writable"] == false).then_some(())
            })
            .await;
            let before = tree_bytes(&conf);
            let (code, refused) = put(
                &s,
                "/config/jails/web-auth?wait=5s",
                json!({ "expected_revision": web["local"]["revision"], "settings": { "maxretry": 5 } }),
            )
            .await;
            assert_eq!(
                (code, refused["error_code"].as_str()),
                (409, Some("config_read_only")),
                "{refused}"
            );
            assert_eq!(tree_bytes(&conf), before);
        }
        touch();
        let web = s
            .eventually("writable again", Duration::from_secs(20), || async {
                let j = config_jail(&s, "web-auth").await;
                (j["source"]["writable"] == true).then_some(j)
            })
            .await;
        let (_, cmd) = put(
            &s,
            "/config/jails/web-auth?wait=10s",
            json!({ "expected_revision": web["local"]["revision"], "settings": { "maxretry": 5 } }),
        )
        .await;
        assert_eq!(cmd["status"], "succeeded", "{cmd}");
        s.stop().await;
    }
}
