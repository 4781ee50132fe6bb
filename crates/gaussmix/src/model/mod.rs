//! The fitted mixture: parameters, the fit's record, and everything a fitted model does
//! (predict, predict_proba, score_samples, score, sample, bic, aic).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

mod file;

pub use file::MODEL_VERSION;

use crate::covariance::{CovarianceType, Covariances};
use crate::data::Data;
use crate::error::{GmmError, Result};
use crate::fit::pass::{chunk_responsibilities, map_rows};
use crate::fit::{FitRecord, Progress};
use crate::linalg;
use crate::options::{GmmBuilder, GmmOptions, StartParameters};
use crate::parallel::derive_seed;
use crate::params::Params;

/// A Gaussian mixture model.
///
/// ```
/// use gaussmix::{CovarianceType, GaussianMixture};
/// use ndarray::array;
///
/// let x = array![[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [10.0, 10.2], [10.1, 9.9], [9.8, 10.0]];
/// let model = GaussianMixture::builder(2)
///     .covariance_type(CovarianceType::Diag)
///     .seed(42)
///     .build()?
///     .fit(x.view())?;
/// let labels = model.predict(x.view())?;
/// assert_eq!(labels[0], labels[1]);
/// assert_ne!(labels[0], labels[3]);
/// assert!(model.fit_record().unwrap().converged);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMixture {
    pub(crate) params: Params,
    pub(crate) fit: Option<FitRecord>,
}

impl GaussianMixture {
    /// Starts configuring a fit with `n_components` components.
    pub fn builder(n_components: usize) -> GmmBuilder {
        GmmBuilder::new(n_components)
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
        Ok(GaussianMixture { params, fit: None })
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
    /// let m = gaussmix::GaussianMixture::builder(1).build()?.fit_slice(&[0.0, 1.0, 2.0], 3, 1)?;
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
    /// `precisions_cholesky_`: upper triangular `U` with `Σ⁻¹ = U Uᵀ`).
    pub fn precisions_cholesky(&self) -> Covariances {
        self.params.prec.to_covariances_shape()
    }
    /// The record of the fit that produced this model (`None` for a model built from
    /// parameters).
    pub fn fit_record(&self) -> Option<&FitRecord> {
        self.fit.as_ref()
    }
    /// Free parameters: `(K−1) + K·D + covariance parameters`.
    pub fn n_parameters(&self) -> usize {
        self.covariance_type()
            .n_parameters(self.n_components(), self.n_features())
    }

    fn data<'a>(&self, x: ArrayView2<'a, f64>) -> Result<Data<'a>> {
        let data = Data::from_view(x)?;
        self.check_features(&data)?;
        Ok(data)
    }

    pub(crate) fn check_features(&self, data: &Data) -> Result<()> {
        if data.n_features() != self.n_features() {
            return Err(GmmError::FeatureMismatch {
                expected: self.n_features(),
                found: data.n_features(),
            });
        }
        Ok(())
    }

    /// `log p(x_i)` for every row of the data.
    pub fn score_samples_data(&self, data: &Data) -> Result<Array1<f64>> {
        self.check_features(data)?;
        let k = self.params.k;
        let out = map_rows(data, &self.params, 1, |kernel, rows, out, b| {
            b.resp.resize(out.len() * k, 0.0);
            chunk_responsibilities(kernel, rows, &mut b.resp, out, &mut b.ws);
        });
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            return Err(GmmError::Numerical(format!(
                "log p(x) of row {i} is {}; the row is too far from every component",
                out[i]
            )));
        }
        Ok(Array1::from_vec(out))
    }

    /// `log p(x_i)` for every row (scikit-learn's `score_samples`).
    pub fn score_samples(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        self.score_samples_data(&self.data(x)?)
    }

    /// Mean log-likelihood of the rows (weighted when the data carry weights).
    pub fn score_data(&self, data: &Data) -> Result<f64> {
        let s = self.score_samples_data(data)?;
        Ok(match data.weights() {
            Some(w) => s.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / data.total_weight(),
            None => s.mean().unwrap_or(f64::NAN),
        })
    }

    /// Mean log-likelihood of the rows (scikit-learn's `score`).
    pub fn score(&self, x: ArrayView2<f64>) -> Result<f64> {
        self.score_data(&self.data(x)?)
    }

    /// Responsibilities `p(k | x_i)`, `N×K`.
    pub fn predict_proba_data(&self, data: &Data) -> Result<Array2<f64>> {
        self.check_features(data)?;
        let k = self.params.k;
        let out = map_rows(data, &self.params, k, |kernel, rows, out, b| {
            b.log_norm.resize(out.len() / k, 0.0);
            chunk_responsibilities(kernel, rows, out, &mut b.log_norm, &mut b.ws);
        });
        Array2::from_shape_vec((data.n_samples(), k), out)
            .map_err(|e| GmmError::Numerical(e.to_string()))
    }

    /// Responsibilities `p(k | x_i)`, `N×K` (scikit-learn's `predict_proba`).
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        self.predict_proba_data(&self.data(x)?)
    }

    /// The most likely component of every row (lowest index on ties).
    pub fn predict_data(&self, data: &Data) -> Result<Array1<usize>> {
        self.check_features(data)?;
        let k = self.params.k;
        let out = map_rows(data, &self.params, 1, |kernel, rows, out, b| {
            let mut resp = std::mem::take(&mut b.resp);
            resp.resize(out.len() * k, 0.0);
            kernel.log_prob(rows, &mut resp, &mut b.ws);
            for (o, row) in out.iter_mut().zip(resp.chunks_exact(k)) {
                let mut best = 0;
                for c in 1..k {
                    if row[c] > row[best] {
                        best = c;
                    }
                }
                *o = best as f64;
            }
            b.resp = resp;
        });
        Ok(out.into_iter().map(|v| v as usize).collect())
    }

    /// The most likely component of every row (scikit-learn's `predict`).
    pub fn predict(&self, x: ArrayView2<f64>) -> Result<Array1<usize>> {
        self.predict_data(&self.data(x)?)
    }

    /// Bayesian information criterion: `−2·n·score + p·ln n`.
    pub fn bic(&self, x: ArrayView2<f64>) -> Result<f64> {
        let data = self.data(x)?;
        let n = data.total_weight();
        Ok(-2.0 * n * self.score_data(&data)? + self.n_parameters() as f64 * n.ln())
    }

    /// Akaike information criterion: `−2·n·score + 2p`.
    pub fn aic(&self, x: ArrayView2<f64>) -> Result<f64> {
        let data = self.data(x)?;
        let n = data.total_weight();
        Ok(-2.0 * n * self.score_data(&data)? + 2.0 * self.n_parameters() as f64)
    }

    /// Draws `n` rows from the mixture; returns the rows and the component of each.
    /// The same seed gives the same draw.
    pub fn sample(&self, n: usize, seed: u64) -> Result<(Array2<f64>, Array1<usize>)> {
        let (k, d) = (self.params.k, self.params.d);
        let mut factors = Vec::with_capacity(k);
        for c in 0..k {
            let m = self.params.covariances.component_matrix(c, d);
            factors.push(linalg::cholesky_lower(&m, d).ok_or_else(|| {
                GmmError::InvalidModel(format!(
                    "the covariance of component {c} is not positive definite"
                ))
            })?);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 0x5A3B, 0));
        let cum: Vec<f64> = self
            .params
            .weights
            .iter()
            .scan(0.0, |a, w| {
                *a += w;
                Some(*a)
            })
            .collect();
        let mut x = Array2::zeros((n, d));
        let mut labels = Array1::zeros(n);
        let mut z = vec![0.0; d];
        for i in 0..n {
            let u: f64 = rng.gen::<f64>() * cum[k - 1];
            let c = cum.iter().position(|v| u < *v).unwrap_or(k - 1);
            labels[i] = c;
            for v in z.iter_mut() {
                *v = rng.sample(StandardNormal);
            }
            let l = &factors[c];
            for a in 0..d {
                let mut s = self.params.means[[c, a]];
                for b in 0..=a {
                    s += l[a * d + b] * z[b];
                }
                x[[i, a]] = s;
            }
        }
        Ok((x, labels))
    }
}

impl StartParameters {
    /// Starting parameters taken from a model (for warm starts and `--init-model`).
    pub fn from_model(model: &GaussianMixture) -> Self {
        StartParameters {
            weights: Some(model.weights().to_owned()),
            means: Some(model.means().to_owned()),
            covariances: Some(model.covariances().clone()),
            precisions: None,
        }
    }
}

impl GmmBuilder {
    /// Continue from a fitted model: its parameters become the starting point and its
    /// covariance type is used (scikit-learn's `warm_start`).
    pub fn warm_start(mut self, model: &GaussianMixture) -> Self {
        self.opts.covariance_type = model.covariance_type();
        self.opts.n_components = model.n_components();
        self.opts.start = StartParameters::from_model(model);
        self
    }
}

impl GmmOptions {
    /// Fits a mixture to the rows of `x` (`n_samples × n_features`).
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<GaussianMixture> {
        self.fit_data(&Data::from_view(x)?)
    }

    /// Fits a mixture to a row-major slice of `n_rows × n_cols` values.
    ///
    /// ```
    /// let x = [0.0, 0.2, 0.1, 9.0, 9.2, 9.1];
    /// let m = gaussmix::GaussianMixture::builder(2).build()?.fit_slice(&x, 6, 1)?;
    /// assert_eq!(m.n_features(), 1);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn fit_slice(&self, x: &[f64], n_rows: usize, n_cols: usize) -> Result<GaussianMixture> {
        self.fit_data(&Data::from_slice(x, n_rows, n_cols)?)
    }

    /// Fits a mixture to validated data (which may carry sample weights).
    pub fn fit_data(&self, data: &Data) -> Result<GaussianMixture> {
        self.fit_with_progress(data, &mut |_| {})
    }

    /// Like [`GmmOptions::fit_data`], calling `progress` after every EM iteration.
    pub fn fit_with_progress(
        &self,
        data: &Data,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<GaussianMixture> {
        let (params, record) = crate::fit::fit(self, data, progress)?;
        Ok(GaussianMixture {
            params,
            fit: Some(record),
        })
    }

    /// Runs exactly one EM iteration from the starting parameters and returns the new
    /// model and the mean log-likelihood of the start (for checks and teaching).
    pub fn one_step(&self, data: &Data) -> Result<(GaussianMixture, f64)> {
        let (params, l) = crate::fit::one_step(self, data)?;
        Ok((GaussianMixture { params, fit: None }, l))
    }
}
