//! The f32 kernel for full covariances: every row is shifted to its nearest mean (its
//! *anchor*) before anything is squared.
//!
//! f32 products run about twice as fast as f64 ones, but an expanded quadratic form
//! about a shift far from a component (the f64 kernels' group shift, `kernels`) cancels
//! the spread between components against the spread within them, and f32 has eight
//! fewer digits to lose. Here row `x` is written `x = z_a + y` with `z_a` the anchor
//! (the component mean nearest to `x`, rounded to f32 so that the shift is exact) and
//! `y` small — of the size of the spread within a component. For component `k`,
//! `x − μ_k = y + δ_ak` with `δ_ak = z_a − μ_k` (in f64), so
//!
//! - E-step: `(x − μ_k)ᵀ Λ_k (x − μ_k) = yᵀΛ_k y + 2 yᵀΛ_k δ_ak + δ_akᵀ Λ_k δ_ak`. The first
//!   term is the packed product `P_y Aᵀ` of the f64 kernel (f32 here), the second a
//!   `D×K` matrix–vector product per row with a per-pass table `g_a`, the third a
//!   per-pass constant. Responsibilities and log-sum-exp run in f32 on values relative
//!   to the row's own component, `log p(x)` is assembled in f64.
//! - M-step, about the anchors (`ε_ak = z_a − z_k`, exact in f64):
//!   `Σ_i r_ik (x_i − z_k)(x_i − z_k)ᵀ = Σ_i r_ik y_i y_iᵀ + Σ_a (c_ak ε_akᵀ + ε_ak c_akᵀ +
//!   n_ak ε_ak ε_akᵀ)` with `c_ak = Σ_{a(i)=a} r_ik y_i` and `n_ak = Σ_{a(i)=a} r_ik`. The first sum is the product `Rᵀ P_y` (f32 per chunk, added to f64); `c` and
//!   `n` are accumulated in f64 and folded in once per group of chunks.
//!
//! For a row's own component — where almost all of its mass goes — `δ` is only the f32
//! rounding of the mean and nothing cancels. For the others, the nearest anchor bounds `‖y‖ ≤ ‖x − z_k‖`, so
//! the expansion cancels at most a small factor. Which anchor a row gets changes only
//! rounding, never the mathematics, so the anchor search itself may be approximate (it
//! runs in f32).
//!
//! An ill-conditioned covariance (condition number 10⁴ and more) still costs digits in
//! f32: the expanded `yᵀΛy` cancels between its terms, f32-rounded coefficients bias it,
//! and an f32 sum of 256 outer products loses the small eigenvalues. So the row's own
//! component — the bulk of the mass — is done in f64 from the exact f32 `y`: its
//! quadratic form as `‖(y + z_a − μ_a)ᵀU_a‖²` and its second moment `Σ r y yᵀ` directly.
//! So is every other component that carries mass in a row (within 16 nats of its best:
//! rows between overlapping components, or of a component that is not their nearest
//! mean): its quadratic form centred on its mean and its moments in f64. The products
//! then serve the remaining components only, and rows without mass outside their own
//! component (most rows, once well-separated components settle) are dropped from the
//! M-step product. On the test data of `tests/f32.rs` this took the f32 fit from 2e-5
//! (and a non-monotone lower bound) to 2e-9 of the f64 fit of the same values.
//!
//! Rows are sorted by anchor within a chunk (counting sort; the pass gives this kernel
//! 512-row chunks), so each anchor's rows are contiguous and their accumulations run in
//! registers; components without mass in an anchor's rows (exact zeros: f32
//! responsibilities below e^-87 of the row's best are 0) are skipped. The row loops are
//! written once (`simd`), compiled for AVX-512, AVX2+FMA and plain scalar code and
//! chosen at run time; every level is tested against an f64 reference.
//!
//! f32 arithmetic can overflow where f64 does not (squares of values beyond 1.8e19): a
//! pass whose statistics come out non-finite is redone on rows converted to f64
//! (`em::e_pass`). The per-worker accumulators hold `K²·D` f64 values; above
//! [`MAX_PAIR_VALUES`] the f32 data is converted to f64 a chunk at a time instead (the
//! f64 kernels).

use faer::Accum;

use super::products::{add_packed_upper, packed_quadratic, precision_matrix, product, rm, rm_mut};
use super::rowwise::LN_2PI;
use crate::params::Params;
use crate::simd::{self, Isa};
use crate::stats::SuffStats;

/// Largest `K²·D` (values in each worker's pair accumulators, 8 bytes each) for which
/// the anchored kernel is used: 32 MiB per worker.
pub(crate) const MAX_PAIR_VALUES: usize = 1 << 22;

/// Per-pass tables of the anchored kernel.
pub(crate) struct AnchorPrep {
    k: usize,
    d: usize,
    /// The anchors `z_k`: the means rounded to f32 (`K×D`). Moments are taken about them.
    pub z: Vec<f64>,
    /// The means `μ_k` themselves (`K×D`): log-densities are centred on them, not on the
    /// anchors (at 1e7 from the origin, f32 rounds a mean by up to 0.5).
    mu: Vec<f64>,
    /// The scale of the f32 error of a row's expanded value for component `k` is
    /// `err_quad[k]·‖y‖² + err_cross[a][k]·‖y‖ + err_const[a][k]`: ε₃₂ times its terms'
    /// sizes, `λ_max(Λ_k)·½‖y‖²`, `λ_max(Λ_k)·‖y‖·‖z_a − μ_k‖` and `|c2[a][k]|`, with
    /// `‖U_k‖²_F ≥ λ_max(Λ_k)`. A nearly singular `Λ_k` (λ_max 1e6) makes it large.
    err_quad: Vec<f32>,
    err_cross: Vec<f32>,
    err_const: Vec<f32>,
    z32: Vec<f32>,
    /// The anchor search works about the weighted mean of the means, `c₀`.
    c0: Vec<f32>,
    /// `z_k − c₀` (`K×D`) and `½‖z_k − c₀‖²`.
    zc: Vec<f32>,
    half_sq: Vec<f32>,
    /// Packed `−½Λ_k(2 − δ_ij)` (`K × D(D+1)/2`).
    a: Vec<f32>,
    /// `g[a][j][k] = −(Λ_k δ_ak)_j` (`K×D×K`).
    g: Vec<f32>,
    /// `c2[a][k] = konst_k − ½ δ_akᵀΛ_kδ_ak − konst_a` (`K×K`), small for nearby `k`.
    c2: Vec<f32>,
    /// `konst_a = ln w_a − ½D ln 2π + log det U_a`, added back in f64.
    base: Vec<f64>,
    /// The precision factors `U_k` (`K×D×D`, upper triangular), in f64.
    u: Vec<f64>,
}

impl AnchorPrep {
    /// Whether the anchored kernel is used for `k` full-covariance components in `d`
    /// dimensions (its accumulators must stay small).
    pub fn fits(k: usize, d: usize) -> bool {
        k.saturating_mul(k).saturating_mul(d) <= MAX_PAIR_VALUES
    }

    /// Whether the anchored kernel beats converting the f32 rows to f64 for the f64
    /// kernels. Its row work (sorting, the own component's D² in f64, per-anchor
    /// sums) does not shrink with K while the products it halves grow with K·D², so it
    /// pays from about K = 16 and D = 14 on; its per-group fold grows with K²·D², so
    /// it stops paying when K outgrows D. Measured (N = 200k, 5–10 iterations from a
    /// poor start; time with conversion / anchored): D 16: K 8 0.72, K 16 1.11, K 32 1.29,
    /// K 64 1.42, K 128 1.21, K 256 0.76; D 14: K 16 0.99, K 32 1.16; D 12, K 32: 1.03;
    /// D 24, K 32: 1.51; D 32: K 32 1.57, K 128 1.40; every D ≤ 32 with K = 8: 0.5–0.9.
    /// (1M rows, D 16, K 32, 20 iterations: 1.78.)
    pub fn pays(k: usize, d: usize) -> bool {
        k >= 16 && d >= 14 && k <= 8 * d
    }

    pub fn new(p: &Params) -> Self {
        let (k, d) = (p.k, p.d);
        let t = d * (d + 1) / 2;
        let means = p.means_flat();
        let z32: Vec<f32> = means.iter().map(|v| *v as f32).collect();
        let z: Vec<f64> = z32.iter().map(|v| *v as f64).collect();
        let mut c0 = vec![0.0f64; d];
        for c in 0..k {
            for j in 0..d {
                c0[j] += p.weights[c] * z[c * d + j];
            }
        }
        let mut zc = vec![0.0f32; k * d];
        let mut half_sq = vec![0.0f32; k];
        for c in 0..k {
            let mut sq = 0.0;
            for j in 0..d {
                let v = z[c * d + j] - c0[j];
                zc[c * d + j] = v as f32;
                sq += v * v;
            }
            half_sq[c] = (0.5 * sq) as f32;
        }
        let base: Vec<f64> = (0..k)
            .map(|c| p.log_weights[c] - 0.5 * d as f64 * LN_2PI + p.prec.log_det[c])
            .collect();
        let f = &p.prec.factors;
        let mut lam_full = vec![0.0; k * d * d];
        let mut a64 = vec![0.0; k * t];
        for c in 0..k {
            let l = &mut lam_full[c * d * d..(c + 1) * d * d];
            precision_matrix(&f[c * d * d..(c + 1) * d * d], d, l);
            packed_quadratic(l, d, &mut a64[c * t..(c + 1) * t]);
        }
        let mut g = vec![0.0f32; k * d * k];
        let mut c2 = vec![0.0f32; k * k];
        let mut dnorm = vec![0.0; k * k];
        let lam: Vec<f64> = (0..k)
            .map(|c| {
                f[c * d * d..(c + 1) * d * d]
                    .iter()
                    .map(|v| v * v)
                    .sum::<f64>()
            })
            .collect();
        let mut delta = vec![0.0; d];
        for an in 0..k {
            for c in 0..k {
                // x − μ_c = y + (z_a − μ_c).
                for j in 0..d {
                    delta[j] = z[an * d + j] - means[c * d + j];
                }
                dnorm[an * k + c] = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
                let l = &lam_full[c * d * d..(c + 1) * d * d];
                let mut quad = 0.0;
                for i in 0..d {
                    let gi: f64 = (0..d).map(|j| l[i * d + j] * delta[j]).sum();
                    g[(an * d + i) * k + c] = -gi as f32;
                    quad += gi * delta[i];
                }
                c2[an * k + c] = (base[c] - 0.5 * quad - base[an]) as f32;
            }
        }
        let eps = f32::EPSILON as f64;
        let err_quad: Vec<f32> = lam.iter().map(|l| (eps * 0.5 * l) as f32).collect();
        let err_cross = (0..k * k)
            .map(|i| (eps * lam[i % k] * dnorm[i]) as f32)
            .collect();
        let err_const = c2.iter().map(|v| (eps * v.abs() as f64) as f32).collect();
        AnchorPrep {
            k,
            d,
            z,
            z32,
            c0: c0.iter().map(|v| *v as f32).collect(),
            zc,
            half_sq,
            a: a64.iter().map(|v| *v as f32).collect(),
            g,
            c2,
            err_quad,
            err_cross,
            err_const,
            base,
            u: f.to_vec(),
            mu: means.to_vec(),
        }
    }
}

/// One worker's buffers for the anchored kernel.
#[derive(Default)]
pub(crate) struct AnchorWs {
    xc: Vec<f32>,
    /// `m×K` anchor scores.
    h: Vec<f32>,
    /// `m×K`: log-densities, then weighted responsibilities (rows in anchor order).
    out: Vec<f32>,
    /// Per row (in the chunk's order) its anchor; `order[p]` is the chunk row at
    /// position `p` of the anchor order; `start[a]..start[a+1]` the positions of
    /// anchor `a`.
    anchor: Vec<u32>,
    order: Vec<u32>,
    start: Vec<usize>,
    /// Scratch of the counting sort, and of `fold` (one `δ_ak`).
    next: Vec<usize>,
    delta: Vec<f64>,
    /// Rows (anchor order) with mass outside their own component.
    live: Vec<usize>,
    /// `(row position, component)` pairs other than the anchor recomputed centred in
    /// f64 (in anchor order).
    exact: Vec<(u32, u32)>,
    /// Shifted rows `y` (`m` rows of stride [`padded`]`(D)`, zero beyond `D`, anchor
    /// order) and their packed outer products.
    y: Vec<f32>,
    /// `y` in f64 (same layout).
    y64: Vec<f64>,
    /// One row's `x − μ_a` in f64.
    ya: Vec<f64>,
    outer: Vec<f32>,
    m2: Vec<f32>,
    /// Per row (anchor order): `konst_a + own + max` and `Σ exp(v − max)`, then its
    /// logarithm (`v` relative to `own`).
    lbase: Vec<f64>,
    /// Per row (anchor order) that had values recomputed: the best value computed in
    /// f64, relative to `konst_a` (`out` then holds values relative to it); else 0.
    own: Vec<f64>,
    /// Per row (anchor order) without recomputed values: the own value's f32 rounding,
    /// `own64 − own32`, corrected for after the exponentials; else 0.
    down: Vec<f64>,
    /// One row's components recomputed centred, with their f64 values.
    vals: Vec<(usize, f64)>,
    lsum: Vec<f64>,
    /// `Σ r y yᵀ` of the current group, packed (`K × D(D+1)/2`), in f64.
    m2acc: Vec<f64>,
    /// `c_ak` (`K×K×D`) and `n_ak` (`K×K`) of the current group, in f64.
    cacc: Vec<f64>,
    nacc: Vec<f64>,
    /// Which anchors have rows in the current group.
    touched: Vec<bool>,
}

simd::multiversion! {
    /// E-step and moment accumulation for one chunk of f32 rows: fills `log_norm` with
    /// `log p(x_i)` and adds the chunk to `st` (moments about the anchors) and to the
    /// pair accumulators that [`fold`] moves into `st`.
    pub(crate) fn chunk(
        ap: &AnchorPrep,
        st: &mut SuffStats,
        rows: &[f32],
        weights: Option<&[f64]>,
        log_norm: &mut [f64],
        ws: &mut AnchorWs,
    ) {
        s => chunk_body(s, ap, st, rows, weights, log_norm, ws)
    }
}

/// The body of [`chunk`], with the row loops (`simd`) of the level `s`. The slice
/// lengths the row loops need are set up here (all buffers are sized from `k`, `d`, `m`
/// and the padded stride `dp = padded(d) ≥ d + 16`).
#[inline(always)]
fn chunk_body<S: Isa>(
    s: S,
    ap: &AnchorPrep,
    st: &mut SuffStats,
    rows: &[f32],
    weights: Option<&[f64]>,
    log_norm: &mut [f64],
    ws: &mut AnchorWs,
) {
    let (k, d) = (ap.k, ap.d);
    let t = d * (d + 1) / 2;
    let m = rows.len() / d;
    let dp = padded(d);
    if ws.nacc.len() != k * k || ws.cacc.len() != k * k * d {
        ws.nacc = vec![0.0; k * k];
        ws.cacc = vec![0.0; k * k * d];
        ws.touched = vec![false; k];
    }

    // Anchors: argmin_k ‖x − z_k‖² = argmax_k (x − c₀)·(z_k − c₀) − ½‖z_k − c₀‖².
    ws.xc.resize(m * d, 0.0);
    let c0 = &ap.c0[..d];
    for (o, x) in ws.xc.chunks_exact_mut(d).zip(rows.chunks_exact(d)) {
        simd::sub(s, o, x, c0);
    }
    ws.h.resize(m * k, 0.0);
    product(
        rm_mut(&mut ws.h, m, k),
        Accum::Replace,
        rm(&ws.xc, m, d),
        rm(&ap.zc, k, d).transpose(),
    );
    ws.anchor.clear();
    ws.start.clear();
    ws.start.resize(k + 1, 0);
    let half_sq = &ap.half_sq[..k];
    for hrow in ws.h.chunks_exact(k) {
        let best = simd::argmax_shifted(s, hrow, half_sq);
        ws.anchor.push(best as u32);
        ws.start[best + 1] += 1;
    }
    // Rows sorted by anchor (counting sort, stable): each anchor's rows are contiguous,
    // so their moments accumulate in registers.
    for a in 0..k {
        ws.start[a + 1] += ws.start[a];
    }
    ws.order.resize(m, 0);
    ws.next.clear();
    ws.next.extend_from_slice(&ws.start[..k]);
    for (i, a) in ws.anchor.iter().enumerate() {
        let a = *a as usize;
        ws.order[ws.next[a]] = i as u32;
        ws.next[a] += 1;
    }
    // Stale values beyond D would enter the products: the padding is rewritten too.
    ws.y.clear();
    ws.y.resize(m * dp, 0.0);
    for a in 0..k {
        let z = &ap.z32[a * d..(a + 1) * d];
        for p in ws.start[a]..ws.start[a + 1] {
            let i = ws.order[p] as usize;
            simd::sub(
                s,
                &mut ws.y[p * dp..p * dp + d],
                &rows[i * d..(i + 1) * d],
                z,
            );
        }
    }
    // The same rows in f64 (exact), for the own components' f64 work.
    ws.y64.clear();
    ws.y64.resize(m * dp, 0.0);
    simd::widen(s, &mut ws.y64, &ws.y);

    // E-step: yᵀΛ_k y for all components in one product, then per row the cross term
    // and the constant of its anchor, log-sum-exp, and the responsibilities.
    // Slack for the last row's overrun (both outer-product kernels write whole blocks).
    ws.outer.resize(m * t + 16, 0.0);
    // SAFETY: `y` holds `m` rows of stride `dp ≥ d + 16` (so reads up to 15 values past
    // the last row's `d` stay inside it), `outer` holds `m·t + 16` values.
    unsafe { simd::packed_outer(s, &mut ws.outer, &ws.y, m, d, dp) };
    ws.out.resize(m * k, 0.0);
    product(
        rm_mut(&mut ws.out, m, k),
        Accum::Replace,
        rm(&ws.outer[..m * t], m, t),
        rm(&ap.a, k, t).transpose(),
    );
    // Per row: cross term and constant of its anchor, the maximum; then, as separate
    // passes so that rows overlap instead of forming one long dependency chain per
    // row, the exponentials and their sums, and the scaling to weighted
    // responsibilities. log p(x_i) = konst_a + max + ln Σ, logarithms for the whole chunk
    // at once. A non-finite value (f32 overflow) makes the row's log-likelihood NaN,
    // and the pass is then redone in f64.
    ws.lsum.resize(m, 0.0);
    ws.lbase.resize(m, 0.0);
    // The row's own component, where its mass is: ‖yᵀU_a‖² in f64 instead of the
    // expanded f32 form, whose terms cancel when Σ_a is ill-conditioned (and whose
    // f32-rounded coefficients bias it). A sweep of its own, so that rows overlap.
    ws.ya.resize(d, 0.0);
    for a in 0..k {
        let u = &ap.u[a * d * d..(a + 1) * d * d];
        let (za, mu) = (&ap.z[a * d..(a + 1) * d], &ap.mu[a * d..(a + 1) * d]);
        for p in ws.start[a]..ws.start[a + 1] {
            // x − μ_a = y + (z_a − μ_a): the anchor is the mean rounded to f32.
            for (j, o) in ws.ya.iter_mut().enumerate() {
                *o = ws.y64[p * dp + j] + (za[j] - mu[j]);
            }
            // SAFETY: `ya` holds `d` values (resized above) and `u` holds `d²`.
            ws.lsum[p] = -0.5 * unsafe { simd::whitened_sq(s, &ws.ya, u) };
        }
    }
    for a in 0..k {
        let g = &ap.g[a * d * k..(a + 1) * d * k];
        let c2 = &ap.c2[a * k..(a + 1) * k];
        for p in ws.start[a]..ws.start[a + 1] {
            let v = &mut ws.out[p * k..(p + 1) * k];
            let own = (a, ws.lsum[p] as f32);
            // SAFETY: `v` and `c2` hold `k` values, the row `d` and `g` `d·k`.
            ws.lbase[p] =
                unsafe { simd::cross_max(s, v, &ws.y[p * dp..p * dp + d], g, c2, own) } as f64;
        }
    }
    // The other components that may carry mass (f32 value within `EXACT_SPAN` nats of
    // the own component's exact one, or above it — which also catches an f32 value far
    // too high, e.g. a nearly singular component's −1e6 cancelled to −20, posing as the
    // row's best): their f32 expanded values cancel when the row lies far from the
    // anchor in their metric, or their covariance is ill-conditioned (measured: 0.4 nats
    // off for a row whose component — 11 rows in 11-D — was not its nearest mean). They
    // are recomputed centred, `‖(y + z_a − μ_c)ᵀU_c‖²` in f64, and their moments are
    // taken in f64 too (below). Rows of well-separated components have none.
    // Then every value is made relative to the row's best exact one, kept in f64
    // (`ws.own`): an f32 value of a large quadratic form — a row far out in a nearly
    // singular direction — would round by up to half an ulp of it (0.06 nats at 1e6).
    ws.exact.clear();
    ws.own.clear();
    ws.own.resize(m, 0.0);
    ws.down.clear();
    ws.down.resize(m, 0.0);
    for a in 0..k {
        let (e1, e2, e3) = (
            &ap.err_quad,
            &ap.err_cross[a * k..(a + 1) * k],
            &ap.err_const[a * k..(a + 1) * k],
        );
        for p in ws.start[a]..ws.start[a + 1] {
            if !(ws.lbase[p] as f32).is_finite() {
                continue;
            }
            let own64 = ws.lsum[p];
            let v = &mut ws.out[p * k..(p + 1) * k];
            let own32 = v[a];
            let y = &ws.y64[p * dp..p * dp + d];
            let y2: f64 = y.iter().map(|v| v * v).sum();
            let (y2f, ynf) = (y2 as f32, y2.sqrt() as f32);
            let floor = own32 - EXACT_SPAN;
            // Fast path: nothing to recompute (a branch-free f32 scan that vectorises;
            // the own component counts itself, hence `> 1`). The own value's f32
            // rounding is then corrected to first order after the exponentials.
            let needs = |vc: f32, q1: f32, q2: f32, q3: f32| {
                (vc >= floor) & (q1 * y2f + q2 * ynf + q3 > EXACT_TOLERANCE)
            };
            let mut count = 0u32;
            for ((vc, q1), (q2, q3)) in v.iter().zip(e1).zip(e2.iter().zip(e3)) {
                count += needs(*vc, *q1, *q2, *q3) as u32;
            }
            if count <= needs(own32, e1[a], e2[a], e3[a]) as u32 {
                ws.down[p] = own64 - own32 as f64;
                continue;
            }
            let mut best = own64;
            ws.vals.clear();
            for (c, vc) in v.iter().enumerate() {
                if c != a && needs(*vc, e1[c], e2[c], e3[c]) {
                    let q = shifted_whitened_sq(
                        y,
                        &ap.z[a * d..(a + 1) * d],
                        &ap.mu[c * d..(c + 1) * d],
                        &ap.u[c * d * d..(c + 1) * d * d],
                    );
                    let val = ap.base[c] - ap.base[a] - 0.5 * q;
                    best = best.max(val);
                    ws.vals.push((c, val));
                    ws.exact.push((p as u32, c as u32));
                }
            }
            // Values relative to the best exact one, kept in f64 (`own`): the rest lie
            // more than EXACT_SPAN below the own value, or carry a small error.
            let best32 = best as f32;
            for vc in v.iter_mut() {
                *vc -= best32;
            }
            v[a] = (own64 - best) as f32;
            for &(c, val) in &ws.vals {
                v[c] = (val - best) as f32;
            }
            ws.own[p] = best;
            ws.lbase[p] = v.iter().fold(f32::NEG_INFINITY, |m, x| m.max(*x)) as f64;
        }
    }
    for (p, v) in ws.out.chunks_exact_mut(k).enumerate() {
        let mx = ws.lbase[p] as f32;
        ws.lsum[p] = if mx.is_finite() {
            let sum = simd::exp_sum(s, v, mx) as f64;
            if ws.down[p] != 0.0 {
                // log p moves by r_own·(own64 − own32), to first order.
                let a = ws.anchor[ws.order[p] as usize] as usize;
                ws.lbase[p] += ws.down[p] * v[a] as f64 / sum;
            }
            sum
        } else {
            v.iter_mut().for_each(|x| *x = 0.0);
            1.0
        };
    }
    let mut wsum = 0.0;
    let mut next_exact = 0;
    for (p, v) in ws.out.chunks_exact_mut(k).enumerate() {
        let wi = weights.map_or(1.0, |w| w[ws.order[p] as usize]);
        wsum += wi;
        simd::scale(s, v, (wi / ws.lsum[p]) as f32);
    }
    for a in 0..k {
        for p in ws.start[a]..ws.start[a + 1] {
            ws.lbase[p] += ap.base[a] + ws.own[p];
        }
        let (lo, hi) = (ws.start[a], ws.start[a + 1]);
        if lo == hi {
            continue;
        }
        // The pairs recomputed centred above: mass and moments about `z_c` in f64,
        // then out of the f32 accumulations (their responsibility set to 0).
        while next_exact < ws.exact.len() && (ws.exact[next_exact].0 as usize) < hi {
            let (p, c) = (
                ws.exact[next_exact].0 as usize,
                ws.exact[next_exact].1 as usize,
            );
            next_exact += 1;
            let r = std::mem::take(&mut ws.out[p * k + c]) as f64;
            if r != 0.0 {
                exact_moments(ap, st, &ws.y64[p * dp..p * dp + d], a, c, r, &mut ws.delta);
            }
        }
        // c_ak += Σ r_ik y_i and n_ak += Σ r_ik over the anchor's rows.
        ws.touched[a] = true;
        // SAFETY: `hi − lo` rows: of `k` values in `out`, of stride `dp ≥ d + 16` in `y`;
        // the `c` and `n` slices hold `k·d` and `k` values.
        unsafe {
            simd::accumulate_anchor(
                s,
                &ws.out[lo * k..hi * k],
                &ws.y[lo * dp..hi * dp],
                k,
                d,
                dp,
                &mut ws.cacc[a * k * d..(a + 1) * k * d],
                &mut ws.nacc[a * k..(a + 1) * k],
            )
        };
        // The second moment of the anchor's own component in f64 (its mass, and the
        // conditioning of its covariance, would lose digits in an f32 product); the
        // product below then covers only the other components.
        // SAFETY: `a < k`; `hi − lo` rows: of `k` values in `out`, of stride `dp ≥ d + 16`
        // in `y64`; the `m2` slice holds `d²` values.
        unsafe {
            simd::own_moments(
                s,
                &mut ws.out[lo * k..hi * k],
                &ws.y64[lo * dp..hi * dp],
                a,
                k,
                d,
                dp,
                &mut st.m2[a * d * d..(a + 1) * d * d],
            )
        };
    }
    st.wsum += wsum;
    simd::ln_in_place(&mut ws.lsum);
    for (p, i) in ws.order.iter().enumerate() {
        log_norm[*i as usize] = ws.lbase[p] + ws.lsum[p];
    }

    // M-step: Σ r_ik y_i y_iᵀ over the other components (the own ones were taken in f64
    // and zeroed) in one product, added to the group's packed f64 accumulator
    // (unpacked into `st` by `fold`). Rows with no mass outside their own component —
    // most rows once well-separated components have settled — are dropped first when
    // that saves a quarter of the product or more (moving rows costs far less).
    ws.live.clear();
    // Branch-free test for a non-zero value (the position of the first one is random,
    // and an early exit mispredicted often enough to show in profiles).
    ws.live.extend((0..m).filter(|p| {
        ws.out[p * k..(p + 1) * k]
            .iter()
            .fold(0u32, |acc, v| acc | (v.to_bits() & 0x7fff_ffff))
            != 0
    }));
    let mut live = m;
    if 4 * ws.live.len() <= 3 * m {
        for (to, &p) in ws.live.iter().enumerate() {
            if to != p {
                ws.out.copy_within(p * k..(p + 1) * k, to * k);
                ws.outer.copy_within(p * t..(p + 1) * t, to * t);
            }
        }
        live = ws.live.len();
    }
    ws.m2.resize(k * t, 0.0);
    if live == 0 {
        ws.m2.iter_mut().for_each(|v| *v = 0.0);
    } else {
        product(
            rm_mut(&mut ws.m2, k, t),
            Accum::Replace,
            rm(&ws.out[..live * k], live, k).transpose(),
            rm(&ws.outer[..live * t], live, t),
        );
    }
    ws.m2acc.resize(k * t, 0.0);
    for (a, b) in ws.m2acc.iter_mut().zip(&ws.m2) {
        *a += *b as f64;
    }
}

/// Row stride of the shifted rows: `D` rounded up to whole 16-lane blocks plus one
/// more, so that a 16-lane window starting at any feature stays inside the row.
fn padded(d: usize) -> usize {
    d.div_ceil(16) * 16 + 16
}

/// How far below a row's own value (in nats) another component's f32 value may lie
/// and still be recomputed centred in f64: below it, its mass is under e⁻¹⁶ ≈ 1e-7 of
/// the own one, so an f32 error there moves `log p(x)` by less than 1e-7 of that error.
const EXACT_SPAN: f32 = 16.0;

/// Largest f32 error scale (nats, `AnchorPrep::err_quad`) accepted in a value that
/// carries mass; above it the value is recomputed centred in f64. A value off by `e`
/// moves `log p(x)` by at most `r·e` (`r` its responsibility), and rounding errors of
/// different rows do not add up in one direction: measured, the f32 fits stay within
/// 1e-8 of the f64 ones (`tests/f32.rs`) and within the f32 guarantee of the exact EM
/// (`tests/exactness.rs`). On the 1M×16, K = 32 benchmark this recomputes nothing in the
/// first iterations (broad, well-conditioned covariances, where 24 values per row lie
/// within `EXACT_SPAN`); the values of nearly singular components (error scale 1e-2
/// and more) are always recomputed.
const EXACT_TOLERANCE: f32 = 1e-3;

/// `‖(y + z_a − μ_c)ᵀ U_c‖²` in f64: the row's quadratic form for component `c`,
/// centred on its mean (`y = x − z_a`).
fn shifted_whitened_sq(y: &[f64], za: &[f64], mu: &[f64], u: &[f64]) -> f64 {
    let d = y.len();
    let mut q = 0.0;
    for j in 0..d {
        let mut w = 0.0;
        for i in 0..=j {
            w += (y[i] + (za[i] - mu[i])) * u[i * d + j];
        }
        q += w * w;
    }
    q
}

/// Adds row `y` (anchored at `a`) with weighted responsibility `r` to component `c`'s
/// statistics about `z_c`, in f64: mass, `r (x − z_c)` and the upper triangle of
/// `r (x − z_c)(x − z_c)ᵀ`.
fn exact_moments(
    ap: &AnchorPrep,
    st: &mut SuffStats,
    y: &[f64],
    a: usize,
    c: usize,
    r: f64,
    e: &mut Vec<f64>,
) {
    let d = ap.d;
    e.clear();
    e.extend((0..d).map(|j| y[j] + (ap.z[a * d + j] - ap.z[c * d + j])));
    st.nk[c] += r;
    for (s, v) in st.s[c * d..(c + 1) * d].iter_mut().zip(e.iter()) {
        *s += r * v;
    }
    let m2 = &mut st.m2[c * d * d..(c + 1) * d * d];
    for i in 0..d {
        let ri = r * e[i];
        for j in i..d {
            m2[i * d + j] += ri * e[j];
        }
    }
}

/// Moves the group's pair accumulators into `st` (masses, first moments and the
/// second-moment corrections, all about the anchors) and clears them.
pub(crate) fn fold(ap: &AnchorPrep, st: &mut SuffStats, ws: &mut AnchorWs) {
    let (k, d) = (ap.k, ap.d);
    if ws.nacc.len() != k * k {
        return;
    }
    if ws.m2acc.len() == k * d * (d + 1) / 2 {
        add_packed_upper(&mut st.m2, &ws.m2acc, k, d);
        ws.m2acc.iter_mut().for_each(|v| *v = 0.0);
    }
    let mut delta = std::mem::take(&mut ws.delta);
    delta.resize(d, 0.0);
    for an in 0..k {
        if !std::mem::take(&mut ws.touched[an]) {
            continue;
        }
        for c in 0..k {
            let n = std::mem::take(&mut ws.nacc[an * k + c]);
            if n == 0.0 {
                // No row of this anchor gave the component any mass (responsibilities
                // below f32's range are exactly zero), so its `c_ak` is zero too.
                continue;
            }
            let cv = &mut ws.cacc[(an * k + c) * d..(an * k + c + 1) * d];
            st.nk[c] += n;
            let s = &mut st.s[c * d..(c + 1) * d];
            if an == c {
                for (s, v) in s.iter_mut().zip(cv.iter_mut()) {
                    *s += std::mem::take(v);
                }
                continue;
            }
            for j in 0..d {
                delta[j] = ap.z[an * d + j] - ap.z[c * d + j];
                s[j] += cv[j] + n * delta[j];
            }
            // Σ r (y + δ)(y + δ)ᵀ − Σ r y yᵀ = c δᵀ + δ cᵀ + n δ δᵀ. Whole rows (the
            // entries below the diagonal are never read) so that the loop vectorises.
            let m2 = &mut st.m2[c * d * d..(c + 1) * d * d];
            for (row, (ci, di)) in m2.chunks_exact_mut(d).zip(cv.iter().zip(&delta)) {
                for (r, (cj, dj)) in row.iter_mut().zip(cv.iter().zip(&delta)) {
                    *r += ci * dj + di * (cj + n * dj);
                }
            }
            cv.iter_mut().for_each(|v| *v = 0.0);
        }
    }
    ws.delta = delta;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::{CovarianceType, Covariances};
    use crate::kernels::rowwise::{normalize_rows, weighted_log_prob, Scratch};
    use ndarray::{Array1, Array2, Array3};
    use rand::{Rng, SeedableRng};

    fn random_full(k: usize, d: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Params {
        random_full_spread(k, d, 20.0, rng)
    }

    /// Means `1e3 ± spread` (per coordinate), covariances of scale ~0.3.
    fn random_full_spread(
        k: usize,
        d: usize,
        spread: f64,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Params {
        let w: Vec<f64> = (0..k).map(|_| rng.gen_range(0.5..1.5)).collect();
        let s: f64 = w.iter().sum();
        let weights = Array1::from_iter(w.iter().map(|v| v / s));
        // Means far from the origin and far apart relative to the spread: the case
        // where moments about one common shift cancel.
        let means = Array2::from_shape_fn((k, d), |_| 1e3 + rng.gen_range(-spread..spread));
        let mut cov = Array3::zeros((k, d, d));
        for c in 0..k {
            let a = Array2::from_shape_fn((d, d), |_| rng.gen_range(-0.5..0.5));
            let mut m = a.dot(&a.t());
            for i in 0..d {
                m[[i, i]] += 0.05;
            }
            cov.index_axis_mut(ndarray::Axis(0), c).assign(&m);
        }
        Params::new(weights, means, Covariances::Full(cov), 1e-6).unwrap()
    }

    /// Runs one chunk through `chunk_body` at level `s` and `fold`.
    fn anchored_stats<S: Isa>(
        s: S,
        p: &Params,
        rows: &[f32],
        weights: &[f64],
    ) -> (SuffStats, Vec<f64>) {
        let ap = AnchorPrep::new(p);
        let m = weights.len();
        let mut st = SuffStats::new(CovarianceType::Full, p.k, p.d, &ap.z);
        let mut ln = vec![0.0; m];
        let mut ws = AnchorWs::default();
        chunk_body(s, &ap, &mut st, rows, Some(weights), &mut ln, &mut ws);
        fold(&ap, &mut st, &mut ws);
        (st, ln)
    }

    /// The anchored f32 kernel (every row-loop variant) against the f64 reference on the
    /// same f32 values: log-likelihoods and moments about the anchors, for components
    /// far apart (no mass outside a row's own component) and overlapping (means within
    /// a spread of each other: every cross term carries mass, and rows are often not
    /// anchored at their most likely component).
    #[test]
    fn anchored_kernel_matches_the_f64_reference() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (k, d, m, spread) in [
            (1, 1, 5, 20.0),
            (3, 2, 40, 20.0),
            (5, 5, 64, 20.0),
            (7, 9, 33, 20.0),
            (17, 16, 256, 20.0),
            (33, 17, 200, 20.0),
            (4, 40, 50, 20.0),
            (3, 2, 40, 0.3),
            (5, 5, 64, 0.3),
            (7, 9, 100, 0.5),
            (17, 16, 256, 0.3),
            (33, 17, 200, 0.5),
            (4, 40, 50, 0.2),
        ] {
            let p = random_full_spread(k, d, spread, &mut rng);
            let means = p.means_flat().to_vec();
            // Rows drawn around the means (each row near one component).
            let rows: Vec<f32> = (0..m)
                .flat_map(|i| {
                    let c = i % k;
                    let mu = means[c * d..(c + 1) * d].to_vec();
                    let noise: Vec<f64> = (0..d).map(|_| rng.gen_range(-0.3..0.3)).collect();
                    mu.into_iter().zip(noise).map(|(a, b)| (a + b) as f32)
                })
                .collect();
            let weights: Vec<f64> = (0..m).map(|i| [1.0, 0.5, 2.0, 0.0][i % 4]).collect();
            let rows64: Vec<f64> = rows.iter().map(|v| *v as f64).collect();
            let mut resp = vec![0.0; m * k];
            weighted_log_prob(&p, &rows64, &mut resp, &mut Scratch::default());
            let mut ln_ref = vec![0.0; m];
            normalize_rows(&mut resp, k, &mut ln_ref);
            let ap = AnchorPrep::new(&p);
            let mut reference = SuffStats::new(CovarianceType::Full, k, d, &ap.z);
            reference.accumulate(&rows64, Some(&weights), &resp, &mut Vec::new());

            let variants = simd::at_each_level!(s => anchored_stats(s, &p, &rows, &weights));
            for (name, (st, ln)) in variants {
                let what = format!("{name} k={k} d={d} spread={spread}");
                for (a, b) in ln.iter().zip(&ln_ref) {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "{what} log p: {a} vs {b}"
                    );
                }
                let close = |x: &[f64], y: &[f64], tol: f64, part: &str| {
                    let scale = y.iter().fold(1e-3f64, |a, v| a.max(v.abs()));
                    for (u, v) in x.iter().zip(y) {
                        assert!((u - v).abs() <= tol * scale, "{what} {part}: {u} vs {v}");
                    }
                };
                close(&st.nk, &reference.nk, 1e-5, "nk");
                close(&st.s, &reference.s, 1e-4, "s");
                let upper = |v: &[f64]| -> Vec<f64> {
                    v.chunks(d * d)
                        .flat_map(|b| (0..d).flat_map(move |i| (i..d).map(move |j| b[i * d + j])))
                        .collect()
                };
                close(&upper(&st.m2), &upper(&reference.m2), 1e-4, "m2");
                assert_eq!(st.wsum, reference.wsum, "{what} wsum");
            }
        }
    }

    /// A row whose densities overflow f32 yields a non-finite log-likelihood (the pass is
    /// then redone in f64), never a panic or a silently wrong value.
    #[test]
    fn f32_overflow_is_reported_as_non_finite() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let p = random_full(3, 6, &mut rng);
        let mut rows = vec![1000.0f32; 2 * 6];
        rows[6] = 3e19; // squares overflow f32

        for (name, (_, ln)) in simd::at_each_level!(s => anchored_stats(s, &p, &rows, &[1.0, 1.0]))
        {
            assert!(ln[0].is_finite() && !ln[1].is_finite(), "{name}: {ln:?}");
        }
    }
}
