//! Black-box tests of the scheduler: the lease SQL on real databases, and real
//! `bangui-scheduler` processes competing for the lease. Every test runs on each backend
//! of `testkit::db::backends()` (SQLite and PostgreSQL by default). Tests that need the
//! API too live in the `e2e` crate.

mod config_files;
mod config_ini;
mod config_jails;
mod lease_processes;
mod lease_sql;
