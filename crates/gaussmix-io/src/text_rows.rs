//! [`TextRows`]: an uncompressed CSV/TSV file read by position, for streamed fits
//! (`Data::from_reader`): one scan at open indexes the byte offset of every 256th data
//! row; every read then parses just the blocks of rows it needs, with the file
//! readers' rules. Re-parsing text on every EM pass is slow — `gaussmix convert` to
//! `.npy` once is the fast way — but it needs no second copy of the data.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::compress::Compression;
use crate::error::{ReadError, Result};
use crate::file::{format_of, with_extension_delimiter, Format};
use crate::options::{Header, Missing, ReadOptions};
use crate::table::Table;
use crate::text::{parse_text_with, sniff_delimiter};

/// Data rows per indexed block (the core's chunk size: a fit's reads are whole blocks).
const BLOCK: usize = 256;
/// Lines the header and delimiter are decided from.
const SNIFF_LINES: usize = 1000;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// The last block each thread parsed, by reader: the init sample's single rows
    /// come sorted, so most fall in the block just parsed.
    static LAST: RefCell<(usize, usize, Vec<f64>)> = const { RefCell::new((0, 0, Vec::new())) };
}

/// An uncompressed text data file read by position (module docs).
///
/// ```
/// use gaussmix::source::RowReader;
/// use gaussmix_io::{ReadOptions, TextRows};
///
/// let path = std::env::temp_dir().join(format!("gaussmix-textrows-{}.csv", std::process::id()));
/// std::fs::write(&path, "id,x,y\n1,0.5,2\n2,1.5,3\n3,2.5,4\n").unwrap();
/// let rows = TextRows::open(&path, &ReadOptions::default().with_exclude(["id"]))?;
/// assert_eq!((rows.n_rows(), rows.n_features()), (3, 2));
/// assert_eq!(rows.feature_names(), Some(&["x".to_string(), "y".to_string()][..]));
/// let mut buf = [0.0; 4];
/// rows.read_f64(1, 3, &mut buf)?;
/// assert_eq!(buf, [1.5, 3.0, 2.5, 4.0]);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TextRows {
    file: File,
    name: String,
    opts: ReadOptions,
    /// The header line (with its newline), parsed in front of every block.
    header: Option<String>,
    /// Byte offset of data row `k·BLOCK`, and the file's length last.
    offsets: Vec<u64>,
    /// The input line (1-based) at each of those offsets.
    lines: Vec<usize>,
    n: usize,
    d: usize,
    names: Option<Vec<String>>,
    columns: Vec<String>,
    id: usize,
}

impl TextRows {
    /// Opens and indexes the file: the delimiter and header decided from its first
    /// lines (as the whole-file reader decides them), then one scan counting its data
    /// rows. Compressed files, NPY and Parquet files, `missing` drop, a weight column
    /// and kept columns are refused (they need the rows in memory or a format read by
    /// position), each saying what to do.
    pub fn open(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let refuse = |reason: String| ReadError::Options {
            file: name.clone(),
            reason,
        };
        let io = |source| ReadError::Io {
            file: name.clone(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let mut head = Vec::new();
        (&file).take(8).read_to_end(&mut head).map_err(io)?;
        if Compression::detect(&head).is_some() {
            return Err(refuse(format!(
                "a compressed file cannot be read by position; decompress it, or convert it once: gaussmix convert {name} -o data.npy"
            )));
        }
        if format_of(&head, &name) != Format::Text {
            return Err(refuse("not a text file; NPY files are read by position with NpyRows (Parquet: convert it to .npy)".into()));
        }
        if opts.missing == Missing::Drop {
            return Err(refuse(format!(
                "dropping rows with missing cells is not done while streaming (every pass must see the same rows); drop them once: gaussmix convert {name} --missing drop -o data.npy"
            )));
        }
        if opts.weight_column.is_some() || !opts.keep.is_empty() {
            return Err(refuse("a weight column or kept columns cannot be streamed from text; give the weights as a file, or convert the data".into()));
        }
        // The first lines decide the delimiter and the header, as for the whole file.
        let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?);
        let mut sample = String::new();
        let mut line = Vec::new();
        let mut taken = 0;
        while taken < SNIFF_LINES {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(io)? == 0 {
                break;
            }
            let s = std::str::from_utf8(&line).map_err(|e| ReadError::NotText {
                file: name.clone(),
                byte: e.valid_up_to(),
            })?;
            if !s.trim().is_empty() {
                sample.push_str(s.trim_end_matches(['\n', '\r']));
                sample.push('\n');
                taken += 1;
            }
        }
        let mut opts = with_extension_delimiter(&name, &sample, opts);
        if opts.delimiter.is_none() {
            opts.delimiter = Some(sniff_delimiter(&sample, opts.decimal));
        }
        let first = parse_text_with(&sample, &name, &opts)?;
        let header = first.feature_names().is_some().then(|| {
            let l = sample.lines().next().unwrap_or_default();
            format!("{l}\n")
        });
        opts.header = if header.is_some() {
            Header::Yes
        } else {
            Header::No
        };
        let names = first.feature_names().map(<[String]>::to_vec);
        let columns = first.columns().to_vec();
        let d = first.n_cols();
        // The index: one scan of the whole file.
        let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
        let mut offsets = Vec::new();
        let mut lines = Vec::new();
        let (mut pos, mut n, mut seen_header) = (0u64, 0usize, header.is_none());
        let mut line_no = 0usize;
        loop {
            line.clear();
            let got = reader.read_until(b'\n', &mut line).map_err(io)?;
            if got == 0 {
                break;
            }
            line_no += 1;
            let blank = line.iter().all(|b| b.is_ascii_whitespace());
            if !blank {
                if !seen_header {
                    seen_header = true;
                } else {
                    if n.is_multiple_of(BLOCK) {
                        offsets.push(pos);
                        lines.push(line_no);
                    }
                    n += 1;
                }
            }
            pos += got as u64;
        }
        offsets.push(pos);
        Ok(TextRows {
            file,
            name,
            opts,
            header,
            offsets,
            lines,
            n,
            d,
            names,
            columns,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The features' names, from the header (after column selection).
    pub fn feature_names(&self) -> Option<&[String]> {
        self.names.as_deref()
    }

    /// The columns read, as the whole-file reader names them (names, or 0-based
    /// indices without a header).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Block `b`'s values.
    fn block(&self, b: usize) -> Result<Vec<f64>> {
        let (start, end) = match (self.offsets.get(b), self.offsets.get(b + 1)) {
            (Some(&s), Some(&e)) => (s, e),
            _ => {
                return Err(ReadError::Options {
                    file: self.name.clone(),
                    reason: format!("block {b} is past the end of the file's {} rows", self.n),
                })
            }
        };
        let mut bytes = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        crate::npy::read_exact_at(&self.file, &mut bytes, start).map_err(|source| {
            ReadError::Io {
                file: self.name.clone(),
                source,
            }
        })?;
        let body = std::str::from_utf8(&bytes).map_err(|e| ReadError::NotText {
            file: self.name.clone(),
            byte: start as usize + e.valid_up_to(),
        })?;
        let (first, rows) = (b * BLOCK, BLOCK.min(self.n - b * BLOCK));
        // Lines of the block's text are the file's from the block's first line on
        // (blank ones included), after the header line parsed in front of them.
        let base = self.lines.get(b).copied().unwrap_or(1);
        let shift = usize::from(self.header.is_some());
        let relocate = |e: ReadError| {
            crate::chunks::relocate_with(e, |l| if l <= shift { 1 } else { base + l - 1 - shift })
        };
        let mut text = self.header.clone().unwrap_or_default();
        text.push_str(body);
        let t: Table = parse_text_with(&text, &self.name, &self.opts).map_err(relocate)?;
        if t.n_rows() != rows || t.n_cols() != self.d {
            return Err(ReadError::Options {
                file: self.name.clone(),
                reason: format!(
                    "data rows {}–{} read as {} rows × {} columns where the index has {rows} × {}: the file changed while being read",
                    first + 1,
                    first + rows,
                    t.n_rows(),
                    t.n_cols(),
                    self.d
                ),
            });
        }
        Ok(t.into_values())
    }
}

impl gaussmix::source::RowReader for TextRows {
    fn n_rows(&self) -> usize {
        self.n
    }
    fn n_features(&self) -> usize {
        self.d
    }
    fn read_f64(&self, start: usize, end: usize, buf: &mut [f64]) -> gaussmix::Result<()> {
        let d = self.d;
        if start > end || end > self.n || buf.len() != (end - start) * d {
            return Err(gaussmix::GmmError::Source {
                message: format!(
                    "{}: rows {start}..{end} asked of a file of {} rows (or the buffer is not their size)",
                    self.name, self.n
                ),
            });
        }
        let mut row = start;
        while row < end {
            let b = row / BLOCK;
            let upto = end.min((b + 1) * BLOCK);
            let out = &mut buf[(row - start) * d..(upto - start) * d];
            let from = (row - b * BLOCK) * d;
            LAST.with(|last| -> gaussmix::Result<()> {
                let mut last = last.borrow_mut();
                if !(last.0 == self.id && last.1 == b && !last.2.is_empty()) {
                    *last = (self.id, b, self.block(b)?);
                }
                out.copy_from_slice(&last.2[from..from + out.len()]);
                Ok(())
            })?;
            row = upto;
        }
        Ok(())
    }
}
