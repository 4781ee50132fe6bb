//! [`ChunkSource`] implementations beyond the NPY reader: [`TableSource`] hands out a
//! [`Table`] already in memory (how text is streamed for now: parsed whole, then
//! chunked), and [`FileSource`] opens any data file as the right source.

use std::fs::File;
use std::path::Path;

use gaussmix::source::ChunkSource;

use crate::error::{ReadError, Result};
use crate::file::{extension, read_file};
use crate::npy::NpyReader;
use crate::options::ReadOptions;
use crate::table::Table;

/// A [`ChunkSource`] over a [`Table`] in memory; its feature names are the table's
/// (`None` without a header).
///
/// ```
/// use gaussmix::source::ChunkSource;
/// use gaussmix_io::{parse_text, TableSource};
///
/// let t = parse_text("a,b\n1,2\n3,4\n5,6\n", ',', "d.csv")?;
/// let mut s = TableSource::new(t, "d.csv");
/// assert_eq!(s.feature_names(), Some(&["a".to_string(), "b".to_string()][..]));
/// let mut buf = [0.0f32; 5]; // room for two rows (the fifth slot stays unused)
/// assert_eq!(s.next_chunk_f32(&mut buf)?, 2);
/// assert_eq!(buf[..4], [1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(s.n_rows_hint(), Some(1));
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TableSource {
    table: Table,
    file: String,
    /// The next row to hand out.
    row: usize,
}

impl TableSource {
    /// Hands out `table`'s rows; `file` names it in error messages.
    pub fn new(table: Table, file: impl Into<String>) -> Self {
        TableSource {
            table,
            file: file.into(),
            row: 0,
        }
    }

    /// The rows that fit in `room` values, and their values.
    fn take(&mut self, room: usize) -> (usize, &[f64]) {
        let d = self.table.n_cols();
        let rows = (room / d).min(self.table.n_rows().saturating_sub(self.row));
        let start = self.row * d;
        self.row += rows;
        let values = self
            .table
            .values()
            .get(start..start + rows * d)
            .unwrap_or_default();
        (rows, values)
    }
}

impl ChunkSource for TableSource {
    type Error = ReadError;

    fn n_features(&self) -> usize {
        self.table.n_cols()
    }

    fn feature_names(&self) -> Option<&[String]> {
        self.table.feature_names()
    }

    fn n_rows_hint(&self) -> Option<usize> {
        Some(self.table.n_rows().saturating_sub(self.row))
    }

    fn next_chunk(&mut self, buf: &mut [f64]) -> Result<usize> {
        let first_row = self.row;
        let d = self.table.n_cols();
        let (rows, values) = self.take(buf.len());
        if let Some(p) = values.iter().position(|v| !v.is_finite()) {
            let (row, column, value) = (first_row + p / d + 1, p % d + 1, values[p]);
            self.row = self.table.n_rows();
            return Err(ReadError::NonFinite {
                file: self.file.clone(),
                row,
                column,
                value,
            });
        }
        buf[..values.len()].copy_from_slice(values);
        Ok(rows)
    }

    fn next_chunk_f32(&mut self, buf: &mut [f32]) -> Result<usize> {
        let first_row = self.row;
        let d = self.table.n_cols();
        let (rows, values) = self.take(buf.len());
        for (o, v) in buf.iter_mut().zip(values) {
            *o = *v as f32;
        }
        if let Some(p) = buf[..values.len()].iter().position(|v| !v.is_finite()) {
            let (row, column, value) = (first_row + p / d + 1, p % d + 1, buf[p]);
            self.row = self.table.n_rows();
            return Err(ReadError::NonFiniteF32 {
                file: self.file.clone(),
                row,
                column,
                value,
            });
        }
        Ok(rows)
    }
}

/// Any data file as a [`ChunkSource`]: uncompressed `.npy` files read with plain
/// options (every column, missing values an error) stream from disk through
/// [`NpyReader`]; other files are read whole by [`read_file`] and handed out by a
/// [`TableSource`].
///
/// ```
/// use gaussmix::source::{read_all, ChunkSource};
/// use gaussmix_io::{FileSource, ReadOptions};
///
/// let dir = std::env::temp_dir().join(format!("gaussmix-io-src-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("d.csv");
/// std::fs::write(&path, "x,y\n1,2\n3,4\n").unwrap();
///
/// let mut source = FileSource::open(&path, &ReadOptions::default())?;
/// assert_eq!(source.n_features(), 2);
/// let all = read_all(&mut source).unwrap();
/// assert_eq!(all.values, [1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(all.feature_names, Some(vec!["x".to_string(), "y".to_string()]));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
#[derive(Debug)]
pub struct FileSource(Inner);

#[derive(Debug)]
enum Inner {
    Npy(NpyReader<File>),
    Table(TableSource),
}

impl FileSource {
    /// Opens the data file at `path`: reads an NPY file's header, or a text file whole.
    pub fn open(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let plain_npy = extension(&name) == "npy" && opts.is_plain() && {
            let mut head = [0u8; 6];
            File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .is_ok_and(|_| head == *crate::npy::NPY_MAGIC)
        };
        Ok(FileSource(if plain_npy {
            Inner::Npy(NpyReader::open(path)?)
        } else {
            let table = read_file(path, opts)?;
            Inner::Table(TableSource::new(table, path.display().to_string()))
        }))
    }
}

impl ChunkSource for FileSource {
    type Error = ReadError;

    fn n_features(&self) -> usize {
        match &self.0 {
            Inner::Npy(s) => s.n_features(),
            Inner::Table(s) => s.n_features(),
        }
    }

    fn feature_names(&self) -> Option<&[String]> {
        match &self.0 {
            Inner::Npy(s) => s.feature_names(),
            Inner::Table(s) => s.feature_names(),
        }
    }

    fn n_rows_hint(&self) -> Option<usize> {
        match &self.0 {
            Inner::Npy(s) => s.n_rows_hint(),
            Inner::Table(s) => s.n_rows_hint(),
        }
    }

    fn next_chunk(&mut self, buf: &mut [f64]) -> Result<usize> {
        match &mut self.0 {
            Inner::Npy(s) => s.next_chunk(buf),
            Inner::Table(s) => s.next_chunk(buf),
        }
    }

    fn next_chunk_f32(&mut self, buf: &mut [f32]) -> Result<usize> {
        match &mut self.0 {
            Inner::Npy(s) => s.next_chunk_f32(buf),
            Inner::Table(s) => s.next_chunk_f32(buf),
        }
    }
}
