//! `gaussmix select`: fit a grid of candidates, print the ranked table, keep the best.

use gaussmix::select::{select, Criterion, SelectOptions, Selection};
use gaussmix::CovarianceType;
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::fit_cmd::{input_notes, read_fit_data};
use crate::output::{
    check_distinct, check_figure_path, check_out, check_output_path, emit, is_stdout, num,
    write_atomic,
};
use crate::plot;
use crate::summary::{fit_warning_lines, report_warnings};
use crate::SelectArgs;

/// Parses `1..10` (inclusive), `2,3,5` or `4`.
pub fn parse_ks(s: &str) -> CliResult<Vec<usize>> {
    let bad = || {
        CliError::usage(format!(
            "-k {s:?}: expected a range like 1..10 or a list like 2,3,5 of positive integers"
        ))
    };
    let ks: Vec<usize> = if let Some((a, b)) = s.split_once("..") {
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b
            .trim()
            .trim_start_matches('=')
            .parse()
            .map_err(|_| bad())?;
        if a > b {
            return Err(bad());
        }
        (a..=b).collect()
    } else {
        s.split(',')
            .map(|t| t.trim().parse::<usize>().map_err(|_| bad()))
            .collect::<CliResult<_>>()?
    };
    if ks.is_empty() || ks.contains(&0) {
        return Err(CliError::usage(format!(
            "-k {s:?}: numbers of components must be at least 1"
        )));
    }
    if ks.len() > 500 {
        return Err(CliError::usage(format!("-k {s:?}: at most 500 values")));
    }
    Ok(ks)
}

fn parse_types(s: &str) -> CliResult<Vec<CovarianceType>> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(CovarianceType::ALL.to_vec());
    }
    let mut v = Vec::new();
    for t in s.split(',') {
        let t: CovarianceType = t.parse()?;
        if !v.contains(&t) {
            v.push(t);
        }
    }
    Ok(v)
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

fn table_csv(sel: &Selection) -> String {
    let mut s = String::from(
        "rank,k,covariance_type,criterion,criterion_value,bic,aic,icl,log_likelihood,n_parameters,converged,n_iter,spurious,warm_start,error\n",
    );
    for (i, c) in sel.candidates.iter().enumerate() {
        s += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            i + 1,
            c.k,
            c.covariance_type,
            sel.criterion,
            opt(c.criterion_value),
            opt(c.bic),
            opt(c.aic),
            opt(c.icl),
            opt(c.log_likelihood),
            c.n_parameters,
            c.converged.map(|b| b.to_string()).unwrap_or_default(),
            c.n_iter.map(|b| b.to_string()).unwrap_or_default(),
            if c.error.is_some() {
                String::new()
            } else {
                c.spurious.to_string()
            },
            if c.error.is_some() {
                String::new()
            } else {
                c.warm_start.to_string()
            },
            c.error
                .as_deref()
                .map(|e| format!("\"{}\"", e.replace('"', "'")))
                .unwrap_or_default()
        );
    }
    s
}

fn table_text(sel: &Selection) -> String {
    let mut s = format!(
        "{:>5}  {:>3}  {:<9}  {:>14}  {:>14}  {:>14}  {:>14}  {:>6}  {:>9}  {:>5}\n",
        "rank", "k", "type", "BIC", "AIC", "ICL", "mean loglik", "params", "converged", "iters"
    );
    let f = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
    for (i, c) in sel.candidates.iter().enumerate() {
        if let Some(e) = &c.error {
            s += &format!(
                "{:>5}  {:>3}  {:<9}  failed: {e}\n",
                "-",
                c.k,
                c.covariance_type.as_str()
            );
            continue;
        }
        let mark = if i == 0 { "*1" } else { "" };
        s += &format!(
            "{:>5}  {:>3}  {:<9}  {:>14}  {:>14}  {:>14}  {:>14}  {:>6}  {:>9}  {:>5}\n",
            if i == 0 {
                mark.to_string()
            } else {
                (i + 1).to_string()
            },
            c.k,
            c.covariance_type.as_str(),
            f(c.bic),
            f(c.aic),
            f(c.icl),
            c.log_likelihood
                .map(|x| format!("{x:.5}"))
                .unwrap_or_default(),
            c.n_parameters,
            c.converged
                .map(|b| if b { "yes" } else { "NO" })
                .unwrap_or("-"),
            c.n_iter.map(|b| b.to_string()).unwrap_or_default()
        );
        if c.spurious {
            s.pop();
            s += "  spurious (ranked after sound fits)\n";
        }
        if c.warm_start {
            s.pop();
            s += &format!("  from k={}'s fit, split\n", c.k - 1);
        }
    }
    let b = &sel.candidates[0];
    s += &format!(
        "best by {}: k = {}, {} covariance (marked *)\n",
        sel.criterion.as_str().to_uppercase(),
        b.k,
        b.covariance_type
    );
    s
}

pub fn run(a: &SelectArgs) -> CliResult<()> {
    let ks = parse_ks(&a.k)?;
    let types = parse_types(&a.covariance)?;
    let criterion: Criterion = a.criterion.parse()?;
    check_out(a.output.as_deref())?;
    let table_to_stdout = a.table.as_deref().is_some_and(|t| is_stdout(Some(t)));
    if let Some(t) = a.table.as_deref().filter(|_| !table_to_stdout) {
        check_output_path(t)?;
    }
    if table_to_stdout && a.flags.json {
        return Err(CliError::usage(
            "--table - and --json both print on stdout; write the table to a file",
        ));
    }
    check_distinct(&[
        ("-o", a.output.as_deref()),
        ("--table", a.table.as_deref()),
        ("--plot", a.plot.as_deref()),
    ])?;
    if let Some(p) = &a.plot {
        check_figure_path(p, "--plot")?;
        plot::check_frame(&a.frame.frame())?;
    } else if let Some(flag) = a
        .frame
        .given()
        .into_iter()
        .chain(a.log_scale.then_some("--log-scale"))
        .next()
    {
        return Err(CliError::usage(format!(
            "{flag} describes the figure: add --plot FIG.png (or .svg)"
        )));
    }
    let model_to_stdout = a.output.is_some() && is_stdout(a.output.as_deref());
    if model_to_stdout {
        // The table goes to stdout as well: two things cannot share it.
        return Err(CliError::usage(
            "select prints its table on stdout; write the best model to a file with -o FILE.json",
        ));
    }
    a.flags.f32()?;
    // Every candidate starts from the init sample: it must hold the largest k's rows.
    if let (Some(m), Some(&kmax)) = (a.em.init_sample, ks.iter().max()) {
        if m < kmax {
            return Err(CliError::usage(format!(
                "--init-sample {m}: the candidates go up to k = {kmax}, and each needs at \
                 least k rows to start from; give --init-sample {kmax} or more"
            )));
        }
    }
    let fit = a
        .flags
        .apply(a.em.options(ks.iter().copied().max().unwrap_or(1))?);
    fit.validate()?;
    let fd = read_fit_data(&a.data, &a.data_args, &a.flags, false)?;
    let mut fit = fit;
    if let Some(names) = &fd.names {
        fit = fit.feature_names(Some(names.clone()));
    }
    let data = fd.data()?;
    let sel = select(
        &data,
        &SelectOptions::new(ks, types, criterion).with_fit_options(fit),
    )?;
    if !a.flags.quiet && !a.flags.json {
        let mut notes = input_notes(&a.data, &fd);
        notes.extend(a.em.ignored_flags_note(false));
        for n in notes {
            eprintln!("note: {n}");
        }
    }
    let mut warnings = fd.warnings.clone();
    warnings.extend(fit_warning_lines(&sel.warnings, ""));
    if let Some(rec) = sel.best.fit_record() {
        let others: Vec<gaussmix::FitWarning> = rec
            .warnings
            .iter()
            .filter(|w| w.kind != gaussmix::WarningKind::NotConverged)
            .cloned()
            .collect();
        warnings.extend(fit_warning_lines(&others, "best model: "));
    }
    report_warnings(&warnings, a.flags.strict)?;
    if let Some(o) = &a.output {
        write_atomic(o, sel.best.to_json().as_bytes())?;
    }
    if table_to_stdout {
        // The CSV table takes stdout's place of the text table.
        return emit(None, &table_csv(&sel));
    }
    if let Some(t) = &a.table {
        write_atomic(t, table_csv(&sel).as_bytes())?;
    }
    if let Some(p) = &a.plot {
        let fig = plot::SelectionPlot {
            selection: &sel,
            title: a.frame.title.clone(),
            log_scale: a.log_scale,
        };
        plot::render(&fig, &a.frame.frame(), p)?;
    }
    if a.flags.json {
        let v = json!({
            "criterion": sel.criterion.as_str(),
            "best": { "k": sel.candidates[0].k, "covariance_type": sel.candidates[0].covariance_type },
            "candidates": sel.candidates,
            "warnings": warnings,
            "n_dropped": fd.dropped,
        });
        emit(None, &format!("{v}\n"))
    } else if a.flags.quiet {
        Ok(())
    } else {
        emit(None, &table_text(&sel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_forms() {
        assert_eq!(parse_ks("1..4").unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(parse_ks("2,3, 5").unwrap(), vec![2, 3, 5]);
        assert_eq!(parse_ks("7").unwrap(), vec![7]);
        assert!(parse_ks("0..3").is_err());
        assert!(parse_ks("5..2").is_err());
        assert!(parse_ks("a").is_err());
    }
}
