//! One EM run: E-step pass, M-step, factorisation, stopping rule, and re-seeding of
//! degenerate components with `recover`.

use crate::covariance::{CovarianceType, Covariances};
use crate::data::Data;
use crate::error::{GmmError, Result};
use crate::fit::degenerate::{degenerate_components, min_mass, DataSpread, Degeneracy};
use crate::fit::init::widen;
use crate::fit::pass::e_pass;
use crate::fit::Recovery;
use crate::options::GmmOptions;
use crate::params::Params;

/// The outcome of one EM run.
pub(crate) struct Run {
    pub params: Params,
    pub converged: bool,
    pub n_iter: usize,
    pub lower_bounds: Vec<f64>,
    pub recoveries: Vec<Recovery>,
}

/// What re-seeding needs to know about the data.
struct Reseeder {
    /// Per-feature variance of the whole data: a re-seeded component starts this wide.
    variance: Vec<f64>,
    /// A component with less mass than this is dead (half an average row; the rule of
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
            min_mass: min_mass(data.total_weight(), data.n_effective_rows()),
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

/// Runs EM from `params` until `|Lᵗ − Lᵗ⁻¹| < tol` or `max_iter` iterations
/// (fixtures README: L⁰ = −∞, strict inequality).
///
/// With `opts.recover`, a component that is degenerate by the rule of `fit::degenerate`
/// — it lost its mass (less than half an average row), or its covariance collapsed and
/// is numerically singular (not even `reg_covar` holds it above the rounding of the
/// data's variance: `Degeneracy::singular`, in practice `reg_covar` ≈ 0) — or whose
/// covariance stops being positive definite is re-seeded on the worst-explained row not
/// used yet, with the data's variance and weight 1/K; the event is recorded and
/// convergence is not declared on the iteration that re-seeded. At most `2K` re-seeds
/// happen per run; after that the default behaviour applies: an empty component stays,
/// a singular or not positive definite covariance is an error saying recovery gave up.
/// A collapse that `reg_covar` holds is left alone (the fit's warnings report it). `constant` marks the data's constant columns
/// (left out of the collapse test).
pub(crate) fn run_em(
    data: &Data,
    opts: &GmmOptions,
    constant: &[bool],
    mut params: Params,
    mut recoveries: Vec<Recovery>,
    mut on_iter: impl FnMut(usize, f64),
) -> Result<Run> {
    let mut prev = f64::NEG_INFINITY;
    let mut lower_bounds = Vec::new();
    let mut converged = false;
    let reseeder = opts.recover.then(|| Reseeder {
        budget: 2 * opts.n_components,
        ..Reseeder::new(data)
    });
    for t in 1..=opts.max_iter {
        let st = e_pass(data, &params, reseeder.is_some());
        let l = st.mean_log_likelihood();
        if !l.is_finite() {
            return Err(GmmError::Numerical(format!(
                "the log-likelihood became {l} at EM iteration {t}"
            )));
        }
        let (mut w, mut m, mut c) = st.m_step(opts.reg_covar, opts.variance_floor)?;
        let mut reseeded: Vec<usize> = Vec::new();
        let mut next_row = st.worst.iter().map(|x| x.1);
        let mut reseed = |comp: usize, reason: String, w: &mut _, m: &mut _, c: &mut _| -> bool {
            let Some(rs) = &reseeder else {
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
        if let Some(rs) = &reseeder {
            // The statistics describe the data whatever the parameters: they give its
            // covariance without another pass.
            let spread = DataSpread::from_stats(&st, constant);
            let tied = opts.covariance_type == CovarianceType::Tied;
            for dg in degenerate_components(&st.nk, rs.min_mass, &c, opts.reg_covar, &spread) {
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
        params = loop {
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
        lower_bounds.push(l);
        on_iter(t, l);
        if !reseeded.is_empty() {
            // The jump a re-seed causes is not convergence.
            prev = f64::NEG_INFINITY;
            continue;
        }
        if (l - prev).abs() < opts.tol {
            converged = true;
            break;
        }
        prev = l;
    }
    Ok(Run {
        n_iter: lower_bounds.len(),
        params,
        converged,
        lower_bounds,
        recoveries,
    })
}

pub(crate) fn with_iteration(e: GmmError, t: usize) -> GmmError {
    e.map_pd_context(|_| format!(" after EM iteration {t}"))
}
