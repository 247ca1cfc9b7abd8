//! `%(…)s` interpolation as fail2ban's parser does it (Python's `BasicInterpolation` with
//! fail2ban's additions, `configparserinc.py`), over the merged files of a name:
//!
//! - `%(key)s` is the section's key, else `[DEFAULT]`'s (the name lower-cased);
//!   `%(__name__)s` is the section's name; `%%` is `%`;
//! - `%(section/key)s` is that section's key, else `[DEFAULT]`'s; `%(default/key)s` is
//!   `[DEFAULT]`'s; `%(known/key)s` is the value this section's key had before a later
//!   file replaced it (`KNOWN/<section>`), else `[DEFAULT]`'s;
//! - a value pulled in is interpolated too, in the asking section, at most 10 deep;
//! - anything else after `%` is an error, as is a reference to nothing.

use std::collections::BTreeMap;
use std::fmt;

use super::files::Merged;
use super::ini::DEFAULT_SECTION;

/// Python's `MAX_INTERPOLATION_DEPTH`.
const MAX_DEPTH: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    NoSuchKey { section: String, key: String },
    Missing { key: String, reference: String },
    Syntax { key: String, near: String },
    TooDeep { key: String },
}

impl fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpolationError::NoSuchKey { section, key } => {
                write!(f, "[{section}] has no `{key}`")
            }
            InterpolationError::Missing { key, reference } => {
                write!(f, "`{key}` refers to %({reference})s, which is not set")
            }
            InterpolationError::Syntax { key, near } => {
                write!(
                    f,
                    "`{key}`: '%' must be followed by '%' or '(…)s' near {near:?}"
                )
            }
            InterpolationError::TooDeep { key } => {
                write!(f, "`{key}`: references nested more than {MAX_DEPTH} deep")
            }
        }
    }
}

impl std::error::Error for InterpolationError {}

/// The interpolated value of `key` in `section` (which may be `DEFAULT`).
pub fn get(merged: &Merged, section: &str, key: &str) -> Result<String, InterpolationError> {
    let raw = lookup_raw(merged, section, key).ok_or_else(|| InterpolationError::NoSuchKey {
        section: section.to_owned(),
        key: key.to_owned(),
    })?;
    let mut out = String::new();
    expand(merged, section, key, raw, &BTreeMap::new(), 1, &mut out)?;
    Ok(out)
}

/// A key's raw value as `ConfigParser.get` sees it: the section's, then `[DEFAULT]`'s.
fn lookup_raw<'a>(merged: &'a Merged, section: &str, key: &str) -> Option<&'a str> {
    let own = (section != DEFAULT_SECTION)
        .then(|| merged.sections.get(section).and_then(|s| s.get(key)))
        .flatten();
    own.or_else(|| merged.defaults.get(key))
        .map(|o| o.value.as_str())
}

/// `BasicInterpolation._interpolate_some`, with fail2ban's `__name__` and `section/key`.
fn expand(
    merged: &Merged,
    section: &str,
    key: &str,
    rest: &str,
    inherited: &BTreeMap<String, String>,
    depth: usize,
    out: &mut String,
) -> Result<(), InterpolationError> {
    if depth > MAX_DEPTH {
        return Err(InterpolationError::TooDeep {
            key: key.to_owned(),
        });
    }
    // fail2ban copies the lookup map at every level and adds `__name__` and the
    // `section/key` references of this piece of text.
    let mut extra = inherited.clone();
    extra.insert("__name__".into(), section.to_owned());
    map_section_references(merged, section, rest, &mut extra);
    let mut rest = rest;
    while !rest.is_empty() {
        let Some(at) = rest.find('%') else {
            out.push_str(rest);
            return Ok(());
        };
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match rest.as_bytes().get(1) {
            Some(b'%') => {
                out.push('%');
                rest = &rest[2..];
            }
            Some(b'(') => {
                let close = rest[2..]
                    .find(')')
                    .filter(|&n| n > 0 && rest[2 + n + 1..].starts_with('s'))
                    .ok_or_else(|| InterpolationError::Syntax {
                        key: key.to_owned(),
                        near: rest.chars().take(40).collect(),
                    })?;
                let reference = &rest[2..2 + close];
                rest = &rest[2 + close + 2..];
                let var = reference.to_lowercase();
                let value = extra
                    .get(&var)
                    .map(String::as_str)
                    .or_else(|| lookup_raw(merged, section, &var))
                    .ok_or_else(|| InterpolationError::Missing {
                        key: key.to_owned(),
                        reference: reference.to_owned(),
                    })?;
                if value.contains('%') {
                    expand(merged, section, key, value, &extra, depth + 1, out)?;
                } else {
                    out.push_str(value);
                }
            }
            _ => {
                return Err(InterpolationError::Syntax {
                    key: key.to_owned(),
                    near: rest.chars().take(40).collect(),
                });
            }
        }
    }
    Ok(())
}

/// `_map_section_options`: for each `%(sec/key)s` in `text` not already known, the raw
/// value it names (`known/` first from `KNOWN/<section>`, `default/` and misses from
/// `[DEFAULT]`; a missing section is skipped).
fn map_section_references(
    merged: &Merged,
    section: &str,
    text: &str,
    extra: &mut BTreeMap<String, String>,
) {
    if !text.contains('/') || !text.contains("%(") {
        return;
    }
    // As `re.findall(r"%\(([\w\-]+/([^\)]+))\)s")`: a candidate that does not match
    // is passed over one position at a time, a match from its end.
    let mut rest = text;
    while let Some(at) = rest.find("%(") {
        let after = &rest[at + 2..];
        rest = after;
        let Some(close) = after.find(')') else {
            return;
        };
        let reference = &after[..close];
        if !after[close + 1..].starts_with('s') {
            continue;
        }
        let Some((sec, key)) = reference.split_once('/') else {
            continue;
        };
        let well_formed = !sec.is_empty()
            && sec
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && !key.is_empty();
        if !well_formed {
            continue;
        }
        rest = &after[close + 2..];
        if extra.contains_key(reference) || lookup_raw(merged, section, reference).is_some() {
            continue;
        }
        let from_defaults = || merged.defaults.get(key).map(|o| o.value.clone());
        let value = match sec.to_lowercase().as_str() {
            "default" => from_defaults(),
            "known" => merged
                .sections
                .get(&format!("KNOWN/{section}"))
                .and_then(|s| s.get(key))
                .map(|o| o.value.clone())
                .or_else(from_defaults),
            _ => match merged.sections.get(sec) {
                None => continue,
                Some(s) => s.get(key).map(|o| o.value.clone()).or_else(from_defaults),
            },
        };
        if let Some(value) = value {
            extra.insert(reference.to_owned(), value);
        }
    }
}
