//! The `gaussmix` command-line tool as a library: the binary is a thin wrapper, and the
//! readers are reusable (and fuzzed) on their own.

pub mod cli;
mod commands;
mod demo;
pub mod error;
pub mod output;
mod plot;
mod progress;
pub mod read;
mod select_cmd;

pub use cli::{DataArgs, FitArgs, SelectArgs};
