//! Fitting: passes over the data, initialisation, the EM driver and restarts.
//!
//! The data path of a fit, top-down:
//! - this file: a fit's checks, and its record built from the winning run;
//! - `restarts`: the `n_init` runs — scheduled on shared passes (large data) or on
//!   separate threads (small data), em-EM's short runs, and the winner (the best lower
//!   bound among the runs that are not spurious optima);
//! - `split_merge`: em-EM's split-and-merge moves from the winning run;
//! - `init`: each run's starting parameters (k-means++, greedy k-means++, k-means,
//!   hierarchical (`hierarchical`), random, given);
//! - `em`: one run as a state machine fed by passes: M-step (`crate::stats`),
//!   factorisation (`crate::params`), stopping rule, re-seeding with `recover`;
//! - `pass`: a pass over the data as a map-reduce over chunks: each worker runs the
//!   chosen kernel (`crate::kernels`) over its chunks into its own statistics, merged in
//!   a fixed order (results do not depend on the thread count). [`pass::e_passes`] serves
//!   several parameter sets from one read of each chunk;
//! - `kmeans`: Lloyd's k-means and k-means++ (public: [`crate::kmeans`]);
//! - `degenerate`: the one rule for an empty or collapsed component (used by `em`'s
//!   re-seeding and by the warnings);
//! - `online`: online (stepwise) EM's running statistics, blended one batch at a time;
//! - `warnings`: the finished fit's [`FitWarning`]s, computed once from the final
//!   parameters and the final pass's statistics.
//!
//! Nothing here knows about the fitted model type: a fit returns parameters and a
//! [`FitRecord`]; `crate::model` wraps them.

pub(crate) mod degenerate;
pub(crate) mod em;
mod hierarchical;
pub(crate) mod init;
pub mod kmeans;
pub(crate) mod online;
pub(crate) mod pass;
mod record;
mod restarts;
pub(crate) mod split_merge;
pub(crate) mod warnings;

pub use online::OnlineState;
pub use record::{FitRecord, Progress, Recovery};
pub use split_merge::{SplitMergeMove, SplitMergeRecord};
pub use warnings::{FitWarning, WarningKind};

use crate::data::Data;
use crate::error::{GmmError, Result};
use crate::options::{check_feature_names, GmmOptions};
use crate::parallel::install;
use crate::params::Params;
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
    let constant = data.check_range();
    // A streamed read that failed filled its rows with zeros: report it, not what the
    // fit made of them.
    if let Some(e) = data.take_read_error() {
        return Err(e);
    }
    let constant = constant?;
    let result = install(opts.n_threads, || restarts(opts, data, &constant, progress))?;
    match data.take_read_error() {
        Some(e) => Err(e),
        None => result,
    }
}

/// The restarts (`restarts`): every run, the winner kept, the fit's record built.
fn restarts(
    opts: &GmmOptions,
    data: &Data,
    constant: &[bool],
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<(Params, FitRecord)> {
    let (mut runs, screen_rows, short_rows) = restarts::run_all(opts, data, constant, progress);
    let n_runs = runs.len();
    // Bad user input is the same for every restart: report it at once.
    for r in &runs {
        if let Err(
            e @ (GmmError::InvalidData(_)
            | GmmError::InvalidInit(_)
            | GmmError::InvalidOption { .. }),
        ) = r
        {
            return Err(e.clone());
        }
    }
    let spurious_inits: Vec<usize> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_ref().is_ok_and(|r| !r.spurious.is_empty()))
        .map(|(i, _)| i)
        .collect();
    let failures: Vec<(usize, String)> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.to_string())))
        .collect();
    let Some(best_init) = restarts::winner(&runs, opts.allow_spurious) else {
        // Every restart failed: the first reason is the one to show.
        let first = runs.iter().position(|r| r.is_err()).unwrap_or(0);
        return Err(match runs.swap_remove(first) {
            Err(e) => e,
            Ok(_) => GmmError::Numerical("no restart finished".into()),
        });
    };
    let settled = split_merge::settled(&runs, best_init, opts);
    let run = runs.swap_remove(best_init)?;
    // em-EM's split-and-merge moves from a sound winner.
    let em_em = opts.init == crate::options::InitMethod::EmEm && opts.start.is_empty();
    let (run, split_merge) = if em_em && (opts.allow_spurious || run.spurious.is_empty()) {
        split_merge::search(data, short_rows.as_ref(), opts, constant, run, settled)
    } else {
        (run, None)
    };
    if let Some(e) = data.take_read_error() {
        return Err(e);
    }
    let final_stats = e_pass(data, &run.params, false);
    let first = data.row_f64(0);
    let facts = DataFacts {
        n_samples: data.n_samples(),
        total_weight: data.total_weight(),
        n_rows: data.n_effective_rows(),
        row_unit: data.row_unit(),
        constant_values: constant
            .iter()
            .zip(&first)
            .map(|(&c, &v)| c.then_some(v))
            .collect(),
    };
    let restarts = RestartFacts {
        best_init,
        n_runs,
        failed_inits: failures
            .iter()
            .map(|(r, e)| format!("restart {r}: {e}"))
            .collect(),
        spurious_inits,
        screen_rows,
    };
    let mut record = build_record(opts, &run, &final_stats, &facts, restarts)?;
    record.split_merge = split_merge;
    Ok((run.params, record))
}

/// What a fit's record needs to know about the data besides the final pass's
/// statistics (a fit in memory reads it off [`Data`]; a fit over blocks merges it).
pub(crate) struct DataFacts {
    pub n_samples: usize,
    pub total_weight: f64,
    /// Rows with positive weight.
    pub n_rows: usize,
    /// The weight of one row (`Data::row_unit`).
    pub row_unit: f64,
    /// Per feature: its value when the column is constant.
    pub constant_values: Vec<Option<f64>>,
}

/// The restarts' side of a record.
pub(crate) struct RestartFacts {
    pub best_init: usize,
    pub n_runs: usize,
    pub failed_inits: Vec<String>,
    pub spurious_inits: Vec<usize>,
    pub screen_rows: Option<usize>,
}

/// The record of a fit whose winner is `run`: the score, criteria and warnings from
/// `final_stats` (an E-step pass under the run's final parameters).
pub(crate) fn build_record(
    opts: &GmmOptions,
    run: &em::Run,
    final_stats: &crate::stats::SuffStats,
    facts: &DataFacts,
    restarts: RestartFacts,
) -> Result<FitRecord> {
    let score = final_stats.mean_log_likelihood();
    if !score.is_finite() {
        return Err(GmmError::Numerical(format!(
            "the final log-likelihood is {score}"
        )));
    }
    let n = facts.total_weight;
    let n_parameters = opts
        .covariance_type
        .n_parameters(opts.n_components, final_stats.d);
    let n_rows = facts.n_rows;
    let min_mass = degenerate::min_mass(facts.row_unit);
    let constant: Vec<bool> = facts.constant_values.iter().map(|v| v.is_some()).collect();
    let spread = degenerate::DataSpread::from_stats(final_stats, &constant);
    let mut warnings = warnings::fit_warnings(&warnings::WarningInput {
        opts,
        params: &run.params,
        stats: final_stats,
        spread: &spread,
        constant_values: &facts.constant_values,
        converged: run.converged,
        lower_bounds: &run.lower_bounds,
        n_rows,
        min_mass,
        n_parameters,
    });
    if !run.spurious.is_empty() {
        let live = constant.iter().filter(|c| !**c).count();
        let need = degenerate::spurious_min_rows(&run.params.covariances, live).ceil() as usize;
        let too_few = (need > 0 && n_rows < opts.n_components.saturating_mul(need)).then_some((
            n_rows,
            opts.n_components,
            need,
        ));
        warnings.push(warnings::spurious_warning(
            &run.spurious,
            restarts.spurious_inits.len(),
            restarts.n_runs,
            opts.n_init,
            opts.allow_spurious,
            too_few,
        ));
    }
    // The names live on the model (at the top of its file), not in the record.
    let mut options = opts.clone();
    options.feature_names = None;
    Ok(FitRecord {
        converged: run.converged,
        n_iter: run.n_iter,
        lower_bound: run
            .lower_bounds
            .last()
            .copied()
            .unwrap_or(f64::NEG_INFINITY),
        lower_bounds: run.lower_bounds.clone(),
        n_samples: facts.n_samples,
        total_weight: n,
        score,
        bic: -2.0 * n * score + n_parameters as f64 * n.ln(),
        aic: -2.0 * n * score + 2.0 * n_parameters as f64,
        n_parameters,
        best_init: restarts.best_init,
        failed_inits: restarts.failed_inits,
        spurious_inits: restarts.spurious_inits,
        screen_rows: restarts.screen_rows,
        split_from: None,
        split_merge: None,
        recoveries: run.recoveries.clone(),
        warnings,
        options,
    })
}

/// Exactly one EM iteration from the starting parameters of the first run: the new
/// parameters and the mean log-likelihood of the start.
pub(crate) fn one_step(opts: &GmmOptions, data: &Data) -> Result<(Params, f64)> {
    let seed = restarts::run_seed(opts.seed, 0);
    let result = install(opts.n_threads, || {
        let (p, _) = initial_params(data, opts, seed)?;
        let st = e_pass(data, &p, false);
        let l = st.mean_log_likelihood();
        let (w, m, c) = st.m_step(opts.reg_covar, opts.variance_floor)?;
        let params = Params::new(w, m, c, opts.reg_covar)?;
        Ok((params, l))
    })?;
    match data.take_read_error() {
        Some(e) => Err(e),
        None => result,
    }
}
