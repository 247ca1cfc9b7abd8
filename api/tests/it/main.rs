//! Black-box tests of bangui-api over real HTTP on loopback, on every test backend.

mod accounts;
mod admin;
mod commands;
mod errors;
mod frontend;
mod health;
mod openapi;
mod scheduler;
