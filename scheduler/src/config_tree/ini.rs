//! One fail2ban configuration file, read the way fail2ban reads it: Python's
//! `configparser` with fail2ban's settings (`inline_comment_prefixes=";"`, strict, keys
//! lower-cased), keeping the line every value starts on (ADR 0008). Includes, merging,
//! `[DEFAULT]` and interpolation are the tree's business, not this file's.
//!
//! The rules, as `configparser._read` applies them line by line:
//! - a line whose stripped text starts with `#` or `;` is a comment, at any indentation;
//!   `;` after whitespace (or at the start) ends the line's text;
//! - a non-blank line indented deeper than the line that opened the current option
//!   continues that option's value (even if it looks like `[section]` or `key = value`);
//! - otherwise `[name]` (the text between the first `[` and the last `]`) opens a
//!   section, and `key = value` or `key: value` (split at the first `=` or `:`) sets a key;
//! - a blank line inside a value stays in it; trailing blank lines are dropped;
//! - a section other than `DEFAULT` given twice, or a key given twice in one section, is
//!   an error (fail2ban refuses such a file too), as are lines before any section and
//!   lines that are neither.

use std::fmt;

/// A value and the line (1-based) its key is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub value: String,
    pub line: u32,
}

/// A section of one file, its keys in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub line: u32,
    pub options: Vec<(String, Located)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&Located> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// One parsed file: its sections in file order (`DEFAULT` among them, merged if repeated).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IniFile {
    pub sections: Vec<Section>,
}

impl IniFile {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

/// Why a file cannot be read, with the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    pub line: u32,
    pub kind: IniErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniErrorKind {
    NoSectionHeader,
    NotAnOption,
    DuplicateSection(String),
    DuplicateOption { section: String, key: String },
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            IniErrorKind::NoSectionHeader => {
                write!(f, "line {}: a setting before any [section]", self.line)
            }
            IniErrorKind::NotAnOption => write!(
                f,
                "line {}: neither a [section], a `key = value` nor a comment",
                self.line
            ),
            IniErrorKind::DuplicateSection(s) => {
                write!(f, "line {}: section [{s}] given twice", self.line)
            }
            IniErrorKind::DuplicateOption { section, key } => {
                write!(f, "line {}: `{key}` given twice in [{section}]", self.line)
            }
        }
    }
}

impl std::error::Error for IniError {}

pub const DEFAULT_SECTION: &str = "DEFAULT";

/// The value being read: its section and key (indices) and its lines so far.
struct Open {
    section: usize,
    key: usize,
    lines: Vec<String>,
}

/// Parses one file's text.
pub fn parse(text: &str) -> Result<IniFile, IniError> {
    let mut file = IniFile::default();
    let mut current: Option<usize> = None;
    let mut open: Option<Open> = None;
    // Sections opened in this file (DEFAULT may repeat).
    let mut seen_sections: Vec<String> = Vec::new();
    let mut indent_level = 0usize;
    for (index, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (content, had_comment) = strip_comment(raw);
        let value = content.trim();
        if value.is_empty() {
            // A blank line (not a comment line) stays inside an open value.
            if !had_comment && let Some(o) = open.as_mut() {
                o.lines.push(String::new());
            }
            continue;
        }
        let indent = raw.find(|c: char| !c.is_whitespace()).unwrap_or(0);
        if let Some(o) = open.as_mut()
            && indent > indent_level
        {
            o.lines.push(value.to_owned());
            continue;
        }
        indent_level = indent;
        if let Some(name) = section_header(value) {
            close(&mut file, open.take());
            if name != DEFAULT_SECTION && seen_sections.iter().any(|s| s == name) {
                return Err(IniError {
                    line: line_no,
                    kind: IniErrorKind::DuplicateSection(name.to_owned()),
                });
            }
            seen_sections.push(name.to_owned());
            let at = match file.sections.iter().position(|s| s.name == name) {
                Some(at) => at,
                None => {
                    file.sections.push(Section {
                        name: name.to_owned(),
                        line: line_no,
                        options: Vec::new(),
                    });
                    file.sections.len() - 1
                }
            };
            current = Some(at);
            continue;
        }
        let Some(section) = current else {
            return Err(IniError {
                line: line_no,
                kind: IniErrorKind::NoSectionHeader,
            });
        };
        let Some((key, first)) = option(value) else {
            return Err(IniError {
                line: line_no,
                kind: IniErrorKind::NotAnOption,
            });
        };
        close(&mut file, open.take());
        let options = &mut file.sections[section].options;
        if options.iter().any(|(k, _)| *k == key) {
            return Err(IniError {
                line: line_no,
                kind: IniErrorKind::DuplicateOption {
                    section: file.sections[section].name.clone(),
                    key,
                },
            });
        }
        options.push((
            key,
            Located {
                value: String::new(),
                line: line_no,
            },
        ));
        open = Some(Open {
            section,
            key: options.len() - 1,
            lines: vec![first.to_owned()],
        });
    }
    close(&mut file, open.take());
    Ok(file)
}

/// Stores a finished value: its lines joined by newlines, trailing blanks dropped.
fn close(file: &mut IniFile, open: Option<Open>) {
    if let Some(o) = open {
        let joined = o.lines.join("\n");
        file.sections[o.section].options[o.key].1.value = joined.trim_end().to_owned();
    }
}

/// The line's text without its comment, and whether it had one. A line whose stripped
/// text starts with `#` or `;` is all comment; `;` at the start or after whitespace
/// starts an inline comment.
fn strip_comment(line: &str) -> (&str, bool) {
    let trimmed = line.trim();
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return ("", true);
    }
    let mut previous: Option<char> = None;
    for (i, c) in line.char_indices() {
        if c == ';' && previous.is_none_or(char::is_whitespace) {
            return (&line[..i], true);
        }
        previous = Some(c);
    }
    (line, false)
}

/// `[name]` → `name`: from the first `[` to the last `]` (what follows is ignored).
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    let name = &rest[..end];
    (!name.is_empty()).then_some(name)
}

/// `key = value` or `key: value`, split at the first `=` or `:`; the key lower-cased.
fn option(value: &str) -> Option<(String, &str)> {
    let at = value.find(['=', ':'])?;
    let key = value[..at].trim_end();
    if key.is_empty() {
        return None;
    }
    Some((key.to_lowercase(), value[at + 1..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(file: &IniFile, section: &str) -> Vec<(String, String, u32)> {
        file.section(section)
            .map(|s| {
                s.options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone(), v.line))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn keys_values_continuations_and_comments_read_as_configparser_does() {
        let text = "\
# a comment
[INCLUDES]
before = paths-debian.conf

[DEFAULT]
Bantime  = 10m ; inline
ignoreip = 127.0.0.1/8
           ::1
    # an indented comment is still a comment

           10.0.0.0/8

[sshd]
port: ssh
failregex = ^a;b$
  [not a section]
enabled=true
";
        let f = parse(text).expect("parses");
        assert_eq!(
            values(&f, "DEFAULT"),
            vec![
                ("bantime".into(), "10m".into(), 6),
                (
                    "ignoreip".into(),
                    "127.0.0.1/8\n::1\n\n10.0.0.0/8".into(),
                    7
                ),
            ]
        );
        assert_eq!(
            values(&f, "sshd"),
            vec![
                ("port".into(), "ssh".into(), 14),
                ("failregex".into(), "^a;b$\n[not a section]".into(), 15),
                ("enabled".into(), "true".into(), 17),
            ]
        );
        assert_eq!(f.section("INCLUDES").map(|s| s.line), Some(2));
    }

    #[test]
    fn what_fail2ban_refuses_is_refused_with_its_line() {
        let kind = |t: &str| parse(t).map_err(|e| (e.line, e.kind));
        assert_eq!(kind("key = 1\n"), Err((1, IniErrorKind::NoSectionHeader)));
        assert_eq!(
            kind("[a]\nx = 1\n[b]\n[a]\n"),
            Err((4, IniErrorKind::DuplicateSection("a".into())))
        );
        assert_eq!(
            kind("[a]\nX = 1\nx = 2\n"),
            Err((
                3,
                IniErrorKind::DuplicateOption {
                    section: "a".into(),
                    key: "x".into()
                }
            ))
        );
        assert_eq!(
            kind("[a]\njust words\n"),
            Err((2, IniErrorKind::NotAnOption))
        );
        assert!(parse("[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n").is_ok());
    }
}
