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
                    "max_iter" => "--max-iter",
                    "tol" => "--tol",
                    "reg_covar" => "--reg-covar",
                    "variance_floor" => "--variance-floor",
                    "n_threads" => "--threads",
                    "criterion" => "--criterion",
                    "k" => "--k",
                    other => other,
                };
                CliError::usage(format!("invalid value for {flag}: {message}"))
            }
            other => CliError::data(other.to_string()),
        }
    }
}

/// A reader's error is bad data (exit code 1) with the reader's message, except that
/// an f32 overflow names the flag that avoids it.
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
            other => CliError::data(other.to_string()),
        }
    }
}

pub type CliResult<T> = Result<T, CliError>;
