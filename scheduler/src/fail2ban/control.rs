//! Verbs fail2ban only offers on the client side (PROTOCOL.md §3.6): starting a stopped
//! jail and reloading. They run the real `fail2ban-client`, which reads the config tree
//! and sends a complete reload stream; we never build one by hand (an empty or
//! start-only stream destroys jails or strips their actions).
//!
//! Each run of the program is a new Python interpreter importing fail2ban, about 60 ms
//! before it reads a single file; a configuration write runs it twice (the test and the
//! reload). So where the program is a Python script, it runs from a warm process
//! (`warm_client.py`): the program's own code loaded once, one fork per call, its output
//! and exit code those of the program. Any trouble with that process falls back to a new
//! process per call.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use shared::domain::JailName;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

const WARM_CLIENT: &str = include_str!("warm_client.py");

#[derive(Debug, Clone)]
pub struct ClientProgram {
    pub program: PathBuf,
    pub socket: PathBuf,
    pub config_dir: PathBuf,
    pub timeout: Duration,
    /// `None` when warm runs are off (`BANGUI_FAIL2BAN_CLIENT_WARM=false`).
    warm: Option<Arc<Mutex<Warm>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("could not run {program}: {error}")]
    Spawn { program: String, error: String },
    #[error("fail2ban-client timed out after {0:?}")]
    Timeout(Duration),
    #[error("fail2ban-client failed (exit {code}): {output}")]
    Failed { code: i32, output: String },
}

impl ClientProgram {
    pub fn new(
        program: PathBuf,
        socket: PathBuf,
        config_dir: PathBuf,
        timeout: Duration,
        warm: bool,
    ) -> Self {
        Self {
            program,
            socket,
            config_dir,
            timeout,
            warm: warm.then(|| Arc::new(Mutex::new(Warm::NotStarted))),
        }
    }

    /// Starts the warm process ahead of the first call (where warm runs are on), so the
    /// first configuration change does not pay for it.
    pub async fn warm_up(&self) {
        if let Some(warm) = &self.warm {
            let mut warm = warm.lock().await;
            warm.ensure(&self.program, self.timeout).await;
        }
    }

    /// `reload --if-exists <jail>`: reloads a running jail, or starts a stopped one.
    pub async fn reload_jail(&self, jail: &JailName) -> Result<String, ControlError> {
        self.run(&["reload", "--if-exists", jail.as_str()]).await
    }

    /// `reload`: the whole configuration, bringing stopped jails back.
    pub async fn reload_all(&self) -> Result<String, ControlError> {
        self.run(&["reload"]).await
    }

    /// `start`: starts fail2ban's server with this configuration (only where BanGUI is
    /// allowed to: `BANGUI_FAIL2BAN_MAY_START`).
    pub async fn start_server(&self) -> Result<String, ControlError> {
        // Always a process of its own: the server it starts must not inherit the warm
        // process's pipes.
        self.run_in(&self.config_dir, &["start"], false).await
    }

    /// `-t` on another tree (a copy with a change applied): fail2ban reads it as the server
    /// would and says whether it could start it (PROTOCOL.md §6).
    pub async fn test_tree(&self, dir: &Path) -> Result<String, ControlError> {
        self.run_in(dir, &["-t"], true).await
    }

    async fn run(&self, verb: &[&str]) -> Result<String, ControlError> {
        self.run_in(&self.config_dir, verb, true).await
    }

    fn args(&self, config_dir: &Path, verb: &[&str]) -> Vec<String> {
        let mut args = vec![
            "-c".to_owned(),
            config_dir.display().to_string(),
            "-s".to_owned(),
            self.socket.display().to_string(),
        ];
        args.extend(verb.iter().map(|v| (*v).to_owned()));
        args
    }

    async fn run_in(
        &self,
        config_dir: &Path,
        verb: &[&str],
        may_warm: bool,
    ) -> Result<String, ControlError> {
        let started = std::time::Instant::now();
        let (warm, result) = self.run_either(config_dir, verb, may_warm).await;
        // One line per run, inside the command's span: what ran, how long, how it ended.
        let duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(_) => {
                tracing::info!(verb = %verb.join(" "), warm, duration_ms, "fail2ban-client ran")
            }
            Err(e) => {
                tracing::info!(verb = %verb.join(" "), warm, duration_ms, error = %e, "fail2ban-client failed")
            }
        }
        result
    }

    async fn run_either(
        &self,
        config_dir: &Path,
        verb: &[&str],
        may_warm: bool,
    ) -> (bool, Result<String, ControlError>) {
        // A warm process busy with another call (or unusable) is not waited for.
        let warm = self.warm.as_ref().filter(|_| may_warm);
        if let Some(mut warm) = warm.and_then(|w| w.try_lock().ok()) {
            let args = self.args(config_dir, verb);
            match warm.run(&self.program, &args, self.timeout).await {
                WarmRun::Done { code, output } => return (true, finish(code, &output)),
                WarmRun::TimedOut => return (true, Err(ControlError::Timeout(self.timeout))),
                WarmRun::Unusable => {}
            }
        }
        (false, self.run_cold(config_dir, verb).await)
    }

    async fn run_cold(&self, config_dir: &Path, verb: &[&str]) -> Result<String, ControlError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(self.args(config_dir, verb))
            .kill_on_drop(true)
            .stdin(Stdio::null());
        let program = self.program.display().to_string();
        let child = cmd.output();
        let out = tokio::time::timeout(self.timeout, child)
            .await
            .map_err(|_| ControlError::Timeout(self.timeout))?
            .map_err(|e| ControlError::Spawn {
                program,
                error: e.to_string(),
            })?;
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        finish(out.status.code().unwrap_or(-1), &output)
    }
}

fn finish(code: i32, output: &str) -> Result<String, ControlError> {
    let output = output.trim().chars().take(2000).collect::<String>();
    if code == 0 {
        Ok(output)
    } else {
        Err(ControlError::Failed { code, output })
    }
}

/// The program file as last seen: a change (a fail2ban upgrade) restarts the warm process
/// so it never runs code older than the program on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    fn of(program: &Path) -> Option<Self> {
        let path = resolve(program)?;
        let meta = std::fs::metadata(&path).ok()?;
        Some(Self {
            path,
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

/// `program` as the shell would find it (`PATH` when it names no directory).
pub(crate) fn resolve(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The interpreter named by a Python script's `#!` line (with its arguments), or `None`
/// when the program is something else (a shell wrapper, a binary).
pub(crate) fn python_of(script: &Path) -> Option<Vec<String>> {
    use std::io::BufRead;
    let file = std::fs::File::open(script).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(std::io::Read::take(file, 512))
        .read_line(&mut first)
        .ok()?;
    let words: Vec<String> = first
        .strip_prefix("#!")?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let named = words.iter().any(|w| {
        Path::new(w)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("python"))
    });
    named.then_some(words)
}

#[derive(Debug)]
enum Warm {
    NotStarted,
    Running(Box<WarmProcess>, Stamp),
    /// Not a program this can run warm (or it failed to start) as of this stamp; tried
    /// again when the program changes.
    Unavailable(Option<Stamp>),
}

#[derive(Debug)]
struct WarmProcess {
    // Dropping the child kills it (`kill_on_drop`); a call it was running dies on its
    // own alarm.
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

enum WarmRun {
    Done { code: i32, output: String },
    TimedOut,
    Unusable,
}

#[derive(serde::Deserialize)]
struct Ready {
    ready: bool,
    #[serde(default)]
    why: String,
}

#[derive(serde::Deserialize)]
struct Answer {
    code: i32,
    output: String,
}

impl Warm {
    /// Makes sure a warm process for the program as it is now is running, when it can.
    async fn ensure(&mut self, program: &Path, timeout: Duration) -> bool {
        let stamp = Stamp::of(program);
        match self {
            Self::Running(_, started) if Some(&*started) == stamp.as_ref() => return true,
            Self::Unavailable(seen) if *seen == stamp => return false,
            _ => {}
        }
        let Some(stamp) = stamp else {
            *self = Self::Unavailable(None);
            return false;
        };
        match WarmProcess::start(&stamp.path, timeout).await {
            Ok(process) => {
                tracing::debug!(program = %stamp.path.display(), "fail2ban-client runs warm");
                *self = Self::Running(Box::new(process), stamp);
                true
            }
            Err(why) => {
                tracing::info!(program = %stamp.path.display(), %why, "fail2ban-client runs as a new process per call");
                *self = Self::Unavailable(Some(stamp));
                false
            }
        }
    }

    async fn run(&mut self, program: &Path, args: &[String], timeout: Duration) -> WarmRun {
        if !self.ensure(program, timeout).await {
            return WarmRun::Unusable;
        }
        let Self::Running(process, _) = self else {
            return WarmRun::Unusable;
        };
        let mut argv = vec![program.display().to_string()];
        argv.extend_from_slice(args);
        match tokio::time::timeout(timeout, process.call(&argv, timeout)).await {
            Ok(Ok(answer)) if answer.code == -14 => {
                // The child's own alarm (SIGALRM) ended it: a timeout like the cold one.
                WarmRun::TimedOut
            }
            Ok(Ok(answer)) => WarmRun::Done {
                code: answer.code,
                output: answer.output,
            },
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the warm fail2ban-client failed; this call runs as a new process");
                *self = Self::NotStarted;
                WarmRun::Unusable
            }
            Err(_) => {
                *self = Self::NotStarted;
                WarmRun::TimedOut
            }
        }
    }
}

impl WarmProcess {
    async fn start(program: &Path, timeout: Duration) -> Result<Self, String> {
        let python = python_of(program).ok_or("not a Python script")?;
        let mut child = Command::new(&python[0])
            .args(&python[1..])
            .arg("-c")
            .arg(WARM_CLIENT)
            .arg(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", python[0]))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        tokio::time::timeout(timeout, stdout.read_line(&mut line))
            .await
            .map_err(|_| "timed out loading the program".to_owned())?
            .map_err(|e| e.to_string())?;
        let ready: Ready =
            serde_json::from_str(&line).map_err(|e| format!("unreadable start ({e}): {line}"))?;
        if !ready.ready {
            return Err(ready.why);
        }
        Ok(Self {
            _child: child,
            stdin,
            stdout,
        })
    }

    async fn call(&mut self, argv: &[String], timeout: Duration) -> std::io::Result<Answer> {
        let request = serde_json::json!({ "argv": argv, "timeout": timeout.as_secs().max(1) });
        let mut line = request.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.flush().await?;
        let mut answer = String::new();
        if self.stdout.read_line(&mut answer).await? == 0 {
            return Err(std::io::Error::other("the warm process ended"));
        }
        serde_json::from_str(&answer).map_err(std::io::Error::other)
    }
}
