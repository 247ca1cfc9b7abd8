//! Verbs fail2ban only offers on the client side (PROTOCOL.md §3.6): starting a stopped
//! jail and reloading. They run the real `fail2ban-client`, which reads the config tree
//! and sends a complete reload stream; we never build one by hand (an empty or
//! start-only stream destroys jails or strips their actions).

use std::path::{Path, PathBuf};
use std::time::Duration;

use shared::domain::JailName;
use tokio::process::Command;

#[derive(Debug, Clone)]
pub struct ClientProgram {
    pub program: PathBuf,
    pub socket: PathBuf,
    pub config_dir: PathBuf,
    pub timeout: Duration,
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
        self.run(&["start"]).await
    }

    /// `-t` on another tree (a copy with a change applied): fail2ban reads it as the server
    /// would and says whether it could start it (PROTOCOL.md §6).
    pub async fn test_tree(&self, dir: &Path) -> Result<String, ControlError> {
        self.run_in(dir, &["-t"]).await
    }

    async fn run(&self, verb: &[&str]) -> Result<String, ControlError> {
        self.run_in(&self.config_dir, verb).await
    }

    async fn run_in(&self, config_dir: &Path, verb: &[&str]) -> Result<String, ControlError> {
        let mut cmd = Command::new(&self.program);
        cmd.arg("-c")
            .arg(config_dir)
            .arg("-s")
            .arg(&self.socket)
            .args(verb)
            .kill_on_drop(true)
            .stdin(std::process::Stdio::null());
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
        let output = output.trim().chars().take(2000).collect::<String>();
        if out.status.success() {
            Ok(output)
        } else {
            Err(ControlError::Failed {
                code: out.status.code().unwrap_or(-1),
                output,
            })
        }
    }
}
