//! `fail2ban-client` runs: warm (one Python process, a fork per call) where the program is
//! a Python script, a new process per call otherwise, with the same exit codes and output
//! either way, timeouts enforced, and a changed program file picked up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use scheduler::fail2ban::control::{ClientProgram, ControlError};
use shared::domain::JailName;

/// A fresh directory of this test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bangui-client-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn program(warm: bool, path: &Path, timeout: Duration) -> ClientProgram {
    in_tree(
        warm,
        path,
        timeout,
        Path::new("/nonexistent/bangui-test-config"),
    )
}

fn in_tree(warm: bool, path: &Path, timeout: Duration, tree: &Path) -> ClientProgram {
    ClientProgram::new(
        path.to_path_buf(),
        PathBuf::from("/nonexistent/bangui-test.sock"),
        tree.to_path_buf(),
        timeout,
        warm,
    )
}

/// fail2ban's own output, without what differs between two runs (time stamps, pids).
fn steady(text: &str) -> String {
    text.lines()
        .map(|l| {
            l.split_once("]: ")
                .map_or(l, |(_, rest)| rest)
                .trim()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn outcome(r: Result<String, ControlError>) -> (i32, String) {
    match r {
        Ok(out) => (0, steady(&out)),
        Err(ControlError::Failed { code, output }) => (code, steady(&output)),
        Err(e) => panic!("unexpected {e}"),
    }
}

#[tokio::test]
async fn debians_client_answers_the_same_warm_and_cold() {
    let client = Path::new("/usr/bin/fail2ban-client");
    let tree = Scratch::new("tree");
    std::fs::write(
        tree.path().join("fail2ban.conf"),
        "[Definition]\nloglevel = INFO\n",
    )
    .expect("tree file");
    std::fs::write(
        tree.path().join("jail.conf"),
        "[DEFAULT]\n[broken]\nenabled = true\nfilter = missing-filter\n",
    )
    .expect("tree file");
    let warm = in_tree(true, client, Duration::from_secs(20), tree.path());
    let cold = in_tree(false, client, Duration::from_secs(20), tree.path());
    for dir in [tree.path(), Path::new("/nonexistent/tree")] {
        let w = outcome(warm.test_tree(dir).await);
        let c = outcome(cold.test_tree(dir).await);
        assert_eq!(w, c, "-t on {}", dir.display());
        assert_ne!(w.0, 0, "{w:?}");
    }
    let jail = JailName::parse("sshd").expect("jail name");
    let w = outcome(warm.reload_jail(&jail).await);
    let c = outcome(cold.reload_jail(&jail).await);
    assert_eq!(w, c);
    assert!(w.1.contains("Could not find server"), "{w:?}");
}

const FAKE: &str = r#"import os, sys, time
def exec_command_line(argv):
    if "sleep" in argv:
        time.sleep(30)
    print("VERSION parent", os.getppid(), "args", " ".join(argv[1:]))
    sys.exit(3 if "fail" in argv else 0)
if __name__ == "__main__":
    exec_command_line(sys.argv)
"#;

fn write_program(path: &Path, shebang: &str, body: &str, version: &str) {
    let text = format!("#!{shebang}\n{}", body.replace("VERSION", version));
    std::fs::write(path, text).expect("program written");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("executable");
}

fn parent_of(output: &str) -> String {
    output
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_python_client_runs_warm_times_out_and_is_reloaded_when_it_changes() {
    let dir = Scratch::new("python");
    let path = dir.path().join("fail2ban-client");
    write_program(&path, "/usr/bin/python3", FAKE, "one");
    let p = program(true, &path, Duration::from_secs(2));
    p.warm_up().await;
    let name = |n: &str| JailName::parse(n).expect("jail name");

    let first = p.reload_jail(&name("sshd")).await.expect("the program ran");
    let second = p.reload_jail(&name("sshd")).await.expect("the program ran");
    assert!(first.starts_with("one parent"), "{first}");
    assert!(first.ends_with("reload --if-exists sshd"), "{first}");
    // Both forked from the same warm process, which is not this one.
    assert_eq!(parent_of(&first), parent_of(&second));
    assert_ne!(parent_of(&first), std::process::id().to_string());

    match p.reload_jail(&name("fail")).await {
        Err(ControlError::Failed { code: 3, output }) => {
            assert!(output.starts_with("one"), "{output}")
        }
        other => panic!("{other:?}"),
    }
    let started = std::time::Instant::now();
    assert_eq!(
        p.reload_jail(&name("sleep")).await,
        Err(ControlError::Timeout(Duration::from_secs(2)))
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // An upgraded program is what runs next, from a new warm process.
    write_program(&path, "/usr/bin/python3", FAKE, "two-longer");
    let upgraded = p.reload_jail(&name("sshd")).await.expect("the program ran");
    assert!(upgraded.starts_with("two-longer parent"), "{upgraded}");
    assert_ne!(parent_of(&upgraded), parent_of(&first));
}

#[tokio::test]
async fn a_client_that_is_no_python_script_runs_as_a_process_per_call() {
    let dir = Scratch::new("shell");
    let path = dir.path().join("fail2ban-client");
    write_program(
        &path,
        "/bin/sh",
        "echo VERSION parent $PPID args \"$@\"\n",
        "wrapper",
    );
    let p = program(true, &path, Duration::from_secs(5));
    let out = p
        .reload_jail(&JailName::parse("sshd").expect("jail name"))
        .await
        .expect("the program ran");
    assert!(out.starts_with("wrapper parent"), "{out}");
    assert_eq!(parent_of(&out), std::process::id().to_string());
}
