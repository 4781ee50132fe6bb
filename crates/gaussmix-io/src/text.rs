//! Delimited text (CSV, TSV, semicolons, pipes, whitespace): [`parse_text`],
//! [`parse_text_with`] and the delimiter sniffer [`sniff_delimiter`].
//!
//! Delimited fields are read by the `csv` crate (RFC 4180: quoted fields, doubled
//! quotes, delimiters and newlines inside quotes, `\r\n`); with `' '` as the
//! delimiter any run of spaces and tabs separates fields (and surrounding `"` are
//! dropped). A leading BOM is skipped; blank lines are skipped but counted in line
//! numbers; fields are trimmed; every row has as many fields as the first (a header
//! one field shorter than the rows, as R's `write.table` writes, names the row names
//! `""`). Only the columns the [`ReadOptions`] select are parsed.

use crate::assemble::{Builder, Cell};
use crate::cell::{parse_cell, Parsed};
use crate::error::{Place, ReadError, Result};
use crate::options::{Header, ReadOptions};
use crate::select::plan;
use crate::table::Table;

/// Longest cell quoted in a "not a number" message, in characters.
const MAX_CHARS_IN_MESSAGE: usize = 40;

/// Non-blank lines the sniffer looks at.
const SNIFF_LINES: usize = 20;

/// The delimiters the sniffer tries, in order of preference.
const CANDIDATES: [char; 5] = [',', ';', '\t', '|', ' '];

fn shorten(s: &str) -> String {
    if s.chars().count() > MAX_CHARS_IN_MESSAGE {
        format!(
            "{}…",
            s.chars().take(MAX_CHARS_IN_MESSAGE).collect::<String>()
        )
    } else {
        s.to_string()
    }
}

/// A field as read: trimmed, and without surrounding quotes the CSV reader left (a
/// quote after a space is not a quote to it).
fn clean(f: &str) -> &str {
    let f = f.trim();
    match f.strip_prefix('"').and_then(|g| g.strip_suffix('"')) {
        Some(inner) if f.len() >= 2 && !inner.contains('"') => inner,
        _ => f,
    }
}

/// Calls `f(line, fields)` for each non-blank record of `text`, fields cleaned.
fn for_each_record(
    text: &str,
    delim: char,
    name: &str,
    mut f: impl FnMut(usize, &[&str]) -> Result<bool>,
) -> Result<()> {
    if delim == ' ' {
        for (i, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().map(clean).collect();
            if !fields.is_empty() && !f(i + 1, &fields)? {
                break;
            }
        }
        return Ok(());
    }
    let byte = u8::try_from(delim)
        .ok()
        .filter(|b| b.is_ascii() && *b != b'"' && *b != b'\n' && *b != b'\r')
        .ok_or_else(|| ReadError::Options {
            file: name.to_string(),
            reason: format!(
                "the delimiter {delim:?} is not usable: give one ASCII character other than a quote or a newline"
            ),
        })?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(byte)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let (mut seen_byte, mut seen_lines) = (0usize, 0usize);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                return Err(ReadError::Io {
                    file: name.to_string(),
                    source: std::io::Error::other(e),
                })
            }
        }
        let fields: Vec<&str> = record.iter().map(clean).collect();
        // The csv crate's line counter skips blank lines: count newlines up to the
        // record's first byte instead.
        // (Its position is where the previous record ended: step over the empty
        // lines it skipped.)
        let mut byte = record.position().map_or(0, |p| p.byte() as usize);
        while matches!(text.as_bytes().get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        // A blank line (spaces only) is skipped; a line holding `""` is a row with one
        // empty field (pandas writes a one-column row with a missing value that way),
        // so it must stay a row, or every later output row would shift. The record's
        // fields have lost their quotes: look at the raw line.
        if fields.len() == 1 && fields[0].is_empty() {
            let raw = text.get(byte..).unwrap_or("");
            let raw_line = raw.split('\n').next().unwrap_or("");
            if !raw_line.contains('"') {
                continue;
            }
        }
        if let Some(skipped) = text.as_bytes().get(seen_byte..byte) {
            seen_lines += skipped.iter().filter(|&&b| b == b'\n').count();
            seen_byte = byte;
        }
        let line = seen_lines + 1;
        if !f(line, &fields)? {
            return Ok(());
        }
    }
}

/// Guesses the delimiter of `text` from its first 20 non-blank lines: among `,` `;`
/// tab `|` and whitespace (`' '`), the one that splits the most lines into the same
/// number (> 1) of fields, preferring that order; `,` for a single column. With `,`
/// as the decimal mark, `,` is not a candidate (`;` stands in for it).
///
/// ```
/// use gaussmix_io::sniff_delimiter;
/// assert_eq!(sniff_delimiter("a;b\n1,5;2\n", ','), ';');
/// assert_eq!(sniff_delimiter("x y  z\n1 2 3\n", '.'), ' ');
/// assert_eq!(sniff_delimiter("\"a,b\"|c\n1|2\n", '.'), '|');
/// assert_eq!(sniff_delimiter("x\n1\n", '.'), ',');
/// ```
pub fn sniff_delimiter(text: &str, decimal: char) -> char {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut best: Option<(usize, char)> = None;
    for c in CANDIDATES {
        if c == decimal {
            continue;
        }
        let counts = sample_counts(text, c);
        // How many lines share the most common field count above one.
        let mut score = 0;
        for &k in counts.iter().filter(|&&k| k > 1) {
            score = score.max(counts.iter().filter(|&&m| m == k).count());
        }
        if score > 0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map_or(if decimal == ',' { ';' } else { ',' }, |(_, c)| c)
}

/// The number of fields on each of the first non-blank lines of `text` with `delim`.
fn sample_counts(text: &str, delim: char) -> Vec<usize> {
    let sample: String = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(SNIFF_LINES)
        .flat_map(|l| [l, "\n"])
        .collect();
    let mut counts = Vec::new();
    let _ = for_each_record(&sample, delim, "", |_, fields| {
        counts.push(fields.len());
        Ok(true)
    });
    counts
}

/// The delimiter of a `.csv` file: a comma, unless commas split none of the first
/// lines, or split them unevenly while another delimiter splits them all into the
/// same number of fields (a "CSV" with semicolons and decimal commas, as spreadsheets
/// in many locales save it: `a;b` then `5,1;3,5`).
pub(crate) fn csv_delimiter(text: &str, decimal: char) -> char {
    let sniffed = sniff_delimiter(text, decimal);
    if decimal == ',' {
        return sniffed;
    }
    let commas = sample_counts(text, ',');
    if commas.iter().all(|&k| k <= 1) {
        return sniffed;
    }
    let even = |counts: &[usize]| {
        counts
            .first()
            .is_some_and(|&k| k > 1 && counts.iter().all(|&m| m == k))
    };
    if even(&commas) {
        return ',';
    }
    let other = sniff_delimiter(text, ',');
    if even(&sample_counts(text, other)) {
        other
    } else {
        ','
    }
}

/// Whether `fields` are pandas' default column names `0,1,…` (d ≥ 2), maybe after an
/// empty index name (`,0,1` from `to_csv()` with the index).
fn pandas_default_names(fields: &[&str]) -> bool {
    let names = match fields.first() {
        Some(&"") => &fields[1..],
        _ => fields,
    };
    fields.len() >= 2
        && !names.is_empty()
        && names.iter().enumerate().all(|(i, f)| *f == i.to_string())
}

/// Parses delimited text into a [`Table`] with `delim` as the delimiter and the other
/// options at their defaults (see [`parse_text_with`]). `name` says where the text
/// came from in error messages (a path, `<stdin>`, …).
///
/// ```
/// use gaussmix_io::parse_text;
///
/// let t = parse_text("height\tweight\n1.8\t80\n1.6\t55\n", '\t', "people.tsv")?;
/// assert_eq!(t.feature_names(), Some(&["height".to_string(), "weight".to_string()][..]));
/// assert_eq!(t.values(), [1.8, 80.0, 1.6, 55.0]);
///
/// let e = parse_text("1 2\n3\n", ' ', "d.txt").unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "d.txt: line 2 has 1 fields but the first row expected 2; every row needs the same number of columns"
/// );
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
pub fn parse_text(text: &str, delim: char, name: &str) -> Result<Table> {
    parse_text_with(text, name, &ReadOptions::default().with_delimiter(delim))
}

/// Parses delimited text into a [`Table`] as `opts` say: the delimiter (sniffed by
/// [`sniff_delimiter`] if `None`), the header, the columns, the decimal mark and the
/// missing-value policy.
///
/// ```
/// use gaussmix_io::{parse_text_with, Missing, ReadOptions};
///
/// let text = "\"name, full\";\"a \"\"b\"\"\"\nx;1,5\ny;NA\n";
/// let opts = ReadOptions::default().with_decimal(',').with_missing(Missing::Drop).with_keep(["0"]);
/// let t = parse_text_with(text, "d.csv", &opts)?;
/// assert_eq!(t.columns(), ["a \"b\""]);
/// assert_eq!((t.values(), t.dropped_rows()), (&[1.5][..], &[1][..]));
/// assert_eq!(t.kept()[0].values, ["x", "y"]);
///
/// let e = parse_text_with("a,b\n1,\n", "d.csv", &ReadOptions::default()).unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "d.csv: line 2, column 2 (b): missing value (empty field); remove or impute missing values, or pass missing drop to skip incomplete rows"
/// );
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
pub fn parse_text_with(text: &str, name: &str, opts: &ReadOptions) -> Result<Table> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delim = match opts.delimiter {
        Some(d) => d,
        None => sniff_delimiter(text, opts.decimal),
    };
    if opts.decimal != '.' && opts.decimal != ',' {
        return Err(ReadError::Options {
            file: name.to_string(),
            reason: format!(
                "the decimal mark {:?} is not supported: use . or ,",
                opts.decimal
            ),
        });
    }
    if delim == opts.decimal {
        return Err(ReadError::Options {
            file: name.to_string(),
            reason: format!(
                "the delimiter and the decimal mark are both {delim:?}; give another delimiter"
            ),
        });
    }
    let decimal = opts.decimal;
    // The first record decides the header; the second (if the header is one field
    // short, R's row names) too.
    let mut first: Option<(usize, Vec<String>)> = None;
    let mut header: Option<Vec<String>> = None;
    let mut builder: Option<Builder> = None;
    let mut expected = 0;
    let file = || name.to_string();
    let mut col_names: Vec<String> = Vec::new();
    let start = |fields: &[&str], header: Option<Vec<String>>| -> Result<Builder> {
        let named = header.is_some();
        let names = header.unwrap_or_else(|| (0..fields.len()).map(|j| j.to_string()).collect());
        let plan = plan(name, names, opts, |_| false)?;
        Ok(Builder::new(name, plan, named, opts.missing))
    };
    let mut pandas_warning = None;
    for_each_record(text, delim, name, |line, fields| {
        if builder.is_none() {
            match first.take() {
                None => {
                    let is_header = match opts.header {
                        Header::Yes => true,
                        Header::No => false,
                        Header::Auto => {
                            if fields
                                .iter()
                                .any(|f| parse_cell(f, decimal) == Parsed::Text)
                            {
                                true
                            } else if pandas_default_names(fields) {
                                pandas_warning = Some(format!(
                                    "{name}: first row {} read as column names (pandas' default header); pass header no if it is data",
                                    fields.join(",")
                                ));
                                true
                            } else {
                                false
                            }
                        }
                    };
                    if is_header {
                        first = Some((line, fields.iter().map(|s| s.to_string()).collect()));
                        return Ok(true);
                    }
                    expected = fields.len();
                    builder = Some(start(fields, None)?);
                    col_names = builder
                        .as_ref()
                        .map(|b| b.plan().names.clone())
                        .unwrap_or_default();
                }
                Some((_, mut names)) => {
                    // R's write.table (space or tab delimited) leaves the row names'
                    // header out; with commas (write.csv writes it as "") a short
                    // header is more likely a number split at a decimal comma.
                    if names.len() + 1 == fields.len() && delim != ',' {
                        names.insert(0, String::new());
                    }
                    expected = names.len();
                    header = Some(names.clone());
                    builder = Some(start(fields, Some(names))?);
                    col_names = builder
                        .as_ref()
                        .map(|b| b.plan().names.clone())
                        .unwrap_or_default();
                }
            }
        }
        let Some(b) = builder.as_mut() else {
            return Ok(true);
        };
        if fields.len() != expected {
            return Err(ReadError::FieldCount {
                file: file(),
                line,
                found: fields.len(),
                expected,
                after_header: header.is_some(),
            });
        }
        let names = &col_names;
        b.push(
            Place::Line(line),
            |j| {
                let f = fields[j];
                match parse_cell(f, decimal) {
                    Parsed::Number(v) if v.is_finite() => Ok(Cell::Number(v)),
                    Parsed::Number(_) => Err(ReadError::NotFinite {
                        file: file(),
                        line,
                        column: j + 1,
                        column_name: names[j].clone(),
                        text: shorten(f),
                    }),
                    Parsed::Missing if f.is_empty() => Ok(Cell::Missing("(empty field)".into())),
                    Parsed::Missing => Ok(Cell::Missing(format!("{f:?}"))),
                    Parsed::Text => Err(ReadError::NotANumber {
                        file: file(),
                        line,
                        column: j + 1,
                        column_name: names[j].clone(),
                        text: shorten(f),
                    }),
                }
            },
            |j| fields[j].to_string(),
        )?;
        Ok(true)
    })?;
    let mut builder = match (builder, first) {
        (Some(b), _) => b,
        (None, Some(_)) => return Err(ReadError::NoDataRows { file: file() }),
        (None, None) => return Err(ReadError::Empty { file: file() }),
    };
    if let Some(w) = pandas_warning {
        builder.warn(w);
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_blank_lines() {
        let t = parse_text("a, b\n\n1, 2\n 3 ,4\n\n", ',', "t").unwrap();
        assert_eq!((t.n_rows(), t.n_cols()), (2, 2));
        assert_eq!(t.columns(), ["a", "b"]);
        assert_eq!(
            t.feature_names(),
            Some(&["a".to_string(), "b".to_string()][..])
        );
        assert_eq!(t.values(), [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn no_header_means_no_feature_names() {
        let t = parse_text("\u{feff}1 2\r\n3   4\r\n", ' ', "t").unwrap();
        assert_eq!(t.values(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.columns(), ["0", "1"]);
        assert_eq!(t.feature_names(), None);
    }

    #[test]
    fn bad_cell_is_located() {
        let e = parse_text("1,2\n3,x\n", ',', "f.csv").unwrap_err();
        assert!(e.to_string().contains("line 2, column 2"), "{e}");
        let e = parse_text("1,2\n3\n", ',', "f.csv").unwrap_err();
        assert!(e.to_string().contains("line 2 has 1 fields"), "{e}");
        let e = parse_text("1,nan\n", ',', "f.csv").unwrap_err();
        assert!(e.to_string().contains("missing value \"nan\""), "{e}");
    }

    #[test]
    fn messages_are_the_clis() {
        let cases = [
            ("", "f.csv: the file is empty; expected rows of numbers"),
            (" \n\n", "f.csv: the file is empty; expected rows of numbers"),
            ("a,b\n", "f.csv: the file has a header but no data rows"),
            (
                "a,b\n1,2\n3,4,5\n",
                "f.csv: line 3 has 3 fields but the header expected 2; every row needs the same number of columns",
            ),
            (
                "a,b\n1,2\n3,x7\n",
                "f.csv: line 3, column 2 (b): \"x7\" is not a number",
            ),
            (
                "1,2\n\n3,-inf\n",
                "f.csv: line 3, column 2 (1): -inf is not a finite number; remove or impute missing and infinite values",
            ),
            (
                "1,2\n\nNaN,4\n",
                "f.csv: line 3, column 1 (0): missing value \"NaN\"; remove or impute missing values, or pass missing drop to skip incomplete rows",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_text(text, ',', "f.csv").unwrap_err().to_string(),
                want
            );
        }
        let long = format!("a,b\n1,{}\n", "y".repeat(100));
        let e = parse_text(&long, ',', "f.csv").unwrap_err().to_string();
        assert!(
            e.ends_with(&format!("\"{}…\" is not a number", "y".repeat(40))),
            "{e}"
        );
    }

    #[test]
    fn sniffing() {
        let cases = [
            ("a,b\n1,2\n", '.', ','),
            ("a;b\n1,5;2\n", ',', ';'),
            ("a;b;c\n1;2;3\n", '.', ';'),
            ("a\tb\n1\t2\n", '.', '\t'),
            ("a|b\n1|2\n", '.', '|'),
            ("a b\n1  2\n", '.', ' '),
            ("\"x, y\";z\n1;2\n", '.', ';'),
            ("x\n1\n", ',', ';'),
            ("a,b\n1,2\n3,4,5\n", '.', ','),
        ];
        for (text, decimal, want) in cases {
            assert_eq!(sniff_delimiter(text, decimal), want, "{text:?}");
        }
    }
}
