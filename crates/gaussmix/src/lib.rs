//! # gaussmix
//!
//! Gaussian mixture models fitted by expectation-maximisation, with scikit-learn's
//! semantics (same start ⇒ same answer to ~1e-10, but exact where scikit-learn's
//! expanded formulas lose digits), four covariance types, k-means++ initialisation and
//! restarts, sample weights, f32 or f64 data, model selection, and a validated,
//! versioned model file.
//!
//! ```
//! use gaussmix::{CovarianceType, GaussianMixture};
//! use ndarray::Array2;
//!
//! // Two well-separated 1-D clusters.
//! let x = Array2::from_shape_fn((200, 1), |(i, _)| if i < 100 { i as f64 * 0.01 } else { 50.0 + i as f64 * 0.01 });
//! let model = GaussianMixture::params(2).covariance_type(CovarianceType::Full).seed(1).fit(&x)?;
//! assert!(model.converged());
//! let proba = model.predict_proba(&x)?;
//! assert!((proba.row(0).sum() - 1.0).abs() < 1e-12);
//! assert_eq!(model.n_parameters(), 5);
//! let back = GaussianMixture::from_json(&model.to_json())?;
//! assert_eq!(back, model);
//! # Ok::<(), gaussmix::GmmError>(())
//! ```
//!
//! ## The public API
//! - [`GmmOptions`] (also [`GaussianMixture::params`]): scikit-learn's parameters as
//!   chained setters; `fit`, `fit_predict`, `fit_with_progress`.
//! - [`GaussianMixture`]: the fitted mixture — `predict`, `predict_proba`,
//!   `score_samples`, `score`, `bic`, `aic`, `sample`; `weights`, `means`,
//!   `covariances`, `precisions`, `converged`, `n_iter`, `lower_bound`; serde
//!   (`Serialize`/`Deserialize`, validated on load) and `to_json`/`from_json`.
//! - Online (stepwise) EM: [`GmmOptions::partial_fit`] starts on a first batch,
//!   [`GaussianMixture::partial_fit`] blends in each next one, `end_pass` records a
//!   pass; the running statistics ([`OnlineState`]) live on the model and in its file,
//!   so a saved model is a checkpoint.
//! - Data: every method takes `&impl` [`AsData`] — an ndarray matrix or view of `f64` or
//!   `f32`, or a [`Data`] (validated once, may carry sample weights).
//! - EM over blocks held elsewhere (`gaussmix.dask`'s workers, any map-reduce engine):
//!   [`blocks::BlockStats`] (a block's statistics, compact bytes, ordered merge) and
//!   [`blocks::BlockEm`] (the M-step, stopping rule and record on merged statistics).
//! - [`kmeans::KMeans`], [`select`] (BIC/AIC/ICL over `k` and covariance types),
//!   [`GmmError`] (every refusal says what, where and what to do).
//! - Features: `linfa` (linfa's `Fit` / `PredictInplace`), `kernel-override` (tests and
//!   benchmarks: [`force_kernels`]), `bench` (entry points for `benches/`).
//!
//! ## How it works: the data path
//! The modules read top-down as the data flows; each uses only those above it
//! (`tests/layering.rs` checks it, and that no two modules import each other):
//!
//! | layer | modules | holds |
//! |---|---|---|
//! | leaves | `error`, `cpu`, `linalg`, `parallel`, `simd` | errors; CPU level (detected once) and kernel forcing; small dense algebra; the chunked map-reduce; row loops per instruction set |
//! | input | `data` | validated borrowed rows (f64/f32), weights, [`AsData`] |
//! | options | `covariance`, `options` | covariance types and per-type arrays; [`GmmOptions`] |
//! | parameters | `params`, `stats` | parameters with Cholesky factors of the precisions; sufficient statistics, their merge and the M-step |
//! | kernels | `kernels/` | one trait for "a chunk's log-densities and statistics", four implementations, one place that chooses |
//! | fit | `fit/` | passes (one read of each chunk can serve several parameter sets), initialisation, k-means, the EM driver, restarts, the fit record |
//! | model | `model/` | the fitted mixture, prediction, the model file |
//! | blocks | [`blocks`] | EM over blocks held elsewhere (a cluster's workers): a block's statistics, their ordered merge, the M-step and stopping rule on merged statistics |
//! | select | `select` | model selection |
//!
//! A fit is EM as a map-reduce over fixed chunks of rows: each worker runs the chosen
//! kernel over its chunks into its own statistics, merged in a fixed order, so results
//! are identical for any thread count and no `N×K` matrix is held. Log-densities are
//! computed in log space from Cholesky factors of the precisions, and every moment is
//! taken about a point near its component (its mean, or a product group's shift within
//! a bounded number of spreads), so accuracy does not depend on where the data sit or
//! how far apart the clusters are (`DESIGN.md`, "Numerics").
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

// The data path, top-down (each module only uses the ones above it; `tests/layering.rs`
// checks it): input → options → parameters and statistics → kernels → fit → model →
// select. `cpu`, `parallel`, `linalg` are leaves everything may use.
pub mod blocks;
mod covariance;
mod cpu;
mod data;
mod error;
mod fit;
mod kernels;
mod linalg;
#[cfg(feature = "linfa")]
mod linfa_traits;
mod model;
mod options;
mod parallel;
mod params;
pub mod select;
mod simd;
mod stats;

pub use covariance::{CovarianceType, Covariances, Precisions};
pub use cpu::force_kernels;
pub use data::source;
pub use data::{AsData, Data};
pub use error::{GmmError, Result};

pub use fit::kmeans;
pub use fit::{
    FitRecord, FitWarning, OnlineState, Progress, Recovery, SplitMergeMove, SplitMergeRecord,
    WarningKind,
};
pub use model::{GaussianMixture, MODEL_VERSION};
pub use options::{
    GmmOptions, InitMethod, StartParameters, DEFAULT_INIT_CANDIDATES, DEFAULT_INIT_ITER,
    DEFAULT_SPLIT_MERGE_MOVES, DEFAULT_STEP_EXPONENT, INIT_METHODS, MAX_INIT_CANDIDATES,
    MAX_N_INIT, MAX_SPLIT_MERGE_MOVES, MAX_THREADS,
};

/// Entry points for the benchmarks (`benches/kernels.rs`), behind the `bench` feature;
/// not part of the stable API.
#[cfg(feature = "bench")]
pub mod bench {
    use crate::{Data, GaussianMixture, Result};

    /// One EM iteration (E-step pass with moment accumulation, M-step, factorisation)
    /// from `model`'s parameters; returns the mean log-likelihood.
    pub fn em_iteration(data: &Data, model: &GaussianMixture, reg_covar: f64) -> Result<f64> {
        let st = crate::fit::pass::e_pass(data, &model.params, false);
        let (w, m, c) = st.m_step(reg_covar, None)?;
        crate::params::Params::new(w, m, c, reg_covar)?;
        Ok(st.mean_log_likelihood())
    }
}
