//! Filters and actions through the API (issue #19), on a full private copy of Debian's
//! tree: every stock filter and action listed with the jails that use it; one with its
//! files, `[INCLUDES]`, `[Definition]` and `[Init]` (raw, interpolated, file and line);
//! a `.local` override picked up when it appears.

use std::time::Duration;

use serde_json::Value;
use testkit::db::backends;
use testkit::fail2ban::PrivateFail2ban;
use testkit::stack::Stack;

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn filters_and_actions_are_read_as_fail2ban_reads_them() {
    for backend in backends() {
        let s = Stack::start_on(
            PrivateFail2ban::start_stock(),
            backend,
            &[("BANGUI_CONFIG_SYNC_INTERVAL", "1s")],
        )
        .await;
        let conf = s.f2b.config_dir();
        let filters = s
            .eventually("the filters are read", Duration::from_secs(30), || async {
                let list = s.get("/config/filters").await;
                (names(&list).len() >= 80).then_some(list)
            })
            .await;
        let stock = std::fs::read_dir(conf.join("filter.d"))
            .expect("filter.d")
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .into_string()
                    .ok()?
                    .strip_suffix(".conf")
                    .map(str::to_owned)
            })
            .filter(|n| !n.contains(' '))
            .count();
        assert_eq!(names(&filters).len(), stock, "every stock filter is listed");
        let sshd = filters["items"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["name"] == "sshd"))
            .expect("sshd");
        assert_eq!(sshd["used_by"], serde_json::json!(["sshd"]), "{sshd}");
        assert_eq!(
            s.get("/config/filters?q=apache").await["items"]
                .as_array()
                .map(|a| a
                    .iter()
                    .all(|i| i["name"].as_str().is_some_and(|n| n.contains("apache")))),
            Some(true)
        );

        let f = s.get("/config/filters/sshd").await;
        assert_eq!(
            f["includes"]["before"],
            serde_json::json!(["common.conf"]),
            "{f}"
        );
        assert!(
            f["files"].as_array().is_some_and(|a| a.iter().any(|p| p
                .as_str()
                .is_some_and(|p| p.ends_with("filter.d/common.conf")))),
            "{f}"
        );
        let failregex = &f["definition"]["failregex"];
        assert!(
            failregex["file"]
                .as_str()
                .is_some_and(|p| p.ends_with("filter.d/sshd.conf")),
            "{failregex}"
        );
        assert!(failregex["line"].as_u64().is_some_and(|l| l > 0));
        assert!(
            failregex["raw"]
                .as_str()
                .is_some_and(|r| r.contains("<HOST>") || r.contains("%(")),
            "{failregex}"
        );
        assert_eq!(f["definition"]["mode"]["raw"], "normal", "{f}");
        // [Init] (exim-spam's honeypot) and a value built from includes (exim-common's pid).
        let spam = s.get("/config/filters/exim-spam").await;
        assert!(spam["init"]["honeypot"]["raw"].is_string(), "{spam}");
        assert!(
            spam["definition"]["failregex"]["value"]
                .as_str()
                .is_some_and(|v| !v.contains("%(pid)s")),
            "{spam}"
        );
        // `%(__prefix_line)s` comes from common.conf and is interpolated.
        let prefregex = &f["definition"]["prefregex"];
        assert!(
            prefregex["value"]
                .as_str()
                .is_some_and(|v| !v.contains("%(__prefix_line)s") && v.contains("<F-CONTENT>")),
            "{prefregex}"
        );
        assert_eq!(f["local"]["exists"], false);

        let a = s.get("/config/actions/iptables-multiport").await;
        // The file this version's tree includes first: `iptables.conf` from 1.0,
        // `iptables-common.conf` in 0.11.
        let stock_text = std::fs::read_to_string(conf.join("action.d/iptables-multiport.conf"))
            .expect("iptables-multiport.conf");
        let before = stock_text
            .lines()
            .find_map(|l| l.trim().strip_prefix("before"))
            .and_then(|rest| rest.trim().strip_prefix('='))
            .map(str::trim)
            .expect("a before include");
        assert!(
            a["includes"]["before"]
                .as_array()
                .is_some_and(|b| b.iter().any(|i| i == before)),
            "{before}: {a}"
        );
        assert!(
            a["definition"]["actionban"]["raw"]
                .as_str()
                .is_some_and(|r| r.contains("<iptables>")),
            "{a}"
        );
        assert!(names(&s.get("/config/actions").await).contains(&"iptables-multiport".to_owned()));

        let (code, err) = s
            .send(reqwest::Method::GET, "/config/filters/no-such-filter", None)
            .await;
        assert_eq!(
            (code, err["error_code"].as_str()),
            (404, Some("unknown_filter")),
            "{err}"
        );
        let (code, _) = s
            .send(reqwest::Method::GET, "/config/actions/no-such-action", None)
            .await;
        assert_eq!(code, 404);

        // An override appears: its value wins, with its own file and line; listed as local.
        std::fs::write(
            conf.join("filter.d/sshd.local"),
            "[Definition]\n\nignoreregex = from 192\\.0\\.2\\.1$\n",
        )
        .expect("local");
        let f = s
            .eventually("the override is read", Duration::from_secs(20), || async {
                let f = s.get("/config/filters/sshd").await;
                (f["local"]["exists"] == true).then_some(f)
            })
            .await;
        let ignore = &f["definition"]["ignoreregex"];
        assert_eq!(ignore["raw"], "from 192\\.0\\.2\\.1$", "{ignore}");
        assert!(
            ignore["file"]
                .as_str()
                .is_some_and(|p| p.ends_with("filter.d/sshd.local"))
        );
        assert_eq!(ignore["line"], 3);
        assert!(
            f["local"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("ignoreregex"))
        );
        let list = s.get("/config/filters?q=sshd").await;
        assert!(
            list["items"].as_array().is_some_and(|a| a
                .iter()
                .any(|i| i["name"] == "sshd" && i["has_local"] == true)),
            "{list}"
        );
        s.stop().await;
    }
}

/// fail2ban's own reader is the oracle: for every stock filter, the effective
/// `failregex`, `ignoreregex`, `prefregex` and `datepattern` BanGUI shows are what
/// fail2ban's `FilterReader` gives after includes, `.local` files, `%(…)s`
/// interpolation and `<tag>` substitution.
#[tokio::test]
async fn filter_values_agree_with_fail2bans_filter_reader() {
    let backend = backends()[0];
    let s = Stack::start_on(
        PrivateFail2ban::start_stock(),
        backend,
        &[("BANGUI_CONFIG_SYNC_INTERVAL", "1s")],
    )
    .await;
    let conf = s.f2b.config_dir();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/oracle/filter_reader.py");
    // The Python the private fail2ban's version runs on, its package importable.
    let out = std::process::Command::new(s.f2b.dir.join("bin/python"))
        .arg(&script)
        .arg(&conf)
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let oracle: serde_json::Map<String, Value> = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("the oracle's JSON: {stdout}"));
    assert!(oracle.len() > 60, "{}", oracle.len());
    s.eventually("the filters are read", Duration::from_secs(30), || async {
        let list = s.get("/config/filters").await;
        (names(&list).len() >= 80).then_some(())
    })
    .await;
    let mut compared = 0;
    let mut differ = Vec::new();
    for (name, want) in &oracle {
        if want.get("error").is_some() {
            continue;
        }
        let got = s.get(&format!("/config/filters/{name}")).await;
        for key in ["failregex", "ignoreregex", "prefregex", "datepattern"] {
            let Some(w) = want.get(key).and_then(Value::as_str) else {
                continue;
            };
            // `[Init]` wins over `[Definition]`, as in fail2ban's reader.
            let g = got["init"][key]["value"]
                .as_str()
                .or(got["definition"][key]["effective"].as_str())
                .unwrap_or("<none>");
            // fail2ban keeps a list's lines without their indentation, and so do we.
            let norm = |v: &str| {
                v.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            compared += 1;
            if norm(g) != norm(w) {
                differ.push(format!(
                    "{name}.{key}:\n  fail2ban: {w:?}\n  BanGUI:   {g:?}"
                ));
            }
        }
    }
    assert!(compared > 100, "{compared}");
    assert!(
        differ.is_empty(),
        "{} of {compared} differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
    s.stop().await;
}
