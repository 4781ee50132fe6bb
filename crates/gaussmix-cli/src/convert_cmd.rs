//! `gaussmix convert`: any data we read into a `.npy` or `.parquet` file, a chunk of
//! rows at a time (`gaussmix_io::TableChunks` in, `NpyRowWriter` / `ParquetRowWriter`
//! out), written atomically.

use std::time::Instant;

use gaussmix_io::TableChunks;

use crate::error::{CliError, CliResult};
use crate::input::{plural, read_options};
use crate::output::{check_not_input, check_out, is_stdout, with_temp_file};
use crate::ConvertArgs;

enum Sink {
    Npy(gaussmix_io::NpyRowWriter<std::io::BufWriter<std::fs::File>>),
    Parquet(Box<gaussmix_io::ParquetRowWriter<std::io::BufWriter<std::fs::File>>>),
}

pub fn run(a: &ConvertArgs) -> CliResult<()> {
    if is_stdout(Some(&a.output)) {
        return Err(CliError::usage(
            "convert writes a binary file: give -o OUT.npy or -o OUT.parquet",
        ));
    }
    let ext = a
        .output
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let parquet = match ext.as_str() {
        "npy" => false,
        "parquet" => true,
        _ => {
            return Err(CliError::usage(format!(
            "-o {}: convert writes .npy or .parquet files; name the output OUT.npy or OUT.parquet",
            a.output.display()
        )))
        }
    };
    let f32 = match a.dtype.as_str() {
        "f64" => false,
        "f32" => true,
        other => {
            return Err(CliError::usage(format!(
                "--dtype {other:?}: expected f64 or f32"
            )))
        }
    };
    if a.chunk_rows == 0 {
        return Err(CliError::usage("--chunk-rows must be at least 1"));
    }
    check_out(Some(&a.output))?;
    check_not_input(&a.data, &[("-o", Some(&a.output))])?;
    let opts = read_options(&a.data_args, None, &[])?;
    let mut chunks = if a.data == "-" {
        TableChunks::from_reader(std::io::stdin(), "<stdin>", &opts)?
    } else {
        TableChunks::open(&a.data, &opts)?
    };
    let started = Instant::now();
    let mut rows = 0usize;
    let mut dropped = 0usize;
    let mut columns: Vec<String> = Vec::new();
    let mut named = false;
    let mut warnings: Vec<String> = Vec::new();
    // A reading error is the input's, not the output's: kept apart from the "cannot
    // write" context the temporary file adds.
    let mut read_error: Option<CliError> = None;
    let written = with_temp_file(&a.output, |tmp| {
        let io = |e: std::io::Error| CliError::data(e.to_string());
        let mut sink: Option<Sink> = None;
        loop {
            let t = match chunks.next_table(a.chunk_rows) {
                Ok(Some(t)) => t,
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e.into());
                    return Err(CliError::data("the input could not be read"));
                }
            };
            if sink.is_none() {
                columns = t.columns().to_vec();
                named = t.feature_names().is_some();
                warnings = crate::input::read_warnings(&t, &a.data_args, &a.data);
                let file = std::io::BufWriter::with_capacity(
                    1 << 20,
                    std::fs::File::create(tmp).map_err(io)?,
                );
                sink = Some(if parquet {
                    Sink::Parquet(Box::new(
                        gaussmix_io::ParquetRowWriter::new(file, &columns, f32).map_err(io)?,
                    ))
                } else {
                    Sink::Npy(gaussmix_io::NpyRowWriter::new(file, t.n_cols(), f32).map_err(io)?)
                });
            }
            let written = match sink.as_mut() {
                Some(Sink::Npy(w)) => w.write_rows(t.values()),
                Some(Sink::Parquet(w)) => w.write_rows(t.values()),
                None => Ok(()),
            };
            written.map_err(|e| CliError::data(format!("{}: {e}", a.data)))?;
            rows += t.n_rows();
        }
        dropped = chunks.dropped_rows();
        match sink {
            Some(Sink::Npy(w)) => {
                w.finish().map_err(io)?;
            }
            Some(Sink::Parquet(w)) => w.finish().map_err(io)?,
            None => {
                return Err(CliError::data(format!(
                    "{}: no rows to convert{}",
                    a.data,
                    if dropped > 0 {
                        " (every row had a missing cell)"
                    } else {
                        ""
                    }
                )))
            }
        }
        Ok(())
    });
    if let Some(e) = read_error {
        return Err(e);
    }
    written?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if !a.quiet {
        eprintln!(
            "wrote {}: {} × {} ({}) in {:.1} s{}",
            a.output.display(),
            plural(rows, "row", "rows"),
            plural(columns.len(), "column", "columns"),
            if f32 { "float32" } else { "float64" },
            started.elapsed().as_secs_f64(),
            if dropped > 0 {
                format!(
                    "; dropped {} with missing cells (--missing drop)",
                    plural(dropped, "row", "rows")
                )
            } else {
                String::new()
            }
        );
        if named && !parquet {
            eprintln!(
                "note: .npy keeps no column names ({}); models fitted on it match columns by position (write .parquet to keep the names)",
                crate::input::name_list(&columns, 6)
            );
        }
    }
    Ok(())
}
