//! The one way BanGUI changes fail2ban's configuration (ADR 0008, issue #18): a
//! `config_write` command writes `jail.d/<jail>.local` and nothing else.
//!
//! 1. The target is resolved and checked: inside the configuration folder after
//!    canonicalisation, a plain file or nothing (never a symlink), at most 512 KiB, UTF-8;
//!    the file on disk must still be at the revision the change was made against.
//! 2. The change is applied to a copy of the tree and `fail2ban-client -c COPY -t` must
//!    accept it; the copy also says what fail2ban should run afterwards.
//! 3. A revision row is recorded (fenced) before the file is touched.
//! 4. The file is replaced atomically (a temporary file in the same folder, fsync,
//!    rename, fsync of the folder; owner and mode kept), so a reader or a crash sees the
//!    old file or the new one, never half of one.
//! 5. fail2ban reloads the jail (`reload --if-exists`; all of it when `[DEFAULT]` is
//!    touched) and must run it as the file says (running or not, `maxretry`, log files).
//! 6. Any failure restores the previous content, reloads again, and fails the command
//!    with fail2ban's own words.
//!
//! A leader lost between 3 and the end leaves a revision `applying`; the command is run
//! again by the next leader, which finds the revision and either finishes the write (the
//! file holds the new content) or redoes it (the file holds the old one).

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use shared::commands::Command;
use shared::config_edit::{self, LocalText, Revision, RevisionState, WriteReason};
use shared::domain::JailName;
use shared::error_code::ErrorCode;
use shared::store::commands::Claimed;
use shared::store::config_revisions::{self, NewRevision};

use crate::config_tree::jails::{self, JailConfig};
use crate::fail2ban::control::ControlError;
use crate::jobs::{JobContext, JobError};

/// How long fail2ban gets to show the jail as the file says after a reload.
const VERIFY_WITHIN: Duration = Duration::from_secs(5);
/// fail2ban stopping within this time after a change is taken as the change's doing: the
/// change is rolled back (and fail2ban started again where BanGUI may).
pub const PROBATION: Duration = Duration::from_secs(60);

/// How a configuration command failed.
#[derive(Debug)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<JobError> for Refusal {
    fn from(e: JobError) -> Self {
        Refusal::new(ErrorCode::Internal, e.to_string())
    }
}

impl From<sea_orm::DbErr> for Refusal {
    fn from(e: sea_orm::DbErr) -> Self {
        JobError::from(e).into()
    }
}

/// The file a jail's changes go to, as found on disk.
#[derive(Debug, Clone)]
pub struct Target {
    /// Relative to the configuration folder (`jail.d/sshd.local`).
    pub relative: String,
    pub path: PathBuf,
    /// The content now; `None` when the file does not exist.
    pub current: Option<String>,
    /// Mode, owner and group to keep (of the file, else of its folder's usual files).
    pub mode: u32,
    pub owner: Option<(u32, u32)>,
}

/// Resolves and checks `jail.d/<jail>.local` under `root` (creating `jail.d/` when the
/// tree has none).
pub fn resolve(root: &Path, jail: &JailName) -> Result<Target, Refusal> {
    let refuse = |m: String| Refusal::new(ErrorCode::ConfigPathRefused, m);
    let root =
        std::fs::canonicalize(root).map_err(|e| refuse(format!("{}: {e}", root.display())))?;
    let relative = config_edit::jail_local_path(jail.as_str());
    let dir = root.join("jail.d");
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let real = std::fs::canonicalize(&dir)
                .map_err(|e| refuse(format!("{}: {e}", dir.display())))?;
            if !real.starts_with(&root) {
                return Err(refuse(format!(
                    "{} points outside {}",
                    dir.display(),
                    root.display()
                )));
            }
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(refuse(format!("{} is not a folder", dir.display())));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(&dir).map_err(|e| refuse(format!("{}: {e}", dir.display())))?;
        }
        Err(e) => return Err(refuse(format!("{}: {e}", dir.display()))),
    }
    let path = root.join(&relative);
    remove_leftovers(&path);
    let (current, mode, owner) = match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(refuse(format!(
                "{} is a symbolic link; BanGUI only writes plain files",
                path.display()
            )));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(refuse(format!("{} is not a plain file", path.display())));
        }
        Ok(meta) => {
            if meta.len() > config_edit::MAX_FILE_BYTES as u64 {
                return Err(refuse(format!(
                    "{} is {} bytes; BanGUI edits files of at most {} bytes",
                    path.display(),
                    meta.len(),
                    config_edit::MAX_FILE_BYTES
                )));
            }
            let bytes =
                std::fs::read(&path).map_err(|e| refuse(format!("{}: {e}", path.display())))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| refuse(format!("{} is not UTF-8 text", path.display())))?;
            (
                Some(text),
                meta.permissions().mode() & 0o7777,
                Some((meta.uid(), meta.gid())),
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A new file is made like the tree's own: readable by all, written by its owner.
            let owner = std::fs::metadata(root.join("jail.conf"))
                .ok()
                .map(|m| (m.uid(), m.gid()));
            (None, 0o644, owner)
        }
        Err(e) => return Err(refuse(format!("{}: {e}", path.display()))),
    };
    Ok(Target {
        relative,
        path,
        current,
        mode,
        owner,
    })
}

/// Temporary files of this target a killed writer left behind (the rename never
/// happened, so they were never the file).
fn remove_leftovers(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.bangui-", name.to_string_lossy());
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let n = entry.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Replaces (or, with `None`, removes) the file atomically: a temporary file in the same
/// folder, written and fsynced, given the old mode and owner, renamed over the target,
/// and the folder fsynced so the rename itself survives a crash.
pub fn write_atomic(target: &Target, content: Option<&str>) -> std::io::Result<()> {
    let dir = target
        .path
        .parent()
        .ok_or_else(|| std::io::Error::other("the file has no folder"))?;
    match content {
        None => match std::fs::remove_file(&target.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        },
        Some(text) => {
            let name = target
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.bangui-{:08x}.tmp", rand::random::<u32>()));
            let result = (|| {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&tmp)?;
                f.write_all(text.as_bytes())?;
                f.set_permissions(std::fs::Permissions::from_mode(target.mode))?;
                if let Some((uid, gid)) = target.owner {
                    let meta = f.metadata()?;
                    if (meta.uid(), meta.gid()) != (uid, gid) {
                        // Only root may give a file away; anyone else keeps their own.
                        if let Err(e) = std::os::unix::fs::fchown(&f, Some(uid), Some(gid)) {
                            tracing::debug!(error = %e, "could not keep the file's owner");
                        }
                    }
                }
                f.sync_all()?;
                std::fs::rename(&tmp, &target.path)
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
    }
    std::fs::File::open(dir)?.sync_all()
}

/// A copy of the tree with `jail.d/<jail>.local` replaced by `text`: `jail.d/` copied,
/// every other entry a symbolic link to the original. Removed on drop.
struct TreeCopy {
    dir: PathBuf,
}

impl TreeCopy {
    fn new(root: &Path, target: &Target, text: &str) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "bangui-config-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir(&dir)?;
        let copy = Self { dir };
        let root = std::fs::canonicalize(root)?;
        for entry in std::fs::read_dir(&root)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == "jail.d" {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), copy.dir.join(&name))?;
        }
        let jail_d = copy.dir.join("jail.d");
        std::fs::create_dir(&jail_d)?;
        if let Ok(entries) = std::fs::read_dir(root.join("jail.d")) {
            for entry in entries.flatten() {
                if entry.path().is_file() {
                    std::fs::copy(entry.path(), jail_d.join(entry.file_name()))?;
                }
            }
        }
        std::fs::write(copy.dir.join(&target.relative), text)?;
        Ok(copy)
    }
}

impl Drop for TreeCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What fail2ban said, in its own words without its log prefixes: the `ERROR` lines when
/// there are any; else its verdict (`OK: …`) followed by its warnings; else the last
/// lines it printed.
pub fn fail2ban_words(output: &str) -> String {
    let messages = |level: &str| -> Vec<String> {
        output
            .lines()
            .filter_map(|l| l.split_once(level).map(|(_, m)| m.trim().to_owned()))
            .filter(|m| !m.is_empty())
            .collect()
    };
    let errors = messages(" ERROR ");
    if !errors.is_empty() {
        return errors.join("\n");
    }
    let mut said: Vec<String> = output
        .lines()
        .filter(|l| l.starts_with("OK:"))
        .map(str::to_owned)
        .collect();
    if !said.is_empty() {
        let mut warnings = messages(" WARNING ");
        warnings.dedup();
        said.extend(
            warnings
                .into_iter()
                .take(20)
                .map(|w| format!("warning: {w}")),
        );
        return said.join("\n");
    }
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

fn control_words(e: &ControlError) -> String {
    match e {
        ControlError::Failed { output, .. } => fail2ban_words(output),
        other => other.to_string(),
    }
}

/// The outcome of `-t` on a copy with the change, and what fail2ban should run afterwards.
struct Tested {
    output: String,
    /// The jail as the changed tree describes it (`None`: it would no longer exist).
    expected: Option<JailConfig>,
    /// Whether the change touches `[DEFAULT]` (a full reload is needed).
    touches_default: bool,
}

async fn test_change(
    ctx: &JobContext,
    target: &Target,
    jail: &JailName,
    text: &str,
) -> Result<Tested, Refusal> {
    let root = ctx.f2b.config.config_dir.clone();
    let copy = {
        let (root, target, text) = (root.clone(), target.clone(), text.to_owned());
        tokio::task::spawn_blocking(move || TreeCopy::new(&root, &target, &text))
            .await
            .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?
            .map_err(|e| Refusal::new(ErrorCode::Internal, format!("copying the tree: {e}")))?
    };
    let output = ctx
        .f2b
        .program
        .test_tree(&copy.dir)
        .await
        .map_err(|e| Refusal::new(ErrorCode::ConfigInvalid, control_words(&e)))?;
    let version = shared::store::snapshots::status(&ctx.db)
        .await?
        .and_then(|s| s.version)
        .unwrap_or_default();
    let dir = copy.dir.clone();
    let name = jail.as_str().to_owned();
    let expected = tokio::task::spawn_blocking(move || {
        jails::read(&dir, &version).map(|all| all.into_iter().find(|j| j.name == name))
    })
    .await
    .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?
    .map_err(|e| Refusal::new(ErrorCode::ConfigInvalid, e.to_string()))?;
    drop(copy);
    let touches_default = default_section(target.current.as_deref()) != default_section(Some(text));
    Ok(Tested {
        output: fail2ban_words(&output),
        expected,
        touches_default,
    })
}

/// The `[DEFAULT]` lines of a text, to tell whether a change touches every jail.
fn default_section(text: Option<&str>) -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.unwrap_or("").lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            inside = t.eq_ignore_ascii_case("[DEFAULT]");
        } else if inside && !t.is_empty() && !t.starts_with('#') && !t.starts_with(';') {
            out.push(t.to_owned());
        }
    }
    out
}

/// `config_test`: `-t` on a copy with the change; nothing is written.
pub async fn test(
    ctx: &JobContext,
    jail: &JailName,
    text: &LocalText,
) -> Result<serde_json::Value, Refusal> {
    let root = ctx.f2b.config.config_dir.clone();
    let j = jail.clone();
    let target = tokio::task::spawn_blocking(move || resolve(&root, &j))
        .await
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))??;
    let tested = test_change(ctx, &target, jail, text.as_str()).await?;
    Ok(json!({
        "ok": true,
        "output": tested.output,
        "path": target.relative,
        "enabled": tested.expected.as_ref().is_some_and(|j| j.enabled),
    }))
}

/// `config_write`: the whole path of the module's description.
pub async fn write(
    ctx: &JobContext,
    cmd: &Claimed,
    command: &Command,
) -> Result<serde_json::Value, Refusal> {
    let Command::ConfigWrite {
        jail,
        text,
        expected_revision,
        reason,
        ..
    } = command
    else {
        return Err(Refusal::new(
            ErrorCode::InvalidCommand,
            "not a config write",
        ));
    };
    let _writer = ctx.f2b.config_writer.lock().await;
    write_file(
        ctx,
        &WriteRequest {
            jail,
            text: text.as_str(),
            expected: expected_revision,
            reason: *reason,
            command: cmd,
            resumable: true,
        },
    )
    .await
}

/// One file to write through the path, for a command.
pub struct WriteRequest<'a> {
    pub jail: &'a JailName,
    pub text: &'a str,
    /// The revision the file must still be at.
    pub expected: &'a Revision,
    pub reason: WriteReason,
    pub command: &'a Claimed,
    /// Whether a revision this command recorded earlier (a previous leader's) is finished
    /// or redone: true for a command that writes one file.
    pub resumable: bool,
}

/// Writes one file through the whole path; the caller holds `config_writer`.
pub async fn write_file(
    ctx: &JobContext,
    req: &WriteRequest<'_>,
) -> Result<serde_json::Value, Refusal> {
    let WriteRequest {
        jail,
        text: new,
        expected: expected_revision,
        reason,
        command: cmd,
        resumable,
    } = *req;
    let root = ctx.f2b.config.config_dir.clone();
    let j = jail.clone();
    let target = tokio::task::spawn_blocking(move || resolve(&root, &j))
        .await
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))??;
    let on_disk = Revision::of(target.current.as_deref());
    // A previous leader may have got this command part of the way.
    let earlier = if resumable {
        config_revisions::by_command(&ctx.db, cmd.id).await?
    } else {
        None
    };
    let (revision_id, previous) = match earlier {
        Some(rev) if rev.state == RevisionState::Applied => {
            return Ok(json!({ "revision_id": rev.id, "path": rev.path, "resumed": true }));
        }
        Some(rev) if rev.state == RevisionState::RolledBack => {
            return Err(Refusal::new(
                ErrorCode::ConfigRolledBack,
                rev.error.unwrap_or_else(|| "rolled back".into()),
            ));
        }
        Some(rev) if on_disk == Revision::of(rev.content.as_deref()) => {
            tracing::warn!(
                revision = rev.id,
                "finishing a write a previous leader started"
            );
            let tested = test_change(ctx, &target, jail, new).await;
            let previous = rev.previous_content.clone();
            return match tested {
                Ok(tested) => {
                    apply(
                        ctx,
                        jail,
                        &target,
                        rev.id,
                        previous.as_deref(),
                        tested,
                        true,
                    )
                    .await
                }
                Err(refusal) => {
                    rollback(
                        ctx,
                        jail,
                        &target,
                        rev.id,
                        previous.as_deref(),
                        &refusal.message,
                    )
                    .await
                }
            };
        }
        Some(rev) if on_disk == Revision::of(rev.previous_content.as_deref()) => {
            (Some(rev.id), rev.previous_content)
        }
        _ => {
            if &on_disk != expected_revision {
                return Err(Refusal::new(
                    ErrorCode::ConfigChanged,
                    format!(
                        "{} changed since revision {expected_revision} (it is now at {on_disk}); \
                         reload it and make the change again",
                        target.relative
                    ),
                ));
            }
            (None, target.current.clone())
        }
    };
    if previous.as_deref() == Some(new) || (previous.is_none() && new.is_empty()) {
        return Ok(json!({ "changed": false, "path": target.relative }));
    }
    let tested = test_change(ctx, &target, jail, new).await?;
    let revision_id = match revision_id {
        Some(id) => id,
        None => {
            ctx.ensure_leading()?;
            let txn = ctx.fenced_txn().await?;
            let id = config_revisions::insert(
                &txn,
                &NewRevision {
                    path: &target.relative,
                    jail: Some(jail.as_str()),
                    reason,
                    command_id: Some(cmd.id),
                    previous_content: previous.as_deref(),
                    content: Some(new),
                    author: cmd.requested_by.as_deref(),
                    request_id: cmd.request_id.as_deref(),
                },
            )
            .await?;
            ctx.commit(txn).await?;
            id
        }
    };
    ctx.ensure_leading()?;
    let t = target.clone();
    let content = new.to_owned();
    tokio::task::spawn_blocking(move || write_atomic(&t, Some(&content)))
        .await
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| {
            Refusal::new(
                ErrorCode::ConfigPathRefused,
                format!("{}: {e}", target.path.display()),
            )
        })?;
    tracing::info!(revision = revision_id, path = %target.relative, reason = %reason, "configuration file written");
    apply(
        ctx,
        jail,
        &target,
        revision_id,
        previous.as_deref(),
        tested,
        false,
    )
    .await
}

/// Reloads and verifies a written file; rolls it back when fail2ban does not run it.
async fn apply(
    ctx: &JobContext,
    jail: &JailName,
    target: &Target,
    revision_id: i64,
    previous: Option<&str>,
    tested: Tested,
    resumed: bool,
) -> Result<serde_json::Value, Refusal> {
    let program = &ctx.f2b.program;
    let reloaded = if tested.touches_default {
        program.reload_all().await
    } else {
        program.reload_jail(jail).await
    };
    let outcome = match reloaded {
        Ok(_) => verify(ctx, jail, tested.expected.as_ref()).await,
        Err(e) => Err(control_words(&e)),
    };
    match outcome {
        Ok(running) => {
            let txn = ctx.fenced_txn().await?;
            config_revisions::settle(&txn, revision_id, RevisionState::Applied, None, None).await?;
            ctx.commit(txn).await?;
            Ok(json!({
                "revision_id": revision_id,
                "path": target.relative,
                "running": running,
                "output": tested.output,
                "resumed": resumed,
            }))
        }
        Err(why) => rollback(ctx, jail, target, revision_id, previous, &why).await,
    }
}

/// Restores the previous content, reloads, and fails with fail2ban's words.
async fn rollback(
    ctx: &JobContext,
    jail: &JailName,
    target: &Target,
    revision_id: i64,
    previous: Option<&str>,
    why: &str,
) -> Result<serde_json::Value, Refusal> {
    tracing::warn!(revision = revision_id, path = %target.relative, error = %why, "rolling the configuration back");
    let t = target.clone();
    let old = previous.map(str::to_owned);
    let restored = tokio::task::spawn_blocking(move || write_atomic(&t, old.as_deref()))
        .await
        .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
    let mut message = why.to_owned();
    if let Err(e) = restored {
        message.push_str(&format!(
            "\nBanGUI could not restore the previous content of {}: {e}",
            target.relative
        ));
    } else {
        let reload = if default_section(previous) != default_section(target.current.as_deref()) {
            ctx.f2b.program.reload_all().await
        } else {
            ctx.f2b.program.reload_jail(jail).await
        };
        if let Err(e) = reload {
            message.push_str(&format!(
                "\nThe previous content is back; fail2ban did not reload it yet: {}",
                control_words(&e)
            ));
        }
    }
    let alert = if ctx.f2b.client.ping().await.is_err() {
        Some(format!(
            "fail2ban stopped answering after a change to {}; BanGUI restored the previous file{}",
            target.relative,
            restart(ctx).await
        ))
    } else {
        None
    };
    let txn = ctx.fenced_txn().await?;
    config_revisions::settle(
        &txn,
        revision_id,
        RevisionState::RolledBack,
        Some(&message),
        alert.as_deref(),
    )
    .await?;
    ctx.commit(txn).await?;
    Err(Refusal::new(ErrorCode::ConfigRolledBack, message))
}

/// Starts fail2ban again where BanGUI may, and says what came of it (for an alert).
async fn restart(ctx: &JobContext) -> String {
    if !ctx.f2b.config.may_start {
        return " (it reads that file when it is started again)".into();
    }
    match ctx.f2b.program.start_server().await {
        Ok(_) => " and started fail2ban again".into(),
        Err(e) => format!("; starting fail2ban failed: {}", control_words(&e)),
    }
}

/// fail2ban stopped answering: if a change was applied within [`PROBATION`], it is the
/// likely cause. Its file is restored (when nobody changed it since), the revision rolled
/// back with an alert for the UI, and fail2ban started again where BanGUI may.
pub async fn after_outage(ctx: &JobContext) -> Result<(), Refusal> {
    let within = i64::try_from(PROBATION.as_millis()).unwrap_or(i64::MAX);
    let Some(rev) = config_revisions::newest_if_recently_applied(&ctx.db, within).await? else {
        return Ok(());
    };
    let Some(jail) = rev.jail.as_deref().and_then(|j| JailName::parse(j).ok()) else {
        return Ok(());
    };
    {
        let _writer = ctx.f2b.config_writer.lock().await;
        let root = ctx.f2b.config.config_dir.clone();
        let target = tokio::task::spawn_blocking(move || resolve(&root, &jail))
            .await
            .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))??;
        if Revision::of(target.current.as_deref()) != Revision::of(rev.content.as_deref()) {
            tracing::info!(
                revision = rev.id,
                "fail2ban stopped after a change, but the file changed since; left as it is"
            );
            return Ok(());
        }
        ctx.ensure_leading()?;
        let t = target.clone();
        let old = rev.previous_content.clone();
        tokio::task::spawn_blocking(move || write_atomic(&t, old.as_deref()))
            .await
            .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?
            .map_err(|e| Refusal::new(ErrorCode::ConfigPathRefused, e.to_string()))?;
        let alert = format!(
            "fail2ban stopped answering within {} s of a change to {}; BanGUI restored the previous file{}",
            PROBATION.as_secs(),
            target.relative,
            restart(ctx).await
        );
        tracing::warn!(revision = rev.id, %alert, "configuration change rolled back");
        let txn = ctx.fenced_txn().await?;
        config_revisions::settle(
            &txn,
            rev.id,
            RevisionState::RolledBack,
            Some("fail2ban stopped answering after this change"),
            Some(&alert),
        )
        .await?;
        ctx.commit(txn).await?;
    }
    crate::jobs::config_sync::refresh(ctx).await?;
    Ok(())
}

/// Waits (bounded) until fail2ban runs the jail as the file says: running when enabled
/// (with the file's `maxretry` and every log file it names literally), gone when not.
/// Returns whether it runs.
async fn verify(
    ctx: &JobContext,
    jail: &JailName,
    expected: Option<&JailConfig>,
) -> Result<bool, String> {
    let should_run = expected.is_some_and(|j| j.enabled);
    let until = std::time::Instant::now() + VERIFY_WITHIN;
    loop {
        match check(ctx, jail, expected, should_run).await {
            Ok(()) => return Ok(should_run),
            Err(why) if std::time::Instant::now() >= until => return Err(why),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn check(
    ctx: &JobContext,
    jail: &JailName,
    expected: Option<&JailConfig>,
    should_run: bool,
) -> Result<(), String> {
    let client = &ctx.f2b.client;
    let running = client
        .jails()
        .await
        .map_err(|e| format!("fail2ban did not answer after the reload: {e}"))?
        .contains(jail);
    if running != should_run {
        return Err(if should_run {
            format!("fail2ban did not start {jail} (see fail2ban's log for why)")
        } else {
            format!("fail2ban still runs {jail}")
        });
    }
    let Some(config) = expected.filter(|_| should_run) else {
        return Ok(());
    };
    if let Some(want) = config.settings.get("maxretry") {
        let got = client
            .get(jail, "maxretry")
            .await
            .map_err(|e| e.to_string())?
            .as_int();
        if got.map(|n| n.to_string()).as_deref() != Some(want.value.as_str()) {
            return Err(format!(
                "{jail} runs with maxretry {got:?}, the file says {}",
                want.value
            ));
        }
    }
    if let Some(logpath) = config.settings.get("logpath") {
        let got = client
            .get(jail, "logpath")
            .await
            .map_err(|e| e.to_string())?;
        let got: Vec<&str> = got
            .as_seq()
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        for line in logpath.value.lines() {
            // `path [head|tail]`; globs are expanded by fail2ban and not compared.
            let path = line.split_whitespace().next().unwrap_or("");
            if path.is_empty() || path.contains(['*', '?', '[']) {
                continue;
            }
            if !got.contains(&path) {
                return Err(format!("{jail} does not watch {path}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail2bans_words_are_its_errors_without_the_log_prefix() {
        let out = "2026-12-03 09:27:00,493 fail2ban.configreader   [11228]: WARNING 'syslogsocket' not defined\n\
                   2026-12-03 09:27:00,656 fail2ban                [11231]: ERROR   Failed during configuration: Have not found any log file for web-auth jail\n\
                   2026-12-03 09:27:00,656 fail2ban                [11231]: ERROR   ERROR: test configuration failed\n";
        assert_eq!(
            fail2ban_words(out),
            "Failed during configuration: Have not found any log file for web-auth jail\nERROR: test configuration failed"
        );
        assert_eq!(
            fail2ban_words("OK: configuration test is successful"),
            "OK: configuration test is successful"
        );
        let ok = "OK: configuration test is successful\n\
                  2026-12-03 09:55:45,106 fail2ban.jailreader     [14205]: WARNING No filter set for jail web-auth\n";
        assert_eq!(
            fail2ban_words(ok),
            "OK: configuration test is successful\nwarning: No filter set for jail web-auth"
        );
    }

    #[test]
    fn a_change_to_default_is_told_apart() {
        let a = "[DEFAULT]\nbantime = 1h\n[sshd]\nenabled = true\n";
        let b = "[DEFAULT]\nbantime = 1h\n# note\n[sshd]\nenabled = false\n";
        assert_eq!(default_section(Some(a)), default_section(Some(b)));
        assert_ne!(default_section(Some(a)), default_section(None));
    }

    #[test]
    fn the_target_is_a_plain_file_inside_the_tree() {
        let root =
            std::env::temp_dir().join(format!("bangui-resolve-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(&root).expect("root");
        std::fs::write(root.join("jail.conf"), "[DEFAULT]\n").expect("jail.conf");
        let sshd = JailName::parse("sshd").expect("jail");
        let t = resolve(&root, &sshd).expect("a new file");
        assert_eq!(t.relative, "jail.d/sshd.local");
        assert!(t.current.is_none());
        write_atomic(&t, Some("[sshd]\nenabled = true\n")).expect("write");
        let t = resolve(&root, &sshd).expect("an existing file");
        assert_eq!(t.current.as_deref(), Some("[sshd]\nenabled = true\n"));
        assert_eq!(t.mode, 0o644);
        // A symlink is refused, wherever it points.
        let other = JailName::parse("other").expect("jail");
        std::os::unix::fs::symlink("/etc/passwd", root.join("jail.d/other.local")).expect("link");
        let e = resolve(&root, &other).expect_err("a symlink");
        assert_eq!(e.code, ErrorCode::ConfigPathRefused);
        // Too large to edit.
        let big = JailName::parse("big").expect("jail");
        std::fs::write(
            root.join("jail.d/big.local"),
            vec![b'#'; config_edit::MAX_FILE_BYTES + 1],
        )
        .expect("big");
        assert_eq!(
            resolve(&root, &big).expect_err("too big").code,
            ErrorCode::ConfigPathRefused
        );
        // Removing restores "no file".
        write_atomic(&t, None).expect("remove");
        assert!(resolve(&root, &sshd).expect("gone").current.is_none());
        let leftovers: Vec<_> = std::fs::read_dir(root.join("jail.d"))
            .expect("dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&root).expect("clean up");
    }
}
