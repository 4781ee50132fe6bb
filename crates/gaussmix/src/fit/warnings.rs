//! The fit's warnings: what a finished fit reports as data (kept in its record and in
//! model files), computed once at the end of a fit from the final parameters, the final
//! pass's statistics (which also give the data's covariance: no extra pass over the data)
//! and the constant columns found when the data's range was checked.

use serde::{Deserialize, Serialize};

use super::degenerate::{degenerate_components, DataSpread, Degeneracy};
use crate::options::GmmOptions;
use crate::params::Params;
use crate::stats::SuffStats;

/// What a [`FitWarning`] is about (serialised in `snake_case`).
///
/// ```
/// use gaussmix::WarningKind;
/// assert_eq!(serde_json::to_string(&WarningKind::RegCovarLarge).unwrap(), "\"reg_covar_large\"");
/// assert_eq!(WarningKind::NotConverged.as_str(), "not_converged");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningKind {
    /// EM stopped at `max_iter` before the change of the lower bound fell below `tol`.
    NotConverged,
    /// A component holds (nearly) no weight: less than half a row.
    EmptyComponent,
    /// A variance (or a covariance eigenvalue) collapsed to the regularisation level:
    /// the component sits on coincident rows.
    CollapsedVariance,
    /// `reg_covar` is larger than 1e-3 × a feature's variance in the data.
    RegCovarLarge,
    /// More free parameters than rows.
    TooManyParameters,
    /// A column holds one value in every row.
    ConstantFeature,
    /// Model selection: the winning candidate's fit did not converge.
    SelectWinnerNotConverged,
    /// The kept run is a spurious optimum (a component on a few near-identical rows):
    /// every run was, or `allow_spurious` let it win.
    SpuriousOptimum,
}

impl WarningKind {
    /// The `snake_case` name (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::NotConverged => "not_converged",
            WarningKind::EmptyComponent => "empty_component",
            WarningKind::CollapsedVariance => "collapsed_variance",
            WarningKind::RegCovarLarge => "reg_covar_large",
            WarningKind::TooManyParameters => "too_many_parameters",
            WarningKind::ConstantFeature => "constant_feature",
            WarningKind::SelectWinnerNotConverged => "select_winner_not_converged",
            WarningKind::SpuriousOptimum => "spurious_optimum",
        }
    }
}

impl std::fmt::Display for WarningKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a fit (or a selection) wants its user to know: the result is usable but
/// may not be what was meant. The message says what, where (0-based component, feature
/// by name when the fit was given names), the numbers, and what to do, naming the
/// library's options (`reg_covar`, `max_iter`, `tol`, `n_components`).
///
/// ```
/// use gaussmix::{GaussianMixture, WarningKind};
/// // The second column is constant.
/// let x = ndarray::Array2::from_shape_fn((40, 2), |(i, j)| if j == 1 { 1.0 } else { (i % 2) as f64 * 5.0 + (i % 7) as f64 * 0.1 });
/// let m = GaussianMixture::params(2)
///     .feature_names(Some(vec!["a".into(), "b".into()]))
///     .fit(&x)?;
/// let w = &m.fit_record().unwrap().warnings;
/// assert_eq!(w.len(), 1);
/// assert_eq!((w[0].kind, w[0].component, w[0].feature), (WarningKind::ConstantFeature, None, Some(1)));
/// assert!(w[0].message.starts_with("feature \"b\" is constant (1) in every row"));
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FitWarning {
    /// What kind of problem.
    pub kind: WarningKind,
    /// The component concerned (0-based), if one.
    #[serde(default)]
    pub component: Option<usize>,
    /// The feature concerned (0-based column), if one.
    #[serde(default)]
    pub feature: Option<usize>,
    /// The full, human-readable message.
    pub message: String,
}

impl FitWarning {
    pub(crate) fn new(
        kind: WarningKind,
        component: Option<usize>,
        feature: Option<usize>,
        message: String,
    ) -> Self {
        FitWarning {
            kind,
            component,
            feature,
            message,
        }
    }
}

impl std::fmt::Display for FitWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// `feature "name"` when names were given, else `feature 3` (0-based, as everywhere).
pub(crate) fn feature_label(j: usize, names: Option<&[String]>) -> String {
    match names.and_then(|n| n.get(j)) {
        Some(name) => format!("feature {name:?}"),
        None => format!("feature {j}"),
    }
}

/// A `reg_covar` above this fraction of a feature's variance is reported.
pub(crate) const REG_COVAR_LARGE: f64 = 1e-3;

/// What the warnings are computed from.
pub(crate) struct WarningInput<'a> {
    pub opts: &'a GmmOptions,
    pub params: &'a Params,
    /// The final pass (final parameters) over the data.
    pub stats: &'a SuffStats,
    pub spread: &'a DataSpread,
    /// The value of each constant column (`None` for varying ones).
    pub constant_values: &'a [Option<f64>],
    pub converged: bool,
    pub lower_bounds: &'a [f64],
    /// Rows with positive weight.
    pub n_rows: usize,
    pub min_mass: f64,
    pub n_parameters: usize,
}

/// The warnings of a finished fit, in a fixed order: not converged; too many
/// parameters; per feature (in column order) constant, then `reg_covar` large; per
/// component (in order) empty or collapsed, a tied covariance's collapse last.
/// The warning for a kept run that is a spurious optimum (components `components`);
/// `n_spurious` of the `n_runs` runs were (`n_init` restarts, and em-EM's extra runs
/// beyond them); `too_few_rows` when the data cannot hold `K` sound components at all
/// (fewer rows than `K ×` the rows each needs).
pub(crate) fn spurious_warning(
    components: &[usize],
    n_spurious: usize,
    n_runs: usize,
    n_init: usize,
    allowed: bool,
    too_few_rows: Option<(usize, usize, usize)>,
) -> FitWarning {
    let mut list: Vec<String> = components.iter().take(8).map(|c| c.to_string()).collect();
    if components.len() > 8 {
        list.push(format!("… ({} in all)", components.len()));
    }
    let (noun, verb, its) = if components.len() == 1 {
        ("component", "sits", "its covariance needs")
    } else {
        ("components", "sit", "their covariances need")
    };
    let runs = if n_runs == 1 {
        "the only run was spurious".to_string()
    } else if n_runs > n_init {
        let extra = n_runs - n_init;
        format!(
            "all {n_spurious} of {n_runs} runs were spurious: the {n_init} {} and {extra} more em-EM short {} continued",
            if n_init == 1 { "restart" } else { "restarts" },
            if extra == 1 { "run" } else { "runs" }
        )
    } else {
        format!("all {n_spurious} of {n_runs} runs were spurious")
    };
    let (why, advice) = if allowed {
        (
            "allow_spurious let this run win".to_string(),
            "without allow_spurious a sound run wins when there is one".to_string(),
        )
    } else if let Some((rows, k, need)) = too_few_rows {
        (
            runs.clone(),
            format!("the data have {rows} rows, fewer than the {k} × {need} that {k} sound components need: use fewer n_components or a simpler covariance_type"),
        )
    } else {
        (
            runs,
            "try more restarts (n_init), fewer n_components, or a simpler covariance_type"
                .to_string(),
        )
    };
    FitWarning::new(
        WarningKind::SpuriousOptimum,
        components.first().copied(),
        None,
        format!(
            "spurious optimum: {noun} {} {verb} on fewer rows than {its} or collapsed onto near-identical rows, a likelihood spike rather than a better model ({why}); {advice}",
            list.join(", ")
        ),
    )
}

pub(crate) fn fit_warnings(w: &WarningInput) -> Vec<FitWarning> {
    let opts = w.opts;
    let names = opts.feature_names.as_deref();
    let reg = opts.reg_covar;
    let mut out = Vec::new();
    if !w.converged {
        let change = match w.lower_bounds {
            [.., a, b] => format!("{:.3e}", (b - a).abs()),
            _ => "unknown (a single iteration)".into(),
        };
        out.push(FitWarning::new(
            WarningKind::NotConverged,
            None,
            None,
            format!(
                "EM did not converge: the kept run stopped at max_iter = {} with the mean log-likelihood still changing by {change} per iteration (tol = {:e}); increase max_iter, loosen tol, or try more restarts (n_init) or another init",
                opts.max_iter, opts.tol
            ),
        ));
    }
    if w.n_parameters > w.n_rows {
        out.push(FitWarning::new(
            WarningKind::TooManyParameters,
            None,
            None,
            format!(
                "the model has {} free parameters but the data has only {} {}: it can fit the rows themselves rather than their distribution; use fewer n_components, a simpler covariance_type (diag or spherical), or more data",
                w.n_parameters,
                w.n_rows,
                if w.n_rows == 1 { "row" } else { "rows" }
            ),
        ));
    }
    for j in 0..w.spread.d {
        let label = feature_label(j, names);
        if let Some(Some(value)) = w.constant_values.get(j) {
            out.push(FitWarning::new(
                WarningKind::ConstantFeature,
                None,
                Some(j),
                format!(
                    "{label} is constant ({value}) in every row: it carries no information and every variance along it is reg_covar = {reg:e} alone; remove it from the data"
                ),
            ));
            continue;
        }
        let var = w.spread.variance(j);
        if reg > REG_COVAR_LARGE * var {
            out.push(FitWarning::new(
                WarningKind::RegCovarLarge,
                None,
                Some(j),
                format!(
                    "reg_covar = {reg:e} is larger than {REG_COVAR_LARGE:e} × the variance of {label} in the data ({var:.3e}): the regulariser, not the data, shapes the covariances along it; rescale the data (e.g. standardise it) or use a smaller reg_covar (e.g. {:.1e})",
                    1e-6 * var
                ),
            ));
        }
    }
    let found = degenerate_components(
        &w.stats.nk,
        w.min_mass,
        &w.params.covariances,
        reg,
        w.spread,
    );
    for dg in found {
        out.push(degenerate_warning(&dg, reg, names));
    }
    out
}

fn degenerate_warning(
    dg: &super::degenerate::Degenerate,
    reg: f64,
    names: Option<&[String]>,
) -> FitWarning {
    let who = match dg.component {
        Some(c) => format!("component {c}"),
        None => "the shared (tied) covariance".into(),
    };
    match &dg.why {
        Degeneracy::Empty { mass, threshold } => FitWarning::new(
            WarningKind::EmptyComponent,
            dg.component,
            None,
            format!(
                "{who} is empty: it holds {mass:.3e} of the data's weight (less than half a row, {threshold:.3e}), so its mean and covariance are not estimated from the data; use fewer n_components, or the recover option to re-seed it"
            ),
        ),
        Degeneracy::Collapsed {
            feature,
            excess,
            data_variance,
            ratio,
        } => {
            let along = match feature {
                Some(j) => feature_label(*j, names),
                None => "a combination of features".into(),
            };
            // Rounding can leave the excess a hair below zero (−1e-305): it is zero.
            let (excess, ratio) = (excess.max(0.0), ratio.max(0.0));
            FitWarning::new(
                WarningKind::CollapsedVariance,
                dg.component,
                *feature,
                format!(
                    "{who}'s variance along {along} collapsed to the regularisation level: {excess:.3e} above reg_covar = {reg:e}, {ratio:.1e} of the data's variance there ({data_variance:.3e}), so it sits on (nearly) coincident rows (duplicated rows or a discrete feature) and its density is a spike; use fewer n_components, remove duplicated rows or that feature, or the recover option to re-seed it"
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (review): when em-EM continued extra short runs after every restart
    /// ended spurious and those were spurious too, the warning said "the only run was
    /// spurious" (for n_init = 1) although two runs were made.
    #[test]
    fn the_spurious_warning_counts_every_run() {
        let m = |n_spurious, n_runs, n_init| {
            spurious_warning(&[1], n_spurious, n_runs, n_init, false, None).message
        };
        assert!(m(1, 1, 1).contains("(the only run was spurious)"));
        assert!(m(3, 3, 3).contains("(all 3 of 3 runs were spurious)"));
        assert!(m(2, 2, 1).contains(
            "(all 2 of 2 runs were spurious: the 1 restart and 1 more em-EM short run continued)"
        ));
        let w = spurious_warning(&[0, 2], 6, 6, 3, false, Some((10, 4, 3)));
        assert!(w
            .message
            .contains("all 6 of 6 runs were spurious: the 3 restarts"));
        assert!(w.message.contains("fewer than the 4 × 3"));
        assert_eq!(w.component, Some(0));
    }
}
