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
//! let model = GaussianMixture::params(2).seed(1).fit(&x)?;
//! let proba = model.predict_proba(&x)?;
//! assert!((proba.row(0).sum() - 1.0).abs() < 1e-12);
//! assert_eq!(model.n_parameters(), 5);
//! let back = GaussianMixture::from_json(&model.to_json())?;
//! assert_eq!(back.means(), model.means());
//! # Ok::<(), gaussmix::GmmError>(())
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

// The data path, top-down (each module only uses the ones above it; `tests/layering.rs`
// checks it): input → options → parameters and statistics → kernels → fit → model →
// select. `cpu`, `parallel`, `linalg` are leaves everything may use.
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
#[cfg(target_arch = "x86_64")]
mod simd256;
#[cfg(target_arch = "x86_64")]
mod simd512;
mod stats;

pub use covariance::{CovarianceType, Covariances, Precisions};
pub use cpu::force_kernels;
pub use data::{AsData, Data};
pub use error::{GmmError, Result};
pub use fit::kmeans;
pub use fit::{FitRecord, Progress, Recovery};
pub use model::{GaussianMixture, MODEL_VERSION};
pub use options::{GmmOptions, InitMethod, StartParameters, MAX_THREADS};

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
