//! Filters and actions as fail2ban reads them (issue #19): for `filter.d/<name>` or
//! `action.d/<name>`, the files read (with `.local` and `[INCLUDES]`), what `[INCLUDES]`
//! names, and every `[Definition]` and `[Init]` key with its raw text, the file and line
//! it came from, and its value after interpolation (`[Init]` keys stand in for
//! `[DEFAULT]`'s while `[Definition]` is interpolated, as fail2ban's
//! `DefinitionInitConfigReader` makes them available; a jail's own options, which fail2ban
//! passes in too, are not known here, so a value that needs one says so).

use std::path::Path;

use serde_json::{Map, Value, json};

use super::files::{self, FilesError, Merged};
use super::{ini, interpolate};

/// One filter or action, as JSON for the snapshot.
pub struct Def {
    pub name: String,
    pub files: Vec<String>,
    pub includes: Value,
    pub definition: Value,
    pub init: Value,
}

/// Every name in `folder` (`filter.d`, `action.d`): the stems of its `.conf` and `.local`
/// files.
pub fn names(root: &Path, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(folder))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let ext = p.extension()?.to_str()?;
            (matches!(ext, "conf" | "local") && p.is_file())
                .then(|| p.file_stem()?.to_str().map(str::to_owned))
                .flatten()
        })
        .filter(|n| shared::domain::FilterName::parse(n).is_ok())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Reads one filter or action.
pub fn read(root: &Path, folder: &str, name: &str) -> Result<Def, FilesError> {
    let merged = files::read(root, &format!("{folder}/{name}"))?;
    let includes = includes_of(root, folder, name);
    let init = section(&merged, "Init", None);
    let definition = section(&merged, "Definition", Some("Init"));
    Ok(Def {
        name: name.to_owned(),
        files: merged
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        includes,
        definition,
        init,
    })
}

/// The keys of `fail2ban.conf`'s `[Definition]` the Server tab shows and sets.
pub const SERVER_KEYS: &[&str] = &[
    "loglevel",
    "logtarget",
    "syslogsocket",
    "dbfile",
    "dbpurgeage",
    "dbmaxmatches",
];

/// fail2ban's own settings as its files give them (`fail2ban.conf`, `fail2ban.d/`,
/// `fail2ban.local`): `[Definition]` with origins, as a [`Def`] named `fail2ban`.
pub fn read_server(root: &Path) -> Result<Def, FilesError> {
    let merged = files::read(root, "fail2ban")?;
    Ok(Def {
        name: "fail2ban".into(),
        files: merged
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        includes: json!({ "before": [], "after": [] }),
        definition: section(&merged, "Definition", None),
        init: Value::Object(Map::new()),
    })
}

/// The server settings BanGUI sets, as the files under `root` give them (interpolated).
pub fn server_values(root: &Path) -> std::collections::BTreeMap<String, String> {
    let Ok(def) = read_server(root) else {
        return Default::default();
    };
    SERVER_KEYS
        .iter()
        .filter(|k| **k != "dbfile")
        .filter_map(|k| {
            def.definition[*k]["value"]
                .as_str()
                .map(|v| ((*k).to_owned(), v.to_owned()))
        })
        .collect()
}

/// `[INCLUDES] before` and `after` of the name's own `.conf` and `.local`.
fn includes_of(root: &Path, folder: &str, name: &str) -> Value {
    let mut before = Vec::new();
    let mut after = Vec::new();
    for ext in ["conf", "local"] {
        let path = root.join(folder).join(format!("{name}.{ext}"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(parsed) = ini::parse(&text) else {
            continue;
        };
        if let Some(s) = parsed.section("INCLUDES") {
            for (key, out) in [("before", &mut before), ("after", &mut after)] {
                if let Some(v) = s.get(key) {
                    out.extend(v.value.split_whitespace().map(str::to_owned));
                }
            }
        }
    }
    json!({ "before": before, "after": after })
}

/// Every key of `name` with raw text, origin and interpolated value. With `defaults_from`,
/// that section's keys stand in for `[DEFAULT]`'s during interpolation.
fn section(merged: &Merged, name: &str, defaults_from: Option<&str>) -> Value {
    let Some(options) = merged.sections.get(name) else {
        return Value::Object(Map::new());
    };
    let mut view = merged.clone();
    if let Some(extra) = defaults_from.and_then(|s| merged.sections.get(s)) {
        for (k, v) in extra {
            view.defaults.insert(k.clone(), v.clone());
        }
    }
    let mut out = Map::new();
    for (key, origin) in options {
        let (value, error) = match interpolate::get(&view, name, key) {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e.to_string())),
        };
        out.insert(
            key.clone(),
            json!({
                "raw": origin.value,
                "value": value,
                "error": error,
                "file": origin.file.display().to_string(),
                "line": origin.line,
            }),
        );
    }
    Value::Object(out)
}
