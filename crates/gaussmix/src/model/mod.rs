//! The fitted mixture: its parameters and the record of the fit (`mod.rs`), what it
//! computes on data (`predict.rs`), fitting from the options' side (`train.rs`), online EM
//! (`online.rs`), and its file format (`file.rs`: serde, validated on load, versioned).

mod file;
mod online;
mod predict;
mod train;

pub use file::MODEL_VERSION;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::covariance::{CovarianceType, Covariances, Precisions};
use crate::error::{GmmError, Result};
use crate::fit::FitRecord;
use crate::options::GmmOptions;
use crate::params::Params;

/// A Gaussian mixture model.
///
/// ```
/// use gaussmix::{CovarianceType, GaussianMixture};
/// use ndarray::array;
///
/// let x = array![[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [10.0, 10.2], [10.1, 9.9], [9.8, 10.0]];
/// let model = GaussianMixture::params(2)
///     .covariance_type(CovarianceType::Diag)
///     .seed(42)
///     .fit(&x)?;
/// let labels = model.predict(&x)?;
/// assert_eq!(labels[0], labels[1]);
/// assert_ne!(labels[0], labels[3]);
/// assert!(model.converged());
/// // A model file is the model serialised (serde; loading validates).
/// let back: GaussianMixture = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
/// assert_eq!(back, model);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "file::ModelFile", try_from = "file::ModelFile")]
pub struct GaussianMixture {
    pub(crate) params: Params,
    pub(crate) fit: Option<FitRecord>,
    /// One name per feature, when known (stored at the top level of the model file).
    pub(crate) feature_names: Option<Vec<String>>,
    /// Online EM's running statistics (`partial_fit`), when it made the model.
    pub(crate) online: Option<crate::fit::OnlineState>,
}

impl GaussianMixture {
    /// The options of a fit with `n_components` components (scikit-learn's defaults
    /// otherwise): `GaussianMixture::params(3).seed(1).fit(&x)`. Same as
    /// [`GmmOptions::new`].
    pub fn params(n_components: usize) -> GmmOptions {
        GmmOptions::new(n_components)
    }

    /// A model from explicit parameters, validated (shapes, finiteness, weights summing
    /// to 1, symmetric positive definite covariances).
    pub fn from_parameters(
        weights: Array1<f64>,
        means: Array2<f64>,
        covariances: Covariances,
    ) -> Result<Self> {
        let params = Params::new(weights, means, covariances, 0.0).map_err(|e| match e {
            GmmError::NotPositiveDefinite { component, .. } => GmmError::InvalidModel(format!(
                "the covariance of component {component} is not positive definite"
            )),
            other => other,
        })?;
        Ok(GaussianMixture {
            params,
            fit: None,
            feature_names: None,
            online: None,
        })
    }

    /// The names of the features (columns), when the fit was given them
    /// ([`GmmOptions::feature_names`]) or the model file holds them.
    ///
    /// Predictions are positional: the library does not match names to columns (the
    /// CLI and the Python package do, before calling it).
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// The same model with these feature names (`None` removes them): exactly
    /// [`n_features`](Self::n_features) names, unique and non-empty, else
    /// [`GmmError::InvalidOption`] naming `feature_names`.
    ///
    /// ```
    /// # use gaussmix::{Covariances, GaussianMixture};
    /// # use ndarray::array;
    /// let m = GaussianMixture::from_parameters(array![1.0], array![[0.0, 1.0]],
    ///     Covariances::Spherical(array![1.0]))?;
    /// let named = m.with_feature_names(Some(vec!["x".into(), "y".into()]))?;
    /// assert_eq!(named.feature_names().unwrap()[1], "y");
    /// assert!(named.clone().with_feature_names(Some(vec!["x".into()])).is_err());
    /// assert!(named.with_feature_names(Some(vec!["x".into(), "x".into()])).is_err());
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn with_feature_names(mut self, names: Option<Vec<String>>) -> Result<Self> {
        if let Some(n) = &names {
            crate::options::check_feature_names(n, Some(self.n_features()))?;
        }
        self.feature_names = names;
        Ok(self)
    }

    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.params.k
    }
    /// Number of features `D`.
    pub fn n_features(&self) -> usize {
        self.params.d
    }
    /// Covariance kind.
    pub fn covariance_type(&self) -> CovarianceType {
        self.params.kind()
    }
    /// Mixture weights (`K`).
    pub fn weights(&self) -> ArrayView1<'_, f64> {
        self.params.weights.view()
    }
    /// Component means (`K×D`).
    pub fn means(&self) -> ArrayView2<'_, f64> {
        self.params.means.view()
    }
    /// Covariances in per-type shape.
    pub fn covariances(&self) -> &Covariances {
        &self.params.covariances
    }
    /// The full `D×D` covariance matrix of component `k` (whatever the covariance
    /// type), or `None` when `k >= n_components()`.
    ///
    /// ```
    /// let m = gaussmix::GaussianMixture::params(1).fit(&ndarray::array![[0.0], [1.0], [2.0]])?;
    /// assert!((m.component_covariance(0).unwrap()[[0, 0]] - (2.0 / 3.0 + 1e-6)).abs() < 1e-12);
    /// assert!(m.component_covariance(1).is_none());
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn component_covariance(&self, k: usize) -> Option<Array2<f64>> {
        if k >= self.n_components() {
            return None;
        }
        let d = self.n_features();
        Array2::from_shape_vec((d, d), self.params.covariances.component_matrix(k, d)).ok()
    }

    /// Every component's full `D×D` covariance matrix, in component order.
    pub fn component_covariances(&self) -> Vec<Array2<f64>> {
        (0..self.n_components())
            .filter_map(|k| self.component_covariance(k))
            .collect()
    }
    /// Cholesky factors of the precision matrices in per-type shape (scikit-learn's
    /// `precisions_cholesky_`: upper triangular `U` with `Σ⁻¹ = U Uᵀ`; diag and
    /// spherical: `1/σ`).
    pub fn precisions_cholesky(&self) -> Precisions {
        self.params.prec.to_precisions()
    }

    /// The precision matrices `Σ⁻¹ = U Uᵀ` in per-type shape (scikit-learn's
    /// `precisions_`), from the Cholesky factors (no matrix is inverted).
    ///
    /// ```
    /// # use gaussmix::{Covariances, GaussianMixture, Precisions};
    /// # use ndarray::array;
    /// let m = GaussianMixture::from_parameters(array![1.0], array![[0.0, 0.0]],
    ///     Covariances::Diag(array![[4.0, 0.25]]))?;
    /// let Precisions::Diag(p) = m.precisions() else { unreachable!() };
    /// assert!((p[[0, 0]] - 0.25).abs() < 1e-15 && (p[[0, 1]] - 4.0).abs() < 1e-12);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn precisions(&self) -> Precisions {
        let d = self.n_features();
        // Λ = U Uᵀ for an upper-triangular, row-major `U`.
        let gram = |u: ArrayView2<f64>| {
            Array2::from_shape_fn((d, d), |(i, j)| {
                (i.max(j)..d).map(|m| u[[i, m]] * u[[j, m]]).sum::<f64>()
            })
        };
        match self.precisions_cholesky() {
            Precisions::Full(u) => {
                let mut out = u.clone();
                for (mut o, uk) in out.outer_iter_mut().zip(u.outer_iter()) {
                    o.assign(&gram(uk));
                }
                Precisions::Full(out)
            }
            Precisions::Tied(u) => Precisions::Tied(gram(u.view())),
            Precisions::Diag(u) => Precisions::Diag(u.mapv(|v| v * v)),
            Precisions::Spherical(u) => Precisions::Spherical(u.mapv(|v| v * v)),
        }
    }

    /// Whether the kept run of the fit converged (`false` for a model built from
    /// parameters; scikit-learn's `converged_`).
    pub fn converged(&self) -> bool {
        self.fit.as_ref().is_some_and(|f| f.converged)
    }

    /// EM iterations of the kept run (0 for a model built from parameters;
    /// scikit-learn's `n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.fit.as_ref().map_or(0, |f| f.n_iter)
    }

    /// The mean log-likelihood at the last iteration of the kept run (scikit-learn's
    /// `lower_bound_`; `None` for a model built from parameters).
    pub fn lower_bound(&self) -> Option<f64> {
        self.fit.as_ref().map(|f| f.lower_bound)
    }
    /// The record of the fit that produced this model (`None` for a model built from
    /// parameters).
    pub fn fit_record(&self) -> Option<&FitRecord> {
        self.fit.as_ref()
    }
    /// The record, to annotate (`select` marks its warm starts).
    pub(crate) fn fit_record_mut(&mut self) -> Option<&mut FitRecord> {
        self.fit.as_mut()
    }
    /// Free parameters: `(K−1) + K·D + covariance parameters`.
    pub fn n_parameters(&self) -> usize {
        self.covariance_type()
            .n_parameters(self.n_components(), self.n_features())
    }
}
