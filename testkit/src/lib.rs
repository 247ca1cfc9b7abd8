//! What BanGUI's test suites and benchmarks share: fresh databases on both backends, a
//! private fail2ban, real scheduler and API processes, HTTP helpers, and (features)
//! an in-process API and stack and the synthetic ban history.
//!
//! Features: `api` (an API or a whole stack in this process; pulls in the `api` crate),
//! `synthetic` (the generator; pulls in the `scheduler` crate for its event types).

#[cfg(feature = "api")]
pub mod api;
pub mod calls;
pub mod client;
mod config;
pub use config::config;
pub mod db;
pub mod fail2ban;
pub mod list_server;
pub mod processes;
#[cfg(feature = "api")]
pub mod stack;
#[cfg(feature = "synthetic")]
pub mod synthetic;
