//! CLI errors and their exit codes: 1 for bad data or models, 2 for usage errors
//! (clap's convention), each with a message that says what to do.

use std::fmt;

use gaussmix::GmmError;
use gaussmix_io::ReadError;

#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn data(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: 2,
            message: message.into(),
        }
    }
    /// Prefixes the message with where it happened (a file, a command).
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<GmmError> for CliError {
    fn from(e: GmmError) -> Self {
        match e {
            GmmError::InvalidOption { name, message } => {
                let flag = match name {
                    "n_components" => "-k",
                    "covariance_type" => "--covariance",
                    "init" => "--init",
                    "n_init" => "--n-init",
                    "init_candidates" => "--init-candidates",
                    "init_iter" => "--init-iter",
                    "split_merge_moves" => "--split-merge-moves",
                    "max_iter" => "--max-iter",
                    "tol" => "--tol",
                    "reg_covar" => "--reg-covar",
                    "variance_floor" => "--variance-floor",
                    "n_threads" => "--threads",
                    "criterion" => "--criterion",
                    "k" => "--k",
                    other => other,
                };
                CliError::usage(format!(
                    "invalid value for {flag}: {}",
                    crate::summary::flagify(&message)
                ))
            }
            other => CliError::data(crate::summary::flagify(&other.to_string())),
        }
    }
}

/// The reader's option words in a message (`missing drop`, `exclude 0`, `columns:`)
/// turned into the flags a user of the CLI types.
pub fn read_words(message: &str) -> String {
    let mut m = message.to_string();
    for (lib, flag) in [
        ("pass missing drop", "pass --missing drop"),
        ("pass header no", "pass --header no"),
        ("(exclude ", "(--exclude "),
        ("(exclude it)", "(--exclude it)"),
        ("leave it out of columns", "leave it out of --columns"),
        (": columns: ", ": --columns: "),
        (": exclude: ", ": --exclude: "),
        (": keep: ", ": --keep: "),
        (": weight column: ", ": --weight-column: "),
        (
            "check columns, exclude, keep and the weight column",
            "check --columns, --exclude, --keep and --weight-column",
        ),
        ("leave it out (exclude it)", "leave it out (--exclude it)"),
    ] {
        m = m.replace(lib, flag);
    }
    m
}

/// A reader's error is bad data (exit code 1) with the reader's message in the CLI's
/// words; a cell that is not a number gets the hints that fix the usual causes.
impl From<ReadError> for CliError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::NonFiniteF32 {
                file,
                row,
                column,
                value,
            } => CliError::data(format!(
                "{file}: row {row}, column {column} (1-based) is {value} in f32; remove or impute missing and infinite values, or use --dtype f64"
            )),
            ReadError::NotANumber {
                ref text,
                ref column_name,
                ..
            } => {
                let decimal_comma = {
                    let t = text.trim();
                    t.contains(',')
                        && t.replacen(',', ".", 1).parse::<f64>().is_ok()
                };
                // "5,1" is a decimal comma; "5.1,3.5" or "5,1,2" are fields.
                let split_by = [',', ';', '\t', '|'].into_iter().find(|&c| {
                    let parts: Vec<&str> = text.split(c).collect();
                    (parts.len() > 2 || (parts.len() == 2 && (c != ',' || text.contains('.'))))
                        && parts
                            .iter()
                            .all(|p| p.trim().is_empty() || p.trim().replace(',', ".").parse::<f64>().is_ok())
                });
                let hint = if split_by == Some(',') {
                    "; the fields look separated by commas: a comma cannot be both the delimiter and the decimal separator, so drop --decimal , (or give another --delimiter)".to_string()
                } else if let Some(c) = split_by {
                    let name = match c {
                        '\t' => "tab".to_string(),
                        c => c.to_string(),
                    };
                    format!(
                        "; the fields look separated by {name:?}: pass --delimiter {} (a comma cannot be both the delimiter and --decimal)",
                        if c == '\t' { "tab".to_string() } else { format!("'{c}'") }
                    )
                } else if decimal_comma {
                    "; for decimal commas pass --decimal , (and --delimiter if the fields are not separated by semicolons)".to_string()
                } else {
                    format!(
                        "; if it is not a feature, leave it out with --exclude {} (or choose the features with --columns)",
                        token(column_name)
                    )
                };
                CliError::data(format!("{e}{hint}"))
            }
            ReadError::FieldCount { found, expected, .. } if found == expected + 1 => {
                CliError::data(format!(
                    "{e}; if the numbers use decimal commas (a comma then splits each in two), pass --decimal ,"
                ))
            }
            // A column flag naming no column: a usage error (exit code 2).
            e @ (ReadError::NoSuchColumn { .. } | ReadError::ReversedRange { .. }) => {
                CliError::usage(read_words(&e.to_string()))
            }
            other => CliError::data(read_words(&other.to_string())),
        }
    }
}

/// A column name as a `--columns`/`--exclude` token (quoted for the shell when needed).
pub fn token(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

pub type CliResult<T> = Result<T, CliError>;
