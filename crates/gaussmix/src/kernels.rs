//! Matrix-product kernels for one chunk of rows: the E-step log-densities and the
//! M-step moment accumulation, per covariance type (DESIGN.md, "Numerics").
//!
//! - full: the quadratic form expanded over the packed outer products of the shifted
//!   rows, `P_i = Xc_i ⊗ Xc_i` (upper triangle, built once per chunk whatever K): the
//!   log-densities of all components are `P Aᵀ + Xc Bᵀ + const` (two products) and the
//!   second moments `Rᵀ P` (one product) — half the flops of per-component products,
//!   since symmetry is used, and no per-component buffers.
//! - tied: one GEMM `Y₀ = (X − c₀) U`, then `‖Y₀ − b_k‖²` with `b_k = (μ_k − c₀) U`;
//!   moments pooled over components in one GEMM.
//! - diag / spherical: the expanded form, two GEMMs for all components at once,
//!   about a common shift `c₀` (the weighted mean of the means) that removes the
//!   cancellation an offset far from the origin would cause.
//!
//! Very small `D` does not pay for products: `estep`'s fused scalar loops handle it.
//! All GEMMs run sequentially inside a chunk (`Par::Seq`): parallelism is over chunks,
//! so results do not depend on the thread count.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use crate::covariance::CovarianceType;
use crate::estep::{sum_sq_diff, LN_2PI};
use crate::params::Params;
use crate::stats::SuffStats;

/// From this many features on, products beat the fused loops (measured: at D = 2 the
/// structure-of-arrays loops win, 58 vs 78 ms per iteration on 2M rows, K = 8; at D = 8
/// products win by 4×).
pub(crate) const GEMM_MIN_FEATURES: usize = crate::small::MAX_D + 1;

/// `GAUSSMIX_KERNEL=gemm|fused` forces one kernel family (for tests and benchmarks);
/// unset, the choice follows `GEMM_MIN_FEATURES`.
fn forced_kernel() -> Option<bool> {
    static FORCED: std::sync::OnceLock<Option<bool>> = std::sync::OnceLock::new();
    *FORCED.get_or_init(|| match std::env::var("GAUSSMIX_KERNEL").as_deref() {
        Ok("gemm") => Some(true),
        Ok("fused") => Some(false),
        _ => None,
    })
}

/// Per-pass constants derived from the parameters (computed once per EM iteration).
pub(crate) struct Prepared {
    pub kind: CovarianceType,
    pub k: usize,
    pub d: usize,
    pub gemm: bool,
    /// The fused structure-of-arrays kernel, for `D ≤ small::MAX_D` without products.
    pub small: Option<crate::small::SmallPrep>,
    /// Moments are accumulated about this shift (`K×D`).
    pub shift: Vec<f64>,
    /// The common shift `c₀` (diag, spherical, tied).
    c0: Vec<f64>,
    /// full: packed `−½ Λ_k (2 − δ)` (`K × D(D+1)/2`); tied: `b_k`; diag: `−½/σ²`.
    a: Vec<f64>,
    /// full: `Λ_k (μ_k − c₀)`; diag/spherical: `(μ_k − c₀)/σ²` (`K×D`).
    b: Vec<f64>,
    /// Per component: `ln w_k − ½D ln 2π + log det U_k` (− ½ the constant term of the
    /// expanded quadratic form for diag/spherical).
    konst: Vec<f64>,
    /// spherical: `−½ p_k²`.
    neg_half_p2: Vec<f64>,
}

impl Prepared {
    pub fn new(p: &Params, force_gemm: Option<bool>) -> Self {
        let (k, d) = (p.k, p.d);
        let kind = p.kind();
        let gemm = force_gemm
            .or_else(forced_kernel)
            .unwrap_or(d >= GEMM_MIN_FEATURES);
        let means = p.means_flat();
        let f = &p.prec.factors;
        let base = -0.5 * d as f64 * LN_2PI;
        let mut konst: Vec<f64> = (0..k)
            .map(|c| p.log_weights[c] + base + p.prec.log_det[c])
            .collect();
        // c₀ = Σ w_k μ_k: inside the data's range, so shifted values stay small.
        let mut c0 = vec![0.0; d];
        for c in 0..k {
            for j in 0..d {
                c0[j] += p.weights[c] * means[c * d + j];
            }
        }
        // The fused loops centre each component exactly on its mean; products share c₀.
        let shift: Vec<f64> = match kind {
            CovarianceType::Full if !gemm => means.to_vec(),
            _ => (0..k).flat_map(|_| c0.iter().copied()).collect(),
        };
        let (mut a, mut b, mut neg_half_p2) = (Vec::new(), Vec::new(), Vec::new());
        match kind {
            CovarianceType::Full => {
                // With Λ_k = U_k U_kᵀ and Xc = X − c₀, μc = μ_k − c₀:
                // ln p = konst − ½ Σ_{a≤b} P[ab] Λ_ab (2 − δ_ab) + Xc·(Λ μc) − ½ μcᵀΛμc,
                // where P[ab] = Xc_a Xc_b is built once per chunk for all components.
                // a = the packed coefficients (K × T), b = Λ_k μc (K × D).
                let t = d * (d + 1) / 2;
                a = vec![0.0; k * t];
                b = vec![0.0; k * d];
                let mut lam = vec![0.0; d * d];
                for c in 0..k {
                    let u = &f[c * d * d..(c + 1) * d * d];
                    for i in 0..d {
                        for j in i..d {
                            // (U Uᵀ)_ij = Σ_l U_il U_jl, U upper: l ≥ max(i, j) = j.
                            let v: f64 = (j..d).map(|l| u[i * d + l] * u[j * d + l]).sum();
                            lam[i * d + j] = v;
                            lam[j * d + i] = v;
                        }
                    }
                    let mut idx = 0;
                    for i in 0..d {
                        for j in i..d {
                            a[c * t + idx] = if i == j {
                                -0.5 * lam[i * d + j]
                            } else {
                                -lam[i * d + j]
                            };
                            idx += 1;
                        }
                    }
                    let mc: Vec<f64> = (0..d).map(|i| means[c * d + i] - c0[i]).collect();
                    let mut quad = 0.0;
                    for i in 0..d {
                        let g: f64 = (0..d).map(|j| lam[i * d + j] * mc[j]).sum();
                        b[c * d + i] = g;
                        quad += g * mc[i];
                    }
                    konst[c] -= 0.5 * quad;
                }
            }
            CovarianceType::Tied => {
                // b_k = (μ_k − c₀) U
                a = vec![0.0; k * d];
                for c in 0..k {
                    for i in 0..d {
                        let dm = means[c * d + i] - c0[i];
                        for j in i..d {
                            a[c * d + j] += dm * f[i * d + j];
                        }
                    }
                }
            }
            CovarianceType::Diag => {
                a = vec![0.0; k * d];
                b = vec![0.0; k * d];
                for c in 0..k {
                    let mut cst = 0.0;
                    for j in 0..d {
                        let prec = f[c * d + j] * f[c * d + j];
                        let dm = means[c * d + j] - c0[j];
                        a[c * d + j] = -0.5 * prec;
                        b[c * d + j] = dm * prec;
                        cst += dm * dm * prec;
                    }
                    konst[c] -= 0.5 * cst;
                }
            }
            CovarianceType::Spherical => {
                b = vec![0.0; k * d];
                neg_half_p2 = vec![0.0; k];
                for c in 0..k {
                    let prec = f[c] * f[c];
                    let mut cst = 0.0;
                    for j in 0..d {
                        let dm = means[c * d + j] - c0[j];
                        b[c * d + j] = dm * prec;
                        cst += dm * dm;
                    }
                    neg_half_p2[c] = -0.5 * prec;
                    konst[c] -= 0.5 * prec * cst;
                }
            }
        }
        let small =
            (!gemm && d <= crate::small::MAX_D).then(|| crate::small::SmallPrep::new(p, &shift));
        Prepared {
            kind,
            k,
            d,
            gemm,
            small,
            shift,
            c0,
            a,
            b,
            konst,
            neg_half_p2,
        }
    }
}

/// Reusable per-worker buffers for the products.
#[derive(Default)]
pub(crate) struct Workspace {
    /// `m×D`: rows minus a shift.
    xc: Vec<f64>,
    /// `m×D`: squares, products or weighted rows.
    tmp: Vec<f64>,
    /// `m×K`: weighted responsibilities.
    rw: Vec<f64>,
    /// `m × D(D+1)/2`: packed outer products of the shifted rows.
    outer: Vec<f64>,
    /// `K × D(D+1)/2`: a chunk's packed second moments.
    packed: Vec<f64>,
}

/// `P_i = (Xc_i ⊗ Xc_i)` packed by rows of the upper triangle.
#[inline(always)]
fn packed_outer(outer: &mut Vec<f64>, xc: &[f64], d: usize) {
    let t = d * (d + 1) / 2;
    outer.resize(xc.len() / d * t, 0.0);
    for (o, x) in outer.chunks_exact_mut(t).zip(xc.chunks_exact(d)) {
        let mut idx = 0;
        for i in 0..d {
            let xi = x[i];
            let row = &mut o[idx..idx + d - i];
            for (r, xj) in row.iter_mut().zip(&x[i..]) {
                *r = xi * xj;
            }
            idx += d - i;
        }
    }
}

fn rm(s: &[f64], r: usize, c: usize) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice(s, r, c)
}

fn rm_mut(s: &mut [f64], r: usize, c: usize) -> MatMut<'_, f64> {
    MatMut::from_row_major_slice_mut(s, r, c)
}

/// `dst ← rows − shift` (row-wise).
fn centre(dst: &mut Vec<f64>, rows: &[f64], shift: &[f64]) {
    let d = shift.len();
    dst.resize(rows.len(), 0.0);
    for (o, x) in dst.chunks_exact_mut(d).zip(rows.chunks_exact(d)) {
        for j in 0..d {
            o[j] = x[j] - shift[j];
        }
    }
}

/// Calls `$body` compiled for AVX2+FMA when the CPU has them (the loops around the
/// products then vectorise 4-wide), else for the baseline.
macro_rules! with_avx2 {
    ($wide:ident, $fast:ident, $body:ident, ($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has the features `$wide` is compiled for.
                return unsafe { $wide($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has the features `$fast` is compiled for.
                return unsafe { $fast($($arg),*) };
            }
        }
        $body($($arg),*)
    }};
}

/// `out (m×K) ← ln w_k + log N(x_i | μ_k, Σ_k)` with products (requires `prep.gemm`).
pub(crate) fn log_prob(
    prep: &Prepared,
    p: &Params,
    rows: &[f64],
    out: &mut [f64],
    ws: &mut Workspace,
) {
    with_avx2!(
        log_prob_avx512,
        log_prob_avx2,
        log_prob_body,
        (prep, p, rows, out, ws)
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn log_prob_avx512(
    prep: &Prepared,
    p: &Params,
    rows: &[f64],
    out: &mut [f64],
    ws: &mut Workspace,
) {
    log_prob_body(prep, p, rows, out, ws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn log_prob_avx2(
    prep: &Prepared,
    p: &Params,
    rows: &[f64],
    out: &mut [f64],
    ws: &mut Workspace,
) {
    log_prob_body(prep, p, rows, out, ws)
}

#[inline(always)]
fn log_prob_body(prep: &Prepared, p: &Params, rows: &[f64], out: &mut [f64], ws: &mut Workspace) {
    let (k, d) = (prep.k, prep.d);
    let m = rows.len() / d;
    let f = &p.prec.factors;
    match prep.kind {
        CovarianceType::Full => {
            // out = P Aᵀ + Xc Bᵀ + konst: two products for all components.
            centre(&mut ws.xc, rows, &prep.c0);
            packed_outer(&mut ws.outer, &ws.xc, d);
            let t = d * (d + 1) / 2;
            matmul(
                rm_mut(out, m, k),
                Accum::Replace,
                rm(&ws.outer, m, t),
                rm(&prep.a, k, t).transpose(),
                1.0,
                Par::Seq,
            );
            matmul(
                rm_mut(out, m, k),
                Accum::Add,
                rm(&ws.xc, m, d),
                rm(&prep.b, k, d).transpose(),
                1.0,
                Par::Seq,
            );
            for o in out.chunks_exact_mut(k) {
                for (v, kc) in o.iter_mut().zip(&prep.konst) {
                    *v += kc;
                }
            }
        }
        CovarianceType::Tied => {
            centre(&mut ws.xc, rows, &prep.c0);
            ws.tmp.resize(m * d, 0.0);
            matmul(
                rm_mut(&mut ws.tmp, m, d),
                Accum::Replace,
                rm(&ws.xc, m, d),
                rm(&f[..d * d], d, d),
                1.0,
                Par::Seq,
            );
            for (i, y) in ws.tmp.chunks_exact(d).enumerate() {
                for c in 0..k {
                    let q = sum_sq_diff(y, &prep.a[c * d..(c + 1) * d]);
                    out[i * k + c] = prep.konst[c] - 0.5 * q;
                }
            }
        }
        CovarianceType::Diag => {
            centre(&mut ws.xc, rows, &prep.c0);
            ws.tmp.clear();
            ws.tmp.extend(ws.xc.iter().map(|v| v * v));
            // out = Xc² (−½P)ᵀ + Xc ((μ−c₀)P)ᵀ + konst
            matmul(
                rm_mut(out, m, k),
                Accum::Replace,
                rm(&ws.tmp, m, d),
                rm(&prep.a, k, d).transpose(),
                1.0,
                Par::Seq,
            );
            matmul(
                rm_mut(out, m, k),
                Accum::Add,
                rm(&ws.xc, m, d),
                rm(&prep.b, k, d).transpose(),
                1.0,
                Par::Seq,
            );
            for row in out.chunks_exact_mut(k) {
                for (v, kc) in row.iter_mut().zip(&prep.konst) {
                    *v += kc;
                }
            }
        }
        CovarianceType::Spherical => {
            centre(&mut ws.xc, rows, &prep.c0);
            matmul(
                rm_mut(out, m, k),
                Accum::Replace,
                rm(&ws.xc, m, d),
                rm(&prep.b, k, d).transpose(),
                1.0,
                Par::Seq,
            );
            for (row, x) in out.chunks_exact_mut(k).zip(ws.xc.chunks_exact(d)) {
                let sq: f64 = x.iter().map(|v| v * v).sum();
                for ((v, kc), h) in row.iter_mut().zip(&prep.konst).zip(&prep.neg_half_p2) {
                    *v += kc + h * sq;
                }
            }
        }
    }
}

/// Adds a chunk's moments about `prep.shift` to `st` with products.
pub(crate) fn accumulate(
    prep: &Prepared,
    st: &mut SuffStats,
    rows: &[f64],
    weights: Option<&[f64]>,
    resp: &[f64],
    ws: &mut Workspace,
) {
    with_avx2!(
        accumulate_avx512,
        accumulate_avx2,
        accumulate_body,
        (prep, st, rows, weights, resp, ws)
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn accumulate_avx512(
    prep: &Prepared,
    st: &mut SuffStats,
    rows: &[f64],
    weights: Option<&[f64]>,
    resp: &[f64],
    ws: &mut Workspace,
) {
    accumulate_body(prep, st, rows, weights, resp, ws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_avx2(
    prep: &Prepared,
    st: &mut SuffStats,
    rows: &[f64],
    weights: Option<&[f64]>,
    resp: &[f64],
    ws: &mut Workspace,
) {
    accumulate_body(prep, st, rows, weights, resp, ws)
}

#[inline(always)]
fn accumulate_body(
    prep: &Prepared,
    st: &mut SuffStats,
    rows: &[f64],
    weights: Option<&[f64]>,
    resp: &[f64],
    ws: &mut Workspace,
) {
    let (k, d) = (prep.k, prep.d);
    let m = rows.len() / d;
    // Weighted responsibilities, and the masses.
    ws.rw.clear();
    ws.rw.extend_from_slice(resp);
    if let Some(w) = weights {
        for (row, wi) in ws.rw.chunks_exact_mut(k).zip(w) {
            row.iter_mut().for_each(|v| *v *= wi);
        }
        st.wsum += w.iter().sum::<f64>();
    } else {
        st.wsum += m as f64;
    }
    for row in ws.rw.chunks_exact(k) {
        for (n, r) in st.nk.iter_mut().zip(row) {
            *n += r;
        }
    }
    match prep.kind {
        CovarianceType::Full => {
            // Packed moments (K × T) = Rwᵀ P; s += Rwᵀ Xc. P is rebuilt here (cheap: it
            // does not depend on K) rather than kept from the E-step.
            centre(&mut ws.xc, rows, &prep.c0);
            packed_outer(&mut ws.outer, &ws.xc, d);
            let t = d * (d + 1) / 2;
            ws.packed.resize(k * t, 0.0);
            matmul(
                rm_mut(&mut st.s, k, d),
                Accum::Add,
                rm(&ws.rw, m, k).transpose(),
                rm(&ws.xc, m, d),
                1.0,
                Par::Seq,
            );
            matmul(
                rm_mut(&mut ws.packed, k, t),
                Accum::Replace,
                rm(&ws.rw, m, k).transpose(),
                rm(&ws.outer, m, t),
                1.0,
                Par::Seq,
            );
            for c in 0..k {
                let pk = &ws.packed[c * t..(c + 1) * t];
                let m2 = &mut st.m2[c * d * d..(c + 1) * d * d];
                let mut idx = 0;
                for i in 0..d {
                    for j in i..d {
                        m2[i * d + j] += pk[idx];
                        idx += 1;
                    }
                }
            }
        }
        CovarianceType::Tied | CovarianceType::Diag | CovarianceType::Spherical => {
            centre(&mut ws.xc, rows, &prep.c0);
            // s_k += Rwᵀ Xc
            matmul(
                rm_mut(&mut st.s, k, d),
                Accum::Add,
                rm(&ws.rw, m, k).transpose(),
                rm(&ws.xc, m, d),
                1.0,
                Par::Seq,
            );
            if prep.kind == CovarianceType::Tied {
                // Σ_k r_ik = 1, so the pooled moment needs only the row weights.
                ws.tmp.resize(m * d, 0.0);
                for (i, (t, x)) in ws
                    .tmp
                    .chunks_exact_mut(d)
                    .zip(ws.xc.chunks_exact(d))
                    .enumerate()
                {
                    let w = weights.map_or(1.0, |w| w[i]);
                    for j in 0..d {
                        t[j] = w * x[j];
                    }
                }
                matmul(
                    rm_mut(&mut st.m2, d, d),
                    Accum::Add,
                    rm(&ws.tmp, m, d).transpose(),
                    rm(&ws.xc, m, d),
                    1.0,
                    Par::Seq,
                );
            } else {
                ws.tmp.clear();
                ws.tmp.extend(ws.xc.iter().map(|v| v * v));
                matmul(
                    rm_mut(&mut st.m2, k, d),
                    Accum::Add,
                    rm(&ws.rw, m, k).transpose(),
                    rm(&ws.tmp, m, d),
                    1.0,
                    Par::Seq,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::Covariances;
    use crate::estep::{weighted_log_prob, Scratch};
    use ndarray::{Array1, Array2, Array3};
    use rand::{Rng, SeedableRng};

    fn random_params(
        kind: CovarianceType,
        k: usize,
        d: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Params {
        let w: Vec<f64> = (0..k).map(|_| rng.gen_range(0.5..1.5)).collect();
        let s: f64 = w.iter().sum();
        let weights = Array1::from_iter(w.iter().map(|v| v / s));
        let means = Array2::from_shape_fn((k, d), |_| 1e3 + rng.gen_range(-5.0..5.0));
        let spd = |rng: &mut rand_chacha::ChaCha8Rng| {
            let a = Array2::from_shape_fn((d, d), |_| rng.gen_range(-0.5..0.5));
            let mut m = a.dot(&a.t());
            for i in 0..d {
                m[[i, i]] += 0.3;
            }
            m
        };
        let cov = match kind {
            CovarianceType::Full => {
                let mut c = Array3::zeros((k, d, d));
                for i in 0..k {
                    c.index_axis_mut(ndarray::Axis(0), i).assign(&spd(rng));
                }
                Covariances::Full(c)
            }
            CovarianceType::Tied => Covariances::Tied(spd(rng)),
            CovarianceType::Diag => {
                Covariances::Diag(Array2::from_shape_fn((k, d), |_| rng.gen_range(0.2..3.0)))
            }
            CovarianceType::Spherical => {
                Covariances::Spherical(Array1::from_shape_fn(k, |_| rng.gen_range(0.2..3.0)))
            }
        };
        Params::new(weights, means, cov, 1e-6).unwrap()
    }

    /// The product kernels agree with the fused scalar loops.
    #[test]
    fn gemm_kernels_match_the_scalar_path() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for kind in CovarianceType::ALL {
            for (k, d, m) in [
                (1, 1, 7),
                (3, 2, 50),
                (5, 3, 40),
                (6, 4, 19),
                (4, 9, 64),
                (7, 16, 33),
            ] {
                let p = random_params(kind, k, d, &mut rng);
                let rows: Vec<f64> = (0..m * d).map(|_| 1e3 + rng.gen_range(-8.0..8.0)).collect();
                let weights: Vec<f64> = (0..m).map(|i| (i % 3) as f64 * 0.5).collect();
                let mut scalar = vec![0.0; m * k];
                weighted_log_prob(&p, &rows, &mut scalar, &mut Scratch::default());
                let prep = Prepared::new(&p, Some(true));
                let mut ws = Workspace::default();
                let mut fast = vec![0.0; m * k];
                log_prob(&prep, &p, &rows, &mut fast, &mut ws);
                for (a, b) in fast.iter().zip(&scalar) {
                    assert!(
                        (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                        "{kind} k={k} d={d}: {a} vs {b}"
                    );
                }
                // Moments: products vs the scalar accumulation, same shift.
                let mut ln = vec![0.0; m];
                crate::estep::normalize_rows(&mut scalar, k, &mut ln);
                let mut s1 = SuffStats::new(kind, k, d, &prep.shift);
                let mut s2 = SuffStats::new(kind, k, d, &prep.shift);
                s1.accumulate(&rows, Some(&weights), &scalar, &mut Vec::new());
                accumulate(&prep, &mut s2, &rows, Some(&weights), &scalar, &mut ws);
                let close = |a: &[f64], b: &[f64], what: &str| {
                    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                    for (x, y) in a.iter().zip(b) {
                        assert!(
                            (x - y).abs() <= 1e-11 * scale,
                            "{kind} k={k} d={d} {what}: {x} vs {y}"
                        );
                    }
                };
                close(&s2.nk, &s1.nk, "nk");
                close(&s2.s, &s1.s, "s");
                assert!((s2.wsum - s1.wsum).abs() < 1e-12);
                // The scalar path fills only the upper triangle of full/tied moments.
                let upper = |v: &[f64]| -> Vec<f64> {
                    if matches!(kind, CovarianceType::Full | CovarianceType::Tied) {
                        v.chunks(d * d)
                            .flat_map(|b| {
                                (0..d).flat_map(move |i| (i..d).map(move |j| b[i * d + j]))
                            })
                            .collect()
                    } else {
                        v.to_vec()
                    }
                };
                close(&upper(&s2.m2), &upper(&s1.m2), "m2");

                // The structure-of-arrays kernel for small D, against the same reference.
                if d <= crate::small::MAX_D {
                    let sp = crate::small::SmallPrep::new(&p, &prep.shift);
                    let mut lp = vec![0.0; m * k];
                    crate::small::log_prob(&sp, &rows, &mut lp);
                    let mut reference = vec![0.0; m * k];
                    weighted_log_prob(&p, &rows, &mut reference, &mut Scratch::default());
                    for (a, b) in lp.iter().zip(&reference) {
                        assert!(
                            (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                            "small {kind} d={d}: {a} vs {b}"
                        );
                    }
                    let mut s3 = SuffStats::new(kind, k, d, &prep.shift);
                    crate::small::accumulate(
                        &sp,
                        &mut s3,
                        &rows,
                        Some(&weights),
                        &scalar,
                        &mut Default::default(),
                    );
                    close(&s3.nk, &s1.nk, "small nk");
                    close(&s3.s, &s1.s, "small s");
                    close(&upper(&s3.m2), &upper(&s1.m2), "small m2");
                    assert!((s3.wsum - s1.wsum).abs() < 1e-12);
                }
            }
        }
    }
}
