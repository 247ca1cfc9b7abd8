//! Black-box tests of the scheduler: the lease SQL on real databases, and real
//! `bangui-scheduler` processes competing for the lease. Every test runs on each backend
//! of `shared::testing::backends()` (SQLite and PostgreSQL by default).

mod common;
mod fail2ban_e2e;
mod history;
mod lease_processes;
mod lease_sql;
mod rehearsal;
mod stack;
