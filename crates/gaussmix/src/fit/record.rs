//! What a fit reports: its record (kept in model files), re-seeding events and progress.

use serde::{Deserialize, Serialize};

use super::split_merge::SplitMergeRecord;
use super::warnings::FitWarning;
use crate::options::GmmOptions;

/// What happened during a fit; stored in model files.
///
/// ```
/// use gaussmix::GaussianMixture;
/// let x = ndarray::array![[0.0], [0.2], [5.0], [5.2], [5.1]];
/// let m = GaussianMixture::params(2).n_init(3).fit(&x)?;
/// let rec = m.fit_record().expect("a fitted model has a record");
/// assert_eq!((rec.n_samples, rec.n_iter), (5, m.n_iter()));
/// assert_eq!(rec.lower_bounds.len(), rec.n_iter);
/// assert!(rec.best_init < 3 && rec.failed_inits.is_empty());
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
#[non_exhaustive]
pub struct FitRecord {
    /// Whether the stopping rule fired before `max_iter`.
    pub converged: bool,
    /// EM iterations of the kept run.
    pub n_iter: usize,
    /// Mean log-likelihood at the start of the last iteration (scikit-learn's
    /// `lower_bound_`; it lags the final parameters by one step).
    pub lower_bound: f64,
    /// The mean log-likelihood at every iteration of the kept run.
    pub lower_bounds: Vec<f64>,
    /// Rows of the training data.
    pub n_samples: usize,
    /// Total sample weight (equals `n_samples` without weights).
    pub total_weight: f64,
    /// Mean log-likelihood of the training data under the final parameters.
    pub score: f64,
    /// Bayesian information criterion on the training data.
    pub bic: f64,
    /// Akaike information criterion on the training data.
    pub aic: f64,
    /// Free parameters of the model.
    pub n_parameters: usize,
    /// Which restart (0-based) was kept. With em-EM, when every one of the `n_init`
    /// restarts ended spurious, up to `n_init` more short runs are continued as runs
    /// `n_init..`; one of them may be kept.
    pub best_init: usize,
    /// Restarts that failed, with their reasons.
    pub failed_inits: Vec<String>,
    /// Runs (0-based, extra em-EM runs included) whose result was a spurious optimum: a
    /// component with fewer rows' mass than its covariance needs (`D + 1` full, 2 diag/spherical) or whose
    /// covariance collapsed (the degenerate-component rule; README "Degenerate
    /// components"). Unless `allow_spurious`, such a run only wins when every run is
    /// spurious (the fit then carries a `spurious_optimum` warning).
    pub spurious_inits: Vec<usize>,
    /// em-EM: the number of rows its short runs were made on when they were screened on
    /// a sample (data with at least twice `max(1000, 10·K·D)` rows); `None` when they
    /// ran on every row, or without em-EM.
    #[serde(default)]
    pub screen_rows: Option<usize>,
    /// `select`'s warm start: this fit is one EM run started from the kept model with
    /// this many components (`k − 1`), its widest component split in two — not from
    /// `options.init` (and `options.n_init` is 1). `None` for every other fit.
    #[serde(default)]
    pub split_from: Option<usize>,
    /// em-EM's split-and-merge search from the winning restart
    /// ([`GmmOptions::split_merge_moves`]): moves tried and those kept. When a move was
    /// kept, `n_iter`, `lower_bounds` and `converged` are those of the last kept move's
    /// EM run (started from the moved parameters), or, when the moves ran on a sample,
    /// of its continuation on all the rows; `best_init` still names the restart it came
    /// from. `None` when no search applied (other starts, `K < 3`, no moves asked for,
    /// or a spurious winner); a search skipped because the restarts agreed is recorded
    /// (`settled`). The moves send no [`Progress`] reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_merge: Option<SplitMergeRecord>,
    /// Components re-seeded by the `recover` option during the kept run.
    pub recoveries: Vec<Recovery>,
    /// What the user should know about the result (not converged, empty or collapsed
    /// components, a `reg_covar` too large for the data...), in a fixed order; empty
    /// for an ordinary fit. Files of version 1 have none.
    pub warnings: Vec<FitWarning>,
    /// The options of the fit (without `feature_names`, which the model carries).
    pub options: GmmOptions,
}

/// A component re-seeded during EM (only with the `recover` option).
///
/// ```
/// // A fit with `recover(true)` lists its re-seeds (none on easy data).
/// let x = ndarray::array![[0.0], [0.2], [5.0], [5.2]];
/// let m = gaussmix::GaussianMixture::params(2).recover(true).fit(&x)?;
/// let recoveries: &[gaussmix::Recovery] = &m.fit_record().unwrap().recoveries;
/// assert!(recoveries.is_empty());
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
#[non_exhaustive]
pub struct Recovery {
    /// The EM iteration after which it happened (1-based).
    pub iteration: usize,
    /// The component (0-based).
    pub component: usize,
    /// The data row it was re-seeded on (0-based); `None` when only its covariance was
    /// widened (at initialisation).
    pub row: Option<usize>,
    /// Why: lost its mass, or covariance not positive definite.
    pub reason: String,
}

/// Progress of a running fit, for progress bars and logs.
///
/// ```
/// let x = ndarray::array![[0.0], [0.2], [5.0], [5.2]];
/// let mut seen = Vec::new();
/// let mut short = 0;
/// let m = gaussmix::GaussianMixture::params(2).fit_with_progress(&x, &mut |p: &gaussmix::Progress| {
///     match p.short_run {
///         Some(_) => short += 1,                // em-EM's short runs (the default start)
///         None => seen.push(p.iteration),       // the complete run
///     }
/// })?;
/// assert!(short > 0);
/// // The complete run reports the iterations after its short run's, up to the last.
/// assert!(seen.is_empty() || seen.last() == Some(&m.n_iter()));
/// assert!(seen.windows(2).all(|w| w[1] == w[0] + 1));
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Restart (0-based).
    pub run: usize,
    /// em-EM's short run being advanced (0-based, of `short_runs`), before the restarts
    /// continue; `None` in the complete runs.
    pub short_run: Option<usize>,
    /// em-EM's short runs in all (0 for other starts).
    pub short_runs: usize,
    /// Total restarts.
    pub n_init: usize,
    /// EM iteration (1-based) within the run.
    pub iteration: usize,
    /// Mean log-likelihood at this iteration.
    pub lower_bound: f64,
    /// Change from the previous iteration (∞ at the first).
    pub change: f64,
}
