//! Output: where results go (a file written atomically, or stdout for `-`), in which
//! format (CSV, or binary `.npy`/`.parquet` by extension), and fast number formatting.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};

/// Shortest text that reads back as the same f64.
pub fn num(v: f64) -> String {
    ryu::Buffer::new().format(v).to_string()
}

/// Whether `-o` means stdout: absent or `-`.
pub fn is_stdout(out: Option<&Path>) -> bool {
    out.is_none_or(|p| p.as_os_str() == "-")
}

/// The format an output path asks for by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated text with a header row (also stdout).
    Csv,
    /// NumPy `.npy`: int64 labels or float64 values.
    Npy,
    /// Apache Parquet, one column per CSV column.
    Parquet,
}

impl Format {
    /// The format `-o` asks for (CSV on stdout and for any other extension).
    pub fn of(out: Option<&Path>) -> Format {
        if is_stdout(out) {
            return Format::Csv;
        }
        let ext = out
            .and_then(|p| p.extension())
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("npy") => Format::Npy,
            Some("parquet") | Some("pq") => Format::Parquet,
            _ => Format::Csv,
        }
    }
}

/// One column of a tabular output: floats (NaN where a row was dropped), labels (−1
/// where dropped) or text (an input column copied with `--keep`).
pub enum Column<'a> {
    /// Floating-point values.
    F64(&'a [f64]),
    /// Column `col` of a row-major matrix `width` wide (probabilities: no copy).
    Matrix(&'a [f64], usize, usize),
    /// Integer labels.
    I64(&'a [i64]),
    /// Text copied from the input.
    Text(&'a [String]),
}

/// Row `i` of a float column.
fn value(c: &Column, i: usize) -> f64 {
    match c {
        Column::F64(v) => v[i],
        Column::Matrix(v, width, col) => v[i * width + col],
        Column::I64(v) => v[i] as f64,
        Column::Text(_) => f64::NAN,
    }
}

/// CSV rows formatted into a byte buffer: shortest round-trip numbers (ryu), integers
/// (itoa), RFC 4180 quoting only where needed, no allocation per value.
struct Rows {
    buf: Vec<u8>,
    ryu: ryu::Buffer,
    itoa: itoa::Buffer,
}

impl Rows {
    fn new(capacity: usize) -> Self {
        Rows {
            buf: Vec::with_capacity(capacity),
            ryu: ryu::Buffer::new(),
            itoa: itoa::Buffer::new(),
        }
    }

    /// A text field, quoted when it holds a delimiter, a quote or a line break.
    fn text(&mut self, s: &str) {
        if s.contains([',', '"', '\n', '\r']) {
            self.buf.push(b'"');
            self.buf
                .extend_from_slice(s.replace('"', "\"\"").as_bytes());
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(s.as_bytes());
        }
    }

    /// Row `i` of `cols`: NaN (a dropped row) and negative labels are empty fields.
    fn row(&mut self, cols: &[Column], i: usize) {
        for (j, col) in cols.iter().enumerate() {
            if j > 0 {
                self.buf.push(b',');
            }
            match col {
                Column::F64(_) | Column::Matrix(..) => {
                    let v = value(col, i);
                    if !v.is_nan() {
                        self.buf.extend_from_slice(self.ryu.format(v).as_bytes());
                    }
                }
                Column::I64(v) => {
                    if v[i] >= 0 {
                        self.buf
                            .extend_from_slice(self.itoa.format(v[i]).as_bytes());
                    }
                }
                Column::Text(v) => self.text(&v[i]),
            }
        }
        self.buf.push(b'\n');
    }
}

/// Rows formatted per block on the worker threads, written in order.
const BLOCK_ROWS: usize = 1 << 14;

/// Writes named columns of `n` rows as CSV (header row first). Formatting numbers is
/// most of the cost (issue 12: 12 s for 1M × 32 probabilities with std formatting), so
/// blocks of rows are formatted in parallel, a few per thread at a time, and written in
/// order: the output is the same for any number of threads.
pub fn write_csv(
    mut w: impl Write,
    names: &[String],
    cols: &[Column],
    n: usize,
) -> std::io::Result<()> {
    let mut head = Rows::new(256);
    for (j, name) in names.iter().enumerate() {
        if j > 0 {
            head.buf.push(b',');
        }
        head.text(name);
    }
    head.buf.push(b'\n');
    w.write_all(&head.buf)?;
    write_csv_rows(w, cols, n)
}

/// Writes `n` rows of `cols` as CSV, without a header (blocks formatted in parallel,
/// written in order).
pub fn write_csv_rows(mut w: impl Write, cols: &[Column], n: usize) -> std::io::Result<()> {
    use rayon::prelude::*;
    let blocks: Vec<std::ops::Range<usize>> = (0..n)
        .step_by(BLOCK_ROWS)
        .map(|s| s..(s + BLOCK_ROWS).min(n))
        .collect();
    let per_round = 2 * rayon::current_num_threads().max(1);
    for round in blocks.chunks(per_round) {
        let bufs: Vec<Vec<u8>> = round
            .par_iter()
            .map(|r| {
                let mut f = Rows::new(r.len() * cols.len() * 20);
                for i in r.clone() {
                    f.row(cols, i);
                }
                f.buf
            })
            .collect();
        for b in bufs {
            w.write_all(&b)?;
        }
    }
    w.flush()
}

/// Writes named columns to `-o` (stdout for `-` or none) in the format its extension
/// asks for. `.npy` holds one array: a single column as 1-D, or several float
/// columns as an `n × m` matrix; text columns (`--keep`) need CSV or Parquet.
pub fn write_columns(
    out: Option<&Path>,
    names: &[String],
    cols: &[Column],
    n: usize,
) -> CliResult<()> {
    match Format::of(out) {
        Format::Csv => write_stream(out, |w| write_csv(w, names, cols, n)),
        Format::Npy => {
            let path = out.unwrap_or(Path::new("-"));
            let m = cols.len();
            // A whole row-major matrix is written as it is, without a copy.
            let whole = match cols.first() {
                Some(Column::Matrix(v, width, _)) if *width == m => cols
                    .iter()
                    .enumerate()
                    .all(|(j, c)| matches!(c, Column::Matrix(u, w, col) if u.as_ptr() == v.as_ptr() && *w == m && *col == j))
                    .then_some(*v),
                _ => None,
            };
            // One array: labels (1-D), one float column (1-D), or floats n × m.
            let (floats, shape): (Cow<[f64]>, Vec<usize>) = match cols {
                [Column::I64(v)] => {
                    return write_stream(Some(path), |w| {
                        gaussmix_io::write_npy_i64(&mut std::io::BufWriter::new(w), v, &[n])
                    })
                }
                [Column::F64(v)] => (Cow::Borrowed(*v), vec![n]),
                _ if whole.is_some() => (Cow::Borrowed(whole.unwrap_or_default()), vec![n, m]),
                _ if cols.iter().all(|c| matches!(c, Column::F64(_) | Column::Matrix(..))) => (
                    (0..n)
                        .flat_map(|i| cols.iter().map(move |c| value(c, i)))
                        .collect(),
                    vec![n, m],
                ),
                _ => {
                    return Err(CliError::usage(format!(
                        "-o {}: a .npy file holds one array of one type; --keep and --labels need .csv or .parquet",
                        path.display()
                    )))
                }
            };
            write_stream(Some(path), |w| {
                gaussmix_io::write_npy_f64(&mut std::io::BufWriter::new(w), &floats, &shape)
            })
        }
        Format::Parquet => {
            let path = out.unwrap_or(Path::new("-"));
            // Parquet takes whole columns: matrix columns are copied out.
            let owned: Vec<Vec<f64>> = cols
                .iter()
                .map(|c| match c {
                    Column::Matrix(..) => (0..n).map(|i| value(c, i)).collect(),
                    _ => Vec::new(),
                })
                .collect();
            let cols: Vec<Column> = cols
                .iter()
                .zip(&owned)
                .map(|(c, o)| match c {
                    Column::Matrix(..) => Column::F64(o),
                    Column::F64(v) => Column::F64(v),
                    Column::I64(v) => Column::I64(v),
                    Column::Text(v) => Column::Text(v),
                })
                .collect();
            let cols = &cols[..];
            // Parquet has nulls: a dropped row (NaN, label −1) is a null there.
            let opt_f: Vec<Option<Vec<Option<f64>>>> = cols
                .iter()
                .map(|c| match c {
                    Column::F64(v) if v.iter().any(|x| x.is_nan()) => {
                        Some(v.iter().map(|x| (!x.is_nan()).then_some(*x)).collect())
                    }
                    _ => None,
                })
                .collect();
            let opt_i: Vec<Option<Vec<Option<i64>>>> = cols
                .iter()
                .map(|c| match c {
                    Column::I64(v) if v.iter().any(|x| *x < 0) => {
                        Some(v.iter().map(|x| (*x >= 0).then_some(*x)).collect())
                    }
                    _ => None,
                })
                .collect();
            let pcols: Vec<(&str, gaussmix_io::ParquetColumn)> = names
                .iter()
                .zip(cols)
                .enumerate()
                .map(|(j, (name, c))| {
                    let pc = match (c, &opt_f[j], &opt_i[j]) {
                        (_, Some(v), _) => gaussmix_io::ParquetColumn::OptF64(v),
                        (_, _, Some(v)) => gaussmix_io::ParquetColumn::OptI64(v),
                        (Column::F64(v) | Column::Matrix(v, ..), _, _) => {
                            gaussmix_io::ParquetColumn::F64(v)
                        }
                        (Column::I64(v), _, _) => gaussmix_io::ParquetColumn::I64(v),
                        (Column::Text(v), _, _) => gaussmix_io::ParquetColumn::Str(v),
                    };
                    (name.as_str(), pc)
                })
                .collect();
            let mut bytes = Vec::new();
            gaussmix_io::write_parquet(&mut bytes, &pcols)
                .map_err(|e| CliError::data(format!("cannot write {}: {e}", path.display())))?;
            write_atomic(path, &bytes)
        }
    }
}

/// Streams text to `-o` (atomically: a temporary file renamed at the end) or to
/// stdout (`-` or none); a closed pipe (`| head`) is not an error.
pub fn write_stream(
    out: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> CliResult<()> {
    if is_stdout(out) {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        return match render(&mut lock).and_then(|_| lock.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(CliError::data(format!("cannot write to stdout: {e}"))),
        };
    }
    let path = out.unwrap_or(Path::new("-"));
    with_temp_file(path, |tmp| {
        let f = std::fs::File::create(tmp).map_err(|e| CliError::data(e.to_string()))?;
        render(&mut &f).map_err(|e| CliError::data(e.to_string()))
    })
}

/// The directory a file will be written in; checked before any work is done.
pub fn check_output_path(path: &Path) -> CliResult<()> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(CliError::data(format!(
            "cannot write {}: directory {} does not exist; create it first",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(CliError::data(format!(
            "cannot write {}: it is a directory; give a file name",
            path.display()
        )));
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A figure path must end in .png or .svg and be writable; `flag` names the option.
pub fn check_figure_path(path: &Path, flag: &str) -> CliResult<()> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if !matches!(ext.as_deref(), Some("png") | Some("svg")) {
        return Err(CliError::usage(format!(
            "{flag} {}: the file name must end in .png or .svg",
            path.display()
        )));
    }
    check_output_path(path)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a
/// rename, so a failure never leaves a half-written or clobbered file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CliResult<()> {
    with_temp_file(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| CliError::data(e.to_string()))
    })
}

/// Where a write to `path` must land: symbolic links are followed (so that the link
/// stays a link), and whether the destination is special (a device such as /dev/null,
/// a FIFO): those are written in place, never replaced by a rename.
fn destination(path: &Path) -> (PathBuf, bool) {
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    };
    let special = std::fs::metadata(&target)
        .map(|m| !m.is_file() && !m.is_dir())
        .unwrap_or(false);
    (target, special)
}

/// Lets `render` write a temporary file (with the target's extension) and then renames it
/// over `path`; a special destination (/dev/null, a FIFO) gets the bytes copied in place.
pub fn with_temp_file(path: &Path, render: impl FnOnce(&Path) -> CliResult<()>) -> CliResult<()> {
    check_output_path(path)?;
    let (target, special) = destination(path);
    let dir = if special {
        std::env::temp_dir()
    } else {
        parent_dir(&target)
    };
    let suffix = target
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(".gaussmix-")
        .suffix(&suffix)
        .tempfile_in(&dir)
        .map_err(|e| CliError::data(format!("cannot write {}: {e}", path.display())))?;
    render(tmp.path()).map_err(|e| e.context(format!("cannot write {}", path.display())))?;
    if special {
        let bytes = std::fs::read(tmp.path())
            .map_err(|e| CliError::data(format!("cannot write {}: {e}", path.display())))?;
        return std::fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .and_then(|mut f| f.write_all(&bytes))
            .map_err(|e| CliError::data(format!("cannot write {}: {e}", path.display())));
    }
    // Temporary files are created private (0600); give the result the permissions a
    // plain write would have had (those of the file it replaces, if any).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::metadata(&target)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
        let _ = std::fs::set_permissions(tmp.path(), perms);
    }
    tmp.persist(&target)
        .map_err(|e| CliError::data(format!("cannot write {}: {}", path.display(), e.error)))?;
    Ok(())
}

/// Writes text to the `-o` file (atomically) or to stdout (`-` or none).
pub fn emit(out: Option<&Path>, text: &str) -> CliResult<()> {
    write_stream(out, |w| w.write_all(text.as_bytes()))
}

/// The `-o` path checked before any work (nothing to check for stdout).
/// Refuses two outputs of one command that name the same file (the later would
/// silently replace the earlier: a figure written over the model, say). `-` (stdout)
/// is left to the commands' own checks.
pub fn check_distinct(outputs: &[(&str, Option<&Path>)]) -> CliResult<()> {
    let named: Vec<(&str, &Path, std::path::PathBuf)> = outputs
        .iter()
        .filter_map(|(flag, p)| p.filter(|p| !is_stdout(Some(p))).map(|p| (*flag, p)))
        // The same file through a symlink or `..`, whether it exists yet or not.
        .map(|(flag, p)| (flag, p, path_key(p)))
        .collect();
    for (i, (fa, pa, ka)) in named.iter().enumerate() {
        if let Some((fb, _, _)) = named[..i].iter().find(|(_, _, kb)| kb == ka) {
            return Err(CliError::usage(format!(
                "{fb} and {fa} both write {}: one would replace the other; give them \
                 different file names",
                pa.display()
            )));
        }
    }
    Ok(())
}

/// The comparison key of a path: its directory canonically, then its name (so that
/// aliases match whether the file exists yet or not).
fn path_key(p: &Path) -> std::path::PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let key = match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map(|d| d.join(name))
            .unwrap_or_else(|_| abs.clone()),
        _ => abs.clone(),
    };
    key.canonicalize().unwrap_or(key)
}

/// Refuses outputs that would replace the data file being read (for data larger than
/// memory, often the only copy).
pub fn check_not_input(data: &str, outputs: &[(&str, Option<&Path>)]) -> CliResult<()> {
    if data == "-" {
        return Ok(());
    }
    let input = path_key(Path::new(data));
    for (flag, p) in outputs {
        if let Some(p) = p.filter(|p| !is_stdout(Some(p))) {
            if path_key(p) == input {
                return Err(CliError::usage(format!(
                    "{flag} {} is the data file: writing it would destroy the data; give \
                     another file name",
                    p.display()
                )));
            }
        }
    }
    Ok(())
}

pub fn check_out(out: Option<&Path>) -> CliResult<()> {
    match out {
        Some(p) if !is_stdout(out) => check_output_path(p),
        _ => Ok(()),
    }
}
