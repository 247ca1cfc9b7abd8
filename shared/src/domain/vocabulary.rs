//! The closed sets of words BanGUI stores and answers with: roles, ban origins, event
//! kinds, ban states, job names. Each is an enum with one spelling, used for the
//! database column (text), the JSON field and the OpenAPI document (which lists every
//! allowed value, so the generated TypeScript client gets a union type).

/// Declares a closed vocabulary: the enum, its stored spelling, parsing, and the glue to
/// serde, poem-openapi and sea-orm (a text column decodes into it; an unknown word in the
/// database is a decoding error, not a silent default).
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, poem_openapi::Enum,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] #[oai(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownWord;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw).ok_or_else(|| $crate::domain::UnknownWord {
                    what: stringify!($name),
                    got: raw.chars().take(40).collect(),
                    allowed: Self::ALL.iter().map(|v| v.as_str()).collect(),
                })
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(v: $name) -> Self {
                v.as_str().into()
            }
        }

        impl sea_orm::TryGetable for $name {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                index: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let raw = <String as sea_orm::TryGetable>::try_get_by(res, index)?;
                raw.parse().map_err(|e: $crate::domain::UnknownWord| {
                    sea_orm::TryGetError::DbErr(sea_orm::DbErr::Type(e.to_string()))
                })
            }
        }
    };
}
pub(crate) use vocabulary;

/// A word outside a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{got:?} is not a valid {what}: use one of {}", allowed.join(", "))]
pub struct UnknownWord {
    pub what: &'static str,
    pub got: String,
    pub allowed: Vec<&'static str>,
}

vocabulary! {
    /// Roles in increasing power: viewer < operator < admin (the order is the derive's).
    pub enum Role {
        Viewer => "viewer",
        Operator => "operator",
        Admin => "admin",
    }
}

vocabulary! {
    /// Who put a ban in place.
    pub enum Origin {
        /// fail2ban banned it from its logs.
        Auto => "auto",
        /// An operator banned it through BanGUI (or `fail2ban-client`).
        Manual => "manual",
        /// A blocklist import banned it.
        Blocklist => "blocklist",
    }
}

vocabulary! {
    /// What happened to a ban, as the archive records it.
    pub enum EventKind {
        Ban => "ban",
        Unban => "unban",
        Expire => "expire",
    }
}

vocabulary! {
    /// Where an archive event was learnt.
    pub enum EventSource {
        /// The ban sync saw it in fail2ban's current bans.
        Sync => "sync",
        /// Imported from fail2ban's own database.
        Archive => "archive",
        /// A BanGUI command made it.
        Command => "command",
    }
}

vocabulary! {
    /// How a ban stands or ended.
    pub enum BanState {
        Banned => "banned",
        Expired => "expired",
        Unbanned => "unbanned",
    }
}

vocabulary! {
    /// Who placed an IP on the map.
    pub enum GeoSource {
        /// The offline geo files.
        Local => "local",
        /// The fallback lookup service.
        Http => "http",
        /// Nobody knew; it is looked up again later.
        Unknown => "none",
    }
}

vocabulary! {
    /// The scheduler's jobs, as the job-run table and the API name them.
    pub enum JobName {
        Heartbeat => "heartbeat",
        StatusProbe => "status_probe",
        JailSync => "jail_sync",
        ConfigSync => "config_sync",
        AllowlistExpiry => "allowlist_expiry",
        LogTail => "log_tail",
        BanSync => "ban_sync",
        ArchiveSync => "archive_sync",
        GeoResolve => "geo_resolve",
        Rollups => "rollups",
        Retention => "retention",
        BlocklistSchedule => "blocklist_schedule",
        CommandExecutor => "command_executor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips_and_unknown_words_are_named() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        let err = "root".parse::<Role>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "\"root\" is not a valid Role: use one of viewer, operator, admin"
        );
        assert_eq!(
            serde_json::to_string(&Origin::Blocklist).expect("json"),
            "\"blocklist\""
        );
        assert_eq!(JobName::parse("status_probe"), Some(JobName::StatusProbe));
    }
}
