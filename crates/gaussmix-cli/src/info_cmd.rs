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
    match (m.fit_record(), m.online_state()) {
        (Some(r), Some(o)) => {
            s += &format!(
                "fit: online EM, {} ({} rows in {} batches of up to {}, κ = {}{}){}\n",
                plural(r.n_iter, "finished pass", "finished passes"),
                o.rows(),
                o.batches(),
                o.batch_rows(),
                o.step_exponent(),
                match r.options.average_from {
                    Some(t) => format!(
                        ", averaged from update {t}: {} so far",
                        o.averaged_updates()
                    ),
                    None => String::new(),
                },
                if o.pass_batches() > 0 {
                    format!(
                        "; a pass under way: {} of it seen ({} rows), --resume continues it",
                        plural(o.pass_batches() as usize, "batch", "batches"),
                        o.pass_rows()
                    )
                } else {
                    String::new()
                }
            );
            s += &format!(
                "     mean log-likelihood per pass {} (each batch under the parameters before its update)\n",
                r.lower_bounds.iter().map(|l| sig(*l, 6)).collect::<Vec<_>>().join(", ")
            );
        }
        (Some(r), None) => {
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
        (None, _) => s += "fit: no record (parameters given directly)\n",
    }
    s += &component_table(&m, full);
    emit(None, &s)
}
