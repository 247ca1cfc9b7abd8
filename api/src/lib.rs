//! bangui-api: the stateless HTTP API. It reads what the scheduler wrote, records what
//! users ask for, and never touches fail2ban or runs a timer.

pub mod app;
pub mod auth;
pub mod error;
pub mod frontend;
pub mod history;
pub mod middleware;
pub mod routes;
pub mod time;
pub mod validate;
