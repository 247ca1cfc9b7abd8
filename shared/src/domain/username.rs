use std::fmt;

/// A username: 1 to 64 of `[A-Za-z0-9._@-]`, nothing else (not even surrounding spaces:
/// the UI trims what is typed, the API takes what it is sent). Unique regardless of case (the database's index on `lower(username)` holds it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("usernames are 1-64 of A-Z a-z 0-9 . _ - @")]
pub struct UsernameError;

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let name = raw;
        let ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(UsernameError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone such as `Europe/Berlin`, known to the tz database BanGUI carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IANA time zone like Europe/Berlin")]
pub struct TimeZoneError(pub String);

impl TimeZone {
    pub const UTC: TimeZone = TimeZone(chrono_tz::Tz::UTC);

    pub fn parse(raw: &str) -> Result<Self, TimeZoneError> {
        let name = raw.trim();
        name.parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| TimeZoneError(name.chars().take(64).collect()))
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_zones_are_checked() {
        assert_eq!(
            Username::parse("alice@ops").expect("ok").as_str(),
            "alice@ops"
        );
        for bad in [
            "",
            "a b",
            " alice",
            "alice\n",
            "x".repeat(65).as_str(),
            "ünï",
            "a;b",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            TimeZone::parse("Europe/Berlin").expect("zone").name(),
            "Europe/Berlin"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("../etc/passwd").is_err());
    }
}
