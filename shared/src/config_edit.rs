//! Editing fail2ban's `.local` files as text (ADR 0008, issue #18): the rules every text
//! BanGUI writes obeys, its revision (the SHA-256 of the text; a missing file has the
//! revision of empty text), setting and removing keys of one section while every other
//! line (comments, other sections, the user's own layout) stays as it was, and the diff
//! shown before a save. Pure functions: the API renders and diffs with them, the
//! scheduler checks again before it writes.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{FilterName, JailName, vocabulary};

/// The largest file BanGUI writes or reads back for editing.
pub const MAX_FILE_BYTES: usize = 512 * 1024;

/// Why a text may not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the file would be {bytes} bytes; at most {max} are allowed", max = MAX_FILE_BYTES)]
    TooLarge { bytes: usize },
    #[error("the text contains a NUL character")]
    Nul,
    /// fail2ban's socket protocol ends a message with `<F2B_END_COMMAND>`; a value holding
    /// the marker could cut a message short.
    #[error("the text contains \"<F2B_\", which fail2ban's protocol reserves")]
    ProtocolMarker,
}

/// Checks a text against the rules every written file obeys.
pub fn check_text(text: &str) -> Result<(), TextError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(TextError::TooLarge { bytes: text.len() });
    }
    if text.contains('\0') {
        return Err(TextError::Nul);
    }
    if text.contains("<F2B_") {
        return Err(TextError::ProtocolMarker);
    }
    Ok(())
}

/// A text that passed [`check_text`]; re-checked whenever it is parsed (a command payload
/// read back from the database included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalText(String);

impl LocalText {
    pub fn parse(text: impl Into<String>) -> Result<Self, TextError> {
        let text = text.into();
        check_text(&text)?;
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn revision(&self) -> Revision {
        Revision::of(Some(&self.0))
    }
}

impl TryFrom<String> for LocalText {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<LocalText> for String {
    fn from(value: LocalText) -> Self {
        value.0
    }
}

/// A file's revision: the lowercase hex SHA-256 of its content (of empty text when the
/// file does not exist, so "create it" and "it is empty" compare equal, as they read).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Revision(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a revision (64 lowercase hex digits)")]
pub struct RevisionError(pub String);

impl Revision {
    pub fn of(content: Option<&str>) -> Self {
        Self(sha256_hex(content.unwrap_or("").as_bytes()))
    }

    pub fn parse(raw: &str) -> Result<Self, RevisionError> {
        if raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RevisionError(raw.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Revision {
    type Error = RevisionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Revision> for String {
    fn from(value: Revision) -> Self {
        value.0
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

vocabulary! {
    /// Why a configuration file was written.
    pub enum WriteReason {
        Edit => "edit",
        Activate => "activate",
        Deactivate => "deactivate",
        Restore => "restore",
        /// The allowlist's entries written into the jail's `ignoreip`.
        Allowlist => "allowlist",
        /// A new filter or action BanGUI created (`filter.d/<name>.conf`).
        Create => "create",
        /// A filter or action BanGUI created, removed.
        Delete => "delete",
        /// fail2ban's own settings (`fail2ban.local`), changed from the Server tab.
        Server => "server",
    }
}

vocabulary! {
    /// Filters (`filter.d/`) and actions (`action.d/`).
    pub enum DefKind {
        Filter => "filter",
        Action => "action",
    }
}

impl DefKind {
    pub fn folder(self) -> &'static str {
        match self {
            DefKind::Filter => "filter.d",
            DefKind::Action => "action.d",
        }
    }
}

/// A file BanGUI writes, and nothing else: the only paths the write path accepts, each
/// built from a validated name (no separator, no `..`), relative to fail2ban's folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConfigFile {
    /// `jail.d/<jail>.local`.
    JailLocal { jail: JailName },
    /// `filter.d/<name>.local` or `action.d/<name>.local`.
    DefLocal { kind: DefKind, name: FilterName },
    /// `filter.d/<name>.conf` or `action.d/<name>.conf`: only for filters and actions
    /// BanGUI creates.
    DefConf { kind: DefKind, name: FilterName },
    /// `fail2ban.local`: the server's own settings.
    ServerLocal,
    /// `jail.d/bangui-blocklist.local`: the jail blocklist imports ban into
    /// (`BANGUI_BLOCKLIST_JAIL`), when BanGUI creates it.
    BlocklistJail,
}

impl ConfigFile {
    /// The folder it lives in, relative (empty for the configuration folder itself).
    pub fn folder(&self) -> &'static str {
        match self {
            ConfigFile::JailLocal { .. } | ConfigFile::BlocklistJail => "jail.d",
            ConfigFile::DefLocal { kind, .. } | ConfigFile::DefConf { kind, .. } => kind.folder(),
            ConfigFile::ServerLocal => "",
        }
    }

    pub fn relative(&self) -> String {
        match self {
            ConfigFile::JailLocal { jail } => jail_local_path(jail.as_str()),
            ConfigFile::DefLocal { kind, name } => format!("{}/{name}.local", kind.folder()),
            ConfigFile::DefConf { kind, name } => format!("{}/{name}.conf", kind.folder()),
            ConfigFile::ServerLocal => SERVER_LOCAL.to_owned(),
            ConfigFile::BlocklistJail => BLOCKLIST_JAIL_LOCAL.to_owned(),
        }
    }

    /// The file a relative path names, when it is one BanGUI writes.
    pub fn from_relative(path: &str) -> Option<Self> {
        if path == SERVER_LOCAL {
            return Some(ConfigFile::ServerLocal);
        }
        if path == BLOCKLIST_JAIL_LOCAL {
            return Some(ConfigFile::BlocklistJail);
        }
        let (folder, file) = path.split_once('/')?;
        let (stem, ext) = file.rsplit_once('.')?;
        if folder == "jail.d" && ext == "local" {
            return JailName::parse(stem)
                .ok()
                .map(|jail| ConfigFile::JailLocal { jail });
        }
        let kind = DefKind::ALL
            .iter()
            .find(|k| k.folder() == folder)
            .copied()?;
        let name = FilterName::parse(stem).ok()?;
        match ext {
            "local" => Some(ConfigFile::DefLocal { kind, name }),
            "conf" => Some(ConfigFile::DefConf { kind, name }),
            _ => None,
        }
    }

    /// The jail whose own file this is.
    pub fn jail(&self) -> Option<&JailName> {
        match self {
            ConfigFile::JailLocal { jail } => Some(jail),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.relative())
    }
}

/// What a jail's `filter` or `action` value names: each non-empty line (`sshd`,
/// `sshd[mode=aggressive]`, `iptables-multiport[name=SSH, port=ssh]`).
pub fn referenced_specs(value: &str) -> impl Iterator<Item = &str> {
    value.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// The filter or action names a jail's `filter` or `action` value refers to: each spec
/// without its `[options]`.
pub fn referenced(value: &str) -> impl Iterator<Item = &str> {
    referenced_specs(value).filter_map(|spec| {
        let name = spec.split('[').next().unwrap_or(spec).trim();
        (!name.is_empty() && !name.contains(char::is_whitespace)).then_some(name)
    })
}

/// fail2ban's own settings override, relative to its folder.
pub const SERVER_LOCAL: &str = "fail2ban.local";
/// The file of the jail BanGUI creates for blocklist imports.
pub const BLOCKLIST_JAIL_LOCAL: &str = "jail.d/bangui-blocklist.local";

vocabulary! {
    /// How a write ended (`config_revisions.state`).
    pub enum RevisionState {
        /// Recorded, the file maybe written: the command is still running (or its leader
        /// was lost, and the next one finishes or rolls it back).
        Applying => "applying",
        /// Written, fail2ban reloaded and running as the file says.
        Applied => "applied",
        /// Written, then restored: fail2ban refused it or stopped.
        RolledBack => "rolled_back",
    }
}

/// The folder and file BanGUI writes for a jail, relative to fail2ban's config folder.
pub fn jail_local_path(jail: &str) -> String {
    format!("jail.d/{jail}.local")
}

/// How a line of a configparser file reads, for editing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Section(String),
    /// `key = value` or `key: value` at the start of the line (key lower-cased, as
    /// configparser reads it).
    Key(String),
    /// An indented, non-empty line: the value of the key above goes on.
    Continuation,
    /// Empty, or a comment.
    Other,
}

fn classify(line: &str) -> Line {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Line::Other;
    }
    if line.starts_with([' ', '\t']) {
        return Line::Continuation;
    }
    if trimmed.starts_with('[') && trimmed.ends_with(']') && trimmed.len() > 2 {
        return Line::Section(trimmed[1..trimmed.len() - 1].to_owned());
    }
    match trimmed.find(['=', ':']) {
        Some(at) => Line::Key(trimmed[..at].trim().to_lowercase()),
        None => Line::Other,
    }
}

/// Renders `key = value`, a value of several lines with its later lines indented (how
/// configparser reads a value on).
fn render(key: &str, value: &str) -> Vec<String> {
    let mut lines = value.lines();
    let first = lines.next().unwrap_or("").trim();
    let mut out = vec![if first.is_empty() {
        format!("{key} =")
    } else {
        format!("{key} = {first}")
    }];
    out.extend(
        lines
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| format!("{:width$}{l}", "", width = key.len() + 3)),
    );
    out
}

/// Sets (`Some`) or removes (`None`) keys of `section` in `text`. A key set already is
/// replaced where it stood last (earlier copies removed); a new key goes at the end of
/// the section's last block; a missing section is added at the end. Everything else
/// stays as it was.
pub fn set_options(text: &str, section: &str, changes: &[(String, Option<String>)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (key, value) in changes {
        let key = key.to_lowercase();
        let owners = owners(&lines);
        // Where each copy of the key starts and ends, in this section.
        let mut spans = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            if owners[i].as_deref() == Some(section)
                && classify(&lines[i]) == Line::Key(key.clone())
            {
                let mut end = i + 1;
                while end < lines.len() && classify(&lines[end]) == Line::Continuation {
                    end += 1;
                }
                spans.push((i, end));
                i = end;
            } else {
                i += 1;
            }
        }
        let rendered = value.as_deref().map(|v| render(&key, v));
        match (spans.last().copied(), rendered) {
            (Some((start, end)), rendered) => {
                let keep_at = start;
                for &(s, e) in spans.iter().rev().skip(1) {
                    lines.drain(s..e);
                }
                let removed_before: usize =
                    spans[..spans.len() - 1].iter().map(|(s, e)| e - s).sum();
                let (start, end) = (keep_at - removed_before, end - removed_before);
                lines.splice(start..end, rendered.unwrap_or_default());
            }
            (None, Some(rendered)) => match section_end(&lines, &owners, section) {
                Some(at) => {
                    lines.splice(at..at, rendered);
                }
                None => {
                    if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                        lines.push(String::new());
                    }
                    lines.push(format!("[{section}]"));
                    lines.extend(rendered);
                }
            },
            (None, None) => {}
        }
    }
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The value of `key` in `section` as the text sets it (its last copy; the lines of a
/// value of several lines joined with `\n`), without interpolation.
pub fn get_option(text: &str, section: &str, key: &str) -> Option<String> {
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let owners = owners(&lines);
    let key = key.to_lowercase();
    let mut found = None;
    let mut i = 0;
    while i < lines.len() {
        if owners[i].as_deref() == Some(section) && classify(&lines[i]) == Line::Key(key.clone()) {
            let first = lines[i]
                .split_once(['=', ':'])
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default();
            let mut value = vec![first];
            i += 1;
            while i < lines.len() && classify(&lines[i]) == Line::Continuation {
                value.push(lines[i].trim().to_owned());
                i += 1;
            }
            found = Some(value.join("\n").trim().to_owned());
        } else {
            i += 1;
        }
    }
    found
}

/// The section each line belongs to (`None` before the first header).
fn owners(lines: &[String]) -> Vec<Option<String>> {
    let mut current = None;
    lines
        .iter()
        .map(|l| {
            if let Line::Section(name) = classify(l) {
                current = Some(name);
            }
            current.clone()
        })
        .collect()
}

/// Where a new key of `section` goes: after the last key or value line of its last block.
fn section_end(lines: &[String], owners: &[Option<String>], section: &str) -> Option<usize> {
    let mut at = None;
    for (i, line) in lines.iter().enumerate() {
        if owners[i].as_deref() == Some(section) {
            match classify(line) {
                Line::Section(_) | Line::Key(_) | Line::Continuation => at = Some(i + 1),
                Line::Other => {}
            }
        }
    }
    at
}

/// A unified diff of two versions of a file (empty when they are equal).
pub fn unified_diff(old: &str, new: &str, path: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_files_bangui_writes_are_config_files() {
        for path in [
            "jail.d/sshd.local",
            "filter.d/my-app.local",
            "filter.d/my-app.conf",
            "action.d/notify@host.conf",
            "fail2ban.local",
        ] {
            let file = ConfigFile::from_relative(path).expect(path);
            assert_eq!(file.relative(), path);
        }
        for path in [
            "jail.conf",
            "jail.d/sshd.conf",
            "filter.d/../jail.local",
            "filter.d/a/b.local",
            "filter.d/.local",
            "fail2ban.conf",
            "paths-debian.conf",
            "/etc/fail2ban/jail.d/sshd.local",
            "filter.d/sshd.local.bak",
        ] {
            assert!(ConfigFile::from_relative(path).is_none(), "{path}");
        }
    }

    fn set(text: &str, changes: &[(&str, Option<&str>)]) -> String {
        let changes: Vec<(String, Option<String>)> = changes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect();
        set_options(text, "sshd", &changes)
    }

    #[test]
    fn a_new_file_gets_the_section_and_the_keys() {
        assert_eq!(
            set("", &[("enabled", Some("true")), ("maxretry", Some("5"))]),
            "[sshd]\nenabled = true\nmaxretry = 5\n"
        );
    }

    #[test]
    fn keys_are_replaced_in_place_and_everything_else_is_kept() {
        let text = "# mine\n[DEFAULT]\nmaxretry = 9\n\n[sshd]\n# comment stays\nMaxRetry = 3\n  ; indented comment\nport = ssh\n\n[other]\nmaxretry = 1\n";
        assert_eq!(
            set(text, &[("maxretry", Some("5")), ("enabled", Some("false"))]),
            "# mine\n[DEFAULT]\nmaxretry = 9\n\n[sshd]\n# comment stays\nmaxretry = 5\n  ; indented comment\nport = ssh\nenabled = false\n\n[other]\nmaxretry = 1\n"
        );
    }

    #[test]
    fn values_of_several_lines_are_written_and_replaced_whole() {
        let text = "[sshd]\nlogpath = /var/log/a\n          /var/log/b\nport = 22\n";
        let out = set(
            text,
            &[("logpath", Some("/var/log/c\n/var/log/d\n/var/log/e"))],
        );
        assert_eq!(
            out,
            "[sshd]\nlogpath = /var/log/c\n          /var/log/d\n          /var/log/e\nport = 22\n"
        );
        assert_eq!(set(&out, &[("logpath", None)]), "[sshd]\nport = 22\n");
    }

    #[test]
    fn duplicate_copies_collapse_into_the_last_one() {
        let text = "[sshd]\nport = 1\n[x]\na = b\n[sshd]\nport = 2\nbantime = 1h\n";
        assert_eq!(
            set(text, &[("port", Some("3"))]),
            "[sshd]\n[x]\na = b\n[sshd]\nport = 3\nbantime = 1h\n"
        );
    }

    #[test]
    fn a_value_is_read_back_as_the_text_sets_it() {
        let text = "[sshd]\nignoreip = 1.2.3.4\n[web]\nIgnoreIP = a\n  b\n[sshd]\nignoreip = %(known/ignoreip)s 5.6.7.8\n";
        assert_eq!(
            get_option(text, "sshd", "ignoreip").as_deref(),
            Some("%(known/ignoreip)s 5.6.7.8")
        );
        assert_eq!(get_option(text, "web", "ignoreip").as_deref(), Some("a\nb"));
        assert_eq!(get_option(text, "other", "ignoreip"), None);
    }

    #[test]
    fn removing_a_key_that_is_not_there_changes_nothing() {
        let text = "[sshd]\nport = 1\n";
        assert_eq!(set(text, &[("maxretry", None)]), text);
    }

    #[test]
    fn the_rules_refuse_what_must_never_be_written() {
        assert!(check_text("[sshd]\nenabled = true\n").is_ok());
        assert_eq!(check_text("a\0b"), Err(TextError::Nul));
        assert_eq!(
            check_text("action = x <F2B_END_COMMAND>"),
            Err(TextError::ProtocolMarker)
        );
        let big = "#".repeat(MAX_FILE_BYTES + 1);
        assert!(matches!(check_text(&big), Err(TextError::TooLarge { .. })));
        assert!(LocalText::parse("ok").is_ok());
        assert!(serde_json::from_str::<LocalText>("\"<F2B_END>\"").is_err());
    }

    #[test]
    fn revisions_are_hashes_and_a_missing_file_is_empty_text() {
        assert_eq!(Revision::of(None), Revision::of(Some("")));
        assert_eq!(
            Revision::of(Some("abc")).as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(Revision::parse("ABC").is_err());
        assert!(Revision::parse(Revision::of(None).as_str()).is_ok());
    }

    #[test]
    fn the_diff_names_the_file_and_the_changed_lines() {
        let d = unified_diff(
            "[sshd]\nport = 1\n",
            "[sshd]\nport = 2\n",
            "jail.d/sshd.local",
        );
        assert!(
            d.starts_with("--- a/jail.d/sshd.local\n+++ b/jail.d/sshd.local\n"),
            "{d}"
        );
        assert!(d.contains("-port = 1\n+port = 2\n"), "{d}");
        assert_eq!(unified_diff("x", "x", "f"), "");
    }
}
