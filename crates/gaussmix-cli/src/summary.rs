//! What the commands tell people: fit summaries and model descriptions in text
//! (significant digits, column names, a compact layout for wide models) and JSON,
//! and warnings (stderr, `--strict`).

use gaussmix::{FitRecord, GaussianMixture};
use serde_json::{json, Value};

use crate::error::{CliError, CliResult};
use crate::input::{name_list, plural};

/// `x` with `digits` significant digits: plain decimals for magnitudes in
/// [1e-3, 1e6), scientific otherwise (so small-scale data never prints as 0.0000).
pub fn sig(x: f64, digits: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    if (1e-3..1e6).contains(&a) {
        let magnitude = a.log10().floor() as i64;
        let decimals = (digits as i64 - 1 - magnitude).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.prec$e}", prec = digits.saturating_sub(1))
    }
}

/// A mean with as many decimals as its standard deviation's second significant digit
/// needs (so that components 1e6 from the origin but 3 apart do not print alike, and
/// small-scale data never prints as 0.0000), and the deviation to 3 digits.
pub fn mean_sd(mean: f64, sd: f64) -> String {
    let m = if sd > 0.0 && sd.is_finite() && mean.is_finite() && mean.abs() < 1e15 {
        let decimals = (1 - sd.log10().floor() as i64).max(0) as usize;
        if decimals <= 12 {
            format!("{mean:.decimals$}")
        } else {
            sig(mean, 4)
        }
    } else {
        sig(mean, 4)
    };
    format!("{m} ± {}", sig(sd, 3))
}

/// The model's feature names, or `x0 …` when it has none.
pub fn feature_labels(model: &GaussianMixture) -> Vec<String> {
    match model.feature_names() {
        Some(n) => n.to_vec(),
        None => (0..model.n_features()).map(|j| format!("x{j}")).collect(),
    }
}

/// Most features and components shown without `--full`.
const SHORT_FEATURES: usize = 12;
const SHORT_COMPONENTS: usize = 6;

/// Weights, then one row per feature with each component's mean and standard
/// deviation; wide models are cut (with a note) unless `full`.
pub fn component_table(model: &GaussianMixture, full: bool) -> String {
    let k = model.n_components();
    let names = feature_labels(model);
    let show_k = if full { k } else { k.min(SHORT_COMPONENTS) };
    let show_d = if full {
        names.len()
    } else {
        names.len().min(SHORT_FEATURES)
    };
    let covs = model.component_covariances();
    let label_w = names[..show_d]
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 24);
    let cell = |s: String| format!("  {s:>20}");
    let mut s = format!("{:<label_w$}", "");
    for c in 0..show_k {
        s += &cell(format!("component {c}"));
    }
    s += &format!("\n{:<label_w$}", "weight");
    for c in 0..show_k {
        s += &cell(sig(model.weights()[c], 4));
    }
    s += "\n";
    for (j, name) in names.iter().enumerate().take(show_d) {
        let short: String = if name.chars().count() > label_w {
            name.chars().take(label_w - 1).chain(['…']).collect()
        } else {
            name.clone()
        };
        s += &format!("{short:<label_w$}");
        for (c, cov) in covs.iter().enumerate().take(show_k) {
            let sd = cov[[j, j]].max(0.0).sqrt();
            s += &cell(mean_sd(model.means()[[c, j]], sd));
        }
        s += "\n";
    }
    if show_d < names.len() || show_k < k {
        s += &format!(
            "(mean ± standard deviation; showing {} of {} and {} of {}: gaussmix info --full shows all)\n",
            show_d,
            plural(names.len(), "feature", "features"),
            show_k,
            plural(k, "component", "components")
        );
    } else {
        s += "(mean ± standard deviation)\n";
    }
    s
}

/// The text summary of a fit (stderr).
pub fn fit_text(
    model: &GaussianMixture,
    rec: &FitRecord,
    columns: &[String],
    named: bool,
    init_model: Option<&std::path::Path>,
) -> String {
    let mut s = format!(
        "fitted {} ({} covariance) to {} × {}: {} after {}\n",
        plural(model.n_components(), "component", "components"),
        model.covariance_type(),
        plural(rec.n_samples, "row", "rows"),
        plural(model.n_features(), "feature", "features"),
        if rec.converged {
            "converged"
        } else {
            "NOT converged"
        },
        plural(rec.n_iter, "iteration", "iterations"),
    );
    if named {
        s += &format!("columns: {}\n", name_list(columns, 8));
    } else {
        s += &format!(
            "columns: {} (0-based; no header, so the model matches columns by position)\n",
            name_list(columns, 8)
        );
    }
    s += &format!(
        "mean log-likelihood {}   BIC {}   AIC {}   {}\n",
        sig(rec.score, 6),
        sig(rec.bic, 6),
        sig(rec.aic, 6),
        plural(rec.n_parameters, "free parameter", "free parameters")
    );
    s += &restarts_line(rec, init_model);
    for r in rec.recoveries.iter().take(10) {
        let place = match r.row {
            Some(row) => format!("re-seeded on row {row} after iteration {}", r.iteration),
            None => "widened at initialisation".to_string(),
        };
        s += &format!(
            "recovered: component {} {place}: {}\n",
            r.component, r.reason
        );
    }
    if rec.recoveries.len() > 10 {
        s += &format!(
            "recovered: … {} more re-seeds (see fit.recoveries in the model file)\n",
            rec.recoveries.len() - 10
        );
    }
    s += &component_table(model, false);
    s
}

/// How the kept run was found: the start, the restarts, the spurious and failed ones.
fn restarts_line(rec: &FitRecord, init_model: Option<&std::path::Path>) -> String {
    let o = &rec.options;
    let start = match init_model {
        Some(p) => format!("--init-model {}", p.display()),
        None if rec.split_from.is_some() => format!(
            "select's warm start: the k={} fit with its widest component split in two",
            rec.split_from.unwrap_or_default()
        ),
        None if o.init == gaussmix::InitMethod::EmEm => {
            let n = o.init_candidates.saturating_mul(o.n_init);
            format!(
                "em-em ({} and a Ward start, of {}{}, the best {} continued)",
                plural(n, "short run", "short runs"),
                plural(o.init_iter.min(o.max_iter), "iteration", "iterations"),
                rec.screen_rows
                    .map(|m| format!(" on {m} sampled rows"))
                    .unwrap_or_default(),
                o.n_init
            )
        }
        None => o.init.to_string(),
    };
    let mut s = format!("start: {start}");
    if let Some(m) = o
        .init_sample
        .filter(|m| *m < rec.n_samples && init_model.is_none())
    {
        s += &format!(" from a uniform sample of {m} rows (--init-sample)");
    }
    if rec.best_init >= o.n_init {
        s += &format!(
            ", kept extra run {} (every restart ended spurious, so em-em continued up to {} more short runs)",
            rec.best_init, o.n_init
        );
    } else if o.n_init > 1 {
        s += &format!(", kept restart {} of {}", rec.best_init, o.n_init);
    }
    if !rec.spurious_inits.is_empty() {
        s += &format!(
            "; {} spurious ({}){}",
            plural(rec.spurious_inits.len(), "run", "runs"),
            rec.spurious_inits
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if o.allow_spurious {
                ", allowed to win"
            } else if rec.spurious_inits.contains(&rec.best_init) {
                ": all were, the best kept"
            } else {
                ", set aside"
            }
        );
    }
    if !rec.failed_inits.is_empty() {
        s += &format!(
            "; {} failed",
            plural(rec.failed_inits.len(), "restart", "restarts")
        );
    }
    if rec.split_merge.as_ref().is_some_and(|sm| sm.settled) {
        s += "; split-and-merge: skipped (half the restarts or more ended at this optimum)";
    } else if let Some(sm) = &rec.split_merge {
        let gain = sm.gain;
        s += &format!(
            "; split-and-merge: {} tried{}, {} improved{}",
            plural(sm.tried, "move", "moves"),
            if sm.screened {
                " on the sampled rows"
            } else {
                ""
            },
            sm.accepted.len(),
            match (sm.kept, sm.accepted.is_empty()) {
                (true, _) => format!(" (+{gain:.4} nats/row, kept)"),
                (false, false) => " (not higher on all rows: restart kept)".to_string(),
                (false, true) => String::new(),
            }
        );
    }
    s + "\n"
}

/// The model described as JSON (`fit --json`, `info --json`).
pub fn model_json(model: &GaussianMixture) -> Value {
    let mut v = json!({
        "n_components": model.n_components(),
        "covariance_type": model.covariance_type().as_str(),
        "n_features": model.n_features(),
        "feature_names": model.feature_names(),
        "n_parameters": model.n_parameters(),
        "weights": model.weights().to_vec(),
        "means": model.means().rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
    });
    if let Some(rec) = model.fit_record() {
        v["n_samples"] = json!(rec.n_samples);
        v["converged"] = json!(rec.converged);
        v["n_iter"] = json!(rec.n_iter);
        v["lower_bound"] = json!(rec.lower_bound);
        v["score"] = json!(rec.score);
        v["bic"] = json!(rec.bic);
        v["aic"] = json!(rec.aic);
        v["warnings"] = json!(rec.warnings);
        v["best_init"] = json!(rec.best_init);
        v["spurious_inits"] = json!(rec.spurious_inits);
        v["screen_rows"] = json!(rec.screen_rows);
        v["split_from"] = json!(rec.split_from);
        v["split_merge"] = json!(rec.split_merge);
    }
    v
}

/// Library words in a message turned into the flags a user of the CLI types.
pub fn flagify(message: &str) -> String {
    const WORDS: [(&str, &str); 13] = [
        ("split_merge_moves", "--split-merge-moves"),
        ("reg_covar", "--reg-covar"),
        ("allow_spurious", "--allow-spurious"),
        ("init_candidates", "--init-candidates"),
        ("init_iter", "--init-iter"),
        ("max_iter", "--max-iter"),
        ("n_init", "--n-init"),
        ("n_components", "-k"),
        ("variance_floor", "--variance-floor"),
        ("covariance_type", "--covariance"),
        ("n_threads", "--threads"),
        ("tol", "--tol"),
        ("init", "--init"),
    ];
    let message = message.replace("the recover option", "--recover");
    let mut out = String::with_capacity(message.len() + 8);
    let mut rest = message.as_str();
    'outer: while !rest.is_empty() {
        let before = out.chars().last();
        let word_start = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
        if word_start {
            for (w, flag) in WORDS {
                if let Some(after) = rest.strip_prefix(w) {
                    let ends = after
                        .chars()
                        .next()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                    if ends {
                        out += flag;
                        rest = after;
                        continue 'outer;
                    }
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A fit's warnings as CLI lines (library words turned into flags); a kind that
/// repeats more than three times (one per component or feature) shows its first two
/// and a count, the rest being in the model file's `fit.warnings`.
pub fn fit_warning_lines(warnings: &[gaussmix::FitWarning], prefix: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut kinds: Vec<gaussmix::WarningKind> = Vec::new();
    for w in warnings {
        if !kinds.contains(&w.kind) {
            kinds.push(w.kind);
        }
    }
    for kind in kinds {
        let of_kind: Vec<&gaussmix::FitWarning> =
            warnings.iter().filter(|w| w.kind == kind).collect();
        let show = if of_kind.len() > 3 { 2 } else { of_kind.len() };
        for w in &of_kind[..show] {
            lines.push(format!("{prefix}{}", flagify(&w.message)));
        }
        if of_kind.len() > show {
            lines.push(format!(
                "{prefix}… and {} more {} warnings like these (all are in the model file's fit.warnings, and in --json)",
                of_kind.len() - show,
                kind.as_str()
            ));
        }
    }
    lines
}

/// Prints warnings on stderr (never silenced by `--quiet`); with `strict`, any
/// warning is an error (exit 1) and the command writes nothing.
pub fn report_warnings(warnings: &[String], strict: bool) -> CliResult<()> {
    for w in warnings {
        eprintln!("warning: {w}");
    }
    if strict && !warnings.is_empty() {
        return Err(CliError::data(format!(
            "--strict: {} (see above); nothing was written",
            plural(warnings.len(), "warning", "warnings")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_show_the_digits_their_spread_needs() {
        assert_eq!(mean_sd(1000004.312, 0.822), "1000004.31 ± 0.822");
        assert_eq!(mean_sd(1000001.512, 0.172), "1000001.51 ± 0.172");
        assert_eq!(mean_sd(5.914, 0.525), "5.91 ± 0.525");
        assert_eq!(mean_sd(5.914e-5, 5.25e-6), "0.0000591 ± 5.25e-6");
        assert_eq!(mean_sd(8.9e-308, 0.001), "0.0000 ± 0.00100");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(sig(5.00612, 4), "5.006");
        assert_eq!(sig(-0.000012345, 4), "-1.234e-5");
        assert_eq!(sig(0.5, 4), "0.5000");
        assert_eq!(sig(1234.5678, 4), "1235");
        assert_eq!(sig(2.5e7, 3), "2.50e7");
        assert_eq!(sig(0.0, 4), "0");
    }

    #[test]
    fn library_words_become_flags() {
        assert_eq!(
            flagify("try a larger reg_covar (now 1e-6); raise max_iter or tol"),
            "try a larger --reg-covar (now 1e-6); raise --max-iter or --tol"
        );
        // Only whole words.
        assert_eq!(
            flagify("tolerance total_tol tol."),
            "tolerance total_tol --tol."
        );
    }
}
