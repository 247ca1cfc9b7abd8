//! bangui-api: the stateless HTTP API. It reads what the scheduler wrote, records what
//! users ask for, and never touches fail2ban or runs a timer.

/// The analytics queries behind the dashboard and history endpoints. Public so the
/// end-to-end oracle tests (`e2e/tests/it/history.rs`) can compare their two plans of one
/// question, and the history benchmark can print their query plans.
pub mod analytics;
pub mod answers;
pub mod app;
pub(crate) mod auth;
pub(crate) mod contract;
pub mod error;
pub(crate) mod frontend;
pub(crate) mod middleware;
pub(crate) mod routes;
pub(crate) mod text;
pub(crate) mod time;
pub(crate) mod validate;
