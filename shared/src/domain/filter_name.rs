use std::fmt;

use serde::{Deserialize, Serialize};

/// A fail2ban filter or action name, as in `filter.d/<name>.conf`: 1 to 64 of
/// `[A-Za-z0-9._@-]`, starting with a letter or digit (never a path, an option or a hidden
/// file).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FilterName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid filter or action name (1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit)"
)]
pub struct FilterNameError(pub String);

impl FilterName {
    pub fn parse(raw: &str) -> Result<Self, FilterNameError> {
        let ok = (1..=64).contains(&raw.len())
            && raw.as_bytes()[0].is_ascii_alphanumeric()
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FilterNameError(raw.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FilterName {
    type Error = FilterNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FilterName> for String {
    fn from(value: FilterName) -> Self {
        value.0
    }
}

impl fmt::Display for FilterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_stock_names_and_refuses_paths_and_options() {
        for ok in [
            "sshd",
            "nginx-http-auth",
            "zzz-generic-example",
            "3proxy",
            "apache-auth",
            "iptables-multiport",
        ] {
            assert!(FilterName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".hidden",
            "-x",
            "--all",
            "a/b",
            "../sshd",
            "a b",
            "sshd[mode=x]",
            "ä",
            &"x".repeat(65),
        ] {
            assert!(FilterName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
