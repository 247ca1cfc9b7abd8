//! The files fail2ban reads for one configuration name (`jail`, `fail2ban`,
//! `filter.d/sshd`, …) and what they add up to before interpolation, as
//! `fail2ban/client/configreader.py` and `configparserinc.py` do it (ADR 0008):
//!
//! - for `name`: `name.conf`, `name.d/*.conf` (sorted), `name.local`, `name.d/*.local`
//!   (sorted), those that exist;
//! - each file with its `.local` sibling when that exists and is not listed already, and
//!   its `[INCLUDES] before`/`after` files read before/after it (relative to its folder,
//!   recursively, a file already on the include path skipped);
//! - merged in that order: `[DEFAULT]` keys overwrite; a section seen again takes the new
//!   keys and keeps the values they replaced as `KNOWN/<section>`; a conditional section
//!   `[name?cond]` adds to `name` with `?cond` after each key.
//!
//! Every value keeps the file and line it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::ini::{self, DEFAULT_SECTION};

/// A value and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub value: String,
    pub file: PathBuf,
    pub line: u32,
}

pub type Options = BTreeMap<String, Origin>;

/// What the files of one name add up to, before interpolation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    pub defaults: Options,
    pub sections: BTreeMap<String, Options>,
}

#[derive(Debug)]
pub enum FilesError {
    Read {
        file: PathBuf,
        error: std::io::Error,
    },
    Parse {
        file: PathBuf,
        error: ini::IniError,
    },
}

impl fmt::Display for FilesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilesError::Read { file, error } => write!(f, "{}: {error}", file.display()),
            FilesError::Parse { file, error } => write!(f, "{}: {error}", file.display()),
        }
    }
}

impl std::error::Error for FilesError {}

const INCLUDES: &str = "INCLUDES";

/// Reads and merges the files of `name` under `root`.
pub fn read(root: &Path, name: &str) -> Result<Merged, FilesError> {
    let listed = listed_files(root, name);
    let mut ordered = Vec::new();
    for file in with_locals(&listed) {
        ordered.extend(with_includes(&file, &[])?);
    }
    let mut merged = Merged::default();
    for file in &ordered {
        let Some(parsed) = parse_file(file)? else {
            continue;
        };
        merge(&mut merged, file, parsed);
    }
    merged.files = ordered;
    Ok(merged)
}

/// `name.conf`, `name.d/*.conf`, `name.local`, `name.d/*.local`, those that exist.
fn listed_files(root: &Path, name: &str) -> Vec<PathBuf> {
    let base = root.join(name);
    let dir = PathBuf::from(format!("{}.d", base.display()));
    let in_dir = |ext: &str| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        found.sort();
        found
    };
    let mut files = vec![with_extension(&base, "conf")];
    files.extend(in_dir("conf"));
    files.push(with_extension(&base, "local"));
    files.extend(in_dir("local"));
    files.into_iter().filter(|f| f.exists()).collect()
}

fn with_extension(base: &Path, ext: &str) -> PathBuf {
    PathBuf::from(format!("{}.{ext}", base.display()))
}

/// Each file followed by its `.local` sibling when that exists and is not listed.
fn with_locals(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for file in files {
        out.push(file.clone());
        let local = file.with_extension("local");
        if !files.contains(&local) && local.is_file() {
            out.push(local);
        }
    }
    out
}

/// `file` with what its `[INCLUDES]` reads before and after it, recursively.
fn with_includes(file: &Path, seen: &[PathBuf]) -> Result<Vec<PathBuf>, FilesError> {
    let Some(parsed) = parse_file(file)? else {
        return Ok(Vec::new());
    };
    let folder = file.parent().unwrap_or(Path::new(""));
    let mut path = seen.to_vec();
    path.push(file.to_path_buf());
    let mut around = [Vec::new(), Vec::new()];
    if let Some(includes) = parsed.section(INCLUDES) {
        for (slot, key) in around.iter_mut().zip(["before", "after"]) {
            let Some(listed) = includes.get(key) else {
                continue;
            };
            for line in listed.value.split('\n').filter(|l| !l.is_empty()) {
                let target = folder.join(line);
                if seen.contains(&target) {
                    continue;
                }
                for expanded in with_locals(&[target]) {
                    slot.extend(with_includes(&expanded, &path)?);
                }
            }
        }
    }
    let [before, after] = around;
    let mut out = before;
    out.push(file.to_path_buf());
    out.extend(after);
    Ok(out)
}

/// A file's sections, or `None` when it cannot be opened (fail2ban skips those).
fn parse_file(file: &Path) -> Result<Option<ini::IniFile>, FilesError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || file.is_dir() => return Ok(None),
        Err(error) => {
            return Err(FilesError::Read {
                file: file.to_path_buf(),
                error,
            });
        }
    };
    ini::parse(&text)
        .map(Some)
        .map_err(|error| FilesError::Parse {
            file: file.to_path_buf(),
            error,
        })
}

/// `name?cond` → (`name`, `?cond`).
fn conditional(name: &str) -> Option<(&str, &str)> {
    let at = name.find('?')?;
    let (base, cond) = name.split_at(at);
    let word = !base.is_empty() && base.chars().all(|c| c.is_alphanumeric() || c == '_');
    (word && cond.len() > 1).then_some((base, cond))
}

fn merge(merged: &mut Merged, file: &Path, parsed: ini::IniFile) {
    for section in parsed.sections {
        let origin = |v: ini::Located| Origin {
            value: v.value,
            file: file.to_path_buf(),
            line: v.line,
        };
        if section.name == DEFAULT_SECTION {
            for (key, value) in section.options {
                merged.defaults.insert(key, origin(value));
            }
            continue;
        }
        let (name, suffix) = conditional(&section.name).unwrap_or((&section.name, ""));
        let incoming: Vec<(String, Origin)> = section
            .options
            .into_iter()
            .map(|(k, v)| (format!("{k}{suffix}"), origin(v)))
            .collect();
        match merged.sections.get_mut(name) {
            Some(existing) => {
                let replaced: Vec<(String, Origin)> = incoming
                    .iter()
                    .filter_map(|(k, _)| existing.get(k).map(|old| (k.clone(), old.clone())))
                    .collect();
                merged
                    .sections
                    .entry(format!("KNOWN/{name}"))
                    .or_default()
                    .extend(replaced);
                let existing = merged.sections.entry(name.to_owned()).or_default();
                existing.extend(incoming);
            }
            None => {
                merged
                    .sections
                    .insert(name.to_owned(), incoming.into_iter().collect());
            }
        }
    }
}
