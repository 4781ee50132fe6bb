//! `gaussmix info`: a model file described, in text or JSON.

use crate::error::CliResult;
use crate::input::{load_model, name_list, plural};
use crate::output::emit;
use crate::summary::{component_table, fit_warning_lines, flagify, model_json, sig};

pub fn run(model: &str, full: bool, json: bool) -> CliResult<()> {
    let m = load_model(model)?;
    if json {
        let mut v = model_json(&m);
        v["file"] = serde_json::json!(model);
        return emit(None, &format!("{v}\n"));
    }
    let mut s = format!(
        "{model}: Gaussian mixture, {}, {}, {} covariance, {}\n",
        plural(m.n_components(), "component", "components"),
        plural(m.n_features(), "feature", "features"),
        m.covariance_type(),
        plural(m.n_parameters(), "free parameter", "free parameters")
    );
    match m.feature_names() {
        Some(n) => {
            s += &format!(
                "features: {}\n",
                if full { n.join(", ") } else { name_list(n, 20) }
            )
        }
        None => s += "features: unnamed (matched by position)\n",
    }
    match m.fit_record() {
        Some(r) => {
            s += &format!(
                "fit: {}, {} after {} (--tol {}, --max-iter {}, --n-init {}, --init {}, --seed {})\n",
                plural(r.n_samples, "row", "rows"),
                if r.converged {
                    "converged"
                } else {
                    "not converged"
                },
                plural(r.n_iter, "iteration", "iterations"),
                r.options.tol,
                r.options.max_iter,
                r.options.n_init,
                match r.split_from {
                    Some(k0) => format!("a split of select's k={k0} fit"),
                    None => r.options.init.to_string(),
                },
                r.options.seed
            );
            s += &format!(
                "     mean log-likelihood {}, BIC {}, AIC {}\n",
                sig(r.score, 6),
                sig(r.bic, 6),
                sig(r.aic, 6)
            );
            let lines = if full {
                r.warnings.iter().map(|w| flagify(&w.message)).collect()
            } else {
                fit_warning_lines(&r.warnings, "")
            };
            for w in lines {
                s += &format!("warning: {w}\n");
            }
        }
        None => s += "fit: no record (parameters given directly)\n",
    }
    s += &component_table(&m, full);
    emit(None, &s)
}
