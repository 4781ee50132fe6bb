//! Kernels: what one chunk of rows costs. Each computes, for a chunk, the weighted
//! log-densities `ln w_k + log N(x_i | μ_k, Σ_k)` and adds the chunk's sufficient
//! statistics (masses, first and second moments) to a [`SuffStats`]. This module is the
//! one place that decides which implementation runs ([`Prepared::choose`], from the
//! covariance type, `D`, `K`, the data's precision and the CPU); the fit (`crate::fit`)
//! and the fitted model (`crate::model`) only ever call [`ChunkKernel`] through it.
//!
//! | kernel | when | file |
//! |---|---|---|
//! | products (GEMMs, per group of components sharing a shift) | `D > 4` | `products.rs` |
//! | fused structure-of-arrays loops, centred on each mean | `D ≤ 4` | `small.rs` |
//! | row-by-row reference loops, centred on each mean | forced only (tests) | `rowwise.rs` |
//! | anchored f32 kernel (E-step and moments fused) | f32 data, full, where it pays | `anchored.rs` |
//!
//! Why so many: at `D ≤ 4` products lose to fused loops (58 vs 78 ms per iteration on
//! 2M rows, K = 8), at `D = 8` products win by 4×; f32 full covariances need their own
//! kernel to be faster than converting to f64 (see `anchored.rs`). Every kernel keeps
//! the moments of component `k` about `Prepared::shift[k]`, a point near its mean (its
//! group's shift for the products, its own mean for the fused loops, its anchor for the
//! anchored kernel), which the M-step (`crate::fit::mstep`) moves to the new mean: the
//! accuracy does not depend on where the data sit (DESIGN.md, "Numerics").
//!
//! Dependencies point down: kernels use `params`, `data`, `covariance`, `cpu` and `simd`;
//! nothing here knows about fitting or models.

mod anchored;
mod products;
mod rowwise;
mod small;

use crate::stats::SuffStats;
pub(crate) use rowwise::{normalize_rows, sum_sq_diff};

use crate::covariance::CovarianceType;
use crate::data::Rows;
use crate::parallel::CHUNK_ROWS;
use crate::params::Params;
use anchored::{AnchorPrep, AnchorWs};
use products::Products;
use small::{SmallAcc, SmallPrep};

/// From this many features on, products beat the fused loops (measured: at D = 2 the
/// structure-of-arrays loops win, 58 vs 78 ms per iteration on 2M rows, K = 8; at D = 8
/// products win by 4×).
pub(crate) const GEMM_MIN_FEATURES: usize = small::MAX_D + 1;

/// A chunk's log-densities and statistics: what every kernel provides.
pub(crate) trait ChunkKernel: Sync {
    /// `out (m×K) ← ln w_k + log N(x_i | μ_k, Σ_k)` for the `m` rows of the chunk.
    fn log_prob(&self, rows: Rows, out: &mut [f64], ws: &mut Workspace);

    /// Adds the chunk's masses and moments (about the prepared shifts), given its
    /// responsibilities `resp (m×K)` and optional row weights.
    fn accumulate(
        &self,
        st: &mut SuffStats,
        rows: Rows,
        weights: Option<&[f64]>,
        resp: &[f64],
        ws: &mut Workspace,
    );

    /// The E-step and accumulation of one chunk: `log_norm ← log p(x_i)`; `resp` is
    /// scratch (`m×K`). Kernels that fuse the two override it.
    fn e_step(
        &self,
        st: &mut SuffStats,
        rows: Rows,
        weights: Option<&[f64]>,
        resp: &mut [f64],
        log_norm: &mut [f64],
        ws: &mut Workspace,
    ) {
        e_step_unfused(self, st, rows, weights, resp, log_norm, ws);
    }

    /// Moves what a worker kept across its chunks into `st` (end of a group of chunks).
    fn finish(&self, _st: &mut SuffStats, _ws: &mut Workspace) {}

    /// Rows per chunk this kernel works best with.
    fn chunk_rows(&self) -> usize {
        CHUNK_ROWS
    }
}

/// The E-step and accumulation of a chunk as three steps: log-densities,
/// normalisation (`log_norm ← log p(x_i)`, `resp ←` responsibilities), moments.
fn e_step_unfused<K: ChunkKernel + ?Sized>(
    kernel: &K,
    st: &mut SuffStats,
    rows: Rows,
    weights: Option<&[f64]>,
    resp: &mut [f64],
    log_norm: &mut [f64],
    ws: &mut Workspace,
) {
    let k = resp.len() / log_norm.len().max(1);
    kernel.log_prob(rows, resp, ws);
    normalize_rows(resp, k, log_norm);
    kernel.accumulate(st, rows, weights, resp, ws);
}

/// Reusable per-worker buffers of every kernel. Their contents never carry over between
/// chunks, so results do not depend on which thread ran what — except [`Carried`]: the
/// anchored kernel's pair accumulators, which collect a group's chunks until the
/// kernel's `finish`.
#[derive(Default)]
pub(crate) struct Workspace {
    products: products::ProductsWs,
    small: SmallAcc,
    anchor: AnchorWs,
    rowwise: rowwise::Scratch,
    /// One row minus a mean (the row-by-row accumulation).
    diff: Vec<f64>,
    /// f32 rows converted for the f64-only kernels (and the initialisation).
    pub(crate) conv: Vec<f64>,
}

/// What a kernel carries from chunk to chunk of a group until its `finish` (the anchored
/// kernel's accumulators, with its scratch). A pass serving several parameter sets keeps
/// one per set and swaps it into the workspace around that set's steps, so the sets'
/// accumulators never mix (they did: found when em-EM's shared passes made f32 full fits
/// non-monotone).
#[derive(Default)]
pub(crate) struct Carried(AnchorWs);

impl Workspace {
    /// Exchanges the carried state with `c`.
    pub(crate) fn swap_carried(&mut self, c: &mut Carried) {
        std::mem::swap(&mut self.anchor, &mut c.0);
    }
}

/// The row-by-row kernel: a direct, centred evaluation per component (the reference
/// the others are tested against; chosen only when forced).
pub(crate) struct Rowwise<'p> {
    p: &'p Params,
}

impl ChunkKernel for Rowwise<'_> {
    fn log_prob(&self, rows: Rows, out: &mut [f64], ws: &mut Workspace) {
        let rows = rows.as_f64(&mut ws.conv);
        rowwise::weighted_log_prob(self.p, rows, out, &mut ws.rowwise);
    }

    fn accumulate(
        &self,
        st: &mut SuffStats,
        rows: Rows,
        weights: Option<&[f64]>,
        resp: &[f64],
        ws: &mut Workspace,
    ) {
        accumulate_given(st, rows, weights, resp, ws);
    }
}

/// Accumulation of given responsibilities (the initialisation's hard or random
/// assignments), moments about `st`'s shifts.
pub(crate) fn accumulate_given(
    st: &mut SuffStats,
    rows: Rows,
    weights: Option<&[f64]>,
    resp: &[f64],
    ws: &mut Workspace,
) {
    st.accumulate(rows.as_f64(&mut ws.conv), weights, resp, &mut ws.diff);
}

impl ChunkKernel for SmallPrep {
    fn log_prob(&self, rows: Rows, out: &mut [f64], ws: &mut Workspace) {
        small::log_prob(self, rows.as_f64(&mut ws.conv), out);
    }

    fn accumulate(
        &self,
        st: &mut SuffStats,
        rows: Rows,
        weights: Option<&[f64]>,
        resp: &[f64],
        ws: &mut Workspace,
    ) {
        small::accumulate(
            self,
            st,
            rows.as_f64(&mut ws.conv),
            weights,
            resp,
            &mut ws.small,
        );
    }
}

impl ChunkKernel for Products {
    fn log_prob(&self, rows: Rows, out: &mut [f64], ws: &mut Workspace) {
        products::log_prob(self, rows, out, &mut ws.products);
    }

    fn accumulate(
        &self,
        st: &mut SuffStats,
        rows: Rows,
        weights: Option<&[f64]>,
        resp: &[f64],
        ws: &mut Workspace,
    ) {
        products::accumulate(self, st, rows, weights, resp, &mut ws.products);
    }
}

/// The anchored f32 kernel for full covariances: log-densities alone come from the
/// products; a pass's E-step and moments are fused per chunk.
pub(crate) struct Anchored {
    products: Products,
    ap: AnchorPrep,
}

impl ChunkKernel for Anchored {
    fn log_prob(&self, rows: Rows, out: &mut [f64], ws: &mut Workspace) {
        self.products.log_prob(rows, out, ws);
    }

    fn accumulate(
        &self,
        st: &mut SuffStats,
        rows: Rows,
        weights: Option<&[f64]>,
        resp: &[f64],
        ws: &mut Workspace,
    ) {
        // Only reached for f64 rows (never chosen for them): moments about the anchors
        // by the reference loops.
        accumulate_given(st, rows, weights, resp, ws);
    }

    fn e_step(
        &self,
        st: &mut SuffStats,
        rows: Rows,
        weights: Option<&[f64]>,
        resp: &mut [f64],
        log_norm: &mut [f64],
        ws: &mut Workspace,
    ) {
        match rows {
            Rows::F32(r) => anchored::chunk(&self.ap, st, r, weights, log_norm, &mut ws.anchor),
            Rows::F64(_) => e_step_unfused(self, st, rows, weights, resp, log_norm, ws),
        }
    }

    fn finish(&self, st: &mut SuffStats, ws: &mut Workspace) {
        anchored::fold(&self.ap, st, &mut ws.anchor);
    }

    /// The anchored kernel works per anchor within a chunk: longer chunks give it longer
    /// runs per anchor (and still fit its f32 buffers in cache).
    fn chunk_rows(&self) -> usize {
        2 * CHUNK_ROWS
    }
}

/// Which kernel family runs (forced only in tests and benchmarks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Matrix products (`products.rs`).
    Products,
    /// Fused loops: `small.rs` for `D ≤ 4`, else the row-by-row reference.
    Fused,
}

enum Choice<'p> {
    Products(Products),
    Small(SmallPrep),
    Rowwise(Rowwise<'p>),
    Anchored(Box<Anchored>),
}

/// The kernel chosen for one parameter set, with its per-pass constants (computed once
/// per EM iteration or prediction call).
pub(crate) struct Prepared<'p> {
    /// Moments of component `k` are accumulated about `shift[k]` (`K×D`).
    pub shift: Vec<f64>,
    choice: Choice<'p>,
}

impl<'p> Prepared<'p> {
    /// The kernel for parameters `p` on data of the given precision, chosen here and
    /// only here: products from [`GEMM_MIN_FEATURES`] features on (in f32 on f32 data
    /// for diag and spherical), the fused loops below; full covariances on f32 data get
    /// the anchored kernel where it pays ([`AnchorPrep::pays`]) when `for_statistics`
    /// (prediction only needs log-densities). With the `kernel-override` feature the
    /// choice can be forced (see `crate::cpu`).
    pub fn choose(p: &'p Params, f32_data: bool, for_statistics: bool) -> Self {
        let family = forced_family().unwrap_or(if p.d >= GEMM_MIN_FEATURES {
            Family::Products
        } else {
            Family::Fused
        });
        let prep = Self::with_family(p, family, f32_data);
        let anchored = for_statistics
            && f32_data
            && p.kind() == CovarianceType::Full
            && family == Family::Products
            && AnchorPrep::fits(p.k, p.d)
            && match f32_full_choice() {
                F32Full::Auto => AnchorPrep::pays(p.k, p.d),
                F32Full::Convert => false,
                F32Full::Anchored => true,
            };
        if anchored {
            prep.with_anchors(p)
        } else {
            prep
        }
    }

    /// The kernel of `family` (tests compare families; [`Prepared::choose`] otherwise).
    pub fn with_family(p: &'p Params, family: Family, f32_data: bool) -> Self {
        let mut shift = p.means_flat().to_vec();
        let choice = match family {
            Family::Products => Choice::Products(Products::new(p, f32_data, &mut shift)),
            // The fused loops centre every component exactly on its own mean.
            Family::Fused if p.d <= small::MAX_D => Choice::Small(SmallPrep::new(p, &shift)),
            Family::Fused => Choice::Rowwise(Rowwise { p }),
        };
        Prepared { shift, choice }
    }

    /// These kernels with the anchored f32 kernel for full covariances (products
    /// otherwise: the anchored kernel needs them for its log-densities).
    pub fn with_anchors(self, p: &'p Params) -> Self {
        let products = match self.choice {
            Choice::Products(pr) => pr,
            Choice::Anchored(a) => a.products,
            _ => Products::new(p, true, &mut p.means_flat().to_vec()),
        };
        let ap = AnchorPrep::new(p);
        Prepared {
            shift: ap.z.clone(),
            choice: Choice::Anchored(Box::new(Anchored { products, ap })),
        }
    }

    /// The chosen kernel.
    pub fn kernel(&self) -> &dyn ChunkKernel {
        match &self.choice {
            Choice::Products(k) => k,
            Choice::Small(k) => k,
            Choice::Rowwise(k) => k,
            Choice::Anchored(k) => k.as_ref(),
        }
    }

    /// Whether a pass with these kernels computes in f32 on f32 rows (and so may
    /// overflow where f64 would not: the pass is then redone in f64).
    pub fn computes_in_f32(&self) -> bool {
        match &self.choice {
            Choice::Products(pr) => pr.computes_in_f32(),
            Choice::Anchored(_) => true,
            _ => false,
        }
    }

    /// Number of product groups (1 in the common case; tests look at it).
    #[cfg(test)]
    pub fn n_groups(&self) -> usize {
        match &self.choice {
            Choice::Products(pr) => pr.n_groups(),
            Choice::Anchored(a) => a.products.n_groups(),
            _ => 0,
        }
    }
}

/// `kernel=gemm|fused` ([`crate::force_kernels`]) forces one kernel family (tests and benchmarks, with the
/// `kernel-override` feature only: `cpu`); unset, the choice follows `GEMM_MIN_FEATURES`.
fn forced_family() -> Option<Family> {
    static FORCED: std::sync::OnceLock<Option<Family>> = std::sync::OnceLock::new();
    *FORCED.get_or_init(|| match crate::cpu::overridden("kernel").as_deref() {
        Some("gemm") => Some(Family::Products),
        Some("fused") => Some(Family::Fused),
        _ => None,
    })
}

#[derive(Clone, Copy)]
enum F32Full {
    Auto,
    Convert,
    Anchored,
}

/// `f32-full=convert|anchored` ([`crate::force_kernels`]) forces how full covariances run on f32 data.
fn f32_full_choice() -> F32Full {
    static CHOICE: std::sync::OnceLock<F32Full> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| match crate::cpu::overridden("f32-full").as_deref() {
        Some("convert") => F32Full::Convert,
        Some("anchored") => F32Full::Anchored,
        _ => F32Full::Auto,
    })
}

#[cfg(test)]
mod tests;
