//! Executing the command queue the API fills.

pub mod executor;
