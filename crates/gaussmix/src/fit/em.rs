//! One EM run: E-step pass, M-step, factorisation, stopping rule, and re-seeding of
//! degenerate components with `recover`.

use crate::covariance::{CovarianceType, Covariances};
use crate::data::Data;
use crate::error::{GmmError, Result};
use crate::fit::degenerate::{
    degenerate_components, min_mass, spurious_components, DataSpread, Degeneracy,
};
use crate::fit::init::widen;
use crate::fit::Recovery;
use crate::options::GmmOptions;
use crate::params::Params;
use crate::stats::SuffStats;

/// The outcome of one EM run.
pub(crate) struct Run {
    pub params: Params,
    pub converged: bool,
    pub n_iter: usize,
    pub lower_bounds: Vec<f64>,
    pub recoveries: Vec<Recovery>,
    /// The components the spurious-optimum rule flags in the final parameters.
    pub spurious: Vec<usize>,
}

impl Run {
    /// The last iteration's mean log-likelihood (−∞ without iterations): what the
    /// restarts and the split-and-merge moves compare.
    pub fn final_lower_bound(&self) -> f64 {
        self.lower_bounds
            .last()
            .copied()
            .unwrap_or(f64::NEG_INFINITY)
    }
}

/// What re-seeding needs to know about the data.
struct Reseeder {
    /// Per-feature variance of the whole data: a re-seeded component starts this wide.
    variance: Vec<f64>,
    /// A component with less mass than this is dead (half a row; the rule of
    /// `fit::degenerate`).
    min_mass: f64,
    /// Re-seeds allowed per run, so that a point that keeps capturing a component cannot
    /// make EM loop on re-seeding: past it, the default behaviour applies.
    budget: usize,
}

impl Reseeder {
    fn new(data: &Data) -> Self {
        let (_, variance) = data.column_moments();
        Reseeder {
            variance,
            min_mass: min_mass(data.row_unit()),
            budget: 0,
        }
    }

    /// Moves component `c` onto data row `row` with the data's own spread and weight 1/K.
    fn reseed(
        &self,
        c: usize,
        row: &[f64],
        reg_covar: f64,
        w: &mut ndarray::Array1<f64>,
        m: &mut ndarray::Array2<f64>,
        cov: &mut Covariances,
    ) {
        let k = m.nrows();
        m.row_mut(c).assign(&ndarray::ArrayView1::from(row));
        // A tied covariance is shared: only the mean and weight move.
        widen(cov, c, &self.variance, reg_covar);
        let others: f64 = (0..k).filter(|&j| j != c).map(|j| w[j]).sum();
        let share = 1.0 / k as f64;
        for j in 0..k {
            w[j] = if j == c {
                share
            } else if others > 0.0 {
                w[j] / others * (1.0 - share)
            } else {
                (1.0 - share) / (k - 1).max(1) as f64
            };
        }
    }
}

/// One EM run as a state machine: [`EmRun::step`] takes the statistics of an E-step pass
/// under [`EmRun::params`] and does the rest of the iteration. Whoever owns the runs
/// decides how the passes are made: one run at a time, several runs' passes
/// from one read of each chunk (`fit::restarts`, with `pass::e_passes`), or runs on
/// different threads; the arithmetic of each run is the same in every case.
///
/// EM stops when `|Lᵗ − Lᵗ⁻¹| < tol` or after `max_iter` iterations (fixtures README:
/// L⁰ = −∞, strict inequality).
///
/// With `opts.recover`, a component that is degenerate by the rule of `fit::degenerate`
/// — it lost its mass (less than half a row), or its covariance collapsed and
/// is numerically singular (not even `reg_covar` holds it above the rounding of the
/// data's variance: `Degeneracy::singular`, in practice `reg_covar` ≈ 0) — or whose
/// covariance stops being positive definite is re-seeded on the worst-explained row not
/// used yet, with the data's variance and weight 1/K; the event is recorded and
/// convergence is not declared on the iteration that re-seeded. At most `2K` re-seeds
/// happen per run; after that the default behaviour applies: an empty component stays,
/// a singular or not positive definite covariance is an error saying recovery gave up.
/// A collapse that `reg_covar` holds is left alone (the fit's warnings report it).
/// `constant` marks the data's constant columns (left out of the collapse test).
pub(crate) struct EmRun<'a, 'd> {
    data: &'a Data<'d>,
    opts: &'a GmmOptions,
    constant: &'a [bool],
    reseeder: Option<Reseeder>,
    params: Params,
    recoveries: Vec<Recovery>,
    lower_bounds: Vec<f64>,
    prev: f64,
    converged: bool,
    max_iter: usize,
    /// The masses of the last E-step: with `params` (its M-step) they are what the
    /// spurious-optimum rule judges.
    last_nk: Option<Vec<f64>>,
    /// The data's spread, from the first pass's statistics (they describe the data
    /// whatever the parameters).
    spread: Option<DataSpread>,
}

impl<'a, 'd> EmRun<'a, 'd> {
    /// A run from `params` (with `fixes`, the widenings its initialisation needed).
    pub fn new(
        data: &'a Data<'d>,
        opts: &'a GmmOptions,
        constant: &'a [bool],
        params: Params,
        fixes: Vec<Recovery>,
    ) -> Self {
        let reseeder = opts.recover.then(|| Reseeder {
            budget: 2 * opts.n_components,
            ..Reseeder::new(data)
        });
        EmRun {
            data,
            opts,
            constant,
            reseeder,
            params,
            recoveries: fixes,
            lower_bounds: Vec::new(),
            prev: f64::NEG_INFINITY,
            converged: false,
            max_iter: opts.max_iter,
            last_nk: None,
            spread: None,
        }
    }

    /// The current parameters (the next E-step is made under these).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Whether the next pass must keep the worst-explained rows (for re-seeding).
    pub fn track_worst(&self) -> bool {
        self.reseeder.is_some()
    }

    /// Iterations done.
    pub fn n_iter(&self) -> usize {
        self.lower_bounds.len()
    }

    /// The last iteration's mean log-likelihood (−∞ before the first).
    pub fn lower_bound(&self) -> f64 {
        self.lower_bounds
            .last()
            .copied()
            .unwrap_or(f64::NEG_INFINITY)
    }

    /// Iteration `i`'s (0-based) mean log-likelihood.
    pub fn lower_bound_at(&self, i: usize) -> f64 {
        self.lower_bounds
            .get(i)
            .copied()
            .unwrap_or(f64::NEG_INFINITY)
    }

    /// Whether the stopping rule fired or `max_iter` iterations were made.
    pub fn done(&self) -> bool {
        self.converged || self.n_iter() >= self.max_iter
    }

    /// The spurious components (`fit::degenerate::spurious_components`) of the current
    /// parameters with the masses that produced them; empty before the first step.
    pub fn spurious(&self) -> Vec<usize> {
        match (&self.last_nk, &self.spread) {
            (Some(nk), Some(spread)) => spurious_components(
                nk,
                self.data.row_unit(),
                &self.params.covariances,
                self.opts.reg_covar,
                spread,
            ),
            _ => Vec::new(),
        }
    }

    /// One iteration given `st`, the statistics of an E-step pass under
    /// [`EmRun::params`]: returns that pass's mean log-likelihood.
    pub fn step(&mut self, st: SuffStats) -> Result<f64> {
        let EmRun {
            data,
            opts,
            constant,
            reseeder,
            recoveries,
            ..
        } = self;
        let (data, opts, constant) = (*data, *opts, *constant);
        let t = self.lower_bounds.len() + 1;
        let l = st.mean_log_likelihood();
        if !l.is_finite() {
            return Err(GmmError::Numerical(format!(
                "the log-likelihood became {l} at EM iteration {t}"
            )));
        }
        if self.spread.is_none() {
            self.spread = Some(DataSpread::from_stats(&st, constant));
        }
        let (mut w, mut m, mut c) = st.m_step(opts.reg_covar, opts.variance_floor)?;
        let mut reseeded: Vec<usize> = Vec::new();
        let mut next_row = st.worst.iter().map(|x| x.1);
        let mut reseed = |comp: usize, reason: String, w: &mut _, m: &mut _, c: &mut _| -> bool {
            let Some(rs) = reseeder.as_ref() else {
                return false;
            };
            if recoveries.len() >= rs.budget {
                return false;
            }
            let Some(row) = next_row.next() else {
                return false;
            };
            rs.reseed(comp, &data.row_f64(row), opts.reg_covar, w, m, c);
            recoveries.push(Recovery {
                iteration: t,
                component: comp,
                row: Some(row),
                reason,
            });
            true
        };
        if let (Some(rs), Some(spread)) = (reseeder.as_ref(), self.spread.as_ref()) {
            let tied = opts.covariance_type == CovarianceType::Tied;
            for dg in degenerate_components(&st.nk, rs.min_mass, &c, opts.reg_covar, spread) {
                let Some(comp) = dg.component else {
                    continue;
                };
                match dg.why {
                    Degeneracy::Empty { mass, .. } => {
                        if reseed(
                            comp,
                            format!("its mass fell to {mass:.3e}"),
                            &mut w,
                            &mut m,
                            &mut c,
                        ) {
                            reseeded.push(comp);
                        }
                    }
                    // A tied covariance is shared: moving one component cannot widen it.
                    Degeneracy::Collapsed { .. } if tied => {}
                    // Held by reg_covar, a collapsed component is a (spiky) optimum of
                    // the regularised likelihood scikit-learn defines: it stays, and the
                    // fit's warnings report it. Re-seeding it would change what `recover`
                    // fits with reg_covar > 0 and, with K at least the number of distinct
                    // rows, only burn the re-seeds to land in the same state.
                    Degeneracy::Collapsed { .. } if !dg.why.singular(opts.reg_covar) => {}
                    Degeneracy::Collapsed { ratio, .. } => {
                        if reseed(
                            comp,
                            format!(
                                "its covariance collapsed ({ratio:.1e} of the data's variance along a direction) and reg_covar does not hold it"
                            ),
                            &mut w,
                            &mut m,
                            &mut c,
                        ) {
                            reseeded.push(comp);
                        } else {
                            // Out of re-seeds: the covariance is numerically singular at
                            // the data's scale, an error as for one not positive definite.
                            let n = recoveries.len();
                            return Err(GmmError::NotPositiveDefinite {
                                component: comp,
                                reg_covar: opts.reg_covar,
                                context: format!(
                                    " after EM iteration {t} (recovery gave up after {n} re-seeds)"
                                ),
                            });
                        }
                    }
                }
            }
        }
        let params = loop {
            match Params::new(w.clone(), m.clone(), c.clone(), opts.reg_covar) {
                Ok(p) => break p,
                Err(GmmError::NotPositiveDefinite { component, .. })
                    if reseeder.is_some()
                        && opts.covariance_type != CovarianceType::Tied
                        && !reseeded.contains(&component)
                        && reseed(
                            component,
                            "its covariance was not positive definite".into(),
                            &mut w,
                            &mut m,
                            &mut c,
                        ) =>
                {
                    reseeded.push(component);
                }
                Err(e) => {
                    let e = with_iteration(e, t);
                    return Err(if reseeder.is_some() {
                        let n = recoveries.len();
                        e.map_pd_context(|c| format!("{c} (recovery gave up after {n} re-seeds)"))
                    } else {
                        e
                    });
                }
            }
        };
        self.params = params;
        self.last_nk = Some(st.nk);
        self.lower_bounds.push(l);
        if !reseeded.is_empty() {
            // The jump a re-seed causes is not convergence.
            self.prev = f64::NEG_INFINITY;
        } else if (l - self.prev).abs() < opts.tol {
            self.converged = true;
        } else {
            self.prev = l;
        }
        Ok(l)
    }

    /// The finished run.
    /// The current parameters: the start of a new run (em-EM continues short runs made
    /// on a sample of the rows as runs on all of them).
    pub fn into_params(self) -> Params {
        self.params
    }

    pub fn finish(self) -> Run {
        let spurious = self.spurious();
        Run {
            n_iter: self.lower_bounds.len(),
            params: self.params,
            converged: self.converged,
            lower_bounds: self.lower_bounds,
            recoveries: self.recoveries,
            spurious,
        }
    }
}

pub(crate) fn with_iteration(e: GmmError, t: usize) -> GmmError {
    e.map_pd_context(|_| format!(" after EM iteration {t}"))
}
