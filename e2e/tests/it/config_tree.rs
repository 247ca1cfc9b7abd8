//! The scheduler reads fail2ban's configuration into the database (ADR 0008): every jail
//! of the private fail2ban's tree with its settings and where each was set, the files
//! with their hashes, and a change to a file picked up within seconds.

use std::time::Duration;

use serde_json::Value;
use testkit::db::backends;
use testkit::stack::Stack;

#[tokio::test]
async fn the_configuration_tree_is_read_into_the_database_and_kept_current() {
    for backend in backends() {
        let s = Stack::start_with(backend, &[("BANGUI_CONFIG_SYNC_INTERVAL", "1s")]).await;
        let db = s.test_db.connect().await;
        let conf = s.f2b.config_dir();
        let jail_row = |name: &'static str| {
            let db = db.clone();
            async move {
                shared::store::config_tree::jails(&db)
                    .await
                    .expect("rows")
                    .into_iter()
                    .find(|j| j.name == name)
            }
        };
        let web = s
            .eventually("the jails are read", Duration::from_secs(20), || async {
                jail_row("web-auth").await
            })
            .await;
        assert!(web.enabled);
        let settings: Value = serde_json::from_str(&web.settings).expect("json");
        let jail_conf = conf.join("jail.conf").display().to_string();
        assert_eq!(settings["maxretry"]["value"], "2", "{settings}");
        assert_eq!(
            settings["maxretry"]["file"],
            jail_conf.as_str(),
            "{settings}"
        );
        assert!(settings["maxretry"]["line"].as_u64().is_some_and(|l| l > 0));
        let files = shared::store::config_tree::files(&db).await.expect("files");
        let stored = files
            .iter()
            .find(|f| f.path == jail_conf)
            .expect("jail.conf is among the files read");
        let bytes = std::fs::read(conf.join("jail.conf")).expect("read");
        use sha2::Digest;
        let expected: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(stored.sha256, expected);
        // An override in jail.d is picked up, with its own file and line.
        std::fs::create_dir_all(conf.join("jail.d")).expect("jail.d");
        let local = conf.join("jail.d/web-auth.local");
        std::fs::write(&local, "[web-auth]\n# stricter\nmaxretry = 7\n").expect("write");
        let changed = s
            .eventually("the override is read", Duration::from_secs(20), || async {
                let row = jail_row("web-auth").await?;
                let settings: Value = serde_json::from_str(&row.settings).ok()?;
                (settings["maxretry"]["value"] == "7").then_some(settings)
            })
            .await;
        assert_eq!(
            changed["maxretry"]["file"],
            local.display().to_string().as_str()
        );
        assert_eq!(changed["maxretry"]["line"], 3);
        // A broken file keeps the last good snapshot and says why.
        std::fs::write(&local, "maxretry = 9\n").expect("write");
        let read = s
            .eventually("the error is recorded", Duration::from_secs(20), || async {
                let read = shared::store::config_tree::last_read(&db).await.ok()??;
                read.error.is_some().then_some(read)
            })
            .await;
        assert!(
            read.error
                .as_deref()
                .is_some_and(|e| e.contains("web-auth.local")),
            "{read:?}"
        );
        let kept = jail_row("web-auth").await.expect("kept");
        assert!(kept.settings.contains("\"7\""), "{}", kept.settings);
        // Only what changed is rewritten, and what went away is gone: a jail in a new file
        // appears, then the file and its jail leave with it; the override's file leaves
        // and the setting falls back to where it came from.
        std::fs::remove_file(&local).expect("remove the override");
        let extra = conf.join("jail.d/extra.local");
        std::fs::write(&extra, "[bangui-extra]\nenabled = false\nfilter = sshd\n").expect("write");
        s.eventually("the new jail is read", Duration::from_secs(20), || async {
            jail_row("bangui-extra").await
        })
        .await;
        let local_text = local.display().to_string();
        let files = shared::store::config_tree::files(&db).await.expect("files");
        assert!(
            !files.iter().any(|f| f.path == local_text),
            "the removed file is gone"
        );
        let back = jail_row("web-auth").await.expect("web-auth");
        assert!(!back.settings.contains(&local_text), "{}", back.settings);
        std::fs::remove_file(&extra).expect("clean up");
        s.eventually(
            "the jail leaves with its file",
            Duration::from_secs(20),
            || async { jail_row("bangui-extra").await.is_none().then_some(()) },
        )
        .await;
        let extra_text = extra.display().to_string();
        let files = shared::store::config_tree::files(&db).await.expect("files");
        assert!(!files.iter().any(|f| f.path == extra_text));
        assert!(
            files.iter().any(|f| f.path == jail_conf),
            "unchanged files stay"
        );
        s.stop().await;
    }
}
