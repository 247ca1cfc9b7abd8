//! The regex tester's request (issue #19): what to test (a stock or custom filter, or
//! failregex/ignoreregex lines as a filter file would hold them) against what (pasted
//! lines or the tail of a log file), within bounds. The API checks it; the scheduler,
//! which runs fail2ban-regex's own code on it, parses it again from the command payload.

use serde::{Deserialize, Serialize};

use crate::domain::FilterName;
use crate::error_code::ErrorCode;

/// At most this many lines are tested, and at most this many bytes of them.
pub const MAX_LINES: usize = 10_000;
pub const MAX_BYTES: usize = 1 << 20;
/// One regex, in characters; and how many of them.
pub const MAX_REGEX_CHARS: usize = 4096;
pub const MAX_REGEXES: usize = 100;
/// A log path, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;

/// A filter as a jail names it: `sshd` or `sshd[mode=aggressive]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FilterRef {
    name: FilterName,
    /// The `[...]` part, brackets included, when given.
    options: Option<String>,
}

impl FilterRef {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (name, options) = match raw.find('[') {
            Some(at) => (&raw[..at], Some(&raw[at..])),
            None => (raw, None),
        };
        let name = FilterName::parse(name).map_err(|e| e.to_string())?;
        if let Some(o) = options {
            let inner = o
                .strip_prefix('[')
                .and_then(|o| o.strip_suffix(']'))
                .ok_or_else(|| format!("{o:?}: options are written [key=value, ...]"))?;
            let bad = |c: char| matches!(c, '[' | ']' | '\n' | '\r' | '\0');
            if inner.len() > 512 || inner.contains(bad) || !inner.contains('=') {
                return Err(format!(
                    "{o:?}: options are written [key=value, ...] (at most 512 characters, no brackets or line breaks)"
                ));
            }
        }
        Ok(Self {
            name,
            options: options.map(str::to_owned),
        })
    }

    pub fn name(&self) -> &FilterName {
        &self.name
    }
}

impl TryFrom<String> for FilterRef {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FilterRef> for String {
    fn from(value: FilterRef) -> Self {
        value.to_string()
    }
}

impl std::fmt::Display for FilterRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.name, self.options.as_deref().unwrap_or(""))
    }
}

/// One regex as a filter file's value holds it (`%(__prefix_line)s`, `<HOST>`, `%%`):
/// one line, no NUL, 1 to 4096 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegexText(String);

impl RegexText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let shown: String = raw.chars().take(60).collect();
        if raw.trim().is_empty() {
            return Err("a regex is empty".into());
        }
        if raw.chars().count() > MAX_REGEX_CHARS {
            return Err(format!(
                "{shown:?}…: a regex is at most {MAX_REGEX_CHARS} characters"
            ));
        }
        if raw.contains(['\n', '\r', '\0']) {
            return Err(format!(
                "{shown:?}: a regex is one line (several regexes are several items)"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RegexText {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RegexText> for String {
    fn from(value: RegexText) -> Self {
        value.0
    }
}

/// What the regexes are tested against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Subject {
    /// Lines given with the request (split at line breaks).
    Lines { lines: Vec<String> },
    /// The last `max_lines` lines of a log file: a configured jail's `logpath` or a file
    /// under `BANGUI_LOG_ALLOW_DIRS`, checked again by the scheduler after resolving it.
    Log { path: String, max_lines: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegexTest {
    /// A filter of the configuration (with its `.local`); or none, and `failregex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterRef>,
    #[serde(default)]
    pub failregex: Vec<RegexText>,
    #[serde(default)]
    pub ignoreregex: Vec<RegexText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datepattern: Option<RegexText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefregex: Option<RegexText>,
    pub subject: Subject,
}

/// Why a request is refused, with the code the API answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: ErrorCode,
    pub field: &'static str,
    pub message: String,
}

fn refused(code: ErrorCode, field: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        field,
        message: message.into(),
    }
}

/// Pasted text as lines: split at line breaks, `\r` dropped, a last empty line dropped.
pub fn split_lines(given: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = given
        .iter()
        .flat_map(|l| l.split('\n'))
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

impl RegexTest {
    /// Checks what the types alone cannot: a filter or at least one failregex (not both),
    /// the bounds on lines and bytes, a plausible log path.
    pub fn check(&self) -> Result<(), Refused> {
        match (&self.filter, self.failregex.is_empty()) {
            (Some(_), false) => {
                return Err(refused(
                    ErrorCode::RegexInvalid,
                    "failregex",
                    "give a filter or failregex lines, not both",
                ));
            }
            (None, true) => {
                return Err(refused(
                    ErrorCode::RegexInvalid,
                    "failregex",
                    "give a filter or at least one failregex",
                ));
            }
            _ => {}
        }
        if self.filter.is_some() && !self.ignoreregex.is_empty() {
            return Err(refused(
                ErrorCode::RegexInvalid,
                "ignoreregex",
                "a filter brings its own ignoreregex; test failregex lines to give others",
            ));
        }
        if self.failregex.len() + self.ignoreregex.len() > MAX_REGEXES {
            return Err(refused(
                ErrorCode::RegexInvalid,
                "failregex",
                format!("at most {MAX_REGEXES} regexes"),
            ));
        }
        match &self.subject {
            Subject::Lines { lines } => {
                if lines.is_empty() {
                    return Err(refused(
                        ErrorCode::ValidationFailed,
                        "lines",
                        "no lines to test",
                    ));
                }
                if lines.len() > MAX_LINES {
                    return Err(refused(
                        ErrorCode::TooManyLines,
                        "lines",
                        format!(
                            "{} lines; at most {MAX_LINES} are tested at once",
                            lines.len()
                        ),
                    ));
                }
                let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
                if bytes > MAX_BYTES {
                    return Err(refused(
                        ErrorCode::TooManyLines,
                        "lines",
                        format!("{bytes} bytes of lines; at most {MAX_BYTES} are tested at once"),
                    ));
                }
                if lines.iter().any(|l| l.contains('\0')) {
                    return Err(refused(
                        ErrorCode::ValidationFailed,
                        "lines",
                        "a line holds a NUL byte",
                    ));
                }
            }
            Subject::Log { path, max_lines } => {
                let climbs = std::path::Path::new(path)
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir));
                if !path.starts_with('/')
                    || path.len() > MAX_PATH_BYTES
                    || path.contains('\0')
                    || climbs
                {
                    return Err(refused(
                        ErrorCode::LogPathRefused,
                        "log.path",
                        "a log path is absolute, at most 4096 bytes, without NUL or ..",
                    ));
                }
                if *max_lines == 0 || *max_lines as usize > MAX_LINES {
                    return Err(refused(
                        ErrorCode::TooManyLines,
                        "log.max_lines",
                        format!("between 1 and {MAX_LINES} lines"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether a log path may be read: a jail's `logpath` (a path or a glob with `*`, `?` and
/// `[...]`, a trailing `tail`/`head` word ignored) or a file under an allowed folder. The
/// API checks the path as given; the scheduler checks it again resolved.
pub fn log_path_allowed<'a>(
    path: &str,
    logpaths: impl IntoIterator<Item = &'a str>,
    allow_dirs: &[std::path::PathBuf],
) -> bool {
    let p = std::path::Path::new(path);
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return false;
    }
    if allow_dirs.iter().any(|d| p.starts_with(d) && p != d) {
        return true;
    }
    logpaths.into_iter().any(|pattern| {
        let pattern = pattern.split_whitespace().next().unwrap_or("");
        !pattern.is_empty() && glob_match(pattern, path)
    })
}

/// Shell-style matching of a whole path: `*` and `?` never cross a `/`, `[...]` (with
/// `!` or `^` to negate) is one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    fn class(set: &[char], c: char) -> Option<(bool, usize)> {
        // Returns (matches, length of the class in the pattern) or None if unterminated.
        let (negate, start) = match set.get(1) {
            Some('!' | '^') => (true, 2),
            _ => (false, 1),
        };
        let end = set.iter().skip(start + 1).position(|&x| x == ']')? + start + 1;
        let items = &set[start..end];
        let mut hit = false;
        let mut i = 0;
        while i < items.len() {
            if i + 2 < items.len() && items[i + 1] == '-' {
                hit |= items[i] <= c && c <= items[i + 2];
                i += 3;
            } else {
                hit |= items[i] == c;
                i += 1;
            }
        }
        Some((hit != negate, end + 1))
    }
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != '/')
                .any(|i| go(&p[1..], &t[i..])),
            Some('?') => t.first().is_some_and(|&c| c != '/') && go(&p[1..], &t[1..]),
            Some('[') => match (t.first(), class(p, *t.first().unwrap_or(&'\0'))) {
                (Some(&c), Some((true, len))) if c != '/' => go(&p[len..], &t[1..]),
                (_, Some(_)) => false,
                (Some(&c), None) => c == '[' && go(&p[1..], &t[1..]),
                (None, None) => false,
            },
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_references_are_names_with_optional_options() {
        for ok in [
            "sshd",
            "sshd[mode=aggressive]",
            "apache-auth[logtype=short, x=\"y z\"]",
        ] {
            let f = FilterRef::parse(ok).expect(ok);
            assert_eq!(f.to_string(), ok);
        }
        for bad in [
            "",
            "../sshd",
            "sshd[",
            "sshd[mode]",
            "sshd[a=[b]]",
            "sshd[a=b\n]",
            "-c[a=b]",
            "/etc/passwd",
        ] {
            assert!(FilterRef::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn regexes_are_single_bounded_lines() {
        assert!(RegexText::parse("^<HOST> failed$").is_ok());
        assert!(RegexText::parse("%(__prefix_line)s bad from <HOST>").is_ok());
        for bad in ["", "  ", "a\nb", "a\rb", "a\0b"] {
            assert!(RegexText::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RegexText::parse(&"a".repeat(MAX_REGEX_CHARS + 1)).is_err());
    }

    #[test]
    fn log_paths_are_jail_logpaths_or_under_an_allowed_folder() {
        let logpaths = [
            "/var/log/auth.log",
            "/var/log/nginx/*error.log tail",
            "/srv/app-[0-9].log",
        ];
        let dirs = [std::path::PathBuf::from("/var/log/bangui")];
        let ok = |p: &str| log_path_allowed(p, logpaths, &dirs);
        assert!(ok("/var/log/auth.log"));
        assert!(ok("/var/log/nginx/site-error.log"));
        assert!(ok("/srv/app-3.log"));
        assert!(ok("/var/log/bangui/x/y.log"));
        for bad in [
            "/etc/shadow",
            "/var/log/auth.log.1",
            "/var/log/nginx/a/b-error.log",
            "/var/log/bangui",
            "/var/log/bangui/../../../etc/shadow",
            "/srv/app-x.log",
            "/var/log/nginx/../../../etc/error.log",
        ] {
            assert!(!ok(bad), "{bad}");
        }
        assert!(glob_match("/a/[!x]b", "/a/yb"));
        assert!(!glob_match("/a/[!x]b", "/a/xb"));
        assert!(glob_match("/a/*", "/a/"));
    }

    #[test]
    fn pasted_text_becomes_lines() {
        let given = vec!["a\r\nb\n".to_owned(), "c".to_owned(), String::new()];
        assert_eq!(split_lines(&given), ["a", "b", "", "c"]);
    }

    fn test_of(subject: Subject) -> RegexTest {
        RegexTest {
            filter: None,
            failregex: vec![RegexText::parse("<HOST>").expect("regex")],
            ignoreregex: vec![],
            datepattern: None,
            prefregex: None,
            subject,
        }
    }

    #[test]
    fn bounds_are_enforced() {
        let lines = |n: usize, len: usize| Subject::Lines {
            lines: vec!["x".repeat(len); n],
        };
        assert!(test_of(lines(MAX_LINES, 10)).check().is_ok());
        assert_eq!(
            test_of(lines(MAX_LINES + 1, 1)).check().map_err(|r| r.code),
            Err(ErrorCode::TooManyLines)
        );
        assert_eq!(
            test_of(lines(3, MAX_BYTES)).check().map_err(|r| r.code),
            Err(ErrorCode::TooManyLines)
        );
        let log = |path: &str, max_lines| Subject::Log {
            path: path.into(),
            max_lines,
        };
        assert!(test_of(log("/var/log/auth.log", 100)).check().is_ok());
        for bad in [log("auth.log", 10), log("/var/log/a\0", 10)] {
            assert_eq!(
                test_of(bad).check().map_err(|r| r.code),
                Err(ErrorCode::LogPathRefused)
            );
        }
        assert!(test_of(log("/var/log/auth.log", 0)).check().is_err());
        let mut both = test_of(lines(1, 1));
        both.filter = Some(FilterRef::parse("sshd").expect("filter"));
        assert_eq!(
            both.check().map_err(|r| r.code),
            Err(ErrorCode::RegexInvalid)
        );
    }
}
