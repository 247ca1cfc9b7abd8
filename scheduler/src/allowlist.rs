//! The persistent allowlist in fail2ban's files (issue #18): every jail's `ignoreip` in
//! its `jail.d/<jail>.local` holds the allowlist's entries for it (every enabled jail for
//! an entry without a list, else the jails it names), written through the one validated
//! path (`config_write`), so fail2ban applies them on the reload and keeps them across
//! reloads and restarts. The admin's own `ignoreip` words stay: BanGUI knows which words
//! it wrote (`allowlist_applied`) and changes only those. An inherited `ignoreip`
//! (`[DEFAULT]`, `jail.local`) is kept with `%(known/ignoreip)s`.
//!
//! Run by the `allowlist_apply` command (after every change through the API) and by the
//! `allowlist_expiry` job (expired entries removed, then the files brought in line).

use shared::domain::JobName;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;
use shared::config_edit::{
    ConfigFile, Revision, WriteReason, get_option, jail_local_path, set_options,
};
use shared::domain::JailName;
use shared::error_code::ErrorCode;
use shared::store::allowlist::{self, AllowRow};
use shared::store::commands::Claimed;
use shared::store::config_tree;

use crate::config_write::{self, Refusal, WriteRequest};
use crate::jobs::{Job, JobContext, JobError, config_sync};

/// `%(known/ignoreip)s`: the value the jail had before its `.local`.
const INHERITED: &str = "%(known/ignoreip)s";

/// The entries a jail should carry.
fn wanted(entries: &[AllowRow], jail: &str, enabled: bool) -> Vec<String> {
    let set: BTreeSet<String> = entries
        .iter()
        .filter(|e| match e.jail_list() {
            None => enabled,
            Some(list) => list.iter().any(|j| j == jail),
        })
        .map(|e| e.entry.clone())
        .collect();
    set.into_iter().collect()
}

/// The new text of a jail's `.local`: its `ignoreip` words without what BanGUI wrote
/// before (`previous`), plus `wanted`; the key removed when nothing is left of it.
/// `inherited`: whether the jail has an `ignoreip` from before its `.local`.
pub fn render(
    current: &str,
    jail: &str,
    previous: &[String],
    wanted: &[String],
    inherited: bool,
) -> String {
    let words: Vec<String> = get_option(current, jail, "ignoreip")
        .map(|v| {
            v.split([' ', ',', '\n'])
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let had_inherited = words.iter().any(|w| w == INHERITED);
    let own: Vec<String> = words
        .into_iter()
        .filter(|w| w != INHERITED && !previous.contains(w) && !wanted.contains(w))
        .collect();
    let mut line: Vec<String> = Vec::new();
    if (inherited || had_inherited) && !(own.is_empty() && wanted.is_empty()) {
        line.push(INHERITED.to_owned());
    }
    line.extend(own.iter().cloned());
    line.extend(wanted.iter().cloned());
    let value = if own.is_empty() && wanted.is_empty() {
        None
    } else {
        Some(line.join(" "))
    };
    set_options(current, jail, &[("ignoreip".to_owned(), value)])
}

/// Brings every jail's file in line with the allowlist; a jail whose write fails is
/// reported and left as it was (the others go on).
pub async fn apply(ctx: &JobContext, cmd: &Claimed) -> Result<serde_json::Value, Refusal> {
    let entries = allowlist::active(&ctx.db).await?;
    let mut applied: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (jail, entry) in allowlist::applied(&ctx.db).await? {
        applied.entry(jail).or_default().push(entry);
    }
    let read = config_tree::last_read(&ctx.db).await?;
    let root = read
        .map(|r| r.root.trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let jails = config_tree::jails(&ctx.db).await?;
    let mut written = Vec::new();
    let mut failed = Vec::new();
    {
        let _writer = ctx.f2b.config_writer.lock().await;
        for row in &jails {
            let want = wanted(&entries, &row.name, row.enabled);
            let previous = applied.get(&row.name).cloned().unwrap_or_default();
            if want.is_empty() && previous.is_empty() {
                continue;
            }
            let Ok(jail) = JailName::parse(&row.name) else {
                continue;
            };
            match one_jail(ctx, cmd, &jail, row, &root, &previous, &want).await {
                Ok(true) => written.push(row.name.clone()),
                Ok(false) => {}
                Err(r) => failed
                    .push(json!({ "jail": row.name, "error_code": r.code, "error": r.message })),
            }
        }
    }
    if !written.is_empty() {
        config_sync::refresh(ctx).await?;
    }
    if !failed.is_empty() && written.is_empty() {
        return Err(Refusal {
            code: ErrorCode::ConfigRolledBack,
            message: format!("the allowlist could not be written: {}", json!(failed)),
        });
    }
    Ok(json!({ "written": written, "failed": failed, "entries": entries.len() }))
}

/// Writes one jail's file when it differs; returns whether it wrote.
async fn one_jail(
    ctx: &JobContext,
    cmd: &Claimed,
    jail: &JailName,
    row: &config_tree::JailRow,
    root: &str,
    previous: &[String],
    want: &[String],
) -> Result<bool, Refusal> {
    let config_root = ctx.f2b.config.config_dir.clone();
    let file = ConfigFile::JailLocal { jail: jail.clone() };
    let f = file.clone();
    let target = tokio::task::spawn_blocking(move || config_write::resolve(&config_root, &f))
        .await
        .map_err(|e| Refusal {
            code: ErrorCode::Internal,
            message: e.to_string(),
        })??;
    let current = target.current.clone().unwrap_or_default();
    // An `ignoreip` from before the jail's own file: then `%(known/ignoreip)s` keeps it.
    let local = format!("{root}/{}", jail_local_path(jail.as_str()));
    let settings: serde_json::Value = serde_json::from_str(&row.settings).unwrap_or_default();
    let inherited = settings["ignoreip"]["file"]
        .as_str()
        .is_some_and(|f| !f.is_empty() && f != local);
    let text = render(&current, jail.as_str(), previous, want, inherited);
    if text == current {
        if previous != want {
            record(ctx, jail, want).await?;
        }
        return Ok(false);
    }
    let expected = Revision::of(target.current.as_deref());
    config_write::write_file(
        ctx,
        &WriteRequest {
            file: &file,
            text: Some(&text),
            expected: &expected,
            reason: WriteReason::Allowlist,
            command: cmd,
            resumable: false,
        },
    )
    .await?;
    record(ctx, jail, want).await?;
    Ok(true)
}

/// Remembers which words BanGUI wrote into the jail's `ignoreip` (fenced).
async fn record(ctx: &JobContext, jail: &JailName, want: &[String]) -> Result<(), JobError> {
    let txn = ctx.fenced_txn().await?;
    allowlist::set_applied(&txn, jail.as_str(), want).await?;
    ctx.commit(txn).await
}

/// Every `BANGUI_ALLOWLIST_INTERVAL`: entries whose time is up are removed, and when any
/// was, the files are brought in line through an `allowlist_apply` command (the one path
/// for writes).
pub fn expiry_job(every: Duration) -> Job {
    Job::new(
        JobName::AllowlistExpiry,
        every,
        Duration::from_secs(30),
        expire,
    )
}

async fn expire(ctx: JobContext) -> Result<(), JobError> {
    let txn = ctx.fenced_txn().await?;
    let gone = allowlist::remove_expired(&txn).await?;
    if !gone.is_empty() {
        shared::store::commands::enqueue_system(
            &txn,
            &shared::commands::Command::AllowlistApply,
            "allowlist_expiry",
        )
        .await?;
    }
    ctx.commit(txn).await?;
    if !gone.is_empty() {
        tracing::info!(
            expired = gone.len(),
            entries = %gone.iter().map(|g| g.entry.as_str()).collect::<Vec<_>>().join(" "),
            "allowlist entries expired"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn entries_are_added_beside_the_admins_own_and_the_inherited_value() {
        assert_eq!(
            render("", "sshd", &[], &v(&["198.51.100.7"]), true),
            "[sshd]\nignoreip = %(known/ignoreip)s 198.51.100.7\n"
        );
        assert_eq!(
            render("", "sshd", &[], &v(&["198.51.100.7"]), false),
            "[sshd]\nignoreip = 198.51.100.7\n"
        );
        let mine = "[sshd]\n# office\nignoreip = 10.1.0.0/16 %(known/ignoreip)s\nmaxretry = 3\n";
        assert_eq!(
            render(mine, "sshd", &[], &v(&["198.51.100.7"]), false),
            "[sshd]\n# office\nignoreip = %(known/ignoreip)s 10.1.0.0/16 198.51.100.7\nmaxretry = 3\n"
        );
    }

    #[test]
    fn only_bangui_words_go_and_an_empty_line_goes_with_them() {
        let text = "[sshd]\nignoreip = %(known/ignoreip)s 10.1.0.0/16 198.51.100.7\n";
        assert_eq!(
            render(text, "sshd", &v(&["198.51.100.7"]), &[], true),
            "[sshd]\nignoreip = %(known/ignoreip)s 10.1.0.0/16\n"
        );
        let ours = "[sshd]\nignoreip = %(known/ignoreip)s 198.51.100.7\nmaxretry = 3\n";
        assert_eq!(
            render(ours, "sshd", &v(&["198.51.100.7"]), &[], true),
            "[sshd]\nmaxretry = 3\n"
        );
    }

    #[test]
    fn entries_follow_their_jails() {
        let row = |entry: &str, jails: Option<&str>| AllowRow {
            id: 1,
            entry: entry.into(),
            jails: jails.map(str::to_owned),
            note: String::new(),
            author: None,
            created_at_ms: 0,
            updated_at_ms: 0,
            expires_at_ms: None,
        };
        let entries = [
            row("192.0.2.1", None),
            row("192.0.2.2", Some(r#"["sshd"]"#)),
        ];
        assert_eq!(
            wanted(&entries, "sshd", true),
            v(&["192.0.2.1", "192.0.2.2"])
        );
        assert_eq!(wanted(&entries, "web", true), v(&["192.0.2.1"]));
        assert_eq!(wanted(&entries, "web", false), Vec::<String>::new());
        assert_eq!(wanted(&entries, "sshd", false), v(&["192.0.2.2"]));
    }
}
