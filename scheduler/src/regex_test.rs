//! The regex tester (issue #19): fail2ban-regex's own code run on the lines to test, so its
//! answers are fail2ban's, tags, `__prefix_line`, date detection and all
//! (`regex_test.py` drives it and reports each line). A test runs in a process of its own
//! under a wall-clock limit: a catastrophic pattern is killed, never the scheduler.
//!
//! Filters of the configuration are tested as fail2ban loads them (`-c` the config
//! folder: `.conf`, `.local`, includes); failregex lines are written as a filter file
//! beside fail2ban's `common.conf`, so they read exactly as they would in `filter.d/`.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::Deserialize;
use serde_json::json;
use shared::error_code::ErrorCode;
use shared::regex_test::{self as rt, RegexTest, Subject};
use shared::store::config_tree;
use tokio::process::Command;

use crate::config_write::Refusal;
use crate::fail2ban::warm::{WarmRun, WarmRunner, python_of, resolve};
use crate::jobs::JobContext;

/// The driver around fail2ban-regex's code, for [`WarmRunner`] or a process of its own.
pub const DRIVER: &str = include_str!("regex_test.py");
const MARKER: &str = "@@bangui-regex-test@@";
const TEST_FILTER: &str = "bangui-regex-test";

#[derive(Deserialize)]
struct Report {
    ok: bool,
    errors: Vec<String>,
    matched: u64,
    ignored: u64,
    missed: u64,
    lines: Vec<LineReport>,
}

#[derive(Deserialize)]
struct LineReport {
    line: String,
    status: String,
    host: Option<String>,
    time: Option<f64>,
    regex: Option<u32>,
    user: Option<String>,
}

/// A scratch folder of the test's own, removed when the test ends however it ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("bangui-regex-{:016x}", rand::random::<u64>()));
        std::fs::create_dir(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn refusal(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

pub async fn run(ctx: &JobContext, test: &RegexTest) -> Result<serde_json::Value, Refusal> {
    test.check().map_err(|r| refusal(r.code, r.message))?;
    let config = &ctx.f2b.config;
    let lines = match &test.subject {
        Subject::Lines { lines } => lines.clone(),
        Subject::Log { path, max_lines } => {
            let logpaths = jail_logpaths(ctx).await?;
            let allow = config.log_allow_dirs.clone();
            let path = path.clone();
            let max = *max_lines as usize;
            // fail2ban-regex 0.11 reads a last line no line break ends; 1.0 and later
            // take it for a line still being written, as the server does.
            let unfinished = ctx
                .f2b
                .client
                .server_version()
                .is_some_and(|v| v.starts_with("0."));
            tokio::task::spawn_blocking(move || read_log(&path, &logpaths, &allow, max, unfinished))
                .await
                .map_err(|e| refusal(ErrorCode::Internal, e.to_string()))??
        }
    };
    let scratch = Scratch::new().map_err(|e| refusal(ErrorCode::Internal, e.to_string()))?;
    let log = scratch.0.join("lines.log");
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&log, text).map_err(|e| refusal(ErrorCode::Internal, e.to_string()))?;

    let mut args: Vec<String> = vec!["-e".into(), "UTF-8".into()];
    let regex = match &test.filter {
        Some(filter) => {
            let conf = &config.config_dir;
            let known = [".conf", ".local"].iter().any(|ext| {
                conf.join(format!("filter.d/{}{ext}", filter.name()))
                    .is_file()
            });
            if !known {
                return Err(refusal(
                    ErrorCode::UnknownFilter,
                    format!("no filter {} in {}/filter.d", filter.name(), conf.display()),
                ));
            }
            args.extend(["-c".into(), conf.display().to_string()]);
            if let Some(d) = &test.datepattern {
                args.push(format!("--datepattern={}", d.as_str()));
            }
            filter.to_string()
        }
        None => {
            write_test_filter(&scratch.0, &config.config_dir, test)
                .map_err(|e| refusal(ErrorCode::Internal, e.to_string()))?;
            args.extend(["-c".into(), scratch.0.display().to_string()]);
            TEST_FILTER.to_owned()
        }
    };
    args.push(log.display().to_string());
    args.push(regex);
    let report = drive(
        ctx.f2b.regex_runner.as_ref(),
        &config.regex_program,
        &args,
        config.regex_timeout,
    )
    .await?;
    if !report.ok {
        return Err(refusal(
            ErrorCode::RegexInvalid,
            if report.errors.is_empty() {
                "fail2ban-regex could not run the test".to_owned()
            } else {
                report.errors.join("\n")
            },
        ));
    }
    Ok(json!({
        "matched": report.matched,
        "ignored": report.ignored,
        "missed": report.missed,
        "tested": report.lines.len(),
        "filter": test.filter.as_ref().map(ToString::to_string),
        "lines": report.lines.iter().map(|l| json!({
            "line": l.line,
            "matched": l.status == "matched",
            "ignored": l.status == "ignored",
            "host": l.host,
            "time": l.time.and_then(|t| chrono::DateTime::from_timestamp_millis((t * 1000.0) as i64)).map(|t| t.to_rfc3339()),
            "regex": l.regex,
            "user": l.user,
        })).collect::<Vec<_>>(),
    }))
}

/// Whether fail2ban can load a filter of the tree at `conf_dir` (`spec` as a jail names
/// it: `sshd[mode=aggressive]`): fail2ban-regex's own code reads it and compiles every
/// regex, on an empty log. A regex that does not compile passes `fail2ban-client -t` but
/// removes the jail on reload (PROTOCOL.md §6), so a filter change is checked with this
/// before it is written.
pub async fn load_filter(ctx: &JobContext, conf_dir: &Path, spec: &str) -> Result<(), Refusal> {
    let scratch = Scratch::new().map_err(|e| refusal(ErrorCode::Internal, e.to_string()))?;
    let log = scratch.0.join("empty.log");
    std::fs::write(&log, "").map_err(|e| refusal(ErrorCode::Internal, e.to_string()))?;
    let args = vec![
        "-e".to_owned(),
        "UTF-8".to_owned(),
        "-c".to_owned(),
        conf_dir.display().to_string(),
        log.display().to_string(),
        spec.to_owned(),
    ];
    let config = &ctx.f2b.config;
    let report = drive(
        ctx.f2b.regex_runner.as_ref(),
        &config.regex_program,
        &args,
        config.regex_timeout,
    )
    .await?;
    if report.ok {
        Ok(())
    } else {
        Err(refusal(
            ErrorCode::RegexInvalid,
            if report.errors.is_empty() {
                format!("fail2ban could not load the filter {spec}")
            } else {
                report.errors.join("\n")
            },
        ))
    }
}

/// Runs the driver on fail2ban-regex's code within the time limit: from the warm process
/// when it is free, else as a process of its own under the program's interpreter (killed
/// when it runs over).
async fn drive(
    warm: Option<&WarmRunner>,
    program: &Path,
    args: &[String],
    limit: std::time::Duration,
) -> Result<Report, Refusal> {
    let program = resolve(program).ok_or_else(|| {
        refusal(
            ErrorCode::Fail2banClientFailed,
            format!("{} not found", program.display()),
        )
    })?;
    let started = std::time::Instant::now();
    let timed_out = || {
        tracing::warn!(
            limit_ms = limit.as_millis() as u64,
            "regex test stopped at its time limit"
        );
        refusal(
            ErrorCode::RegexTimeout,
            format!(
                "the test did not end within {} s and was stopped; a pattern with nested repetition such as (a+)+ can take forever on a long line",
                limit.as_secs_f32()
            ),
        )
    };
    let tried = match warm {
        Some(w) => w.run(&program, args, limit).await,
        None => WarmRun::Unusable,
    };
    let (warm_run, report) = match tried {
        WarmRun::Done { output, .. } => (true, report_of(&output, &output)),
        WarmRun::TimedOut => return Err(timed_out()),
        WarmRun::Unusable => {
            let python = python_of(&program).ok_or_else(|| {
                refusal(
                    ErrorCode::Fail2banClientFailed,
                    format!(
                        "{} is not a Python script BanGUI can run",
                        program.display()
                    ),
                )
            })?;
            let child = Command::new(&python[0])
                .args(&python[1..])
                .arg("-c")
                .arg(DRIVER)
                .arg(&program)
                .arg("--")
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| {
                    refusal(
                        ErrorCode::Fail2banClientFailed,
                        format!("could not start {}: {e}", python[0]),
                    )
                })?;
            let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
                Ok(out) => out.map_err(|e| refusal(ErrorCode::Internal, e.to_string()))?,
                Err(_) => return Err(timed_out()),
            };
            let stdout = String::from_utf8_lossy(&out.stdout);
            (
                false,
                report_of(&stdout, &String::from_utf8_lossy(&out.stderr)),
            )
        }
    };
    tracing::info!(
        duration_ms = started.elapsed().as_millis() as u64,
        warm = warm_run,
        "fail2ban-regex ran"
    );
    report
}

/// The driver's JSON (after its marker), or fail2ban's last words when there is none.
fn report_of(output: &str, words: &str) -> Result<Report, Refusal> {
    output
        .rfind(MARKER)
        .and_then(|at| serde_json::from_str(&output[at + MARKER.len()..]).ok())
        .ok_or_else(|| {
            let last: Vec<&str> = words
                .lines()
                .filter(|l| !l.trim().is_empty())
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            refusal(
                ErrorCode::RegexInvalid,
                format!("fail2ban-regex failed: {}", last.join("\n")),
            )
        })
}

/// The failregex lines as a filter file would hold them, beside fail2ban's own
/// `common.conf` (so `%(__prefix_line)s` and friends mean what they mean in `filter.d/`).
fn write_test_filter(dir: &Path, config_dir: &Path, test: &RegexTest) -> std::io::Result<()> {
    let filter_d = dir.join("filter.d");
    std::fs::create_dir(&filter_d)?;
    let mut includes = String::new();
    for common in ["common.conf", "common.local"] {
        let real = config_dir.join("filter.d").join(common);
        if real.is_file() {
            std::os::unix::fs::symlink(&real, filter_d.join(common))?;
            if common == "common.conf" {
                includes = "[INCLUDES]\nbefore = common.conf\n\n".into();
            }
        }
    }
    let multi = |key: &str, values: &[rt::RegexText]| -> String {
        if values.is_empty() {
            return format!("{key} =\n");
        }
        let mut out = format!("{key} = {}\n", values[0].as_str());
        for v in &values[1..] {
            out.push_str(&format!("            {}\n", v.as_str()));
        }
        out
    };
    let mut text = format!("{includes}[Definition]\n");
    text.push_str(&multi("failregex", &test.failregex));
    text.push_str(&multi("ignoreregex", &test.ignoreregex));
    if let Some(p) = &test.prefregex {
        text.push_str(&format!("prefregex = {}\n", p.as_str()));
    }
    if let Some(d) = &test.datepattern {
        text.push_str(&format!("datepattern = {}\n", d.as_str()));
    }
    std::fs::write(filter_d.join(format!("{TEST_FILTER}.conf")), text)
}

/// Every configured jail's `logpath` lines, as the last read of the tree has them.
async fn jail_logpaths(ctx: &JobContext) -> Result<Vec<String>, Refusal> {
    let rows = config_tree::jails(&ctx.db).await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.setting_value("logpath"))
        .flat_map(|v| v.lines().map(|l| l.trim().to_owned()).collect::<Vec<_>>())
        .filter(|l| !l.is_empty())
        .collect())
}

/// The last `max_lines` lines (and at most 1 MiB) of a log file the tester may read:
/// checked as given and again with every link resolved.
fn read_log(
    given: &str,
    logpaths: &[String],
    allow_dirs: &[PathBuf],
    max_lines: usize,
    unfinished: bool,
) -> Result<Vec<String>, Refusal> {
    let refused = || {
        refusal(
            ErrorCode::LogPathRefused,
            format!(
                "{given} is neither a configured jail's logpath nor under BANGUI_LOG_ALLOW_DIRS"
            ),
        )
    };
    let allowed = |p: &str, dirs: &[PathBuf]| {
        rt::log_path_allowed(p, logpaths.iter().map(String::as_str), dirs)
    };
    if !allowed(given, allow_dirs) {
        return Err(refused());
    }
    let real = std::fs::canonicalize(given)
        .map_err(|e| refusal(ErrorCode::LogPathRefused, format!("{given}: {e}")))?;
    // Patterns and folders resolved too: /var/log may itself be a link.
    let real_dirs: Vec<PathBuf> = allow_dirs
        .iter()
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .collect();
    let real_text = real.display().to_string();
    // A literal logpath resolved whole (it may be a link itself); a glob's folder resolved.
    let resolved_patterns: Vec<String> = logpaths
        .iter()
        .filter_map(|p| {
            let p = p.split_whitespace().next()?;
            if !p.contains(['*', '?', '[']) {
                return std::fs::canonicalize(p)
                    .ok()
                    .map(|r| r.display().to_string());
            }
            let path = Path::new(p);
            let parent = std::fs::canonicalize(path.parent()?).ok()?;
            Some(parent.join(path.file_name()?).display().to_string())
        })
        .collect();
    let ok = rt::log_path_allowed(&real_text, logpaths.iter().map(String::as_str), &real_dirs)
        || rt::log_path_allowed(
            &real_text,
            resolved_patterns.iter().map(String::as_str),
            &[],
        );
    if !ok {
        return Err(refused());
    }
    let mut file = std::fs::File::open(&real)
        .map_err(|e| refusal(ErrorCode::LogPathRefused, format!("{given}: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| refusal(ErrorCode::LogPathRefused, format!("{given}: {e}")))?;
    if !meta.is_file() {
        return Err(refusal(
            ErrorCode::LogPathRefused,
            format!("{given} is not a file"),
        ));
    }
    let start = meta.len().saturating_sub(rt::MAX_BYTES as u64);
    file.seek(SeekFrom::Start(start))
        .and_then(|_| {
            let mut bytes = Vec::new();
            file.take(rt::MAX_BYTES as u64).read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .map(|bytes| tail_lines(&bytes, start > 0, max_lines, unfinished))
        .map_err(|e| refusal(ErrorCode::LogPathRefused, format!("{given}: {e}")))
}

/// The last `max` complete lines of `bytes`: the first dropped when the read began inside
/// it, the last when no line break ends it yet (a line still being written, which
/// fail2ban 1.0 and later do not read either) unless `unfinished` keeps it (0.11 does).
fn tail_lines(bytes: &[u8], cut: bool, max: usize, unfinished: bool) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if cut && !lines.is_empty() {
        lines.remove(0);
    }
    // The piece after the last line break: empty, or a line not finished yet.
    if lines
        .pop()
        .is_some_and(|last| unfinished && !last.is_empty())
    {
        lines.push(text.rsplit('\n').next().unwrap_or_default());
    }
    let skip = lines.len().saturating_sub(max);
    lines[skip..]
        .iter()
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_whole_lines_only() {
        assert_eq!(tail_lines(b"a\nb\nc\n", false, 2, false), ["b", "c"]);
        assert_eq!(tail_lines(b"rtial\nb\nc\n", true, 10, false), ["b", "c"]);
        assert_eq!(
            tail_lines(b"a\nb\nunfinished", false, 10, false),
            ["a", "b"]
        );
        assert_eq!(tail_lines(b"a\r\n", false, 10, false), ["a"]);
        assert!(tail_lines(b"", false, 10, false).is_empty());
        // fail2ban 0.11 reads the last line without a line break.
        assert_eq!(
            tail_lines(b"a\nb\nunfinished", false, 10, true),
            ["a", "b", "unfinished"]
        );
        assert_eq!(tail_lines(b"a\nb\n", false, 10, true), ["a", "b"]);
        assert_eq!(tail_lines(b"a\nb\nlast", false, 2, true), ["b", "last"]);
    }
}
