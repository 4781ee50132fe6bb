//! The one error type of the readers.
//!
//! Every message says what is wrong, where (the file, and the line and column or the
//! row and column), and what to do; the CLI prints them as they are.

use thiserror::Error;

/// Everything that can go wrong while reading data.
///
/// `file` is the name the caller gave for the data (a path, `<stdin>`, …); `line`,
/// `row` and `column` are 1-based, as a person counts them in a text editor.
///
/// ```
/// let e = gaussmix_io::parse_text("x,y\n1,z\n", ',', "d.csv").unwrap_err();
/// assert!(matches!(e, gaussmix_io::ReadError::NotANumber { line: 2, column: 2, .. }));
/// assert_eq!(e.to_string(), "d.csv: line 2, column 2 (y): \"z\" is not a number");
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read data file {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// The bytes are neither UTF-8 text nor an NPY file.
    #[error("{file}: not a text file (invalid UTF-8 at byte {byte}); expected delimited text, .npy or .parquet")]
    NotText {
        /// The file.
        file: String,
        /// Offset of the first byte that is not UTF-8.
        byte: usize,
    },

    /// A text file with no rows at all (or only blank lines).
    #[error("{file}: the file is empty; expected rows of numbers")]
    Empty {
        /// The file.
        file: String,
    },

    /// A text file with a header and nothing after it.
    #[error("{file}: the file has a header but no data rows")]
    NoDataRows {
        /// The file.
        file: String,
    },

    /// A text row with a different number of fields than the first line.
    #[error("{file}: line {line} has {found} fields but {} expected {expected}; every row needs the same number of columns",
        if *.after_header { "the header" } else { "the first row" })]
    FieldCount {
        /// The file.
        file: String,
        /// The line (1-based, blank lines counted).
        line: usize,
        /// Fields on that line.
        found: usize,
        /// Fields on the first line.
        expected: usize,
        /// Whether the first line was a header (else a data row).
        after_header: bool,
    },

    /// A text cell that does not parse as a number.
    #[error("{file}: line {line}, column {column} ({column_name}): {text:?} is not a number")]
    NotANumber {
        /// The file.
        file: String,
        /// The line (1-based, blank lines counted).
        line: usize,
        /// The column (1-based).
        column: usize,
        /// The column's name (from the header, else its 0-based index).
        column_name: String,
        /// The cell, cut to 40 characters (then ending in `…`).
        text: String,
    },

    /// A text cell that parses as NaN or an infinity.
    #[error("{file}: line {line}, column {column} ({column_name}): {text} is not a finite number; remove or impute missing and infinite values")]
    NotFinite {
        /// The file.
        file: String,
        /// The line (1-based, blank lines counted).
        line: usize,
        /// The column (1-based).
        column: usize,
        /// The column's name (from the header, else its 0-based index).
        column_name: String,
        /// The cell as written.
        text: String,
    },

    /// An NPY file whose preamble or header cannot be read.
    #[error("{file}: not a valid .npy file: {reason}")]
    BadNpy {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An NPY array that is not 1-D or 2-D.
    #[error("{file}: the array has {} dimensions ({shape:?}); expected a 2-D matrix (samples × features)", .shape.len())]
    Dimensions {
        /// The file.
        file: String,
        /// The array's shape.
        shape: Vec<usize>,
    },

    /// An NPY array of another type than float64 or float32.
    #[error("{file}: unsupported dtype {descr:?}; save the array as float64 or float32")]
    Dtype {
        /// The file.
        file: String,
        /// The header's `descr` (e.g. `<i8`).
        descr: String,
    },

    /// An NPY file whose data is shorter or longer than its header's shape says.
    #[error("{file}: the header declares shape ({rows}, {cols}) = {expected_bytes} bytes of data but the file holds {actual_bytes}; the file is truncated or corrupt")]
    SizeMismatch {
        /// The file.
        file: String,
        /// Rows in the header.
        rows: usize,
        /// Columns in the header.
        cols: usize,
        /// Bytes of data the shape needs.
        expected_bytes: usize,
        /// Bytes of data in the file.
        actual_bytes: u64,
    },

    /// An NPY array with no rows or no columns.
    #[error("{file}: the array is empty (shape ({rows}, {cols}))")]
    EmptyArray {
        /// The file.
        file: String,
        /// Rows in the header.
        rows: usize,
        /// Columns in the header.
        cols: usize,
    },

    /// A NaN or infinite value in binary data (or handed out by a table source).
    #[error("{file}: row {row}, column {column} (1-based) is {value}; remove or impute missing and infinite values")]
    NonFinite {
        /// The file.
        file: String,
        /// The row (1-based).
        row: usize,
        /// The column (1-based).
        column: usize,
        /// The value.
        value: f64,
    },

    /// A value that is NaN or infinite once read as f32 (an f64 beyond f32's range
    /// becomes infinite).
    #[error("{file}: row {row}, column {column} (1-based) is {value} in f32; remove or impute missing and infinite values, or read the data as f64")]
    NonFiniteF32 {
        /// The file.
        file: String,
        /// The row (1-based).
        row: usize,
        /// The column (1-based).
        column: usize,
        /// The value in f32.
        value: f32,
    },

    /// A missing cell (an empty field, `NA`, `NaN`, a null, …) in a column read as
    /// numbers, with [`Missing::Error`](crate::Missing::Error).
    #[error("{file}: {place}, column {column} ({column_name}): missing value {what}; remove or impute missing values, or pass missing drop to skip incomplete rows")]
    MissingValue {
        /// The file.
        file: String,
        /// The line (text) or row (binary data), 1-based.
        place: Place,
        /// The column in the file (1-based).
        column: usize,
        /// The column's name (from the header, else its 0-based index).
        column_name: String,
        /// The cell: `"NA"` quoted as written, or `(empty field)`, `(null)`, `(NaN)`.
        what: String,
    },

    /// Every data row had a missing cell, with [`Missing::Drop`](crate::Missing::Drop).
    #[error("{file}: all {rows} data rows have a missing value and were dropped; nothing is left to read")]
    AllRowsDropped {
        /// The file.
        file: String,
        /// Data rows in the file.
        rows: usize,
    },

    /// A column token (in `columns`, `exclude`, `keep` or the weight column) that is
    /// neither a column's name nor a valid 0-based index.
    #[error("{file}: {option}: no column {token:?}; columns are {} (names, 0-based indices, or ranges A..B)", crate::select::list(.available))]
    NoSuchColumn {
        /// The file.
        file: String,
        /// The option the token came from (`columns`, `exclude`, `keep`, `weight column`).
        option: String,
        /// The token as given.
        token: String,
        /// Every column's name.
        available: Vec<String>,
    },

    /// A column range `A..B` whose end comes before its start.
    #[error("{file}: {option}: the range {token:?} runs backwards; write it low..high; columns are {}", crate::select::list(.available))]
    ReversedRange {
        /// The file.
        file: String,
        /// The option the token came from.
        option: String,
        /// The token as given.
        token: String,
        /// Every column's name.
        available: Vec<String>,
    },

    /// Reading options that do not fit together or with the file.
    #[error("{file}: {reason}")]
    Options {
        /// The file.
        file: String,
        /// What does not fit.
        reason: String,
    },

    /// Compressed data (gzip or zstd) that cannot be decompressed.
    #[error(
        "{file}: cannot decompress the {format} data: {source}; the file is truncated or corrupt"
    )]
    Decompress {
        /// The file.
        file: String,
        /// `gzip` or `zstd`.
        format: &'static str,
        /// What the decoder said.
        source: std::io::Error,
    },

    /// A Parquet file that cannot be read.
    #[error("{file}: cannot read the Parquet data: {reason}")]
    Parquet {
        /// The file.
        file: String,
        /// What the Parquet reader said.
        reason: String,
    },

    /// A selected Parquet column whose type is not a number (or, kept, not text-like).
    #[error("{file}: column {column:?} has type {data_type}, {expected}; leave it out (exclude it) or convert it")]
    ColumnType {
        /// The file.
        file: String,
        /// The column's name.
        column: String,
        /// The column's type.
        data_type: String,
        /// What it was read as (`not a number type` / `cannot be kept as text`).
        expected: String,
    },

    /// A [`Table`](crate::Table) built or selected with inconsistent arguments.
    #[error("invalid table: {reason}")]
    InvalidTable {
        /// What does not fit.
        reason: String,
    },
}

/// Where a cell is: a line of a text file, or a row of binary data (1-based).
///
/// ```
/// use gaussmix_io::Place;
/// assert_eq!(Place::Line(3).to_string(), "line 3");
/// assert_eq!(Place::Row(7).to_string(), "row 7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A text file's line (blank lines counted).
    Line(usize),
    /// A data row (NPY, Parquet), the first row 1.
    Row(usize),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Line(n) => write!(f, "line {n}"),
            Place::Row(n) => write!(f, "row {n}"),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, ReadError>;

/// A reader's error where the core library reports it (streaming through a
/// [`ChunkSource`](gaussmix::source::ChunkSource)): [`gaussmix::GmmError::Source`] with
/// the same message.
impl From<ReadError> for gaussmix::GmmError {
    fn from(e: ReadError) -> Self {
        gaussmix::GmmError::Source {
            message: e.to_string(),
        }
    }
}
