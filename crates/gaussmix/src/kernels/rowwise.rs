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
/// place and writes `log p(x_i)` into `log_norm`. A row whose values are all `−∞` or
/// contain `+∞` or NaN gets uniform responsibilities and a non-finite `log p` (NaN if a
/// value was NaN) for the caller to report.
///
/// Only whole rows of `lp` that have a `log_norm` entry are processed (the callers pass
/// exactly `log_norm.len()` rows).
pub(crate) fn normalize_rows(lp: &mut [f64], k: usize, log_norm: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::simd512::available() {
            // The rows `normalize_rows_body` processes (its `zip` stops at the shorter):
            // all of `log_norm` when `lp` holds `log_norm.len()·k` values.
            let rows = lp.len().checked_div(k).unwrap_or(0).min(log_norm.len());
            // SAFETY: the CPU has AVX-512F (`simd512::available`); `lp` holds at least
            // `rows·k` values for the `rows` entries of `log_norm` passed.
            return unsafe { crate::simd512::normalize_rows_f64(lp, k, &mut log_norm[..rows]) };
        }
        if crate::cpu::avx2() {
            // SAFETY: `cpu::avx2()`: the CPU has AVX2 and FMA.
            return unsafe { normalize_rows_avx2(lp, k, log_norm) };
        }
    }
    normalize_rows_body(lp, k, log_norm)
}

/// [`normalize_rows_body`] compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn normalize_rows_avx2(lp: &mut [f64], k: usize, log_norm: &mut [f64]) {
    normalize_rows_body(lp, k, log_norm)
}

#[inline(always)]
pub(crate) fn normalize_rows_body(lp: &mut [f64], k: usize, log_norm: &mut [f64]) {
    for (row, ln) in lp.chunks_exact_mut(k).zip(log_norm.iter_mut()) {
        let mx = max8(row);
        let nan = row.iter().any(|v| v.is_nan());
        if !mx.is_finite() || nan {
            // Every component gives zero density (or something overflowed): leave the
            // non-finite value for the caller to report; never divide by it.
            *ln = if nan { f64::NAN } else { mx };
            row.iter_mut().for_each(|v| *v = 1.0 / k as f64);
            continue;
        }
        // exp(v − max) / Σ rather than exp(v − logsumexp): subtracting a large
        // log-normaliser would lose ~1e-14 of the row's unit sum.
        for v in row.iter_mut() {
            *v = exp_nonpositive(*v - mx);
        }
        let sum = sum8(row);
        *ln = mx + ln_fast(sum);
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

/// `x ← ln x` for positive finite `x` (here sums of exponentials, in `[1, K]`), to
/// about 1 ulp, branch-free so that the loop vectorises: `x = 2^e·m` with
/// `m ∈ [√½, √2)`, `ln m = 2 atanh s`, `s = (m − 1)/(m + 1)`, `|s| ≤ 0.172`.
#[inline(always)]
pub(crate) fn ln_in_place(xs: &mut [f64]) {
    for x in xs.iter_mut() {
        *x = ln_fast(*x);
    }
}

/// One value of [`ln_in_place`] (no call into libm for the usual range).
#[inline(always)]
pub(crate) fn ln_fast(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i64;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // 2·(s + s³/3 + … + s²¹/21): the next term is below 1e-17 relative.
    let mut p = 1.0 / 21.0;
    for c in [19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0] {
        p = p * s2 + 1.0 / c;
    }
    p = p * s2 + 1.0;
    let r = 2.0 * s * p + e as f64 * LN2;
    // Outside the kernel's range (zero, subnormal, non-finite): the library's `ln`.
    if x >= f64::MIN_POSITIVE && x.is_finite() {
        r
    } else {
        x.ln()
    }
}

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

/// `Σ a_j` with eight partial sums (see [`sum_sq_diff`]).
#[inline(always)]
pub(crate) fn sum8(a: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let c = a.chunks_exact(8);
    let r = c.remainder();
    for x in c {
        for l in 0..8 {
            acc[l] += x[l];
        }
    }
    let tail: f64 = r.iter().sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The largest value (NaN-free input), with eight partial maxima.
#[inline(always)]
fn max8(a: &[f64]) -> f64 {
    let mut acc = [f64::NEG_INFINITY; 8];
    let c = a.chunks_exact(8);
    let r = c.remainder();
    for x in c {
        for l in 0..8 {
            acc[l] = if x[l] > acc[l] { x[l] } else { acc[l] };
        }
    }
    let mut m = acc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for v in r {
        m = m.max(*v);
    }
    m
}

/// `exp(x)` for `x ≤ 0`, to about 1 ulp, without branches so that loops over it
/// vectorise. Below −708 it returns `exp(−708) ≈ 3e-308` instead of a subnormal: as a
/// responsibility that is zero for every purpose.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Adding 1.5·2⁵² rounds to the nearest integer and leaves it in the low bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let x = x.max(-708.0);
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO; // |r| ≤ ln2/2
                                           // Taylor series to degree 12: the remainder is below 2e-16 relative on |r| ≤ ln2/2.
    let mut p = 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let ni = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    p * f64::from_bits(((ni + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_ln_is_accurate() {
        let mut xs: Vec<f64> = (0..20_000).map(|i| 1.0 + i as f64 * 0.003_1).collect();
        xs.extend([
            f64::MIN_POSITIVE,
            1e-310,
            0.0,
            1e300,
            0.5,
            std::f64::consts::FRAC_1_SQRT_2,
            std::f64::consts::SQRT_2,
            2.0,
        ]);
        let mut got = xs.clone();
        ln_in_place(&mut got);
        for (x, g) in xs.iter().zip(&got) {
            let want = x.ln();
            if want.is_finite() {
                assert!(
                    (g - want).abs() <= 2.0 * f64::EPSILON * want.abs().max(1.0),
                    "ln {x}: {g} vs {want}"
                );
            } else {
                assert_eq!(*g, want);
            }
        }
    }

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
    /// maximum, giving a finite `log p` for a row that had no valid density.
    #[test]
    fn a_nan_log_probability_gives_a_nan_log_likelihood() {
        for variant in 0..2 {
            let mut lp = vec![-1.0, f64::NAN, -3.0, -1.0, -2.0, -3.0];
            let mut ln = vec![0.0; 2];
            if variant == 0 {
                normalize_rows(&mut lp, 3, &mut ln);
            } else {
                normalize_rows_body(&mut lp, 3, &mut ln);
            }
            assert!(ln[0].is_nan() && ln[1].is_finite(), "{ln:?}");
            assert!(lp.iter().all(|v| v.is_finite()));
        }
    }

    /// The dispatched (AVX-512) and portable normalisations agree to rounding.
    #[test]
    fn normalisation_variants_agree() {
        let k = 37;
        let rows: Vec<f64> = (0..k * 50)
            .map(|i| -((i * 7919 % 1000) as f64) * 0.9 - (i / k) as f64 * 10.0)
            .collect();
        let (mut a, mut b) = (rows.clone(), rows);
        let (mut la, mut lb) = (vec![0.0; 50], vec![0.0; 50]);
        normalize_rows(&mut a, k, &mut la);
        normalize_rows_body(&mut b, k, &mut lb);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-15, "{x} vs {y}");
        }
        for (x, y) in la.iter().zip(&lb) {
            assert!((x - y).abs() <= 1e-13 * y.abs(), "{x} vs {y}");
        }
        for r in a.chunks(k) {
            assert!((r.iter().sum::<f64>() - 1.0).abs() < 8.0 * f64::EPSILON);
        }
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut worst = 0.0f64;
        let mut x = 0.0;
        while x > -708.0 {
            let (a, b) = (exp_nonpositive(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x -= 0.013_7;
        }
        assert!(worst < 4.0 * f64::EPSILON, "relative error {worst:e}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-1e4) < 1e-307);
        assert!(exp_nonpositive(f64::NEG_INFINITY) < 1e-307);
    }

    #[test]
    fn tri_quad_identity_is_squared_distance() {
        let u = [1.0, 0.0, 0.0, 1.0];
        let (mut a, mut b) = (vec![0.0; 2], vec![0.0; 2]);
        let q = tri_quad(&[3.0, 4.0], &[0.0, 0.0], &u, 2, &mut a, &mut b);
        assert_eq!(q, 25.0);
    }
}
