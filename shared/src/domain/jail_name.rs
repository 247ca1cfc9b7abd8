use std::fmt;

use serde::{Deserialize, Serialize};

/// A fail2ban jail name: 1 to 64 of `[A-Za-z0-9._@-]`, not starting with `-` (it would
/// read as an option such as `--all`) and not made only of dots. Anything else never
/// reaches fail2ban.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JailName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid jail name (1-64 of A-Z a-z 0-9 . _ @ -, not starting with -)")]
pub struct JailNameError(pub String);

impl JailName {
    pub fn parse(raw: &str) -> Result<Self, JailNameError> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
            && !raw.starts_with('-')
            && !raw.bytes().all(|b| b == b'.');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(JailNameError(raw.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JailName {
    type Error = JailNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<JailName> for String {
    fn from(value: JailName) -> Self {
        value.0
    }
}

impl fmt::Display for JailName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_jail_names() {
        for ok in [
            "sshd",
            "nginx-http-auth",
            "test_web.2",
            "recidive",
            "a@b",
            "blocklist-import",
        ] {
            assert!(JailName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_paths_options_markers_and_oversize() {
        for bad in [
            "",
            "../x",
            "..",
            ".",
            "--all",
            "-x",
            "a b",
            "a/b",
            "<F2B_END_COMMAND>",
            "ä",
            &"x".repeat(65),
            "a\nb",
        ] {
            assert!(JailName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
