//! The fitted mixture: parameters, the fit's record, and everything a fitted model does
//! (predict, predict_proba, score_samples, score, sample, bic, aic).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::covariance::{CovarianceType, Covariances};
use crate::data::{Data, Rows};
use crate::em::{chunk_log_prob, e_pass, run_em, with_buffers, Buffers};
use crate::engine::{chunks, derive_seed, install, map_groups};
use crate::error::{GmmError, Result};
use crate::estep::normalize_rows;
use crate::init::initial_params;
use crate::kernels::Prepared;
use crate::linalg;
use crate::options::{GmmBuilder, GmmOptions};
use crate::params::Params;

/// What happened during a fit; stored in model files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FitRecord {
    /// Whether the stopping rule fired before `max_iter`.
    pub converged: bool,
    /// EM iterations of the kept run.
    pub n_iter: usize,
    /// Mean log-likelihood at the start of the last iteration (scikit-learn's
    /// `lower_bound_`; it lags the final parameters by one step).
    pub lower_bound: f64,
    /// The mean log-likelihood at every iteration of the kept run.
    pub lower_bounds: Vec<f64>,
    /// Rows of the training data.
    pub n_samples: usize,
    /// Total sample weight (equals `n_samples` without weights).
    pub total_weight: f64,
    /// Mean log-likelihood of the training data under the final parameters.
    pub score: f64,
    /// Bayesian information criterion on the training data.
    pub bic: f64,
    /// Akaike information criterion on the training data.
    pub aic: f64,
    /// Free parameters of the model.
    pub n_parameters: usize,
    /// Which restart (0-based) was kept.
    pub best_init: usize,
    /// Restarts that failed, with their reasons.
    pub failed_inits: Vec<String>,
    /// Components re-seeded by the `recover` option during the kept run.
    pub recoveries: Vec<Recovery>,
    /// The options of the fit.
    pub options: GmmOptions,
}

/// A component re-seeded during EM (only with the `recover` option).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Recovery {
    /// The EM iteration after which it happened (1-based).
    pub iteration: usize,
    /// The component (0-based).
    pub component: usize,
    /// The data row it was re-seeded on (0-based); `None` when only its covariance was
    /// widened (at initialisation).
    pub row: Option<usize>,
    /// Why: lost its mass, or covariance not positive definite.
    pub reason: String,
}

/// Progress of a running fit, for progress bars and logs.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Restart (0-based).
    pub run: usize,
    /// Total restarts.
    pub n_init: usize,
    /// EM iteration (1-based) within the run.
    pub iteration: usize,
    /// Mean log-likelihood at this iteration.
    pub lower_bound: f64,
    /// Change from the previous iteration (∞ at the first).
    pub change: f64,
}

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

    /// Per-row results of width `width`, computed chunk by chunk in parallel.
    fn rowwise(
        &self,
        data: &Data,
        width: usize,
        f: impl Fn(Rows, &mut [f64], &mut Buffers) + Sync + Send,
    ) -> Vec<f64> {
        let parts = map_groups(data.n_samples(), |s, e| {
            let mut out = vec![0.0; (e - s) * width];
            with_buffers(|b| {
                for (cs, ce) in chunks(s, e) {
                    let rows = data.rows(cs, ce);
                    f(rows, &mut out[(cs - s) * width..(ce - s) * width], b);
                }
            });
            out
        });
        parts.concat()
    }

    /// `log p(x_i)` for every row of the data.
    pub fn score_samples_data(&self, data: &Data) -> Result<Array1<f64>> {
        self.check_features(data)?;
        let k = self.params.k;
        let prep = Prepared::new(&self.params, None, data.is_f32());
        let out = self.rowwise(data, 1, |rows, out, b| {
            let mut resp = std::mem::take(&mut b.resp);
            resp.resize(out.len() * k, 0.0);
            chunk_log_prob(&prep, &self.params, rows, &mut resp, b);
            normalize_rows(&mut resp, k, out);
            b.resp = resp;
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
        let prep = Prepared::new(&self.params, None, data.is_f32());
        let out = self.rowwise(data, k, |rows, out, b| {
            b.log_norm.resize(out.len() / k, 0.0);
            chunk_log_prob(&prep, &self.params, rows, out, b);
            normalize_rows(out, k, &mut b.log_norm);
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
        let prep = Prepared::new(&self.params, None, data.is_f32());
        let out = self.rowwise(data, 1, |rows, out, b| {
            let mut resp = std::mem::take(&mut b.resp);
            resp.resize(out.len() * k, 0.0);
            chunk_log_prob(&prep, &self.params, rows, &mut resp, b);
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
        self.validate()?;
        let k = self.n_components;
        let eff = data.n_effective_rows();
        if eff < k {
            return Err(GmmError::InvalidData(format!(
                "{eff} samples (with positive weight) are fewer than n_components = {k}; use at most {eff} components or more data"
            )));
        }
        data.check_range()?;
        install(self.n_threads, || self.fit_runs(data, progress))?
    }

    fn fit_runs(
        &self,
        data: &Data,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<GaussianMixture> {
        let mut best: Option<(usize, crate::em::Run)> = None;
        let mut failures: Vec<(usize, GmmError)> = Vec::new();
        for run in 0..self.n_init {
            let seed = derive_seed(self.seed, run as u64, 0x1A17);
            let outcome = initial_params(data, self, seed).and_then(|(p, init_fixes)| {
                let mut prev = f64::NEG_INFINITY;
                run_em(data, self, p, init_fixes, |t, l| {
                    progress(&Progress {
                        run,
                        n_init: self.n_init,
                        iteration: t,
                        lower_bound: l,
                        change: (l - prev).abs(),
                    });
                    prev = l;
                })
            });
            match outcome {
                Ok(r) => {
                    let lb = r.lower_bounds.last().copied().unwrap_or(f64::NEG_INFINITY);
                    let better = best.as_ref().is_none_or(|(_, b)| {
                        lb > b.lower_bounds.last().copied().unwrap_or(f64::NEG_INFINITY)
                    });
                    if better {
                        best = Some((run, r));
                    }
                }
                // Bad user input is the same for every restart: report it at once.
                Err(
                    e @ (GmmError::InvalidData(_)
                    | GmmError::InvalidInit(_)
                    | GmmError::InvalidOption { .. }),
                ) => return Err(e),
                Err(e) => failures.push((run, e)),
            }
        }
        let Some((best_init, run)) = best else {
            // Every restart failed: the first reason is the one to show.
            let (_, e) = failures.swap_remove(0);
            return Err(e);
        };
        let final_stats = e_pass(data, &run.params, false);
        let score = final_stats.mean_log_likelihood();
        if !score.is_finite() {
            return Err(GmmError::Numerical(format!(
                "the final log-likelihood is {score}"
            )));
        }
        let n = data.total_weight();
        let n_parameters = self
            .covariance_type
            .n_parameters(self.n_components, data.n_features());
        let record = FitRecord {
            converged: run.converged,
            n_iter: run.n_iter,
            lower_bound: run
                .lower_bounds
                .last()
                .copied()
                .unwrap_or(f64::NEG_INFINITY),
            lower_bounds: run.lower_bounds,
            n_samples: data.n_samples(),
            total_weight: n,
            score,
            bic: -2.0 * n * score + n_parameters as f64 * n.ln(),
            aic: -2.0 * n * score + 2.0 * n_parameters as f64,
            n_parameters,
            best_init,
            failed_inits: failures
                .iter()
                .map(|(r, e)| format!("restart {r}: {e}"))
                .collect(),
            recoveries: run.recoveries,
            options: self.clone(),
        };
        Ok(GaussianMixture {
            params: run.params,
            fit: Some(record),
        })
    }

    /// Runs exactly one EM iteration from the starting parameters and returns the new
    /// model and the mean log-likelihood of the start (for checks and teaching).
    pub fn one_step(&self, data: &Data) -> Result<(GaussianMixture, f64)> {
        let seed = derive_seed(self.seed, 0, 0x1A17);
        install(self.n_threads, || {
            let (p, _) = initial_params(data, self, seed)?;
            let st = e_pass(data, &p, false);
            let l = st.mean_log_likelihood();
            let (w, m, c) = st.m_step(self.reg_covar, self.variance_floor)?;
            let params = Params::new(w, m, c, self.reg_covar)?;
            Ok((GaussianMixture { params, fit: None }, l))
        })?
    }
}
