//! Reading any data file a chunk of rows at a time, in bounded memory: [`TableChunks`]
//! hands out [`Table`]s of at most a given number of rows, read with the same rules as
//! the whole-file readers (columns, header, missing cells, weights).
//!
//! - Text (plain, gzip or zstd; a file or a stream such as stdin) is read a chunk of
//!   lines at a time. The first chunk decides the delimiter and whether the first line
//!   is a header; every later chunk is parsed with that line in front, so names,
//!   `columns`, `exclude` and the weight column mean the same in every chunk. (A quoted
//!   field holding a line break is not supported across chunks.)
//! - NPY files are read by position (C or Fortran order).
//! - Parquet files are read a record batch at a time.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::compress::Compression;
use crate::error::{ReadError, Result};
use crate::file::{format_of, with_extension_delimiter, Format};
use crate::npy::NpyReader;
use crate::options::{Header, ReadOptions};
use crate::table::Table;

/// Chunks of a data file as [`Table`]s.
///
/// ```
/// use gaussmix_io::{ReadOptions, TableChunks};
///
/// let text = "x,y\n1,2\n3,4\n5,6\n";
/// let mut chunks = TableChunks::from_reader(text.as_bytes(), "<stdin>", &ReadOptions::default())?;
/// let first = chunks.next_table(2)?.unwrap();
/// assert_eq!((first.n_rows(), first.columns()), (2, &["x".to_string(), "y".to_string()][..]));
/// let second = chunks.next_table(2)?.unwrap();
/// assert_eq!(second.values(), [5.0, 6.0]);
/// assert!(chunks.next_table(2)?.is_none());
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
pub struct TableChunks {
    inner: Inner,
    /// Rows dropped for missing cells so far (`Missing::Drop`).
    dropped: usize,
}

enum Inner {
    Text(Box<TextChunks>),
    Npy {
        reader: Box<NpyReader<std::fs::File>>,
        opts: ReadOptions,
    },
    #[cfg(feature = "parquet")]
    Parquet(Box<crate::columnar::ParquetChunks>),
}

impl std::fmt::Debug for TableChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.inner {
            Inner::Text(_) => "text",
            Inner::Npy { .. } => "npy",
            #[cfg(feature = "parquet")]
            Inner::Parquet(_) => "parquet",
        };
        f.debug_struct("TableChunks")
            .field("format", &kind)
            .finish()
    }
}

impl TableChunks {
    /// Opens the file at `path`: its format by its first bytes and extension, as
    /// [`read_file`](crate::read_file) does.
    pub fn open(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let io = |source| ReadError::Io {
            file: name.clone(),
            source,
        };
        let mut f = std::fs::File::open(path).map_err(io)?;
        let mut head = Vec::with_capacity(8);
        (&mut f).take(8).read_to_end(&mut head).map_err(io)?;
        if Compression::detect(&head).is_none() {
            match format_of(&head, &name) {
                Format::Npy => {
                    return Ok(TableChunks {
                        inner: Inner::Npy {
                            reader: Box::new(NpyReader::open(path)?),
                            opts: opts.clone(),
                        },
                        dropped: 0,
                    })
                }
                #[cfg(feature = "parquet")]
                Format::Parquet => {
                    let f = std::fs::File::open(path).map_err(io)?;
                    return Ok(TableChunks {
                        inner: Inner::Parquet(Box::new(crate::columnar::ParquetChunks::new(
                            f, &name, opts,
                        )?)),
                        dropped: 0,
                    });
                }
                _ => {}
            }
        }
        let f = std::fs::File::open(path).map_err(io)?;
        Self::from_reader(f, &name, opts)
    }

    /// Text (plain, gzip or zstd) from a stream, e.g. stdin; `name` names it in
    /// messages (and its extension chooses the delimiter, as for files). NPY and
    /// Parquet need a file (they are read by position).
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        name: &str,
        opts: &ReadOptions,
    ) -> Result<Self> {
        let mut buffered = BufReader::with_capacity(1 << 16, reader);
        let head = buffered
            .fill_buf()
            .map_err(|source| ReadError::Io {
                file: name.to_string(),
                source,
            })?
            .to_vec();
        let lines: Box<dyn BufRead + Send> = match Compression::detect(&head) {
            Some(Compression::Gzip) => {
                Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(buffered)))
            }
            Some(Compression::Zstd) => Box::new(BufReader::new(
                zstd::stream::read::Decoder::with_buffer(buffered).map_err(|source| {
                    ReadError::Decompress {
                        file: name.to_string(),
                        format: "zstd",
                        source,
                    }
                })?,
            )),
            None => {
                match format_of(&head, name) {
                    Format::Text => {}
                    _ => {
                        return Err(ReadError::Options {
                            file: name.to_string(),
                            reason: "NPY and Parquet data are read from files (by position), not from a stream; save them to a file".into(),
                        })
                    }
                }
                Box::new(buffered)
            }
        };
        Ok(TableChunks {
            inner: Inner::Text(Box::new(TextChunks {
                lines,
                name: name.to_string(),
                opts: opts.clone(),
                header: None,
                started: false,
                line: 0,
                pending: None,
                done: false,
                n_cols: None,
                numbers: Vec::new(),
                header_no: 1,
            })),
            dropped: 0,
        })
    }

    /// Rows dropped for missing cells so far ([`Missing::Drop`](crate::Missing::Drop)),
    /// chunks whose rows were all dropped included.
    pub fn dropped_rows(&self) -> usize {
        self.dropped
    }

    /// The next chunk: at most `max_rows` rows (with
    /// [`Missing::Drop`](crate::Missing::Drop) a chunk may hold fewer; one whose rows
    /// were all dropped is skipped), `None` at the end.
    pub fn next_table(&mut self, max_rows: usize) -> Result<Option<Table>> {
        let max_rows = max_rows.max(1);
        loop {
            let next = match &mut self.inner {
                Inner::Text(t) => t.next(max_rows),
                Inner::Npy { reader, opts } => reader.read_table_chunk(max_rows, opts),
                #[cfg(feature = "parquet")]
                Inner::Parquet(p) => p.next(max_rows),
            };
            match next {
                // Every row of this chunk had a missing cell (dropped): on to the next.
                Err(ReadError::AllRowsDropped { rows, .. }) => self.dropped += rows,
                Ok(Some(t)) => {
                    self.dropped += t.dropped_rows().len();
                    return Ok(Some(t));
                }
                other => return other,
            }
        }
    }
}

struct TextChunks {
    lines: Box<dyn BufRead + Send>,
    name: String,
    opts: ReadOptions,
    /// The header line (with its newline), once known to be one.
    header: Option<String>,
    started: bool,
    /// Lines read so far.
    line: u64,
    /// A line read ahead (the first chunk reads one more line, in case the first is a
    /// header, and keeps it for the next chunk when it was not).
    pending: Option<(String, usize)>,
    done: bool,
    /// The first chunk's number of columns.
    n_cols: Option<usize>,
    /// The input line number of each line of the chunk's text (the header's first).
    numbers: Vec<usize>,
    /// The header line's number.
    header_no: usize,
}

/// The error with its text line numbers (of the chunk's text) turned into the input's.
fn relocate(e: ReadError, numbers: &[usize]) -> ReadError {
    relocate_with(e, |l| numbers.get(l.wrapping_sub(1)).copied().unwrap_or(l))
}

/// The error with its text line numbers mapped by `map`.
pub(crate) fn relocate_with(mut e: ReadError, map: impl Fn(usize) -> usize) -> ReadError {
    match &mut e {
        ReadError::FieldCount { line, .. }
        | ReadError::NotANumber { line, .. }
        | ReadError::NotFinite { line, .. } => *line = map(*line),
        ReadError::MissingValue {
            place: crate::error::Place::Line(l),
            ..
        } => *l = map(*l),
        _ => {}
    }
    e
}

impl TextChunks {
    fn io(&self, source: std::io::Error) -> ReadError {
        ReadError::Io {
            file: self.name.clone(),
            source,
        }
    }

    fn next(&mut self, size: usize) -> Result<Option<Table>> {
        if self.done && self.pending.is_none() {
            return Ok(None);
        }
        let mut text = String::new();
        self.numbers.clear();
        if let Some(h) = &self.header {
            text.push_str(h);
            self.numbers.push(self.header_no);
        }
        let first_line = self.line + 1 - self.pending.is_some() as u64;
        let mut rows = 0;
        if let Some((p, no)) = self.pending.take() {
            text.push_str(&p);
            self.numbers.push(no);
            rows += 1;
        }
        let want = if self.started { size } else { size + 1 };
        let mut buf = Vec::new();
        while rows < want && !self.done {
            buf.clear();
            let got = self
                .lines
                .read_until(b'\n', &mut buf)
                .map_err(|e| self.io(e))?;
            if got == 0 {
                self.done = true;
                break;
            }
            self.line += 1;
            let s = std::str::from_utf8(&buf).map_err(|e| ReadError::NotText {
                file: format!("{} line {}", self.name, self.line),
                byte: e.valid_up_to(),
            })?;
            if s.trim().is_empty() {
                continue;
            }
            text.push_str(s.trim_end_matches(['\n', '\r']));
            text.push('\n');
            self.numbers.push(self.line as usize);
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let last_line = self.line;
        let numbers = self.numbers.clone();
        let context = |e: ReadError| relocate(e, &numbers);
        if !self.started {
            self.started = true;
            self.opts = with_extension_delimiter(&self.name, &text, &self.opts);
            if self.opts.delimiter.is_none() {
                self.opts.delimiter = Some(crate::text::sniff_delimiter(&text, self.opts.decimal));
            }
        }
        let mut table =
            crate::text::parse_text_with(&text, &self.name, &self.opts).map_err(context)?;
        if self.n_cols.is_none() {
            if table.feature_names().is_some() {
                let first = text.lines().next().unwrap_or_default();
                self.header = Some(format!("{first}\n"));
                self.header_no = self.numbers.first().copied().unwrap_or(1);
                self.opts.header = Header::Yes;
            } else {
                self.opts.header = Header::No;
                if rows > size {
                    // No header: the line read ahead belongs to the next chunk.
                    let cut = text.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
                    let no = self.numbers.pop().unwrap_or(0);
                    self.pending = Some((text.split_off(cut), no));
                    table = crate::text::parse_text_with(&text, &self.name, &self.opts)
                        .map_err(context)?;
                }
            }
            self.n_cols = Some(table.source_columns().len());
        }
        let cols = table.source_columns().len();
        if Some(cols) != self.n_cols {
            return Err(ReadError::Options {
                file: format!("{} lines {first_line}–{last_line}", self.name),
                reason: format!(
                    "{cols} columns where the data started with {}",
                    self.n_cols.unwrap_or(0)
                ),
            });
        }
        Ok(Some(table))
    }
}
