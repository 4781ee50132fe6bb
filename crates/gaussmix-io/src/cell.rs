//! Text cells: which are missing values (pandas' default `na_values`) and how numbers
//! are read (with a `.` or `,` decimal mark).

/// The cells read as missing values: pandas' default `na_values` (`read_csv`), the
/// empty field included.
///
/// ```
/// assert!(gaussmix_io::MISSING_TOKENS.contains(&"NA"));
/// assert!(gaussmix_io::MISSING_TOKENS.contains(&""));
/// ```
pub const MISSING_TOKENS: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether a (trimmed) cell is a missing value.
pub(crate) fn is_missing(cell: &str) -> bool {
    MISSING_TOKENS.contains(&cell)
}

/// What a text cell holds once read as a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Parsed {
    /// A number (finite or not).
    Number(f64),
    /// A missing value (a token, or a number that reads as NaN).
    Missing,
    /// Not a number.
    Text,
}

/// Reads a trimmed cell with the given decimal mark.
pub(crate) fn parse_cell(cell: &str, decimal: char) -> Parsed {
    if is_missing(cell) {
        return Parsed::Missing;
    }
    let number = if decimal == '.' {
        cell.parse::<f64>()
    } else if cell.contains('.') {
        return Parsed::Text;
    } else {
        cell.replace(decimal, ".").parse::<f64>()
    };
    match number {
        Ok(v) if v.is_nan() => Parsed::Missing,
        Ok(v) => Parsed::Number(v),
        Err(_) => Parsed::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        let cases = [
            ("1.5", '.', Parsed::Number(1.5)),
            ("-2e3", '.', Parsed::Number(-2000.0)),
            ("1,5", ',', Parsed::Number(1.5)),
            ("1.5", ',', Parsed::Text),
            ("1,5", '.', Parsed::Text),
            ("NA", '.', Parsed::Missing),
            ("", ',', Parsed::Missing),
            ("#N/A N/A", '.', Parsed::Missing),
            ("NAN", '.', Parsed::Missing),
            ("inf", '.', Parsed::Number(f64::INFINITY)),
            ("x", '.', Parsed::Text),
        ];
        for (cell, decimal, want) in cases {
            assert_eq!(parse_cell(cell, decimal), want, "{cell:?}");
        }
    }
}
