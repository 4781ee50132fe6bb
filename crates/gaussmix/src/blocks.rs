//! EM over data held elsewhere in blocks — a cluster's workers (`gaussmix.dask`), or any
//! map-reduce engine. Each block's E-step statistics are computed where the block lives
//! ([`BlockStats::compute`]), travel as a few `K·D²` numbers whatever the block's rows
//! ([`BlockStats::to_bytes`]), are merged in block order ([`BlockStats::merge`]), and
//! the M-step and stopping rule run on the merged statistics ([`BlockEm`]). The
//! arithmetic is the in-memory engine's: the same kernels, moments about a shift near
//! each component (centred accuracy), the same M-step, stopping rule and warnings, so a
//! fit over blocks equals the in-memory fit of the concatenated rows up to the rounding
//! of the different summation order.
//!
//! ```
//! use gaussmix::blocks::{BlockEm, BlockStats};
//! use gaussmix::{Data, GaussianMixture};
//! use ndarray::array;
//!
//! let x = array![[0.0], [0.3], [0.1], [5.0], [5.3], [5.1]];
//! let opts = GaussianMixture::params(2).tol(1e-8);
//! let start = GaussianMixture::from_parameters(
//!     array![0.5, 0.5], array![[1.0], [4.0]], gaussmix::Covariances::Full(ndarray::Array3::ones((2, 1, 1))))?;
//! let mut em = BlockEm::new(&opts, &start)?;
//! while !em.done() {
//!     // Two blocks, as two workers would hold them; only statistics are shipped.
//!     let model = em.model();
//!     let parts = [
//!         BlockStats::compute(&model, &Data::from_view(x.slice(ndarray::s![..4, ..]))?)?,
//!         BlockStats::compute(&model, &Data::from_view(x.slice(ndarray::s![4.., ..]))?)?,
//!     ];
//!     let shipped: Vec<BlockStats> = parts.iter()
//!         .map(|p| BlockStats::from_bytes(&p.to_bytes()))
//!         .collect::<Result<_, _>>()?;
//!     em.step(&BlockStats::merge(&shipped)?)?;
//! }
//! let final_stats = BlockStats::compute(&em.model(), &Data::from_view(x.view())?)?;
//! let model = em.finish(&final_stats)?;
//! // The in-memory fit from the same start.
//! let direct = opts.clone().warm_start(&start).fit(&x)?;
//! assert_eq!(model.n_iter(), direct.n_iter());
//! assert!((model.means()[[1, 0]] - direct.means()[[1, 0]]).abs() < 1e-12);
//! # Ok::<(), gaussmix::GmmError>(())
//! ```

use crate::covariance::CovarianceType;
use crate::data::{check_spans, Data};
use crate::error::invalid_option;
use crate::error::{GmmError, Result};
use crate::fit::degenerate::{spurious_components, DataSpread};
use crate::fit::em::{with_iteration, Run};
use crate::fit::pass::e_passes;
use crate::fit::{build_record, DataFacts, RestartFacts};
use crate::model::GaussianMixture;
use crate::options::GmmOptions;
use crate::params::Params;
use crate::stats::SuffStats;

/// The first bytes of [`BlockStats::to_bytes`] (format version 2).
const MAGIC: &[u8; 8] = b"GMXBLK02";

/// One block's E-step statistics under one model, with what the fit's checks and record
/// need to know about the block's rows (their count, weights and column ranges).
#[derive(Clone, Debug)]
pub struct BlockStats {
    st: SuffStats,
    /// [`fingerprint`] of the parameters the statistics were computed under.
    params_id: u64,
    /// Rows in the block.
    rows: u64,
    /// Rows with positive weight.
    effective: u64,
    /// The smallest positive weight (1 without weights; `+∞` without any positive one).
    row_unit: f64,
    /// Per column: smallest and largest value (`±∞` for a block without rows).
    lo: Vec<f64>,
    hi: Vec<f64>,
}

impl BlockStats {
    /// The statistics of `data` (one block) under `model`'s parameters.
    pub fn compute(model: &GaussianMixture, data: &Data) -> Result<BlockStats> {
        let mut v = Self::compute_many(&[model], data, None)?;
        v.pop()
            .ok_or_else(|| GmmError::Numerical("no statistics were computed".into()))
    }

    /// The statistics of `data` under each of `models` (same `K`, covariance type and
    /// features: the runs of `n_init` restarts) from one read of the block, on
    /// `n_threads` threads (`None`: all cores; results do not depend on it).
    pub fn compute_many(
        models: &[&GaussianMixture],
        data: &Data,
        n_threads: Option<usize>,
    ) -> Result<Vec<BlockStats>> {
        let Some(first) = models.first() else {
            return Ok(Vec::new());
        };
        let (kind, k, d) = (
            first.covariance_type(),
            first.n_components(),
            first.n_features(),
        );
        for m in models {
            if (m.covariance_type(), m.n_components(), m.n_features()) != (kind, k, d) {
                return Err(GmmError::InvalidModel(format!(
                    "the models of one block pass must share the covariance type, n_components and n_features; got {} with {} components and {} features beside {kind} with {k} and {d}",
                    m.covariance_type(),
                    m.n_components(),
                    m.n_features()
                )));
            }
        }
        if data.n_features() != d {
            return Err(GmmError::InvalidData(format!(
                "the block has {} columns but the model has {d} features",
                data.n_features()
            )));
        }
        let params: Vec<&Params> = models.iter().map(|m| &m.params).collect();
        let sts = crate::parallel::install(n_threads, || e_passes(data, &params, false))?;
        if let Some(e) = data.take_read_error() {
            return Err(e);
        }
        let (lo, hi) = data.column_range();
        let rows = data.n_samples() as u64;
        let effective = data.n_effective_rows() as u64;
        let row_unit = match data.weights() {
            Some(_) => data.row_unit(),
            None => 1.0,
        };
        let row_unit = if effective == 0 {
            f64::INFINITY
        } else {
            row_unit
        };
        Ok(sts
            .into_iter()
            .zip(models)
            .map(|(st, m)| BlockStats {
                st,
                params_id: fingerprint(&m.params),
                rows,
                effective,
                row_unit,
                lo: lo.clone(),
                hi: hi.clone(),
            })
            .collect())
    }

    /// The statistics of a block whose rows all have weight 0, under each of `models`
    /// (`data` without weights: a [`Data`] cannot carry all-zero weights): no mass, but
    /// its rows count in `n_samples` and in the column ranges, as in a fit in memory.
    pub fn zero_weight(models: &[&GaussianMixture], data: &Data) -> Result<Vec<BlockStats>> {
        let (lo, hi) = data.column_range();
        let mut out = Vec::with_capacity(models.len());
        for m in models {
            if data.n_features() != m.n_features() {
                return Err(GmmError::InvalidData(format!(
                    "the block has {} columns but the model has {} features",
                    data.n_features(),
                    m.n_features()
                )));
            }
            let mut st = Self::empty(m);
            st.rows = data.n_samples() as u64;
            st.lo.clone_from(&lo);
            st.hi.clone_from(&hi);
            out.push(st);
        }
        Ok(out)
    }

    /// The statistics of a block without rows under `model` (a partition that happens
    /// to be empty): zero mass, merged as nothing.
    pub fn empty(model: &GaussianMixture) -> BlockStats {
        let (k, d) = (model.n_components(), model.n_features());
        let means = model.params.means_flat().to_vec();
        let mut st = SuffStats::new(model.covariance_type(), k, d, &means);
        st.previous_means = Some(means);
        BlockStats {
            st,
            params_id: fingerprint(&model.params),
            rows: 0,
            effective: 0,
            row_unit: f64::INFINITY,
            lo: vec![f64::INFINITY; d],
            hi: vec![f64::NEG_INFINITY; d],
        }
    }

    /// The statistics of all of `parts` (blocks' statistics under the same parameters),
    /// summed left to right: deterministic for a given order, exact up to rounding. Parts
    /// whose moments were taken about another shift (another kernel, e.g. on another
    /// CPU) are moved to the first non-empty part's shift first.
    pub fn merge(parts: &[BlockStats]) -> Result<BlockStats> {
        let Some(base) = parts.iter().find(|p| p.rows > 0).or(parts.first()) else {
            return Err(GmmError::InvalidData(
                "there are no block statistics to merge".into(),
            ));
        };
        let mut out = base.clone();
        out.st.ll = 0.0;
        out.st.wsum = 0.0;
        out.st.nk.fill(0.0);
        out.st.s.fill(0.0);
        out.st.m2.fill(0.0);
        out.rows = 0;
        out.effective = 0;
        out.row_unit = f64::INFINITY;
        out.lo.fill(f64::INFINITY);
        out.hi.fill(f64::NEG_INFINITY);
        for (i, p) in parts.iter().enumerate() {
            let (a, b) = (&out.st, &p.st);
            if (a.kind, a.k, a.d) != (b.kind, b.k, b.d) {
                return Err(GmmError::InvalidData(format!(
                    "block statistics {i} are of {} with {} components and {} features, the first of {} with {} and {}",
                    b.kind, b.k, b.d, a.kind, a.k, a.d
                )));
            }
            if p.params_id != out.params_id || a.previous_means != b.previous_means {
                return Err(GmmError::InvalidData(format!(
                    "block statistics {i} were computed under other parameters than the first (another EM iteration or restart); merge only one pass's statistics"
                )));
            }
            if b.shift == a.shift {
                out.st.merge(b);
            } else {
                let mut moved = b.clone();
                recentre(&mut moved, &a.shift);
                out.st.merge(&moved);
            }
            out.rows += p.rows;
            out.effective += p.effective;
            out.row_unit = out.row_unit.min(p.row_unit);
            for j in 0..out.lo.len() {
                out.lo[j] = out.lo[j].min(p.lo[j]);
                out.hi[j] = out.hi[j].max(p.hi[j]);
            }
        }
        Ok(out)
    }

    /// Rows in the block(s).
    pub fn n_samples(&self) -> u64 {
        self.rows
    }

    /// The summed weight of the rows (their number without weights).
    pub fn total_weight(&self) -> f64 {
        self.st.wsum
    }

    /// `Σ w log p(x)` over the rows.
    pub fn log_likelihood(&self) -> f64 {
        self.st.ll
    }

    /// Components of the model the statistics were computed under.
    pub fn n_components(&self) -> usize {
        self.st.k
    }

    /// Features of the rows.
    pub fn n_features(&self) -> usize {
        self.st.d
    }

    /// Covariance type of the model the statistics were computed under.
    pub fn covariance_type(&self) -> CovarianceType {
        self.st.kind
    }

    /// `Σ w r_k` per component (`K`).
    pub fn counts(&self) -> &[f64] {
        &self.st.nk
    }

    /// First moments about the shift, `Σ w r_k (x − c_k)` (`K×D`, row-major).
    pub fn first_moments(&self) -> &[f64] {
        &self.st.s
    }

    /// Second moments about the shift, `Σ w r_k (x − c_k)(x − c_k)ᵀ`, row-major and
    /// symmetric: full `K×D×D`, tied `D×D` (pooled over the components), diag and
    /// spherical `K×D` (the diagonal only).
    pub fn second_moments(&self) -> Vec<f64> {
        let st = &self.st;
        let mut m2 = st.m2.clone();
        if matches!(st.kind, CovarianceType::Full | CovarianceType::Tied) {
            let d = st.d;
            for block in m2.chunks_exact_mut(d * d) {
                for a in 0..d {
                    for b in 0..a {
                        block[a * d + b] = block[b * d + a];
                    }
                }
            }
        }
        m2
    }

    /// The shift `c_k` the moments are taken about (`K×D`): a point near each
    /// component (its mean, or its group's shift), so no moment cancels.
    pub fn shift(&self) -> &[f64] {
        &self.st.shift
    }

    /// The means of the parameters the statistics were computed under (`K×D`).
    pub fn means(&self) -> &[f64] {
        self.st.previous_means.as_deref().unwrap_or(&self.st.shift)
    }

    /// Rows with positive weight.
    pub fn n_weighted_samples(&self) -> u64 {
        self.effective
    }

    /// A compact little-endian encoding: a header, then the statistics (the upper
    /// triangle only of full and tied second moments), the shift and means they refer
    /// to, and the column ranges — `O(K·D²)` bytes whatever the number of rows.
    pub fn to_bytes(&self) -> Vec<u8> {
        let st = &self.st;
        let mut out = Vec::with_capacity(64 + 8 * (st.nk.len() + st.s.len() + st.m2.len()));
        out.extend_from_slice(MAGIC);
        out.push(kind_code(st.kind));
        for v in [
            st.k as u64,
            st.d as u64,
            self.rows,
            self.effective,
            self.params_id,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let prev: &[f64] = st.previous_means.as_deref().unwrap_or(&st.shift);
        let mut put = |xs: &[f64]| {
            for x in xs {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
        put(&[self.row_unit, st.ll, st.wsum]);
        put(&st.nk);
        put(&st.s);
        match st.kind {
            CovarianceType::Full | CovarianceType::Tied => {
                let d = st.d;
                for block in st.m2.chunks_exact(d * d) {
                    for a in 0..d {
                        put(&block[a * d + a..(a + 1) * d]);
                    }
                }
            }
            CovarianceType::Diag | CovarianceType::Spherical => put(&st.m2),
        }
        put(&st.shift);
        put(prev);
        put(&self.lo);
        put(&self.hi);
        out
    }

    /// Decodes [`to_bytes`](Self::to_bytes); an error for anything else (wrong header,
    /// length or shape).
    pub fn from_bytes(bytes: &[u8]) -> Result<BlockStats> {
        let bad =
            |why: &str| GmmError::InvalidData(format!("not gaussmix block statistics: {why}"));
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad("the header is missing (another program or version wrote them)"))?;
        let (&code, rest) = rest.split_first().ok_or_else(|| bad("they end early"))?;
        let kind = kind_from_code(code).ok_or_else(|| bad("unknown covariance type"))?;
        let mut words = rest.chunks_exact(8);
        if !words.remainder().is_empty() {
            return Err(bad("their length is not a whole number of values"));
        }
        let mut next_u64 = || -> Result<u64> {
            let w = words.next().ok_or_else(|| bad("they end early"))?;
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            Ok(u64::from_le_bytes(a))
        };
        let (k, d, rows, effective) = (next_u64()?, next_u64()?, next_u64()?, next_u64()?);
        let params_id = next_u64()?;
        let (k, d) = (usize::try_from(k).ok(), usize::try_from(d).ok());
        let (Some(k), Some(d)) = (k, d) else {
            return Err(bad("impossible shape"));
        };
        if k == 0 || d == 0 {
            return Err(bad("no components or no features"));
        }
        let tri = d.checked_mul(d + 1).map(|v| v / 2);
        let m2_len = match kind {
            CovarianceType::Full => tri.and_then(|t| t.checked_mul(k)),
            CovarianceType::Tied => tri,
            CovarianceType::Diag | CovarianceType::Spherical => k.checked_mul(d),
        };
        let kd = k.checked_mul(d);
        let (Some(m2_len), Some(kd)) = (m2_len, kd) else {
            return Err(bad("impossible shape"));
        };
        let expected = [3, k, kd, m2_len, kd, kd, d, d]
            .iter()
            .try_fold(0usize, |a, &b| a.checked_add(b));
        let values: Vec<f64> = words
            .map(|w| {
                let mut a = [0u8; 8];
                a.copy_from_slice(w);
                f64::from_le_bytes(a)
            })
            .collect();
        if expected != Some(values.len()) {
            return Err(bad(&format!(
                "{} values where {k} components and {d} features need {}",
                values.len(),
                expected.map_or("more".into(), |e| e.to_string())
            )));
        }
        let mut at = 0;
        let mut take = |n: usize| {
            let v = values[at..at + n].to_vec();
            at += n;
            v
        };
        let head = take(3);
        let nk = take(k);
        let s = take(kd);
        let packed = take(m2_len);
        let shift = take(kd);
        let prev = take(kd);
        let lo = take(d);
        let hi = take(d);
        let mut st = SuffStats::new(kind, k, d, &shift);
        match kind {
            CovarianceType::Full | CovarianceType::Tied => {
                let mut it = packed.into_iter();
                for block in st.m2.chunks_exact_mut(d * d) {
                    for a in 0..d {
                        for b in a..d {
                            block[a * d + b] = it.next().unwrap_or(0.0);
                        }
                    }
                }
            }
            CovarianceType::Diag | CovarianceType::Spherical => st.m2 = packed,
        }
        st.nk = nk;
        st.s = s;
        st.ll = head[1];
        st.wsum = head[2];
        st.previous_means = Some(prev);
        Ok(BlockStats {
            st,
            params_id,
            rows,
            effective,
            row_unit: head[0],
            lo,
            hi,
        })
    }
}

/// A 64-bit fingerprint (FNV-1a) of every bit of the parameters (weights, means,
/// covariances): statistics are merged and used only under the parameters they were
/// computed under.
fn fingerprint(p: &Params) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let covs: Vec<f64> = match &p.covariances {
        crate::covariance::Covariances::Full(a) => a.iter().copied().collect(),
        crate::covariance::Covariances::Tied(a) | crate::covariance::Covariances::Diag(a) => {
            a.iter().copied().collect()
        }
        crate::covariance::Covariances::Spherical(a) => a.iter().copied().collect(),
    };
    for v in p.weights.iter().chain(p.means.iter()).chain(covs.iter()) {
        for b in v.to_bits().to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn kind_code(kind: CovarianceType) -> u8 {
    match kind {
        CovarianceType::Full => 0,
        CovarianceType::Tied => 1,
        CovarianceType::Diag => 2,
        CovarianceType::Spherical => 3,
    }
}

fn kind_from_code(code: u8) -> Option<CovarianceType> {
    Some(match code {
        0 => CovarianceType::Full,
        1 => CovarianceType::Tied,
        2 => CovarianceType::Diag,
        3 => CovarianceType::Spherical,
        _ => return None,
    })
}

/// Moves moments about `st.shift` to moments about `to`: with `δ = c − c'`,
/// `s' = s + n δ`, `M2' = M2 + s δᵀ + δ sᵀ + n δ δᵀ` (per component; pooled for tied).
fn recentre(st: &mut SuffStats, to: &[f64]) {
    let (k, d) = (st.k, st.d);
    for c in 0..k {
        let n = st.nk[c];
        let delta: Vec<f64> = (0..d)
            .map(|j| st.shift[c * d + j] - to[c * d + j])
            .collect();
        let s: Vec<f64> = st.s[c * d..(c + 1) * d].to_vec();
        match st.kind {
            CovarianceType::Full | CovarianceType::Tied => {
                let off = if st.kind == CovarianceType::Full {
                    c * d * d
                } else {
                    0
                };
                for a in 0..d {
                    for b in a..d {
                        st.m2[off + a * d + b] +=
                            s[a] * delta[b] + delta[a] * s[b] + n * delta[a] * delta[b];
                    }
                }
            }
            CovarianceType::Diag | CovarianceType::Spherical => {
                let m2 = &mut st.m2[c * d..(c + 1) * d];
                for ((m2, s), dl) in m2.iter_mut().zip(&s).zip(&delta) {
                    *m2 += 2.0 * s * dl + n * dl * dl;
                }
            }
        }
        for (s, dl) in st.s[c * d..(c + 1) * d].iter_mut().zip(&delta) {
            *s += n * dl;
        }
    }
    st.shift = to.to_vec();
}

/// What the first pass told about the data.
struct Facts {
    spread: DataSpread,
    facts: DataFacts,
}

/// One EM run over blocks: feed it the merged statistics of each E-step pass under
/// [`BlockEm::model`]; it does the M-step and the stopping rule of the in-memory engine
/// (`|Lᵗ − Lᵗ⁻¹| < tol`, `L⁰ = −∞`, at most `max_iter` iterations; `max_iter` ≥ 1 as
/// for any fit — a caller wanting the start itself needs no pass). Options it does not
/// use: `init` and `n_init` (the caller makes the start and the restarts), `recover`
/// (refused: re-seeding needs a data row).
pub struct BlockEm {
    opts: GmmOptions,
    params: Params,
    lower_bounds: Vec<f64>,
    prev: f64,
    converged: bool,
    first_offset: f64,
    last_nk: Option<Vec<f64>>,
    facts: Option<Facts>,
}

impl BlockEm {
    /// A run of `opts` from `start`'s parameters.
    pub fn new(opts: &GmmOptions, start: &GaussianMixture) -> Result<BlockEm> {
        opts.validate()?;
        if opts.recover {
            return Err(invalid_option(
                "recover",
                "is not available for EM over blocks (re-seeding a component needs a data row on the client); fit without it",
            ));
        }
        if start.n_components() != opts.n_components
            || start.covariance_type() != opts.covariance_type
        {
            return Err(GmmError::InvalidInit(format!(
                "the start has {} components of type {}, the options ask for {} of type {}",
                start.n_components(),
                start.covariance_type(),
                opts.n_components,
                opts.covariance_type
            )));
        }
        if let Some(names) = &opts.feature_names {
            crate::options::check_feature_names(names, Some(start.n_features()))?;
        }
        Ok(BlockEm {
            opts: opts.clone(),
            params: start.params.clone(),
            lower_bounds: Vec::new(),
            prev: f64::NEG_INFINITY,
            converged: false,
            first_offset: 0.0,
            last_nk: None,
            facts: None,
        })
    }

    /// A run of `opts` from explicit starting parameters, checked as the in-memory fit
    /// checks a given start: a covariance that is not positive definite (after
    /// `reg_covar`) is [`GmmError::NotPositiveDefinite`] "at initialisation".
    pub fn from_parameters(
        opts: &GmmOptions,
        weights: ndarray::Array1<f64>,
        means: ndarray::Array2<f64>,
        covariances: crate::covariance::Covariances,
    ) -> Result<BlockEm> {
        let params =
            Params::new(weights, means, covariances, opts.reg_covar).map_err(|e| match e {
                GmmError::InvalidModel(m) => GmmError::InvalidInit(m),
                other => other.map_pd_context(|_| " at initialisation".into()),
            })?;
        let start = GaussianMixture {
            params,
            fit: None,
            feature_names: None,
            online: None,
        };
        BlockEm::new(opts, &start)
    }

    /// The first iteration's lower bound is compared with `l` instead of `−∞` (a warm
    /// start continuing a fit whose last lower bound was `l`).
    pub fn previous_lower_bound(mut self, l: f64) -> BlockEm {
        self.prev = l;
        self
    }

    /// Adds `offset` to the first iteration's lower bound: for a start whose weights
    /// summed to `t` ≠ 1 (scikit-learn's k-means++ starts) and were normalised,
    /// `offset = ln t` gives the lower bound of the unnormalised start.
    pub fn first_offset(mut self, offset: f64) -> BlockEm {
        self.first_offset = offset;
        self
    }

    /// The current parameters as a model: the next E-step pass is made under these.
    pub fn model(&self) -> GaussianMixture {
        GaussianMixture {
            params: self.params.clone(),
            fit: None,
            feature_names: None,
            online: None,
        }
    }

    /// One iteration given `merged`, the statistics of all blocks under
    /// [`model`](Self::model) (refused if computed under any other parameters): returns
    /// that pass's mean log-likelihood (plus [`first_offset`](Self::first_offset) on
    /// the first iteration).
    pub fn step(&mut self, merged: &BlockStats) -> Result<f64> {
        let st = &merged.st;
        let t = self.lower_bounds.len() + 1;
        if self.done() {
            return Err(GmmError::InvalidData(format!(
                "this EM run is done ({}) after {} iterations; call finish with a final pass's statistics",
                if self.converged { "converged" } else { "max_iter reached" },
                t - 1
            )));
        }
        if (st.kind, st.k, st.d) != (self.params.kind(), self.params.k, self.params.d) {
            return Err(GmmError::InvalidData(format!(
                "the statistics are of {} with {} components and {} features, the run of {} with {} and {}",
                st.kind,
                st.k,
                st.d,
                self.params.kind(),
                self.params.k,
                self.params.d
            )));
        }
        if merged.params_id != fingerprint(&self.params) {
            return Err(GmmError::InvalidData(format!(
                "the statistics given to EM iteration {t} were computed under other parameters than the run's current ones"
            )));
        }
        if self.facts.is_none() {
            self.facts = Some(self.first_facts(merged)?);
        }
        let l = st.mean_log_likelihood() + if t == 1 { self.first_offset } else { 0.0 };
        if !l.is_finite() {
            return Err(GmmError::Numerical(format!(
                "the log-likelihood became {l} at EM iteration {t}"
            )));
        }
        let (w, m, c) = st.m_step(self.opts.reg_covar, self.opts.variance_floor)?;
        self.params =
            Params::new(w, m, c, self.opts.reg_covar).map_err(|e| with_iteration(e, t))?;
        self.last_nk = Some(st.nk.clone());
        self.lower_bounds.push(l);
        if (l - self.prev).abs() < self.opts.tol {
            self.converged = true;
        } else {
            self.prev = l;
        }
        Ok(l)
    }

    /// The in-memory fit's checks of the data, from the first pass's statistics.
    fn first_facts(&self, merged: &BlockStats) -> Result<Facts> {
        let k = self.opts.n_components;
        let eff = merged.effective;
        if eff < k as u64 {
            return Err(GmmError::InvalidData(format!(
                "{eff} samples (with positive weight) are fewer than n_components = {k}; use at most {eff} components or more data"
            )));
        }
        let constant = check_spans(&merged.lo, &merged.hi)?;
        let spread = DataSpread::from_stats(&merged.st, &constant);
        let constant_values = constant
            .iter()
            .zip(&merged.lo)
            .map(|(&c, &v)| c.then_some(v))
            .collect();
        Ok(Facts {
            spread,
            facts: DataFacts {
                n_samples: usize::try_from(merged.rows).unwrap_or(usize::MAX),
                total_weight: merged.st.wsum,
                n_rows: usize::try_from(eff).unwrap_or(usize::MAX),
                row_unit: merged.row_unit,
                constant_values,
            },
        })
    }

    /// Whether the stopping rule fired or `max_iter` iterations were made.
    pub fn done(&self) -> bool {
        self.converged || self.lower_bounds.len() >= self.opts.max_iter
    }

    /// Whether the stopping rule fired.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Iterations made.
    pub fn n_iter(&self) -> usize {
        self.lower_bounds.len()
    }

    /// Each iteration's mean log-likelihood.
    pub fn lower_bounds(&self) -> &[f64] {
        &self.lower_bounds
    }

    /// The components of the current parameters that the spurious-optimum rule flags
    /// (empty before the first iteration).
    pub fn spurious(&self) -> Vec<usize> {
        match (&self.last_nk, &self.facts) {
            (Some(nk), Some(f)) => spurious_components(
                nk,
                f.facts.row_unit,
                &self.params.covariances,
                self.opts.reg_covar,
                &f.spread,
            ),
            _ => Vec::new(),
        }
    }

    /// The fitted model, with the in-memory fit's record (score, criteria, warnings)
    /// computed from `final_stats`, the merged statistics of a pass under
    /// [`model`](Self::model).
    pub fn finish(self, final_stats: &BlockStats) -> Result<GaussianMixture> {
        let mut em = self;
        if em.facts.is_none() {
            // Finished before any step (the caller's choice): the final pass is the first.
            em.facts = Some(em.first_facts(final_stats)?);
        }
        if final_stats.params_id != fingerprint(&em.params) {
            return Err(GmmError::InvalidData(
                "the final statistics were computed under other parameters than the run's final ones".into(),
            ));
        }
        let spurious = em.spurious();
        let facts = em.facts.take().map(|f| f.facts);
        let Some(facts) = facts else {
            return Err(GmmError::Numerical("the data facts are missing".into()));
        };
        let run = Run {
            n_iter: em.lower_bounds.len(),
            converged: em.converged,
            lower_bounds: em.lower_bounds,
            recoveries: Vec::new(),
            spurious: spurious.clone(),
            params: em.params,
        };
        let restarts = RestartFacts {
            best_init: 0,
            n_runs: 1,
            failed_inits: Vec::new(),
            spurious_inits: if spurious.is_empty() { vec![] } else { vec![0] },
            screen_rows: None,
        };
        let record = build_record(&em.opts, &run, &final_stats.st, &facts, restarts)?;
        Ok(GaussianMixture {
            params: run.params,
            fit: Some(record),
            feature_names: em.opts.feature_names.clone(),
            online: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(kind: CovarianceType) -> SuffStats {
        let (k, d) = (2, 3);
        let mut st = SuffStats::new(kind, k, d, &[1.0, 2.0, 3.0, -1.0, 0.5, 4.0]);
        let rows = [1.5, 2.5, 2.0, 0.0, 0.0, 5.0, -2.0, 1.0, 3.0];
        let resp = [0.7, 0.3, 0.2, 0.8, 0.5, 0.5];
        let mut diff = Vec::new();
        st.accumulate(&rows, Some(&[1.0, 2.0, 0.5]), &resp, &mut diff);
        st
    }

    #[test]
    fn recentring_equals_accumulating_about_the_new_shift() {
        for kind in [
            CovarianceType::Full,
            CovarianceType::Tied,
            CovarianceType::Diag,
            CovarianceType::Spherical,
        ] {
            let mut a = stats(kind);
            let to = [0.0, 0.0, 0.0, 10.0, -3.0, 1.0];
            recentre(&mut a, &to);
            let mut b = SuffStats::new(kind, 2, 3, &to);
            let rows = [1.5, 2.5, 2.0, 0.0, 0.0, 5.0, -2.0, 1.0, 3.0];
            let resp = [0.7, 0.3, 0.2, 0.8, 0.5, 0.5];
            b.accumulate(&rows, Some(&[1.0, 2.0, 0.5]), &resp, &mut Vec::new());
            for (x, y) in a.s.iter().zip(&b.s).chain(a.m2.iter().zip(&b.m2)) {
                assert!(
                    (x - y).abs() < 1e-12 * (1.0 + y.abs()),
                    "{kind}: {x} vs {y}"
                );
            }
        }
    }
}
