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
//! - diag / spherical: the expanded form, two GEMMs for all components at once.
//!
//! Expanded forms cancel: about a shift `c`, a component `ρ` spreads away from `c`
//! (`ρ = ‖(c − μ_k)ᵀU_k‖`) loses `ε·ρ²` relatively, in the log-densities and in the
//! moments moved to the new means. So the products run per [`Group`] of components
//! sharing a shift: one group about `c₀ = Σ w_k μ_k` when every component lies within
//! [`SHIFT_RADIUS_F64`] of it (the usual case: one set of products, as fast as ever), else
//! greedy groups around member means, the rows shifted once per group. Each component's
//! moments are kept about its group's shift (`Prepared::shift`) and moved to the new mean
//! by the M-step (`stats`). Diag and spherical products run in the data's precision (f32
//! data: f32 products, about twice as fast, with the tighter [`SHIFT_RADIUS_F32`] and
//! f32-exact shifts); each chunk's products cover at most `CHUNK_ROWS` rows and are added
//! to f64 statistics, and the additive constants are applied in f64. f32 products that
//! overflow are redone in f64 (per chunk for log-densities, per pass for statistics:
//! `em::e_pass`). Full covariances on f32 data have their own kernel (`anchored`) where it
//! pays; tied covariances on f32 data are converted to f64 a chunk at a time.
//!
//! Very small `D` does not pay for products: `small` handles it. All GEMMs run
//! sequentially inside a chunk (`Par::Seq`): parallelism is over chunks, so results do
//! not depend on the thread count.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::rowwise::{sum_sq_diff, LN_2PI};
use crate::covariance::CovarianceType;
use crate::data::Rows;
use crate::params::Params;
use crate::stats::SuffStats;

/// The two precisions the products run in.
pub(crate) trait Real:
    faer::traits::ComplexField
    + Copy
    + Default
    + Send
    + Sync
    + 'static
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + crate::simd::Elem
{
    fn of(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn coeffs(g: &Group) -> &Coeffs<Self>;
    /// This precision's buffers, and those of the direct path.
    fn ws(w: &mut ProductsWs) -> (&mut TypedWs<Self>, &mut DirectWs);
}

impl Real for f64 {
    #[inline(always)]
    fn of(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    fn coeffs(g: &Group) -> &Coeffs<Self> {
        &g.c64
    }
    fn ws(w: &mut ProductsWs) -> (&mut TypedWs<Self>, &mut DirectWs) {
        (&mut w.w64, &mut w.direct)
    }
}

impl Real for f32 {
    #[inline(always)]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn coeffs(g: &Group) -> &Coeffs<Self> {
        &g.c32
    }
    fn ws(w: &mut ProductsWs) -> (&mut TypedWs<Self>, &mut DirectWs) {
        (&mut w.w32, &mut w.direct)
    }
}

/// The per-pass coefficients of the products for one group of components, in one
/// precision (rows of `a` and `b` follow the group's member order).
#[derive(Default)]
pub(crate) struct Coeffs<T> {
    /// The group's shift `c`.
    c0: Vec<T>,
    /// full: packed `−½ Λ_k (2 − δ)` (`K_g × D(D+1)/2`); tied: `b_k = (μ_k − c) U`;
    /// diag: `−½/σ²` (`K_g×D`).
    a: Vec<T>,
    /// full: `Λ_k (μ_k − c)`; diag/spherical: `(μ_k − c)/σ²` (`K_g×D`).
    b: Vec<T>,
    /// tied: the precision factor `U`.
    u: Vec<T>,
}

impl Coeffs<f64> {
    fn to_f32(&self) -> Coeffs<f32> {
        let c = |v: &Vec<f64>| v.iter().map(|x| *x as f32).collect();
        Coeffs {
            c0: c(&self.c0),
            a: c(&self.a),
            b: c(&self.b),
            u: c(&self.u),
        }
    }
}

/// Largest distance from a group's shift to a member's mean, in the member's own metric
/// (`‖(c − μ_k)ᵀ U_k‖`, i.e. in units of its spread), for f64 products. Every expanded
/// term of a row that matters to component `k` is then at most about
/// `(‖(x − μ_k)ᵀU_k‖ + ρ)²`, so the expansion loses at most `ε·ρ²`: `2.2e-16 · 1024² ≈
/// 2.3e-10` nats on a row's log-density and relatively on the moments moved to the new
/// means, below the 1e-9 (lower bound) and 1e-8 (covariances) that the fixtures and
/// `tests/exactness.rs` hold us to. (A wider radius keeps more components in the one
/// group about c₀: on the 1M×16, K = 32 benchmark, 29 of 32 at 1024, 26 at 256; the
/// others are nearly singular, 1e3–1e4 spreads from c₀ in their thin direction.)
pub(crate) const SHIFT_RADIUS_F64: f64 = 1024.0;
/// The same for f32 products (`ε = 6e-8`): `6e-8 · 64² ≈ 2.4e-4` nats on a row's
/// quadratic form at worst, inside the f32 accuracy `tests/exactness.rs` asserts (1e-5
/// on the lower bound, 1e-3 on parameters; rounding errors of different rows do not add
/// up in one direction). The 1M×64, K = 64 diag benchmark has its centres up to 35
/// spreads from c₀: at 32, seven of them formed groups of their own (1.65× slower).
pub(crate) const SHIFT_RADIUS_F32: f64 = 64.0;

/// Components whose products share one shift `c`: those whose means lie within the
/// radius of their weighted mean `c₀` (usually all of them: one set of products), then
/// greedy groups around the other members' means. Rows are shifted once per group. A
/// full-covariance component alone in its group is computed directly, centred on its
/// mean (`‖(x − μ)ᵀU‖²`: a triangular product per row, cheaper than the packed outer
/// products a group needs).
pub(crate) struct Group {
    /// Member components, ascending.
    comps: Vec<usize>,
    /// Full covariance, one member: the direct centred path (`c64.u` holds its factor).
    direct: bool,
    c64: Coeffs<f64>,
    c32: Coeffs<f32>,
    /// Per member: `ln w_k − ½D ln 2π + log det U_k` (− ½ the constant term of the
    /// expanded quadratic form for full, diag and spherical).
    konst: Vec<f64>,
    /// spherical, per member: `−½ p_k²`.
    neg_half_p2: Vec<f64>,
}

impl Group {
    /// Whether the group holds every component (so member `i` is component `i`).
    #[inline(always)]
    fn is_all(&self, k: usize) -> bool {
        self.comps.len() == k
    }
}

/// The product kernels' per-pass constants: component groups and their coefficients.
pub(crate) struct Products {
    pub kind: CovarianceType,
    pub k: usize,
    pub d: usize,
    /// f32 rows get f32 products (diag and spherical); shifts are then f32 values.
    f32: bool,
    /// The component groups, each with its shift and coefficients.
    groups: Vec<Group>,
    /// Unique per pass: keys the workspace's cached products of a chunk.
    id: u64,
}

impl Products {
    /// The products for parameters `p`, in f32 for `f32_data` where the covariance
    /// type allows it; writes each component's moment shift (its group's) into `shift`.
    pub fn new(p: &Params, f32_data: bool, shift: &mut [f64]) -> Self {
        let (k, d) = (p.k, p.d);
        let kind = p.kind();
        let f32 = f32_data && f32_products(kind);
        let means = p.means_flat();
        // c₀ = Σ w_k μ_k: inside the data's range; one group about it when every
        // component is near enough. Summed as μ₀ + Σ w_k (μ_k − μ₀), so equal means
        // give exactly their value (weights summing to 1 ± ε would otherwise move a
        // mean at 1e171 by 1e155, and its squares overflow).
        let mut c0 = means[..d].to_vec();
        for c in 0..k {
            for j in 0..d {
                c0[j] += p.weights[c] * (means[c * d + j] - means[j]);
            }
        }
        let mut groups = Vec::new();
        for (s, comps) in group_components(p, &c0, f32) {
            for &c in &comps {
                shift[c * d..(c + 1) * d].copy_from_slice(&s);
            }
            groups.push(Group::new(p, comps, s, f32));
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Products {
            kind,
            k,
            d,
            f32,
            groups,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Whether these products run in f32 (on f32 rows).
    pub fn computes_in_f32(&self) -> bool {
        self.f32
    }

    /// Number of product groups (1 in the common case; tests look at it).
    #[cfg(test)]
    pub fn n_groups(&self) -> usize {
        self.groups.len()
    }
}

/// `‖(v − μ_c)ᵀ U_c‖²`: the squared distance from `v` to component `c`'s mean in units
/// of its spread.
pub(crate) fn whitened_sq(p: &Params, c: usize, v: &[f64]) -> f64 {
    let d = p.d;
    let mu = &p.means_flat()[c * d..(c + 1) * d];
    let f = &p.prec.factors;
    match p.kind() {
        CovarianceType::Full | CovarianceType::Tied => {
            let u = if p.kind() == CovarianceType::Full {
                &f[c * d * d..(c + 1) * d * d]
            } else {
                &f[..d * d]
            };
            (0..d)
                .map(|j| {
                    let y: f64 = (0..=j).map(|i| (v[i] - mu[i]) * u[i * d + j]).sum();
                    y * y
                })
                .sum()
        }
        CovarianceType::Diag => (0..d)
            .map(|j| ((v[j] - mu[j]) * f[c * d + j]).powi(2))
            .sum(),
        CovarianceType::Spherical => {
            f[c] * f[c] * (0..d).map(|j| (v[j] - mu[j]).powi(2)).sum::<f64>()
        }
    }
}

/// The shifts and members of the product groups (see [`Group`]). With `f32`, shifts
/// are rounded to f32 first, so the f32 rows are shifted by exactly the value the f64
/// coefficients assume (no rounding bias).
fn group_components(p: &Params, c0: &[f64], f32: bool) -> Vec<(Vec<f64>, Vec<usize>)> {
    let (k, d) = (p.k, p.d);
    let radius = if f32 {
        SHIFT_RADIUS_F32
    } else {
        SHIFT_RADIUS_F64
    };
    let r2 = radius * radius;
    let round = |v: &[f64]| -> Vec<f64> {
        if f32 {
            v.iter().map(|x| *x as f32 as f64).collect()
        } else {
            v.to_vec()
        }
    };
    let s0 = round(c0);
    let (near, far): (Vec<usize>, Vec<usize>) = (0..k).partition(|&c| whitened_sq(p, c, &s0) <= r2);
    let means = p.means_flat();
    let mut groups: Vec<(Vec<f64>, Vec<usize>)> = Vec::new();
    if !near.is_empty() {
        groups.push((s0, near));
    }
    let first_far = groups.len();
    for c in far {
        let own = || (round(&means[c * d..(c + 1) * d]), vec![c]);
        if p.kind() == CovarianceType::Full {
            // Each far full component alone, computed directly (`Group::direct`): as
            // cheap as a group's packed outer products for one or two members, and
            // it leaves the products' held rows to the group about c₀.
            groups.push(own());
            continue;
        }
        match groups[first_far..]
            .iter_mut()
            .find(|(s, _)| whitened_sq(p, c, s) <= r2)
        {
            Some(g) => g.1.push(c),
            None => groups.push(own()),
        }
    }
    groups
}

impl Group {
    /// The coefficients of members `comps` about `shift`.
    fn new(p: &Params, comps: Vec<usize>, shift: Vec<f64>, f32: bool) -> Self {
        let d = p.d;
        let kg = comps.len();
        let means = p.means_flat();
        let f = &p.prec.factors;
        let base = -0.5 * d as f64 * LN_2PI;
        let mut konst: Vec<f64> = comps
            .iter()
            .map(|&c| p.log_weights[c] + base + p.prec.log_det[c])
            .collect();
        let c0 = shift;
        let (mut a, mut b, mut u, mut neg_half_p2) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // A lone full component about its own mean: centred directly (no expansion).
        let direct = p.kind() == CovarianceType::Full
            && kg == 1
            && c0.as_slice() == &means[comps[0] * d..(comps[0] + 1) * d];
        match p.kind() {
            CovarianceType::Full if direct => {
                u = f[comps[0] * d * d..(comps[0] + 1) * d * d].to_vec();
            }
            CovarianceType::Full => {
                // With Λ_k = U_k U_kᵀ and Xc = X − c, μc = μ_k − c:
                // ln p = konst − ½ Σ_{a≤b} P[ab] Λ_ab (2 − δ_ab) + Xc·(Λ μc) − ½ μcᵀΛμc.
                let t = d * (d + 1) / 2;
                a = vec![0.0; kg * t];
                b = vec![0.0; kg * d];
                let mut lam = vec![0.0; d * d];
                for (g, &c) in comps.iter().enumerate() {
                    precision_matrix(&f[c * d * d..(c + 1) * d * d], d, &mut lam);
                    packed_quadratic(&lam, d, &mut a[g * t..(g + 1) * t]);
                    let mc: Vec<f64> = (0..d).map(|i| means[c * d + i] - c0[i]).collect();
                    let mut quad = 0.0;
                    for i in 0..d {
                        let gi: f64 = (0..d).map(|j| lam[i * d + j] * mc[j]).sum();
                        b[g * d + i] = gi;
                        quad += gi * mc[i];
                    }
                    konst[g] -= 0.5 * quad;
                }
            }
            CovarianceType::Tied => {
                // b_k = (μ_k − c) U
                u = f[..d * d].to_vec();
                a = vec![0.0; kg * d];
                for (g, &c) in comps.iter().enumerate() {
                    for i in 0..d {
                        let dm = means[c * d + i] - c0[i];
                        for j in i..d {
                            a[g * d + j] += dm * f[i * d + j];
                        }
                    }
                }
            }
            CovarianceType::Diag => {
                a = vec![0.0; kg * d];
                b = vec![0.0; kg * d];
                for (g, &c) in comps.iter().enumerate() {
                    let mut cst = 0.0;
                    for j in 0..d {
                        let prec = f[c * d + j] * f[c * d + j];
                        let dm = means[c * d + j] - c0[j];
                        a[g * d + j] = -0.5 * prec;
                        b[g * d + j] = dm * prec;
                        cst += dm * dm * prec;
                    }
                    konst[g] -= 0.5 * cst;
                }
            }
            CovarianceType::Spherical => {
                b = vec![0.0; kg * d];
                neg_half_p2 = vec![0.0; kg];
                for (g, &c) in comps.iter().enumerate() {
                    let prec = f[c] * f[c];
                    let mut cst = 0.0;
                    for j in 0..d {
                        let dm = means[c * d + j] - c0[j];
                        b[g * d + j] = dm * prec;
                        cst += dm * dm;
                    }
                    neg_half_p2[g] = -0.5 * prec;
                    konst[g] -= 0.5 * prec * cst;
                }
            }
        }
        let c64 = Coeffs { c0, a, b, u };
        let c32 = if f32 { c64.to_f32() } else { Coeffs::default() };
        Group {
            comps,
            direct,
            c64,
            c32,
            konst,
            neg_half_p2,
        }
    }
}

/// `Λ = U Uᵀ` (full `d×d`) from an upper-triangular precision factor `U`.
pub(crate) fn precision_matrix(u: &[f64], d: usize, lam: &mut [f64]) {
    for i in 0..d {
        for j in i..d {
            // (U Uᵀ)_ij = Σ_l U_il U_jl, U upper: l ≥ max(i, j) = j.
            let v: f64 = (j..d).map(|l| u[i * d + l] * u[j * d + l]).sum();
            lam[i * d + j] = v;
            lam[j * d + i] = v;
        }
    }
}

/// The coefficients of `−½ xᵀΛx` over the packed outer product of `x`:
/// `−½ Λ_ii` on the diagonal, `−Λ_ij` above it (each off-diagonal pair appears once).
pub(crate) fn packed_quadratic(lam: &[f64], d: usize, out: &mut [f64]) {
    let mut idx = 0;
    for i in 0..d {
        for j in i..d {
            out[idx] = if i == j {
                -0.5 * lam[i * d + j]
            } else {
                -lam[i * d + j]
            };
            idx += 1;
        }
    }
}

/// Adds packed per-component moments (`K × D(D+1)/2`, product output) to the upper
/// triangles of the f64 statistic `m2` (`K×D×D`).
#[inline(always)]
pub(crate) fn add_packed_upper<T: Real>(m2: &mut [f64], packed: &[T], k: usize, d: usize) {
    let t = d * (d + 1) / 2;
    for c in 0..k {
        let pk = &packed[c * t..(c + 1) * t];
        let m2 = &mut m2[c * d * d..(c + 1) * d * d];
        let mut idx = 0;
        for i in 0..d {
            for j in i..d {
                m2[i * d + j] += pk[idx].to_f64();
                idx += 1;
            }
        }
    }
}

/// [`add_packed_upper`] for the members `comps` of a group (packed rows in member order).
#[inline(always)]
fn add_packed_upper_of<T: Real>(m2: &mut [f64], packed: &[T], comps: &[usize], d: usize) {
    let t = d * (d + 1) / 2;
    for (g, &c) in comps.iter().enumerate() {
        let pk = &packed[g * t..(g + 1) * t];
        let m2 = &mut m2[c * d * d..(c + 1) * d * d];
        let mut idx = 0;
        for i in 0..d {
            for j in i..d {
                m2[i * d + j] += pk[idx].to_f64();
                idx += 1;
            }
        }
    }
}

/// Reusable per-worker buffers, one set per precision.
#[derive(Default)]
pub(crate) struct ProductsWs {
    /// The direct path of lone full components.
    direct: DirectWs,
    w64: TypedWs<f64>,
    w32: TypedWs<f32>,
    /// f32 rows converted for f64 products.
    conv: Vec<f64>,
}

#[derive(Default)]
pub(crate) struct TypedWs<T> {
    /// `m×D`: rows minus the shift.
    xc: Vec<T>,
    /// `m×D`: squares or weighted rows; or `m×D` transformed rows (tied).
    tmp: Vec<T>,
    /// `m×K`: weighted responsibilities.
    rw: Vec<T>,
    /// `m × D(D+1)/2`: packed outer products of the shifted rows.
    outer: Vec<T>,
    /// Product outputs before they are added to f64: `m×K` log-densities or moments.
    out: Vec<T>,
    out2: Vec<T>,
    /// One transformed row in f64 (tied).
    row: Vec<f64>,
    /// `(pass id, group, rows address, rows length)` whose `xc` and `outer` are held: the
    /// M-step of a chunk reuses what its E-step built.
    held: Option<(u64, usize, usize, usize)>,
}

impl<T: Real> TypedWs<T> {
    /// Fills `xc` (and `outer` for full) for these rows; with `reuse`, keeps what is
    /// held for the same pass and rows. Only the M-step reuses: it always follows its
    /// chunk's E-step, which always rebuilds (f32 chunks converted into one reused
    /// buffer share an address, so the address alone does not identify a chunk).
    #[inline(always)]
    fn shifted(
        &mut self,
        prep: &Products,
        group: usize,
        rows: &[T],
        c0: &[T],
        with_outer: bool,
        reuse: bool,
    ) {
        let key = (prep.id, group, rows.as_ptr() as usize, rows.len());
        if reuse && with_outer && self.held == Some(key) {
            return;
        }
        centre(&mut self.xc, rows, c0);
        if with_outer {
            crate::simd::packed_outer_rows(&mut self.outer, &mut self.xc, prep.d);
            self.held = Some(key);
        } else {
            self.held = None;
        }
    }
}

/// `dst ← (or +=) lhs · rhs`, sequentially: the parallelism is over chunks.
#[inline(always)]
pub(crate) fn product<T: Real>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) {
    matmul(dst, accum, lhs, rhs, T::of(1.0), Par::Seq);
}

pub(crate) fn rm<T>(s: &[T], r: usize, c: usize) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(s, r, c)
}

pub(crate) fn rm_mut<T>(s: &mut [T], r: usize, c: usize) -> MatMut<'_, T> {
    MatMut::from_row_major_slice_mut(s, r, c)
}

/// `dst ← rows − shift` (row-wise).
#[inline(always)]
pub(crate) fn centre<T: Real>(dst: &mut Vec<T>, rows: &[T], shift: &[T]) {
    let d = shift.len();
    dst.resize(rows.len(), T::default());
    for (o, x) in dst.chunks_exact_mut(d).zip(rows.chunks_exact(d)) {
        for j in 0..d {
            o[j] = x[j] - shift[j];
        }
    }
}

/// `out (m×K) ← ln w_k + log N(x_i | μ_k, Σ_k)` with products (requires `prep.gemm`).
/// f32 products whose output overflows are redone on the rows converted to f64.
pub(crate) fn log_prob(prep: &Products, rows: Rows, out: &mut [f64], ws: &mut ProductsWs) {
    if let Rows::F32(r) = rows {
        if prep.f32 {
            log_prob_t::<f32>(prep, r, out, ws);
            if out.iter().all(|v| v.is_finite()) {
                return;
            }
        }
    }
    let mut conv = std::mem::take(&mut ws.conv);
    log_prob_t::<f64>(prep, rows.as_f64(&mut conv), out, ws);
    ws.conv = conv;
}

/// Whether f32 data gets f32 products here. Not for full and tied: their moments cancel
/// more in f32 (a product group's spread enters squared), and an ill-conditioned 16-D
/// fit lost positive definiteness. Their f32 data is converted to f64 a chunk at a time
/// (memory stays halved); full covariances get f32 speed from the anchored kernel
/// (`anchored`) instead.
fn f32_products(kind: CovarianceType) -> bool {
    matches!(kind, CovarianceType::Diag | CovarianceType::Spherical)
}

crate::simd::multiversion! {
    /// [`log_prob_body`] compiled for the CPU's instruction set (the loops around the
    /// products then vectorise 8- or 4-wide).
    fn log_prob_t<T: Real>(prep: &Products, rows: &[T], out: &mut [f64], ws: &mut ProductsWs) {
        _ => log_prob_body::<T>(prep, rows, out, ws)
    }
}

#[inline(always)]
fn log_prob_body<T: Real>(prep: &Products, rows: &[T], out: &mut [f64], ws: &mut ProductsWs) {
    let (k, d) = (prep.k, prep.d);
    let m = rows.len() / d;
    let (w, direct) = T::ws(ws);
    for (gi, g) in prep.groups.iter().enumerate() {
        if g.direct {
            direct_log_prob(g, rows, out, k, direct);
            continue;
        }
        let cf = T::coeffs(g);
        let kg = g.comps.len();
        w.shifted(
            prep,
            gi,
            rows,
            &cf.c0,
            prep.kind == CovarianceType::Full,
            false,
        );
        w.out.resize(m * kg, T::default());
        match prep.kind {
            CovarianceType::Full => {
                // out = P Aᵀ + Xc Bᵀ (+ konst below): two products for the group.
                let t = d * (d + 1) / 2;
                expanded(
                    &mut w.out,
                    rm(&w.outer, m, t),
                    &cf.a,
                    rm(&w.xc, m, d),
                    &cf.b,
                );
                add_konst(out, &w.out, g, k);
            }
            CovarianceType::Tied => {
                // The quadratic form in f64 from the product's rows: it is a difference.
                w.tmp.resize(m * d, T::default());
                product(
                    rm_mut(&mut w.tmp, m, d),
                    Accum::Replace,
                    rm(&w.xc, m, d),
                    rm(&cf.u, d, d),
                );
                let b64 = &g.c64.a;
                let y = &mut w.row;
                y.resize(d, 0.0);
                for (i, yt) in w.tmp.chunks_exact(d).enumerate() {
                    for (a, v) in y.iter_mut().zip(yt) {
                        *a = v.to_f64();
                    }
                    for (gc, &c) in g.comps.iter().enumerate() {
                        let q = sum_sq_diff(y, &b64[gc * d..(gc + 1) * d]);
                        out[i * k + c] = g.konst[gc] - 0.5 * q;
                    }
                }
            }
            CovarianceType::Diag => {
                // out = Xc² (−½P)ᵀ + Xc ((μ−c)P)ᵀ + konst
                w.tmp.clear();
                w.tmp.extend(w.xc.iter().map(|v| *v * *v));
                expanded(&mut w.out, rm(&w.tmp, m, d), &cf.a, rm(&w.xc, m, d), &cf.b);
                add_konst(out, &w.out, g, k);
            }
            CovarianceType::Spherical => {
                product(
                    rm_mut(&mut w.out, m, kg),
                    Accum::Replace,
                    rm(&w.xc, m, d),
                    rm(&cf.b, kg, d).transpose(),
                );
                for (i, (x, o)) in w.xc.chunks_exact(d).zip(w.out.chunks_exact(kg)).enumerate() {
                    let sq: f64 = x.iter().map(|v| v.to_f64() * v.to_f64()).sum();
                    let row = &mut out[i * k..(i + 1) * k];
                    if g.is_all(k) {
                        // Member i is component i: a plain loop that vectorises.
                        for (((r, o), kc), h) in
                            row.iter_mut().zip(o).zip(&g.konst).zip(&g.neg_half_p2)
                        {
                            *r = o.to_f64() + kc + h * sq;
                        }
                        continue;
                    }
                    for (gc, &c) in g.comps.iter().enumerate() {
                        row[c] = o[gc].to_f64() + g.konst[gc] + g.neg_half_p2[gc] * sq;
                    }
                }
            }
        }
    }
}

/// A lone full-covariance component, centred on its mean: `Y = (X − μ) U` in one
/// product, then `konst − ½‖y_i‖²` per row.
#[inline(always)]
fn direct_log_prob<T: Real>(g: &Group, rows: &[T], out: &mut [f64], k: usize, w: &mut DirectWs) {
    let (c, mu, u) = (g.comps[0], &g.c64.c0, &g.c64.u);
    let d = mu.len();
    let m = rows.len() / d;
    w.centre(rows, mu);
    w.y.resize(m * d, 0.0);
    product(
        rm_mut(&mut w.y, m, d),
        Accum::Replace,
        rm(&w.xc, m, d),
        rm(u, d, d),
    );
    for (i, y) in w.y.chunks_exact(d).enumerate() {
        out[i * k + c] = g.konst[0] - 0.5 * y.iter().map(|v| v * v).sum::<f64>();
    }
}

/// The moments of a lone full-covariance component about its mean, in f64 products:
/// `s += Σ r (x − μ)`, `M2 += (X − μ)ᵀ diag(r) (X − μ)` over the rows with mass for it
/// (a component far from the others — usually nearly singular — has none in most rows:
/// their responsibilities underflow to exactly 0).
#[inline(always)]
fn direct_accumulate<T: Real>(
    g: &Group,
    st: &mut SuffStats,
    rows: &[T],
    weights: Option<&[f64]>,
    resp: &[f64],
    k: usize,
    w: &mut DirectWs,
) {
    let (c, mu) = (g.comps[0], &g.c64.c0);
    let d = mu.len();
    let m = rows.len() / d;
    w.xc.resize(m * d, 0.0);
    w.y.resize(m * d, 0.0);
    let s = &mut st.s[c * d..(c + 1) * d];
    let mut live = 0;
    for (i, x) in rows.chunks_exact(d).enumerate() {
        let r = resp[i * k + c] * weights.map_or(1.0, |w| w[i]);
        if r == 0.0 {
            continue;
        }
        let (xc, y) = (
            &mut w.xc[live * d..(live + 1) * d],
            &mut w.y[live * d..(live + 1) * d],
        );
        for ((((o, q), v), m), s) in xc
            .iter_mut()
            .zip(y.iter_mut())
            .zip(x)
            .zip(mu)
            .zip(s.iter_mut())
        {
            let e = v.to_f64() - m;
            *o = e;
            *q = r * e;
            *s += r * e;
        }
        live += 1;
    }
    if live == 0 {
        return;
    }
    w.m2.resize(d * d, 0.0);
    product(
        rm_mut(&mut w.m2, d, d),
        Accum::Replace,
        rm(&w.y[..live * d], live, d).transpose(),
        rm(&w.xc[..live * d], live, d),
    );
    for (dst, v) in st.m2[c * d * d..(c + 1) * d * d].iter_mut().zip(&w.m2) {
        *dst += v;
    }
}

/// Buffers of the direct path (f64 whatever the data).
#[derive(Default)]
pub(crate) struct DirectWs {
    xc: Vec<f64>,
    y: Vec<f64>,
    m2: Vec<f64>,
}

impl DirectWs {
    #[inline(always)]
    fn centre<T: Real>(&mut self, rows: &[T], mu: &[f64]) {
        let d = mu.len();
        self.xc.resize(rows.len(), 0.0);
        for (o, x) in self.xc.chunks_exact_mut(d).zip(rows.chunks_exact(d)) {
            for j in 0..d {
                o[j] = x[j].to_f64() - mu[j];
            }
        }
    }
}

/// `out (m×K) ← sq · aᵀ + x · bᵀ`: the expanded quadratic and linear terms of a group's
/// log-densities (`a`: K_g × sq's columns, `b`: K_g × D, row-major).
#[inline(always)]
fn expanded<T: Real>(out: &mut [T], sq: MatRef<'_, T>, a: &[T], x: MatRef<'_, T>, b: &[T]) {
    let (m, k) = (sq.nrows(), a.len() / sq.ncols().max(1));
    product(
        rm_mut(out, m, k),
        Accum::Replace,
        sq,
        rm(a, k, sq.ncols()).transpose(),
    );
    product(
        rm_mut(out, m, k),
        Accum::Add,
        x,
        rm(b, k, x.ncols()).transpose(),
    );
}

/// `out[:, comps] ← o (as f64) + konst`: the large constants are added in f64.
#[inline(always)]
fn add_konst<T: Real>(out: &mut [f64], o: &[T], g: &Group, k: usize) {
    let kg = g.comps.len();
    if g.is_all(k) {
        for (row, src) in out.chunks_exact_mut(k).zip(o.chunks_exact(k)) {
            for ((v, s), kc) in row.iter_mut().zip(src).zip(&g.konst) {
                *v = s.to_f64() + kc;
            }
        }
        return;
    }
    for (row, src) in out.chunks_exact_mut(k).zip(o.chunks_exact(kg)) {
        for ((&c, s), kc) in g.comps.iter().zip(src).zip(&g.konst) {
            row[c] = s.to_f64() + kc;
        }
    }
}

/// Adds the group's product output `o` (`K_g` rows of `width`) to the rows of its
/// members in the f64 statistic `dst` (`K` rows of `width`).
#[inline(always)]
fn add_rows<T: Real>(dst: &mut [f64], o: &[T], g: &Group, width: usize) {
    for (&c, src) in g.comps.iter().zip(o.chunks_exact(width)) {
        for (d, s) in dst[c * width..(c + 1) * width].iter_mut().zip(src) {
            *d += s.to_f64();
        }
    }
}

/// Adds a chunk's moments about `prep.shift` to `st` with products.
pub(crate) fn accumulate(
    prep: &Products,
    st: &mut SuffStats,
    rows: Rows,
    weights: Option<&[f64]>,
    resp: &[f64],
    ws: &mut ProductsWs,
) {
    match rows {
        Rows::F32(r) if prep.f32 => accumulate_t::<f32>(prep, st, r, weights, resp, ws),
        _ => {
            let mut conv = std::mem::take(&mut ws.conv);
            accumulate_t::<f64>(prep, st, rows.as_f64(&mut conv), weights, resp, ws);
            ws.conv = conv;
        }
    }
}

crate::simd::multiversion! {
    /// [`accumulate_body`] compiled for the CPU's instruction set.
    fn accumulate_t<T: Real>(
        prep: &Products,
        st: &mut SuffStats,
        rows: &[T],
        weights: Option<&[f64]>,
        resp: &[f64],
        ws: &mut ProductsWs,
    ) {
        _ => accumulate_body::<T>(prep, st, rows, weights, resp, ws)
    }
}

#[inline(always)]
fn accumulate_body<T: Real>(
    prep: &Products,
    st: &mut SuffStats,
    rows: &[T],
    weights: Option<&[f64]>,
    resp: &[f64],
    ws: &mut ProductsWs,
) {
    let (k, d) = (prep.k, prep.d);
    let m = rows.len() / d;
    let (w, direct) = T::ws(ws);
    // Masses in f64 from the f64 responsibilities; with one group of all components
    // (the usual case) the products' weighted responsibilities in the same sweep.
    let single = matches!(prep.groups.as_slice(), [g] if g.is_all(k) && !g.direct);
    w.rw.clear();
    match weights {
        Some(wt) => {
            for (row, wi) in resp.chunks_exact(k).zip(wt) {
                for (n, r) in st.nk.iter_mut().zip(row) {
                    *n += r * wi;
                }
                if single {
                    w.rw.extend(row.iter().map(|r| T::of(r * wi)));
                }
            }
            st.wsum += wt.iter().sum::<f64>();
        }
        None => {
            for row in resp.chunks_exact(k) {
                for (n, r) in st.nk.iter_mut().zip(row) {
                    *n += r;
                }
            }
            if single {
                w.rw.extend(resp.iter().map(|r| T::of(*r)));
            }
            st.wsum += m as f64;
        }
    }
    for (gi, g) in prep.groups.iter().enumerate() {
        if g.direct {
            direct_accumulate(g, st, rows, weights, resp, k, direct);
            continue;
        }
        let cf = T::coeffs(g);
        let kg = g.comps.len();
        // The group's weighted responsibilities, in T for the products.
        if single {
            // Built with the masses above.
        } else if g.is_all(k) {
            w.rw.clear();
            match weights {
                Some(wt) => {
                    for (row, wi) in resp.chunks_exact(k).zip(wt) {
                        w.rw.extend(row.iter().map(|r| T::of(r * wi)));
                    }
                }
                None => w.rw.extend(resp.iter().map(|r| T::of(*r))),
            }
        } else {
            w.rw.clear();
            for (i, row) in resp.chunks_exact(k).enumerate() {
                let wi = weights.map_or(1.0, |w| w[i]);
                w.rw.extend(g.comps.iter().map(|&c| T::of(row[c] * wi)));
            }
        }
        w.shifted(
            prep,
            gi,
            rows,
            &cf.c0,
            prep.kind == CovarianceType::Full,
            true,
        );
        // s_k += Rwᵀ Xc
        w.out.resize(kg * d, T::default());
        product(
            rm_mut(&mut w.out, kg, d),
            Accum::Replace,
            rm(&w.rw, m, kg).transpose(),
            rm(&w.xc, m, d),
        );
        add_rows(&mut st.s, &w.out, g, d);
        match prep.kind {
            CovarianceType::Full => {
                // Packed moments (K_g × T) = Rwᵀ P (P held from this chunk's E-step).
                let t = d * (d + 1) / 2;
                w.out2.resize(kg * t, T::default());
                product(
                    rm_mut(&mut w.out2, kg, t),
                    Accum::Replace,
                    rm(&w.rw, m, kg).transpose(),
                    rm(&w.outer, m, t),
                );
                add_packed_upper_of(&mut st.m2, &w.out2, &g.comps, d);
            }
            CovarianceType::Tied => {
                // Pooled over the group's members: row weights w_i Σ_{k∈g} r_ik, which
                // is just w_i for a group of all components (Σ_k r_ik = 1).
                w.tmp.resize(m * d, T::default());
                for (i, (t, x)) in w
                    .tmp
                    .chunks_exact_mut(d)
                    .zip(w.xc.chunks_exact(d))
                    .enumerate()
                {
                    let wi = weights.map_or(1.0, |w| w[i]);
                    let mass = if g.is_all(k) {
                        wi
                    } else {
                        wi * g.comps.iter().map(|&c| resp[i * k + c]).sum::<f64>()
                    };
                    let wi = T::of(mass);
                    for j in 0..d {
                        t[j] = wi * x[j];
                    }
                }
                w.out2.resize(d * d, T::default());
                product(
                    rm_mut(&mut w.out2, d, d),
                    Accum::Replace,
                    rm(&w.tmp, m, d).transpose(),
                    rm(&w.xc, m, d),
                );
                for (dst, s) in st.m2.iter_mut().zip(&w.out2) {
                    *dst += s.to_f64();
                }
            }
            CovarianceType::Diag | CovarianceType::Spherical => {
                w.tmp.clear();
                w.tmp.extend(w.xc.iter().map(|v| *v * *v));
                w.out2.resize(kg * d, T::default());
                product(
                    rm_mut(&mut w.out2, kg, d),
                    Accum::Replace,
                    rm(&w.rw, m, kg).transpose(),
                    rm(&w.tmp, m, d),
                );
                add_rows(&mut st.m2, &w.out2, g, d);
            }
        }
    }
}
