//! E-step kernels: weighted log-densities of a chunk of rows under every component, and
//! their conversion to responsibilities with log-sum-exp.
//!
//! `log N(x | μ, Σ) = −½ D ln 2π + Σ log diag(U) − ½ ‖(x − μ)ᵀ U‖²` with `U` the
//! precision Cholesky factor; the centred difference keeps the quadratic form free of
//! cancellation when the data sit far from the origin.

use crate::covariance::CovarianceType;
use crate::params::Params;

pub(crate) const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Scratch space one worker reuses across chunks.
#[derive(Default)]
pub(crate) struct Scratch {
    pub diff: Vec<f64>,
    pub y: Vec<f64>,
}

/// Fills `out` (`m×K`, row-major) with `ln w_k + log N(x_i | μ_k, Σ_k)` for the `m` rows
/// of `rows`.
pub(crate) fn weighted_log_prob(p: &Params, rows: &[f64], out: &mut [f64], s: &mut Scratch) {
    let (k, d) = (p.k, p.d);
    let m = rows.len() / d;
    debug_assert_eq!(out.len(), m * k);
    let means = p.means_flat();
    let f = &p.prec.factors;
    let base = -0.5 * d as f64 * LN_2PI;
    s.diff.resize(d, 0.0);
    s.y.resize(d, 0.0);
    match p.kind() {
        CovarianceType::Full | CovarianceType::Tied => {
            let tied = p.kind() == CovarianceType::Tied;
            for i in 0..m {
                let x = &rows[i * d..(i + 1) * d];
                for c in 0..k {
                    let mu = &means[c * d..(c + 1) * d];
                    let u = if tied {
                        &f[..d * d]
                    } else {
                        &f[c * d * d..(c + 1) * d * d]
                    };
                    let q = tri_quad(x, mu, u, d, &mut s.diff, &mut s.y);
                    out[i * k + c] = p.log_weights[c] + base + p.prec.log_det[c] - 0.5 * q;
                }
            }
        }
        CovarianceType::Diag => {
            for i in 0..m {
                let x = &rows[i * d..(i + 1) * d];
                for c in 0..k {
                    let mu = &means[c * d..(c + 1) * d];
                    let pr = &f[c * d..(c + 1) * d];
                    let mut q = 0.0;
                    for j in 0..d {
                        let z = (x[j] - mu[j]) * pr[j];
                        q += z * z;
                    }
                    out[i * k + c] = p.log_weights[c] + base + p.prec.log_det[c] - 0.5 * q;
                }
            }
        }
        CovarianceType::Spherical => {
            for i in 0..m {
                let x = &rows[i * d..(i + 1) * d];
                for c in 0..k {
                    let mu = &means[c * d..(c + 1) * d];
                    let pr = f[c];
                    let mut q = 0.0;
                    for j in 0..d {
                        let z = (x[j] - mu[j]) * pr;
                        q += z * z;
                    }
                    out[i * k + c] = p.log_weights[c] + base + p.prec.log_det[c] - 0.5 * q;
                }
            }
        }
    }
}

/// `‖(x − μ)ᵀ U‖²` for upper-triangular `U` (row-major `d×d`).
#[inline]
fn tri_quad(x: &[f64], mu: &[f64], u: &[f64], d: usize, diff: &mut [f64], y: &mut [f64]) -> f64 {
    for j in 0..d {
        diff[j] = x[j] - mu[j];
        y[j] = 0.0;
    }
    // y = diffᵀ U as a sum of scaled rows of U: contiguous, so it vectorises.
    for i in 0..d {
        let a = diff[i];
        let row = &u[i * d..(i + 1) * d];
        for j in i..d {
            y[j] += a * row[j];
        }
    }
    y.iter().map(|v| v * v).sum()
}

/// Turns each row of `lp` (`m×K` weighted log-probabilities) into responsibilities in
/// place and writes `log p(x_i)` into `log_norm` (written once for every instruction
/// set: `simd`).
pub(crate) use crate::simd::normalize_rows;

/// `Σ (a_j − b_j)²` with eight partial sums, so that the loop vectorises (a single
/// running sum would force sequential adds).
#[inline(always)]
pub(crate) fn sum_sq_diff(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            let z = x[l] - y[l];
            acc[l] += z * z;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ar.iter().zip(br) {
        tail += (x - y) * (x - y);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_sums_to_one_even_for_tiny_logs() {
        let mut lp = vec![-1000.0, -1001.0, -1e5, 3.0, 2.0, 1.0];
        let mut ln = vec![0.0; 2];
        normalize_rows(&mut lp, 3, &mut ln);
        for r in lp.chunks(3) {
            assert!((r.iter().sum::<f64>() - 1.0).abs() < 4.0 * f64::EPSILON);
        }
        assert!((ln[0] - (-1000.0 + (1.0f64 + (-1.0f64).exp()).ln())).abs() < 1e-12);
    }

    /// Regression: a NaN among a row's log-probabilities used to be skipped by the
    /// maximum, giving a finite `log p` for a row that had no valid density. (Every
    /// instruction set: `simd::tests`.)
    #[test]
    fn a_nan_log_probability_gives_a_nan_log_likelihood() {
        let mut lp = vec![-1.0, f64::NAN, -3.0, -1.0, -2.0, -3.0];
        let mut ln = vec![0.0; 2];
        normalize_rows(&mut lp, 3, &mut ln);
        assert!(ln[0].is_nan() && ln[1].is_finite(), "{ln:?}");
        assert!(lp.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn tri_quad_identity_is_squared_distance() {
        let u = [1.0, 0.0, 0.0, 1.0];
        let (mut a, mut b) = (vec![0.0; 2], vec![0.0; 2]);
        let q = tri_quad(&[3.0, 4.0], &[0.0, 0.0], &u, 2, &mut a, &mut b);
        assert_eq!(q, 25.0);
    }
}
