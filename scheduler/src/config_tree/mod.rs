//! fail2ban's configuration as fail2ban reads it (ADR 0008, issue #18). Built bottom-up:
//! `ini` reads one file; the tree (file order, includes, `[DEFAULT]`, interpolation,
//! jails) comes next.

pub mod defs;
pub mod files;
pub mod ini;
pub mod interpolate;
pub mod jails;
