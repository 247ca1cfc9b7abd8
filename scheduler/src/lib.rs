//! The scheduler: it proves it is the one leader through the lease, runs the jobs only
//! while it leads, and (in later issues) is the only process that touches fail2ban.

pub mod allowlist;
pub mod app;
pub mod ban_writer;
pub mod blocklist;
pub mod commands;
pub mod config_tree;
pub mod config_write;
pub mod fail2ban;
pub mod geo;
pub mod http;
pub mod jobs;
pub mod leadership;
pub mod net;
pub mod regex_test;
pub mod server_ops;
