//! The `gaussmix` command-line tool as a library: the binary is a thin wrapper.
//!
//! The data path: `cli` (flags) → `input` (data files through the `gaussmix-io`
//! readers, model files, column matching) → the commands (`fit_cmd`, `online_cmd` for
//! `fit --online`, `convert_cmd`, `select_cmd`,
//! `apply_cmd` for predict/score/sample/plot, `info_cmd`, `demo`) → `summary` (what
//! people read: summaries, JSON, warnings) and `output` (files written atomically,
//! stdout, CSV/NPY/Parquet).

mod apply_cmd;
pub mod cli;
mod convert_cmd;
mod demo;
pub mod error;
mod fit_cmd;
mod info_cmd;
pub mod input;
mod online_cmd;
pub mod output;
mod plot;
mod progress;
mod select_cmd;
pub mod summary;

pub use cli::{
    ApplyArgs, ConvertArgs, DataArgs, EmArgs, FitArgs, FitFlags, FrameArgs, OnlineArgs, PanelArgs,
    SelectArgs,
};
