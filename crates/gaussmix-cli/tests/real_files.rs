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
    let stderr = String::from_utf8(out.stderr).unwrap();
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
    /// Exit code 1 and this exact error line.
    Refused(&'static str),
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
                warnings: &["pandas' default header"],
            },
        ),
        (
            "iris_pandas_index.csv",
            vec!["--exclude", "species"],
            Want::Refused("PLACEHOLDER index"),
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
        ("iris_missing.csv", vec![], Want::Refused("PLACEHOLDER missing")),
        ("iris_reordered.csv", vec![], Want::Refused("PLACEHOLDER species")),
    ];
    let mut failures = Vec::new();
    for (file, args, expect) in cases {
        let got = fit(&data(file), &args);
        let label = format!("{file} {}", args.join(" "));
        match (expect, got) {
            (Want::Same { names, warnings }, Ok((model, stderr))) => {
                if params(&model) != want {
                    failures.push(format!("{label}: parameters differ from iris.csv's"));
                }
                let got_names: Vec<&str> = model["feature_names"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if got_names != names {
                    failures.push(format!("{label}: feature names {got_names:?}, want {names:?}"));
                }
                let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning:")).collect();
                if lines.len() != warnings.len()
                    || !warnings.iter().zip(&lines).all(|(w, l)| l.contains(w))
                {
                    failures.push(format!("{label}: warnings {lines:?}, want {warnings:?}"));
                }
            }
            (Want::Same { .. }, Err((code, stderr))) => {
                failures.push(format!("{label}: failed ({code}): {stderr}"))
            }
            (Want::Refused(msg), Err((code, stderr))) => {
                let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or("");
                if code != 1 || line != format!("error: {msg}") {
                    failures.push(format!("{label}: exit {code} {line:?}, want error: {msg:?}"));
                }
            }
            (Want::Refused(msg), Ok(_)) => {
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
        &["fit", p(&data("iris.csv")), "-k", "3", "--seed", "0", "--quiet", "-o", p(&m)],
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
    let (code, got, err) = run(&["predict", p(&m), p(&reordered), "--exclude", "species"], None);
    assert_eq!((code, got.as_str()), (0, want.as_str()), "{err}");
    let (code, got, _) = run(&["score", p(&m), p(&reordered), "--exclude", "species"], None);
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
    let cases: [(&[&str], &str); 4] = [
        (
            &["predict", p(&m), p(&reordered)],
            "PLACEHOLDER",
        ),
        (
            &["predict", p(&m), p(&data("iris_numeric_header.csv"))],
            "PLACEHOLDER",
        ),
        (
            &["score", p(&m), p(&reordered), "--columns", "petal_width,sepal_length"],
            "PLACEHOLDER",
        ),
        (
            &["predict", "-", "-"],
            "error: the model and the data cannot both come from stdin (-); give one of them as a file",
        ),
    ];
    for (args, msg) in cases {
        let (code, out, err) = run(args, Some(Vec::new()));
        assert_eq!(out, "", "{args:?}");
        assert_eq!(err.trim_end(), msg, "{args:?} exit {code}");
        assert!(code == 1 || code == 2, "{args:?} exit {code}");
    }
}

#[test]
fn dropped_rows_keep_outputs_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let m = reference_model(dir.path());
    let (_, all, _) = run(&["predict", p(&m), p(&data("iris.csv"))], None);
    let (_, all_scores, _) = run(&["score", p(&m), p(&data("iris.csv")), "--per-sample"], None);
    let missing = data("iris_missing.csv");
    // Refused by default, naming line and column.
    let (code, _, err) = run(&["predict", p(&m), p(&missing)], None);
    assert_eq!(code, 1);
    assert_eq!(err.trim_end(), "PLACEHOLDER");
    // Dropped: one output row per input row, empty where a row had a missing cell.
    let (code, got, err) = run(&["predict", p(&m), p(&missing), "--missing", "drop"], None);
    assert_eq!(code, 0, "{err}");
    let dropped = [3, 10, 20];
    let want: Vec<&str> = all
        .lines()
        .enumerate()
        .map(|(i, l)| if i > 0 && dropped.contains(&(i - 1)) { "" } else { l })
        .collect();
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
    let (_, got, _) = run(
        &["score", p(&m), p(&missing), "--missing", "drop", "--per-sample"],
        None,
    );
    let want: Vec<&str> = all_scores
        .lines()
        .enumerate()
        .map(|(i, l)| if i > 0 && dropped.contains(&(i - 1)) { "" } else { l })
        .collect();
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
    // Binary: NaN for dropped scores, −1 for dropped labels.
    let npy = dir.path().join("labels.npy");
    let (code, _, err) = run(
        &["predict", p(&m), p(&missing), "--missing", "drop", "-o", p(&npy)],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let t = gaussmix_io::read_npy(&npy).unwrap();
    let labels: Vec<i64> = t.values().iter().map(|&v| v as i64).collect();
    let want: Vec<i64> = all
        .lines()
        .skip(1)
        .enumerate()
        .map(|(i, l)| if dropped.contains(&i) { -1 } else { l.parse().unwrap() })
        .collect();
    assert_eq!(labels, want);
    // A fit drops the rows and says how many.
    let (code, _, err) = run(
        &["fit", p(&missing), "-k", "3", "--missing", "drop", "-o", p(&dir.path().join("m.json"))],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: PLACEHOLDER"),
        "{err}"
    );
}

#[test]
fn outputs_have_headers_keep_columns_and_binary_forms() {
    let dir = tempfile::tempdir().unwrap();
    let quoted = data("iris_quoted.csv");
    let m = dir.path().join("q.json");
    let (code, _, err) = run(
        &["fit", p(&quoted), "-k", "2", "--exclude", "id", "--quiet", "-o", p(&m)],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["predict", p(&m), p(&quoted), "--keep", "id", "--exclude", "id"], None);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "id,component");
    assert!(lines[1].starts_with("\"Smith, John 0\","), "{}", lines[1]);
    assert!(lines[2].starts_with("\"a \"\"b\"\" 1\","), "{}", lines[2]);
    let (_, out, _) = run(&["predict", p(&m), p(&quoted), "--exclude", "id", "--proba"], None);
    assert_eq!(out.lines().next(), Some("proba_0,proba_1"));
    let (_, out, _) = run(&["score", p(&m), p(&quoted), "--exclude", "id", "--per-sample"], None);
    assert_eq!(out.lines().next(), Some("log_likelihood"));
    let (_, out, _) = run(&["sample", p(&m), "-n", "3", "--labels"], None);
    assert_eq!(
        out.lines().next(),
        Some("\"sepal, length\",sepal_width,petal_length,petal_width,component")
    );
    // .npy: float64 probabilities, n × K.
    let npy = dir.path().join("p.npy");
    let (code, _, err) = run(
        &["predict", p(&m), p(&quoted), "--exclude", "id", "--proba", "-o", p(&npy)],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let t = gaussmix_io::read_npy(&npy).unwrap();
    assert_eq!((t.n_rows(), t.n_cols()), (150, 2));
    // Parquet: samples written and read back to the same values as the CSV.
    let pq = dir.path().join("s.parquet");
    let csv = dir.path().join("s.csv");
    for o in [&pq, &csv] {
        let (code, _, err) = run(&["sample", p(&m), "-n", "50", "--seed", "4", "-o", p(o)], None);
        assert_eq!(code, 0, "{err}");
    }
    let a = gaussmix_io::read_file(&pq, &Default::default()).unwrap();
    let b = gaussmix_io::read_file(&csv, &Default::default()).unwrap();
    assert_eq!(a.values(), b.values());
    assert_eq!(a.columns(), b.columns());
    // --json on predict, score and info.
    let (_, out, _) = run(&["score", p(&m), p(&quoted), "--exclude", "id", "--json"], None);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n_samples"], 150);
    let (_, out, _) = run(&["predict", p(&m), p(&quoted), "--exclude", "id", "--json"], None);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["component"].as_array().unwrap().len(), 150);
    let (_, out, _) = run(&["info", p(&m), "--json"], None);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["feature_names"][0], "sepal, length");
    // Two things for stdout are refused.
    let (code, _, err) = run(&["fit", p(&quoted), "-k", "2", "--exclude", "id", "--json"], None);
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
        let row: Vec<String> = f(t.row(i).unwrap()).iter().map(|v| format!("{v:?}")).collect();
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
    // (data, extra flags, a warning each line must contain, in order)
    let cases: Vec<(&Path, Vec<&str>, Vec<&str>)> = vec![
        (&iris, vec!["-k", "3"], vec![]),
        (&iris, vec!["-k", "3", "--max-iter", "2", "--tol", "1e-12"], vec!["PLACEHOLDER not converged"]),
        (&constant, vec!["-k", "2"], vec!["PLACEHOLDER constant"]),
        (&tiny, vec!["-k", "3"], vec!["PLACEHOLDER reg"]),
        (&iris, vec!["-k", "150"], vec!["PLACEHOLDER params"]),
    ];
    for (file, flags, want) in cases {
        let model = d.join("m.json");
        let _ = std::fs::remove_file(&model);
        let mut args = vec!["fit", p(file), "--quiet", "-o", p(&model)];
        args.extend(&flags);
        let (code, _, err) = run(&args, None);
        assert_eq!(code, 0, "{flags:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), want.len(), "{flags:?}: {err}");
        for (l, w) in lines.iter().zip(&want) {
            assert!(l.starts_with("warning: ") && l.contains(w), "{flags:?}: {l:?} lacks {w:?}");
        }
        // Kept in the model file.
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
        assert_eq!(v["version"], 2);
        assert_eq!(v["fit"]["warnings"].as_array().unwrap().len(), want.len(), "{flags:?}");
        // --strict: exit 1, nothing written.
        std::fs::remove_file(&model).unwrap();
        args.push("--strict");
        let (code, _, err) = run(&args, None);
        if want.is_empty() {
            assert_eq!(code, 0, "{err}");
        } else {
            assert_eq!(code, 1, "{flags:?}: {err}");
            assert!(!model.exists());
            assert!(err.lines().last().unwrap().starts_with("error: --strict: "), "{err}");
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
            "select", p(&iris), "-k", "2..3", "--covariance", "diag", "--weights", p(&weights),
            "--recover", "--variance-floor", "1e-6", "--dtype", "f32", "--quiet", "-o", p(&best),
        ],
        None,
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&best).unwrap()).unwrap();
    assert_eq!(v["feature_names"][3], "petal_width");
    // The old spelling still works.
    let (code, _, err) = run(&["select", p(&iris), "--k", "2", "--covariance", "diag", "--quiet"], None);
    assert_eq!(code, 0, "{err}");
    // Errors name the flag typed.
    let (code, _, err) = run(&["select", p(&iris), "-k", "5..2"], None);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: -k \"5..2\": "), "{err}");
    let (code, _, err) = run(&["fit", p(&iris), "-k", "2", "--reg-covar", "-1"], None);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: invalid value for --reg-covar: "), "{err}");
}
