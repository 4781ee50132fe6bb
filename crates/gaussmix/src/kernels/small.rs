//! Fused kernels for very small `D` (1–4), where matrix products do not pay: parameters
//! are laid out component-minor (structure of arrays), so every per-row loop runs over
//! the K components and vectorises, with `D` a compile-time constant so the loops over
//! features unroll. One kernel serves all four covariance types: each is written as a
//! per-component upper-triangular precision factor (tied repeats it, diag and spherical
//! are diagonal).

// Index loops over the compile-time D are the point here: they unroll into straight code.
#![allow(clippy::needless_range_loop)]

use super::rowwise::LN_2PI;
use crate::covariance::CovarianceType;
use crate::params::Params;
use crate::stats::SuffStats;

/// Largest `D` served here.
pub(crate) const MAX_D: usize = 4;

/// Per-pass constants in component-minor layout.
pub(crate) struct SmallPrep {
    k: usize,
    d: usize,
    kind: CovarianceType,
    /// `mu[i·K + c]`.
    mu: Vec<f64>,
    /// `u[(i·D + j)·K + c]`, upper triangle only.
    u: Vec<f64>,
    konst: Vec<f64>,
    /// Moments are taken about `shift[i·K + c]` (the stats' shift, transposed).
    shift: Vec<f64>,
}

impl SmallPrep {
    pub fn new(p: &Params, shift: &[f64]) -> Self {
        let (k, d) = (p.k, p.d);
        let kind = p.kind();
        let means = p.means_flat();
        let f = &p.prec.factors;
        let mut mu = vec![0.0; d * k];
        let mut sh = vec![0.0; d * k];
        let mut u = vec![0.0; d * d * k];
        for c in 0..k {
            for i in 0..d {
                mu[i * k + c] = means[c * d + i];
                sh[i * k + c] = shift[c * d + i];
                for j in i..d {
                    u[(i * d + j) * k + c] = match kind {
                        CovarianceType::Full => f[c * d * d + i * d + j],
                        CovarianceType::Tied => f[i * d + j],
                        CovarianceType::Diag if i == j => f[c * d + i],
                        CovarianceType::Spherical if i == j => f[c],
                        _ => 0.0,
                    };
                }
            }
        }
        let base = -0.5 * d as f64 * LN_2PI;
        let konst = (0..k)
            .map(|c| p.log_weights[c] + base + p.prec.log_det[c])
            .collect();
        SmallPrep {
            k,
            d,
            kind,
            mu,
            u,
            konst,
            shift: sh,
        }
    }
}

/// Per-worker accumulators in component-minor layout.
#[derive(Default)]
pub(crate) struct SmallAcc {
    nk: Vec<f64>,
    s: Vec<f64>,
    m: Vec<f64>,
}

macro_rules! dispatch_d {
    ($d:expr, $f:ident, ($($arg:expr),*)) => {
        match $d {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            _ => $f::<4>($($arg),*),
        }
    };
}

crate::simd::multiversion! {
    at_most Avx2;
    /// `out (m×K) ← ln w_k + log N(x_i | μ_k, Σ_k)` (compiled for AVX2 and FMA at most,
    /// the level these loops were tuned at).
    pub(crate) fn log_prob(sp: &SmallPrep, rows: &[f64], out: &mut [f64]) {
        _ => dispatch_d!(sp.d, log_prob_d, (sp, rows, out))
    }
}

#[inline(always)]
fn log_prob_d<const D: usize>(sp: &SmallPrep, rows: &[f64], out: &mut [f64]) {
    let k = sp.k;
    let mu: [&[f64]; D] = std::array::from_fn(|i| &sp.mu[i * k..(i + 1) * k]);
    let konst = &sp.konst[..k];
    for (x, o) in rows.chunks_exact(D).zip(out.chunks_exact_mut(k)) {
        let o = &mut o[..k];
        for c in 0..k {
            let mut q = 0.0;
            for j in 0..D {
                let mut y = 0.0;
                for i in 0..=j {
                    y += (x[i] - mu[i][c]) * sp.u[(i * D + j) * k + c];
                }
                q += y * y;
            }
            o[c] = konst[c] - 0.5 * q;
        }
    }
}

/// Adds a chunk's moments about the stats' shift to `st`.
pub(crate) fn accumulate(
    sp: &SmallPrep,
    st: &mut SuffStats,
    rows: &[f64],
    weights: Option<&[f64]>,
    resp: &[f64],
    acc: &mut SmallAcc,
) {
    let (k, d) = (sp.k, sp.d);
    acc.nk.clear();
    acc.nk.resize(k, 0.0);
    acc.s.clear();
    acc.s.resize(d * k, 0.0);
    acc.m.clear();
    acc.m.resize(d * d * k, 0.0);
    accumulate_rows(sp, rows, weights, resp, acc);
    // Fold into the stats' layout.
    st.wsum += weights.map_or((rows.len() / d) as f64, |w| w.iter().sum());
    for c in 0..k {
        st.nk[c] += acc.nk[c];
        for i in 0..d {
            st.s[c * d + i] += acc.s[i * k + c];
        }
    }
    match sp.kind {
        CovarianceType::Full => {
            for c in 0..k {
                for i in 0..d {
                    for j in i..d {
                        st.m2[c * d * d + i * d + j] += acc.m[(i * d + j) * k + c];
                    }
                }
            }
        }
        CovarianceType::Tied => {
            for i in 0..d {
                for j in i..d {
                    st.m2[i * d + j] += acc.m[(i * d + j) * k..(i * d + j + 1) * k]
                        .iter()
                        .sum::<f64>();
                }
            }
        }
        CovarianceType::Diag | CovarianceType::Spherical => {
            for c in 0..k {
                for i in 0..d {
                    st.m2[c * d + i] += acc.m[(i * d + i) * k + c];
                }
            }
        }
    }
}

crate::simd::multiversion! {
    at_most Avx2;
    /// The per-row sums of [`accumulate`] into `acc` (compiled for AVX2 and FMA at most,
    /// the level these loops were tuned at).
    fn accumulate_rows(
        sp: &SmallPrep,
        rows: &[f64],
        weights: Option<&[f64]>,
        resp: &[f64],
        acc: &mut SmallAcc,
    ) {
        _ => dispatch_d!(sp.d, accumulate_d, (sp, rows, weights, resp, acc))
    }
}

#[inline(always)]
fn accumulate_d<const D: usize>(
    sp: &SmallPrep,
    rows: &[f64],
    weights: Option<&[f64]>,
    resp: &[f64],
    acc: &mut SmallAcc,
) {
    let k = sp.k;
    let full = sp.kind == CovarianceType::Full || sp.kind == CovarianceType::Tied;
    let sh: [&[f64]; D] = std::array::from_fn(|i| &sp.shift[i * k..(i + 1) * k]);
    for (i, (x, r)) in rows.chunks_exact(D).zip(resp.chunks_exact(k)).enumerate() {
        let w = weights.map_or(1.0, |w| w[i]);
        let r = &r[..k];
        let nk = &mut acc.nk[..k];
        for c in 0..k {
            let rc = w * r[c];
            nk[c] += rc;
            let dx: [f64; D] = std::array::from_fn(|a| x[a] - sh[a][c]);
            for a in 0..D {
                let ra = rc * dx[a];
                acc.s[a * k + c] += ra;
                if full {
                    for b in a..D {
                        acc.m[(a * D + b) * k + c] += ra * dx[b];
                    }
                } else {
                    acc.m[(a * D + a) * k + c] += ra * dx[a];
                }
            }
        }
    }
}
