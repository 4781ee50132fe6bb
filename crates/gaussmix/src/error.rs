//! The one error type of the library.
//!
//! Every message says what was wrong, where, and what the user can do about it,
//! because these strings end up verbatim in the CLI's output.

use thiserror::Error;

/// Everything that can go wrong when configuring, fitting or using a mixture.
///
/// ```
/// use gaussmix::{GaussianMixture, GmmError};
/// let x = ndarray::array![[0.0, 1.0], [f64::NAN, 2.0]];
/// match GaussianMixture::params(1).fit(&x) {
///     Err(GmmError::NonFinite { row, column, .. }) => assert_eq!((row, column), (1, 0)),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum GmmError {
    /// An error raised by linfa's dataset handling (the `linfa` feature).
    #[cfg(feature = "linfa")]
    #[error("linfa: {0}")]
    Linfa(String),

    /// An option is outside its allowed range.
    #[error("invalid option `{name}`: {message}")]
    InvalidOption {
        /// The option's name, as the builder method spells it.
        name: &'static str,
        /// What is allowed, and what was given.
        message: String,
    },

    /// The data matrix cannot be used (empty, wrong shape, non-finite values...).
    #[error("invalid data: {0}")]
    InvalidData(String),

    /// A value in the data is NaN or infinite.
    #[error("invalid data: non-finite value {value} at row {row}, column {column} (0-based); remove or impute it before fitting")]
    NonFinite {
        /// 0-based row.
        row: usize,
        /// 0-based column.
        column: usize,
        /// The offending value.
        value: f64,
    },

    /// The data has a different number of features than the model.
    #[error("the model has {expected} features but the data has {found}; use data with the same columns the model was fitted on")]
    FeatureMismatch {
        /// Features of the model.
        expected: usize,
        /// Features of the data.
        found: usize,
    },

    /// A covariance matrix is not positive definite (after `reg_covar`).
    #[error("the covariance of component {component} is not positive definite{context}; try a larger reg_covar (now {reg_covar:e}), fewer components or a simpler covariance type (diag or spherical){hint}",
        hint = if context.contains("re-seed") { "" } else { ", or the recover option" })]
    NotPositiveDefinite {
        /// The component (0-based), or 0 for the tied covariance.
        component: usize,
        /// The regulariser in force.
        reg_covar: f64,
        /// Where it happened (e.g. " at EM iteration 3").
        context: String,
    },

    /// Starting parameters given by the user are inconsistent.
    #[error("invalid starting parameters: {0}")]
    InvalidInit(String),

    /// A model (from a file or built by hand) fails validation.
    #[error("invalid model: {0}")]
    InvalidModel(String),

    /// EM produced a non-finite number: never returned silently.
    #[error("numerical failure: {0}; try standardising the data or a larger reg_covar")]
    Numerical(String),

    /// Reading the data from a [`ChunkSource`](crate::source::ChunkSource) failed: a
    /// file reader's error (its message says what, where and what to do), or a
    /// source that broke the trait's contract.
    #[error("{message}")]
    Source {
        /// The source's message, shown as it is.
        message: String,
    },
}

impl GmmError {
    /// Rewrites where a not-positive-definite error happened (`f` gets the old context);
    /// any other error is returned as it is.
    pub(crate) fn map_pd_context(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            GmmError::NotPositiveDefinite {
                component,
                reg_covar,
                context,
            } => GmmError::NotPositiveDefinite {
                component,
                reg_covar,
                context: f(context),
            },
            other => other,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, GmmError>;

pub(crate) fn invalid_option(name: &'static str, message: impl Into<String>) -> GmmError {
    GmmError::InvalidOption {
        name,
        message: message.into(),
    }
}

#[cfg(feature = "linfa")]
impl From<linfa::Error> for GmmError {
    fn from(e: linfa::Error) -> Self {
        GmmError::Linfa(e.to_string())
    }
}
