//! `gaussmix fit`: read the data, fit, report (warnings included), write the model.

use std::path::Path;

use gaussmix::{CovarianceType, Data, GaussianMixture, GmmOptions, StartParameters};
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::input::{load_model, read_options, read_table, Table};
use crate::output::{check_distinct, check_figure_path, check_out, emit, is_stdout, write_atomic};
use crate::plot;
use crate::progress::Bar;
use crate::summary::{fit_text, fit_warning_lines, model_json, report_warnings};
use crate::{DataArgs, EmArgs, FitArgs, FitFlags};

impl EmArgs {
    /// Fit options from these flags for `k` components.
    pub fn options(&self, k: usize) -> Result<GmmOptions, gaussmix::GmmError> {
        let mut b = GaussianMixture::params(k)
            .init(self.init.parse()?)
            .init_candidates(
                self.init_candidates
                    .unwrap_or(gaussmix::DEFAULT_INIT_CANDIDATES),
            )
            .init_iter(self.init_iter.unwrap_or(gaussmix::DEFAULT_INIT_ITER))
            .split_merge_moves(
                self.split_merge_moves
                    .unwrap_or(gaussmix::DEFAULT_SPLIT_MERGE_MOVES),
            )
            .allow_spurious(self.allow_spurious)
            .n_init(self.n_init)
            .max_iter(self.max_iter)
            .tol(self.tol)
            .reg_covar(self.reg_covar)
            .seed(self.seed);
        if let Some(t) = self.threads {
            b = b.n_threads(t);
        }
        if let Some(m) = self.init_sample {
            b = b.init_sample(m);
        }
        Ok(b)
    }
}

impl EmArgs {
    /// A note when em-EM's flags were given but do nothing: another `--init`, or a start
    /// from `--init-model` (there is nothing to draw short runs from).
    pub fn ignored_flags_note(&self, init_model: bool) -> Option<String> {
        let given: Vec<&str> = [
            ("--init-candidates", self.init_candidates.is_some()),
            ("--init-iter", self.init_iter.is_some()),
            ("--split-merge-moves", self.split_merge_moves.is_some()),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(f, _)| *f)
        .collect();
        if given.is_empty() {
            return None;
        }
        let why = if init_model {
            "the start comes from --init-model".to_string()
        } else if self.init.parse::<gaussmix::InitMethod>().ok() != Some(gaussmix::InitMethod::EmEm)
        {
            format!("--init is {}", self.init)
        } else {
            return None;
        };
        Some(format!(
            "{} {} only for --init em-em; ignored ({why})",
            given.join(" and "),
            if given.len() == 1 { "counts" } else { "count" }
        ))
    }
}

impl FitFlags {
    /// `--dtype` checked.
    pub fn f32(&self) -> CliResult<bool> {
        match self.dtype.as_str() {
            "f64" => Ok(false),
            "f32" => Ok(true),
            other => Err(CliError::usage(format!(
                "--dtype {other:?}: expected f64 or f32"
            ))),
        }
    }

    /// The fit options these flags add.
    pub fn apply(&self, mut o: GmmOptions) -> GmmOptions {
        o = o.recover(self.recover);
        if let Some(v) = self.variance_floor {
            o = o.variance_floor(v);
        }
        o
    }

    /// `--json` prints on stdout: the model must then go to a file.
    pub fn check_stdout(&self, output: Option<&Path>, what: &str) -> CliResult<()> {
        if self.json && is_stdout(output) {
            return Err(CliError::usage(format!(
                "--json prints the summary on stdout, where the {what} would go too; write the {what} to a file with -o FILE.json"
            )));
        }
        Ok(())
    }
}

/// Data read for fitting: the feature table (`None` once only the f32 copy is
/// kept), the values in the chosen precision, weights, and what the reader noticed.
pub struct FitData {
    pub table: Option<Table>,
    /// `--stream`: the file's rows, read on every pass.
    pub stream: Option<std::sync::Arc<dyn gaussmix::source::RowReader>>,
    pub f32_values: Vec<f32>,
    pub weights: Option<Vec<f64>>,
    pub n: usize,
    pub d: usize,
    /// Feature names from the file's header.
    pub names: Option<Vec<String>>,
    /// The columns used, as the summary lists them (names, or 0-based indices).
    pub columns: Vec<String>,
    /// Rows dropped for missing cells (`--missing drop`).
    pub dropped: usize,
    /// Warnings from reading (an index-like column, pandas' numeric header …).
    pub warnings: Vec<String>,
}

impl FitData {
    /// The data as the library sees it.
    pub fn data(&self) -> CliResult<Data<'_>> {
        if let Some(rows) = &self.stream {
            let data = Data::from_reader(rows.clone())?;
            return Ok(match &self.weights {
                Some(w) => data.with_weights(w)?,
                None => data,
            });
        }
        let mut data = match &self.table {
            Some(t) if self.f32_values.is_empty() => Data::from_slice(t.values(), self.n, self.d)?,
            _ => Data::from_slice_f32(&self.f32_values, self.n, self.d)?,
        };
        if let Some(w) = &self.weights {
            data = data.with_weights(w)?;
        }
        Ok(data)
    }
}

/// Reads the data for `fit` and `select` (features, weights, precision).
/// The first text-reading flag given (`--delimiter`, `--header`, `--decimal`,
/// `--missing`), which `.npy` streaming has no use for.
pub fn text_flags(d: &DataArgs) -> Option<&'static str> {
    [
        ("--delimiter", d.delimiter.is_some()),
        ("--header", d.header != "auto"),
        ("--decimal", d.decimal != "."),
        ("--missing", d.missing != "error"),
    ]
    .into_iter()
    .find(|f| f.1)
    .map(|f| f.0)
}

/// The number of components and the covariance type: from `reference` (a starting
/// model or a checkpoint, named by its flag), which `-k` and `--covariance` must agree
/// with, else from `-k` (required) and `--covariance` (default full).
pub fn components(
    reference: Option<(&GaussianMixture, &str)>,
    k: Option<usize>,
    covariance: Option<CovarianceType>,
    alternative: &str,
) -> CliResult<(usize, CovarianceType)> {
    match reference {
        Some((m, from)) => {
            if let Some(k) = k.filter(|k| *k != m.n_components()) {
                return Err(CliError::usage(format!(
                    "-k {k} disagrees with {from}, which has {}",
                    crate::input::plural(m.n_components(), "component", "components")
                )));
            }
            if let Some(c) = covariance.filter(|c| *c != m.covariance_type()) {
                return Err(CliError::usage(format!(
                    "--covariance {c} disagrees with {from}, which is {}",
                    m.covariance_type()
                )));
            }
            Ok((m.n_components(), m.covariance_type()))
        }
        None => Ok((
            k.ok_or_else(|| {
                CliError::usage(format!(
                    "give the number of components with -k K {alternative}"
                ))
            })?,
            covariance.unwrap_or_default(),
        )),
    }
}

/// `--init-sample` when `--stream` is given without one.
pub const DEFAULT_STREAM_INIT_SAMPLE: usize = 100_000;

/// Opens `path` for `fit --stream`: a C-order .npy file read by position on every
/// pass. What needs the rows in memory (column selection, weights, a figure, another
/// precision) is refused with what to do instead.
pub fn open_stream(path: &str, a: &FitArgs) -> CliResult<FitData> {
    let refuse = |what: &str| {
        Err(CliError::usage(format!(
            "--stream reads the file's rows as they are; {what} is not available with it \
             yet (fit without --stream)"
        )))
    };
    if path == "-" {
        return Err(CliError::usage(
            "--stream reads a file again on every pass; it cannot stream stdin (save the \
             data to a .npy file first)",
        ));
    }
    if a.plot.is_some() {
        return refuse("--plot");
    }
    let lower = path.to_ascii_lowercase();
    if a.flags.dtype != "f64" {
        return refuse(if lower.ends_with(".npy") {
            "--dtype (the file's own float64 or float32 is used)"
        } else {
            "--dtype (convert the data to a float32 .npy once: gaussmix convert DATA --dtype f32 -o x.npy)"
        });
    }
    if !lower.ends_with(".npy") {
        return open_text_stream(
            path,
            a,
            lower.ends_with(".parquet") || lower.ends_with(".pq"),
        );
    }
    let d = &a.data_args;
    if d.columns.is_some() || !d.exclude.is_empty() {
        return refuse("--columns/--exclude");
    }
    if let Some(flag) = text_flags(d) {
        return Err(CliError::usage(format!(
            "{flag} is for text files; --stream reads .npy files (which have no missing \
             cells to drop: a NaN is an error)"
        )));
    }
    if a.flags.weight_column.is_some() {
        return refuse("--weight-column (a .npy file has no columns to name; give --weights FILE)");
    }
    let rows = gaussmix_io::NpyRows::open(path)?;
    let (n, d) = rows.shape();
    // Weights stay in memory: 8 bytes a row.
    let weights = match &a.flags.weights {
        Some(p) => Some(read_weights(p, n, &[])?),
        None => None,
    };
    Ok(FitData {
        table: None,
        stream: Some(std::sync::Arc::new(rows)),
        f32_values: Vec::new(),
        weights,
        n,
        d,
        names: None,
        columns: (0..d).map(|j| j.to_string()).collect(),
        dropped: 0,
        warnings: Vec::new(),
    })
}

/// `fit --stream` on a text file: indexed once, re-parsed a block of rows at a time on
/// every pass (`gaussmix_io::TextRows`), with the reading flags; a note says that
/// `convert` to .npy once is the fast way.
fn open_text_stream(path: &str, a: &FitArgs, parquet: bool) -> CliResult<FitData> {
    use gaussmix::source::RowReader;
    if a.flags.weight_column.is_some() {
        return Err(CliError::usage(
            "--weight-column is not read while streaming; give the weights as a file: `gaussmix convert DATA --columns W -o w.npy`, then --weights w.npy",
        ));
    }
    let opts = read_options(&a.data_args, None, &[])?;
    let (rows, names, columns): (std::sync::Arc<dyn RowReader>, _, _) = if parquet {
        let r = gaussmix_io::ParquetRows::open(path, &opts)?;
        let names = r.feature_names().to_vec();
        (std::sync::Arc::new(r), Some(names.clone()), names)
    } else {
        let r = gaussmix_io::TextRows::open(path, &opts)?;
        let names = r.feature_names().map(<[String]>::to_vec);
        let columns = r.columns().to_vec();
        (std::sync::Arc::new(r), names, columns)
    };
    let (n, d) = (rows.n_rows(), rows.n_features());
    let weights = match &a.flags.weights {
        Some(p) => Some(read_weights(p, n, &[])?),
        None => None,
    };
    // An empty header name (pandas' index column) becomes "Unnamed: j", as in memory.
    let names = names
        .map(|n| crate::input::feature_names(&n, &n))
        .transpose()
        .map_err(|e| e.context(path))?;
    Ok(FitData {
        table: None,
        stream: Some(rows),
        f32_values: Vec::new(),
        weights,
        n,
        d,
        names,
        columns,
        dropped: 0,
        warnings: Vec::new(),
    })
}

pub fn read_fit_data(
    path: &str,
    data_args: &DataArgs,
    flags: &FitFlags,
    keep_table: bool,
) -> CliResult<FitData> {
    let f32 = flags.f32()?;
    let opts = read_options(data_args, flags.weight_column.as_deref(), &[])?;
    // f32 from a plain .npy file with nothing to select: straight into f32, one copy.
    let lower = path.to_ascii_lowercase();
    if f32
        && lower.ends_with(".npy")
        && !keep_table
        && flags.weight_column.is_none()
        && data_args.columns.is_none()
        && data_args.exclude.is_empty()
        && flags.weights.is_none()
    {
        let x = gaussmix_io::read_npy_f32(path)?;
        return Ok(FitData {
            table: None,
            stream: None,
            f32_values: x.values,
            weights: None,
            n: x.n_rows,
            d: x.n_features,
            names: None,
            columns: (0..x.n_features).map(|j| j.to_string()).collect(),
            dropped: 0,
            warnings: Vec::new(),
        });
    }
    let t = read_table(path, &opts)?;
    let (n, d) = (t.n_rows(), t.n_cols());
    let mut weights = t.weights().map(<[f64]>::to_vec);
    if let Some(p) = &flags.weights {
        weights = Some(read_weights(p, t.n_input_rows(), t.dropped_rows())?);
    }
    let mut f32_values = Vec::new();
    if f32 {
        if let Some((i, v)) = t
            .values()
            .iter()
            .enumerate()
            .find(|(_, v)| v.abs() > f32::MAX as f64)
        {
            return Err(CliError::data(format!(
                "row {}, column {} ({}): {v} does not fit in f32; use --dtype f64",
                i / d + 1,
                i % d + 1,
                t.columns()[i % d]
            )));
        }
        f32_values = t.values().iter().map(|v| *v as f32).collect();
    }
    Ok(FitData {
        names: t
            .feature_names()
            .map(|n| crate::input::feature_names(n, t.source_columns()))
            .transpose()
            .map_err(|e| e.context(path))?,
        columns: t.columns().to_vec(),
        dropped: t.dropped_rows().len(),
        warnings: crate::input::read_warnings(&t, data_args, path),
        table: (!f32 || keep_table).then_some(t),
        stream: None,
        f32_values,
        weights,
        n,
        d,
    })
}

/// A `--weights` file: one weight per input row (rows dropped from the data for
/// missing cells are dropped here too).
pub(crate) fn read_weights(path: &Path, n_in: usize, dropped: &[usize]) -> CliResult<Vec<f64>> {
    let mut opts = gaussmix_io::ReadOptions::default();
    opts.header = gaussmix_io::Header::Auto;
    let t = read_table(&path.to_string_lossy(), &opts)?;
    if t.n_cols() != 1 || t.n_rows() != n_in {
        return Err(CliError::data(format!(
            "--weights {}: expected {n_in} weights, one per data row, but found {} rows × {} columns",
            path.display(),
            t.n_rows(),
            t.n_cols()
        )));
    }
    let w = t.into_values();
    if dropped.is_empty() {
        return Ok(w);
    }
    let mut skip = dropped.iter().peekable();
    Ok(w.into_iter()
        .enumerate()
        .filter(|(i, _)| {
            if skip.peek() == Some(&i) {
                skip.next();
                false
            } else {
                true
            }
        })
        .map(|(_, v)| v)
        .collect())
}

/// The notes every fit prints about its input (not warnings).
pub fn input_notes(path: &str, fd: &FitData) -> Vec<String> {
    let mut notes = Vec::new();
    let lower = path.to_ascii_lowercase();
    if fd.stream.is_some()
        && !lower.ends_with(".npy")
        && !lower.ends_with(".parquet")
        && !lower.ends_with(".pq")
    {
        notes.push(format!(
            "{path}: --stream parses this text again on every EM pass (slow); `gaussmix convert {path} -o data.npy` once, then fit data.npy with --stream"
        ));
    }
    if fd.dropped > 0 {
        notes.push(format!(
            "{path}: dropped {} with missing cells (--missing drop); fitted on {}",
            crate::input::plural(fd.dropped, "row", "rows"),
            crate::input::plural(fd.n, "row", "rows")
        ));
    }
    notes
}

pub fn run(a: &FitArgs) -> CliResult<()> {
    if a.online.online {
        return crate::online_cmd::run(a);
    }
    if let Some(flag) = a.online.given().first() {
        return Err(CliError::usage(format!(
            "{flag} is for online EM: add --online"
        )));
    }
    // Refuse unusable outputs before any work.
    check_out(a.output.as_deref())?;
    a.flags.check_stdout(a.output.as_deref(), "model")?;
    crate::output::check_not_input(&a.data, &[("-o", a.output.as_deref())])?;
    let convergence = a.plot.as_deref().map(plot::convergence_path);
    check_distinct(&[
        ("-o", a.output.as_deref()),
        ("--plot", a.plot.as_deref()),
        ("--plot (its convergence figure)", convergence.as_deref()),
    ])?;
    if let Some(p) = &a.plot {
        check_figure_path(p, "--plot")?;
        plot::check_frame(&a.frame.frame())?;
    } else if let Some(flag) = a.panel.given().into_iter().chain(a.frame.given()).next() {
        return Err(CliError::usage(format!(
            "{flag} describes the figure: add --plot FIG.png (or .svg)"
        )));
    }
    a.flags.f32()?;
    // (The init sample is checked against K once K is known.)
    let mut early = a.em.options(1)?;
    early.init_sample = None;
    early.validate()?;
    let start_model = a
        .init_model
        .as_deref()
        .map(|p| load_model(&p.to_string_lossy()))
        .transpose()?;
    let covariance: Option<CovarianceType> = a.covariance.as_deref().map(str::parse).transpose()?;
    let (k, cov_type) = components(
        start_model.as_ref().map(|m| (m, "--init-model")),
        a.k,
        covariance,
        "(or a starting model with --init-model)",
    )?;

    let fd = if a.stream {
        open_stream(&a.data, a)?
    } else {
        read_fit_data(&a.data, &a.data_args, &a.flags, a.plot.is_some())?
    };
    // The figure's flags are checked before the fit, so a bad one costs no fit and
    // leaves no model behind.
    let plot_spec = match (&a.plot, &fd.table) {
        (Some(_), Some(table)) => {
            let spec = crate::apply_cmd::plot_spec(&a.panel, &a.frame, table.columns(), fd.d)?;
            plot::check_spec(&spec, fd.d)?;
            Some(spec)
        }
        _ => None,
    };
    if let Some(m) = &start_model {
        if m.n_features() != fd.d {
            return Err(CliError::data(format!(
                "--init-model has {} but {} has {}",
                crate::input::plural(m.n_features(), "feature", "features"),
                a.data,
                crate::input::plural(fd.d, "column", "columns")
            )));
        }
    }
    let mut opts = a.flags.apply(a.em.options(k)?.covariance_type(cov_type));
    if a.stream && a.em.init_sample.is_none() && start_model.is_none() {
        // Starts from all the rows would hold per-row state (k-means++'s distances,
        // em-EM's sampling weights): a sample keeps memory independent of the file.
        opts = opts.init_sample(DEFAULT_STREAM_INIT_SAMPLE.max(k));
    }
    if let Some(names) = &fd.names {
        opts = opts.feature_names(Some(names.clone()));
    }
    if let Some(m) = &start_model {
        opts = opts.start(StartParameters::from_model(m));
    }
    opts.validate()?;
    let data = fd.data()?;
    let bar = Bar::new(a.flags.quiet || a.flags.json);
    let mut on_progress = |p: &gaussmix::Progress| bar.update(p);
    let started = std::time::Instant::now();
    let model = opts.fit_with_progress(&data, &mut on_progress);
    let fit_seconds = started.elapsed().as_secs_f64();
    bar.finish();
    let model = model?;
    let rec = model
        .fit_record()
        .ok_or_else(|| CliError::data("internal: the fit has no record"))?;

    let mut notes = input_notes(&a.data, &fd);
    notes.extend(a.em.ignored_flags_note(a.init_model.is_some()));
    let mut warnings = fd.warnings.clone();
    warnings.extend(fit_warning_lines(&rec.warnings, ""));
    if !a.flags.quiet && !a.flags.json {
        for n in &notes {
            eprintln!("note: {n}");
        }
    }
    report_warnings(&warnings, a.flags.strict)?;

    let model_json_text = model.to_json();
    if !is_stdout(a.output.as_deref()) {
        if let Some(o) = &a.output {
            write_atomic(o, model_json_text.as_bytes())?;
        }
    }
    if let Some(p) = &a.plot {
        let table = fd
            .table
            .as_ref()
            .ok_or_else(|| CliError::data("internal: no data table to plot"))?;
        let spec = plot_spec
            .as_ref()
            .ok_or_else(|| CliError::data("internal: no figure options"))?;
        for note in plot::plot_model(&model, table, spec, p)? {
            if !a.flags.quiet {
                eprintln!("note: {note}");
            }
        }
        let conv = plot::Convergence {
            lower_bounds: &rec.lower_bounds,
            title: "EM convergence".into(),
        };
        let size = plot::Frame {
            title: None,
            ..a.frame.frame()
        };
        plot::render(&conv, &size, &plot::convergence_path(p))?;
    }
    if a.flags.json {
        let mut summary = model_json(&model);
        // Timing lives only in the summary: model files stay byte-for-byte reproducible.
        summary["fit_seconds"] = json!(fit_seconds);
        summary["n_dropped"] = json!(fd.dropped);
        summary["read_warnings"] = json!(fd.warnings);
        summary["notes"] = json!(notes);
        return emit(None, &format!("{summary}\n"));
    }
    if !a.flags.quiet {
        eprint!(
            "{}",
            fit_text(
                &model,
                rec,
                &fd.columns,
                fd.names.is_some(),
                a.init_model.as_deref()
            )
        );
    }
    if is_stdout(a.output.as_deref()) {
        emit(None, &format!("{model_json_text}\n"))?;
    }
    Ok(())
}
