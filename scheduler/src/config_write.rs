//! The one way BanGUI changes fail2ban's configuration (ADR 0008, issues #18 and #19): a
//! command writes one of the files [`ConfigFile`] names (`jail.d/<jail>.local`,
//! `filter.d/<name>.local`, the `.conf` of a filter or action BanGUI creates,
//! `fail2ban.local`) and nothing else.
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
//! 5. fail2ban takes the change and must run as the file says: a jail's file reloads the
//!    jail (`reload --if-exists`; all of it when `[DEFAULT]` is touched), which must run
//!    as written (running or not, `maxretry`, log files); a filter or action reloads the
//!    enabled jails that use it, which must all run again (a filter's regexes are
//!    compiled by fail2ban's own code on the copy first: `-t` does not compile them, and a
//!    reload with one that does not compile removes the jail); `fail2ban.local` sets each
//!    setting it changes over the socket and reads it back.
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
use shared::config_edit::{
    self, ConfigFile, DefKind, LocalText, Revision, RevisionState, WriteReason, referenced,
    referenced_specs,
};
use shared::domain::{FilterName, JailName};
use shared::error_code::ErrorCode;
use shared::store::commands::Claimed;
use shared::store::config_revisions::{self, NewRevision};

use crate::config_tree::defs;
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
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
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
    pub file: ConfigFile,
    /// Relative to the configuration folder (`jail.d/sshd.local`).
    pub relative: String,
    pub path: PathBuf,
    /// The content now; `None` when the file does not exist.
    pub current: Option<String>,
    /// Mode, owner and group to keep (of the file, else of its folder's usual files).
    pub mode: u32,
    pub owner: Option<(u32, u32)>,
}

/// Resolves and checks a file BanGUI writes under `root` (creating its folder, such as
/// `jail.d/`, when the tree has none).
pub fn resolve(root: &Path, file: &ConfigFile) -> Result<Target, Refusal> {
    let refuse = |m: String| Refusal::new(ErrorCode::ConfigPathRefused, m);
    let root =
        std::fs::canonicalize(root).map_err(|e| refuse(format!("{}: {e}", root.display())))?;
    let relative = file.relative();
    if !file.folder().is_empty() {
        let dir = root.join(file.folder());
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
        file: file.clone(),
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

/// A copy of the tree with the target's file replaced by `text` (removed for `None`): the
/// target's folder copied, every other entry a symbolic link to the original. Removed on
/// drop.
struct TreeCopy {
    dir: PathBuf,
}

impl TreeCopy {
    fn new(root: &Path, target: &Target, text: Option<&str>) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "bangui-config-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir(&dir)?;
        let copy = Self { dir };
        let root = std::fs::canonicalize(root)?;
        let folder = target.file.folder();
        // The entry of the root that is copied rather than linked.
        let own = if folder.is_empty() {
            target.relative.as_str()
        } else {
            folder
        };
        for entry in std::fs::read_dir(&root)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == own {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), copy.dir.join(&name))?;
        }
        if !folder.is_empty() {
            let into = copy.dir.join(folder);
            std::fs::create_dir(&into)?;
            if let Ok(entries) = std::fs::read_dir(root.join(folder)) {
                for entry in entries.flatten() {
                    if entry.path().is_file() {
                        std::fs::copy(entry.path(), into.join(entry.file_name()))?;
                    }
                }
            }
        }
        let path = copy.dir.join(&target.relative);
        match text {
            Some(text) => std::fs::write(path, text)?,
            None => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            },
        }
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

/// What fail2ban must do after a write, and what it must then show.
enum Effect {
    /// A jail's own file: the jail reloaded (all of fail2ban when `[DEFAULT]` changed),
    /// then running as the file says (`None`: it would no longer exist).
    Jail {
        jail: JailName,
        expected: Option<JailConfig>,
        touches_default: bool,
    },
    /// A filter or action: the enabled jails that use it reloaded; each must run again.
    Users(Vec<JailName>),
    /// `fail2ban.local`: the settings whose effective value changes, set over the socket
    /// and read back.
    Server(Vec<(String, String)>),
}

/// The outcome of `-t` on a copy with the change, and what fail2ban should do afterwards.
struct Tested {
    output: String,
    effect: Effect,
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(ErrorCode::Internal, e.to_string())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(f).await.map_err(internal)
}

/// The enabled jails of `all` whose `filter` (or `action`) names `name`, with the specs
/// they name it by (`sshd[mode=aggressive]`).
fn users_of(all: &[JailConfig], kind: DefKind, name: &str) -> Vec<(JailName, Vec<String>)> {
    all.iter()
        .filter(|j| j.enabled)
        .filter_map(|j| {
            let value = j.settings.get(kind.as_str())?.value.as_str();
            let specs: Vec<String> = referenced_specs(value)
                .filter(|spec| referenced(spec).any(|n| n == name))
                .map(str::to_owned)
                .collect();
            let jail = JailName::parse(&j.name).ok()?;
            (!specs.is_empty()).then_some((jail, specs))
        })
        .collect()
}

async fn test_change(
    ctx: &JobContext,
    target: &Target,
    text: Option<&str>,
) -> Result<Tested, Refusal> {
    let root = ctx.f2b.config.config_dir.clone();
    let copy = {
        let (root, target, text) = (root.clone(), target.clone(), text.map(str::to_owned));
        blocking(move || TreeCopy::new(&root, &target, text.as_deref()))
            .await?
            .map_err(|e| internal(format!("copying the tree: {e}")))?
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
    let all = blocking(move || jails::read(&dir, &version))
        .await?
        .map_err(|e| Refusal::new(ErrorCode::ConfigInvalid, e.to_string()))?;
    let effect = match &target.file {
        ConfigFile::JailLocal { jail } => Effect::Jail {
            jail: jail.clone(),
            expected: all.into_iter().find(|j| j.name == jail.as_str()),
            touches_default: default_section(target.current.as_deref()) != default_section(text),
        },
        ConfigFile::BlocklistJail => {
            let jail = ctx.f2b.config.blocklist_jail.clone();
            Effect::Jail {
                expected: all.into_iter().find(|j| j.name == jail.as_str()),
                jail,
                touches_default: default_section(target.current.as_deref())
                    != default_section(text),
            }
        }
        ConfigFile::DefLocal { kind, name } | ConfigFile::DefConf { kind, name } => {
            let users = users_of(&all, *kind, name.as_str());
            if *kind == DefKind::Filter && text.is_some() {
                let mut specs: Vec<String> = users.iter().flat_map(|(_, s)| s.clone()).collect();
                specs.sort();
                specs.dedup();
                if specs.is_empty() {
                    specs.push(name.to_string());
                }
                for spec in &specs {
                    compiles(ctx, &copy.dir, &root, spec).await?;
                }
            }
            Effect::Users(users.into_iter().map(|(j, _)| j).collect())
        }
        ConfigFile::ServerLocal => {
            let (before, after) = {
                let (root, dir) = (root.clone(), copy.dir.clone());
                blocking(move || (defs::server_values(&root), defs::server_values(&dir))).await?
            };
            Effect::Server(
                after
                    .into_iter()
                    .filter(|(k, v)| before.get(k) != Some(v))
                    .collect(),
            )
        }
    };
    drop(copy);
    Ok(Tested {
        output: fail2ban_words(&output),
        effect,
    })
}

/// The changed filter loads and its regexes compile in fail2ban's own code. A filter that
/// fails the same way in the tree as it is (it needs what only a jail gives) is not this
/// change's doing and is let through; fail2ban's reload is the judge then.
async fn compiles(ctx: &JobContext, copy: &Path, root: &Path, spec: &str) -> Result<(), Refusal> {
    let Err(refused) = crate::regex_test::load_filter(ctx, copy, spec).await else {
        return Ok(());
    };
    if refused.code == ErrorCode::RegexTimeout {
        return Err(refused);
    }
    if crate::regex_test::load_filter(ctx, root, spec)
        .await
        .is_ok()
    {
        return Err(Refusal::new(
            ErrorCode::ConfigInvalid,
            format!(
                "fail2ban cannot load the filter {spec} with this change: {}",
                refused.message
            ),
        ));
    }
    tracing::info!(
        filter = spec,
        "the filter does not load on its own before the change either; left to the reload"
    );
    Ok(())
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

async fn resolve_in_tree(ctx: &JobContext, file: &ConfigFile) -> Result<Target, Refusal> {
    let root = ctx.f2b.config.config_dir.clone();
    let file = file.clone();
    blocking(move || resolve(&root, &file)).await?
}

/// `config_test`: `-t` on a copy with the change; nothing is written.
pub async fn test(
    ctx: &JobContext,
    jail: &JailName,
    text: &LocalText,
) -> Result<serde_json::Value, Refusal> {
    let target = resolve_in_tree(ctx, &ConfigFile::JailLocal { jail: jail.clone() }).await?;
    let tested = test_change(ctx, &target, Some(text.as_str())).await?;
    let enabled = match &tested.effect {
        Effect::Jail { expected, .. } => expected.as_ref().is_some_and(|j| j.enabled),
        _ => false,
    };
    Ok(json!({
        "ok": true,
        "output": tested.output,
        "path": target.relative,
        "enabled": enabled,
    }))
}

/// `config_write` and `file_write`: the whole path of the module's description.
pub async fn write(
    ctx: &JobContext,
    cmd: &Claimed,
    command: &Command,
) -> Result<serde_json::Value, Refusal> {
    let (file, text, expected, reason) = match command {
        Command::ConfigWrite {
            jail,
            text,
            expected_revision,
            reason,
            ..
        } => (
            ConfigFile::JailLocal { jail: jail.clone() },
            text,
            expected_revision,
            *reason,
        ),
        Command::FileWrite {
            file,
            text,
            expected_revision,
            reason,
            ..
        } => (file.clone(), text, expected_revision, *reason),
        _ => {
            return Err(Refusal::new(
                ErrorCode::InvalidCommand,
                "not a configuration write",
            ));
        }
    };
    let _writer = ctx.f2b.config_writer.lock().await;
    write_file(
        ctx,
        &WriteRequest {
            file: &file,
            text: Some(text.as_str()),
            expected,
            reason,
            command: cmd,
            resumable: true,
        },
    )
    .await
}

/// `def_delete`: removes a filter or action BanGUI created (its `.local`, then its
/// `.conf`), when no jail of the configuration names it, enabled or not.
pub async fn delete_def(
    ctx: &JobContext,
    cmd: &Claimed,
    kind: DefKind,
    name: &FilterName,
) -> Result<serde_json::Value, Refusal> {
    let _writer = ctx.f2b.config_writer.lock().await;
    let conf = ConfigFile::DefConf {
        kind,
        name: name.clone(),
    };
    let local = ConfigFile::DefLocal {
        kind,
        name: name.clone(),
    };
    // Run again after a lost leader removed both files: it is done.
    if resolve_in_tree(ctx, &conf).await?.current.is_none()
        && resolve_in_tree(ctx, &local).await?.current.is_none()
    {
        return Ok(json!({ "removed": [] }));
    }
    if !config_revisions::created_by_bangui(&ctx.db, &conf.relative()).await? {
        return Err(Refusal::new(
            ErrorCode::ConfigNotOwned,
            format!(
                "BanGUI did not create {}; it deletes only the {kind}s it created",
                conf.relative()
            ),
        ));
    }
    let version = shared::store::snapshots::status(&ctx.db)
        .await?
        .and_then(|s| s.version)
        .unwrap_or_default();
    let root = ctx.f2b.config.config_dir.clone();
    let all = blocking(move || jails::read(&root, &version))
        .await?
        .map_err(|e| Refusal::new(ErrorCode::ConfigInvalid, e.to_string()))?;
    let users: Vec<&str> = all
        .iter()
        .filter(|j| {
            j.settings
                .get(kind.as_str())
                .is_some_and(|s| referenced(&s.value).any(|n| n == name.as_str()))
        })
        .map(|j| j.name.as_str())
        .collect();
    if !users.is_empty() {
        return Err(Refusal::new(
            ErrorCode::ConfigInUse,
            format!("{kind} {name} is used by {}", users.join(", ")),
        ));
    }
    let mut removed = Vec::new();
    for file in [local, conf] {
        let target = resolve_in_tree(ctx, &file).await?;
        if target.current.is_none() {
            continue;
        }
        let expected = Revision::of(target.current.as_deref());
        write_file(
            ctx,
            &WriteRequest {
                file: &file,
                text: None,
                expected: &expected,
                reason: WriteReason::Delete,
                command: cmd,
                resumable: false,
            },
        )
        .await?;
        removed.push(target.relative);
    }
    Ok(json!({ "removed": removed }))
}

/// One file to write through the path, for a command.
pub struct WriteRequest<'a> {
    pub file: &'a ConfigFile,
    /// The new content; `None` removes the file.
    pub text: Option<&'a str>,
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
        file,
        text: new,
        expected: expected_revision,
        reason,
        command: cmd,
        resumable,
    } = *req;
    let target = resolve_in_tree(ctx, file).await?;
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
        Some(rev) if target.current == rev.content => {
            tracing::warn!(
                revision = rev.id,
                "finishing a write a previous leader started"
            );
            let previous = rev.previous_content.clone();
            return match test_change(ctx, &target, new).await {
                Ok(tested) => apply(ctx, &target, rev.id, previous.as_deref(), tested, true).await,
                Err(refusal) => {
                    let undo = undo_of(ctx, &target).await;
                    rollback(
                        ctx,
                        &target,
                        rev.id,
                        previous.as_deref(),
                        &undo,
                        &refusal.message,
                    )
                    .await
                }
            };
        }
        Some(rev) if target.current == rev.previous_content => (Some(rev.id), rev.previous_content),
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
    if previous.as_deref() == new || (previous.is_none() && new == Some("")) {
        return Ok(json!({ "changed": false, "path": target.relative }));
    }
    let tested = test_change(ctx, &target, new).await?;
    let revision_id = match revision_id {
        Some(id) => id,
        None => {
            ctx.ensure_leading()?;
            let txn = ctx.fenced_txn().await?;
            let id = config_revisions::insert(
                &txn,
                &NewRevision {
                    path: &target.relative,
                    jail: file.jail().map(JailName::as_str),
                    reason,
                    command_id: Some(cmd.id),
                    previous_content: previous.as_deref(),
                    content: new,
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
    let content = new.map(str::to_owned);
    blocking(move || write_atomic(&t, content.as_deref()))
        .await?
        .map_err(|e| {
            Refusal::new(
                ErrorCode::ConfigPathRefused,
                format!("{}: {e}", target.path.display()),
            )
        })?;
    tracing::info!(revision = revision_id, path = %target.relative, reason = %reason, "configuration file written");
    apply(
        ctx,
        &target,
        revision_id,
        previous.as_deref(),
        tested,
        false,
    )
    .await
}

/// What undoes a write of `target` once its previous content is back: the effect the
/// file has, so the same jails are reloaded or the settings set again.
async fn undo_of(ctx: &JobContext, target: &Target) -> Effect {
    match &target.file {
        ConfigFile::JailLocal { jail } => Effect::Jail {
            jail: jail.clone(),
            expected: None,
            touches_default: true,
        },
        ConfigFile::DefLocal { kind, name } | ConfigFile::DefConf { kind, name } => {
            let version = shared::store::snapshots::status(&ctx.db)
                .await
                .ok()
                .flatten()
                .and_then(|s| s.version)
                .unwrap_or_default();
            let root = ctx.f2b.config.config_dir.clone();
            let all = blocking(move || jails::read(&root, &version).unwrap_or_default())
                .await
                .unwrap_or_default();
            Effect::Users(
                users_of(&all, *kind, name.as_str())
                    .into_iter()
                    .map(|(j, _)| j)
                    .collect(),
            )
        }
        ConfigFile::ServerLocal => Effect::Server(Vec::new()),
        ConfigFile::BlocklistJail => Effect::Jail {
            jail: ctx.f2b.config.blocklist_jail.clone(),
            expected: None,
            touches_default: true,
        },
    }
}

/// Has fail2ban take a written file and checks it runs as written; rolls the file back
/// when it does not.
async fn apply(
    ctx: &JobContext,
    target: &Target,
    revision_id: i64,
    previous: Option<&str>,
    tested: Tested,
    resumed: bool,
) -> Result<serde_json::Value, Refusal> {
    let program = &ctx.f2b.program;
    let outcome: Result<serde_json::Value, String> = match &tested.effect {
        Effect::Jail {
            jail,
            expected,
            touches_default,
        } => {
            let reloaded = if *touches_default {
                program.reload_all().await
            } else {
                program.reload_jail(jail).await
            };
            match reloaded {
                Ok(_) => verify(ctx, jail, expected.as_ref())
                    .await
                    .map(|running| json!({ "running": running })),
                Err(e) => Err(control_words(&e)),
            }
        }
        Effect::Users(jails) => reload_users(ctx, jails)
            .await
            .map(|()| json!({ "reloaded": jails })),
        Effect::Server(settings) => set_server(ctx, settings)
            .await
            .map(|()| json!({ "settings": settings.iter().cloned().collect::<std::collections::BTreeMap<_, _>>() })),
    };
    match outcome {
        Ok(extra) => {
            let txn = ctx.fenced_txn().await?;
            config_revisions::settle(&txn, revision_id, RevisionState::Applied, None, None).await?;
            ctx.commit(txn).await?;
            let mut out = json!({
                "revision_id": revision_id,
                "path": target.relative,
                "output": tested.output,
                "resumed": resumed,
            });
            if let (Some(map), serde_json::Value::Object(extra)) = (out.as_object_mut(), extra) {
                map.extend(extra);
            }
            Ok(out)
        }
        Err(why) => {
            let undo = match tested.effect {
                Effect::Jail { jail, .. } => Effect::Jail {
                    jail,
                    expected: None,
                    touches_default: default_section(previous)
                        != default_section(target.current.as_deref()),
                },
                other => other,
            };
            rollback(ctx, target, revision_id, previous, &undo, &why).await
        }
    }
}

/// Reloads each jail and waits (bounded) until fail2ban runs them all.
async fn reload_users(ctx: &JobContext, jails: &[JailName]) -> Result<(), String> {
    for jail in jails {
        ctx.f2b
            .program
            .reload_jail(jail)
            .await
            .map_err(|e| format!("{jail}: {}", control_words(&e)))?;
    }
    let until = std::time::Instant::now() + VERIFY_WITHIN;
    loop {
        let running = ctx
            .f2b
            .client
            .jails()
            .await
            .map_err(|e| format!("fail2ban did not answer after the reload: {e}"))?;
        let missing: Vec<&str> = jails
            .iter()
            .filter(|j| !running.contains(j))
            .map(JailName::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= until {
            return Err(format!(
                "fail2ban did not run {} again after the reload (see fail2ban's log for why)",
                missing.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sets fail2ban's settings over the socket and reads each back.
pub async fn set_server(ctx: &JobContext, settings: &[(String, String)]) -> Result<(), String> {
    let client = &ctx.f2b.client;
    for (key, value) in settings {
        client
            .call(&["set", key, value], None)
            .await
            .map_err(|e| format!("fail2ban refused {key} = {value}: {e}"))?;
        let got = client
            .server_get(key)
            .await
            .map_err(|e| format!("reading {key} back: {e}"))?;
        if !server_value_is(key, value, &got) {
            return Err(format!("fail2ban runs with {key} {got}, not {value}"));
        }
    }
    Ok(())
}

/// Whether fail2ban's answer to `get <key>` is the value set (times come back as
/// seconds, levels and targets as words).
fn server_value_is(key: &str, value: &str, got: &crate::fail2ban::codec::Value) -> bool {
    match key {
        "dbpurgeage" => match (
            got.as_int(),
            shared::server_settings::fail2ban_seconds(value),
        ) {
            (Some(g), Some(s)) => (g - s).abs() <= 1,
            _ => false,
        },
        "dbmaxmatches" => got.as_int().map(|n| n.to_string()).as_deref() == Some(value),
        _ => crate::server_ops::setting_text(got).is_some_and(|g| g.eq_ignore_ascii_case(value)),
    }
}

/// Restores the previous content, has fail2ban take it again, and fails with
/// fail2ban's words.
async fn rollback(
    ctx: &JobContext,
    target: &Target,
    revision_id: i64,
    previous: Option<&str>,
    undo: &Effect,
    why: &str,
) -> Result<serde_json::Value, Refusal> {
    tracing::warn!(revision = revision_id, path = %target.relative, error = %why, "rolling the configuration back");
    let t = target.clone();
    let old = previous.map(str::to_owned);
    let restored = blocking(move || write_atomic(&t, old.as_deref())).await?;
    let mut message = why.to_owned();
    if let Err(e) = restored {
        message.push_str(&format!(
            "\nBanGUI could not restore the previous content of {}: {e}",
            target.relative
        ));
    } else {
        let program = &ctx.f2b.program;
        let taken = match undo {
            Effect::Jail {
                jail,
                touches_default,
                ..
            } => if *touches_default {
                program.reload_all().await
            } else {
                program.reload_jail(jail).await
            }
            .map(|_| ())
            .map_err(|e| control_words(&e)),
            Effect::Users(jails) => reload_users(ctx, jails).await,
            Effect::Server(_) => {
                // The settings the file gives again, set again (those set before the
                // failure included).
                let root = ctx.f2b.config.config_dir.clone();
                let values = blocking(move || defs::server_values(&root))
                    .await
                    .unwrap_or_default();
                let values: Vec<(String, String)> = values.into_iter().collect();
                set_server(ctx, &values).await
            }
        };
        if let Err(e) = taken {
            message.push_str(&format!(
                "\nThe previous content is back; fail2ban did not take it yet: {e}"
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
    let Some(file) = ConfigFile::from_relative(&rev.path) else {
        return Ok(());
    };
    {
        let _writer = ctx.f2b.config_writer.lock().await;
        let target = resolve_in_tree(ctx, &file).await?;
        if target.current != rev.content {
            tracing::info!(
                revision = rev.id,
                "fail2ban stopped after a change, but the file changed since; left as it is"
            );
            return Ok(());
        }
        ctx.ensure_leading()?;
        let t = target.clone();
        let old = rev.previous_content.clone();
        blocking(move || write_atomic(&t, old.as_deref()))
            .await?
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
        let sshd = ConfigFile::JailLocal {
            jail: JailName::parse("sshd").expect("jail"),
        };
        let t = resolve(&root, &sshd).expect("a new file");
        assert_eq!(t.relative, "jail.d/sshd.local");
        assert!(t.current.is_none());
        write_atomic(&t, Some("[sshd]\nenabled = true\n")).expect("write");
        let t = resolve(&root, &sshd).expect("an existing file");
        assert_eq!(t.current.as_deref(), Some("[sshd]\nenabled = true\n"));
        assert_eq!(t.mode, 0o644);
        // A symlink is refused, wherever it points.
        let other = ConfigFile::JailLocal {
            jail: JailName::parse("other").expect("jail"),
        };
        std::os::unix::fs::symlink("/etc/passwd", root.join("jail.d/other.local")).expect("link");
        let e = resolve(&root, &other).expect_err("a symlink");
        assert_eq!(e.code, ErrorCode::ConfigPathRefused);
        // Too large to edit.
        let big = ConfigFile::JailLocal {
            jail: JailName::parse("big").expect("jail"),
        };
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
