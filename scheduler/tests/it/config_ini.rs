//! The one-file reader against its oracle: Python's `configparser` with fail2ban's
//! settings (what `fail2ban/client/configparserinc.py` builds on), over every file of
//! Debian's `/etc/fail2ban` and a set of awkward ones. Both must see the same sections,
//! keys and values, and refuse the same files.

use std::path::{Path, PathBuf};

use scheduler::config_tree::ini;
use serde_json::{Map, Value};

/// What Python makes of each path: `{"ok": {section: {key: value}}}` or `{"error": "…"}`,
/// in one run of Python for all of them.
fn python_readings(paths: &[PathBuf]) -> Vec<Value> {
    let script = r#"
import configparser, json, sys
results = []
for path in sys.argv[1:]:
    p = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=";")
    try:
        with open(path, encoding="utf-8") as f:
            p.read_file(f)
    except configparser.Error as e:
        results.append({"error": type(e).__name__})
        continue
    out = {"DEFAULT": dict(p.defaults())} if p.defaults() else {}
    for s in p.sections():
        out[s] = dict(p._sections[s].items())
    results.append({"ok": out})
print(json.dumps(results))
"#;
    crate::python_oracle(
        "python3",
        script,
        &paths.iter().map(|p| p.as_os_str()).collect::<Vec<_>>(),
    )
}

fn rust_reading(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read");
    match ini::parse(&text) {
        Err(_) => serde_json::json!({ "error": true }),
        Ok(file) => {
            let mut out = Map::new();
            for section in &file.sections {
                if section.options.is_empty() && section.name == ini::DEFAULT_SECTION {
                    continue;
                }
                let keys: Map<String, Value> = section
                    .options
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.value.clone())))
                    .collect();
                out.insert(section.name.clone(), Value::Object(keys));
            }
            serde_json::json!({ "ok": out })
        }
    }
}

fn fail2ban_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from("/etc/fail2ban")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "conf" || e == "local")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

const AWKWARD: &[&str] = &[
    "[a]\nk = v ; comment\nj = v;not a comment\n",
    "[a]\nk =\n  line one\n\n  line three\n\n\n[b]\nx: 1\n",
    "[a]\nk = v\n   [looks like a section]\n   x = continues\n",
    "[a] trailing\nk = 1\n[b]c]\nk = 2\n",
    "[a]\n  indented = key\nnext = one\n",
    "[DEFAULT]\na = 1\n[x]\nb = 2\n[DEFAULT]\nc = 3\n",
    "[a]\nKey = 1\nkey = 2\n",
    "[a]\nk = 1\n[a]\n",
    "k = 1\n",
    "[a]\nno delimiter here\n",
    "[a]\nk = v\n\t# tab comment\n\tmore\n",
    "[a]\nk:v=w\nl=v:w\n",
    "; leading comment\n# another\n[a]\nk=\n",
];

#[test]
fn every_stock_file_and_every_awkward_one_reads_as_python_reads_it() {
    let files = fail2ban_files();
    assert!(
        files.len() > 50,
        "Debian's fail2ban is installed (scripts/test.sh installs it): {} files",
        files.len()
    );
    let dir = std::env::temp_dir().join(format!("bangui-ini-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut awkward = Vec::new();
    for (i, text) in AWKWARD.iter().enumerate() {
        let path = dir.join(format!("awkward-{i}.conf"));
        std::fs::write(&path, text).expect("write");
        awkward.push(path);
    }
    let all: Vec<PathBuf> = files.iter().chain(&awkward).cloned().collect();
    let python_all = python_readings(&all);
    assert_eq!(python_all.len(), all.len());
    for (path, python) in all.iter().zip(python_all) {
        let rust = rust_reading(path);
        if python.get("error").is_some() {
            assert!(
                rust.get("error").is_some(),
                "{}: Python refuses it: {python}",
                path.display()
            );
        } else {
            assert_eq!(rust, python, "{}", path.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
