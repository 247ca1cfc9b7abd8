//! This crate holds no code of its own: its `tests/` run BanGUI end to end (the API, the
//! scheduler and a real fail2ban together) and its `benches/` measure the whole system.
//! Helpers they share live in `testkit`.
