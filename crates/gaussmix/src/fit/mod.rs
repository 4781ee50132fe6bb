//! Fitting: passes over the data, initialisation, the EM driver and restarts.
//!
//! The data path of a fit, top-down:
//! - [`restarts`](fit) (this file): `n_init` runs from independent seeds, the best lower
//!   bound kept, the fit's record built;
//! - `init`: each run's starting parameters (k-means, k-means++, random, given);
//! - `em`: one run: E-step pass, M-step (`crate::stats`), factorisation (`crate::params`),
//!   stopping rule, re-seeding with `recover`;
//! - `pass`: a pass over the data as a map-reduce over chunks: each worker runs the
//!   chosen kernel (`crate::kernels`) over its chunks into its own statistics, merged in
//!   a fixed order (results do not depend on the thread count). [`pass::e_passes`] serves
//!   several parameter sets from one read of each chunk;
//! - `kmeans`: Lloyd's k-means and k-means++ (public: [`crate::kmeans`]);
//! - `degenerate`: the one rule for an empty or collapsed component (used by `em`'s
//!   re-seeding and by the warnings);
//! - `warnings`: the finished fit's [`FitWarning`]s, computed once from the final
//!   parameters and the final pass's statistics.
//!
//! Nothing here knows about the fitted model type: a fit returns parameters and a
//! [`FitRecord`]; `crate::model` wraps them.

pub(crate) mod degenerate;
pub(crate) mod em;
pub(crate) mod init;
pub mod kmeans;
pub(crate) mod pass;
mod record;
pub(crate) mod warnings;

pub use record::{FitRecord, Progress, Recovery};
pub use warnings::{FitWarning, WarningKind};

use crate::data::Data;
use crate::error::{GmmError, Result};
use crate::options::{check_feature_names, GmmOptions};
use crate::parallel::{derive_seed, install};
use crate::params::Params;
use em::{run_em, Run};
use init::initial_params;
use pass::e_pass;

/// Fits `opts` to `data`: validated options, enough rows, data in range; then the
/// restarts on `opts.n_threads` threads. `progress` is called after every EM iteration.
pub(crate) fn fit(
    opts: &GmmOptions,
    data: &Data,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<(Params, FitRecord)> {
    opts.validate()?;
    let k = opts.n_components;
    let eff = data.n_effective_rows();
    if eff < k {
        return Err(GmmError::InvalidData(format!(
            "{eff} {} (with positive weight) {} fewer than n_components = {k}; use at most {eff} {} or more data",
            if eff == 1 { "sample" } else { "samples" },
            if eff == 1 { "is" } else { "are" },
            if eff == 1 { "component" } else { "components" }
        )));
    }
    if let Some(names) = &opts.feature_names {
        check_feature_names(names, Some(data.n_features()))?;
    }
    let constant = data.check_range()?;
    install(opts.n_threads, || restarts(opts, data, &constant, progress))?
}

/// The restarts: the run with the best final lower bound is kept (the first on ties).
fn restarts(
    opts: &GmmOptions,
    data: &Data,
    constant: &[bool],
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<(Params, FitRecord)> {
    let mut best: Option<(usize, Run)> = None;
    let mut failures: Vec<(usize, GmmError)> = Vec::new();
    for run in 0..opts.n_init {
        let seed = derive_seed(opts.seed, run as u64, 0x1A17);
        let outcome = initial_params(data, opts, seed).and_then(|(p, init_fixes)| {
            let mut prev = f64::NEG_INFINITY;
            run_em(data, opts, constant, p, init_fixes, |t, l| {
                progress(&Progress {
                    run,
                    n_init: opts.n_init,
                    iteration: t,
                    lower_bound: l,
                    change: (l - prev).abs(),
                });
                prev = l;
            })
        });
        match outcome {
            Ok(r) => {
                let lb = r.lower_bounds.last().copied().unwrap_or(f64::NEG_INFINITY);
                let better = best.as_ref().is_none_or(|(_, b)| {
                    lb > b.lower_bounds.last().copied().unwrap_or(f64::NEG_INFINITY)
                });
                if better {
                    best = Some((run, r));
                }
            }
            // Bad user input is the same for every restart: report it at once.
            Err(
                e @ (GmmError::InvalidData(_)
                | GmmError::InvalidInit(_)
                | GmmError::InvalidOption { .. }),
            ) => return Err(e),
            Err(e) => failures.push((run, e)),
        }
    }
    let Some((best_init, run)) = best else {
        // Every restart failed: the first reason is the one to show.
        let (_, e) = failures.swap_remove(0);
        return Err(e);
    };
    let final_stats = e_pass(data, &run.params, false);
    let score = final_stats.mean_log_likelihood();
    if !score.is_finite() {
        return Err(GmmError::Numerical(format!(
            "the final log-likelihood is {score}"
        )));
    }
    let n = data.total_weight();
    let n_parameters = opts
        .covariance_type
        .n_parameters(opts.n_components, data.n_features());
    let n_rows = data.n_effective_rows();
    let min_mass = degenerate::min_mass(n, n_rows);
    let spread = degenerate::DataSpread::from_stats(&final_stats, constant);
    let first = data.row_f64(0);
    let constant_values: Vec<Option<f64>> = constant
        .iter()
        .zip(&first)
        .map(|(&c, &v)| c.then_some(v))
        .collect();
    let warnings = warnings::fit_warnings(&warnings::WarningInput {
        opts,
        params: &run.params,
        stats: &final_stats,
        spread: &spread,
        constant_values: &constant_values,
        converged: run.converged,
        lower_bounds: &run.lower_bounds,
        n_rows,
        min_mass,
        n_parameters,
    });
    // The names live on the model (at the top of its file), not in the record.
    let mut options = opts.clone();
    options.feature_names = None;
    let record = FitRecord {
        converged: run.converged,
        n_iter: run.n_iter,
        lower_bound: run
            .lower_bounds
            .last()
            .copied()
            .unwrap_or(f64::NEG_INFINITY),
        lower_bounds: run.lower_bounds,
        n_samples: data.n_samples(),
        total_weight: n,
        score,
        bic: -2.0 * n * score + n_parameters as f64 * n.ln(),
        aic: -2.0 * n * score + 2.0 * n_parameters as f64,
        n_parameters,
        best_init,
        failed_inits: failures
            .iter()
            .map(|(r, e)| format!("restart {r}: {e}"))
            .collect(),
        recoveries: run.recoveries,
        warnings,
        options,
    };
    Ok((run.params, record))
}

/// Exactly one EM iteration from the starting parameters of the first run: the new
/// parameters and the mean log-likelihood of the start.
pub(crate) fn one_step(opts: &GmmOptions, data: &Data) -> Result<(Params, f64)> {
    let seed = derive_seed(opts.seed, 0, 0x1A17);
    install(opts.n_threads, || {
        let (p, _) = initial_params(data, opts, seed)?;
        let st = e_pass(data, &p, false);
        let l = st.mean_log_likelihood();
        let (w, m, c) = st.m_step(opts.reg_covar, opts.variance_floor)?;
        let params = Params::new(w, m, c, opts.reg_covar)?;
        Ok((params, l))
    })?
}
