//! End-to-end tests of every `gaussmix` command, against the reference fixtures.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{json, Value};

const CASES: [&str; 8] = [
    "seed_1d",
    "seed_2d",
    "iris_full",
    "iris_tied",
    "iris_diag",
    "iris_spherical",
    "faithful_full",
    "synthetic_5000x5_full",
];

fn fixture(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    assert!(
        dir.join("README.md").is_file(),
        "fixtures folder not found at {}: the end-to-end tests need ../shared/fixtures next to the repository",
        dir.display()
    );
    dir.join(name)
}

fn case(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name).join("case.json")).unwrap())
        .unwrap()
}

fn gaussmix() -> Command {
    Command::cargo_bin("gaussmix").unwrap()
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not numeric: {other}"),
    }
}

fn assert_close(what: &str, got: &[f64], want: &[f64], rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= rtol * scale,
        "{what}: error {err:e} > {rtol:e} × {scale:e}"
    );
}

/// The numbers of a CSV output, after its header row.
fn numbers(text: &str) -> Vec<f64> {
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .flat_map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Writes the fixture's `init` as a minimal model file and fits from it.
fn fit_fixture(name: &str, dir: &Path) -> (Value, PathBuf) {
    let c = case(name);
    let init = json!({
        "covariance_type": c["covariance_type"],
        "weights": c["init"]["weights"],
        "means": c["init"]["means"],
        "covariances": c["init"]["covariances"],
    });
    let init_path = dir.join(format!("{name}.init.json"));
    std::fs::write(&init_path, init.to_string()).unwrap();
    let model = dir.join(format!("{name}.model.json"));
    gaussmix()
        .arg("fit")
        .arg(fixture(name).join("X.csv"))
        .arg("--init-model")
        .arg(&init_path)
        .args([
            "--tol",
            &c["tol"].to_string(),
            "--max-iter",
            &c["max_iter"].to_string(),
        ])
        .args(["--reg-covar", &c["reg_covar"].to_string(), "--quiet", "-o"])
        .arg(&model)
        .assert()
        .success();
    (c, model)
}

#[test]
fn fit_from_init_model_reproduces_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    for name in CASES {
        let (c, model) = fit_fixture(name, dir.path());
        let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
        let f = &c["fit"];
        for key in ["weights", "means", "covariances"] {
            assert_close(
                &format!("{name} {key}"),
                &flat(&m[key]),
                &flat(&f[key]),
                1e-9,
            );
        }
        assert_eq!(m["covariance_type"], c["covariance_type"]);
        assert_eq!(m["n_components"], c["n_components"]);
        assert_eq!(m["n_features"], c["n_features"]);
        assert_eq!(m["fit"]["n_iter"], f["n_iter"], "{name} n_iter");
        assert_eq!(m["fit"]["converged"], f["converged"], "{name} converged");
        assert_eq!(
            m["fit"]["n_parameters"], f["n_parameters"],
            "{name} n_parameters"
        );
        assert_eq!(m["fit"]["n_samples"], c["n_samples"]);
        for key in ["bic", "aic", "score", "lower_bound"] {
            assert_close(
                &format!("{name} {key}"),
                &flat(&m["fit"][key]),
                &flat(&f[key]),
                1e-10,
            );
        }
        assert_close(
            &format!("{name} lower_bounds"),
            &flat(&m["fit"]["lower_bounds"]),
            &flat(&f["lower_bounds"]),
            1e-10,
        );
        assert!(m["fit"]["options"].is_object());
    }
}

#[test]
fn predict_proba_and_score_reproduce_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    for name in CASES {
        let (c, model) = fit_fixture(name, dir.path());
        let x = fixture(name).join("X.csv");
        let out = gaussmix()
            .arg("predict")
            .arg(&model)
            .arg(&x)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("component"), "{name}: header");
        let labels: Vec<u64> = lines.map(|l| l.parse().unwrap()).collect();
        let want: Vec<u64> = c["predict"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(labels, want, "{name} predict");

        let out = gaussmix()
            .arg("predict")
            .arg(&model)
            .arg(&x)
            .arg("--proba")
            .output()
            .unwrap();
        let proba = numbers(&String::from_utf8(out.stdout).unwrap());
        let want = flat(&c["predict_proba"]);
        assert_close(&format!("{name} proba"), &proba[..want.len()], &want, 1e-9);

        let out = gaussmix()
            .arg("score")
            .arg(&model)
            .arg(&x)
            .arg("--per-sample")
            .output()
            .unwrap();
        let s = numbers(&String::from_utf8(out.stdout).unwrap());
        assert_close(
            &format!("{name} score_samples"),
            &s,
            &flat(&c["score_samples"]),
            1e-10,
        );

        let out = gaussmix()
            .arg("score")
            .arg(&model)
            .arg(&x)
            .output()
            .unwrap();
        // The mean is one number, no header.
        let s: Vec<f64> = vec![String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()];
        assert_close(
            &format!("{name} score"),
            &s,
            &flat(&c["fit"]["score"]),
            1e-10,
        );
    }
}

#[test]
fn outputs_go_to_files_with_o() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = fit_fixture("iris_full", dir.path());
    let x = fixture("iris_full").join("X.csv");
    let out = dir.path().join("labels.txt");
    gaussmix()
        .arg("predict")
        .arg(&model)
        .arg(&x)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 151);
    let out = dir.path().join("scores.txt");
    gaussmix()
        .arg("score")
        .arg(&model)
        .arg(&x)
        .args(["--per-sample", "-o"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 151);
}

#[test]
fn stdin_and_npy_inputs_give_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = fit_fixture("faithful_full", dir.path());
    let csv = fixture("faithful_full").join("X.csv");
    let from_file = gaussmix()
        .arg("score")
        .arg(&model)
        .arg(&csv)
        .output()
        .unwrap()
        .stdout;
    let from_stdin = gaussmix()
        .arg("score")
        .arg(&model)
        .arg("-")
        .write_stdin(std::fs::read(&csv).unwrap())
        .output()
        .unwrap()
        .stdout;
    let from_npy = gaussmix()
        .arg("score")
        .arg(&model)
        .arg(fixture("faithful_full").join("X.npy"))
        .output()
        .unwrap()
        .stdout;
    assert_eq!(from_file, from_stdin);
    assert_eq!(from_file, from_npy);
}

#[test]
fn fit_prints_summary_and_json() {
    let x = fixture("faithful_full").join("X.csv");
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "2", "--seed", "3", "-o", "/dev/null"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "fitted 2 components (full covariance) to 272 rows × 2 features",
        ))
        .stderr(predicate::str::contains("BIC"));
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let out = gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "2", "--json", "--covariance", "diag", "-o"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n_components"], 2);
    assert_eq!(v["covariance_type"], "diag");
    assert!(v["bic"].as_f64().unwrap().is_finite());
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(m["covariance_type"], "diag");
    assert_eq!(m["means"], v["means"]);
    // Without -o and --json, the model goes to stdout.
    let out = gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "2", "--quiet"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "gaussmix-model");
    assert!(out.stderr.is_empty());
}

#[test]
fn not_converging_warns_with_the_flags_to_change() {
    gaussmix()
        .arg("fit")
        .arg(fixture("iris_diag").join("X.csv"))
        .args([
            "-k",
            "3",
            "--max-iter",
            "2",
            "--tol",
            "1e-12",
            "-o",
            "/dev/null",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("did not converge"))
        .stderr(predicate::str::contains("--max-iter"));
}

#[test]
fn fit_is_reproducible_and_thread_independent() {
    let x = fixture("synthetic_5000x5_full").join("X.csv");
    let run = |threads: &str| {
        let out = gaussmix()
            .arg("fit")
            .arg(&x)
            .args([
                "-k",
                "4",
                "--n-init",
                "2",
                "--seed",
                "9",
                "--quiet",
                "--threads",
                threads,
            ])
            .output()
            .unwrap();
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["fit"]["options"]["n_threads"] = Value::Null;
        v
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn weights_file_and_weight_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "x,w\n0,1\n0.5,2\n1,1\n10,3\n10.5,1\n11,1\n").unwrap();
    let w = dir.path().join("w.txt");
    std::fs::write(&w, "1\n2\n1\n3\n1\n1\n").unwrap();
    let a = gaussmix()
        .arg("fit")
        .arg(&data)
        .args([
            "-k",
            "2",
            "--weight-column",
            "w",
            "--quiet",
            "--covariance",
            "spherical",
        ])
        .output()
        .unwrap();
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b = gaussmix()
        .arg("fit")
        .arg(&data)
        .args(["-k", "2", "--columns", "x", "--weights"])
        .arg(&w)
        .args(["--quiet", "--covariance", "spherical"])
        .output()
        .unwrap();
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&a.stdout).unwrap(),
        serde_json::from_slice(&b.stdout).unwrap(),
    );
    assert_eq!(a["means"], b["means"]);
    assert_eq!(a["fit"]["total_weight"], 9.0);
}

#[test]
fn sample_draws_rows_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = fit_fixture("seed_2d", dir.path());
    let out = gaussmix()
        .arg("sample")
        .arg(&model)
        .args(["-n", "500", "--seed", "4", "--labels"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().next(), Some("x0,x1,component"));
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 500);
    assert!(rows
        .iter()
        .all(|r| r.len() == 3 && (r[2] == 0.0 || r[2] == 1.0)));
    let again = gaussmix()
        .arg("sample")
        .arg(&model)
        .args(["-n", "500", "--seed", "4", "--labels"])
        .output()
        .unwrap();
    assert_eq!(text.as_bytes(), &again.stdout[..]);
    // The sample looks like the model: the mean of component-1 rows is near its mean.
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let ones: Vec<&Vec<f64>> = rows.iter().filter(|r| r[2] == 1.0).collect();
    let mx = ones.iter().map(|r| r[0]).sum::<f64>() / ones.len() as f64;
    assert!((mx - m["means"][1][0].as_f64().unwrap()).abs() < 0.4);
}

fn is_png(p: &Path) -> bool {
    std::fs::read(p)
        .map(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 5000)
        .unwrap_or(false)
}

fn is_svg(p: &Path) -> bool {
    std::fs::read_to_string(p)
        .map(|s| s.contains("<svg") && s.contains("</svg>") && s.contains("<text"))
        .unwrap_or(false)
}

#[test]
fn plot_writes_png_and_svg_for_1d_2d_and_more() {
    let dir = tempfile::tempdir().unwrap();
    for (name, feats) in [
        ("seed_1d", None),
        ("seed_2d", Some("0,1")),
        ("iris_full", Some("2,3")),
    ] {
        let feats: Vec<&str> = feats.map(|f| vec!["--features", f]).unwrap_or_default();
        let (_, model) = fit_fixture(name, dir.path());
        let x = fixture(name).join("X.csv");
        let png = dir.path().join(format!("{name}.png"));
        let svg = dir.path().join(format!("{name}.svg"));
        gaussmix()
            .arg("plot")
            .arg(&model)
            .arg(&x)
            .arg("-o")
            .arg(&png)
            .args(&feats)
            .assert()
            .success();
        gaussmix()
            .arg("plot")
            .arg(&model)
            .arg(&x)
            .arg("-o")
            .arg(&svg)
            .args(&feats)
            .assert()
            .success();
        assert!(is_png(&png), "{name} png");
        assert!(is_svg(&svg), "{name} svg");
    }
    let (_, model) = fit_fixture("seed_2d", dir.path());
    gaussmix()
        .arg("plot")
        .arg(&model)
        .arg(fixture("seed_2d").join("X.csv"))
        .args(["-o", "fig.pdf"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".png or .svg"));
}

/// Width and height of a PNG, from its header.
fn png_size(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap();
    assert!(
        b.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        p.display()
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[test]
fn plot_draws_a_pairs_matrix_beyond_two_features_and_takes_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = fit_fixture("iris_full", dir.path());
    let x = fixture("iris_full").join("X.csv");
    let out = |name: &str| dir.path().join(name);
    // Four features, no --features: the pairs matrix (its default size grows with
    // the number of features), no note.
    gaussmix()
        .arg("plot")
        .arg(&model)
        .arg(&x)
        .arg("-o")
        .arg(out("pairs.png"))
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    let (w4, h4) = png_size(&out("pairs.png"));
    assert!(w4 > 1000 && h4 >= 800, "{w4}×{h4}");
    // Three named features: their pairs, a smaller matrix.
    gaussmix()
        .arg("plot")
        .arg(&model)
        .arg(&x)
        .arg("-o")
        .arg(out("three.png"))
        .args(["--features", "0,2,3"])
        .assert()
        .success();
    let (w3, _) = png_size(&out("three.png"));
    assert!(w3 < w4, "{w3} vs {w4}");
    // More features than --max-features: the first ones, and a note saying so.
    gaussmix()
        .arg("plot")
        .arg(&model)
        .arg(&x)
        .arg("-o")
        .arg(out("two.png"))
        .args(["--max-features", "3"])
        .assert()
        .success()
        .stderr(predicate::str::contains("first 3 of 4 features"));
    // Size, title and layers.
    gaussmix()
        .arg("plot")
        .arg(&model)
        .arg(&x)
        .arg("-o")
        .arg(out("sized.png"))
        .args(["--features", "2,3", "--width", "640", "--height", "480"])
        .args(["--title", "Iris petals", "--contours", "--uncertainty"])
        .assert()
        .success();
    assert_eq!(png_size(&out("sized.png")), (640, 480));
    gaussmix()
        .arg("plot")
        .arg(&model)
        .arg(&x)
        .arg("-o")
        .arg(out("pairs2.svg"))
        .args(["--features", "2,3", "--pairs"])
        .assert()
        .success();
    assert!(is_svg(&out("pairs2.svg")));
    // Bad values are usage errors that say what to do.
    for (args, msg) in [
        (vec!["--features", "2"], "name two features"),
        (vec!["--features", "2,2"], "named twice"),
        (vec!["--features", "2,nope"], "no feature \"nope\""),
        (vec!["--width", "50"], "from 200 to 10000"),
        (vec!["--max-features", "1"], "at least 2"),
    ] {
        gaussmix()
            .arg("plot")
            .arg(&model)
            .arg(&x)
            .arg("-o")
            .arg(out("bad.png"))
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
    assert!(!out("bad.png").exists());
}

#[test]
fn one_d_plot_takes_density_only() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = fit_fixture("seed_1d", dir.path());
    let png = dir.path().join("d.png");
    gaussmix()
        .arg("plot")
        .arg(&model)
        .arg(fixture("seed_1d").join("X.csv"))
        .arg("-o")
        .arg(&png)
        .arg("--density-only")
        .assert()
        .success();
    assert!(is_png(&png));
    for flag in ["--contours", "--pairs", "--uncertainty"] {
        gaussmix()
            .arg("plot")
            .arg(&model)
            .arg(fixture("seed_1d").join("X.csv"))
            .arg("-o")
            .arg(&png)
            .arg(flag)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("this model has one feature"));
    }
}

#[test]
fn figure_flags_without_a_figure_are_refused() {
    let x = fixture("faithful_full").join("X.csv");
    for flag in [
        vec!["--contours"],
        vec!["--title", "t"],
        vec!["--features", "0,1"],
    ] {
        gaussmix()
            .arg("fit")
            .arg(&x)
            .args(["-k", "2", "--quiet", "-o", "-"])
            .args(&flag)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("add --plot"));
    }
    gaussmix()
        .arg("select")
        .arg(&x)
        .args(["-k", "1..2", "--quiet", "--log-scale"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--log-scale describes the figure"));
}

#[test]
fn plot_refuses_data_too_wide_to_draw() {
    // Regression: a column spanning ±1e308 overflowed the axis and hung the tick loop.
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = fit_fixture("seed_1d", dir.path());
    let mut text = std::fs::read_to_string(fixture("seed_1d").join("X.csv")).unwrap();
    text.push_str("1e308\n-1e308\n");
    let x = dir.path().join("wide.csv");
    std::fs::write(&x, text).unwrap();
    let png = dir.path().join("w.png");
    gaussmix()
        .arg("plot")
        .arg(&model)
        .arg(&x)
        .arg("-o")
        .arg(&png)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("too wide to draw"));
    assert!(!png.exists());
}

#[test]
fn outputs_naming_the_same_file_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let x = fixture("faithful_full").join("X.csv");
    let same = dir.path().join("same.png");
    for (out, plot) in [
        ("same.png", "same.png"),
        ("same.convergence.png", "same.png"),
    ] {
        gaussmix()
            .current_dir(dir.path())
            .arg("fit")
            .arg(&x)
            .args(["-k", "2", "--quiet", "-o", out, "--plot", plot])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("both write"));
    }
    assert!(!same.exists());
    for args in [
        vec!["-o", "s.png", "--plot", "s.png"],
        vec!["--table", "t.png", "--plot", "./t.png"],
        vec!["-o", "b.json", "--table", "b.json"],
    ] {
        gaussmix()
            .current_dir(dir.path())
            .arg("select")
            .arg(&x)
            .args(["-k", "1..2", "--quiet"])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("both write"));
    }
}

#[test]
fn fit_checks_the_figure_flags_before_fitting() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let fig = dir.path().join("f.png");
    for (data, flags, msg) in [
        ("iris_full", vec!["--features", "0,zz"], "no feature \"zz\""),
        ("iris_full", vec!["--features", "0,0"], "named twice"),
        ("iris_full", vec!["--features", "0..3"], "one by one"),
        ("iris_full", vec!["--density-only"], "one feature"),
        (
            "faithful_full",
            vec!["--max-features", "5"],
            "does not apply",
        ),
        ("seed_1d", vec!["--contours"], "this model has one feature"),
    ] {
        gaussmix()
            .arg("fit")
            .arg(fixture(data).join("X.csv"))
            .args(["-k", "2", "--quiet", "-o"])
            .arg(&model)
            .arg("--plot")
            .arg(&fig)
            .args(&flags)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
        assert!(!model.exists() && !fig.exists(), "{flags:?} left a file");
    }
}

#[test]
fn fit_stream_equals_the_in_memory_fit_with_the_same_init_sample() {
    let dir = tempfile::tempdir().unwrap();
    let x = fixture("synthetic_5000x5_full").join("X.npy");
    for threads in ["1", "2"] {
        for init in ["em-em", "kmeans++"] {
            let run = |stream: bool| {
                let out = dir.path().join(format!("m{stream}.json"));
                let mut c = gaussmix();
                c.arg("fit")
                    .arg(&x)
                    .args(["-k", "3", "--quiet", "--seed", "4", "--n-init", "2"])
                    .args([
                        "--init",
                        init,
                        "--init-sample",
                        "1500",
                        "--threads",
                        threads,
                    ])
                    .arg("-o")
                    .arg(&out);
                if stream {
                    c.arg("--stream");
                }
                c.assert().success();
                std::fs::read_to_string(&out).unwrap()
            };
            let (streamed, in_memory) = (run(true), run(false));
            assert_eq!(streamed, in_memory, "threads {threads}, {init}");
            assert!(streamed.contains("\"init_sample\": 1500"));
        }
    }
    // Weights (held in memory) give the same fit as in memory too.
    let w = dir.path().join("w.csv");
    let text: String = (0..5000).map(|i| format!("{}\n", 1 + i % 3)).collect();
    std::fs::write(&w, text).unwrap();
    let weighted = |stream: bool| {
        let out = dir.path().join(format!("w{stream}.json"));
        let mut c = gaussmix();
        c.arg("fit")
            .arg(&x)
            .args(["-k", "3", "--quiet", "--init-sample", "2000", "--weights"])
            .arg(&w)
            .arg("-o")
            .arg(&out);
        if stream {
            c.arg("--stream");
        }
        c.assert().success();
        std::fs::read_to_string(&out).unwrap()
    };
    assert_eq!(weighted(true), weighted(false));
    // Without --init-sample, --stream starts from 100,000 rows (here: all 5,000).
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "2", "--stream", "-o"])
        .arg(dir.path().join("d.json"))
        .assert()
        .success()
        .stderr(predicate::str::contains("fitted 2 components"));
}

#[test]
fn predict_and_score_stream_write_what_they_write_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let x = fixture("synthetic_5000x5_full").join("X.npy");
    let model = dir.path().join("m.json");
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "3", "--quiet", "--seed", "1", "-o"])
        .arg(&model)
        .assert()
        .success();
    let cases: [(&str, &[&str], &str); 5] = [
        ("predict", &[], "csv"),
        ("predict", &[], "npy"),
        ("predict", &["--proba"], "csv"),
        ("predict", &["--proba"], "npy"),
        ("score", &["--per-sample"], "npy"),
    ];
    for (cmd, flags, ext) in cases {
        let run = |stream: bool| {
            let out = dir.path().join(format!("o{stream}.{ext}"));
            let mut c = gaussmix();
            // Blocks of 768 rows: 5,000 rows cross six block boundaries.
            c.env("GAUSSMIX_STREAM_BLOCK_ROWS", "700")
                .arg(cmd)
                .arg(&model)
                .arg(&x)
                .args(flags)
                .arg("-o")
                .arg(&out);
            if stream {
                c.arg("--stream");
            }
            c.assert().success();
            std::fs::read(&out).unwrap()
        };
        let (streamed, in_memory) = (run(true), run(false));
        assert!(streamed == in_memory, "{cmd} {flags:?} .{ext} differ");
    }
    let mean = |stream: bool| {
        let mut c = gaussmix();
        c.arg("score").arg(&model).arg(&x);
        if stream {
            c.arg("--stream");
        }
        String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
    };
    assert_eq!(mean(true), mean(false));
    // What cannot stream is refused.
    for (args, msg) in [
        (vec!["predict", "--keep", "0"], "--keep"),
        (vec!["predict", "--json"], "--json"),
        (vec!["predict", "-o", "p.parquet"], "Parquet"),
    ] {
        gaussmix()
            .current_dir(dir.path())
            .arg(args[0])
            .arg(&model)
            .arg(&x)
            .args(&args[1..])
            .arg("--stream")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
}

#[test]
fn the_data_file_is_never_an_output_and_init_sample_is_checked_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    std::fs::copy(fixture("synthetic_5000x5_full").join("X.npy"), &x).unwrap();
    let before = std::fs::read(&x).unwrap();
    for stream in [false, true] {
        let mut c = gaussmix();
        c.current_dir(dir.path()).arg("fit").arg("x.npy").args([
            "-k",
            "2",
            "--quiet",
            "-o",
            "./sub/../x.npy",
        ]);
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        if stream {
            c.arg("--stream");
        }
        c.assert()
            .code(2)
            .stderr(predicate::str::contains("is the data file"));
    }
    assert_eq!(std::fs::read(&x).unwrap(), before);
    gaussmix()
        .arg("select")
        .arg(&x)
        .args(["-k", "1..5", "--init-sample", "3", "--quiet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("give --init-sample 5 or more"));
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "4", "--init-sample", "2", "--quiet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("start 4 components"));
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "2", "--stream", "--missing", "drop", "--quiet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--missing is for text files"));
}

/// A text file streams too (indexed once, re-parsed every pass): the same model file
/// as the in-memory fit, byte for byte, with column selection and a header, on 1 or 2
/// threads; the note points to convert.
#[test]
fn fit_stream_of_a_csv_equals_the_in_memory_fit() {
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/iris_pandas_index.csv");
    for threads in ["1", "2"] {
        let run = |stream: bool| {
            let mut c = gaussmix();
            c.arg("fit")
                .arg(&csv)
                .args([
                    "-k",
                    "3",
                    "--seed",
                    "1",
                    "--init-sample",
                    "120",
                    "--threads",
                    threads,
                ])
                .args(["--exclude", "0,species", "-o", "-"]);
            if stream {
                c.arg("--stream");
            }
            let out = c.assert().success();
            (
                String::from_utf8(out.get_output().stdout.clone()).unwrap(),
                String::from_utf8(out.get_output().stderr.clone()).unwrap(),
            )
        };
        let ((streamed, note), (in_memory, _)) = (run(true), run(false));
        assert_eq!(streamed, in_memory, "threads {threads}");
        // 5,000 rows: 20 indexed blocks, read by two workers.
        let big = fixture("synthetic_5000x5_full").join("X.csv");
        let fit = |stream: bool| {
            let mut c = gaussmix();
            c.arg("fit").arg(&big).args([
                "-k",
                "3",
                "-q",
                "--init-sample",
                "1000",
                "--threads",
                threads,
            ]);
            if stream {
                c.arg("--stream");
            }
            String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
        };
        assert_eq!(fit(true), fit(false), "X.csv, threads {threads}");
        // Parquet (made by convert), read by position.
        let dir = tempfile::tempdir().unwrap();
        let pq = dir.path().join("x.parquet");
        gaussmix()
            .arg("convert")
            .arg(&csv)
            .args(["--exclude", "0,species", "-q", "-o"])
            .arg(&pq)
            .assert()
            .success();
        let fit_pq = |stream: bool| {
            let mut c = gaussmix();
            c.arg("fit").arg(&pq).args([
                "-k",
                "3",
                "-q",
                "--seed",
                "1",
                "--init-sample",
                "120",
                "--threads",
                threads,
            ]);
            if stream {
                c.arg("--stream");
            }
            String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
        };
        let streamed_pq = fit_pq(true);
        assert_eq!(streamed_pq, fit_pq(false), "parquet, threads {threads}");
        assert_eq!(streamed_pq, streamed, "parquet and CSV give the same model");
        assert!(streamed.contains("\"petal_width\""));
        // Kept, pandas' unnamed index column is named as in memory ("Unnamed: 0").
        let with_index = |stream: bool| {
            let mut c = gaussmix();
            c.arg("fit").arg(&csv).args([
                "-k",
                "2",
                "-q",
                "--exclude",
                "species",
                "--init-sample",
                "100",
                "-o",
                "-",
            ]);
            if stream {
                c.arg("--stream");
            }
            String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
        };
        let s = with_index(true);
        assert!(s.contains("\"Unnamed: 0\""), "{s}");
        assert_eq!(s, with_index(false));
        assert!(note.contains("gaussmix convert"), "{note}");
    }
}

#[test]
fn fit_stream_refuses_what_it_cannot_stream() {
    let dir = tempfile::tempdir().unwrap();
    let npy = fixture("synthetic_5000x5_full").join("X.npy");
    let csv = fixture("synthetic_5000x5_full").join("X.csv");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![csv.display().to_string(), "--missing".into(), "drop".into()],
            "gaussmix convert",
        ),
        (
            vec![
                csv.display().to_string(),
                "--weight-column".into(),
                "0".into(),
            ],
            "--weight-column is not read while streaming",
        ),
        (vec!["-".into()], "cannot stream stdin"),
        (
            vec![npy.display().to_string(), "--columns".into(), "0,1".into()],
            "--columns",
        ),
        (
            vec![npy.display().to_string(), "--dtype".into(), "f32".into()],
            "--dtype",
        ),
        (
            vec![
                npy.display().to_string(),
                "--plot".into(),
                dir.path().join("f.png").display().to_string(),
            ],
            "--plot",
        ),
    ];
    for (args, msg) in cases {
        gaussmix()
            .arg("fit")
            .args(&args)
            .args(["-k", "2", "--stream", "--quiet"])
            .assert()
            .failure()
            .stderr(predicate::str::contains(msg));
    }
}

#[test]
fn select_plot_takes_log_scale_title_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let fig = dir.path().join("bic.png");
    gaussmix()
        .arg("select")
        .arg(fixture("faithful_full").join("X.csv"))
        .args(["-k", "1..3", "--quiet", "--log-scale", "--title", "BIC"])
        .args(["--width", "700", "--height", "450", "--plot"])
        .arg(&fig)
        .assert()
        .success();
    assert_eq!(png_size(&fig), (700, 450));
}

#[test]
fn fit_plot_writes_figure_and_convergence() {
    let dir = tempfile::tempdir().unwrap();
    let fig = dir.path().join("fit.png");
    gaussmix()
        .arg("fit")
        .arg(fixture("faithful_full").join("X.csv"))
        .args(["-k", "2", "--quiet", "-o"])
        .arg(dir.path().join("m.json"))
        .arg("--plot")
        .arg(&fig)
        .assert()
        .success();
    assert!(is_png(&fig));
    assert!(is_png(&dir.path().join("fit.convergence.png")));
}

#[test]
fn info_describes_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = fit_fixture("iris_tied", dir.path());
    gaussmix()
        .arg("info")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "3 components, 4 features, tied covariance",
        ))
        .stdout(predicate::str::contains("converged after 51 iterations"));
}

#[test]
fn demo_reproduces_the_notebook_fits() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = gaussmix()
        .arg("demo")
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for (name, stem) in [("seed_1d", "notebook_1d"), ("seed_2d", "notebook_2d")] {
        let c = case(name);
        let f = &c["fit"];
        assert!(
            text.contains(&format!("converged after {} iterations", f["n_iter"])),
            "{name}: {text}"
        );
        // Printed parameters: every printed weight/mean/covariance matches the fixture.
        let block: &str = text
            .split(if name == "seed_1d" { "1-D:" } else { "2-D:" })
            .nth(1)
            .unwrap();
        for k in 0..2 {
            let line = block
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("component {k}:")))
                .unwrap();
            let nums: Vec<f64> = line
                .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
                .filter_map(|t| t.parse::<f64>().ok())
                .collect();
            // nums = [k, weight, mean..., covariance...]
            let d = c["n_features"].as_u64().unwrap() as usize;
            let w = flat(&f["weights"])[k];
            let mean = flat(&f["means"])[k * d..(k + 1) * d].to_vec();
            let cov = flat(&f["covariances"])[k * d * d..(k + 1) * d * d].to_vec();
            assert_close(&format!("{name} weight {k}"), &nums[1..2], &[w], 1e-9);
            assert_close(&format!("{name} mean {k}"), &nums[2..2 + d], &mean, 1e-9);
            assert_close(
                &format!("{name} cov {k}"),
                &nums[2 + d..2 + d + d * d],
                &cov,
                1e-9,
            );
        }
        let m: Value = serde_json::from_str(
            &std::fs::read_to_string(out_dir.join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        assert_close(
            &format!("{name} demo model means"),
            &flat(&m["means"]),
            &flat(&f["means"]),
            1e-9,
        );
        assert!(is_png(&out_dir.join(format!("{stem}.png"))), "{stem}.png");
        assert!(
            is_png(&out_dir.join(format!("{stem}.convergence.png"))),
            "{stem}.convergence.png"
        );
    }
}

#[test]
fn every_command_has_help() {
    for cmd in [
        "fit", "select", "predict", "score", "sample", "plot", "info", "demo",
    ] {
        gaussmix()
            .args([cmd, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
    gaussmix()
        .arg("fit")
        .arg("--help")
        .assert()
        .stdout(predicate::str::contains("[default: 100]"));
}

#[test]
fn select_ranks_candidates_and_keeps_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let (best, table, fig) = (
        dir.path().join("best.json"),
        dir.path().join("t.csv"),
        dir.path().join("sel.png"),
    );
    let out = gaussmix()
        .arg("select")
        .arg(fixture("seed_2d").join("X.csv"))
        .args([
            "--k",
            "1..4",
            "--covariance",
            "full,diag",
            "--n-init",
            "2",
            "-o",
        ])
        .arg(&best)
        .arg("--table")
        .arg(&table)
        .arg("--plot")
        .arg(&fig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("best by BIC: k = 2"), "{text}");
    assert!(
        text.lines().nth(1).unwrap().trim_start().starts_with("*1"),
        "{text}"
    );
    let csv = std::fs::read_to_string(&table).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8);
    assert!(csv.lines().nth(1).unwrap().starts_with("1,2,"));
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&best).unwrap()).unwrap();
    assert_eq!(m["n_components"], 2);
    let bic_in_table: f64 = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(5)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(m["fit"]["bic"].as_f64().unwrap(), bic_in_table);
    assert!(is_png(&fig));

    let out = gaussmix()
        .arg("select")
        .arg(fixture("seed_1d").join("X.csv"))
        .args(["--k", "1,2,3", "--criterion", "icl", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["best"]["k"], 2);
    assert_eq!(v["criterion"], "icl");
    assert_eq!(v["candidates"].as_array().unwrap().len(), 12);
}

/// `select`'s warm starts as the user sees them: marked in the table, a `warm_start`
/// column in the CSV and the JSON, and the kept model's record says where it started
/// (`info`, `fit.split_from`).
#[test]
fn select_shows_its_warm_starts() {
    let dir = tempfile::tempdir().unwrap();
    // Four separated clusters; one random start per candidate misses some of them.
    let mut rows = String::new();
    let centres = [[0.0, 0.0], [12.0, 0.0], [24.0, 12.0], [36.0, 12.0]];
    for i in 0..800usize {
        let c = centres[i % 4];
        let (a, b) = (
            ((i * 37) % 101) as f64 / 50.0 - 1.0,
            ((i * 53) % 97) as f64 / 48.0 - 1.0,
        );
        rows += &format!("{},{}\n", c[0] + a, c[1] + b);
    }
    let data = dir.path().join("x.csv");
    std::fs::write(&data, rows).unwrap();
    let (best, table) = (dir.path().join("best.json"), dir.path().join("t.csv"));
    let sel = [
        "-k",
        "1..5",
        "--covariance",
        "full",
        "--init",
        "random",
        "--seed",
        "2",
    ];
    let out = gaussmix()
        .arg("select")
        .arg(&data)
        .args(sel)
        .arg("-o")
        .arg(&best)
        .arg("--table")
        .arg(&table)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&table).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "warm_start").unwrap();
    let warm: Vec<(usize, bool)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[col] == "true")
        })
        .collect();
    let marked = text.lines().filter(|l| l.contains("'s fit, split")).count();
    assert!(marked > 0, "{text}");
    assert_eq!(marked, warm.iter().filter(|w| w.1).count(), "{text}\n{csv}");
    assert!(warm.iter().all(|&(k, w)| !(w && k == 1)));
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&best).unwrap()).unwrap();
    assert_eq!(m["n_components"], 4);
    let best_warm = warm.iter().find(|w| w.0 == 4).unwrap().1;
    let info = gaussmix().arg("info").arg(&best).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    if best_warm {
        assert_eq!(m["fit"]["split_from"], 3);
        assert!(
            info.contains("--init a split of select's k=3 fit"),
            "{info}"
        );
    } else {
        assert!(m["fit"]["split_from"].is_null());
    }
    let out = gaussmix()
        .arg("select")
        .arg(&data)
        .args(sel)
        .arg("--json")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let json_warm = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["warm_start"] == true)
        .count();
    assert_eq!(json_warm, marked);
}

#[test]
fn fit_dtype_f32_matches_f64() {
    let x = fixture("synthetic_5000x5_full").join("X.npy");
    let run = |dtype: &str, cov: &str| {
        let out = gaussmix()
            .arg("fit")
            .arg(&x)
            .args([
                "-k",
                "4",
                "--seed",
                "2",
                // One start for both: em-EM (the default) chooses among near-tied
                // short runs, a choice f32 rounding may tip.
                "--init",
                "greedy-kmeans++",
                "--quiet",
                "--json",
                "-o",
                "/dev/null",
                "--dtype",
                dtype,
                "--covariance",
                cov,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    for cov in ["full", "diag"] {
        let (a, b) = (run("f32", cov), run("f64", cov));
        assert_close(
            &format!("{cov} means"),
            &flat(&a["means"]),
            &flat(&b["means"]),
            1e-4,
        );
        assert_eq!(a["n_iter"], b["n_iter"]);
    }
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "2", "--dtype", "f16"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--dtype"));
}

/// Regression (review): em-EM's flags were accepted and silently unused with another
/// `--init` or with `--init-model`; now a note says so (and nothing is said when they
/// apply).
#[test]
fn em_em_flags_that_do_nothing_are_noted() {
    let x = fixture("iris_full").join("X.csv");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let run = |extra: &[&str]| {
        let out = gaussmix()
            .arg("fit")
            .arg(&x)
            .args(["-k", "3", "-o"])
            .arg(&model)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("note: "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(run(&["--init-candidates", "3", "--init-iter", "2"]).is_empty());
    assert_eq!(
        run(&["--init", "kmeans", "--init-candidates", "3"]),
        vec!["note: --init-candidates counts only for --init em-em; ignored (--init is kmeans)"]
    );
    let start = dir.path().join("start.json");
    std::fs::copy(&model, &start).unwrap();
    assert_eq!(
        run(&["--init-model", start.to_str().unwrap(), "--init-iter", "2"]),
        vec!["note: --init-iter counts only for --init em-em; ignored (the start comes from --init-model)"]
    );
}

/// em-EM's split-and-merge moves from the command line: `--split-merge-moves` bounds
/// them (at most two per restart), `--json` reports them (`split_merge`), the summary's
/// `start:` line says what they did, 0 turns them off, and the flag is noted as unused
/// with another `--init`.
#[test]
fn split_merge_moves_are_reported_and_bounded() {
    let x = fixture("iris_full").join("X.csv");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    // `fit` of iris with K = 4 and `args`: (stdout, stderr).
    let fit = |args: &[&str]| {
        let out = gaussmix()
            .arg("fit")
            .arg(&x)
            .args(["-k", "4", "-o"])
            .arg(&model)
            .args(args)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        assert!(out.status.success(), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let json = |extra: &[&str]| {
        let args = [&["--n-init", "3", "--seed", "2", "--json"], extra].concat();
        serde_json::from_str::<serde_json::Value>(&fit(&args).0).unwrap()
    };
    let j = json(&[]);
    let sm = &j["split_merge"];
    assert!(sm.is_object(), "{j}");
    let tried = sm["tried"].as_u64().unwrap();
    assert!(tried <= 6, "three restarts allow six moves, tried {tried}");
    assert_eq!(
        sm["kept"].as_bool().unwrap(),
        sm["gain"].as_f64().unwrap() > 0.0
    );
    let j = json(&["--split-merge-moves", "1"]);
    assert!(j["split_merge"]["tried"].as_u64().unwrap() <= 1);
    let j = json(&["--split-merge-moves", "0"]);
    assert!(j["split_merge"].is_null(), "{j}");
    let (_, err) = fit(&["--init", "kmeans", "--split-merge-moves", "3"]);
    assert!(
        err.contains("note: --split-merge-moves counts only for --init em-em"),
        "{err}"
    );
    // The summary line.
    let (out, err) = fit(&["--n-init", "3", "--seed", "2"]);
    assert!(
        (out + &err).contains("split-and-merge: "),
        "no split-and-merge in the summary"
    );
}
