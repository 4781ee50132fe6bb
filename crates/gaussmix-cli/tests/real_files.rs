//! Real files in, usable results out: files as pandas, R and spreadsheets write them
//! (`tests/data/`, made by `tests/data/make_files.py`), each case asserting the exact
//! numbers (the same model or predictions as from the clean file) or the exact refusal.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `text` with the test-data folder's path taken out of file names.
fn local(text: &str) -> String {
    text.replace(&format!("{}/", data("").display()), "")
        .replace(&format!("{}", data("").display()), "")
}

fn gaussmix() -> Command {
    Command::cargo_bin("gaussmix").unwrap()
}

/// The options of every fit here.
const FIT: [&str; 5] = ["-k", "3", "--seed", "0", "--quiet"];

/// Fits `file` with `args`; the model's JSON and stderr, or the failure's stderr.
fn fit(file: &Path, args: &[&str]) -> Result<(Value, String), (i32, String)> {
    let out = gaussmix()
        .arg("fit")
        .arg(file)
        .args(FIT)
        .args(args)
        .output()
        .unwrap();
    let stderr = local(&String::from_utf8(out.stderr).unwrap());
    if !out.status.success() {
        return Err((out.status.code().unwrap_or(-1), stderr));
    }
    Ok((serde_json::from_slice(&out.stdout).unwrap(), stderr))
}

/// The fitted parameters (not the names, not the record).
fn params(model: &Value) -> Value {
    serde_json::json!([model["weights"], model["means"], model["covariances"]])
}

fn reference() -> Value {
    fit(&data("iris.csv"), &[]).unwrap().0
}

enum Want {
    /// Exactly the reference parameters, with these feature names and these
    /// warnings on stderr (each line `warning: …` contains one of them).
    Same {
        names: &'static [&'static str],
        warnings: &'static [&'static str],
    },
    /// Exit code 1 (bad data) and this exact error line.
    Refused(&'static str),
    /// Exit code 2 (a flag naming no column) and this exact error line.
    Usage(&'static str),
    /// A fit (of other columns than the reference's) with exactly these warnings.
    Warned(&'static [&'static str]),
}

const IRIS: &[&str] = &["sepal_length", "sepal_width", "petal_length", "petal_width"];

#[test]
fn fit_reads_files_as_pandas_and_r_write_them() {
    let want = params(&reference());
    let cases: Vec<(&str, Vec<&str>, Want)> = vec![
        ("iris.csv", vec![], Want::Same { names: IRIS, warnings: &[] }),
        ("iris.csv.gz", vec![], Want::Same { names: IRIS, warnings: &[] }),
        ("iris_semicolon.csv", vec!["--decimal", ","], Want::Same { names: IRIS, warnings: &[] }),
        (
            "iris_numeric_header.csv",
            vec![],
            Want::Same {
                names: &["0", "1", "2", "3"],
                warnings: &["warning: iris_numeric_header.csv: first row 0,1,2,3 read as column names (pandas' default header); pass --header no if it is data"],
            },
        ),
        (
            "iris_pandas_index.csv",
            vec!["--exclude", "species"],
            Want::Warned(&["warning: iris_pandas_index.csv: the first column \"\" (its header is empty, as pandas' to_csv and R's write.csv write the index) looks like a row index; exclude it (--exclude 0) unless it is a feature"]),
        ),
        (
            "iris_r.csv",
            vec!["--exclude", "species"],
            Want::Warned(&["warning: iris_r.csv: the first column \"\" (its header is empty, as pandas' to_csv and R's write.csv write the index) looks like a row index; exclude it (--exclude 0) unless it is a feature"]),
        ),
        (
            "iris_pandas_index.csv",
            vec!["--exclude", "0,species"],
            Want::Same { names: IRIS, warnings: &[] },
        ),
        (
            "iris_pandas_index.csv",
            vec!["--columns", "1..4"],
            Want::Same { names: IRIS, warnings: &[] },
        ),
        (
            "iris_pandas_index.csv",
            vec!["--columns", "sepal_length..petal_width"],
            Want::Same { names: IRIS, warnings: &[] },
        ),
        (
            "iris_r.csv",
            vec!["--exclude", "0", "--exclude", "species"],
            Want::Same { names: IRIS, warnings: &[] },
        ),
        (
            "iris_reordered.csv",
            vec!["--columns", "sepal_length,sepal_width,petal_length,petal_width"],
            Want::Same { names: IRIS, warnings: &[] },
        ),
        (
            "iris_quoted.csv",
            vec!["--exclude", "id"],
            Want::Same {
                names: &["sepal, length", "sepal_width", "petal_length", "petal_width"],
                warnings: &[],
            },
        ),
        (
            "iris_missing.csv",
            vec![],
            Want::Refused("iris_missing.csv: line 5, column 2 (sepal_width): missing value (empty field); remove or impute missing values, or pass --missing drop to skip incomplete rows"),
        ),
        (
            "iris_reordered.csv",
            vec![],
            Want::Refused("iris_reordered.csv: line 2, column 2 (species): \"setosa\" is not a number; if it is not a feature, leave it out with --exclude species (or choose the features with --columns)"),
        ),
        (
            "iris_semicolon.csv",
            vec![],
            Want::Refused("iris_semicolon.csv: line 2, column 1 (sepal_length): \"5,1\" is not a number; for decimal commas pass --decimal , (and --delimiter if the fields are not separated by semicolons)"),
        ),
        (
            "iris_pandas_index.csv",
            vec!["--columns", "1..4", "--exclude", "petal_size"],
            Want::Usage("iris_pandas_index.csv: --exclude: no column \"petal_size\"; columns are \"\", sepal_length, sepal_width, petal_length, petal_width, species (names, 0-based indices, or ranges A..B)"),
        ),
    ];
    let mut failures = Vec::new();
    for (file, args, expect) in cases {
        let got = fit(&data(file), &args);
        let label = format!("{file} {}", args.join(" "));
        match (&expect, got) {
            (Want::Same { names, warnings }, Ok((model, stderr))) => {
                if params(&model) != want {
                    failures.push(format!("{label}: parameters differ from iris.csv's"));
                }
                let got_names: Vec<&str> = model["feature_names"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if got_names != *names {
                    failures.push(format!(
                        "{label}: feature names {got_names:?}, want {names:?}"
                    ));
                }
                let lines: Vec<&str> = stderr
                    .lines()
                    .filter(|l| l.starts_with("warning:"))
                    .collect();
                if lines != *warnings {
                    failures.push(format!("{label}: warnings {lines:?}, want {warnings:?}"));
                }
            }
            (Want::Warned(warnings), Ok((model, stderr))) => {
                let lines: Vec<&str> = stderr
                    .lines()
                    .filter(|l| l.starts_with("warning:"))
                    .collect();
                if lines != *warnings {
                    failures.push(format!("{label}: warnings {lines:?}, want {warnings:?}"));
                }
                if model["n_features"] != 5 {
                    failures.push(format!("{label}: {} features, want 5", model["n_features"]));
                }
            }
            (Want::Same { .. } | Want::Warned(_), Err((code, stderr))) => {
                failures.push(format!("{label}: failed ({code}): {stderr}"))
            }
            (Want::Refused(msg) | Want::Usage(msg), Err((code, stderr))) => {
                let line = stderr
                    .lines()
                    .find(|l| l.starts_with("error:"))
                    .unwrap_or("");
                let want_code = if matches!(expect, Want::Usage(_)) {
                    2
                } else {
                    1
                };
                if code != want_code || line != format!("error: {msg}") {
                    failures.push(format!(
                        "{label}: exit {code} {line:?}, want error: {msg:?}"
                    ));
                }
            }
            (Want::Refused(msg) | Want::Usage(msg), Ok(_)) => {
                failures.push(format!("{label}: succeeded, want refusal {msg:?}"))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `gaussmix args…` (stdin optional); exit code, stdout, stderr.
fn run(args: &[&str], stdin: Option<Vec<u8>>) -> (i32, String, String) {
    let mut c = gaussmix();
    c.args(args);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A reference model of iris.csv in `dir`.
fn reference_model(dir: &Path) -> PathBuf {
    let m = dir.join("iris.json");
    let (code, _, err) = run(
        &[
            "fit",
            p(&data("iris.csv")),
            "-k",
            "3",
            "--seed",
            "0",
            "--quiet",
            "-o",
            p(&m),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    m
}

#[test]
fn predict_matches_columns_by_name_or_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let m = reference_model(dir.path());
    let (code, want, _) = run(&["predict", p(&m), p(&data("iris.csv"))], None);
    assert_eq!(code, 0);
    assert!(want.starts_with("component\n"), "{want}");
    assert_eq!(want.lines().count(), 151);
    let (code, want_score, _) = run(&["score", p(&m), p(&data("iris.csv"))], None);
    assert_eq!(code, 0);

    // Reordered columns with a text column left out: the same answers, exactly.
    let reordered = data("iris_reordered.csv");
    let (code, got, err) = run(
        &["predict", p(&m), p(&reordered), "--exclude", "species"],
        None,
    );
    assert_eq!((code, got.as_str()), (0, want.as_str()), "{err}");
    let (code, got, _) = run(
        &["score", p(&m), p(&reordered), "--exclude", "species"],
        None,
    );
    assert_eq!((code, got.as_str()), (0, want_score.as_str()));
    // Same file through gzip, stdin, and the model from stdin.
    let (_, got, _) = run(&["predict", p(&m), p(&data("iris.csv.gz"))], None);
    assert_eq!(got, want);
    let (_, got, _) = run(
        &["predict", p(&m), "-"],
        Some(std::fs::read(data("iris.csv")).unwrap()),
    );
    assert_eq!(got, want);
    let (code, got, err) = run(
        &["predict", "-", p(&data("iris.csv")), "-o", "-"],
        Some(std::fs::read(&m).unwrap()),
    );
    assert_eq!((code, got.as_str()), (0, want.as_str()), "{err}");

    // Refusals name the columns.
    let numeric = data("iris_numeric_header.csv");
    let quoted = data("iris_quoted.csv");
    let cases: [(&[&str], &str); 5] = [
        (
            &["predict", p(&m), p(&reordered)],
            "error: iris_reordered.csv: column \"species\" holds text and is not one of the model's features (sepal_length, sepal_width, petal_length, petal_width); leave it out with --exclude species",
        ),
        (
            &["predict", p(&m), p(&numeric)],
            "warning: iris_numeric_header.csv: first row 0,1,2,3 read as column names (pandas' default header); pass --header no if it is data\n\
             error: iris_numeric_header.csv: the columns do not match the model's features (sepal_length, sepal_width, petal_length, petal_width); missing 4 columns the model was fitted on: sepal_length, sepal_width, petal_length, petal_width; 4 extra columns the model does not know: 0, 1, 2, 3 (leave them out with --exclude)",
        ),
        (
            &["score", p(&m), p(&reordered), "--columns", "petal_width,sepal_length"],
            "error: iris_reordered.csv: the columns do not match the model's features (sepal_length, sepal_width, petal_length, petal_width); missing 2 columns the model was fitted on: sepal_width, petal_length",
        ),
        (
            &["predict", p(&m), p(&quoted), "--exclude", "id"],
            "error: iris_quoted.csv: the columns do not match the model's features (sepal_length, sepal_width, petal_length, petal_width); missing 1 column the model was fitted on: sepal_length; 1 extra column the model does not know: sepal, length (leave it out with --exclude)",
        ),
        (
            &["predict", "-", "-"],
            "error: the model and the data cannot both come from stdin (-); give one of them as a file",
        ),
    ];
    for (args, msg) in cases {
        let (code, out, err) = run(args, Some(Vec::new()));
        assert_eq!(out, "", "{args:?}");
        assert_eq!(local(err.trim_end()), msg, "{args:?} exit {code}");
        assert!(code == 1 || code == 2, "{args:?} exit {code}");
    }
}

/// The values of a 1-D little-endian int64 `.npy` file (checked header).
fn npy_i64(bytes: &[u8]) -> Vec<i64> {
    assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(
        header.contains("'descr': '<i8'") && header.contains("'fortran_order': False"),
        "{header}"
    );
    bytes[10 + len..]
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The lines of a CSV output with the given data rows (0-based, after the header) empty.
fn blank_rows<'a>(text: &'a str, rows: &[usize]) -> Vec<&'a str> {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && rows.contains(&(i - 1)) {
                ""
            } else {
                l
            }
        })
        .collect()
}

#[test]
fn dropped_rows_keep_outputs_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let m = reference_model(dir.path());
    let (_, all, _) = run(&["predict", p(&m), p(&data("iris.csv"))], None);
    let (_, all_scores, _) = run(
        &["score", p(&m), p(&data("iris.csv")), "--per-sample"],
        None,
    );
    let missing = data("iris_missing.csv");
    // Refused by default, naming line and column.
    let (code, _, err) = run(&["predict", p(&m), p(&missing)], None);
    assert_eq!(code, 1);
    assert_eq!(
        local(err.trim_end()),
        "error: iris_missing.csv: line 5, column 2 (sepal_width): missing value (empty field); remove or impute missing values, or pass --missing drop to skip incomplete rows"
    );
    // Dropped: one output row per input row, empty where a row had a missing cell.
    let (code, got, err) = run(&["predict", p(&m), p(&missing), "--missing", "drop"], None);
    assert_eq!(code, 0, "{err}");
    let dropped = [3, 10, 20];
    let want = blank_rows(&all, &dropped);
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
    let (_, got, _) = run(
        &[
            "score",
            p(&m),
            p(&missing),
            "--missing",
            "drop",
            "--per-sample",
        ],
        None,
    );
    let want = blank_rows(&all_scores, &dropped);
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
    // Binary: NaN for dropped scores, −1 for dropped labels.
    let npy = dir.path().join("labels.npy");
    let (code, _, err) = run(
        &[
            "predict",
            p(&m),
            p(&missing),
            "--missing",
            "drop",
            "-o",
            p(&npy),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let labels = npy_i64(&std::fs::read(&npy).unwrap());
    let want: Vec<i64> = all
        .lines()
        .skip(1)
        .enumerate()
        .map(|(i, l)| {
            if dropped.contains(&i) {
                -1
            } else {
                l.parse().unwrap()
            }
        })
        .collect();
    assert_eq!(labels, want);
    // A fit drops the rows and says how many.
    let (code, _, err) = run(
        &[
            "fit",
            p(&missing),
            "-k",
            "3",
            "--missing",
            "drop",
            "-o",
            p(&dir.path().join("m.json")),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        local(&err).starts_with("note: iris_missing.csv: dropped 3 rows with missing cells (--missing drop); fitted on 147 rows\n"),
        "{err}"
    );
}

#[test]
fn outputs_have_headers_keep_columns_and_binary_forms() {
    let dir = tempfile::tempdir().unwrap();
    let quoted = data("iris_quoted.csv");
    let m = dir.path().join("q.json");
    let (code, _, err) = run(
        &[
            "fit",
            p(&quoted),
            "-k",
            "2",
            "--exclude",
            "id",
            "--quiet",
            "-o",
            p(&m),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        &[
            "predict",
            p(&m),
            p(&quoted),
            "--keep",
            "id",
            "--exclude",
            "id",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "id,component");
    assert!(lines[1].starts_with("\"Smith, John 0\","), "{}", lines[1]);
    assert!(lines[2].starts_with("\"a \"\"b\"\" 1\","), "{}", lines[2]);
    let (_, out, _) = run(
        &["predict", p(&m), p(&quoted), "--exclude", "id", "--proba"],
        None,
    );
    assert_eq!(out.lines().next(), Some("proba_0,proba_1"));
    let (_, out, _) = run(
        &[
            "score",
            p(&m),
            p(&quoted),
            "--exclude",
            "id",
            "--per-sample",
        ],
        None,
    );
    assert_eq!(out.lines().next(), Some("log_likelihood"));
    let (_, out, _) = run(&["sample", p(&m), "-n", "3", "--labels"], None);
    assert_eq!(
        out.lines().next(),
        Some("\"sepal, length\",sepal_width,petal_length,petal_width,component")
    );
    // A name holding a comma, quoted in --columns.
    let (code, out, err) = run(
        &[
            "predict",
            p(&m),
            p(&quoted),
            "--columns",
            "\"sepal, length\",sepal_width",
            "--columns",
            "petal_length..petal_width",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 151);
    // .npy: float64 probabilities, n × K.
    let npy = dir.path().join("p.npy");
    let (code, _, err) = run(
        &[
            "predict",
            p(&m),
            p(&quoted),
            "--exclude",
            "id",
            "--proba",
            "-o",
            p(&npy),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let t = gaussmix_io::read_npy(&npy).unwrap();
    assert_eq!((t.n_rows(), t.n_cols()), (150, 2));
    // Parquet: samples written and read back to the same values as the CSV.
    let pq = dir.path().join("s.parquet");
    let csv = dir.path().join("s.csv");
    for o in [&pq, &csv] {
        let (code, _, err) = run(
            &["sample", p(&m), "-n", "50", "--seed", "4", "-o", p(o)],
            None,
        );
        assert_eq!(code, 0, "{err}");
    }
    let a = gaussmix_io::read_file(&pq, &Default::default()).unwrap();
    let b = gaussmix_io::read_file(&csv, &Default::default()).unwrap();
    assert_eq!(a.values(), b.values());
    assert_eq!(a.columns(), b.columns());
    // --json on predict, score and info.
    let (_, out, _) = run(
        &["score", p(&m), p(&quoted), "--exclude", "id", "--json"],
        None,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n_samples"], 150);
    let (_, out, _) = run(
        &["predict", p(&m), p(&quoted), "--exclude", "id", "--json"],
        None,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["component"].as_array().unwrap().len(), 150);
    let (_, out, _) = run(&["info", p(&m), "--json"], None);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["feature_names"][0], "sepal, length");
    // Two things for stdout are refused.
    let (code, _, err) = run(
        &["fit", p(&quoted), "-k", "2", "--exclude", "id", "--json"],
        None,
    );
    assert_eq!(code, 2);
    assert_eq!(
        err.trim_end(),
        "error: --json prints the summary on stdout, where the model would go too; write the model to a file with -o FILE.json"
    );
}

/// Writes iris.csv transformed row by row into `dir/name`.
fn iris_variant(dir: &Path, name: &str, f: impl Fn(&[f64]) -> Vec<f64>) -> PathBuf {
    let t = gaussmix_io::read_file(data("iris.csv"), &Default::default()).unwrap();
    let mut s = String::new();
    for i in 0..t.n_rows() {
        let row: Vec<String> = f(t.row(i).unwrap())
            .iter()
            .map(|v| format!("{v:?}"))
            .collect();
        s += &row.join(",");
        s.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, s).unwrap();
    path
}

#[test]
fn degenerate_fits_warn_even_when_quiet_and_strict_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let constant = iris_variant(d, "constant.csv", |r| vec![r[0], r[1], 2.5]);
    let tiny = iris_variant(d, "tiny.csv", |r| r.iter().map(|v| v * 1e-5).collect());
    let iris = data("iris.csv");
    // (data, extra flags, what each stderr line contains in order, warnings in the file)
    let cases: Vec<(&Path, Vec<&str>, Vec<&str>, usize)> = vec![
        (&iris, vec!["-k", "3"], vec![], 0),
        (
            &iris,
            vec!["-k", "3", "--max-iter", "2", "--tol", "1e-12"],
            vec!["warning: EM did not converge: the kept run stopped at --max-iter = 2 with the mean log-likelihood still changing by 3.655e-2 per iteration (--tol = 1e-12); increase --max-iter, loosen --tol, or try more restarts (--n-init) or another --init"],
            1,
        ),
        (
            &constant,
            vec!["-k", "2"],
            vec!["warning: feature 2 is constant (2.5) in every row: it carries no information and every variance along it is --reg-covar = 1e-6 alone; remove it from the data"],
            1,
        ),
        (
            &tiny,
            vec!["-k", "3"],
            vec![
                "warning: --reg-covar = 1e-6 is larger than 1e-3 × the variance of feature 0 in the data (6.811e-11)",
                "warning: --reg-covar = 1e-6 is larger than 1e-3 × the variance of feature 1 in the data (1.887e-11)",
                "warning: … and 2 more reg_covar_large warnings like these (all are in the model file's fit.warnings, and in --json)",
            ],
            4,
        ),
        (
            &iris,
            vec!["-k", "150"],
            vec![
                "warning: the model has 2249 free parameters but the data has only 150 rows",
                "warning: component 0's variance along a combination of features collapsed to the regularisation level",
                "warning: component 1's variance along a combination of features collapsed",
                "warning: … and 147 more collapsed_variance warnings like these",
                "warning: component 149 is empty: it holds 6.661e-15 of the data's weight (less than half a row, 5.000e-1)",
                "warning: spurious optimum: components 0, 1, 2, 3, 4, 5, 6, 7, … (149 in all) sit on fewer rows than their covariances need or collapsed onto near-identical rows, a likelihood spike rather than a better model (all 2 of 2 runs were spurious: the 1 restart and 1 more em-EM short run continued)",
            ],
            152,
        ),
    ];
    for (file, flags, want, n_record) in cases {
        let model = d.join("m.json");
        let _ = std::fs::remove_file(&model);
        let mut args = vec!["fit", p(file), "--quiet", "-o", p(&model)];
        args.extend(&flags);
        let (code, _, err) = run(&args, None);
        assert_eq!(code, 0, "{flags:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), want.len(), "{flags:?}: {err}");
        for (l, w) in lines.iter().zip(&want) {
            assert!(
                l.starts_with(w),
                "{flags:?}: {l:?} does not start with {w:?}"
            );
        }
        // Kept in the model file.
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
        assert_eq!(v["version"], gaussmix::MODEL_VERSION);
        assert_eq!(
            v["fit"]["warnings"].as_array().unwrap().len(),
            n_record,
            "{flags:?}"
        );
        // --strict: exit 1, nothing written.
        std::fs::remove_file(&model).unwrap();
        args.push("--strict");
        let (code, _, err) = run(&args, None);
        if want.is_empty() {
            assert_eq!(code, 0, "{err}");
        } else {
            assert_eq!(code, 1, "{flags:?}: {err}");
            assert!(!model.exists());
            assert!(
                err.lines().last().unwrap().starts_with("error: --strict: "),
                "{err}"
            );
        }
    }
}

#[test]
fn select_takes_the_fit_flags() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("w.csv");
    std::fs::write(&weights, "1\n".repeat(150)).unwrap();
    let iris = data("iris.csv");
    let best = dir.path().join("best.json");
    let (code, out, err) = run(
        &[
            "select",
            p(&iris),
            "-k",
            "2..3",
            "--covariance",
            "diag",
            "--weights",
            p(&weights),
            "--recover",
            "--variance-floor",
            "1e-6",
            "--dtype",
            "f32",
            "--quiet",
            "-o",
            p(&best),
        ],
        None,
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&best).unwrap()).unwrap();
    assert_eq!(v["feature_names"][3], "petal_width");
    // The old spelling still works.
    let (code, _, err) = run(
        &[
            "select",
            p(&iris),
            "--k",
            "2",
            "--covariance",
            "diag",
            "--quiet",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    // Errors name the flag typed.
    let (code, _, err) = run(&["select", p(&iris), "-k", "5..2"], None);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: -k \"5..2\": "), "{err}");
    let (code, _, err) = run(&["fit", p(&iris), "-k", "2", "--reg-covar", "-1"], None);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: invalid value for --reg-covar: "),
        "{err}"
    );
}

/// Cases an independent review found (each was a silent or misleading answer).
#[test]
fn review_regressions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let iris = data("iris.csv");
    let m = reference_model(d);
    // A model without names applied to a file with a header: matched by position, said.
    let nohead = d.join("nohead.csv");
    let text = std::fs::read_to_string(&iris).unwrap();
    std::fs::write(&nohead, text.split_once('\n').unwrap().1).unwrap();
    let nh = d.join("nh.json");
    let (code, _, err) = run(
        &[
            "fit",
            p(&nohead),
            "-k",
            "3",
            "--seed",
            "0",
            "--quiet",
            "-o",
            p(&nh),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let reordered = data("iris_reordered.csv");
    let (code, _, err) = run(
        &["predict", p(&nh), p(&reordered), "--exclude", "species"],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(
        local(&err),
        "warning: iris_reordered.csv: the model has no feature names (it was fitted on data without a header), so the columns petal_width, sepal_length, petal_length, sepal_width are matched to its features by position; check their order\n"
    );
    let (code, out, _) = run(
        &[
            "predict",
            p(&nh),
            p(&reordered),
            "--exclude",
            "species",
            "--strict",
        ],
        None,
    );
    assert_eq!((code, out.as_str()), (1, ""));
    // pandas' names for a subset of unnamed columns: a warning, not a silent data row.
    let subset = d.join("subset.csv");
    let body: String = text
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap().1.to_string() + "\n")
        .collect();
    std::fs::write(&subset, format!("1,2,3\n{body}")).unwrap();
    let (code, _, err) = run(
        &[
            "fit",
            p(&subset),
            "-k",
            "2",
            "--quiet",
            "-o",
            p(&d.join("s.json")),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        err.contains("the first row (1,2,3) looks like column names"),
        "{err}"
    );
    // --keep of a model feature copies it and keeps it a feature.
    let (_, want, _) = run(&["predict", p(&m), p(&iris)], None);
    let (code, out, err) = run(
        &["predict", p(&m), p(&iris), "--keep", "sepal_length"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("sepal_length,component"));
    let labels: Vec<&str> = lines.map(|l| l.split_once(',').unwrap().1).collect();
    assert_eq!(labels, want.lines().skip(1).collect::<Vec<_>>());
    // `--table -` is stdout; --json into a .csv is refused.
    let (code, out, _) = run(
        &[
            "select",
            p(&iris),
            "-k",
            "1..2",
            "--covariance",
            "diag",
            "--table",
            "-",
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("rank,k,covariance_type,"), "{out}");
    assert!(!std::path::Path::new("-").exists());
    let (code, _, err) = run(
        &[
            "predict",
            p(&m),
            p(&iris),
            "--json",
            "-o",
            p(&d.join("x.csv")),
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    // --decimal , on a comma-separated file says why.
    let (code, _, err) = run(&["fit", p(&iris), "-k", "2", "--decimal", ","], None);
    assert_eq!(code, 1);
    assert!(err.ends_with("a comma cannot be both the delimiter and the decimal separator, so drop --decimal , (or give another --delimiter)\n"), "{err}");
    // The name of an empty header does not depend on the order of --columns.
    let u = d.join("u.json");
    let pandas = data("iris_pandas_index.csv");
    let (code, _, err) = run(
        &[
            "fit",
            p(&pandas),
            "-k",
            "2",
            "--columns",
            "sepal_length,0",
            "--quiet",
            "-o",
            p(&u),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&u).unwrap()).unwrap();
    assert_eq!(
        v["feature_names"],
        serde_json::json!(["sepal_length", "Unnamed: 0"])
    );
    let (a, out_a, _) = run(
        &["predict", p(&u), p(&pandas), "--columns", "0,sepal_length"],
        None,
    );
    let (b, out_b, _) = run(
        &[
            "predict",
            p(&u),
            p(&pandas),
            "--columns",
            "sepal_length,Unnamed: 0",
        ],
        None,
    );
    assert_eq!((a, b), (0, 0));
    assert_eq!(out_a, out_b);
}

/// Cases a second review found (each gave exit code 0 with a wrong or shifted result).
#[test]
fn second_review_regressions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &str| {
        let path = d.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // pandas writes a one-column row with a missing value as `""`: a row, not a blank
    // line, so outputs stay aligned with the input.
    let train = write("t.csv", "x\n0.0\n0.3\n-0.2\n10.0\n10.4\n9.7\n");
    let m = d.join("m.json");
    let (code, _, err) = run(
        &[
            "fit",
            p(&train),
            "-k",
            "2",
            "--seed",
            "0",
            "--quiet",
            "-o",
            p(&m),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let q = write("q.csv", "x\n0.0\n\"\"\n10.5\n0.2\n");
    let (code, _, err) = run(&["predict", p(&m), p(&q)], None);
    assert_eq!(code, 1);
    assert!(
        local(&err).contains("q.csv: line 3, column 1 (x): missing value (empty field)"),
        "{err}"
    );
    let (code, out, err) = run(&["predict", p(&m), p(&q), "--missing", "drop"], None);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(
        (lines[2], lines[1] == lines[4], lines[1] != lines[3]),
        ("", true, true),
        "{out}"
    );
    // A name the header gives twice cannot choose (or leave out) one of them.
    let dup = write("dup.csv", "id,x,x,y\na,1,100,1\nb,2,200,2\n");
    let (code, _, err) = run(&["fit", p(&dup), "-k", "1", "--exclude", "id,x"], None);
    assert_eq!(code, 1);
    assert_eq!(
        local(err.trim_end()),
        format!("error: {}: --exclude: the header names 2 columns \"x\" (columns 1 and 2); choose them by 0-based index", p(&dup))
    );
    // A headerless file with a text id: its first row, taken as names, is said.
    let noh = write(
        "noh.csv",
        "r0,0.125,-0.5\nr1,0.25,0.5\nr2,10.5,9.5\nr3,10.25,9.75\n",
    );
    let (code, _, err) = run(
        &[
            "fit",
            p(&noh),
            "-k",
            "1",
            "--exclude",
            "0",
            "--quiet",
            "-o",
            p(&d.join("n.json")),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(err.contains("the first row was read as column names, but 2 of them are numbers with decimals (0.125, -0.5); if that row is data, pass --header no"), "{err}");
    // One column with decimal commas is not split into two features.
    let eu = write("eu.txt", "x\n0,5\n1,25\n10,5\n");
    let (code, _, err) = run(&["fit", p(&eu), "-k", "1"], None);
    assert_eq!(code, 1);
    assert!(
        err.trim_end().ends_with(
            "if the numbers use decimal commas (a comma then splits each in two), pass --decimal ,"
        ),
        "{err}"
    );
    let (code, _, err) = run(
        &[
            "fit",
            p(&eu),
            "-k",
            "1",
            "--decimal",
            ",",
            "--quiet",
            "-o",
            p(&d.join("e.json")),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
}

/// A Parquet file written by pandas 3.1 / pyarrow (snappy; nullable Int64, float32,
/// a text column, nulls; `gaussmix-io/tests/data/pandas.parquet`) through the CLI:
/// refused at its first null, or fitted and predicted with the null rows dropped and
/// the output still one row per input row.
#[test]
fn parquet_with_nulls_from_pandas() {
    let pq =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../gaussmix-io/tests/data/pandas.parquet");
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let (code, _, err) = run(
        &[
            "fit",
            p(&pq),
            "-k",
            "1",
            "--exclude",
            "id,species",
            "-o",
            p(&m),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        err.trim_end().ends_with("pandas.parquet: row 2, column 2 (x): missing value (null); remove or impute missing values, or pass --missing drop to skip incomplete rows"),
        "{err}"
    );
    let (code, _, err) = run(
        &[
            "fit",
            p(&pq),
            "-k",
            "1",
            "--exclude",
            "id,species",
            "--missing",
            "drop",
            "-o",
            p(&m),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("dropped 2 rows with missing cells (--missing drop); fitted on 2 rows"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(v["feature_names"], serde_json::json!(["x", "n", "k", "f"]));
    // The mean of the two complete rows (1.5, 1, 10, 0.5) and (4.25, 4, 40, 3.5).
    assert_eq!(v["means"], serde_json::json!([[2.875, 2.5, 25.0, 2.0]]));
    let (code, out, err) = run(
        &[
            "predict",
            p(&m),
            p(&pq),
            "--exclude",
            "id,species",
            "--keep",
            "species",
            "--missing",
            "drop",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "species,component\nsetosa,0\nversicolor,\nvirginica,\nsetosa,0\n"
    );
}
