//! End-to-end tests: the API and the scheduler together, over real databases (every
//! backend of `testkit::db::backends()`), with a real private fail2ban where they need
//! one. Each test says what it proves in its name.

mod allowlist;
mod blocklists;
mod config_def_writes;
mod config_defs;
mod config_tree;
mod config_write;
mod fail2ban_e2e;
mod fail2ban_log;
mod history;
mod observability;
mod regex_test;
mod rehearsal;
mod server_config;
mod versions;
