//! [`ParquetRows`]: a Parquet file read by position, for streamed fits
//! (`Data::from_reader`): rows are located by row group from the footer, and a read
//! decodes only the selected columns of a window of rows around it (kept per thread,
//! so a worker reading consecutive chunks decodes each window once per pass).

use std::cell::RefCell;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::arrow::ProjectionMask;
use parquet::file::reader::{ChunkReader, Length};

use crate::error::{ReadError, Result};
use crate::options::{Missing, ReadOptions};
use crate::select::Plan;

/// Rows decoded at a time.
const WINDOW: usize = 1 << 14;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// The last window each thread decoded: (reader, first row, values).
    static LAST: RefCell<(usize, usize, Vec<f64>)> = const { RefCell::new((0, 0, Vec::new())) };
}

/// A file read with positioned reads, safe to share between threads (parquet's own
/// `File` reader seeks a shared offset).
#[derive(Debug, Clone)]
struct Positioned(Arc<File>);

impl Length for Positioned {
    fn len(&self) -> u64 {
        self.0.metadata().map(|m| m.len()).unwrap_or(0)
    }
}

impl ChunkReader for Positioned {
    type T = PositionedRead;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        // Read lazily: the decoder takes what it needs (a page at a time), never the
        // rest of the file.
        Ok(PositionedRead {
            file: self.0.clone(),
            pos: start,
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0u8; length];
        crate::npy::read_exact_at(&self.0, &mut buf, start)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        Ok(Bytes::from(buf))
    }
}

/// A reader from an offset of a shared file, by positioned reads.
#[derive(Debug)]
pub(crate) struct PositionedRead {
    file: Arc<File>,
    pos: u64,
}

impl std::io::Read for PositionedRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = crate::npy::read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A Parquet file read by position (module docs).
#[derive(Debug)]
pub struct ParquetRows {
    file: Positioned,
    name: String,
    meta: ArrowReaderMetadata,
    plan: Plan,
    opts: ReadOptions,
    /// First row of each row group, and the row count last.
    starts: Vec<usize>,
    d: usize,
    names: Vec<String>,
    id: usize,
}

impl ParquetRows {
    /// Opens the file: its footer read, the columns chosen and their types checked as
    /// the whole-file reader does. Dropping rows with missing cells, a weight column and
    /// kept columns are refused (every pass must see the same rows, and only features
    /// are streamed).
    pub fn open(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let refuse = |reason: &str| ReadError::Options {
            file: name.clone(),
            reason: reason.to_string(),
        };
        if opts.missing == Missing::Drop {
            return Err(refuse("dropping rows with missing cells is not done while streaming (every pass must see the same rows); drop them once with gaussmix convert --missing drop"));
        }
        if opts.weight_column.is_some() || !opts.keep.is_empty() {
            return Err(refuse(
                "a weight column or kept columns cannot be streamed; give the weights as a file",
            ));
        }
        let file = Positioned(Arc::new(File::open(path).map_err(|source| {
            ReadError::Io {
                file: name.clone(),
                source,
            }
        })?));
        let err = |e: &dyn std::fmt::Display| crate::columnar::parquet_error(&name, e);
        let meta = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ArrowReaderMetadata::load(
                &file,
                // The offset index (when the file has one) lets a read skip to the
                // pages holding its rows instead of decoding the row group from its
                // start.
                ArrowReaderOptions::new()
                    .with_offset_index_policy(parquet::file::metadata::PageIndexPolicy::Optional),
            )
        }))
        .map_err(|_| err(&"the file is corrupt (the decoder failed)"))?
        .map_err(|e| err(&e))?;
        let plan = crate::columnar::checked_plan(&name, meta.schema(), opts)?;
        let mut starts = vec![0usize];
        for g in meta.metadata().row_groups() {
            let n = usize::try_from(g.num_rows()).unwrap_or(0);
            starts.push(starts.last().copied().unwrap_or(0) + n);
        }
        let d = plan.numeric().count();
        let names = plan.numeric().map(|j| plan.names[j].clone()).collect();
        Ok(ParquetRows {
            file,
            name,
            meta,
            plan,
            opts: opts.clone(),
            starts,
            d,
            names,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The features' names (the chosen columns).
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    fn total(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Rows `[a, b)` (within one row group) decoded.
    fn window(&self, a: usize, b: usize) -> Result<Vec<f64>> {
        let g = self.starts.partition_point(|&s| s <= a).saturating_sub(1);
        let g_start = self.starts.get(g).copied().unwrap_or(0);
        let name = self.name.clone();
        let err = |e: &dyn std::fmt::Display| crate::columnar::parquet_error(&name, e);
        let decode = || -> Result<crate::table::Table> {
            let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
                self.file.clone(),
                self.meta.clone(),
            );
            let mask =
                ProjectionMask::roots(builder.parquet_schema(), self.plan.used().iter().copied());
            let selection = RowSelection::from(vec![
                RowSelector::skip(a - g_start),
                RowSelector::select(b - a),
            ]);
            let batches = builder
                .with_row_groups(vec![g])
                .with_projection(mask)
                .with_row_selection(selection)
                .with_batch_size(b - a)
                .build()
                .map_err(|e| err(&e))?;
            crate::columnar::collect(&self.name, self.plan.clone(), &self.opts, batches, err, a)
        };
        let t = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
            .map_err(|_| err(&"the file is corrupt (the decoder failed)"))??;
        if t.n_rows() != b - a || t.n_cols() != self.d {
            return Err(err(&format!(
                "rows {a}..{b} decoded as {} × {}: the file changed while being read",
                t.n_rows(),
                t.n_cols()
            )));
        }
        Ok(t.into_values())
    }
}

impl gaussmix::source::RowReader for ParquetRows {
    fn n_rows(&self) -> usize {
        self.total()
    }
    fn n_features(&self) -> usize {
        self.d
    }
    fn read_f64(&self, start: usize, end: usize, buf: &mut [f64]) -> gaussmix::Result<()> {
        let d = self.d;
        if start > end || end > self.total() || buf.len() != (end - start) * d {
            return Err(gaussmix::GmmError::Source {
                message: format!(
                    "{}: rows {start}..{end} asked of a file of {} rows (or the buffer is not their size)",
                    self.name,
                    self.total()
                ),
            });
        }
        let mut row = start;
        while row < end {
            let g = self.starts.partition_point(|&s| s <= row).saturating_sub(1);
            let g_end = self.starts.get(g + 1).copied().unwrap_or(end);
            LAST.with(|last| -> gaussmix::Result<()> {
                let mut last = last.borrow_mut();
                let cached =
                    last.0 == self.id && row >= last.1 && row < last.1 + last.2.len() / d.max(1);
                if !cached {
                    let b = (row + WINDOW).min(g_end);
                    *last = (self.id, row, self.window(row, b)?);
                }
                let upto = end.min(last.1 + last.2.len() / d);
                let from = (row - last.1) * d;
                let out = &mut buf[(row - start) * d..(upto - start) * d];
                out.copy_from_slice(&last.2[from..from + out.len()]);
                row = upto;
                Ok(())
            })?;
        }
        Ok(())
    }
}
