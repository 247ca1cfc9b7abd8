//! Executing the command queue the API fills.

pub mod executor;

tokio::task_local! {
    /// The command whose execution this task is (set by the executor).
    static RUNNING: i64;
}

/// Runs `f` as the execution of command `id`. Within it, each fail2ban call is logged at
/// info level (inside the command's span, so with its request id) instead of debug like
/// the periodic jobs' calls, and each archived ban or unban records the command, whose
/// audit row holds the request id.
pub async fn run_as<F: std::future::Future>(id: i64, f: F) -> F::Output {
    RUNNING.scope(id, f).await
}

/// The command this task executes, if it executes one.
pub fn running() -> Option<i64> {
    RUNNING.try_with(|id| *id).ok()
}
