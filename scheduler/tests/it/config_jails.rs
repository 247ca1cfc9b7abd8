//! The jails and their jail-level settings against what fail2ban itself would send its
//! server (`Configurator.convertToProtocol`, the stream `fail2ban-client -d` prints), on a
//! private copy of Debian's `/etc/fail2ban`: as shipped (which jails are enabled), and with
//! every jail enabled (every jail's backend, maxretry, maxmatches, findtime, bantime,
//! ignore settings and log encoding).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use scheduler::config_tree::jails;
use serde_json::Value;

/// fail2ban's stream for `root`, per jail: `{jail: {key: value}}`.
fn fail2ban_stream(root: &Path) -> BTreeMap<String, BTreeMap<String, Value>> {
    let script = r#"
import json, sys
from fail2ban.client.configurator import Configurator
c = Configurator()
c.setBaseDir(sys.argv[1])
c.readAll()
c.getOptions(None, ignoreWrong=True)
c.convertToProtocol(allow_no_files=True)
out = {}
for cmd in c.getConfigStream():
    if cmd[0] == "add":
        out.setdefault(cmd[1], {})["backend"] = cmd[2]
    elif cmd[0] == "set" and len(cmd) >= 4 and cmd[1] in out:
        key, rest = cmd[2], cmd[3:]
        if key == "addignoreip":
            out[cmd[1]].setdefault("ignoreip", []).extend(rest)
        elif len(rest) == 1 and not isinstance(rest[0], (list, dict)):
            v = rest[0]
            out[cmd[1]][key] = ("true" if v else "false") if isinstance(v, bool) else str(v)
print(json.dumps(out))
"#;
    crate::python_oracle("/usr/bin/python3", script, &[root.as_os_str()])
}

/// The keys compared: those jails.rs reads that fail2ban sends as they are.
const COMPARED: &[&str] = &[
    "backend",
    "maxretry",
    "maxmatches",
    "findtime",
    "bantime",
    "bantime.increment",
    "bantime.factor",
    "bantime.formula",
    "bantime.multipliers",
    "bantime.maxtime",
    "bantime.rndtime",
    "bantime.overalljails",
    "ignorecommand",
    "ignoreself",
    "ignorecache",
    "logtimezone",
    "logencoding",
];

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(status.success());
}

fn version() -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", "from fail2ban.version import version; print(version)"])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn jails_and_their_settings_are_what_fail2ban_would_send() {
    let root = std::env::temp_dir().join(format!("bangui-jails-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    copy_tree(Path::new("/etc/fail2ban"), &root);
    let version = version();

    // As shipped: the same jails are enabled.
    let theirs = fail2ban_stream(&root);
    let ours = jails::read(&root, &version).expect("read");
    let enabled: Vec<&str> = ours
        .iter()
        .filter(|j| j.enabled)
        .map(|j| j.name.as_str())
        .collect();
    assert_eq!(
        enabled,
        theirs.keys().map(String::as_str).collect::<Vec<_>>()
    );

    // Every jail enabled: every jail's settings.
    std::fs::write(
        root.join("jail.d/zz-every-jail.local"),
        "[DEFAULT]\nenabled = true\n",
    )
    .expect("write");
    let theirs = fail2ban_stream(&root);
    let ours = jails::read(&root, &version).expect("read");
    assert!(theirs.len() > 80, "{} jails", theirs.len());
    assert_eq!(
        ours.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        theirs.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for jail in &ours {
        assert!(jail.enabled, "{}", jail.name);
        assert!(
            jail.problems.is_empty(),
            "{}: {:?}",
            jail.name,
            jail.problems
        );
        let expected = &theirs[&jail.name];
        for key in COMPARED {
            assert_eq!(
                jail.settings
                    .get(*key)
                    .map(|s| Value::String(s.value.clone())),
                expected.get(*key).cloned(),
                "[{}] {key}",
                jail.name
            );
        }
        let ignoreip: Vec<Value> = jail
            .settings
            .get("ignoreip")
            .map(|s| {
                jails::words(&s.value)
                    .into_iter()
                    .map(|w| Value::String(w.into()))
                    .collect()
            })
            .unwrap_or_default();
        let expected_ignoreip = expected
            .get("ignoreip")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert_eq!(ignoreip, expected_ignoreip, "[{}] ignoreip", jail.name);
    }
    // Every value says where it was set.
    let sshd = ours.iter().find(|j| j.name == "sshd").expect("sshd");
    let enabled = &sshd.settings["enabled"];
    assert!(
        enabled.file.ends_with("jail.d/zz-every-jail.local")
            || enabled.file.ends_with("jail.d/defaults-debian.conf"),
        "{enabled:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}
