//! End-to-end tests of `gaussmix fit --online`: every source gives the same model, a
//! run stopped and resumed equals one that was not, checkpoints are valid at any
//! moment, stdin streams end to end, and what cannot work is refused.

use std::path::PathBuf;

mod common;

use common::{fixture, gaussmix};
use gaussmix::GaussianMixture;
use predicates::prelude::*;
use serde_json::Value;

const ONLINE: [&str; 9] = [
    "--online",
    "-k",
    "3",
    "--batch-size",
    "700",
    "--seed",
    "2",
    "--quiet",
    "--init=kmeans++",
];

/// The .npy file read by position, the CSV file read whole and the CSV on stdin
/// (parsed a batch at a time) give the same model, byte for byte, for 1 or 2 threads.
#[test]
fn npy_csv_and_stdin_give_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let x = fixture("synthetic_5000x5_full");
    let mut seen = Vec::new();
    for threads in ["1", "2"] {
        for (name, input) in [("npy", "X.npy"), ("csv", "X.csv"), ("stdin", "-")] {
            let out = dir.path().join(format!("{name}{threads}.json"));
            let mut c = gaussmix();
            c.arg("fit")
                .args(ONLINE)
                .args(["--threads", threads])
                .arg("-o")
                .arg(&out);
            if input == "-" {
                c.arg("-")
                    .write_stdin(std::fs::read(x.join("X.csv")).unwrap());
            } else {
                c.arg(x.join(input));
            }
            c.assert().success();
            let text = std::fs::read_to_string(&out).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            // One pass of 5000 rows in batches of 700: 8 batches, one recorded pass.
            assert_eq!(v["online"]["batches"], 8, "{name}");
            assert_eq!(v["fit"]["n_iter"], 1, "{name}");
            assert_eq!(v["fit"]["lower_bounds"].as_array().unwrap().len(), 1);
            seen.push((
                format!("{name} {threads}"),
                text.replace("\"n_threads\": 1", "\"n_threads\": 2"),
            ));
        }
    }
    for (name, text) in &seen[1..] {
        assert_eq!(text, &seen[0].1, "{name} differs from {}", seen[0].0);
    }
}

/// A run stopped by --max-batches mid-pass and resumed (twice, across a pass boundary)
/// writes the same model as one run; the per-pass log-likelihoods are all recorded.
#[test]
fn a_stopped_run_resumes_exactly() {
    // .npy read by position; CSV read a chunk of lines at a time.
    for name in ["X.npy", "X.csv"] {
        resumes_exactly(fixture("synthetic_5000x5_full").join(name));
    }
}

fn resumes_exactly(x: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.json");
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(ONLINE)
        .args(["--passes", "3"])
        .arg("-o")
        .arg(&whole)
        .assert()
        .success();
    let part = dir.path().join("part.json");
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(ONLINE)
        .args(["--passes", "3", "--max-batches", "5"])
        .arg("-o")
        .arg(&part)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&part).unwrap()).unwrap();
    assert_eq!(v["online"]["batches"], 5);
    assert_eq!(v["fit"]["n_iter"], 0);
    for max in ["6", "100"] {
        gaussmix()
            .arg("fit")
            .arg(&x)
            .args([
                "--online",
                "--batch-size",
                "700",
                "--passes",
                "3",
                "--quiet",
            ])
            .args(["--max-batches", max, "--resume"])
            .arg(&part)
            .arg("-o")
            .arg(&part)
            .assert()
            .success();
    }
    let a = std::fs::read_to_string(&whole).unwrap();
    assert_eq!(a, std::fs::read_to_string(&part).unwrap());
    let v: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["fit"]["n_iter"], 3);
    let lls: Vec<f64> = v["fit"]["lower_bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_f64().unwrap())
        .collect();
    assert_eq!(lls.len(), 3);
    assert!(lls[2] > lls[0], "{lls:?}");
    // Nothing left to do: said so.
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["--online", "--passes", "3", "--resume"])
        .arg(&part)
        .assert()
        .failure()
        .stderr(predicates::str::contains("has made 3 passes already"));
}

/// Checkpoints are replaced atomically: a reader polling the file while a stream is fitted
/// only ever finds a whole, valid model, with running statistics.
#[test]
fn checkpoints_are_valid_at_any_moment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ckpt.json");
    let mut text = String::from("a,b\n");
    for i in 0..60_000u64 {
        let u = ((i * 2_654_435_761) % 1000) as f64 / 1000.0;
        let c = (i % 2) as f64 * 9.0;
        text += &format!("{},{}\n", c + u, c - u * 0.5);
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("gaussmix"))
        .args([
            "fit",
            "-",
            "--online",
            "-k",
            "2",
            "--batch-size",
            "200",
            "--quiet",
        ])
        .args(["--checkpoint-every", "1", "--threads", "1", "-o"])
        .arg(&out)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(text.as_bytes()).unwrap();
    });
    let mut reads = 0;
    let mut batches = Vec::new();
    loop {
        let finished = child.try_wait().unwrap().is_some();
        if let Ok(t) = std::fs::read_to_string(&out) {
            let m = GaussianMixture::from_json(&t)
                .unwrap_or_else(|e| panic!("read {reads}: not a valid model: {e}"));
            batches.push(
                m.online_state()
                    .expect("a checkpoint has running statistics")
                    .batches(),
            );
            reads += 1;
        }
        if finished {
            break;
        }
    }
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert!(reads >= 2, "the checkpoint was read {reads} times");
    assert!(batches.windows(2).all(|w| w[0] <= w[1]), "{batches:?}");
    assert_eq!(batches.last(), Some(&300));
}

/// stdin end to end: a header, a weight column, names kept; the stream's weights are
/// the rows' weights (a weighted stream equals the stream with rows repeated).
#[test]
fn stdin_streams_with_a_header_and_a_weight_column() {
    let mut weighted = String::from("x,y,w\n");
    let mut repeated = String::from("x,y\n");
    for i in 0..3000u64 {
        let u = ((i * 7919) % 997) as f64 / 997.0;
        let (x, y) = if i % 2 == 0 {
            (u, 2.0 * u)
        } else {
            (5.0 + u, -u)
        };
        weighted += &format!("{x},{y},2\n");
        repeated += &format!("{x},{y}\n{x},{y}\n");
    }
    let run = |input: String, batch: &str, extra: &[&str]| {
        let out = gaussmix()
            .args([
                "fit",
                "-",
                "--online",
                "-k",
                "2",
                "--init=kmeans++",
                "--quiet",
            ])
            .args(["--batch-size", batch])
            .args(extra)
            .write_stdin(input)
            .assert()
            .success();
        GaussianMixture::from_json(&String::from_utf8(out.get_output().stdout.clone()).unwrap())
            .unwrap()
    };
    let a = run(weighted, "500", &["--weight-column", "w"]);
    let b = run(repeated, "1000", &[]);
    assert_eq!(a.feature_names().unwrap(), ["x", "y"]);
    for (p, q) in a.means().iter().zip(b.means().iter()) {
        assert!((p - q).abs() < 1e-9 * (1.0 + q.abs()), "{p} vs {q}");
    }
    assert_eq!(a.online_state().unwrap().rows(), 3000);
    assert_eq!(b.online_state().unwrap().rows(), 6000);
}

/// What cannot work is refused, before any work, with what to do.
#[test]
fn online_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let x = fixture("faithful_full").join("X.npy");
    let plain = dir.path().join("plain.json");
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "2", "--quiet", "-o"])
        .arg(&plain)
        .assert()
        .success();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--batch-size".into(), "10".into()],
            "is for online EM: add --online",
        ),
        (
            vec!["--online".into(), "--stream".into()],
            "--stream does not go with --online",
        ),
        (
            vec!["--online".into(), "--batch-size".into(), "0".into()],
            "--batch-size must be at least 1",
        ),
        (
            vec!["--online".into(), "--passes".into(), "0".into()],
            "--passes must be at least 1",
        ),
        (
            vec!["--online".into(), "--checkpoint-every".into(), "5".into()],
            "give -o",
        ),
        (
            vec!["--online".into(), "--init-sample".into(), "50".into()],
            "--init-sample is for batch fits",
        ),
        (
            vec!["--online".into(), "--step-exponent".into(), "0.4".into()],
            "step_exponent",
        ),
        (
            vec![
                "--online".into(),
                "--resume".into(),
                plain.to_string_lossy().into(),
            ],
            "has no running statistics",
        ),
        (
            vec!["--online".into(), "--plot".into(), "f.png".into()],
            "--plot does not go with --online",
        ),
    ];
    for (args, want) in cases {
        gaussmix()
            .arg("fit")
            .arg(&x)
            .args(["-k", "2"])
            .args(&args)
            .assert()
            .failure()
            .stderr(predicates::str::contains(want));
    }
    gaussmix()
        .args(["fit", "-", "-k", "2", "--online", "--passes", "2"])
        .write_stdin("1\n2\n")
        .assert()
        .failure()
        .stderr(predicates::str::contains("stdin can be read once"));
    // A stream whose rows change width is refused, naming the lines.
    let mut text = String::new();
    for i in 0..50 {
        text += &format!("{},{}\n", i % 7, i % 5);
    }
    text += "1,2,3\n";
    gaussmix()
        .args([
            "fit",
            "-",
            "-k",
            "2",
            "--online",
            "--batch-size",
            "20",
            "--quiet",
        ])
        .write_stdin(text)
        .assert()
        .failure()
        .stderr(predicates::str::contains("<stdin>: line 51 has 3 fields"));
    // A checkpoint continued on data of another width is refused.
    let ck = dir.path().join("ck.json");
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args([
            "-k",
            "2",
            "--online",
            "--batch-size",
            "100",
            "--passes",
            "2",
            "--max-batches",
            "1",
            "--quiet",
            "-o",
        ])
        .arg(&ck)
        .assert()
        .success();
    gaussmix()
        .arg("fit")
        .arg(fixture("synthetic_5000x5_full").join("X.npy"))
        .args(["--online", "--passes", "2", "--resume"])
        .arg(&ck)
        .assert()
        .failure()
        .stderr(predicates::str::contains("the model has 2 features"));
}

/// Regressions from a user review: a stdin checkpoint continues with more stdin; a
/// resumed run keeps the checkpoint's batch size and refuses data too short for it;
/// weights are checked with their row in the data; a batch of zero weight, a batch
/// smaller than K are refused with what to do; a Fortran-order .npy is read a batch at
/// a time.
#[test]
fn online_review_regressions() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |from: usize, to: usize| -> String {
        (from..to)
            .map(|i| {
                format!(
                    "{},{}\n",
                    (i % 2) as f64 * 8.0 + (i % 13) as f64 * 0.1,
                    (i % 7) as f64 * 0.2
                )
            })
            .collect()
    };
    let ck = dir.path().join("live.json");
    gaussmix()
        .args([
            "fit",
            "-",
            "-k",
            "2",
            "--online",
            "--batch-size",
            "100",
            "-q",
            "-o",
        ])
        .arg(&ck)
        .write_stdin(rows(0, 1000))
        .assert()
        .success();
    gaussmix()
        .args(["fit", "-", "--online", "-q", "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(&ck)
        .write_stdin(rows(1000, 1500))
        .assert()
        .success();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&ck).unwrap()).unwrap();
    assert_eq!(v["online"]["batches"], 15);
    assert_eq!(v["fit"]["n_iter"], 2, "each stdin run closes a pass");

    let x = fixture("synthetic_5000x5_full").join("X.npy");
    let part = dir.path().join("part.json");
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args([
            "-k",
            "3",
            "--online",
            "--batch-size",
            "700",
            "--passes",
            "2",
            "--max-batches",
            "6",
            "-q",
            "-o",
        ])
        .arg(&part)
        .assert()
        .success();
    gaussmix()
        .args(["info"])
        .arg(&part)
        .assert()
        .success()
        .stdout(
            predicates::str::contains("fit: online EM, 0 finished passes")
                .and(predicates::str::contains("--resume continues it")),
        );
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args([
            "--online",
            "--batch-size",
            "500",
            "--passes",
            "2",
            "--resume",
        ])
        .arg(&part)
        .assert()
        .failure()
        .stderr(predicates::str::contains("batches of 700 rows"));
    gaussmix()
        .arg("fit")
        .arg(
            fixture("faithful_full")
                .join("X.npy")
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("iris_full")
                .join("X.npy"),
        )
        .args(["--online", "--passes", "2", "--resume"])
        .arg(&part)
        .assert()
        .failure();
    // 272 rows < 5 batches of 700: refused as other data (same width: 5 columns).
    let short = dir.path().join("short.npy");
    let t = gaussmix_io::read_file(&x, &gaussmix_io::ReadOptions::default()).unwrap();
    let mut f = std::fs::File::create(&short).unwrap();
    gaussmix_io::write_npy_f64(&mut f, &t.values()[..300 * 5], &[300, 5]).unwrap();
    gaussmix()
        .arg("fit")
        .arg(&short)
        .args(["--online", "--passes", "2", "--resume"])
        .arg(&part)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "not the data the checkpoint was fitted on",
        ));

    // Weights: a bad one named by its row in the data; a batch of zero weight refused.
    let w: Vec<f64> = (0..5000)
        .map(|i| if i == 3456 { -1.0 } else { 1.0 })
        .collect();
    let wf = dir.path().join("w.npy");
    let mut f = std::fs::File::create(&wf).unwrap();
    gaussmix_io::write_npy_f64(&mut f, &w, &[5000]).unwrap();
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "3", "--online", "--batch-size", "700", "--weights"])
        .arg(&wf)
        .assert()
        .failure()
        .stderr(predicates::str::contains("data row 3457: weight -1"));
    let w: Vec<f64> = (0..5000)
        .map(|i| if (1400..2100).contains(&i) { 0.0 } else { 1.0 })
        .collect();
    let mut f = std::fs::File::create(&wf).unwrap();
    gaussmix_io::write_npy_f64(&mut f, &w, &[5000]).unwrap();
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "3", "--online", "--batch-size", "700", "--weights"])
        .arg(&wf)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "data rows 1401–2100: every weight of this batch is 0",
        ));
    gaussmix()
        .arg("fit")
        .arg(&x)
        .args(["-k", "3", "--online", "--batch-size", "2"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("smaller than -k 3"));

    // Fortran order: the same model as the C-order file.
    let (n, d) = (t.n_rows(), t.n_cols());
    let fortran = dir.path().join("f.npy");
    common::write_fortran_npy(&fortran, t.values(), n, d);
    let fit = |p: &std::path::Path| {
        let out = gaussmix().arg("fit").arg(p).args(ONLINE).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    assert_eq!(fit(&fortran), fit(&x));
}

/// An online fit reports the batch fit's warnings (here a constant column) and
/// `--strict` refuses it.
#[test]
fn online_warnings_and_strict() {
    let text: String = (0..3000)
        .map(|i| {
            format!(
                "{},{},4.5\n",
                (i % 2) as f64 * 8.0 + (i % 13) as f64 * 0.1,
                (i % 7) as f64 * 0.2
            )
        })
        .collect();
    gaussmix()
        .args([
            "fit",
            "-",
            "-k",
            "2",
            "--online",
            "--batch-size",
            "500",
            "-q",
        ])
        .write_stdin(text.clone())
        .assert()
        .success()
        .stderr(predicates::str::contains("constant"));
    gaussmix()
        .args([
            "fit",
            "-",
            "-k",
            "2",
            "--online",
            "--batch-size",
            "500",
            "-q",
            "--strict",
        ])
        .write_stdin(text)
        .assert()
        .failure()
        .stdout(predicates::str::is_empty());
}
