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
use std::time::Duration;

use shared::domain::JailName;
use tokio::process::Command;

use super::warm::{WarmRun, WarmRunner};

#[derive(Debug, Clone)]
pub struct ClientProgram {
    pub program: PathBuf,
    pub socket: PathBuf,
    pub config_dir: PathBuf,
    pub timeout: Duration,
    /// `None` when warm runs are off (`BANGUI_FAIL2BAN_CLIENT_WARM=false`).
    warm: Option<Arc<WarmRunner>>,
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
            warm: warm.then(|| Arc::new(WarmRunner::new(None))),
        }
    }

    /// Starts the warm process ahead of the first call (where warm runs are on), so the
    /// first configuration change does not pay for it.
    pub async fn warm_up(&self) {
        if let Some(warm) = &self.warm {
            warm.warm_up(&self.program, self.timeout).await;
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

    /// `restart`: fail2ban's own restart of its server (stop, then start with this
    /// configuration; only where BanGUI may start fail2ban).
    pub async fn restart_server(&self) -> Result<String, ControlError> {
        // A process of its own, as for `start`.
        self.run_in(&self.config_dir, &["restart"], false).await
    }

    /// `reload --restart --all`: every jail stopped and started again inside the running
    /// server (its bans restored from fail2ban's database), the process left to its
    /// supervisor.
    pub async fn restart_jails(&self) -> Result<String, ControlError> {
        self.run(&["reload", "--restart", "--all"]).await
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
        if let Some(warm) = self.warm.as_ref().filter(|_| may_warm) {
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
