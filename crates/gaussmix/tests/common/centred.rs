//! An exact, independent reference EM for the accuracy tests: every log-density is
//! computed from `x − μ_k` by a forward solve with the covariance's Cholesky factor,
//! and every M-step is two-pass (new means first, then moments about them). Nothing here
//! shares code or formulas with the library's kernels (no expanded quadratic forms, no
//! common shifts), so a cancellation in the library cannot hide in the reference.

use gaussmix::{CovarianceType, Covariances};
use ndarray::{Array1, Array2, Array3};

/// Mixture parameters in the reference's own layout: per component a dense `D×D`
/// covariance (tied repeats it, diag/spherical are diagonal).
#[derive(Clone, Debug)]
pub struct RefParams {
    pub kind: CovarianceType,
    pub weights: Vec<f64>,
    pub means: Vec<Vec<f64>>,
    pub covs: Vec<Vec<f64>>,
}

/// The outcome of a reference EM run, with the library's stopping rule.
pub struct RefFit {
    pub params: RefParams,
    pub lower_bounds: Vec<f64>,
    pub converged: bool,
}

impl RefParams {
    pub fn new(
        kind: CovarianceType,
        weights: &Array1<f64>,
        means: &Array2<f64>,
        covs: &Covariances,
    ) -> Self {
        let (k, d) = means.dim();
        let covs = (0..k)
            .map(|c| {
                let mut m = vec![0.0; d * d];
                for i in 0..d {
                    for j in 0..d {
                        m[i * d + j] = match covs {
                            Covariances::Full(a) => a[[c, i, j]],
                            Covariances::Tied(a) => a[[i, j]],
                            Covariances::Diag(a) => {
                                if i == j {
                                    a[[c, i]]
                                } else {
                                    0.0
                                }
                            }
                            Covariances::Spherical(a) => {
                                if i == j {
                                    a[c]
                                } else {
                                    0.0
                                }
                            }
                        };
                    }
                }
                m
            })
            .collect();
        RefParams {
            kind,
            weights: weights.to_vec(),
            means: means.rows().into_iter().map(|r| r.to_vec()).collect(),
            covs,
        }
    }

    /// The covariances in the library's per-type shape.
    pub fn covariances(&self) -> Covariances {
        let (k, d) = (self.means.len(), self.means[0].len());
        match self.kind {
            CovarianceType::Full => {
                Covariances::Full(Array3::from_shape_fn((k, d, d), |(c, i, j)| {
                    self.covs[c][i * d + j]
                }))
            }
            CovarianceType::Tied => Covariances::Tied(Array2::from_shape_fn((d, d), |(i, j)| {
                self.covs[0][i * d + j]
            })),
            CovarianceType::Diag => Covariances::Diag(Array2::from_shape_fn((k, d), |(c, i)| {
                self.covs[c][i * d + i]
            })),
            CovarianceType::Spherical => {
                Covariances::Spherical(Array1::from_shape_fn(k, |c| self.covs[c][0]))
            }
        }
    }
}

/// Lower-triangular Cholesky factor of a dense symmetric positive-definite matrix.
pub fn cholesky(a: &[f64], d: usize) -> Vec<f64> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for p in 0..j {
                s -= l[i * d + p] * l[j * d + p];
            }
            if i == j {
                assert!(s > 0.0, "reference: covariance not positive definite");
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    l
}

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// `ln w_k + log N(x | μ_k, Σ_k)` for every row and component (`N×K`), centred.
pub fn log_prob(p: &RefParams, x: &Array2<f64>) -> Array2<f64> {
    let (n, d) = x.dim();
    let k = p.weights.len();
    let mut out = Array2::zeros((n, k));
    let mut z = vec![0.0; d];
    for c in 0..k {
        let l = cholesky(&p.covs[c], d);
        let log_det: f64 = (0..d).map(|i| l[i * d + i].ln()).sum();
        for i in 0..n {
            // forward solve L z = x − μ
            let mut q = 0.0;
            for a in 0..d {
                let mut s = x[[i, a]] - p.means[c][a];
                for b in 0..a {
                    s -= l[a * d + b] * z[b];
                }
                z[a] = s / l[a * d + a];
                q += z[a] * z[a];
            }
            out[[i, c]] = p.weights[c].ln() - 0.5 * d as f64 * LN_2PI - log_det - 0.5 * q;
        }
    }
    out
}

/// Responsibilities (in place) and the mean log-likelihood.
pub fn e_step(p: &RefParams, x: &Array2<f64>) -> (Array2<f64>, f64) {
    let mut lp = log_prob(p, x);
    let mut total = 0.0;
    for mut row in lp.rows_mut() {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        let ln = m + s.ln();
        row.mapv_inplace(|v| (v - ln).exp());
        total += ln;
    }
    (lp, total / x.nrows() as f64)
}

/// scikit-learn's M-step, computed two-pass: means (as corrections to the old means),
/// then second moments about the new means.
pub fn m_step(p: &RefParams, x: &Array2<f64>, r: &Array2<f64>, reg: f64) -> RefParams {
    let (n, d) = x.dim();
    let k = p.weights.len();
    let eps = 10.0 * f64::EPSILON;
    let nk: Vec<f64> = (0..k).map(|c| r.column(c).sum() + eps).collect();
    let total: f64 = nk.iter().sum();
    let means: Vec<Vec<f64>> = (0..k)
        .map(|c| {
            (0..d)
                .map(|j| {
                    let s: f64 = (0..n)
                        .map(|i| r[[i, c]] * (x[[i, j]] - p.means[c][j]))
                        .sum();
                    p.means[c][j] + s / nk[c]
                })
                .collect()
        })
        .collect();
    // Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ per component.
    let moments: Vec<Vec<f64>> = (0..k)
        .map(|c| {
            let mut m = vec![0.0; d * d];
            let mut y = vec![0.0; d];
            for i in 0..n {
                for j in 0..d {
                    y[j] = x[[i, j]] - means[c][j];
                }
                for a in 0..d {
                    for b in 0..d {
                        m[a * d + b] += r[[i, c]] * y[a] * y[b];
                    }
                }
            }
            m
        })
        .collect();
    let covs: Vec<Vec<f64>> = match p.kind {
        CovarianceType::Full => (0..k)
            .map(|c| {
                let mut m: Vec<f64> = moments[c].iter().map(|v| v / nk[c]).collect();
                (0..d).for_each(|i| m[i * d + i] += reg);
                m
            })
            .collect(),
        CovarianceType::Tied => {
            let mut m = vec![0.0; d * d];
            for mc in &moments {
                for (a, b) in m.iter_mut().zip(mc) {
                    *a += b;
                }
            }
            m.iter_mut().for_each(|v| *v /= total);
            (0..d).for_each(|i| m[i * d + i] += reg);
            vec![m; k]
        }
        CovarianceType::Diag | CovarianceType::Spherical => (0..k)
            .map(|c| {
                let v: Vec<f64> = (0..d)
                    .map(|i| moments[c][i * d + i] / nk[c] + reg)
                    .collect();
                let mut m = vec![0.0; d * d];
                if p.kind == CovarianceType::Diag {
                    (0..d).for_each(|i| m[i * d + i] = v[i]);
                } else {
                    let s = v.iter().sum::<f64>() / d as f64;
                    (0..d).for_each(|i| m[i * d + i] = s);
                }
                m
            })
            .collect(),
    };
    RefParams {
        kind: p.kind,
        weights: nk.iter().map(|v| v / total).collect(),
        means,
        covs,
    }
}

/// EM with the library's rule: stop when `|Lᵗ − Lᵗ⁻¹| < tol` (L⁰ = −∞) or after
/// `max_iter` iterations; the returned parameters follow the last M-step.
pub fn fit(start: RefParams, x: &Array2<f64>, tol: f64, max_iter: usize, reg: f64) -> RefFit {
    let mut p = start;
    let mut prev = f64::NEG_INFINITY;
    let mut lower_bounds = Vec::new();
    let mut converged = false;
    for _ in 0..max_iter {
        let (r, l) = e_step(&p, x);
        p = m_step(&p, x, &r, reg);
        lower_bounds.push(l);
        if (l - prev).abs() < tol {
            converged = true;
            break;
        }
        prev = l;
    }
    RefFit {
        params: p,
        lower_bounds,
        converged,
    }
}
