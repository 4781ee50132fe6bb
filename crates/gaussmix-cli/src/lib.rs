//! The `gaussmix` command-line tool as a library: the binary is a thin wrapper. The
//! data readers live in the `gaussmix-io` crate (shared with the Python package);
//! `read` adapts them to the command line.

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
