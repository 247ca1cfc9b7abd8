//! The command queue's vocabulary: a closed set of kinds with typed payloads. The API
//! writes them (after full validation), the scheduler reads and executes them. Payloads
//! are stored as JSON in `commands.payload`; parsing them again on the scheduler side
//! re-validates every jail name and IP, so a hand-edited row cannot smuggle anything to
//! fail2ban.

use serde::{Deserialize, Serialize};

use crate::blocklist::{ImportTrigger, ListFormat, SourceUrl};
use crate::config_edit::{ConfigFile, DefKind, LocalText, Revision, WriteReason};
use crate::domain::{FilterName, IpOrNet, JailName, vocabulary};
use crate::regex_test::RegexTest;
use crate::server_settings::ServerSettings;

vocabulary! {
    /// Lifecycle of a command row.
    pub enum CommandStatus {
        Pending => "pending",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

impl CommandStatus {
    pub fn is_final(self) -> bool {
        matches!(self, CommandStatus::Succeeded | CommandStatus::Failed)
    }
}

vocabulary! {
    /// The kinds of [`Command`], as stored in `commands.kind`.
    pub enum CommandKind {
        Ban => "ban",
        Unban => "unban",
        UnbanAll => "unban_all",
        JailStart => "jail_start",
        JailStop => "jail_stop",
        JailIdle => "jail_idle",
        JailReload => "jail_reload",
        ReloadAll => "reload_all",
        IgnoreipAdd => "ignoreip_add",
        IgnoreipRemove => "ignoreip_remove",
        IgnoreselfSet => "ignoreself_set",
        ConfigWrite => "config_write",
        ConfigTest => "config_test",
        AllowlistApply => "allowlist_apply",
        RegexTest => "regex_test",
        FileWrite => "file_write",
        DefDelete => "def_delete",
        ServerSet => "server_set",
        ServerFlushLogs => "server_flush_logs",
        ServerRestart => "server_restart",
        BlocklistImport => "blocklist_import",
        BlocklistPreview => "blocklist_preview",
        BlocklistPurge => "blocklist_purge",
    }
}

/// Everything the scheduler may be asked to do to fail2ban.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    Ban {
        jail: JailName,
        ips: Vec<IpOrNet>,
    },
    /// No jail: every jail.
    Unban {
        ips: Vec<IpOrNet>,
        jail: Option<JailName>,
    },
    UnbanAll,
    JailStart {
        jail: JailName,
    },
    JailStop {
        jail: JailName,
    },
    JailIdle {
        jail: JailName,
        on: bool,
    },
    JailReload {
        jail: JailName,
    },
    ReloadAll,
    IgnoreipAdd {
        jail: JailName,
        ip: IpOrNet,
    },
    IgnoreipRemove {
        jail: JailName,
        ip: IpOrNet,
    },
    IgnoreselfSet {
        jail: JailName,
        on: bool,
    },
    /// Writes `jail.d/<jail>.local` through the validated path (ADR 0008): only when the
    /// file on disk is still at `expected_revision`; tested, recorded as a revision,
    /// written atomically, reloaded, verified, rolled back on any failure.
    ConfigWrite {
        jail: JailName,
        text: LocalText,
        expected_revision: Revision,
        reason: WriteReason,
        /// The revision whose content this restores, for `reason = restore`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restores: Option<i64>,
    },
    /// What `fail2ban-client -t` says of the tree with `jail.d/<jail>.local` replaced by
    /// `text`, on a copy; nothing is written.
    ConfigTest {
        jail: JailName,
        text: LocalText,
    },
    /// Brings every jail's `.local` in line with the allowlist (entries added, changed,
    /// removed or expired), each file through the validated write path.
    AllowlistApply,
    /// Runs fail2ban-regex's own code on lines (nothing is written); the result holds
    /// each tested line's outcome and the counts.
    RegexTest(RegexTest),
    /// Writes a filter's or action's file (`filter.d/<name>.local`, or the `.conf` of one
    /// BanGUI creates) through the validated path: tested on a copy (its regexes compiled
    /// by fail2ban), recorded, written atomically, the jails that use it reloaded and
    /// checked, rolled back on any failure.
    FileWrite {
        file: ConfigFile,
        text: LocalText,
        expected_revision: Revision,
        reason: WriteReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restores: Option<i64>,
    },
    /// Removes a filter or action BanGUI created (its `.conf` and `.local`), when no jail
    /// uses it, through the same path.
    DefDelete {
        def: DefKind,
        name: FilterName,
    },
    /// Sets fail2ban's own settings at runtime (`set loglevel …`) and writes them into
    /// `fail2ban.local` through the validated path; `fail2ban.local` must still be at
    /// `expected_revision`.
    ServerSet {
        settings: ServerSettings,
        expected_revision: Revision,
    },
    /// `flushlogs`: fail2ban reopens its log file (after an outside rotation).
    ServerFlushLogs,
    /// Restarts fail2ban (its own `restart`, or every jail where BanGUI may not start the
    /// server) and waits until it answers again with its jails.
    ServerRestart,
    /// Downloads a source's list and applies the difference to fail2ban (ADR 0009): new
    /// entries banned, dropped ones unbanned, in chunks, fenced and resumable.
    BlocklistImport {
        source: i64,
        trigger: ImportTrigger,
    },
    /// Downloads and parses a list without banning anything: counts, the first entries
    /// and the invalid lines.
    BlocklistPreview {
        url: SourceUrl,
        format: ListFormat,
    },
    /// Unbans what a source holds (unless another source holds it too) and forgets the
    /// source with its import log.
    BlocklistPurge {
        source: i64,
    },
}

impl Command {
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Ban { .. } => CommandKind::Ban,
            Command::Unban { .. } => CommandKind::Unban,
            Command::UnbanAll => CommandKind::UnbanAll,
            Command::JailStart { .. } => CommandKind::JailStart,
            Command::JailStop { .. } => CommandKind::JailStop,
            Command::JailIdle { .. } => CommandKind::JailIdle,
            Command::JailReload { .. } => CommandKind::JailReload,
            Command::ReloadAll => CommandKind::ReloadAll,
            Command::IgnoreipAdd { .. } => CommandKind::IgnoreipAdd,
            Command::IgnoreipRemove { .. } => CommandKind::IgnoreipRemove,
            Command::IgnoreselfSet { .. } => CommandKind::IgnoreselfSet,
            Command::ConfigWrite { .. } => CommandKind::ConfigWrite,
            Command::ConfigTest { .. } => CommandKind::ConfigTest,
            Command::AllowlistApply => CommandKind::AllowlistApply,
            Command::RegexTest(_) => CommandKind::RegexTest,
            Command::FileWrite { .. } => CommandKind::FileWrite,
            Command::DefDelete { .. } => CommandKind::DefDelete,
            Command::ServerSet { .. } => CommandKind::ServerSet,
            Command::ServerFlushLogs => CommandKind::ServerFlushLogs,
            Command::ServerRestart => CommandKind::ServerRestart,
            Command::BlocklistImport { .. } => CommandKind::BlocklistImport,
            Command::BlocklistPreview { .. } => CommandKind::BlocklistPreview,
            Command::BlocklistPurge { .. } => CommandKind::BlocklistPurge,
        }
    }

    /// The jail a command targets, if one.
    pub fn jail(&self) -> Option<&JailName> {
        match self {
            Command::Ban { jail, .. }
            | Command::JailStart { jail }
            | Command::JailStop { jail }
            | Command::JailIdle { jail, .. }
            | Command::JailReload { jail }
            | Command::IgnoreipAdd { jail, .. }
            | Command::IgnoreipRemove { jail, .. }
            | Command::IgnoreselfSet { jail, .. }
            | Command::ConfigWrite { jail, .. }
            | Command::ConfigTest { jail, .. } => Some(jail),
            Command::Unban { jail, .. } => jail.as_ref(),
            Command::FileWrite { file, .. } => file.jail(),
            Command::UnbanAll
            | Command::ReloadAll
            | Command::AllowlistApply
            | Command::RegexTest(_)
            | Command::DefDelete { .. }
            | Command::ServerSet { .. }
            | Command::ServerFlushLogs
            | Command::ServerRestart
            | Command::BlocklistImport { .. }
            | Command::BlocklistPreview { .. }
            | Command::BlocklistPurge { .. } => None,
        }
    }

    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The payload as the audit log keeps it: a configuration text as its revision and
    /// size (the revision row keeps the text itself), tested lines as their count.
    pub fn audit_payload(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(self).unwrap_or_default();
        if let (Command::RegexTest(test), Some(subject)) = (self, json.get_mut("subject"))
            && let crate::regex_test::Subject::Lines { lines } = &test.subject
        {
            *subject = serde_json::json!({ "from": "lines", "count": lines.len() });
        }
        if let (
            Command::ConfigWrite { text, .. }
            | Command::ConfigTest { text, .. }
            | Command::FileWrite { text, .. },
            Some(map),
        ) = (self, json.as_object_mut())
        {
            map.insert(
                "text".into(),
                serde_json::json!({ "revision": text.revision(), "bytes": text.as_str().len() }),
            );
        }
        json
    }

    pub fn from_payload(payload: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_revalidate() {
        let c = Command::Ban {
            jail: JailName::parse("sshd").expect("jail"),
            ips: vec![
                IpOrNet::parse("192.0.2.1").expect("ip"),
                IpOrNet::parse("2001:db8::/48").expect("net"),
            ],
        };
        let p = c.to_payload();
        assert_eq!(
            p,
            r#"{"kind":"ban","jail":"sshd","ips":["192.0.2.1","2001:db8::/48"]}"#
        );
        assert_eq!(Command::from_payload(&p).expect("parse"), c);
        assert!(Command::from_payload(r#"{"kind":"ban","jail":"../x","ips":[]}"#).is_err());
        assert!(
            Command::from_payload(r#"{"kind":"ban","jail":"sshd","ips":["0.0.0.0/0"]}"#).is_err()
        );
        assert!(Command::from_payload(r#"{"kind":"rm_rf"}"#).is_err());
        assert_eq!(
            Command::from_payload(r#"{"kind":"unban_all"}"#).expect("parse"),
            Command::UnbanAll
        );
        // A regex test's payload is checked again field by field.
        let test = r#"{"kind":"regex_test","filter":"sshd[mode=aggressive]","subject":{"from":"lines","lines":["a"]}}"#;
        let parsed = Command::from_payload(test).expect("parse");
        assert_eq!(parsed.kind(), CommandKind::RegexTest);
        assert_eq!(
            Command::from_payload(&parsed.to_payload()).expect("again"),
            parsed
        );
        for bad in [
            r#"{"kind":"regex_test","filter":"../x","subject":{"from":"lines","lines":[]}}"#,
            r#"{"kind":"regex_test","failregex":["a
b"],"subject":{"from":"lines","lines":[]}}"#,
            r#"{"kind":"regex_test","failregex":["a"],"subject":{"from":"shell","cmd":"x"}}"#,
        ] {
            assert!(Command::from_payload(bad).is_err(), "{bad}");
        }
        let audited = parsed.audit_payload();
        assert_eq!(
            audited["subject"],
            serde_json::json!({"from": "lines", "count": 1})
        );
    }

    #[test]
    fn the_payload_tag_is_the_stored_kind() {
        let jail = JailName::parse("sshd").expect("jail");
        let ip = IpOrNet::parse("192.0.2.1").expect("ip");
        let every = [
            Command::Ban {
                jail: jail.clone(),
                ips: vec![ip],
            },
            Command::Unban {
                ips: vec![ip],
                jail: None,
            },
            Command::UnbanAll,
            Command::JailStart { jail: jail.clone() },
            Command::JailStop { jail: jail.clone() },
            Command::JailIdle {
                jail: jail.clone(),
                on: true,
            },
            Command::JailReload { jail: jail.clone() },
            Command::ReloadAll,
            Command::IgnoreipAdd {
                jail: jail.clone(),
                ip,
            },
            Command::IgnoreipRemove {
                jail: jail.clone(),
                ip,
            },
            Command::IgnoreselfSet {
                jail: jail.clone(),
                on: false,
            },
            Command::ConfigWrite {
                jail: jail.clone(),
                text: LocalText::parse("[sshd]\nenabled = true\n").expect("text"),
                expected_revision: Revision::of(None),
                reason: WriteReason::Activate,
                restores: None,
            },
            Command::ConfigTest {
                jail,
                text: LocalText::parse("").expect("text"),
            },
            Command::AllowlistApply,
            Command::RegexTest(RegexTest {
                filter: None,
                failregex: vec![crate::regex_test::RegexText::parse("<HOST>").expect("regex")],
                ignoreregex: vec![],
                datepattern: None,
                prefregex: None,
                subject: crate::regex_test::Subject::Lines { lines: vec![] },
            }),
            Command::FileWrite {
                file: ConfigFile::DefLocal {
                    kind: DefKind::Filter,
                    name: FilterName::parse("sshd").expect("name"),
                },
                text: LocalText::parse("").expect("text"),
                expected_revision: Revision::of(None),
                reason: WriteReason::Edit,
                restores: None,
            },
            Command::DefDelete {
                def: DefKind::Action,
                name: FilterName::parse("mine").expect("name"),
            },
            Command::ServerSet {
                settings: ServerSettings::default(),
                expected_revision: Revision::of(None),
            },
            Command::ServerFlushLogs,
            Command::ServerRestart,
            Command::BlocklistImport {
                source: 1,
                trigger: ImportTrigger::Manual,
            },
            Command::BlocklistPreview {
                url: SourceUrl::parse("https://lists.example.org/drop.txt").expect("url"),
                format: ListFormat::PLAIN,
            },
            Command::BlocklistPurge { source: 1 },
        ];
        let preview =
            r#"{"kind":"blocklist_preview","url":"file:///etc/passwd","format":{"kind":"plain"}}"#;
        assert!(Command::from_payload(preview).is_err());
        // A file write names only files BanGUI writes, checked again when read back.
        let write = r#"{"kind":"file_write","file":{"type":"def_local","kind":"filter","name":"../jail"},"text":"","expected_revision":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","reason":"edit"}"#;
        assert!(Command::from_payload(write).is_err());
        assert_eq!(every.len(), CommandKind::ALL.len());
        for c in every {
            let json: serde_json::Value = serde_json::from_str(&c.to_payload()).expect("json");
            assert_eq!(json["kind"], c.kind().as_str(), "{c:?}");
        }
    }
}
