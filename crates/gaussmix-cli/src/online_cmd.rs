//! `gaussmix fit --online`: online (stepwise) EM over batches of rows — from a `.npy`
//! file (read by position), from any other file we read (held in memory), or from
//! stdin (parsed a batch at a time, so an endless stream works) — with checkpoints that
//! `--resume` continues.

use std::path::Path;
use std::time::Instant;

use gaussmix::source::RowReader;
use gaussmix::{CovarianceType, Data, GaussianMixture, GmmOptions, StartParameters};
use gaussmix_io::ReadOptions;
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::fit_cmd::text_flags;
use crate::input::{load_model, plural, read_options};
use crate::output::{check_out, emit, is_stdout, write_atomic};
use crate::summary::{component_table, model_json, report_warnings};
use crate::FitArgs;

/// Rows per batch by default.
pub const DEFAULT_BATCH_SIZE: usize = 10_000;

/// One batch: row-major values in f64 or f32, and the rows' weights.
struct Batch {
    f64: Vec<f64>,
    f32: Vec<f32>,
    weights: Option<Vec<f64>>,
    n: usize,
    d: usize,
}

impl Batch {
    fn data(&self) -> CliResult<Data<'_>> {
        let data = if self.f32.is_empty() {
            Data::from_slice(&self.f64, self.n, self.d)?
        } else {
            Data::from_slice_f32(&self.f32, self.n, self.d)?
        };
        Ok(match &self.weights {
            Some(w) => data.with_weights(w)?,
            None => data,
        })
    }
}

/// Where the batches come from.
enum Source {
    /// A C-order `.npy` file read by position (weights from `--weights` in memory).
    Npy {
        rows: gaussmix_io::NpyRows,
        weights: Option<Vec<f64>>,
        f32: bool,
        pos: usize,
    },
    /// Any other file, or stdin: a table of `--batch-size` rows (text: lines) at a
    /// time, read with the file readers' rules (`gaussmix_io::TableChunks`).
    Chunks(Box<Chunked>),
}

struct Chunked {
    path: String,
    opts: ReadOptions,
    chunks: gaussmix_io::TableChunks,
    f32: bool,
    /// From the first chunk: the feature names, the column count, the read warnings.
    names: Option<Vec<String>>,
    d: Option<usize>,
    warnings: Vec<String>,
    /// Rows dropped for missing cells (`--missing drop`), in all.
    dropped: usize,
}

impl Chunked {
    fn open(path: &str, opts: &ReadOptions, f32: bool) -> CliResult<Self> {
        let chunks = if path == "-" {
            gaussmix_io::TableChunks::from_reader(std::io::stdin(), "<stdin>", opts)?
        } else {
            gaussmix_io::TableChunks::open(path, opts)?
        };
        Ok(Chunked {
            path: path.to_string(),
            opts: opts.clone(),
            chunks,
            f32,
            names: None,
            d: None,
            warnings: Vec::new(),
            dropped: 0,
        })
    }

    fn next(&mut self, size: usize, data_args: &crate::DataArgs) -> CliResult<Option<Batch>> {
        let Some(t) = self.chunks.next_table(size)? else {
            return Ok(None);
        };
        if self.d.is_none() {
            self.d = Some(t.n_cols());
            self.names = t
                .feature_names()
                .map(|n| crate::input::feature_names(n, t.source_columns()))
                .transpose()?;
            self.warnings = crate::input::read_warnings(&t, data_args, &self.path);
        }
        self.dropped = self.chunks.dropped_rows();
        let (n, d) = (t.n_rows(), t.n_cols());
        let weights = t.weights().map(<[f64]>::to_vec);
        Ok(Some(batch(t.into_values(), weights, n, d, self.f32)?))
    }
}

fn batch(
    values: Vec<f64>,
    weights: Option<Vec<f64>>,
    n: usize,
    d: usize,
    f32: bool,
) -> CliResult<Batch> {
    if f32 {
        if let Some(v) = values.iter().find(|v| v.abs() > f32::MAX as f64) {
            return Err(CliError::data(format!(
                "{v} does not fit in f32; use --dtype f64"
            )));
        }
        return Ok(Batch {
            f32: values.iter().map(|v| *v as f32).collect(),
            f64: Vec::new(),
            weights,
            n,
            d,
        });
    }
    Ok(Batch {
        f64: values,
        f32: Vec::new(),
        weights,
        n,
        d,
    })
}

impl Source {
    fn n_features(&self) -> Option<usize> {
        match self {
            Source::Npy { rows, .. } => Some(rows.shape().1),
            Source::Chunks(c) => c.d,
        }
    }

    fn names(&self) -> Option<&[String]> {
        match self {
            Source::Npy { .. } => None,
            Source::Chunks(c) => c.names.as_deref(),
        }
    }

    /// Back to the first row (a new pass), then past `skip` batches of `size` rows
    /// (a resumed pass: the same batches as the run that was stopped).
    /// Returns whether the data had those batches (a resumed run on other data may not).
    fn rewind(&mut self, skip: u64, size: usize, data_args: &crate::DataArgs) -> CliResult<bool> {
        match self {
            Source::Npy { pos, rows, .. } => {
                let n = rows.shape().0;
                // The skipped batches were all full but perhaps the last.
                let skipped = usize::try_from(skip.saturating_sub(1))
                    .unwrap_or(usize::MAX)
                    .saturating_mul(size);
                if skip > 0 && skipped >= n {
                    return Ok(false);
                }
                *pos = usize::try_from(skip)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(size)
                    .min(n);
            }
            Source::Chunks(c) => {
                if c.path != "-" {
                    c.chunks = gaussmix_io::TableChunks::open(&c.path, &c.opts)?;
                    c.dropped = 0;
                }
                for _ in 0..skip {
                    if c.next(size, data_args)?.is_none() {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    fn next(&mut self, size: usize, data_args: &crate::DataArgs) -> CliResult<Option<Batch>> {
        match self {
            Source::Npy {
                rows,
                weights,
                f32,
                pos,
            } => {
                let (n, d) = rows.shape();
                let end = pos.saturating_add(size).min(n);
                if *pos >= end {
                    return Ok(None);
                }
                let m = end - *pos;
                let w = weights
                    .as_ref()
                    .and_then(|w| w.get(*pos..end))
                    .map(<[f64]>::to_vec);
                let b = if *f32 {
                    let mut v = vec![0.0f32; m * d];
                    rows.read_f32(*pos, end, &mut v)?;
                    Batch {
                        f64: Vec::new(),
                        f32: v,
                        weights: w,
                        n: m,
                        d,
                    }
                } else {
                    let mut v = vec![0.0f64; m * d];
                    rows.read_f64(*pos, end, &mut v)?;
                    Batch {
                        f64: v,
                        f32: Vec::new(),
                        weights: w,
                        n: m,
                        d,
                    }
                };
                *pos = end;
                Ok(Some(b))
            }
            Source::Chunks(c) => c.next(size, data_args),
        }
    }
}

/// Opens the data for online EM.
fn open(a: &FitArgs) -> CliResult<Source> {
    let f32 = a.flags.f32()?;
    let plain = a.data_args.columns.is_none()
        && a.data_args.exclude.is_empty()
        && a.flags.weight_column.is_none()
        && text_flags(&a.data_args).is_none();
    let fortran = || gaussmix_io::NpyReader::open(&a.data).is_ok_and(|r| r.is_fortran_order());
    if a.data != "-" && plain && a.data.to_ascii_lowercase().ends_with(".npy") && !fortran() {
        let rows = gaussmix_io::NpyRows::open(&a.data)?;
        let n = rows.shape().0;
        let weights = match &a.flags.weights {
            Some(p) => Some(crate::fit_cmd::read_weights(p, n, &[])?),
            None => None,
        };
        let f32 = f32 || rows.is_f32();
        return Ok(Source::Npy {
            rows,
            weights,
            f32,
            pos: 0,
        });
    }
    if a.flags.weights.is_some() {
        return Err(CliError::usage(
            "--online reads this data a batch at a time: give the rows' weights in a column of the data (--weight-column), or use --weights FILE with a .npy file",
        ));
    }
    let opts = read_options(&a.data_args, a.flags.weight_column.as_deref(), &[])?;
    Ok(Source::Chunks(Box::new(Chunked::open(
        &a.data, &opts, f32,
    )?)))
}

pub fn run(a: &FitArgs) -> CliResult<()> {
    let o = &a.online;
    check_out(a.output.as_deref())?;
    a.flags.check_stdout(a.output.as_deref(), "model")?;
    crate::output::check_not_input(&a.data, &[("-o", a.output.as_deref())])?;
    // (-o may name the --resume checkpoint: the continued model replaces it.)
    for (flag, given) in [("--stream", a.stream), ("--plot", a.plot.is_some())] {
        if given {
            return Err(CliError::usage(format!(
                "{flag} does not go with --online (online EM reads the data in batches already{})",
                if flag == "--plot" {
                    "; plot the model with `gaussmix plot` afterwards"
                } else {
                    ""
                }
            )));
        }
    }
    if let Some(flag) = a.panel.given().into_iter().chain(a.frame.given()).next() {
        return Err(CliError::usage(format!(
            "{flag} describes a figure, which --online does not draw"
        )));
    }
    if o.resume.is_some() && a.init_model.is_some() {
        return Err(CliError::usage(
            "--resume continues a checkpoint, --init-model starts from a model: give one of them",
        ));
    }
    if o.batch_size == Some(0) {
        return Err(CliError::usage("--batch-size must be at least 1"));
    }
    let passes = o.passes.unwrap_or(1);
    if passes == 0 {
        return Err(CliError::usage("--passes must be at least 1"));
    }
    if a.data == "-" && passes > 1 {
        return Err(CliError::usage(
            "stdin can be read once: --passes must be 1 with `-` (save the stream to a file for more passes)",
        ));
    }
    if o.max_batches == Some(0) {
        return Err(CliError::usage("--max-batches must be at least 1"));
    }
    if o.checkpoint_every == Some(0) {
        return Err(CliError::usage("--checkpoint-every must be at least 1"));
    }
    if o.checkpoint_every.is_some() && is_stdout(a.output.as_deref()) {
        return Err(CliError::usage(
            "--checkpoint-every writes the model to -o FILE.json again and again: give -o",
        ));
    }
    if a.em.init_sample.is_some() {
        return Err(CliError::usage(
            "--init-sample is for batch fits; --online starts from its first batch (--batch-size rows)",
        ));
    }
    a.flags.f32()?;

    // The checkpoint to continue, or the options of a new start.
    let resumed = o.resume.as_deref().map(load_checkpoint).transpose()?;
    let start_model = a
        .init_model
        .as_deref()
        .map(|p| load_model(&p.to_string_lossy()))
        .transpose()?;
    let covariance: Option<CovarianceType> = a.covariance.as_deref().map(str::parse).transpose()?;
    let reference = resumed.as_ref().or(start_model.as_ref());
    let from = if resumed.is_some() {
        "--resume"
    } else {
        "--init-model"
    };
    let (k, cov_type) = crate::fit_cmd::components(
        reference.map(|m| (m, from)),
        a.k,
        covariance,
        "(or --init-model / --resume)",
    )?;
    // A resumed run keeps the checkpoint's batches (their boundaries are what makes it
    // equal an uninterrupted run).
    let kept = resumed
        .as_ref()
        .and_then(|m| m.online_state())
        .map(|s| usize::try_from(s.batch_rows()).unwrap_or(usize::MAX))
        .filter(|b| *b > 0);
    let batch_size = match (o.batch_size, kept) {
        (Some(b), Some(c)) if b != c => {
            return Err(CliError::usage(format!(
                "--batch-size {b}: the checkpoint was made in batches of {c} rows, which --resume keeps; leave --batch-size out"
            )))
        }
        (Some(b), _) => b,
        (None, Some(c)) => c,
        (None, None) => DEFAULT_BATCH_SIZE,
    };
    if resumed.is_none() && batch_size < k {
        return Err(CliError::usage(format!(
            "--batch-size {batch_size} is smaller than -k {k}: the first batch must hold at least one row per component; give a larger --batch-size"
        )));
    }
    let mut opts: GmmOptions = a.flags.apply(a.em.options(k)?.covariance_type(cov_type));
    if let Some(kappa) = o.step_exponent {
        if resumed.is_some() {
            return Err(CliError::usage(
                "--step-exponent is fixed when online EM starts; --resume continues with the checkpoint's",
            ));
        }
        opts = opts.step_exponent(kappa);
    }
    if let Some(m) = &start_model {
        opts = opts.start(StartParameters::from_model(m));
    }
    if o.average_from.is_some() && resumed.is_some() {
        return Err(CliError::usage(
            "--average-from is fixed when online EM starts; --resume continues with the checkpoint's",
        ));
    }
    opts.validate()?;

    let mut source = open(a)?;
    match o.average_from {
        Some(0) | None => {}
        Some(t) => opts = opts.average_from(t),
    }
    let (done_passes, skip) = match &resumed {
        Some(m) => {
            let rec_passes = m.fit_record().map_or(0, |r| r.n_iter);
            // The batches of the pass under way: a resumed pass skips them.
            let batches = m.online_state().map_or(0, |s| s.pass_batches());
            (rec_passes, if a.data == "-" { 0 } else { batches })
        }
        None => (0, 0u64),
    };
    // stdin is one pass however often it is resumed: a resumed stream continues with
    // the rows that come, and its end closes the pass.
    let last_pass = if a.data == "-" {
        done_passes + 1
    } else {
        passes
    };
    if a.data != "-" && done_passes >= passes {
        return Err(CliError::usage(format!(
            "--resume: the checkpoint has made {} already; ask for more with --passes",
            plural(done_passes, "pass", "passes")
        )));
    }
    // (A checkpoint written after a pass's last batch resumes past its end: the pass
    // is then closed at once.)

    let quiet = a.flags.quiet || a.flags.json;
    let started = Instant::now();
    let mut model = resumed;
    let mut since_checkpoint = 0usize;
    let mut pass_lines = Vec::new();
    let mut this_run = 0usize;
    'passes: for pass in done_passes..last_pass {
        let t0 = Instant::now();
        // The source is open at its first row: only a later pass, or a resumed one,
        // goes back (and on).
        if (pass > done_passes || skip > 0)
            && !source.rewind(
                if pass == done_passes { skip } else { 0 },
                batch_size,
                &a.data_args,
            )?
        {
            return Err(CliError::data(format!(
                "--resume: the checkpoint stopped after {skip} batches of {batch_size} rows of its pass, but {} has fewer rows: it is not the data the checkpoint was fitted on",
                a.data
            )));
        }
        let mut pass_row = if pass == done_passes {
            usize::try_from(skip)
                .unwrap_or(0)
                .saturating_mul(batch_size)
        } else {
            0
        };
        loop {
            if o.max_batches.is_some_and(|m| this_run >= m) {
                // Stopped mid-pass: the pass stays open in the model's running state.
                if !quiet {
                    eprintln!(
                        "stopped after {} (--max-batches); continue with --resume",
                        plural(this_run, "batch", "batches")
                    );
                }
                break 'passes;
            }
            let Some(b) = source.next(batch_size, &a.data_args)? else {
                break;
            };
            if b.n == 0 {
                continue;
            }
            let first_row = pass_row + 1;
            pass_row += b.n;
            if let Some(w) = &b.weights {
                // Weights checked here, so that a bad one is named by its row in the
                // data, not in the batch.
                if let Some((i, v)) = w
                    .iter()
                    .enumerate()
                    .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
                {
                    return Err(CliError::data(format!(
                        "{}: data row {}: weight {v}; weights must be finite and ≥ 0",
                        a.data,
                        first_row + i
                    )));
                }
                if w.iter().sum::<f64>() <= 0.0 {
                    return Err(CliError::data(format!(
                        "{}: data rows {first_row}–{}: every weight of this batch is 0, and online EM learns from each batch; give a larger --batch-size, or leave those rows out",
                        a.data,
                        pass_row
                    )));
                }
            }
            let data = b.data()?;
            model = Some(match model.take() {
                None => {
                    if let Some(names) = source.names() {
                        opts = opts.clone().feature_names(Some(names.to_vec()));
                    }
                    check_features(start_model.as_ref(), b.d, &a.data)?;
                    opts.partial_fit(&data)?
                }
                Some(mut m) => {
                    check_model_features(&m, source.names(), b.d, &a.data)?;
                    m.partial_fit(&data)?;
                    m
                }
            });
            since_checkpoint += 1;
            this_run += 1;
            if let (Some(every), Some(m), Some(out)) =
                (o.checkpoint_every, model.as_ref(), a.output.as_deref())
            {
                if since_checkpoint >= every {
                    since_checkpoint = 0;
                    write_atomic(out, m.to_json().as_bytes())?;
                    if !quiet {
                        let s = m.online_state();
                        eprintln!(
                            "checkpoint: {} after {} ({} rows)",
                            out.display(),
                            plural(s.map_or(0, |s| s.batches()) as usize, "batch", "batches"),
                            s.map_or(0, |s| s.rows())
                        );
                    }
                }
            }
        }
        let Some(m) = model.as_mut() else {
            return Err(CliError::data(format!("{}: no rows to fit", a.data)));
        };
        // Averaging by default from the second pass (the first forgets the start, the
        // later ones average the last batches' noise away; bench/README.md, "Online
        // EM"), unless --average-from was given.
        let averaging = m
            .fit_record()
            .and_then(|r| r.options.average_from)
            .is_some();
        if o.average_from.is_none() && passes > pass + 1 && !averaging {
            if let Some(s) = m.online_state() {
                let (kappa, from) = (s.step_exponent(), s.updates() + 1);
                *m = m.clone().with_online_options(kappa, Some(from))?;
            }
        }
        if let Some(l) = m.end_pass() {
            let line = format!(
                "pass {}{}: mean log-likelihood {:.6} ({:.1} s)",
                pass + 1,
                if a.data == "-" {
                    String::new()
                } else {
                    format!("/{passes}")
                },
                l,
                t0.elapsed().as_secs_f64()
            );
            if !quiet {
                eprintln!("{line}");
            }
            pass_lines.push(line);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let model = model.ok_or_else(|| CliError::data(format!("{}: no rows to fit", a.data)))?;
    if let Some(n) = source.n_features() {
        if n != model.n_features() {
            return Err(CliError::data("internal: the model's features changed"));
        }
    }
    let mut warnings: Vec<String> = match &source {
        Source::Chunks(c) => c.warnings.clone(),
        Source::Npy { .. } => Vec::new(),
    };
    if let Some(r) = model.fit_record() {
        warnings.extend(crate::summary::fit_warning_lines(&r.warnings, ""));
    }
    if let (Source::Chunks(c), false) = (&source, a.flags.quiet || a.flags.json) {
        if c.dropped > 0 {
            eprintln!(
                "note: {}: dropped {} with missing cells (--missing drop) in the last pass",
                a.data,
                plural(c.dropped, "row", "rows")
            );
        }
    }
    report_warnings(&warnings, a.flags.strict)?;
    let text = model.to_json();
    if let Some(out) = a.output.as_deref().filter(|p| !is_stdout(Some(p))) {
        write_atomic(out, text.as_bytes())?;
    }
    if a.flags.json {
        let mut summary = model_json(&model);
        summary["fit_seconds"] = json!(seconds);
        summary["batch_size"] = json!(batch_size);
        if let Some(s) = model.online_state() {
            summary["batches"] = json!(s.batches());
            summary["rows_seen"] = json!(s.rows());
        }
        return emit(None, &format!("{summary}\n"));
    }
    if !a.flags.quiet {
        eprint!("{}", online_text(&model, batch_size, seconds));
    }
    if is_stdout(a.output.as_deref()) {
        emit(None, &format!("{text}\n"))?;
    }
    Ok(())
}

/// The summary of an online fit.
fn online_text(model: &GaussianMixture, batch_size: usize, seconds: f64) -> String {
    let (batches, rows, kappa) = model
        .online_state()
        .map_or((0, 0, 0.0), |s| (s.batches(), s.rows(), s.step_exponent()));
    let lls = model
        .fit_record()
        .map(|r| r.lower_bounds.clone())
        .unwrap_or_default();
    let mut s = format!(
        "online EM: {} ({} covariance), {}: {} ({rows} rows in {batches} batches of up to {batch_size}, κ = {kappa}; this run {seconds:.1} s)\n",
        plural(model.n_components(), "component", "components"),
        model.covariance_type(),
        plural(model.n_features(), "feature", "features"),
        plural(lls.len(), "finished pass", "finished passes"),
    );
    s +=
        &format!(
        "mean log-likelihood per pass (each batch under the parameters before its update): {}\n",
        lls.iter().map(|l| format!("{l:.6}")).collect::<Vec<_>>().join(", ")
    );
    s += &component_table(model, false);
    s
}

/// Loads a checkpoint: a model file with online EM's running statistics.
fn load_checkpoint(path: &Path) -> CliResult<GaussianMixture> {
    let m = load_model(&path.to_string_lossy())?;
    if m.online_state().is_none() {
        return Err(CliError::data(format!(
            "--resume {}: this model has no running statistics (it was not written by --online); start from it with --init-model instead",
            path.display()
        )));
    }
    Ok(m)
}

/// The first batch against `--init-model`.
fn check_features(start: Option<&GaussianMixture>, d: usize, path: &str) -> CliResult<()> {
    if let Some(m) = start {
        if m.n_features() != d {
            return Err(CliError::data(format!(
                "--init-model has {} but {path} has {}",
                plural(m.n_features(), "feature", "features"),
                plural(d, "column", "columns")
            )));
        }
    }
    Ok(())
}

/// Every later batch (and a resumed stream) against the model: same number of
/// columns, and the same names where both have them.
fn check_model_features(
    m: &GaussianMixture,
    names: Option<&[String]>,
    d: usize,
    path: &str,
) -> CliResult<()> {
    if m.n_features() != d {
        return Err(CliError::data(format!(
            "the model has {} but {path} has {}",
            plural(m.n_features(), "feature", "features"),
            plural(d, "column", "columns")
        )));
    }
    if let (Some(have), Some(got)) = (m.feature_names(), names) {
        if have != got {
            return Err(CliError::data(format!(
                "{path}'s columns ({}) are not the model's features ({}); give data with the model's columns, in its order",
                crate::input::name_list(got, 6),
                crate::input::name_list(have, 6)
            )));
        }
    }
    Ok(())
}
