//! What both BanGUI binaries share: configuration, database access, the scheduler lease,
//! telemetry and small domain types.

pub mod archive;
pub mod blocklist;
pub mod commands;
pub mod config;
pub mod config_edit;
pub mod countries;
pub mod db;
pub mod domain;
pub mod duration;
pub mod error_code;
pub mod lease;
pub mod metrics;
pub mod regex_test;
pub mod request_id;
pub mod server_settings;
pub mod shutdown;
pub mod store;
pub mod telemetry;
