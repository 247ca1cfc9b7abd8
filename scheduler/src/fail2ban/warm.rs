//! A warm Python process for fail2ban's own programs (`warm_client.py`): the program's
//! code (and its imports) loaded once, one fork per call, so a call costs its work and not
//! an interpreter and fail2ban's imports (about 60 ms). Without a driver, a call runs the
//! program's own `exec_command_line(argv)`; with one (the regex tester's), the driver's
//! `run(program, args)`. Restarted when the program file changes; a program that is not a
//! Python script, or a process in trouble, means "run it cold" to the caller.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

const WARM_CLIENT: &str = include_str!("warm_client.py");

/// One warm process (started on first use), for one program and optional driver.
#[derive(Debug)]
pub struct WarmRunner {
    state: Mutex<Warm>,
    driver: Option<&'static str>,
}

impl WarmRunner {
    pub fn new(driver: Option<&'static str>) -> Self {
        Self {
            state: Mutex::new(Warm::NotStarted),
            driver,
        }
    }

    /// Starts the process ahead of the first call.
    pub async fn warm_up(&self, program: &Path, timeout: Duration) {
        self.state
            .lock()
            .await
            .ensure(program, self.driver, timeout)
            .await;
    }

    /// Runs one call; a process busy with another call is not waited for (`Unusable`: the
    /// caller runs it cold).
    pub async fn run(&self, program: &Path, args: &[String], timeout: Duration) -> WarmRun {
        match self.state.try_lock() {
            Ok(mut warm) => warm.run(program, self.driver, args, timeout).await,
            Err(_) => WarmRun::Unusable,
        }
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
pub fn resolve(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The interpreter named by a Python script's `#!` line (with its arguments), or `None`
/// when the program is something else (a shell wrapper, a binary).
pub fn python_of(script: &Path) -> Option<Vec<String>> {
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

pub enum WarmRun {
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
    async fn ensure(&mut self, program: &Path, driver: Option<&str>, timeout: Duration) -> bool {
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
        match WarmProcess::start(&stamp.path, driver, timeout).await {
            Ok(process) => {
                tracing::debug!(program = %stamp.path.display(), "runs warm");
                *self = Self::Running(Box::new(process), stamp);
                true
            }
            Err(why) => {
                tracing::info!(program = %stamp.path.display(), %why, "runs as a new process per call");
                *self = Self::Unavailable(Some(stamp));
                false
            }
        }
    }

    async fn run(
        &mut self,
        program: &Path,
        driver: Option<&str>,
        args: &[String],
        timeout: Duration,
    ) -> WarmRun {
        if !self.ensure(program, driver, timeout).await {
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
                tracing::warn!(error = %e, "the warm process failed; this call runs as a new process");
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
    async fn start(
        program: &Path,
        driver: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let python = python_of(program).ok_or("not a Python script")?;
        let mut child = Command::new(&python[0])
            .args(&python[1..])
            .arg("-c")
            .arg(WARM_CLIENT)
            .arg(program)
            .args(driver)
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
