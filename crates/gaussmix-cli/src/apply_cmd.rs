//! `predict`, `score`, `sample` and `plot`: a fitted model applied to data (or drawn
//! from). Data columns are matched to the model's features by name when both have
//! names; outputs have a header row and one row per input row (rows dropped for
//! missing cells are empty), in CSV, `.npy` or `.parquet`.

use std::borrow::Cow;
use std::path::Path;

use gaussmix::Data;
use serde_json::{json, Value};

use crate::error::{CliError, CliResult};
use crate::input::{
    features_for, load_model, one_stdin, read_for_model, read_options, read_warnings, Table,
};
use crate::output::{check_figure_path, check_out, emit, write_columns, Column};
use crate::plot;
use crate::summary::{feature_labels, report_warnings};
use crate::{ApplyArgs, DataArgs, FrameArgs, PanelArgs};

/// A model without feature names applied to a file with a header is matched by
/// position: said, since a reordered file would then give other answers.
fn match_warning(model: &gaussmix::GaussianMixture, input: &Table, data: &str) -> Option<String> {
    match (model.feature_names(), input.feature_names()) {
        (None, Some(have)) => Some(format!(
            "{data}: the model has no feature names (it was fitted on data without a header), so the columns {} are matched to its features by position; check their order",
            crate::input::name_list(have, 8)
        )),
        _ => None,
    }
}

/// The model, the data as read (kept columns, dropped rows) and its features in the
/// model's order.
struct Applied {
    model: gaussmix::GaussianMixture,
    input: Table,
    features: Table,
}

fn load(a: &ApplyArgs) -> CliResult<Applied> {
    check_out(a.output.as_deref())?;
    crate::output::check_not_input(&a.data, &[("-o", a.output.as_deref())])?;
    one_stdin(&a.model, &a.data)?;
    let asks_for = |ext: &[&str]| {
        a.output
            .as_deref()
            .and_then(|p| p.extension())
            .is_some_and(|e| ext.contains(&e.to_string_lossy().to_ascii_lowercase().as_str()))
    };
    if a.json && asks_for(&["csv", "tsv", "npy", "parquet", "pq"]) {
        return Err(CliError::usage(
            "--json writes JSON, but the -o file's extension asks for another format: drop --json or name the file .json",
        ));
    }
    let model = load_model(&a.model)?;
    let keep: Vec<String> = a.keep.iter().flatten().cloned().collect();
    let mut opts = read_options(&a.data_args, None, &keep)?;
    // A kept column that is one of the model's features stays a feature: read exactly
    // the model's columns (matching is by name, so nothing else can be used).
    if let Some(names) = model.feature_names() {
        if opts.columns.is_none() && opts.keep.iter().any(|k| names.contains(k)) {
            opts.columns = Some(names.to_vec());
        }
    }
    let input = read_for_model(&a.data, &opts, &model)?;
    let mut warnings = read_warnings(&input, &a.data_args, &a.data);
    warnings.extend(match_warning(&model, &input, &a.data));
    report_warnings(&warnings, a.strict)?;
    let features = features_for(&model, &input, &a.data)?;
    Ok(Applied {
        model,
        input,
        features,
    })
}

impl Applied {
    fn data(&self) -> CliResult<Data<'_>> {
        Ok(Data::from_slice(
            self.features.values(),
            self.features.n_rows(),
            self.features.n_cols(),
        )?)
    }

    /// Rows in the output: every input row, dropped ones included.
    fn n_out(&self) -> usize {
        self.input.n_input_rows()
    }

    /// Spreads per-kept-row values over all input rows, `fill` where a row was dropped.
    fn spread<'v, T: Copy>(&self, values: &'v [T], width: usize, fill: T) -> Cow<'v, [T]> {
        let dropped = self.input.dropped_rows();
        if dropped.is_empty() {
            return Cow::Borrowed(values);
        }
        let mut out = Vec::with_capacity(self.n_out() * width);
        let mut next = dropped.iter().peekable();
        let mut kept = values.chunks_exact(width.max(1));
        for i in 0..self.n_out() {
            if next.peek() == Some(&&i) {
                next.next();
                out.extend(std::iter::repeat_n(fill, width));
            } else if let Some(row) = kept.next() {
                out.extend_from_slice(row);
            }
        }
        Cow::Owned(out)
    }

    /// The `--keep` columns: names and text per output row.
    fn kept(&self) -> (Vec<String>, Vec<&[String]>) {
        let k = self.input.kept();
        (
            k.iter().map(|c| c.name.clone()).collect(),
            k.iter().map(|c| &c.values[..]).collect(),
        )
    }
}

/// Writes kept columns then the result columns.
fn write_out(a: &ApplyArgs, ap: &Applied, names: Vec<String>, cols: Vec<Column>) -> CliResult<()> {
    let (mut all_names, kept) = ap.kept();
    all_names.extend(names);
    let mut all: Vec<Column> = kept.into_iter().map(Column::Text).collect();
    all.extend(cols);
    write_columns(a.output.as_deref(), &all_names, &all, ap.n_out())
}

/// JSON for per-row results: `null` for dropped rows.
fn json_rows(values: &[f64], width: usize) -> Value {
    let cell = |v: f64| if v.is_nan() { Value::Null } else { json!(v) };
    if width == 1 {
        Value::Array(values.iter().map(|&v| cell(v)).collect())
    } else {
        Value::Array(
            values
                .chunks_exact(width)
                .map(|r| Value::Array(r.iter().map(|&v| cell(v)).collect()))
                .collect(),
        )
    }
}

fn kept_json(ap: &Applied) -> Value {
    let mut o = serde_json::Map::new();
    for c in ap.input.kept() {
        o.insert(c.name.clone(), json!(c.values));
    }
    Value::Object(o)
}

/// What `predict`/`score` compute per row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PerRow {
    Labels,
    Proba,
    LogLikelihood,
}

/// Rows per block that `--stream` reads, computes and writes at a time (a multiple of
/// the library's 256-row chunks, so every row is computed exactly as in memory).
/// `GAUSSMIX_STREAM_BLOCK_ROWS` sets it (rounded up to a multiple of 256), so that tests
/// can cross block boundaries with small files.
fn stream_block_rows() -> usize {
    std::env::var("GAUSSMIX_STREAM_BLOCK_ROWS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map(|v| v.clamp(1, 1 << 24).div_ceil(256) * 256)
        .unwrap_or(1 << 16)
}

/// `predict`/`score` with `--stream`: the .npy file's rows read a block at a time, the
/// results written as they come (`per_row`), or the mean score (`None`).
fn apply_streamed(a: &ApplyArgs, per_row: Option<PerRow>) -> CliResult<()> {
    check_out(a.output.as_deref())?;
    crate::output::check_not_input(&a.data, &[("-o", a.output.as_deref())])?;
    if let Some(flag) = crate::fit_cmd::text_flags(&a.data_args) {
        return Err(CliError::usage(format!(
            "{flag} is for text files; --stream reads .npy files"
        )));
    }
    let refuse = |what: &str| {
        Err(CliError::usage(format!(
            "--stream reads the file's rows as they are and writes results as they come; \
             {what} is not available with it (drop --stream)"
        )))
    };
    if a.data == "-" || !a.data.to_ascii_lowercase().ends_with(".npy") {
        return Err(CliError::usage(format!(
            "--stream reads C-order .npy files here; {} is not one: convert it once with `gaussmix convert DATA -o data.npy`",
            a.data
        )));
    }
    let d = &a.data_args;
    if d.columns.is_some() || !d.exclude.is_empty() {
        return refuse("--columns/--exclude");
    }
    if !a.keep.is_empty() {
        return refuse("--keep");
    }
    if a.json && per_row.is_some() {
        return refuse("--json for per-row results");
    }
    let format = crate::output::Format::of(a.output.as_deref());
    if per_row.is_some() && format == crate::output::Format::Parquet {
        return refuse("Parquet output (write .csv or .npy)");
    }
    let model = load_model(&a.model)?;
    let rows = std::sync::Arc::new(gaussmix_io::NpyRows::open(&a.data)?);
    let (n, dims) = rows.shape();
    if dims != model.n_features() {
        return Err(CliError::data(format!(
            "{}: {} but the model has {}",
            a.data,
            crate::input::plural(dims, "column", "columns"),
            crate::input::plural(model.n_features(), "feature", "features")
        )));
    }
    if model.feature_names().is_some() {
        report_warnings(
            &[format!(
                "{}: a .npy file has no column names, so its columns are matched to the \
                 model's features ({}) by position; check their order",
                a.data,
                crate::input::name_list(model.feature_names().unwrap_or_default(), 8)
            )],
            a.strict,
        )?;
    }
    let Some(per_row) = per_row else {
        if format != crate::output::Format::Csv {
            return Err(CliError::usage(
                "the mean score is one number, written as text: -o .npy/.parquet needs --per-sample (or name the file .txt)",
            ));
        }
        let data = Data::from_reader(rows)?;
        let mean = model.score(&data)?;
        let text = if a.json {
            format!(
                "{}\n",
                json!({ "score": mean, "n_samples": n, "n_dropped": 0 })
            )
        } else {
            format!("{}\n", crate::output::num(mean))
        };
        return emit(a.output.as_deref(), &text);
    };
    let k = model.n_components();
    let (names, width): (Vec<String>, usize) = match per_row {
        PerRow::Labels => (vec!["component".into()], 1),
        PerRow::Proba => ((0..k).map(|c| format!("proba_{c}")).collect(), k),
        PerRow::LogLikelihood => (vec!["log_likelihood".into()], 1),
    };
    // Model errors met while writing abort the write (the output is then not created)
    // and are reported as themselves.
    let mut failure: Option<CliError> = None;
    let written = crate::output::write_stream(a.output.as_deref(), |w| {
        let mut w = std::io::BufWriter::new(w);
        let npy = format == crate::output::Format::Npy;
        if npy {
            let (descr, shape) = match per_row {
                PerRow::Labels => ("<i8", vec![n]),
                PerRow::Proba => ("<f8", vec![n, k]),
                PerRow::LogLikelihood => ("<f8", vec![n]),
            };
            gaussmix_io::write_npy_header(&mut w, descr, &shape)?;
        } else {
            use std::io::Write;
            writeln!(w, "{}", names.join(","))?;
        }
        let mut buf = Vec::new();
        let rows_per_block = stream_block_rows();
        for s in (0..n).step_by(rows_per_block) {
            let e = (s + rows_per_block).min(n);
            let result = block(&model, &rows, s, e, dims, per_row, &mut buf);
            let out = match result {
                Ok(o) => o,
                Err(err) => {
                    failure = Some(err);
                    return Err(std::io::Error::other("stopped"));
                }
            };
            let m = e - s;
            match (&out, npy) {
                (Block::Labels(l), true) => {
                    for v in l {
                        std::io::Write::write_all(&mut w, &v.to_le_bytes())?;
                    }
                }
                (Block::Floats(f), true) => {
                    for v in f {
                        std::io::Write::write_all(&mut w, &v.to_le_bytes())?;
                    }
                }
                (Block::Labels(l), false) => {
                    crate::output::write_csv_rows(&mut w, &[Column::I64(l)], m)?
                }
                (Block::Floats(f), false) => {
                    let cols: Vec<Column> =
                        (0..width).map(|c| Column::Matrix(f, width, c)).collect();
                    crate::output::write_csv_rows(&mut w, &cols, m)?
                }
            }
        }
        std::io::Write::flush(&mut w)
    });
    match failure {
        Some(e) => Err(e),
        None => written,
    }
}

/// One block's results.
enum Block {
    Labels(Vec<i64>),
    Floats(Vec<f64>),
}

/// Reads rows `[s, e)` and computes `per_row` for them.
fn block(
    model: &gaussmix::GaussianMixture,
    rows: &gaussmix_io::NpyRows,
    s: usize,
    e: usize,
    d: usize,
    per_row: PerRow,
    buf: &mut Vec<f64>,
) -> CliResult<Block> {
    use gaussmix::source::RowReader;
    buf.clear();
    buf.resize((e - s) * d, 0.0);
    // f32 files compute as f32 data does in memory.
    let mut buf32 = Vec::new();
    let data = if rows.is_f32() {
        buf32.resize((e - s) * d, 0.0f32);
        rows.read_f32(s, e, &mut buf32)?;
        Data::from_slice_f32(&buf32, e - s, d)?
    } else {
        rows.read_f64(s, e, buf)?;
        Data::from_slice(buf, e - s, d)?
    };
    Ok(match per_row {
        PerRow::Labels => Block::Labels(
            model
                .predict(&data)?
                .into_iter()
                .map(|l| l as i64)
                .collect(),
        ),
        PerRow::Proba => Block::Floats(model.predict_proba(&data)?.iter().copied().collect()),
        PerRow::LogLikelihood => Block::Floats(model.score_samples(&data)?.to_vec()),
    })
}

pub fn predict(a: &ApplyArgs, proba: bool) -> CliResult<()> {
    if a.stream {
        let what = if proba { PerRow::Proba } else { PerRow::Labels };
        return apply_streamed(a, Some(what));
    }
    let ap = load(a)?;
    let data = ap.data()?;
    if proba {
        let p = ap.model.predict_proba(&data)?;
        let k = ap.model.n_components();
        let flat: Cow<[f64]> = match p.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(p.iter().copied().collect()),
        };
        let all = ap.spread(&flat, k, f64::NAN);
        if a.json {
            let v = json!({ "kept": kept_json(&ap), "proba": json_rows(&all, k), "n_dropped": ap.input.dropped_rows().len() });
            return emit(a.output.as_deref(), &format!("{v}\n"));
        }
        let names = (0..k).map(|c| format!("proba_{c}")).collect();
        write_out(
            a,
            &ap,
            names,
            (0..k).map(|c| Column::Matrix(&all, k, c)).collect(),
        )
    } else {
        let labels: Vec<i64> = ap
            .model
            .predict(&data)?
            .into_iter()
            .map(|l| l as i64)
            .collect();
        let all = ap.spread(&labels, 1, -1);
        if a.json {
            let v = json!({
                "kept": kept_json(&ap),
                "component": all.iter().map(|&l| if l < 0 { Value::Null } else { json!(l) }).collect::<Vec<_>>(),
                "n_dropped": ap.input.dropped_rows().len(),
            });
            return emit(a.output.as_deref(), &format!("{v}\n"));
        }
        write_out(a, &ap, vec!["component".into()], vec![Column::I64(&all)])
    }
}

pub fn score(a: &ApplyArgs, per_sample: bool) -> CliResult<()> {
    if a.stream {
        return apply_streamed(a, per_sample.then_some(PerRow::LogLikelihood));
    }
    let ap = load(a)?;
    let data = ap.data()?;
    if per_sample {
        let s = ap.model.score_samples(&data)?;
        let s: Vec<f64> = s.to_vec();
        let all = ap.spread(&s, 1, f64::NAN);
        if a.json {
            let v = json!({ "kept": kept_json(&ap), "log_likelihood": json_rows(&all, 1), "n_dropped": ap.input.dropped_rows().len() });
            return emit(a.output.as_deref(), &format!("{v}\n"));
        }
        return write_out(
            a,
            &ap,
            vec!["log_likelihood".into()],
            vec![Column::F64(&all)],
        );
    }
    if !a.keep.is_empty() {
        return Err(CliError::usage(
            "--keep copies input columns next to per-row results: add --per-sample",
        ));
    }
    if crate::output::Format::of(a.output.as_deref()) != crate::output::Format::Csv {
        return Err(CliError::usage(
            "the mean score is one number, written as text: -o .npy/.parquet needs --per-sample (or name the file .txt)",
        ));
    }
    let mean = ap.model.score(&data)?;
    let text = if a.json {
        format!(
            "{}\n",
            json!({ "score": mean, "n_samples": data.n_samples(), "n_dropped": ap.input.dropped_rows().len() })
        )
    } else {
        format!("{}\n", crate::output::num(mean))
    };
    emit(a.output.as_deref(), &text)
}

pub fn sample(model: &str, n: usize, seed: u64, labels: bool, out: Option<&Path>) -> CliResult<()> {
    check_out(out)?;
    let m = load_model(model)?;
    let (x, l) = m.sample(n, seed)?;
    let d = m.n_features();
    let mut names = feature_labels(&m);
    let cols: Vec<Vec<f64>> = (0..d).map(|j| x.column(j).to_vec()).collect();
    let mut columns: Vec<Column> = cols.iter().map(|c| Column::F64(c)).collect();
    let l: Vec<i64> = l.iter().map(|&c| c as i64).collect();
    if labels {
        names.push("component".into());
        columns.push(Column::I64(&l));
    }
    write_columns(out, &names, &columns, n)
}

/// A feature given by name (the model's or the data's) or 0-based index.
fn feature_index(token: &str, names: &[String], flag: &str) -> CliResult<usize> {
    let t = token.trim();
    if let Some(j) = names.iter().position(|n| n == t) {
        return Ok(j);
    }
    match t.parse::<usize>() {
        Ok(j) if j < names.len() => Ok(j),
        _ => Err(CliError::usage(format!(
            "{flag}: no feature {t:?}; the features are {} (names or 0-based indices)",
            crate::input::name_list(names, 20)
        ))),
    }
}

pub fn plot(
    model: &str,
    data: &str,
    out: &Path,
    panel: &PanelArgs,
    frame: &FrameArgs,
    a: &DataArgs,
) -> CliResult<()> {
    check_figure_path(out, "-o")?;
    plot::check_frame(&frame.frame())?;
    one_stdin(model, data)?;
    let m = load_model(model)?;
    let input = read_for_model(data, &read_options(a, None, &[])?, &m)?;
    let mut warnings = read_warnings(&input, a, data);
    warnings.extend(match_warning(&m, &input, data));
    report_warnings(&warnings, false)?;
    let table = features_for(&m, &input, data)?;
    let spec = plot_spec(panel, frame, table.columns(), m.n_features())?;
    for note in plot::plot_model(&m, &table, &spec, out)? {
        eprintln!("note: {note}");
    }
    Ok(())
}

/// The figure the panel and frame flags ask for, with `--features` resolved against
/// the data's column names.
pub fn plot_spec(
    panel: &PanelArgs,
    frame: &FrameArgs,
    names: &[String],
    d: usize,
) -> CliResult<plot::PlotSpec> {
    if let Some(m) = panel.max_features.filter(|m| *m < 2) {
        return Err(CliError::usage(format!(
            "--max-features {m}: a pairs matrix needs at least 2 features"
        )));
    }
    let features = match &panel.features {
        None => None,
        Some(_) if d == 1 => Some(vec![0]),
        Some(f) => {
            let parts: Vec<&str> = f.split(',').map(str::trim).collect();
            if parts.iter().any(|p| p.contains("..")) {
                return Err(CliError::usage(format!(
                    "--features {f:?}: list the features one by one (names or 0-based \
                     indices, e.g. 0,1,2); ranges are for --columns"
                )));
            }
            if parts.len() < 2 {
                return Err(CliError::usage(format!(
                    "--features {f:?}: name two features like 0,1 or height,weight (more \
                     for a pairs matrix)"
                )));
            }
            Some(
                parts
                    .iter()
                    .map(|p| feature_index(p, names, "--features"))
                    .collect::<CliResult<Vec<usize>>>()?,
            )
        }
    };
    Ok(plot::PlotSpec {
        features,
        pairs: panel.pairs,
        max_features: panel.max_features,
        layers: plot::Layers {
            uncertainty: panel.uncertainty,
            contours: panel.contours,
            density_only: panel.density_only,
        },
        frame: frame.frame(),
    })
}
