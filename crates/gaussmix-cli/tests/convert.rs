//! End-to-end tests of `gaussmix convert`: every format we read into .npy / .parquet,
//! chunk by chunk, equal to reading the input whole; refusals; atomic output.

use std::path::PathBuf;

mod common;

use common::{fixture, gaussmix};
use gaussmix_io::{read_file, ReadOptions};
use predicates::prelude::*;

fn iris() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// CSV (plain and gzip, from a file or stdin, with column selection) → .npy and
/// .parquet, in chunks smaller than the file: the values and names read back are the
/// input's, exactly (float32: rounded once).
#[test]
fn every_input_converts_to_what_reading_it_whole_gives() {
    let dir = tempfile::tempdir().unwrap();
    let csv = iris().join("iris_pandas_index.csv");
    let opts = ReadOptions::default().with_exclude(["0", "species"]);
    let whole = read_file(&csv, &opts).unwrap();
    for (out, extra) in [
        ("a.npy", vec![]),
        ("a.parquet", vec![]),
        ("b.npy", vec!["--dtype", "f32"]),
    ] {
        let path = dir.path().join(out);
        gaussmix()
            .arg("convert")
            .arg(&csv)
            .args(["--exclude", "0,species", "--chunk-rows", "7", "-q", "-o"])
            .arg(&path)
            .args(&extra)
            .assert()
            .success();
        let back = read_file(&path, &ReadOptions::default()).unwrap();
        let want: Vec<f64> = if extra.is_empty() {
            whole.values().to_vec()
        } else {
            whole.values().iter().map(|v| *v as f32 as f64).collect()
        };
        assert_eq!(back.values(), want, "{out}");
        assert_eq!(back.n_rows(), 150, "{out}");
        if out.ends_with(".parquet") {
            assert_eq!(back.columns(), whole.columns(), "the names are kept");
        }
    }
    // gzip on stdin, the same values.
    let gz = iris().join("iris.csv.gz");
    let a = dir.path().join("gz.npy");
    gaussmix()
        .args(["convert", "-", "-q", "-o"])
        .arg(&a)
        .write_stdin(std::fs::read(&gz).unwrap())
        .assert()
        .success();
    let want = read_file(&gz, &ReadOptions::default()).unwrap();
    assert_eq!(
        read_file(&a, &ReadOptions::default()).unwrap().values(),
        want.values()
    );
}

/// A Fortran-order .npy (refused by --stream) converts to the C-order file that fit
/// --stream reads, and the streamed fit equals the in-memory fit of the original.
#[test]
fn a_fortran_file_converts_for_fit_stream() {
    let dir = tempfile::tempdir().unwrap();
    let x = read_file(
        fixture("faithful_full").join("X.npy"),
        &ReadOptions::default(),
    )
    .unwrap();
    let (n, d) = (x.n_rows(), x.n_cols());
    let fortran = dir.path().join("f.npy");
    common::write_fortran_npy(&fortran, x.values(), n, d);
    gaussmix()
        .arg("fit")
        .arg(&fortran)
        .args(["-k", "2", "--stream"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("gaussmix convert"));
    let c = dir.path().join("c.npy");
    gaussmix()
        .arg("convert")
        .arg(&fortran)
        .args(["-q", "--chunk-rows", "50", "-o"])
        .arg(&c)
        .assert()
        .success();
    assert_eq!(std::fs::read(&c).unwrap().len(), 128 + n * d * 8);
    let fit = |path: &PathBuf, stream: bool| {
        let mut cmd = gaussmix();
        cmd.arg("fit")
            .arg(path)
            .args(["-k", "2", "-q", "--init-sample", "100"]);
        if stream {
            cmd.arg("--stream");
        }
        String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
    };
    assert_eq!(
        fit(&c, true),
        fit(&fixture("faithful_full").join("X.npy"), false)
    );
}

/// Refusals, and a failed conversion leaves an existing output as it was.
#[test]
fn convert_refuses_and_never_leaves_half_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    let mut text = String::from("a,b\n");
    for i in 0..100 {
        text += &format!("{i},{}\n", i * 2);
    }
    text += "5,oops\n";
    std::fs::write(&csv, &text).unwrap();
    let out = dir.path().join("out.npy");
    std::fs::write(&out, b"old").unwrap();
    gaussmix()
        .arg("convert")
        .arg(&csv)
        .args(["--chunk-rows", "10", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "d.csv: line 102, column 2 (b): \"oops\" is not a number",
        ));
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
    for (args, want) in [
        (vec!["-o", "x.csv"], "writes .npy or .parquet"),
        (vec!["-o", "-"], "binary file"),
        (vec!["-o", "x.npy", "--dtype", "f16"], "--dtype"),
        (vec!["-o", "x.npy", "--chunk-rows", "0"], "--chunk-rows"),
    ] {
        gaussmix()
            .arg("convert")
            .arg(&csv)
            .args(&args)
            .current_dir(dir.path())
            .assert()
            .failure()
            .stderr(predicate::str::contains(want));
    }
    gaussmix()
        .arg("convert")
        .arg(&out)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("data file"));
    // Values beyond float32's range are refused in f32, naming the row.
    let big = dir.path().join("big.csv");
    std::fs::write(&big, "1\n2\n1e300\n").unwrap();
    gaussmix()
        .arg("convert")
        .arg(&big)
        .args(["--dtype", "f32", "-o"])
        .arg(dir.path().join("b.npy"))
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("row 3, column 1").and(predicate::str::contains("float32")),
        );
}

/// Dropped rows are all counted, chunks whose rows were all dropped included.
#[test]
fn convert_counts_every_dropped_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("m.csv");
    std::fs::write(&csv, "a,b\n1,2\nNA,3\n4,\n5,6\n,7\n8,9\n").unwrap();
    let out = dir.path().join("m.npy");
    gaussmix()
        .arg("convert")
        .arg(&csv)
        .args(["--missing", "drop", "--chunk-rows", "1", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stderr(
            predicate::str::contains("3 rows × 2 columns")
                .and(predicate::str::contains("dropped 3 rows")),
        );
}
