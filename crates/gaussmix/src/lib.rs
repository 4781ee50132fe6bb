//! # gaussmix
//!
//! Gaussian mixture models fitted by expectation-maximisation, with scikit-learn's
//! semantics (same start ⇒ same answer to ~1e-10), four covariance types, k-means++
//! initialisation and restarts, sample weights, and a validated JSON model file.
//!
//! EM runs as a map-reduce over fixed chunks of rows (see `DESIGN.md`): results are
//! identical for any thread count, and no `N×K` matrix is held during a fit.
//!
//! ```
//! use gaussmix::{CovarianceType, GaussianMixture};
//! use ndarray::Array2;
//!
//! // Two well-separated 1-D clusters.
//! let x = Array2::from_shape_fn((200, 1), |(i, _)| if i < 100 { i as f64 * 0.01 } else { 50.0 + i as f64 * 0.01 });
//! let model = GaussianMixture::builder(2).seed(1).build()?.fit(x.view())?;
//! let proba = model.predict_proba(x.view())?;
//! assert!((proba.row(0).sum() - 1.0).abs() < 1e-12);
//! assert_eq!(model.n_parameters(), 5);
//! let back = GaussianMixture::from_json(&model.to_json())?;
//! assert_eq!(back.means(), model.means());
//! # Ok::<(), gaussmix::GmmError>(())
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod anchored;
mod covariance;
mod cpu;
mod data;
mod em;
mod engine;
mod error;
mod estep;
mod init;
mod kernels;
pub mod kmeans;
mod linalg;
mod model;
mod model_file;
mod options;
mod params;
pub mod select;
mod simd;
mod small;
mod stats;

pub use covariance::{CovarianceType, Covariances};
pub use data::Data;
pub use error::{GmmError, Result};
pub use model::{FitRecord, GaussianMixture, Progress, Recovery};
pub use model_file::MODEL_VERSION;
pub use options::{GmmBuilder, GmmOptions, InitMethod, StartParameters, MAX_THREADS};

/// Entry points for the benchmarks (`benches/kernels.rs`); not a stable API.
#[doc(hidden)]
pub mod bench_api {
    use crate::{Data, GaussianMixture, Result};

    /// One EM iteration (E-step pass with moment accumulation, M-step, factorisation)
    /// from `model`'s parameters; returns the mean log-likelihood.
    pub fn em_iteration(data: &Data, model: &GaussianMixture, reg_covar: f64) -> Result<f64> {
        let st = crate::em::e_pass(data, &model.params, false);
        let (w, m, c) = st.m_step(reg_covar, None)?;
        crate::params::Params::new(w, m, c, reg_covar)?;
        Ok(st.mean_log_likelihood())
    }
}
