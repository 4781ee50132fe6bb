//! [`ReadOptions`] and its choices ([`Header`], [`Missing`]): how to read a data file.

use std::str::FromStr;

/// Whether the first row of a text file names the columns.
///
/// `Auto` (the default) takes the first row as a header when any of its fields is
/// neither a number nor a missing-value token, or when its fields are exactly the
/// integers `0,1,…,d−1` (d ≥ 2: pandas' default column names, written by
/// `pd.DataFrame(X).to_csv(index=False)`; the table then carries a warning).
///
/// ```
/// use gaussmix_io::Header;
/// assert_eq!("yes".parse::<Header>()?, Header::Yes);
/// assert_eq!(Header::default(), Header::Auto);
/// let e = "maybe".parse::<Header>().unwrap_err();
/// assert_eq!(e, "header \"maybe\": expected auto, yes or no");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Header {
    /// Decide from the first row.
    #[default]
    Auto,
    /// The first row is a header.
    Yes,
    /// The first row is data.
    No,
}

impl FromStr for Header {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Header::Auto),
            "yes" | "true" => Ok(Header::Yes),
            "no" | "false" | "none" => Ok(Header::No),
            _ => Err(format!("header {s:?}: expected auto, yes or no")),
        }
    }
}

/// What to do with a row that has a missing cell (an empty field, `NA`, `NaN`, a
/// Parquet null, … in a column that is read as numbers).
///
/// ```
/// use gaussmix_io::Missing;
/// assert_eq!("drop".parse::<Missing>()?, Missing::Drop);
/// assert_eq!(Missing::default(), Missing::Error);
/// assert_eq!("skip".parse::<Missing>().unwrap_err(), "missing \"skip\": expected error or drop");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Missing {
    /// Refuse the file, naming the first missing cell.
    #[default]
    Error,
    /// Skip incomplete rows; [`Table::dropped_rows`](crate::Table::dropped_rows) lists
    /// them.
    Drop,
}

impl FromStr for Missing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Missing::Error),
            "drop" => Ok(Missing::Drop),
            _ => Err(format!("missing {s:?}: expected error or drop")),
        }
    }
}

/// How to read a data file. Every field has a chained `with_*` setter.
///
/// Defaults: the format from the magic bytes (gzip/zstd compression, NPY, Parquet)
/// and the extension; text delimited by tabs for `.tsv`/`.tab`, commas for `.csv`,
/// else the delimiter sniffed from the first lines; a header detected
/// ([`Header::Auto`]); every column a feature; missing cells an error.
///
/// Column tokens (`columns`, `exclude`, `keep`, `weight_column`) are each a header
/// name, a 0-based index, or an inclusive range `A..B` whose ends are names or
/// indices. A token that is a name means that column, else it is read as an index
/// (so a column named `"2"` wins over index 2).
///
/// ```
/// use gaussmix_io::{parse_bytes, Missing, ReadOptions};
///
/// let opts = ReadOptions::default()
///     .with_columns(["x", "2..3"])
///     .with_keep(["id"])
///     .with_missing(Missing::Drop);
/// let t = parse_bytes(b"id,x,y,z\na,1,2,3\nb,4,NA,6\nc,7,8,9\n", "d.csv", &opts)?;
/// assert_eq!(t.columns(), ["x", "y", "z"]);
/// assert_eq!(t.values(), [1.0, 2.0, 3.0, 7.0, 8.0, 9.0]);
/// assert_eq!(t.dropped_rows(), [1]);
/// assert_eq!(t.kept()[0].values, ["a", "b", "c"]);
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The text delimiter (`' '` splits on any run of spaces and tabs); `None` chooses
    /// by the extension, else sniffs it among `,` `;` tab `|` and whitespace.
    pub delimiter: Option<char>,
    /// Whether the first text row is a header.
    pub header: Header,
    /// The feature columns, in this order (tokens); `None`: every column but the
    /// excluded, kept and weight columns.
    pub columns: Option<Vec<String>>,
    /// Columns left out of the features (tokens).
    pub exclude: Vec<String>,
    /// A column of per-row weights (one token), returned by
    /// [`Table::weights`](crate::Table::weights), never a feature.
    pub weight_column: Option<String>,
    /// Columns copied as raw text, one string per input row (tokens), returned by
    /// [`Table::kept`](crate::Table::kept); not features unless also selected.
    pub keep: Vec<String>,
    /// The decimal mark of text numbers: `.` (default) or `,` (`1,5` is 1.5).
    pub decimal: char,
    /// What to do with rows that have a missing cell.
    pub missing: Missing,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            delimiter: None,
            header: Header::Auto,
            columns: None,
            exclude: Vec::new(),
            weight_column: None,
            keep: Vec::new(),
            decimal: '.',
            missing: Missing::Error,
        }
    }
}

fn strings<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Vec<String> {
    tokens.into_iter().map(Into::into).collect()
}

impl ReadOptions {
    /// The same options with the given text delimiter.
    ///
    /// ```
    /// let opts = gaussmix_io::ReadOptions::default().with_delimiter(' ');
    /// assert_eq!(opts.delimiter, Some(' '));
    /// ```
    pub fn with_delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = Some(delimiter);
        self
    }

    /// The same options with the given header choice.
    ///
    /// ```
    /// use gaussmix_io::{parse_bytes, Header, ReadOptions};
    /// let t = parse_bytes(b"0,1\n2,3\n", "d.csv", &ReadOptions::default().with_header(Header::No))?;
    /// assert_eq!(t.n_rows(), 2);
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn with_header(mut self, header: Header) -> Self {
        self.header = header;
        self
    }

    /// The same options with the given feature columns (tokens, in order).
    ///
    /// ```
    /// let opts = gaussmix_io::ReadOptions::default().with_columns(["a", "3..5"]);
    /// assert_eq!(opts.columns, Some(vec!["a".to_string(), "3..5".to_string()]));
    /// ```
    pub fn with_columns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tokens: I) -> Self {
        self.columns = Some(strings(tokens));
        self
    }

    /// The same options with the given excluded columns (tokens).
    ///
    /// ```
    /// let opts = gaussmix_io::ReadOptions::default().with_exclude(["0"]);
    /// assert_eq!(opts.exclude, ["0"]);
    /// ```
    pub fn with_exclude<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tokens: I) -> Self {
        self.exclude = strings(tokens);
        self
    }

    /// The same options with the given weight column (one token).
    ///
    /// ```
    /// let opts = gaussmix_io::ReadOptions::default().with_weight_column("w");
    /// assert_eq!(opts.weight_column.as_deref(), Some("w"));
    /// ```
    pub fn with_weight_column(mut self, token: impl Into<String>) -> Self {
        self.weight_column = Some(token.into());
        self
    }

    /// The same options with the given kept (raw text) columns (tokens).
    ///
    /// ```
    /// let opts = gaussmix_io::ReadOptions::default().with_keep(["id"]);
    /// assert_eq!(opts.keep, ["id"]);
    /// ```
    pub fn with_keep<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tokens: I) -> Self {
        self.keep = strings(tokens);
        self
    }

    /// The same options with the given decimal mark (`.` or `,`).
    ///
    /// ```
    /// use gaussmix_io::{parse_bytes, ReadOptions};
    /// let t = parse_bytes(b"a;b\n1,5;2\n", "d.csv", &ReadOptions::default().with_decimal(','))?;
    /// assert_eq!(t.values(), [1.5, 2.0]);
    /// # Ok::<(), gaussmix_io::ReadError>(())
    /// ```
    pub fn with_decimal(mut self, decimal: char) -> Self {
        self.decimal = decimal;
        self
    }

    /// The same options with the given missing-cell policy.
    ///
    /// ```
    /// use gaussmix_io::{Missing, ReadOptions};
    /// assert_eq!(ReadOptions::default().with_missing(Missing::Drop).missing, Missing::Drop);
    /// ```
    pub fn with_missing(mut self, missing: Missing) -> Self {
        self.missing = missing;
        self
    }

    /// Whether these options pick or drop anything (columns, rows, kept text), i.e.
    /// whether a reader must go beyond "every column, every row".
    pub(crate) fn is_plain(&self) -> bool {
        self.columns.is_none()
            && self.exclude.is_empty()
            && self.weight_column.is_none()
            && self.keep.is_empty()
            && self.missing == Missing::Error
    }
}
