//! The jails of a configuration tree and their jail-level settings, as fail2ban's
//! `JailsReader`/`JailReader` find them: every section of the `jail` files but
//! `INCLUDES` (and the `KNOWN/…` bookkeeping), `enabled` read as fail2ban reads a boolean
//! (`1`, `on`, `true`, `yes`, any case; anything else is false), and each jail-level key
//! interpolated in the jail's section with `fail2ban_version` and `fail2ban_confpath`
//! added to `[DEFAULT]`. Every value keeps the file and line its key was set on.
//! (The filter's and actions' options are read through their own files: the next step.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::files::{self, FilesError, Merged, Origin};
use super::interpolate::{self, InterpolationError};

/// The jail-level keys fail2ban reads (`JailReader._configOpts` without the filter's),
/// with how it converts them.
pub const JAIL_KEYS: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("backend", Kind::Text),
    ("maxretry", Kind::Int),
    ("maxmatches", Kind::Int),
    ("findtime", Kind::Text),
    ("bantime", Kind::Text),
    ("bantime.increment", Kind::Bool),
    ("bantime.factor", Kind::Text),
    ("bantime.formula", Kind::Text),
    ("bantime.multipliers", Kind::Text),
    ("bantime.maxtime", Kind::Text),
    ("bantime.rndtime", Kind::Text),
    ("bantime.overalljails", Kind::Bool),
    ("ignorecommand", Kind::Text),
    ("ignoreself", Kind::Bool),
    ("ignoreip", Kind::Text),
    ("ignorecache", Kind::Text),
    ("filter", Kind::Text),
    ("logtimezone", Kind::Text),
    ("logencoding", Kind::Text),
    ("logpath", Kind::Text),
    ("action", Kind::Text),
];

/// Keys fail2ban does not read for the jail itself but its actions use (`%(port)s`…),
/// shown and edited with the jail; a value that cannot be interpolated is left out
/// rather than reported (fail2ban only meets it inside an action).
pub const ACTION_KEYS: &[(&str, Kind)] = &[
    ("port", Kind::Text),
    ("protocol", Kind::Text),
    ("banaction", Kind::Text),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    Text,
}

/// One effective setting of a jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The interpolated value as fail2ban would use it (`true`/`false` for booleans,
    /// the number for integers).
    pub value: String,
    /// Where its key was set: the jail's section or `[DEFAULT]` (empty for the two
    /// values fail2ban itself adds).
    pub file: PathBuf,
    pub line: u32,
}

/// A jail as the configuration describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailConfig {
    pub name: String,
    pub enabled: bool,
    pub settings: BTreeMap<String, Setting>,
    /// Keys fail2ban could not read (a reference to nothing, a number that is not one):
    /// for an enabled jail, fail2ban refuses the jail or falls back to its default.
    pub problems: Vec<String>,
}

/// The jails under `root` and the files they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jails {
    pub files: Vec<PathBuf>,
    pub jails: Vec<JailConfig>,
}

/// Reads the jails under `root` for a fail2ban of `version`.
pub fn read(root: &Path, version: &str) -> Result<Vec<JailConfig>, FilesError> {
    read_with_files(root, version).map(|j| j.jails)
}

/// [`read`], with the files it read.
pub fn read_with_files(root: &Path, version: &str) -> Result<Jails, FilesError> {
    let mut merged = files::read(root, "jail")?;
    let builtin = |value: String| Origin {
        value,
        file: PathBuf::new(),
        line: 0,
    };
    let confpath = root.to_string_lossy().trim_end_matches('/').to_owned();
    merged
        .defaults
        .insert("fail2ban_version".into(), builtin(version.to_owned()));
    merged
        .defaults
        .insert("fail2ban_confpath".into(), builtin(confpath));
    let names: Vec<String> = merged
        .sections
        .keys()
        .filter(|s| *s != "INCLUDES" && !s.starts_with("KNOWN/"))
        .cloned()
        .collect();
    let jails = names.into_iter().map(|name| jail(&merged, name)).collect();
    Ok(Jails {
        files: merged.files,
        jails,
    })
}

fn jail(merged: &Merged, name: String) -> JailConfig {
    let mut settings = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, kind) in JAIL_KEYS.iter().chain(ACTION_KEYS) {
        let quiet = ACTION_KEYS.iter().any(|(k, _)| k == key);
        let origin = merged
            .sections
            .get(&name)
            .and_then(|s| s.get(*key))
            .or_else(|| merged.defaults.get(*key));
        let Some(origin) = origin else {
            continue;
        };
        match interpolate::get(merged, &name, key) {
            Ok(value) => match convert(&value, *kind) {
                Some(value) => {
                    settings.insert(
                        (*key).to_owned(),
                        Setting {
                            value,
                            file: origin.file.clone(),
                            line: origin.line,
                        },
                    );
                }
                None => problems.push(format!("{key}: {value:?} is not a number")),
            },
            Err(InterpolationError::NoSuchKey { .. }) => {}
            Err(_) if quiet => {}
            Err(e) => problems.push(e.to_string()),
        }
    }
    let enabled = settings.get("enabled").is_some_and(|s| s.value == "true");
    JailConfig {
        name,
        enabled,
        settings,
        problems,
    }
}

/// fail2ban's conversions: `_as_bool` and Python's `int()` (surrounding spaces allowed).
fn convert(value: &str, kind: Kind) -> Option<String> {
    match kind {
        Kind::Text => Some(value.to_owned()),
        Kind::Bool => {
            Some(matches!(value.to_lowercase().as_str(), "1" | "on" | "true" | "yes").to_string())
        }
        Kind::Int => value
            .trim()
            .replace('_', "")
            .parse::<i64>()
            .ok()
            .map(|n| n.to_string()),
    }
}

/// fail2ban's `splitwords`: a list split at spaces, commas and newlines.
pub fn words(value: &str) -> Vec<&str> {
    value
        .split([' ', ',', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect()
}
