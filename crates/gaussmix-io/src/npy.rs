//! NPY files (numpy's `np.save`): the header, and [`NpyReader`], which reads rows in
//! chunks straight from the file (never the whole file at once) and is what the
//! whole-file readers [`read_npy`], [`read_npy_f32`] and [`parse_npy`] drain.
//!
//! Supported: format versions 1–3; `float64` and `float32` (`<f8`, `>f8`, `<f4`,
//! `>f4`); C or Fortran order; 2-D arrays, and 1-D arrays as one column.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use gaussmix::source::{ChunkSource, Dataset};

use crate::assemble::{Builder, Cell};
use crate::error::{Place, ReadError, Result};
use crate::options::ReadOptions;
use crate::select::plan;
use crate::table::Table;

/// The first bytes of every NPY file.
pub const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Bytes read from the file at a time.
const SCRATCH_BYTES: usize = 1 << 16;

/// The parsed header of an NPY file.
#[derive(Debug, Clone, Copy)]
struct Header {
    n: usize,
    d: usize,
    /// Bytes per value (4 or 8).
    size: usize,
    little: bool,
    fortran: bool,
}

impl Header {
    /// Bytes of data the shape needs, if that fits in `usize`.
    fn data_bytes(&self) -> Option<usize> {
        self.n.checked_mul(self.d)?.checked_mul(self.size)
    }
}

/// The header's size and where it starts, from the preamble (magic, version, length).
fn parse_preamble(b: &[u8]) -> std::result::Result<(usize, usize), String> {
    if b.len() < 10 || !b.starts_with(NPY_MAGIC) {
        return Err("missing the \\x93NUMPY magic".into());
    }
    match (b[6], b.get(8..12)) {
        (1, _) => Ok((u16::from_le_bytes([b[8], b[9]]) as usize, 10)),
        (2 | 3, Some(&[l0, l1, l2, l3])) => Ok((u32::from_le_bytes([l0, l1, l2, l3]) as usize, 12)),
        (2 | 3, _) => Err("truncated header".into()),
        (v, _) => Err(format!("unsupported format version {v}")),
    }
}

/// Errors from the header dictionary: not an NPY file we can use.
enum HeaderError {
    Bad(String),
    Dimensions(Vec<usize>),
    Dtype(String),
}

/// Parses the header dictionary (`{'descr': '<f8', 'fortran_order': False, 'shape':
/// (3, 2), }`).
fn parse_dict(bytes: &[u8]) -> std::result::Result<Header, HeaderError> {
    let bad = |m: &str| HeaderError::Bad(m.to_string());
    let header = std::str::from_utf8(bytes).map_err(|_| bad("header is not text"))?;
    let field = |key: &str| -> Option<&str> {
        let i = header.find(&format!("'{key}'"))?;
        let rest = header.get(i + key.len() + 2..)?;
        Some(rest.trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = field("descr")
        .and_then(|r| r.strip_prefix('\''))
        .and_then(|r| r.split('\'').next())
        .ok_or_else(|| bad("no 'descr' in header"))?;
    let fortran = field("fortran_order")
        .map(|r| r.starts_with("True"))
        .ok_or_else(|| bad("no 'fortran_order' in header"))?;
    let shape_txt = field("shape")
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.split(')').next())
        .ok_or_else(|| bad("no 'shape' in header"))?;
    let dims: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| HeaderError::Bad(format!("bad shape entry {s:?}")))
        })
        .collect::<std::result::Result<_, _>>()?;
    let (n, d) = match dims.as_slice() {
        [n] => (*n, 1),
        [n, d] => (*n, *d),
        _ => return Err(HeaderError::Dimensions(dims)),
    };
    let (size, little) = match descr {
        "<f8" | "=f8" => (8, true),
        ">f8" => (8, false),
        "<f4" | "=f4" => (4, true),
        ">f4" => (4, false),
        other => return Err(HeaderError::Dtype(other.to_string())),
    };
    Ok(Header {
        n,
        d,
        size,
        little,
        fortran,
    })
}

/// A value type rows can be read into.
trait Value: Copy + Default {
    fn decode(c: &[u8], size: usize, little: bool) -> Self;
    fn is_finite(self) -> bool;
    fn non_finite(self, file: &str, row: usize, column: usize) -> ReadError;
}

/// The error for a NaN (a missing value) at `row`, `column` (1-based).
fn nan_error(file: &str, row: usize, column: usize) -> ReadError {
    ReadError::MissingValue {
        file: file.to_string(),
        place: Place::Row(row),
        column,
        column_name: (column - 1).to_string(),
        what: "(NaN)".to_string(),
    }
}

fn f32_of(c: &[u8], little: bool) -> f32 {
    let a: [u8; 4] = c.try_into().unwrap_or_default();
    if little {
        f32::from_le_bytes(a)
    } else {
        f32::from_be_bytes(a)
    }
}

fn f64_of(c: &[u8], little: bool) -> f64 {
    let a: [u8; 8] = c.try_into().unwrap_or_default();
    if little {
        f64::from_le_bytes(a)
    } else {
        f64::from_be_bytes(a)
    }
}

impl Value for f64 {
    fn decode(c: &[u8], size: usize, little: bool) -> f64 {
        if size == 4 {
            f32_of(c, little) as f64
        } else {
            f64_of(c, little)
        }
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn non_finite(self, file: &str, row: usize, column: usize) -> ReadError {
        if self.is_nan() {
            return nan_error(file, row, column);
        }
        ReadError::NonFinite {
            file: file.to_string(),
            row,
            column,
            value: self,
        }
    }
}

impl Value for f32 {
    fn decode(c: &[u8], size: usize, little: bool) -> f32 {
        if size == 4 {
            f32_of(c, little)
        } else {
            f64_of(c, little) as f32
        }
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn non_finite(self, file: &str, row: usize, column: usize) -> ReadError {
        if self.is_nan() {
            return nan_error(file, row, column);
        }
        ReadError::NonFiniteF32 {
            file: file.to_string(),
            row,
            column,
            value: self,
        }
    }
}

/// Reads an NPY file's rows in chunks, from anything readable and seekable: a
/// [`File`] ([`NpyReader::open`]) or bytes in memory (a [`Cursor`]).
///
/// Opening reads and checks the header (dtype, shape, and that the file holds exactly
/// the data the shape says, so that nothing is read past a lie); rows are then
/// decoded as they are read, a chunk at a time, in f64 or f32, and refused if not
/// finite. Fortran-order files are read column by column within each chunk.
///
/// ```
/// use gaussmix::source::ChunkSource;
/// use gaussmix_io::NpyReader;
///
/// // np.save of np.array([[1., 2.], [3., 4.], [5., 6.]])
/// let mut file = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
/// let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
/// file.extend(format!("{header:<117}\n").bytes());
/// for v in [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0] {
///     file.extend(v.to_le_bytes());
/// }
///
/// let mut r = NpyReader::new(std::io::Cursor::new(&file), "a.npy")?;
/// assert_eq!(r.shape(), (3, 2));
/// let mut buf = [0.0; 4]; // two rows at a time
/// assert_eq!(r.next_chunk(&mut buf)?, 2);
/// assert_eq!(buf, [1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(r.next_chunk(&mut buf)?, 1);
/// assert_eq!(buf[..2], [5.0, 6.0]);
/// assert_eq!(r.next_chunk(&mut buf)?, 0);
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
pub struct NpyReader<R> {
    reader: R,
    file: String,
    header: Header,
    /// Stream position of the first value.
    data_start: u64,
    /// The next row to hand out.
    row: usize,
    scratch: Vec<u8>,
}

impl<R> std::fmt::Debug for NpyReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyReader")
            .field("file", &self.file)
            .field("shape", &(self.header.n, self.header.d))
            .field("bytes_per_value", &self.header.size)
            .field("fortran_order", &self.header.fortran)
            .field("next_row", &self.row)
            .finish_non_exhaustive()
    }
}

impl NpyReader<File> {
    /// Opens the NPY file at `path` and reads its header.
    ///
    /// ```
    /// let e = gaussmix_io::NpyReader::open("no/such/file.npy").unwrap_err();
    /// assert!(e.to_string().starts_with("cannot read data file no/such/file.npy: "));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = path.display().to_string();
        match File::open(path) {
            Ok(f) => NpyReader::new(f, file),
            Err(source) => Err(ReadError::Io { file, source }),
        }
    }
}

impl<R: Read + Seek> NpyReader<R> {
    /// Reads the header of the NPY data that starts at `reader`'s current position and
    /// runs to its end; `file` names it in error messages.
    pub fn new(mut reader: R, file: impl Into<String>) -> Result<Self> {
        let file = file.into();
        let io = |source: std::io::Error| ReadError::Io {
            file: file.clone(),
            source,
        };
        let bad = |reason: String| ReadError::BadNpy {
            file: file.clone(),
            reason,
        };
        let base = reader.stream_position().map_err(io)?;
        let len = reader
            .seek(SeekFrom::End(0))
            .map_err(io)?
            .saturating_sub(base);
        reader.seek(SeekFrom::Start(base)).map_err(io)?;
        let mut pre = vec![0u8; len.min(12) as usize];
        reader.read_exact(&mut pre).map_err(io)?;
        let (hlen, start) = parse_preamble(&pre).map_err(bad)?;
        let end = start
            .checked_add(hlen)
            .filter(|e| *e as u64 <= len)
            .ok_or_else(|| bad("header longer than the file".into()))?;
        let mut dict = vec![0u8; hlen];
        reader
            .seek(SeekFrom::Start(base + start as u64))
            .map_err(io)?;
        reader.read_exact(&mut dict).map_err(io)?;
        let header = parse_dict(&dict).map_err(|e| match e {
            HeaderError::Bad(reason) => bad(reason),
            HeaderError::Dimensions(shape) => ReadError::Dimensions {
                file: file.clone(),
                shape,
            },
            HeaderError::Dtype(descr) => ReadError::Dtype {
                file: file.clone(),
                descr,
            },
        })?;
        let need = header
            .data_bytes()
            .ok_or_else(|| bad("shape overflows".into()))?;
        let have = len - end as u64;
        if have != need as u64 {
            return Err(ReadError::SizeMismatch {
                file,
                rows: header.n,
                cols: header.d,
                expected_bytes: need,
                actual_bytes: have,
            });
        }
        if header.n == 0 || header.d == 0 {
            return Err(ReadError::EmptyArray {
                file,
                rows: header.n,
                cols: header.d,
            });
        }
        let data_start = base + end as u64;
        reader.seek(SeekFrom::Start(data_start)).map_err(io)?;
        Ok(NpyReader {
            reader,
            file,
            header,
            data_start,
            row: 0,
            scratch: vec![0u8; need.min(SCRATCH_BYTES)],
        })
    }

    /// The array's shape: rows and columns (a 1-D array is one column).
    pub fn shape(&self) -> (usize, usize) {
        (self.header.n, self.header.d)
    }

    /// Whether the file holds float32 (`f4`) values, which read as f32 without any
    /// rounding.
    pub fn is_f32(&self) -> bool {
        self.header.size == 4
    }

    /// Whether the values are stored column by column (Fortran order with more than one
    /// column; with one column both orders are the same).
    pub fn is_fortran_order(&self) -> bool {
        self.header.fortran && self.header.d > 1
    }

    /// The name used in error messages.
    pub fn file(&self) -> &str {
        &self.file
    }

    fn io(&self, source: std::io::Error) -> ReadError {
        ReadError::Io {
            file: self.file.clone(),
            source,
        }
    }

    /// Reads `count` values from the current position into every `stride`-th slot of
    /// `out` from `first` on.
    fn read_strided<T: Value>(
        &mut self,
        out: &mut [T],
        first: usize,
        stride: usize,
        count: usize,
    ) -> Result<()> {
        let Header { size, little, .. } = self.header;
        let per = (self.scratch.len() / size).max(1);
        if self.scratch.len() < size {
            self.scratch.resize(size, 0);
        }
        let mut slots = out.iter_mut().skip(first).step_by(stride.max(1));
        let mut left = count;
        while left > 0 {
            let take = per.min(left);
            let bytes = &mut self.scratch[..take * size];
            if let Err(e) = self.reader.read_exact(bytes) {
                return Err(self.io(e));
            }
            // The bytes first: `zip` pulls its left side first, so a slot iterator on
            // the left would lose one slot at the end of every block.
            for (c, slot) in bytes.chunks_exact(size).zip(&mut slots) {
                *slot = T::decode(c, size, little);
            }
            left -= take;
        }
        Ok(())
    }

    /// Reads the next rows into `buf`; after an error, nothing more (the position in
    /// the file is no longer known to be at a row's start).
    fn read_rows<T: Value>(&mut self, buf: &mut [T]) -> Result<usize> {
        self.read_rows_checked(buf, true)
    }

    fn read_rows_checked<T: Value>(&mut self, buf: &mut [T], check: bool) -> Result<usize> {
        let read = self.try_read_rows(buf, check);
        if read.is_err() {
            self.row = self.header.n;
        }
        read
    }

    fn try_read_rows<T: Value>(&mut self, buf: &mut [T], check: bool) -> Result<usize> {
        let Header { n, d, size, .. } = self.header;
        let rows = (buf.len() / d).min(n.saturating_sub(self.row));
        if rows == 0 {
            return Ok(0);
        }
        let out = &mut buf[..rows * d];
        if self.is_fortran_order() {
            for j in 0..d {
                // Column j's values for these rows: n·j + row onwards (all < n·d, and
                // n·d·size fits: the header's size was checked).
                let at = (j * n + self.row) * size;
                let pos = self.data_start + at as u64;
                if let Err(e) = self.reader.seek(SeekFrom::Start(pos)) {
                    return Err(self.io(e));
                }
                self.read_strided(out, j, d, rows)?;
            }
        } else {
            self.read_strided(out, 0, 1, rows * d)?;
        }
        if let Some(p) = out.iter().position(|v| check && !v.is_finite()) {
            let row = self.row + p / d + 1;
            return Err(out[p].non_finite(&self.file, row, p % d + 1));
        }
        self.row += rows;
        Ok(rows)
    }

    /// Reads every remaining row into a [`Table`] (columns named `"0"`, `"1"`, …).
    pub fn read_table(mut self) -> Result<Table> {
        let (n, d) = (self.header.n - self.row, self.header.d);
        let mut values = vec![0.0f64; n * d];
        let got = self.read_rows(&mut values)?;
        Table::new(values, got, d, None)
    }

    /// Reads every remaining row as [`ReadOptions`] say: the columns by index
    /// (`columns`, `exclude`, `keep`, `weight_column`; names are `"0"`, `"1"`, …), NaN
    /// as a missing value under `missing` (the other options are for text).
    ///
    /// ```
    /// use gaussmix_io::{Missing, NpyReader, ReadOptions};
    ///
    /// let mut file = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    /// file.extend(format!("{:<117}\n", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }").bytes());
    /// for v in [1.0f64, f64::NAN, 3.0, 4.0] {
    ///     file.extend(v.to_le_bytes());
    /// }
    /// let opts = ReadOptions::default().with_missing(Missing::Drop);
    /// let t = NpyReader::new(std::io::Cursor::new(&file), "a.npy")?.read_table_with(&opts)?;
    /// assert_eq!((t.values(), t.dropped_rows()), (&[3.0, 4.0][..], &[0][..]));
    /// let opts = ReadOptions::default().with_columns(["0"]);
    /// let t = NpyReader::new(std::io::Cursor::new(&file), "a.npy")?.read_table_with(&opts)?;
    /// assert_eq!(t.values(), [1.0, 3.0]);
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn read_table_with(mut self, opts: &ReadOptions) -> Result<Table> {
        let n = self.header.n - self.row;
        self.table_of(n, opts)
    }

    /// The next (at most) `max_rows` rows as a [`Table`], as
    /// [`read_table_with`](Self::read_table_with) reads them (row numbers in errors
    /// count from the file's first row); `None` after the last row.
    pub fn read_table_chunk(
        &mut self,
        max_rows: usize,
        opts: &ReadOptions,
    ) -> Result<Option<Table>> {
        let n = (self.header.n - self.row).min(max_rows);
        if n == 0 {
            return Ok(None);
        }
        self.table_of(n, opts).map(Some)
    }

    fn table_of(&mut self, n: usize, opts: &ReadOptions) -> Result<Table> {
        let d = self.header.d;
        let mut values = vec![0.0f64; n * d];
        let got = self.read_rows_checked(&mut values, false)?;
        let names = (0..d).map(|j| j.to_string()).collect();
        let plan = plan(&self.file, names, opts, |_| false)?;
        let mut b = Builder::new(&self.file, plan, false, opts.missing);
        for (i, row) in values.chunks_exact(d).take(got).enumerate() {
            let file = &self.file;
            b.push(
                Place::Row(self.row - got + i + 1),
                |j| {
                    let v = row[j];
                    if v.is_nan() {
                        Ok(Cell::Missing("(NaN)".into()))
                    } else if v.is_finite() {
                        Ok(Cell::Number(v))
                    } else {
                        Err(v.non_finite(file, self.row - got + i + 1, j + 1))
                    }
                },
                |j| row[j].to_string(),
            )?;
        }
        b.finish()
    }

    /// Reads every remaining row in f32: `f4` data as it is, `f8` data rounded.
    pub fn read_f32(mut self) -> Result<Dataset<f32>> {
        let (n, d) = (self.header.n - self.row, self.header.d);
        let mut values = vec![0.0f32; n * d];
        let got = self.read_rows(&mut values)?;
        values.truncate(got * d);
        Ok(Dataset {
            values,
            n_rows: got,
            n_features: d,
            feature_names: None,
        })
    }
}

impl<R: Read + Seek> ChunkSource for NpyReader<R> {
    type Error = ReadError;

    fn n_features(&self) -> usize {
        self.header.d
    }

    fn n_rows_hint(&self) -> Option<usize> {
        Some(self.header.n.saturating_sub(self.row))
    }

    fn next_chunk(&mut self, buf: &mut [f64]) -> Result<usize> {
        self.read_rows(buf)
    }

    fn next_chunk_f32(&mut self, buf: &mut [f32]) -> Result<usize> {
        self.read_rows(buf)
    }
}

/// Reads the NPY file at `path` into a [`Table`], decoding values as they stream in
/// (memory holds one copy of the data, not the file's bytes as well).
///
/// ```
/// let e = gaussmix_io::read_npy("no/such/file.npy").unwrap_err();
/// assert!(matches!(e, gaussmix_io::ReadError::Io { .. }));
/// ```
pub fn read_npy(path: impl AsRef<Path>) -> Result<Table> {
    NpyReader::open(path)?.read_table()
}

/// Reads the NPY file at `path` straight into f32: `f4` files without any conversion,
/// `f8` files rounded as they stream in (a value beyond f32's range is an error).
///
/// ```
/// let e = gaussmix_io::read_npy_f32("no/such/file.npy").unwrap_err();
/// assert!(e.to_string().contains("no/such/file.npy"));
/// ```
pub fn read_npy_f32(path: impl AsRef<Path>) -> Result<Dataset<f32>> {
    NpyReader::open(path)?.read_f32()
}

/// Parses NPY data held in memory; `name` says where it came from in error messages.
///
/// ```
/// let mut b = b"\x93NUMPY\x01\x00\x46\x00".to_vec();
/// b.extend(format!("{:<69}\n", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }").bytes());
/// b.extend(1.5f32.to_be_bytes());
/// b.extend(2.5f32.to_be_bytes());
/// let t = gaussmix_io::parse_npy(&b, "mem")?;
/// assert_eq!((t.n_rows(), t.n_cols(), t.values()), (2, 1, &[1.5, 2.5][..]));
///
/// let e = gaussmix_io::parse_npy(b"\x93NUMPY", "mem").unwrap_err();
/// assert_eq!(e.to_string(), "mem: not a valid .npy file: missing the \\x93NUMPY magic");
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
pub fn parse_npy(bytes: &[u8], name: &str) -> Result<Table> {
    NpyReader::new(Cursor::new(bytes), name)?.read_table()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn npy(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
        let mut h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((h.len() as u16).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend(body);
        b
    }

    #[test]
    fn orders_and_dtypes() {
        let body: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let c = parse_npy(&npy("<f8", false, "(3, 2)", &body), "t").unwrap();
        assert_eq!(c.values(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let f = parse_npy(&npy("<f8", true, "(3, 2)", &body), "t").unwrap();
        assert_eq!(f.values(), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let body32: Vec<u8> = [1.5f32, 2.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let s = parse_npy(&npy("<f4", false, "(2,)", &body32), "t").unwrap();
        assert_eq!(
            (s.n_rows(), s.n_cols(), s.values()),
            (2, 1, &[1.5, 2.5][..])
        );
        let e = parse_npy(&npy("<f8", false, "(4, 2)", &body), "t").unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    /// Regression: files larger than the 64 KiB read block lost one value at every block
    /// boundary (a zip that pulled the slot before the bytes), shifting every later value:
    /// a 100,000 × 8 file scored −24.3 instead of −21.8. Every value of files spanning
    /// many blocks, C and Fortran order, f8 and f4, is read where it belongs.
    #[test]
    fn files_beyond_one_read_block_keep_every_value() {
        for (n, d) in [(1025usize, 8usize), (3000, 7), (20_000, 1)] {
            let values: Vec<f64> = (0..n * d).map(|i| i as f64 * 0.5 - 7.0).collect();
            let body: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let shape = format!("({n}, {d})");
            let c = parse_npy(&npy("<f8", false, &shape, &body), "t").unwrap();
            assert_eq!(c.values(), &values[..], "C order {n}×{d}");
            // Fortran order: the same bytes are the columns one after another.
            let f = parse_npy(&npy("<f8", true, &shape, &body), "t").unwrap();
            let want: Vec<f64> = (0..n * d).map(|p| values[(p % d) * n + p / d]).collect();
            assert_eq!(f.values(), &want[..], "Fortran order {n}×{d}");
            let body32: Vec<u8> = values
                .iter()
                .flat_map(|v| (*v as f32).to_le_bytes())
                .collect();
            let s = parse_npy(&npy("<f4", false, &shape, &body32), "t").unwrap();
            assert_eq!(s.values(), &values[..], "f4 {n}×{d}");
        }
    }

    #[test]
    fn version_2_and_big_endian() {
        let h = "{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }\n";
        let mut b = b"\x93NUMPY\x02\x00".to_vec();
        b.extend((h.len() as u32).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend(0.25f64.to_be_bytes());
        b.extend((-3.0f64).to_be_bytes());
        let t = parse_npy(&b, "t").unwrap();
        assert_eq!(t.values(), [0.25, -3.0]);
    }

    #[test]
    fn messages_are_the_clis() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"short".to_vec(), "t: not a valid .npy file: missing the \\x93NUMPY magic"),
            (b"\x93NUMPY\x02\x00\x00\x00".to_vec(), "t: not a valid .npy file: truncated header"),
            (b"\x93NUMPY\x04\x00\x00\x00".to_vec(), "t: not a valid .npy file: unsupported format version 4"),
            (b"\x93NUMPY\x01\x00\xff\x00{".to_vec(), "t: not a valid .npy file: header longer than the file"),
            (npy("<f8", false, "(1, 1, 1)", &[0; 8]), "t: the array has 3 dimensions ([1, 1, 1]); expected a 2-D matrix (samples × features)"),
            (npy("<i8", false, "(1, 1)", &[0; 8]), "t: unsupported dtype \"<i8\"; save the array as float64 or float32"),
            (npy("<f8", false, "(x, 1)", &[0; 8]), "t: not a valid .npy file: bad shape entry \"x\""),
            (npy("<f8", false, "(10, 2)", &[0; 24]), "t: the header declares shape (10, 2) = 160 bytes of data but the file holds 24; the file is truncated or corrupt"),
            (npy("<f8", false, "(0, 2)", &[]), "t: the array is empty (shape (0, 2))"),
            (npy("<f8", false, "(18446744073709551615, 2)", &[]), "t: not a valid .npy file: shape overflows"),
            (npy("<f8", false, "(2, 1)", &[[0; 8], f64::NAN.to_le_bytes()].concat()), "t: row 2, column 1 (0): missing value (NaN); remove or impute missing values, or pass missing drop to skip incomplete rows"),
            (npy("<f8", false, "(2, 1)", &[[0; 8], f64::INFINITY.to_le_bytes()].concat()), "t: row 2, column 1 (1-based) is inf; remove or impute missing and infinite values"),
        ];
        for (bytes, want) in cases {
            assert_eq!(parse_npy(&bytes, "t").unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn f32_reading_refuses_values_beyond_f32() {
        let body: Vec<u8> = [1.0f64, 1e300]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let b = npy("<f8", true, "(1, 2)", &body);
        let r = NpyReader::new(Cursor::new(&b), "t").unwrap();
        let e = r.read_f32().unwrap_err();
        assert_eq!(
            e.to_string(),
            "t: row 1, column 2 (1-based) is inf in f32; remove or impute missing and infinite values, or read the data as f64"
        );
    }
}

/// The rows of a C-order NPY file, read by position on demand: what a streamed fit
/// ([`gaussmix::Data::from_reader`]) reads on every pass, so that the matrix is never
/// held in memory.
///
/// Reads are positioned reads (`pread`) of exactly the rows asked for, into a small
/// per-thread buffer: no memory map (whose pages would count against the process's
/// resident memory as the file is swept), no shared file position (each worker reads
/// its own rows concurrently). The operating system reads ahead on each worker's
/// sequential reads, so reading overlaps computing. Values are decoded as read and a
/// non-finite one is an error naming its row and column.
///
/// Only C-order files stream (a row of a Fortran-order file is scattered over the
/// whole file); Fortran-order ones are refused, saying how to make a C-order copy.
///
/// ```no_run
/// use std::sync::Arc;
/// use gaussmix::{Data, GaussianMixture};
/// use gaussmix_io::NpyRows;
///
/// let rows = NpyRows::open("big.npy")?;
/// let data = Data::from_reader(Arc::new(rows))?;
/// let model = GaussianMixture::params(32).init_sample(100_000).fit(&data)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NpyRows {
    file: File,
    name: String,
    header: Header,
    data_start: u64,
}

impl std::fmt::Debug for NpyRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyRows")
            .field("file", &self.name)
            .field("shape", &(self.header.n, self.header.d))
            .field("bytes_per_value", &self.header.size)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// Each reading thread's bytes buffer, kept across reads.
    static ROW_BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl NpyRows {
    /// Opens the NPY file at `path`, checks its header (dtype, shape, size, C order).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let r = NpyReader::open(path)?;
        if r.header.fortran {
            return Err(ReadError::Options {
                file: r.file,
                reason: "Fortran-order arrays cannot be streamed (each row is spread over \
                         the whole file); write a C-order copy with `gaussmix convert FILE \
                         -o copy.npy` (or np.save(path, np.ascontiguousarray(x))), or fit \
                         without --stream"
                    .into(),
            });
        }
        Ok(NpyRows {
            file: r.reader,
            name: r.file,
            header: r.header,
            data_start: r.data_start,
        })
    }

    /// The array's shape: rows and columns.
    pub fn shape(&self) -> (usize, usize) {
        (self.header.n, self.header.d)
    }

    /// Whether the file holds f32 values.
    pub fn is_f32(&self) -> bool {
        self.header.size == 4
    }

    /// Reads rows `[start, end)` and hands each value, decoded, to `put(index, value)`;
    /// the first non-finite value is an error.
    fn read_with<T: Value>(
        &self,
        start: usize,
        end: usize,
        out: &mut [T],
    ) -> std::result::Result<(), ReadError> {
        let (d, size) = (self.header.d, self.header.size);
        let values = end
            .checked_sub(start)
            .and_then(|r| r.checked_mul(d))
            .filter(|v| *v == out.len() && end <= self.header.n)
            .ok_or_else(|| ReadError::Options {
                file: self.name.clone(),
                reason: format!(
                    "rows {start}..{end} asked of a file of {} rows (or the buffer is not \
                     their size)",
                    self.header.n
                ),
            })?;
        let offset = self.data_start + (start as u64) * (d as u64) * (size as u64);
        ROW_BYTES.with(|b| {
            let mut bytes = b.borrow_mut();
            bytes.resize(values * size, 0);
            read_exact_at(&self.file, &mut bytes, offset).map_err(|source| {
                let source = if source.kind() == std::io::ErrorKind::UnexpectedEof {
                    std::io::Error::other(
                        "the file is shorter than its header says: it was truncated or \
                         replaced while being read",
                    )
                } else {
                    source
                };
                ReadError::Io {
                    file: self.name.clone(),
                    source,
                }
            })?;
            for (i, (o, c)) in out.iter_mut().zip(bytes.chunks_exact(size)).enumerate() {
                let v = T::decode(c, size, self.header.little);
                if !v.is_finite() {
                    return Err(v.non_finite(&self.name, start + i / d + 1, i % d + 1));
                }
                *o = v;
            }
            Ok(())
        })
    }
}

/// One positioned read: the bytes read (0 at the end of the file).
#[cfg(all(unix, feature = "parquet"))]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// One positioned read: the bytes read (0 at the end of the file).
#[cfg(all(windows, feature = "parquet"))]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(
    file: &File,
    mut buf: &mut [u8],
    mut offset: u64,
) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file ended early",
                ))
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl gaussmix::source::RowReader for NpyRows {
    fn n_rows(&self) -> usize {
        self.header.n
    }
    fn n_features(&self) -> usize {
        self.header.d
    }
    fn is_f32(&self) -> bool {
        NpyRows::is_f32(self)
    }
    fn read_f64(&self, start: usize, end: usize, buf: &mut [f64]) -> gaussmix::Result<()> {
        self.read_with(start, end, buf).map_err(Into::into)
    }
    fn read_f32(&self, start: usize, end: usize, buf: &mut [f32]) -> gaussmix::Result<()> {
        self.read_with(start, end, buf).map_err(Into::into)
    }
}
