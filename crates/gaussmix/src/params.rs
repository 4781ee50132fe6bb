//! Mixture parameters together with their derived precision factors.

use ndarray::{Array1, Array2};

use crate::covariance::{CovarianceType, Covariances, PrecisionCholesky};
use crate::error::{GmmError, Result};

/// Weights, means, covariances and the precision Cholesky factors derived from them.
/// Constructing one validates everything, so kernels can trust it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Params {
    pub k: usize,
    pub d: usize,
    pub weights: Array1<f64>,
    /// `K×D`, standard (row-major) layout.
    pub means: Array2<f64>,
    pub covariances: Covariances,
    pub prec: PrecisionCholesky,
    pub log_weights: Vec<f64>,
}

impl Params {
    pub fn new(
        weights: Array1<f64>,
        means: Array2<f64>,
        covariances: Covariances,
        reg_covar: f64,
    ) -> Result<Self> {
        let (k, d) = means.dim();
        if k == 0 || d == 0 {
            return Err(GmmError::InvalidModel(format!(
                "means have shape [{k}, {d}]; at least one component and one feature are needed"
            )));
        }
        if weights.len() != k {
            return Err(GmmError::InvalidModel(format!(
                "{} weights for {k} components (means have {k} rows)",
                weights.len()
            )));
        }
        if let Some((i, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(GmmError::InvalidModel(format!(
                "weight {i} is {w}; weights must be finite and non-negative"
            )));
        }
        let total: f64 = weights.sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(GmmError::InvalidModel(format!(
                "weights sum to {total}, not 1 (within 1e-6); normalise them"
            )));
        }
        if let Some(((c, j), v)) = means.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(GmmError::InvalidModel(format!(
                "mean of component {c}, feature {j} is {v}; means must be finite"
            )));
        }
        covariances
            .check_shape(k, d, "covariances")
            .map_err(|e| match e {
                GmmError::InvalidInit(m) => GmmError::InvalidModel(m),
                other => other,
            })?;
        check_symmetric(&covariances, k, d)?;
        let prec = PrecisionCholesky::from_covariances(&covariances, k, d, reg_covar)?;
        let log_weights = weights.iter().map(|w| w.ln()).collect();
        let means = means.as_standard_layout().into_owned();
        Ok(Params {
            k,
            d,
            weights,
            means,
            covariances,
            prec,
            log_weights,
        })
    }

    pub fn kind(&self) -> CovarianceType {
        self.covariances.covariance_type()
    }

    pub fn means_flat(&self) -> &[f64] {
        // Standard layout is guaranteed by `new`.
        self.means.as_slice().unwrap_or(&[])
    }
}

fn check_symmetric(cov: &Covariances, k: usize, d: usize) -> Result<()> {
    let blocks = match cov {
        Covariances::Full(_) => k,
        Covariances::Tied(_) => 1,
        _ => return Ok(()),
    };
    for b in 0..blocks {
        let m = cov.component_matrix(b, d);
        for i in 0..d {
            for j in 0..i {
                let (a, c) = (m[i * d + j], m[j * d + i]);
                // Relative to the diagonal (the scale of the entry's row and column):
                // scikit-learn's covariances carry rounding of that size in off-diagonal
                // entries that are themselves tiny (1.9e-31 against 1.8e-31 next to
                // variances near 1 must pass).
                let diag = (m[i * d + i].abs() * m[j * d + j].abs()).sqrt();
                let scale = a.abs().max(c.abs()).max(diag).max(f64::MIN_POSITIVE);
                if (a - c).abs() > 1e-8 * scale {
                    return Err(GmmError::InvalidModel(format!(
                        "covariance of component {b} is not symmetric: [{i},{j}] = {a} but [{j},{i}] = {c}"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array3};

    fn full(off_a: f64, off_b: f64) -> Result<Params> {
        let mut c = Array3::zeros((1, 2, 2));
        c[[0, 0, 0]] = 1.0;
        c[[0, 1, 1]] = 2.0;
        c[[0, 1, 0]] = off_a;
        c[[0, 0, 1]] = off_b;
        Params::new(array![1.0], array![[0.0, 0.0]], Covariances::Full(c), 0.0)
    }

    /// Regression: a scikit-learn covariance with off-diagonal entries of 1.9e-31 and
    /// 1.8e-31 (rounding next to variances of order 1) was refused as asymmetric.
    #[test]
    fn symmetry_is_judged_at_the_scale_of_the_diagonal() {
        assert!(full(1.931_982_422_045_3e-31, 1.772_643_665_587_9e-31).is_ok());
        assert!(full(0.5, 0.5 + 1e-12).is_ok());
        let e = full(0.5, 0.4).unwrap_err().to_string();
        assert!(e.contains("not symmetric"), "{e}");
        assert!(full(1e-3, -1e-3).is_err());
    }
}
