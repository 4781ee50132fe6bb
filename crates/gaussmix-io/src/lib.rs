//! # gaussmix-io
//!
//! Data readers for [`gaussmix`]: numeric matrices from delimited text (CSV, TSV,
//! semicolons, …, as pandas and R write them), NPY and Parquet files, plain or gzip-
//! or zstd-compressed,
//! shared by the `gaussmix` command-line tool and the Python package, kept out of the
//! core library so that it stays "numbers in, model out".
//!
//! Two ways to read, over the same parsers:
//!
//! - **Whole**, into a [`Table`] (row-major `f64` values plus a name per column):
//!   [`read_file`] picks the format by extension and first bytes; [`parse_bytes`],
//!   [`parse_text`] and [`parse_npy`] read data already in memory; [`read_npy`] and
//!   [`read_npy_f32`] read NPY files (the latter into `f32` with no `f64` copy).
//! - **In chunks**, through the core's [`ChunkSource`] trait (what streaming EM
//!   consumes): [`NpyReader`] reads rows from the file a chunk at a time, never the
//!   whole file; [`TableSource`] hands out a parsed table (text is parsed whole for
//!   now); [`FileSource`] opens either by the path. `gaussmix::source::read_all`
//!   drains any of them. The whole-file NPY readers are this reader drained, so both
//!   ways give the same values and the same errors.
//! - **A table at a time**, in bounded memory: [`TableChunks`] reads any file (or a
//!   text stream such as stdin) as [`Table`]s of at most N rows, with the whole-file
//!   readers' rules (text a chunk of lines at a time, NPY by position, Parquet a record
//!   batch at a time); `gaussmix convert` and `fit --online` read through it.
//!
//! [`ReadOptions`] say how: the delimiter (else sniffed), the header ([`Header`]),
//! columns by name, index or range (`columns`, `exclude`, a weight column, kept text
//! columns), the decimal mark and what to do with missing cells ([`Missing`]: pandas'
//! `NA` tokens, empty fields, NaN, Parquet nulls). Columns not selected are never
//! parsed. A [`Table`] also carries its weights, the dropped rows, kept columns and
//! warnings (pandas' default header, a column that looks like a row index).
//!
//! Modules are named for what they hold: `table` ([`Table`]), `options`
//! ([`ReadOptions`]), `select` (column tokens), `cell` (missing tokens, numbers),
//! `assemble` (rows into a table), `text` (delimited text, by the `csv` crate), `npy`
//! (NPY header and [`NpyReader`]), `columnar` (Parquet, feature `parquet`, on by
//! default), `compress` (gzip, zstd), `file` (format choice), `write` (NPY and
//! Parquet writers), `source` (the other [`ChunkSource`]s) and `error` ([`ReadError`]).
//!
//! Errors are one typed enum, [`ReadError`], whose messages say what is wrong, where
//! (file, line and column, or row and column, 1-based) and what to do; it converts
//! into [`gaussmix::GmmError::Source`] for the library. Nothing here panics on any
//! input: every reader returns a value or an error, and tables hold finite numbers.
//!
//! ```
//! use gaussmix::source::{read_all, ChunkSource};
//! use gaussmix_io::{parse_bytes, ReadOptions, TableSource};
//!
//! let table = parse_bytes(b"x,y\n0.5,1\n1.5,2\n", "data.csv", &ReadOptions::default())?;
//! assert_eq!((table.n_rows(), table.n_cols()), (2, 2));
//! assert_eq!(table.feature_names(), Some(&["x".to_string(), "y".to_string()][..]));
//!
//! // The same rows as a chunk source, drained by the core library.
//! let mut source = TableSource::new(table.clone(), "data.csv");
//! assert_eq!(source.n_rows_hint(), Some(2));
//! let all = read_all(&mut source)?;
//! assert_eq!(all.values, table.values());
//! let model = gaussmix::GaussianMixture::params(1).fit(&all.data()?)?;
//! assert_eq!(model.n_features(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod assemble;
mod cell;
mod chunks;
#[cfg(feature = "parquet")]
mod columnar;
mod compress;
mod error;
mod file;
mod npy;
mod options;
#[cfg(feature = "parquet")]
mod parquet_rows;
mod select;
mod source;
mod table;
mod text;
mod text_rows;
mod write;

pub use cell::MISSING_TOKENS;
pub use chunks::TableChunks;
pub use error::{Place, ReadError, Result};
pub use file::{parse_bytes, read_file};
pub use gaussmix::source::{ChunkSource, Dataset};
pub use npy::{parse_npy, read_npy, read_npy_f32, NpyReader, NpyRows, NPY_MAGIC};
pub use options::{Header, Missing, ReadOptions};
#[cfg(feature = "parquet")]
pub use parquet_rows::ParquetRows;
pub use source::{FileSource, TableSource};
pub use table::{KeptColumn, Table};
pub use text::{parse_text, parse_text_with, sniff_delimiter};
pub use text_rows::TextRows;
pub use write::{write_npy_f64, write_npy_header, write_npy_i64, NpyRowWriter};
#[cfg(feature = "parquet")]
pub use write::{write_parquet, ParquetColumn, ParquetRowWriter};
