//! Online (stepwise) EM: running sufficient statistics updated one batch at a time
//! (Cappé & Moulines 2009, "On-line expectation–maximization algorithm for latent data
//! models").
//!
//! Each batch's E-step statistics `ŝ` (per unit of weight) are blended into the running
//! ones, `s ← (1 − η) s + η ŝ` with `η = (t + 2)^(−κ)` for the `t`-th update
//! (`t = 0, 1, …`) after a warm-up batch whose statistics start `s`; the M-step then
//! reads `s` as a batch M-step reads a pass's statistics. A batch of less total weight
//! than the heaviest one seen, `w < w_ref`, takes the step `1 − (1 − η)^(w/w_ref)`, so
//! the short last batch of a file (or rows of tiny weight) cannot pull the model
//! around.
//!
//! The running statistics are held *centred*: per component its mass, its mean and its
//! scatter about that mean. Blending two such sets is the parallel-variance update
//! (Chan, Golub & LeVeque): `n = a + b`, `μ = μ₁ + (b/n)(μ₂ − μ₁)`,
//! `C = (1−η) C₁ + η C₂ + (a b / n) δ δᵀ` with `a = (1−η) n₁`, `b = η n₂`,
//! `δ = μ₂ − μ₁`. It equals blending raw moments `E[1], E[x], E[x xᵀ]` exactly, but no
//! term is a large second moment about the origin, so accuracy does not depend on where
//! the data sit (DESIGN.md, "Numerics").
//!
//! With `average_from`, the running statistics are also averaged from that update on
//! (Polyak–Ruppert: the average weighs every update since equally, the same blend with
//! `η = 1/count`); the model's parameters are the average's M-step, while each batch's
//! E-step keeps running under the running statistics' own parameters.

use serde::{Deserialize, Serialize};

use crate::covariance::CovarianceType;
use crate::data::Data;
use crate::error::{GmmError, Result};
use crate::fit::pass::e_pass;
use crate::options::GmmOptions;
use crate::params::Params;
use crate::stats::SuffStats;

/// The running state of online EM: the running statistics, how many updates they have
/// had, and the current pass's log-likelihood so far. Kept on the model (and in its file:
/// a checkpoint is a model file with this state, which `partial_fit` continues).
///
/// Masses, means and scatters are per unit of weight: the masses sum to 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnlineState {
    /// Stepwise updates made after the warm-up batch.
    pub(crate) updates: u64,
    /// `κ` of the step sizes `η_t = (t + 2)^(−κ)`.
    pub(crate) step_exponent: f64,
    /// Per component: running mass (`K`).
    pub(crate) mass: Vec<f64>,
    /// Running means (`K×D`).
    pub(crate) means: Vec<f64>,
    /// Running scatter about the means: full `K×D×D`, tied `D×D` (pooled), diag and
    /// spherical `K×D` (per feature).
    pub(crate) scatter: Vec<f64>,
    /// Batches and rows seen in all (the warm-up included).
    pub(crate) batches: u64,
    /// Rows seen in all.
    pub(crate) rows: u64,
    /// The pass under way: batches, rows, weight and `Σ w log p(x)` so far.
    #[serde(default)]
    pub(crate) pass: PassTally,
    /// Polyak–Ruppert averaging ([`GmmOptions::average_from`]): the mean of the running
    /// statistics since averaging began, which the model's parameters then come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) average: Option<Average>,
    /// The largest batch weight seen: a lighter batch gets a smaller step (see
    /// [`OnlineState::update`]).
    #[serde(default)]
    pub(crate) reference_weight: f64,
    /// The most rows a batch has had (the CLI's batch size, which `--resume` keeps).
    #[serde(default)]
    pub(crate) batch_rows: u64,
}

/// The average of the running statistics over `count` updates (centred, like them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Average {
    pub count: u64,
    pub mass: Vec<f64>,
    pub means: Vec<f64>,
    pub scatter: Vec<f64>,
}

/// What a pass has seen so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PassTally {
    pub batches: u64,
    pub rows: u64,
    pub weight: f64,
    pub ll: f64,
}

/// The length of the scatter for `kind`.
pub(crate) fn scatter_len(kind: CovarianceType, k: usize, d: usize) -> usize {
    match kind {
        CovarianceType::Full => k * d * d,
        CovarianceType::Tied => d * d,
        CovarianceType::Diag | CovarianceType::Spherical => k * d,
    }
}

/// A batch's statistics in centred form, per unit of weight: masses, means, scatters.
/// A component with no mass keeps `previous` as its mean (its scatter is 0).
fn centred(st: &SuffStats, previous: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (k, d, kind) = (st.k, st.d, st.kind);
    let total = st.wsum;
    let mut mass = vec![0.0; k];
    let mut means = previous.to_vec();
    let mut scatter = vec![0.0; scatter_len(kind, k, d)];
    // Σ r (x−μ)(x−μ)ᵀ = M2 − s sᵀ / n about the new mean μ = c + s/n.
    for c in 0..k {
        let n = st.nk[c];
        mass[c] = n / total;
        if n <= 0.0 {
            continue;
        }
        let s = &st.s[c * d..(c + 1) * d];
        for j in 0..d {
            means[c * d + j] = st.shift[c * d + j] + s[j] / n;
        }
        match kind {
            CovarianceType::Full => {
                for a in 0..d {
                    for b in a..d {
                        let v = (st.m2[c * d * d + a * d + b] - s[a] * s[b] / n) / total;
                        scatter[c * d * d + a * d + b] = v;
                        scatter[c * d * d + b * d + a] = v;
                    }
                }
            }
            CovarianceType::Tied => {
                for a in 0..d {
                    for b in a..d {
                        let v = -s[a] * s[b] / n / total;
                        scatter[a * d + b] += v;
                        if a != b {
                            scatter[b * d + a] += v;
                        }
                    }
                }
            }
            CovarianceType::Diag | CovarianceType::Spherical => {
                for j in 0..d {
                    scatter[c * d + j] = (st.m2[c * d + j] - s[j] * s[j] / n) / total;
                }
            }
        }
    }
    if kind == CovarianceType::Tied {
        for a in 0..d {
            for b in a..d {
                let v = st.m2[a * d + b] / total;
                scatter[a * d + b] += v;
                if a != b {
                    scatter[b * d + a] += v;
                }
            }
        }
    }
    (mass, means, scatter)
}

/// The M-step of centred statistics.
fn m_step(
    kind: CovarianceType,
    k: usize,
    d: usize,
    (mass, means, scatter): (&[f64], &[f64], &[f64]),
    opts: &GmmOptions,
) -> Result<Params> {
    let mut st = SuffStats::new(kind, k, d, means);
    st.nk.copy_from_slice(mass);
    st.m2.copy_from_slice(scatter);
    st.wsum = 1.0;
    st.previous_means = Some(means.to_vec());
    let (w, m, c) = st.m_step(opts.reg_covar, opts.variance_floor)?;
    Params::new(w, m, c, opts.reg_covar)
}

/// `dst ← (1 − η) dst + η src` for centred statistics (module docs: the parallel
/// update, exact for raw moments, without their cancellation).
fn blend(
    kind: CovarianceType,
    k: usize,
    d: usize,
    (mass, means, scatter): (&mut [f64], &mut [f64], &mut [f64]),
    (mass2, means2, scatter2): (&[f64], &[f64], &[f64]),
    eta: f64,
) {
    for (v, w) in scatter.iter_mut().zip(scatter2) {
        *v = (1.0 - eta) * *v + eta * w;
    }
    for c in 0..k {
        let a = (1.0 - eta) * mass[c];
        let b = eta * mass2[c];
        let n = a + b;
        mass[c] = n;
        if n <= 0.0 || b <= 0.0 {
            continue;
        }
        let f = a * b / n;
        let delta: Vec<f64> = (0..d)
            .map(|j| means2[c * d + j] - means[c * d + j])
            .collect();
        for (m, dj) in means[c * d..(c + 1) * d].iter_mut().zip(&delta) {
            *m += b / n * dj;
        }
        match kind {
            CovarianceType::Full | CovarianceType::Tied => {
                let off = if kind == CovarianceType::Full {
                    c * d * d
                } else {
                    0
                };
                for x in 0..d {
                    for y in 0..d {
                        scatter[off + x * d + y] += f * delta[x] * delta[y];
                    }
                }
            }
            CovarianceType::Diag | CovarianceType::Spherical => {
                for (v, dj) in scatter[c * d..(c + 1) * d].iter_mut().zip(&delta) {
                    *v += f * dj * dj;
                }
            }
        }
    }
}

impl OnlineState {
    /// The state after the warm-up batch, whose statistics `st` (under parameters with
    /// means `previous`) start the running averages.
    pub(crate) fn start(st: &SuffStats, previous: &[f64], step_exponent: f64, rows: u64) -> Self {
        let (mass, means, scatter) = centred(st, previous);
        OnlineState {
            updates: 0,
            step_exponent,
            mass,
            means,
            scatter,
            batches: 1,
            rows,
            pass: PassTally {
                batches: 1,
                rows,
                weight: st.wsum,
                ll: st.ll,
            },
            average: None,
            reference_weight: st.wsum,
            batch_rows: rows,
        }
    }

    /// The step size of the next update.
    pub(crate) fn next_step(&self) -> f64 {
        (self.updates as f64 + 2.0).powf(-self.step_exponent)
    }

    /// Blends a batch's statistics `st` into the running ones with the next step size;
    /// from update `average_from` on, also into the Polyak–Ruppert average of the
    /// running statistics.
    pub(crate) fn update(
        &mut self,
        kind: CovarianceType,
        st: &SuffStats,
        rows: u64,
        average_from: Option<u64>,
    ) {
        // A batch lighter than the heaviest seen (the short last batch of a file, rows
        // of small weight) moves the statistics as that fraction of a step would:
        // η' = 1 − (1 − η)^(w / w_ref), so k batches of weight w/k move them as one of
        // weight w does, to first order, and a batch of almost no weight almost not.
        let nominal = self.next_step();
        let reference = self.reference_weight.max(st.wsum);
        let eta = if st.wsum >= reference {
            nominal
        } else {
            -((st.wsum / reference) * (-nominal).ln_1p()).exp_m1()
        };
        self.reference_weight = reference;
        self.batch_rows = self.batch_rows.max(rows);
        let (k, d) = (st.k, st.d);
        let (mass2, means2, scatter2) = centred(st, &self.means);
        blend(
            kind,
            k,
            d,
            (&mut self.mass, &mut self.means, &mut self.scatter),
            (&mass2, &means2, &scatter2),
            eta,
        );
        self.updates += 1;
        if average_from.is_some_and(|from| self.updates >= from) {
            match &mut self.average {
                None => {
                    self.average = Some(Average {
                        count: 1,
                        mass: self.mass.clone(),
                        means: self.means.clone(),
                        scatter: self.scatter.clone(),
                    })
                }
                Some(a) => {
                    a.count += 1;
                    blend(
                        kind,
                        k,
                        d,
                        (&mut a.mass, &mut a.means, &mut a.scatter),
                        (&self.mass, &self.means, &self.scatter),
                        1.0 / a.count as f64,
                    );
                }
            }
        }
        self.batches += 1;
        self.rows += rows;
        self.pass.batches += 1;
        self.pass.rows += rows;
        self.pass.weight += st.wsum;
        self.pass.ll += st.ll;
    }

    /// The parameters the next batch's E-step runs under when the model's are the
    /// average's (`None`: the model's own).
    pub(crate) fn driving_params(
        &self,
        kind: CovarianceType,
        k: usize,
        d: usize,
        opts: &GmmOptions,
    ) -> Option<Result<Params>> {
        self.average.as_ref()?;
        Some(m_step(
            kind,
            k,
            d,
            (&self.mass, &self.means, &self.scatter),
            opts,
        ))
    }

    /// The model's parameters: the M-step of the averaged statistics once averaging
    /// has begun, else of the running ones.
    pub(crate) fn m_step(
        &self,
        kind: CovarianceType,
        k: usize,
        d: usize,
        opts: &GmmOptions,
    ) -> Result<Params> {
        match &self.average {
            Some(a) => m_step(kind, k, d, (&a.mass, &a.means, &a.scatter), opts),
            None => m_step(kind, k, d, (&self.mass, &self.means, &self.scatter), opts),
        }
    }

    /// Checks the state against the model it belongs to (a model file is validated on
    /// load).
    pub(crate) fn check(&self, kind: CovarianceType, k: usize, d: usize) -> Result<()> {
        let bad = |m: String| GmmError::InvalidModel(format!("online: {m}"));
        if !(self.step_exponent > 0.5 && self.step_exponent <= 1.0) {
            return Err(bad(format!(
                "step_exponent is {}, expected a number in (0.5, 1]",
                self.step_exponent
            )));
        }
        let mut fields = vec![
            ("mass", &self.mass, k),
            ("means", &self.means, k * d),
            ("scatter", &self.scatter, scatter_len(kind, k, d)),
        ];
        if let Some(a) = &self.average {
            fields.extend([
                ("average.mass", &a.mass, k),
                ("average.means", &a.means, k * d),
                ("average.scatter", &a.scatter, scatter_len(kind, k, d)),
            ]);
            if a.count == 0 {
                return Err(bad("average.count is 0".into()));
            }
        }
        for (name, v, len) in fields {
            if v.len() != len {
                return Err(bad(format!(
                    "{name} has {} values, expected {len} for {k} components of {d} features ({kind})",
                    v.len()
                )));
            }
            if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return Err(bad(format!("{name}[{i}] is {x}; values must be finite")));
            }
        }
        let averaged = self.average.as_ref().map(|a| &a.mass);
        for mass in std::iter::once(&self.mass).chain(averaged) {
            if let Some((i, x)) = mass.iter().enumerate().find(|(_, x)| **x < 0.0) {
                return Err(bad(format!("mass[{i}] is {x}; masses must be ≥ 0")));
            }
        }
        if !(self.reference_weight.is_finite() && self.reference_weight >= 0.0) {
            return Err(bad(format!(
                "reference_weight is {}; expected a finite number ≥ 0",
                self.reference_weight
            )));
        }
        if !(self.pass.weight.is_finite() && self.pass.weight >= 0.0 && self.pass.ll.is_finite()) {
            return Err(bad("the pass tally is not finite".into()));
        }
        Ok(())
    }
}

/// The warnings of an online fit after a pass of `rows` rows of total weight `weight`:
/// the batch fit's rules (too many parameters, a constant feature, `reg_covar` large, an
/// empty or collapsed component) applied to the model's statistics (the running ones,
/// or their average) scaled to the pass. Online EM has no convergence test: no
/// "not converged" warning.
pub(crate) fn pass_warnings(
    state: &OnlineState,
    params: &Params,
    opts: &GmmOptions,
    rows: u64,
    weight: f64,
    lower_bounds: &[f64],
) -> Vec<crate::fit::FitWarning> {
    use crate::fit::degenerate::{min_mass, DataSpread};
    let (k, d, kind) = (params.k, params.d, params.kind());
    let (mass, means, scatter) = match &state.average {
        Some(a) => (&a.mass, &a.means, &a.scatter),
        None => (&state.mass, &state.means, &state.scatter),
    };
    let mut st = SuffStats::new(kind, k, d, means);
    for (o, m) in st.nk.iter_mut().zip(mass) {
        *o = m * weight;
    }
    for (o, v) in st.m2.iter_mut().zip(scatter) {
        *o = v * weight;
    }
    st.wsum = weight;
    let spread = DataSpread::from_stats(&st, &vec![false; d]);
    let constant: Vec<bool> = (0..d)
        .map(|j| {
            let v = spread.variance(j);
            v.is_nan() || v <= 0.0
        })
        .collect();
    let spread = DataSpread::from_stats(&st, &constant);
    let constant_values: Vec<Option<f64>> = (0..d)
        .map(|j| constant[j].then(|| means.get(j).copied().unwrap_or(0.0)))
        .collect();
    let n_rows = usize::try_from(rows).unwrap_or(usize::MAX);
    crate::fit::warnings::fit_warnings(&crate::fit::warnings::WarningInput {
        opts,
        params,
        stats: &st,
        spread: &spread,
        constant_values: &constant_values,
        converged: true,
        lower_bounds,
        n_rows,
        min_mass: min_mass(if rows > 0 { weight / rows as f64 } else { 1.0 }),
        n_parameters: kind.n_parameters(k, d),
    })
}

/// A batch's E-step under `p` on `opts.n_threads` threads, checked: its statistics, or
/// the error a fit would give (a read error of a streamed batch, a non-finite
/// log-likelihood).
pub(crate) fn batch_stats(opts: &GmmOptions, data: &Data, p: &Params) -> Result<SuffStats> {
    let st = crate::parallel::install(opts.n_threads, || e_pass(data, p, false))?;
    if let Some(e) = data.take_read_error() {
        return Err(e);
    }
    if !st.is_finite() || st.wsum.is_nan() || st.wsum <= 0.0 {
        return Err(GmmError::Numerical(format!(
            "the batch's log-likelihood is {} (total weight {})",
            st.ll / st.wsum,
            st.wsum
        )));
    }
    Ok(st)
}
