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

/// The options fail2ban's `FilterReader` reads for a filter (`_configOpts`): where
/// `[Definition]` lacks one, `[DEFAULT]`'s counts (common.conf's `datepattern`).
const FILTER_OPTIONS: &[&str] = &[
    "usedns",
    "prefregex",
    "ignoreregex",
    "failregex",
    "maxlines",
    "datepattern",
    "journalmatch",
];

/// Reads one filter or action.
pub fn read(root: &Path, folder: &str, name: &str) -> Result<Def, FilesError> {
    let mut merged = files::read(root, &format!("{folder}/{name}"))?;
    let includes = includes_of(root, folder, name);
    if folder == "filter.d" {
        // As fail2ban reads them: an option `[Definition]` does not set comes from
        // `[DEFAULT]` (shown where `[DEFAULT]` set it).
        for key in FILTER_OPTIONS {
            if let Some(origin) = merged.defaults.get(*key).cloned() {
                merged
                    .sections
                    .entry("Definition".into())
                    .or_default()
                    .entry((*key).to_owned())
                    .or_insert(origin);
            }
        }
    }
    let init = section(&merged, "Init", None);
    let mut definition = section(&merged, "Definition", Some("Init"));
    add_effective(&merged, &mut definition, &init);
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

/// The longest a `<tag>` is replaced within one value (fail2ban's
/// `MAX_TAG_REPLACE_COUNT`).
const MAX_TAG_REPLACE: usize = 25;

/// Adds `effective` to each `[Definition]` key: its value with `<tag>`s replaced as
/// fail2ban's reader does it (`substituteRecursiveTags` over the options, `[Init]`
/// over `[Definition]`, a tag no option names looked up as `getCombOption` does: a key
/// of `[Definition]` or `[DEFAULT]`, or `section/key`). Tags nothing names (`<HOST>`,
/// `<F-USER>`, what only a jail passes in) stay as they are.
fn add_effective(merged: &Merged, definition: &mut Value, init: &Value) {
    let mut options: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for section in [&*definition, init] {
        if let Some(map) = section.as_object() {
            for (k, v) in map {
                if let Some(value) = v["value"].as_str() {
                    options.insert(k.clone(), value.to_owned());
                }
            }
        }
    }
    let lookup = |tag: &str| -> Option<String> {
        if let Some(v) = options.get(tag) {
            return Some(v.clone());
        }
        match tag.split_once('/') {
            Some((sec, key)) if !sec.is_empty() && !key.is_empty() => {
                let sec = match sec.to_lowercase().as_str() {
                    "default" => ini::DEFAULT_SECTION.to_owned(),
                    _ if merged.sections.contains_key(sec) => sec.to_owned(),
                    _ => return None,
                };
                interpolate::get(merged, &sec, key).ok()
            }
            _ => interpolate::get(merged, "Definition", tag).ok(),
        }
    };
    let Some(map) = definition.as_object_mut() else {
        return;
    };
    for (key, v) in map.iter_mut() {
        let Some(value) = v["value"].as_str() else {
            continue;
        };
        let effective = substitute_tags(key, value, &lookup);
        if let Some(obj) = v.as_object_mut() {
            match effective {
                Ok(e) => {
                    obj.insert("effective".into(), json!(e));
                }
                Err(e) => {
                    obj.insert("effective".into(), Value::Null);
                    obj.insert("error".into(), json!(e));
                }
            }
        }
    }
}

/// `<tag>` replacement in one value until nothing more is found; a tag that refers to its
/// own key, or is replaced more than [`MAX_TAG_REPLACE`] times, is an error (fail2ban
/// refuses such a filter).
fn substitute_tags(
    key: &str,
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut value = value.to_owned();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    loop {
        let before = value.clone();
        let mut from = 0;
        while let Some((start, tag)) = next_tag(&value, from) {
            if tag == key || counts.get(&tag).copied().unwrap_or(0) >= MAX_TAG_REPLACE {
                return Err(format!(
                    "`{key}`: the tag <{tag}> refers to itself and cannot be resolved"
                ));
            }
            let Some(repl) = lookup(&tag) else {
                from = start + tag.len() + 2;
                continue;
            };
            value = value.replace(&format!("<{tag}>"), &repl);
            *counts.entry(tag).or_default() += 1;
            from = start;
        }
        if value == before || next_tag(&value, 0).is_none() {
            return Ok(value);
        }
    }
}

/// The next `<name>` (no space, `<` or `>` inside) at or after byte `from`.
fn next_tag(value: &str, from: usize) -> Option<(usize, String)> {
    let bytes = value.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let rest = &value[i + 1..];
            let end = rest.find(['<', '>', ' ']).filter(|e| *e > 0);
            if let Some(e) = end
                && rest.as_bytes()[e] == b'>'
            {
                return Some((i, rest[..e].to_owned()));
            }
        }
        i += 1;
    }
    None
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
