//! Delimited text (CSV, TSV, whitespace): the parser behind [`parse_text`].
//!
//! The rules, kept deliberately simple (a real CSV parser can replace this module
//! behind the same function): a leading BOM is skipped; blank lines are skipped (but
//! counted in line numbers); a first row in which no field is a number is a header;
//! fields are trimmed, and surrounding `"` are dropped (no quoting of delimiters);
//! with `' '` as the delimiter any run of whitespace separates fields; every row has
//! as many fields as the first; every cell is a finite number.

use crate::error::{ReadError, Result};
use crate::table::Table;

/// Longest cell quoted in a "not a number" message, in characters.
const MAX_CHARS_IN_MESSAGE: usize = 40;

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

fn split(line: &str, delim: char) -> Vec<&str> {
    if delim == ' ' {
        line.split_whitespace().collect()
    } else {
        line.split(delim).map(|f| f.trim()).collect()
    }
}

/// Parses delimited text into a [`Table`]; a first row with no number in it is a
/// header. `name` says where the text came from in error messages (a path,
/// `<stdin>`, …).
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
    let file = || name.to_string();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((first_no, first)) = lines.next() else {
        return Err(ReadError::Empty { file: file() });
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
            return Err(ReadError::FieldCount {
                file: file(),
                line: line_no,
                found: fields.len(),
                expected: d,
                after_header: is_header,
            });
        }
        for ((j, f), column_name) in fields.iter().enumerate().zip(&columns) {
            let v: f64 = f
                .trim_matches('"')
                .parse()
                .map_err(|_| ReadError::NotANumber {
                    file: file(),
                    line: line_no,
                    column: j + 1,
                    column_name: column_name.clone(),
                    text: shorten(f),
                })?;
            if !v.is_finite() {
                return Err(ReadError::NotFinite {
                    file: file(),
                    line: line_no,
                    column: j + 1,
                    column_name: column_name.clone(),
                    text: f.to_string(),
                });
            }
            values.push(v);
        }
        n += 1;
    }
    if n == 0 {
        return Err(ReadError::NoDataRows { file: file() });
    }
    Table::new(values, n, d, is_header.then_some(columns))
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
        assert!(e.to_string().contains("not a finite number"), "{e}");
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
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_text(text, ',', "f.csv").unwrap_err().to_string(),
                want
            );
        }
        let long = format!("1,{}\n", "y".repeat(100));
        let e = parse_text(&long, ',', "f.csv").unwrap_err().to_string();
        assert!(
            e.ends_with(&format!("\"{}…\" is not a number", "y".repeat(40))),
            "{e}"
        );
    }
}
