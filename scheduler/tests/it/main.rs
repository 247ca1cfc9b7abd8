//! Black-box tests of the scheduler: the lease SQL on real databases, and real
//! `bangui-scheduler` processes competing for the lease. Every test runs on each backend
//! of `testkit::db::backends()` (SQLite and PostgreSQL by default). Tests that need the
//! API too live in the `e2e` crate.

mod client_program;
mod config_files;
mod config_ini;
mod config_jails;
mod guarded_fetch;
mod lease_processes;
mod lease_sql;

/// Runs a Python oracle script with `args` and reads the JSON it prints. `python` is the
/// interpreter: any `python3` for the standard library, Debian's `/usr/bin/python3` where
/// the script imports fail2ban's own code.
pub fn python_oracle<T: serde::de::DeserializeOwned>(
    python: &str,
    script: &str,
    args: &[&std::ffi::OsStr],
) -> T {
    let output = std::process::Command::new(python)
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{python} runs (fail2ban needs it anyway): {e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the oracle prints JSON")
}
