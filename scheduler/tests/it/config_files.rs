//! Which files fail2ban reads for a name and what they add up to, against fail2ban's own
//! reader (`fail2ban.client.configreader.ConfigReader`, run by Debian's python3): for
//! `jail`, `fail2ban` and every filter and action of Debian's `/etc/fail2ban`, and for a
//! private tree with overrides, includes (a loop among them) and conditional sections:
//! the raw merged values, and every key of every section interpolated (or refused).

use std::path::Path;

use scheduler::config_tree::{files, interpolate};
use serde_json::{Map, Value};

/// fail2ban's view of each name under `root`: `{"raw": {section: {key: value}}` with
/// `DEFAULT`, `"interpolated": {section: {key: value or "!" when it fails}}}`.
fn fail2ban_readings(root: &Path, names: &[String]) -> Vec<Value> {
    let script = r#"
import json, sys
from fail2ban.client.configreader import ConfigReader
root, names = sys.argv[1], sys.argv[2:]
out = []
for name in names:
    r = ConfigReader(basedir=root)
    r.read(name)
    cfg = r._cfg
    merged = {"DEFAULT": dict(cfg._defaults)}
    for s, opts in cfg._sections.items():
        merged[s] = {k: v for k, v in opts.items() if k != "__name__"}
    interpolated = {}
    for s in cfg.sections():
        values = {}
        for k in cfg.options(s):
            try:
                values[k] = cfg.get(s, k)
            except Exception:
                values[k] = "!"
        interpolated[s] = values
    out.append({"raw": merged, "interpolated": interpolated})
print(json.dumps(out))
"#;
    crate::python_oracle(
        "/usr/bin/python3",
        script,
        &[root.as_os_str()]
            .into_iter()
            .chain(names.iter().map(|n| std::ffi::OsStr::new(n.as_str())))
            .collect::<Vec<_>>(),
    )
}

/// Ours, in the same shape.
fn ours(root: &Path, name: &str) -> Value {
    let merged = files::read(root, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut interpolated = Map::new();
    for (section, opts) in &merged.sections {
        let values: Map<String, Value> = opts
            .keys()
            .chain(merged.defaults.keys())
            .map(|k| {
                let v = interpolate::get(&merged, section, k).unwrap_or_else(|_| "!".into());
                (k.clone(), Value::String(v))
            })
            .collect();
        interpolated.insert(section.clone(), Value::Object(values));
    }
    let values = |opts: &files::Options| -> Value {
        Value::Object(
            opts.iter()
                .map(|(k, o)| (k.clone(), Value::String(o.value.clone())))
                .collect::<Map<_, _>>(),
        )
    };
    let mut out = Map::new();
    out.insert("DEFAULT".into(), values(&merged.defaults));
    for (name, opts) in &merged.sections {
        out.insert(name.clone(), values(opts));
    }
    serde_json::json!({ "raw": out, "interpolated": interpolated })
}

fn names_under(root: &Path) -> Vec<String> {
    let mut names = vec!["jail".to_owned(), "fail2ban".to_owned()];
    for dir in ["filter.d", "action.d"] {
        let mut found: Vec<String> = std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let stem = path.file_stem()?.to_str()?.to_owned();
                let ext = path.extension()?.to_str()?;
                (ext == "conf" || ext == "local").then(|| format!("{dir}/{stem}"))
            })
            .collect();
        found.sort();
        found.dedup();
        names.extend(found);
    }
    names
}

fn agree(root: &Path) -> usize {
    let names = names_under(root);
    let theirs = fail2ban_readings(root, &names);
    assert_eq!(theirs.len(), names.len());
    for (name, expected) in names.iter().zip(theirs) {
        let mine = ours(root, name);
        assert_eq!(mine["raw"], expected["raw"], "{} {name}", root.display());
        // Compared key by key, so a difference names the value.
        for (section, values) in expected["interpolated"].as_object().into_iter().flatten() {
            for (key, value) in values.as_object().into_iter().flatten() {
                assert_eq!(
                    &mine["interpolated"][section][key],
                    value,
                    "{} {name} [{section}] {key}",
                    root.display()
                );
            }
            assert_eq!(
                mine["interpolated"][section].as_object().map(Map::len),
                values.as_object().map(Map::len),
                "{} {name} [{section}]",
                root.display()
            );
        }
    }
    names.len()
}

#[test]
fn the_stock_tree_adds_up_as_fail2ban_adds_it_up() {
    let names = agree(Path::new("/etc/fail2ban"));
    assert!(names > 100, "Debian's fail2ban is installed: {names} names");
}

#[test]
fn overrides_includes_loops_and_conditional_sections_add_up_as_fail2ban_adds_them_up() {
    let root = std::env::temp_dir().join(format!("bangui-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["jail.d", "filter.d", "action.d"] {
        std::fs::create_dir_all(root.join(dir)).expect("dir");
    }
    let write = |path: &str, text: &str| std::fs::write(root.join(path), text).expect("write");
    write(
        "jail.conf",
        "[INCLUDES]\nbefore = paths-common.conf\n[DEFAULT]\nbantime = 10m\nmaxretry = 5\n\
         [sshd]\nport = ssh\nlogpath = %(sshd_log)s\n[web]\nenabled = false\n",
    );
    write(
        "paths-common.conf",
        "[INCLUDES]\nafter = paths-overrides.local\n[DEFAULT]\nsshd_log = /var/log/auth.log\n",
    );
    write(
        "paths-overrides.local",
        "[DEFAULT]\nsshd_log = /var/log/secure\n",
    );
    write("jail.d/00-first.conf", "[sshd]\nenabled = true\n");
    write(
        "jail.d/10-second.conf",
        "[sshd]\nport = 2222\nmaxretry = 3\n",
    );
    write(
        "jail.local",
        "[DEFAULT]\nbantime = 1h\n[sshd]\nport = %(known/port)s,2223\n",
    );
    write(
        "jail.d/zz.local",
        "[web]\nenabled = true\n[sshd]\nenabled = false\n",
    );
    // Includes that loop back, and a filter with a conditional section and a .local.
    write(
        "filter.d/a.conf",
        "[INCLUDES]\nbefore = b.conf\n[Definition]\nfailregex = ^a$\n",
    );
    write(
        "filter.d/b.conf",
        "[INCLUDES]\nbefore = a.conf\n[Definition]\nfailregex = ^b$\nignoreregex =\n",
    );
    write("filter.d/a.local", "[Definition]\nfailregex = ^a local$\n");
    write(
        "filter.d/c.conf",
        "[Definition]\nfailregex = ^c$\n[Definition?family=inet6]\nfailregex = ^c6$\n[Init]\nmaxlines = 1\n",
    );
    write(
        "action.d/x.conf",
        "[Definition]\nactionban = echo <ip>\n[Init]\nname = default\n",
    );
    write("action.d/x.local", "[Init]\nname = custom\n");
    let names = agree(&root);
    assert!(names >= 6, "{names}");
    // Where each value came from.
    let merged = files::read(&root, "jail").expect("jail");
    let port = &merged.sections["sshd"]["port"];
    assert_eq!(
        (port.file.file_name().and_then(|f| f.to_str()), port.line),
        (Some("jail.local"), 4)
    );
    assert_eq!(merged.sections["KNOWN/sshd"]["port"].value, "2222");
    let _ = std::fs::remove_dir_all(&root);
}
