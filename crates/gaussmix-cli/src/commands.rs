//! The subcommands other than `demo`.

use std::path::Path;

use gaussmix::{CovarianceType, Data, GaussianMixture, StartParameters};
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::output::{check_figure_path, check_output_path, emit, num, write_atomic};
use crate::plot;
use crate::progress::Bar;
use crate::read::{read_table, resolve, ReadOptions, Table};
use crate::{DataArgs, FitArgs};

fn read_options(a: &DataArgs) -> CliResult<ReadOptions> {
    let delimiter = match a.delimiter.as_deref() {
        None => None,
        Some("tab") | Some("\\t") => Some('\t'),
        Some("space") | Some(" ") => Some(' '),
        Some(s) if s.chars().count() == 1 => s.chars().next(),
        Some(s) => {
            return Err(CliError::usage(format!(
                "--delimiter {s:?}: give a single character, \"tab\" or \"space\""
            )))
        }
    };
    let mut opts = ReadOptions::default();
    opts.delimiter = delimiter;
    Ok(opts)
}

/// Reads a data file and keeps the requested columns.
pub fn load_table(path: &str, a: &DataArgs) -> CliResult<Table> {
    let table = read_table(path, &read_options(a)?)?;
    match &a.columns {
        None => Ok(table),
        Some(cols) => {
            let idx = cols
                .iter()
                .map(|c| resolve(&table, c, "--columns"))
                .collect::<CliResult<Vec<_>>>()?;
            Ok(table.select(&idx)?)
        }
    }
}

pub fn load_model(path: &Path) -> CliResult<GaussianMixture> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::data(format!("cannot read model file {}: {e}", path.display())))?;
    GaussianMixture::from_json(&text)
        .map_err(|e| CliError::data(format!("{}: {e}", path.display())))
}

fn data_for<'a>(model: &GaussianMixture, table: &'a Table, name: &str) -> CliResult<Data<'a>> {
    if table.n_cols() != model.n_features() {
        return Err(CliError::data(format!(
            "{name} has {} columns but the model has {} features; select the model's columns with --columns",
            table.n_cols(),
            model.n_features()
        )));
    }
    Ok(Data::from_slice(
        table.values(),
        table.n_rows(),
        table.n_cols(),
    )?)
}

fn read_weights(path: &Path, n: usize) -> CliResult<Vec<f64>> {
    let t = read_table(&path.to_string_lossy(), &ReadOptions::default())?;
    if t.n_cols() != 1 || t.n_rows() != n {
        return Err(CliError::data(format!(
            "{}: expected {n} weights, one per line, but found {} rows × {} columns",
            path.display(),
            t.n_rows(),
            t.n_cols()
        )));
    }
    Ok(t.into_values())
}

pub fn fit(a: &FitArgs) -> CliResult<()> {
    // Refuse unusable output paths before any work.
    if let Some(o) = &a.output {
        check_output_path(o)?;
    }
    if let Some(p) = &a.plot {
        check_figure_path(p, "--plot")?;
    }
    if a.dtype != "f64" && a.dtype != "f32" {
        return Err(CliError::usage(format!(
            "--dtype {:?}: expected f64 or f32",
            a.dtype
        )));
    }
    // Validate the EM options before reading any data.
    a.em.options(1)?.validate()?;
    let start_model = a.init_model.as_deref().map(load_model).transpose()?;
    let covariance: Option<CovarianceType> = a.covariance.as_deref().map(str::parse).transpose()?;
    let (k, cov_type) = match &start_model {
        Some(m) => {
            if let Some(k) = a.k {
                if k != m.n_components() {
                    return Err(CliError::usage(format!(
                        "-k {k} disagrees with --init-model, which has {} components",
                        m.n_components()
                    )));
                }
            }
            if let Some(c) = covariance {
                if c != m.covariance_type() {
                    return Err(CliError::usage(format!(
                        "--covariance {c} disagrees with --init-model, which is {}",
                        m.covariance_type()
                    )));
                }
            }
            (m.n_components(), m.covariance_type())
        }
        None => (
            a.k.ok_or_else(|| CliError::usage("give the number of components with -k K (or a starting model with --init-model)"))?,
            covariance.unwrap_or_default(),
        ),
    };

    // f32 from a .npy file with nothing to select: read straight into f32, one copy.
    let direct_f32 = a.dtype == "f32"
        && a.data.to_ascii_lowercase().ends_with(".npy")
        && a.plot.is_none()
        && a.weight_column.is_none()
        && a.data_args.columns.is_none();
    let mut f32_values: Vec<f32> = Vec::new();
    // The data as f64 with its column names (`None` once only the f32 copy is needed).
    let mut table: Option<Table> = None;
    let mut weights = None;
    let (n, d) = if direct_f32 {
        let x = gaussmix_io::read_npy_f32(&a.data)?;
        f32_values = x.values;
        (x.n_rows, x.n_features)
    } else {
        let mut t = read_table(&a.data, &read_options(&a.data_args)?)?;
        if let Some(col) = &a.weight_column {
            let j = resolve(&t, col, "--weight-column")?;
            weights = t.column(j);
            let keep: Vec<usize> = (0..t.n_cols()).filter(|c| *c != j).collect();
            if keep.is_empty() {
                return Err(CliError::usage("--weight-column leaves no feature columns"));
            }
            t = t.select(&keep)?;
        }
        if let Some(cols) = &a.data_args.columns {
            let idx = cols
                .iter()
                .map(|c| resolve(&t, c, "--columns"))
                .collect::<CliResult<Vec<_>>>()?;
            t = t.select(&idx)?;
        }
        let shape = (t.n_rows(), t.n_cols());
        table = Some(t);
        shape
    };
    if let Some(p) = &a.weights {
        weights = Some(read_weights(p, n)?);
    }
    if let Some(m) = &start_model {
        if m.n_features() != d {
            return Err(CliError::data(format!(
                "--init-model has {} features but {} has {} columns",
                m.n_features(),
                a.data,
                d
            )));
        }
    }

    let mut builder =
        a.em.options(k)?
            .covariance_type(cov_type)
            .recover(a.recover);
    if let Some(v) = a.variance_floor {
        builder = builder.variance_floor(v);
    }
    if let Some(m) = &start_model {
        builder = builder.start(StartParameters::from_model(m));
    }
    builder.validate()?;
    let opts = builder;
    let mut data = match a.dtype.as_str() {
        "f64" => {
            // Only the direct f32 path has no table, and it is never f64.
            let t = table
                .as_ref()
                .ok_or_else(|| CliError::data("internal: no data table"))?;
            Data::from_slice(t.values(), n, d)?
        }
        "f32" if direct_f32 => Data::from_slice_f32(&f32_values, n, d)?,
        "f32" => {
            let x = table.as_ref().map(Table::values).unwrap_or_default();
            if let Some((i, v)) = x
                .iter()
                .enumerate()
                .find(|(_, v)| v.abs() > f32::MAX as f64)
            {
                return Err(CliError::data(format!(
                    "row {}, column {}: {v} does not fit in f32; use --dtype f64",
                    i / d + 1,
                    i % d + 1
                )));
            }
            f32_values = x.iter().map(|v| *v as f32).collect();
            if a.plot.is_none() {
                // Only the f32 copy is needed from here on.
                table = None;
            }
            Data::from_slice_f32(&f32_values, n, d)?
        }
        other => {
            return Err(CliError::usage(format!(
                "--dtype {other:?}: expected f64 or f32"
            )))
        }
    };
    if let Some(w) = &weights {
        data = data.with_weights(w)?;
    }
    let bar = Bar::new(a.quiet);
    let mut on_progress = |p: &gaussmix::Progress| bar.update(p);
    let started = std::time::Instant::now();
    let model = opts.fit_with_progress(&data, &mut on_progress);
    let fit_seconds = started.elapsed().as_secs_f64();
    bar.finish();
    let model = model?;
    let rec = model
        .fit_record()
        .ok_or_else(|| CliError::data("internal: the fit has no record"))?;

    let model_json = model.to_json();
    if let Some(o) = &a.output {
        write_atomic(o, model_json.as_bytes())?;
    }
    if let Some(p) = &a.plot {
        let title = format!(
            "Gaussian mixture: {} components, {} covariance",
            model.n_components(),
            model.covariance_type()
        );
        let table = table
            .as_ref()
            .ok_or_else(|| CliError::data("internal: no data table to plot"))?;
        plot::plot_model(&model, table, (0, 1.min(d - 1)), &title, p)?;
        let conv = plot::Convergence {
            lower_bounds: &rec.lower_bounds,
            title: "EM convergence".into(),
        };
        plot::render(&conv, &plot::convergence_path(p))?;
    }
    if !rec.converged && !a.quiet {
        eprintln!(
            "warning: EM did not converge in {} iterations (last change above --tol {}); raise --max-iter or --tol",
            rec.n_iter, a.em.tol
        );
    }
    if a.json {
        let mut summary = summary_json(&model, rec);
        // Timing lives only in the summary: model files stay byte-for-byte reproducible.
        summary["fit_seconds"] = json!(fit_seconds);
        if a.output.is_none() {
            summary["model"] = serde_json::from_str(&model_json).unwrap_or_default();
        }
        emit(None, &format!("{}\n", summary))?;
    } else {
        if !a.quiet {
            eprint!("{}", summary_text(&model, rec));
        }
        if a.output.is_none() {
            emit(None, &format!("{model_json}\n"))?;
        }
    }
    Ok(())
}

fn summary_json(model: &GaussianMixture, rec: &gaussmix::FitRecord) -> serde_json::Value {
    json!({
        "n_components": model.n_components(),
        "covariance_type": model.covariance_type().as_str(),
        "n_features": model.n_features(),
        "n_samples": rec.n_samples,
        "converged": rec.converged,
        "n_iter": rec.n_iter,
        "lower_bound": rec.lower_bound,
        "score": rec.score,
        "bic": rec.bic,
        "aic": rec.aic,
        "n_parameters": rec.n_parameters,
        "weights": model.weights().to_vec(),
        "means": model.means().rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
    })
}

fn fmt_vec(v: impl IntoIterator<Item = f64>) -> String {
    let parts: Vec<String> = v.into_iter().map(|x| format!("{x:.4}")).collect();
    format!("[{}]", parts.join(", "))
}

pub fn summary_text(model: &GaussianMixture, rec: &gaussmix::FitRecord) -> String {
    let mut s =
        format!(
        "fitted {} components ({} covariance) to {} rows × {} features: {} after {} iterations\n",
        model.n_components(),
        model.covariance_type(),
        rec.n_samples,
        model.n_features(),
        if rec.converged { "converged" } else { "NOT converged" },
        rec.n_iter
    );
    s += &format!(
        "mean log-likelihood {:.6}   BIC {:.3}   AIC {:.3}   parameters {}\n",
        rec.score, rec.bic, rec.aic, rec.n_parameters
    );
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
    s += &component_table(model);
    s
}

/// One line per component: weight, mean and variances.
fn component_table(model: &GaussianMixture) -> String {
    let mut s = String::from("component  weight    mean / variances\n");
    for (c, cov) in model.component_covariances().iter().enumerate() {
        s += &format!(
            "{c:>9}  {:.4}    mean {}  var {}\n",
            model.weights()[c],
            fmt_vec(model.means().row(c).iter().copied()),
            fmt_vec(cov.diag().iter().copied())
        );
    }
    s
}

/// The output path checked first, then the model and the data read.
fn load_inputs(
    model: &Path,
    data: &str,
    out: Option<&Path>,
    a: &DataArgs,
) -> CliResult<(GaussianMixture, Table)> {
    if let Some(o) = out {
        check_output_path(o)?;
    }
    Ok((load_model(model)?, load_table(data, a)?))
}

pub fn predict(
    model: &Path,
    data: &str,
    proba: bool,
    out: Option<&Path>,
    a: &DataArgs,
) -> CliResult<()> {
    let (m, table) = load_inputs(model, data, out, a)?;
    let d = data_for(&m, &table, data)?;
    let mut text = String::with_capacity(table.n_rows() * 4);
    if proba {
        let p = m.predict_proba(&d)?;
        for row in p.rows() {
            let cells: Vec<String> = row.iter().map(|v| num(*v)).collect();
            text += &cells.join(",");
            text.push('\n');
        }
    } else {
        for l in m.predict(&d)? {
            text += &format!("{l}\n");
        }
    }
    emit(out, &text)
}

pub fn score(
    model: &Path,
    data: &str,
    per_sample: bool,
    out: Option<&Path>,
    a: &DataArgs,
) -> CliResult<()> {
    let (m, table) = load_inputs(model, data, out, a)?;
    let d = data_for(&m, &table, data)?;
    let text = if per_sample {
        let s = m.score_samples(&d)?;
        let mut t = String::with_capacity(table.n_rows() * 20);
        for v in s {
            t += &num(v);
            t.push('\n');
        }
        t
    } else {
        format!("{}\n", num(m.score(&d)?))
    };
    emit(out, &text)
}

pub fn sample(
    model: &Path,
    n: usize,
    seed: u64,
    labels: bool,
    out: Option<&Path>,
) -> CliResult<()> {
    if let Some(o) = out {
        check_output_path(o)?;
    }
    let m = load_model(model)?;
    let (x, l) = m.sample(n, seed)?;
    let mut t = String::with_capacity(n * m.n_features() * 20);
    for (row, lab) in x.rows().into_iter().zip(l.iter()) {
        let mut cells: Vec<String> = row.iter().map(|v| num(*v)).collect();
        if labels {
            cells.push(lab.to_string());
        }
        t += &cells.join(",");
        t.push('\n');
    }
    emit(out, &t)
}

pub fn plot(model: &Path, data: &str, out: &Path, features: &str, a: &DataArgs) -> CliResult<()> {
    check_figure_path(out, "-o")?;
    let f: Vec<usize> = features
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            CliError::usage(format!(
                "--features {features:?}: expected two 0-based indices like 0,1"
            ))
        })?;
    if f.len() != 2 {
        return Err(CliError::usage(format!(
            "--features {features:?}: expected exactly two indices like 0,1"
        )));
    }
    let m = load_model(model)?;
    let table = load_table(data, a)?;
    data_for(&m, &table, data)?;
    let title = format!(
        "Gaussian mixture: {} components, {} covariance",
        m.n_components(),
        m.covariance_type()
    );
    let feats = if m.n_features() == 1 {
        (0, 0)
    } else {
        (f[0], f[1])
    };
    plot::plot_model(&m, &table, feats, &title, out)
}

pub fn info(model: &Path) -> CliResult<()> {
    let m = load_model(model)?;
    let mut s = format!(
        "{}: Gaussian mixture, {} components, {} features, {} covariance, {} free parameters\n",
        model.display(),
        m.n_components(),
        m.n_features(),
        m.covariance_type(),
        m.n_parameters()
    );
    match m.fit_record() {
        Some(r) => {
            s += &format!(
                "fit: {} rows, {} after {} iterations (tol {}, max_iter {}, n_init {}, init {}, seed {})\n",
                r.n_samples,
                if r.converged { "converged" } else { "not converged" },
                r.n_iter,
                r.options.tol,
                r.options.max_iter,
                r.options.n_init,
                r.options.init,
                r.options.seed
            );
            s += &format!(
                "     mean log-likelihood {:.6}, BIC {:.3}, AIC {:.3}\n",
                r.score, r.bic, r.aic
            );
        }
        None => s += "fit: no record (parameters given directly)\n",
    }
    s += &component_table(&m);
    emit(None, &s)
}
