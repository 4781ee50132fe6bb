//! What a fitted model computes on data: log-densities, responsibilities, labels,
//! scores and information criteria, one kernel pass (`crate::fit::pass::map_rows`) each;
//! and draws from the mixture.

use std::borrow::Cow;

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::GaussianMixture;
use crate::data::{AsData, Data};
use crate::error::{GmmError, Result};
use crate::fit::pass::{chunk_responsibilities, map_rows};
use crate::linalg;
use crate::parallel::derive_seed;

impl GaussianMixture {
    /// The data of `x`, with as many features as the model.
    fn checked<'x, X: AsData + ?Sized>(&self, x: &'x X) -> Result<Cow<'x, Data<'x>>> {
        let data = x.as_data()?;
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

    /// `log p(x_i)` for every row (scikit-learn's `score_samples`).
    ///
    /// ```
    /// # use gaussmix::{Covariances, GaussianMixture};
    /// # use ndarray::array;
    /// let m = GaussianMixture::from_parameters(array![1.0], array![[0.0]], Covariances::Spherical(array![1.0]))?;
    /// let s = m.score_samples(&array![[0.0], [1.0]])?;
    /// let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    /// assert!((s[0] + half_ln_2pi).abs() < 1e-12 && (s[1] + half_ln_2pi + 0.5).abs() < 1e-12);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn score_samples<X: AsData + ?Sized>(&self, x: &X) -> Result<Array1<f64>> {
        let data = self.checked(x)?;
        let data = data.as_ref();
        let k = self.params.k;
        let out = map_rows(data, &self.params, 1, |kernel, rows, out, b| {
            b.resp.resize(out.len() * k, 0.0);
            chunk_responsibilities(kernel, rows, &mut b.resp, out, &mut b.ws);
        })?;
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            return Err(GmmError::Numerical(format!(
                "log p(x) of row {i} is {}; the row is too far from every component",
                out[i]
            )));
        }
        Ok(Array1::from_vec(out))
    }

    /// The components that make this model a **spurious optimum** on `x` (ascending;
    /// empty for a sound fit): by the rule the restarts use (README, "Degenerate
    /// components"), a component with less mass than its covariance needs (`D + 1`
    /// rows for full, 2 for diag and spherical) or whose variance above
    /// `reg_covar` collapsed to ≤ 1e-10 of the data's along some direction. Works on any
    /// model — e.g. one built from scikit-learn's parameters, to see whether its best
    /// restart is a likelihood spike on a few rows. `reg_covar` is what the fit added to
    /// every covariance.
    ///
    /// ```
    /// use gaussmix::{Covariances, GaussianMixture};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.5], [1.0], [1.5], [2.0], [7.0]];
    /// // Component 1 holds the single row at 7 with a tiny variance: a spike.
    /// let m = GaussianMixture::from_parameters(
    ///     array![5.0 / 6.0, 1.0 / 6.0], array![[1.0], [7.0]],
    ///     Covariances::Diag(array![[0.5], [1e-6]]))?;
    /// assert_eq!(m.spurious_components(&x, 1e-6)?, vec![1]);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn spurious_components<X: AsData + ?Sized>(
        &self,
        x: &X,
        reg_covar: f64,
    ) -> Result<Vec<usize>> {
        if !(reg_covar.is_finite() && reg_covar >= 0.0) {
            return Err(crate::error::invalid_option(
                "reg_covar",
                format!("must be a finite number ≥ 0, got {reg_covar}"),
            ));
        }
        let data = self.checked(x)?;
        let data = data.as_ref();
        let constant = data.check_range()?;
        let st = crate::fit::pass::e_pass(data, &self.params, false);
        if let Some(e) = data.take_read_error() {
            return Err(e);
        }
        if !st.mean_log_likelihood().is_finite() {
            return Err(GmmError::Numerical(
                "the log-likelihood of the data under the model is not finite".into(),
            ));
        }
        let spread = crate::fit::degenerate::DataSpread::from_stats(&st, &constant);
        let row_weight = data.row_unit();
        Ok(crate::fit::degenerate::spurious_components(
            &st.nk,
            row_weight,
            &self.params.covariances,
            reg_covar,
            &spread,
        ))
    }

    /// Mean log-likelihood of the rows, weighted when the data carry weights
    /// (scikit-learn's `score`).
    pub fn score<X: AsData + ?Sized>(&self, x: &X) -> Result<f64> {
        let data = self.checked(x)?;
        let data = data.as_ref();
        let s = self.score_samples(data)?;
        Ok(match data.weights() {
            Some(w) => s.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / data.total_weight(),
            None => s.mean().unwrap_or(f64::NAN),
        })
    }

    /// Responsibilities `p(k | x_i)`, `N×K` (scikit-learn's `predict_proba`); each row
    /// sums to 1.
    pub fn predict_proba<X: AsData + ?Sized>(&self, x: &X) -> Result<Array2<f64>> {
        let data = self.checked(x)?;
        let data = data.as_ref();
        let k = self.params.k;
        let out = map_rows(data, &self.params, k, |kernel, rows, out, b| {
            b.log_norm.resize(out.len() / k, 0.0);
            chunk_responsibilities(kernel, rows, out, &mut b.log_norm, &mut b.ws);
        })?;
        Array2::from_shape_vec((data.n_samples(), k), out)
            .map_err(|e| GmmError::Numerical(e.to_string()))
    }

    /// The most likely component of every row, lowest index on ties (scikit-learn's
    /// `predict`).
    pub fn predict<X: AsData + ?Sized>(&self, x: &X) -> Result<Array1<usize>> {
        let data = self.checked(x)?;
        let data = data.as_ref();
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
        })?;
        Ok(out.into_iter().map(|v| v as usize).collect())
    }

    /// Bayesian information criterion: `−2·n·score + p·ln n`.
    pub fn bic<X: AsData + ?Sized>(&self, x: &X) -> Result<f64> {
        let data = self.checked(x)?;
        let n = data.total_weight();
        Ok(-2.0 * n * self.score(data.as_ref())? + self.n_parameters() as f64 * n.ln())
    }

    /// Akaike information criterion: `−2·n·score + 2p`.
    pub fn aic<X: AsData + ?Sized>(&self, x: &X) -> Result<f64> {
        let data = self.checked(x)?;
        let n = data.total_weight();
        Ok(-2.0 * n * self.score(data.as_ref())? + 2.0 * self.n_parameters() as f64)
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
