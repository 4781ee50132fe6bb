//! Data readers: CSV/TSV text and `.npy`, with errors that name the file, line and
//! column of the first bad value.

use std::io::Read;
use std::path::Path;

use crate::error::{CliError, CliResult};

/// A numeric table read from a file.
#[derive(Debug, Clone)]
pub struct Table {
    /// Row-major values.
    pub values: Vec<f64>,
    pub n: usize,
    pub d: usize,
    /// Column names (from the header, or "0", "1", ...).
    pub columns: Vec<String>,
}

impl Table {
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.n).map(|i| self.values[i * self.d + j]).collect()
    }

    /// Keeps the given columns, in the given order.
    pub fn select(&self, cols: &[usize]) -> Table {
        let mut values = Vec::with_capacity(self.n * cols.len());
        for i in 0..self.n {
            for &j in cols {
                values.push(self.values[i * self.d + j]);
            }
        }
        Table {
            values,
            n: self.n,
            d: cols.len(),
            columns: cols.iter().map(|&j| self.columns[j].clone()).collect(),
        }
    }

    /// Resolves a column given by name or 0-based index.
    pub fn resolve(&self, spec: &str, source: &str) -> CliResult<usize> {
        let spec = spec.trim();
        if let Some(j) = self.columns.iter().position(|c| c == spec) {
            return Ok(j);
        }
        match spec.parse::<usize>() {
            Ok(j) if j < self.d => Ok(j),
            _ => Err(CliError::usage(format!(
                "{source}: no column {spec:?}; columns are {} (names or 0-based indices)",
                self.columns.join(", ")
            ))),
        }
    }
}

/// How to read a data file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub delimiter: Option<char>,
}

const MAX_BYTES_IN_MESSAGE: usize = 40;

fn shorten(s: &str) -> String {
    if s.chars().count() > MAX_BYTES_IN_MESSAGE {
        format!(
            "{}…",
            s.chars().take(MAX_BYTES_IN_MESSAGE).collect::<String>()
        )
    } else {
        s.to_string()
    }
}

/// Reads `path` (`-` for stdin) as CSV/TSV or `.npy` by its extension.
pub fn read_table(path: &str, opts: &ReadOptions) -> CliResult<Table> {
    let name = if path == "-" { "<stdin>" } else { path };
    let is_npy_name = Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if path != "-" && is_npy_name {
        return read_npy_file(Path::new(path));
    }
    let bytes = if path == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| CliError::data(format!("cannot read stdin: {e}")))?;
        b
    } else {
        std::fs::read(path)
            .map_err(|e| CliError::data(format!("cannot read data file {path}: {e}")))?
    };
    let ext = Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "npy" || bytes.starts_with(b"\x93NUMPY") {
        return parse_npy(&bytes).map_err(|e| e.context(name));
    }
    let delim = opts.delimiter.unwrap_or(match ext.as_str() {
        "tsv" | "tab" => '\t',
        _ => ',',
    });
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        CliError::data(format!(
            "{name}: not a text file (invalid UTF-8 at byte {}); expected CSV/TSV or .npy",
            e.valid_up_to()
        ))
    })?;
    parse_text(text, delim, name)
}

fn split(line: &str, delim: char) -> Vec<&str> {
    if delim == ' ' {
        line.split_whitespace().collect()
    } else {
        line.split(delim).map(|f| f.trim()).collect()
    }
}

/// Parses delimited text; a first row with no number in it is a header.
pub fn parse_text(text: &str, delim: char, name: &str) -> CliResult<Table> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((first_no, first)) = lines.next() else {
        return Err(CliError::data(format!(
            "{name}: the file is empty; expected rows of numbers"
        )));
    };
    let first_fields = split(first, delim);
    let is_header = first_fields.iter().all(|f| f.parse::<f64>().is_err());
    let d = first_fields.len();
    let columns: Vec<String> = if is_header {
        first_fields
            .iter()
            .map(|s| s.trim_matches('"').to_string())
            .collect()
    } else {
        (0..d).map(|j| j.to_string()).collect()
    };
    let mut values = Vec::new();
    let mut n = 0;
    let data_lines: Box<dyn Iterator<Item = (usize, &str)>> = if is_header {
        Box::new(lines)
    } else {
        Box::new(std::iter::once((first_no, first)).chain(lines))
    };
    for (line_no, line) in data_lines {
        let fields = split(line, delim);
        if fields.len() != d {
            return Err(CliError::data(format!(
                "{name}: line {line_no} has {} fields but {} expected {d}; every row needs the same number of columns",
                fields.len(),
                if is_header { "the header" } else { "the first row" },
            )));
        }
        for (j, f) in fields.iter().enumerate() {
            let v: f64 = f.trim_matches('"').parse().map_err(|_| {
                CliError::data(format!(
                    "{name}: line {line_no}, column {} ({}): {:?} is not a number",
                    j + 1,
                    columns[j],
                    shorten(f)
                ))
            })?;
            if !v.is_finite() {
                return Err(CliError::data(format!(
                    "{name}: line {line_no}, column {} ({}): {f} is not a finite number; remove or impute missing and infinite values",
                    j + 1,
                    columns[j]
                )));
            }
            values.push(v);
        }
        n += 1;
    }
    if n == 0 {
        return Err(CliError::data(format!(
            "{name}: the file has a header but no data rows"
        )));
    }
    Ok(Table {
        values,
        n,
        d,
        columns,
    })
}

/// The parsed header of a `.npy` file.
struct NpyHeader {
    n: usize,
    d: usize,
    /// Bytes per value (4 or 8).
    size: usize,
    little: bool,
    fortran: bool,
    /// Where the values start.
    offset: usize,
}

impl NpyHeader {
    fn data_bytes(&self) -> CliResult<usize> {
        self.n
            .checked_mul(self.d)
            .and_then(|c| c.checked_mul(self.size))
            .ok_or_else(|| CliError::data("not a valid .npy file: shape overflows"))
    }

    fn decode(&self, c: &[u8]) -> f64 {
        if self.size == 4 {
            let a = [c[0], c[1], c[2], c[3]];
            (if self.little {
                f32::from_le_bytes(a)
            } else {
                f32::from_be_bytes(a)
            }) as f64
        } else {
            let a = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
            if self.little {
                f64::from_le_bytes(a)
            } else {
                f64::from_be_bytes(a)
            }
        }
    }
}

/// Parses the magic, version and header dictionary at the start of `b` (which needs to
/// hold at least the whole header).
fn parse_npy_header(b: &[u8]) -> CliResult<NpyHeader> {
    let bad = |m: String| CliError::data(format!("not a valid .npy file: {m}"));
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err(bad("missing the \\x93NUMPY magic".into()));
    }
    let (hlen, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10usize),
        2 | 3 => {
            if b.len() < 12 {
                return Err(bad("truncated header".into()));
            }
            (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
        }
        v => return Err(bad(format!("unsupported format version {v}"))),
    };
    let end = start
        .checked_add(hlen)
        .filter(|e| *e <= b.len())
        .ok_or_else(|| bad("header longer than the file".into()))?;
    let header =
        std::str::from_utf8(&b[start..end]).map_err(|_| bad("header is not text".into()))?;
    let field = |key: &str| -> Option<&str> {
        let i = header.find(&format!("'{key}'"))?;
        let rest = &header[i + key.len() + 2..];
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = field("descr")
        .and_then(|r| r.strip_prefix('\''))
        .and_then(|r| r.split('\'').next())
        .ok_or_else(|| bad("no 'descr' in header".into()))?;
    let fortran = field("fortran_order")
        .map(|r| r.starts_with("True"))
        .ok_or_else(|| bad("no 'fortran_order' in header".into()))?;
    let shape_txt = field("shape")
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.split(')').next())
        .ok_or_else(|| bad("no 'shape' in header".into()))?;
    let dims: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(format!("bad shape entry {s:?}")))
        })
        .collect::<CliResult<_>>()?;
    let (n, d) = match dims.as_slice() {
        [n] => (*n, 1),
        [n, d] => (*n, *d),
        other => {
            return Err(CliError::data(format!(
            "the array has {} dimensions ({other:?}); expected a 2-D matrix (samples × features)",
            other.len()
        )))
        }
    };
    let (size, little) = match descr {
        "<f8" | "=f8" => (8, true),
        ">f8" => (8, false),
        "<f4" | "=f4" => (4, true),
        ">f4" => (4, false),
        other => {
            return Err(CliError::data(format!(
                "unsupported dtype {other:?}; save the array as float64 or float32"
            )))
        }
    };
    Ok(NpyHeader {
        n,
        d,
        size,
        little,
        fortran,
        offset: end,
    })
}

/// Row-major, finite values from decoded column- or row-major data.
fn finish_npy(h: &NpyHeader, raw: Vec<f64>) -> CliResult<Table> {
    let (n, d) = (h.n, h.d);
    let values = if h.fortran && d > 1 {
        let mut v = vec![0.0; n * d];
        for j in 0..d {
            for i in 0..n {
                v[i * d + j] = raw[j * n + i];
            }
        }
        v
    } else {
        raw
    };
    if let Some(p) = values.iter().position(|v| !v.is_finite()) {
        return Err(CliError::data(format!(
            "row {}, column {} (1-based) is {}; remove or impute missing and infinite values",
            p / d + 1,
            p % d + 1,
            values[p]
        )));
    }
    if n == 0 || d == 0 {
        return Err(CliError::data(format!(
            "the array is empty (shape ({n}, {d}))"
        )));
    }
    Ok(Table {
        values,
        n,
        d,
        columns: (0..d).map(|j| j.to_string()).collect(),
    })
}

fn size_mismatch(h: &NpyHeader, need: usize, have: u64) -> CliError {
    CliError::data(format!(
        "the header declares shape ({}, {}) = {need} bytes of data but the file holds {have}; the file is truncated or corrupt",
        h.n, h.d
    ))
}

/// Parses a `.npy` file held in memory (v1–v3; `f8`/`f4`, either byte order, C or
/// Fortran order; 1-D arrays are one column).
pub fn parse_npy(b: &[u8]) -> CliResult<Table> {
    let h = parse_npy_header(b)?;
    let need = h.data_bytes()?;
    let body = &b[h.offset..];
    if body.len() != need {
        return Err(size_mismatch(&h, need, body.len() as u64));
    }
    let raw = body.chunks_exact(h.size).map(|c| h.decode(c)).collect();
    finish_npy(&h, raw)
}

/// Opens a `.npy` file, parses its header, checks the body's size against the shape and
/// leaves the file at the first value; returns the body's size in bytes.
fn open_npy(path: &Path) -> CliResult<(std::fs::File, NpyHeader, usize)> {
    use std::io::{Read, Seek, SeekFrom};
    let name = path.display();
    let io = |e: std::io::Error| CliError::data(format!("cannot read data file {name}: {e}"));
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let mut head = vec![0u8; len.min(1 << 16) as usize];
    f.read_exact(&mut head).map_err(io)?;
    let h = parse_npy_header(&head).map_err(|e| e.context(&name))?;
    let need = h.data_bytes().map_err(|e| e.context(&name))?;
    let have = len - h.offset as u64;
    if have != need as u64 {
        return Err(size_mismatch(&h, need, have).context(&name));
    }
    f.seek(SeekFrom::Start(h.offset as u64)).map_err(io)?;
    Ok((f, h, need))
}

/// Reads a `.npy` file straight into f32 (f4 files without any conversion, f8 files
/// rounded as they stream in), C order only; returns the values, rows and columns.
pub fn read_npy_file_f32(path: &Path) -> CliResult<(Vec<f32>, usize, usize)> {
    use std::io::Read;
    let name = path.display();
    let io = |e: std::io::Error| CliError::data(format!("cannot read data file {name}: {e}"));
    let (mut f, h, need) = open_npy(path)?;
    if h.fortran && h.d > 1 {
        // Transposing needs the whole matrix: take the general path.
        let t = read_npy_file(path)?;
        return Ok((t.values.iter().map(|v| *v as f32).collect(), t.n, t.d));
    }
    let mut out: Vec<f32> = Vec::with_capacity(need / h.size);
    let mut buf = vec![0u8; (1 << 16) / h.size * h.size];
    let mut left = need;
    while left > 0 {
        let take = left.min(buf.len());
        f.read_exact(&mut buf[..take]).map_err(io)?;
        if h.size == 4 {
            out.extend(buf[..take].chunks_exact(4).map(|c| {
                let a = [c[0], c[1], c[2], c[3]];
                if h.little {
                    f32::from_le_bytes(a)
                } else {
                    f32::from_be_bytes(a)
                }
            }));
        } else {
            out.extend(buf[..take].chunks_exact(8).map(|c| h.decode(c) as f32));
        }
        left -= take;
    }
    if let Some(p) = out.iter().position(|v| !v.is_finite()) {
        return Err(CliError::data(format!(
            "{name}: row {}, column {} (1-based) is {} in f32; remove or impute missing and infinite values, or use --dtype f64",
            p / h.d.max(1) + 1,
            p % h.d.max(1) + 1,
            out[p]
        )));
    }
    if h.n == 0 || h.d == 0 {
        return Err(CliError::data(format!(
            "{name}: the array is empty (shape ({}, {}))",
            h.n, h.d
        )));
    }
    Ok((out, h.n, h.d))
}

/// Reads a `.npy` file from disk, decoding the values as they stream in, so that memory
/// holds one copy of the data (not the file's bytes and the values).
pub fn read_npy_file(path: &Path) -> CliResult<Table> {
    use std::io::Read;
    let name = path.display();
    let io = |e: std::io::Error| CliError::data(format!("cannot read data file {name}: {e}"));
    let (mut f, h, need) = open_npy(path)?;
    let mut raw = Vec::with_capacity(need / h.size);
    let mut buf = vec![0u8; (1 << 16) / h.size * h.size];
    let mut left = need;
    while left > 0 {
        let take = left.min(buf.len());
        f.read_exact(&mut buf[..take]).map_err(io)?;
        raw.extend(buf[..take].chunks_exact(h.size).map(|c| h.decode(c)));
        left -= take;
    }
    finish_npy(&h, raw).map_err(|e| e.context(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_blank_lines() {
        let t = parse_text("a, b\n\n1, 2\n 3 ,4\n\n", ',', "t").unwrap();
        assert_eq!((t.n, t.d), (2, 2));
        assert_eq!(t.columns, vec!["a", "b"]);
        assert_eq!(t.values, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn bad_cell_is_located() {
        let e = parse_text("1,2\n3,x\n", ',', "f.csv").unwrap_err();
        assert!(e.message.contains("line 2, column 2"), "{}", e.message);
        let e = parse_text("1,2\n3\n", ',', "f.csv").unwrap_err();
        assert!(e.message.contains("line 2 has 1 fields"), "{}", e.message);
        let e = parse_text("1,nan\n", ',', "f.csv").unwrap_err();
        assert!(e.message.contains("not a finite number"), "{}", e.message);
    }

    fn npy(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
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
    fn npy_orders_and_dtypes() {
        let body: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let c = parse_npy(&npy("<f8", false, "(3, 2)", &body)).unwrap();
        assert_eq!(c.values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let f = parse_npy(&npy("<f8", true, "(3, 2)", &body)).unwrap();
        assert_eq!(f.values, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let body32: Vec<u8> = [1.5f32, 2.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let s = parse_npy(&npy("<f4", false, "(2,)", &body32)).unwrap();
        assert_eq!((s.n, s.d, s.values.clone()), (2, 1, vec![1.5, 2.5]));
        let e = parse_npy(&npy("<f8", false, "(4, 2)", &body)).unwrap_err();
        assert!(e.message.contains("truncated"), "{}", e.message);
    }
}
