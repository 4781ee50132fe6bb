//! Bad input, table-driven: every case must exit non-zero with a message naming the
//! problem, never panic, and leave an existing output file untouched.

use assert_cmd::Command;

const GOOD_DATA: &str = "1,2\n1.5,2.5\n0.5,1.5\n8,9\n8.5,9.5\n7.5,8.5\n";
const PRECIOUS: &str = "precious contents that must survive\n";

fn model(weights: &str, means: &str, cov: &str, extra: &str) -> String {
    format!(
        r#"{{"covariance_type": "full", "weights": {weights}, "means": {means}, "covariances": {cov}{extra}}}"#
    )
}

fn good_model() -> String {
    model(
        "[0.5, 0.5]",
        "[[1, 2], [8, 9]]",
        "[[[1, 0], [0, 1]], [[1, 0], [0, 1]]]",
        "",
    )
}

fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((h.len() as u16).to_le_bytes());
    b.extend(h.as_bytes());
    b.extend(body);
    b
}

struct Case {
    name: &'static str,
    /// Files to create: (name, contents).
    files: Vec<(&'static str, Vec<u8>)>,
    /// Arguments; `@x` is the path of file `x` in the case's folder.
    args: &'static str,
    code: i32,
    /// Every one of these must appear in stderr.
    words: &'static [&'static str],
}

fn case(
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    args: &'static str,
    code: i32,
    words: &'static [&'static str],
) -> Case {
    Case {
        name,
        files,
        args,
        code,
        words,
    }
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn cases() -> Vec<Case> {
    let data = || ("d.csv", b(GOOD_DATA));
    let m = |text: String| ("m.json", text.into_bytes());
    vec![
        // --- data files
        case("empty file", vec![("d.csv", b(""))], "fit @d.csv -k 1 -o @out", 1, &["empty"]),
        case("blank lines only", vec![("d.csv", b("\n \n\n"))], "fit @d.csv -k 1 -o @out", 1, &["empty"]),
        case("header only", vec![("d.csv", b("a,b\n"))], "fit @d.csv -k 1 -o @out", 1, &["header but no data rows"]),
        case("non-numeric cell", vec![("d.csv", b("a,b\n1,2\n3,x7\n"))], "fit @d.csv -k 1 -o @out", 1, &["d.csv", "line 3, column 2", "\"x7\" is not a number"]),
        case("ragged row", vec![("d.csv", b("1,2\n3,4,5\n"))], "fit @d.csv -k 1 -o @out", 1, &["line 2 has 3 fields", "expected 2"]),
        case("NaN cell", vec![("d.csv", b("1,2\nNaN,4\n"))], "fit @d.csv -k 1 -o @out", 1, &["line 2, column 1", "not a finite number"]),
        case("inf cell", vec![("d.csv", b("1,2\n3,inf\n"))], "fit @d.csv -k 1 -o @out", 1, &["line 2, column 2", "not a finite"]),
        case("-inf cell", vec![("d.csv", b("1,2\n3,-inf\n")), m(good_model())], "predict @m.json @d.csv -o @out", 1, &["line 2, column 2", "not a finite"]),
        case("empty cell", vec![("d.csv", b("1,2\n3,\n"))], "fit @d.csv -k 1 -o @out", 1, &["line 2, column 2", "not a number"]),
        case("fewer samples than components", vec![data()], "fit @d.csv -k 7 -o @out", 1, &["6 samples", "n_components = 7"]),
        case("single sample, two components", vec![("d.csv", b("1,2\n"))], "fit @d.csv -k 2 -o @out", 1, &["1 samples", "n_components = 2"]),
        case("binary garbage", vec![("d.csv", vec![0xff, 0xfe, 0x00, 0x12, 0x80, 0x81])], "fit @d.csv -k 1 -o @out", 1, &["not a text file"]),
        case("npy truncated", vec![("d.npy", npy("<f8", "(10, 2)", &[0u8; 24]))], "fit @d.npy -k 1 -o @out", 1, &["shape (10, 2)", "truncated"]),
        case("npy bad magic", vec![("d.npy", b("not numpy at all"))], "fit @d.npy -k 1 -o @out", 1, &["not a valid .npy"]),
        case("npy 3-D", vec![("d.npy", npy("<f8", "(1, 1, 1)", &[0u8; 8]))], "fit @d.npy -k 1 -o @out", 1, &["3 dimensions"]),
        case("npy integer dtype", vec![("d.npy", npy("<i8", "(1, 1)", &[0u8; 8]))], "fit @d.npy -k 1 -o @out", 1, &["unsupported dtype", "float64"]),
        case("npy NaN", vec![("d.npy", npy("<f8", "(1, 1)", &f64::NAN.to_le_bytes()))], "fit @d.npy -k 1 -o @out", 1, &["row 1, column 1", "NaN"]),
        case("missing data file", vec![], "fit @nope.csv -k 1 -o @out", 1, &["cannot read data file", "nope.csv"]),
        case("data file is a directory", vec![], "fit @. -k 1 -o @out", 1, &["cannot read data file"]),
        case("values overflow when squared", vec![("d.csv", b("1e300,1\n-1e300,2\n5,3\n"))], "fit @d.csv -k 1 -o @out", 1, &["column 0", "overflow", "rescale"]),
        // --- output paths
        case("output in a missing directory", vec![data()], "fit @d.csv -k 2 -o @missing/dir/m.json", 1, &["does not exist"]),
        case("plot with unknown extension", vec![data()], "fit @d.csv -k 2 -o @out --plot @fig.pdf", 2, &[".png or .svg"]),
        case("plot in a missing directory", vec![data(), m(good_model())], "plot @m.json @d.csv -o @nowhere/f.png", 1, &["does not exist"]),
        // --- options
        case("k = 0", vec![data()], "fit @d.csv -k 0 -o @out", 2, &["-k", "at least 1"]),
        case("negative tol", vec![data()], "fit @d.csv -k 1 --tol -1 -o @out", 2, &["--tol", "≥ 0"]),
        case("negative reg_covar", vec![data()], "fit @d.csv -k 1 --reg-covar -0.5 -o @out", 2, &["--reg-covar", "≥ 0"]),
        case("max_iter = 0", vec![data()], "fit @d.csv -k 1 --max-iter 0 -o @out", 2, &["--max-iter", "at least 1"]),
        case("n_init = 0", vec![data()], "fit @d.csv -k 1 --n-init 0 -o @out", 2, &["--n-init", "at least 1"]),
        case("threads = 0", vec![data()], "fit @d.csv -k 1 --threads 0 -o @out", 2, &["--threads", "between 1 and"]),
        case("absurd thread count", vec![data()], "fit @d.csv -k 1 --threads 100000000 -o @out", 2, &["--threads"]),
        case("unknown covariance type", vec![data()], "fit @d.csv -k 1 --covariance fullish -o @out", 2, &["fullish", "full, tied, diag, spherical"]),
        case("unknown init", vec![data()], "fit @d.csv -k 1 --init magic -o @out", 2, &["magic", "kmeans++"]),
        case("negative variance floor", vec![data()], "fit @d.csv -k 1 --variance-floor -1 -o @out", 2, &["--variance-floor"]),
        case("missing -k", vec![data()], "fit @d.csv -o @out", 2, &["-k"]),
        case("k not a number", vec![data()], "fit @d.csv -k two -o @out", 2, &["invalid value"]),
        case("unknown column", vec![("d.csv", b("a,b\n1,2\n3,4\n"))], "fit @d.csv -k 1 --columns a,zz -o @out", 2, &["no column \"zz\"", "a, b"]),
        case("bad delimiter", vec![data()], "fit @d.csv -k 1 --delimiter ab -o @out", 2, &["--delimiter"]),
        case("weights file with wrong count", vec![data(), ("w.txt", b("1\n2\n"))], "fit @d.csv -k 1 --weights @w.txt -o @out", 1, &["expected 6 weights"]),
        case("negative sample weight", vec![data(), ("w.txt", b("1\n1\n1\n-1\n1\n1\n"))], "fit @d.csv -k 1 --weights @w.txt -o @out", 1, &["sample weight -1", "row 3"]),
        case("all-zero weights", vec![data(), ("w.txt", b("0\n0\n0\n0\n0\n0\n"))], "fit @d.csv -k 1 --weights @w.txt -o @out", 1, &["all sample weights are zero"]),
        case("init model disagrees with -k", vec![data(), m(good_model())], "fit @d.csv -k 3 --init-model @m.json -o @out", 2, &["-k 3", "2 components"]),
        case("select: bad k range", vec![data()], "select @d.csv --k 5..2 -o @out", 2, &["--k"]),
        case("select: unknown criterion", vec![data()], "select @d.csv --criterion bicc -o @out", 2, &["bicc", "bic, aic or icl"]),
        case("select: every candidate fails", vec![data()], "select @d.csv --k 7..9 -o @out", 1, &["every candidate failed"]),
        case("unknown subcommand", vec![], "frobnicate", 2, &["unrecognized subcommand"]),
        // --- model files
        case("missing model file", vec![data()], "predict @nope.json @d.csv -o @out", 1, &["cannot read model file", "nope.json"]),
        case("model not JSON", vec![data(), m("this is not json".into())], "predict @m.json @d.csv -o @out", 1, &["not a gaussmix model file"]),
        case("model missing field", vec![data(), m(r#"{"covariance_type": "full", "weights": [1.0]}"#.into())], "predict @m.json @d.csv -o @out", 1, &["missing field `means`"]),
        case("model weights do not sum to 1", vec![data(), m(model("[0.5, 0.6]", "[[1, 2], [8, 9]]", "[[[1, 0], [0, 1]], [[1, 0], [0, 1]]]", ""))], "predict @m.json @d.csv -o @out", 1, &["sum to 1.1"]),
        case("model negative weight", vec![data(), m(model("[-0.5, 1.5]", "[[1, 2], [8, 9]]", "[[[1, 0], [0, 1]], [[1, 0], [0, 1]]]", ""))], "score @m.json @d.csv -o @out", 1, &["weight 0 is -0.5"]),
        case("model covariance not PD", vec![data(), m(model("[0.5, 0.5]", "[[1, 2], [8, 9]]", "[[[1, 2], [2, 1]], [[1, 0], [0, 1]]]", ""))], "predict @m.json @d.csv -o @out", 1, &["component 0", "not positive definite"]),
        case("model covariance not symmetric", vec![data(), m(model("[0.5, 0.5]", "[[1, 2], [8, 9]]", "[[[1, 0.5], [0, 1]], [[1, 0], [0, 1]]]", ""))], "predict @m.json @d.csv -o @out", 1, &["not symmetric"]),
        case("model unknown covariance type", vec![data(), m(r#"{"covariance_type": "banana", "weights": [1.0], "means": [[1, 2]], "covariances": [[[1, 0], [0, 1]]]}"#.into())], "predict @m.json @d.csv -o @out", 1, &["banana", "full"]),
        case("model from the future", vec![data(), m(model("[0.5, 0.5]", "[[1, 2], [8, 9]]", "[[[1, 0], [0, 1]], [[1, 0], [0, 1]]]", r#", "version": 99"#))], "predict @m.json @d.csv -o @out", 1, &["version 99", "upgrade"]),
        case("model means and weights disagree", vec![data(), m(model("[0.5, 0.5]", "[[1, 2]]", "[[[1, 0], [0, 1]]]", ""))], "predict @m.json @d.csv -o @out", 1, &["means has 1 rows", "2 weights"]),
        case("model ragged covariance", vec![data(), m(model("[0.5, 0.5]", "[[1, 2], [8, 9]]", "[[[1, 0], [0]], [[1, 0], [0, 1]]]", ""))], "predict @m.json @d.csv -o @out", 1, &["covariances[0][1] has 1 values", "expected 2"]),
        case("model number out of range", vec![data(), m(model("[0.5, 0.5]", "[[1e999, 2], [8, 9]]", "[[[1, 0], [0, 1]], [[1, 0], [0, 1]]]", ""))], "predict @m.json @d.csv -o @out", 1, &["not a gaussmix model file"]),
        case("model n_features disagrees with means", vec![data(), m(model("[0.5, 0.5]", "[[1, 2], [8, 9]]", "[[[1, 0], [0, 1]], [[1, 0], [0, 1]]]", r#", "n_features": 3"#))], "predict @m.json @d.csv -o @out", 1, &["n_features is 3", "2 columns"]),
        case("data has other features than the model", vec![("d.csv", b("1,2,3\n4,5,6\n")), m(good_model())], "score @m.json @d.csv -o @out", 1, &["3 columns", "2 features"]),
        case("sample from a broken model", vec![m("{}".into())], "sample @m.json -n 5 -o @out", 1, &["missing field"]),
        case("predict stdin garbage", vec![m(good_model())], "predict @m.json - -o @out", 1, &["<stdin>", "empty"]),
    ]
}

#[test]
fn every_bad_input_is_refused_cleanly() {
    let all = cases();
    assert!(
        all.len() >= 30,
        "the suite must cover at least 30 bad inputs"
    );
    for c in all {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &c.files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let out = dir.path().join("out");
        std::fs::write(&out, PRECIOUS).unwrap();
        let args: Vec<String> = c
            .args
            .split_whitespace()
            .map(|a| match a.strip_prefix('@') {
                Some(rest) => dir.path().join(rest).to_string_lossy().into_owned(),
                None => a.to_string(),
            })
            .collect();
        let res = Command::cargo_bin("gaussmix")
            .unwrap()
            .args(&args)
            .write_stdin("")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(
            res.status.code(),
            Some(c.code),
            "{}: exit code; stderr: {stderr}",
            c.name
        );
        assert!(
            !stderr.contains("panicked"),
            "{}: panicked: {stderr}",
            c.name
        );
        for w in c.words {
            assert!(
                stderr.contains(w),
                "{}: stderr lacks {w:?}: {stderr}",
                c.name
            );
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            PRECIOUS,
            "{}: output file touched",
            c.name
        );
        // No temporary files are left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".gaussmix-"))
            .collect();
        assert!(leftovers.is_empty(), "{}: temporary files left", c.name);
    }
}

/// Hard but valid data: a finite fit (every number in the model file finite) or a clear
/// refusal, never NaN.
#[test]
fn hard_but_valid_data_gets_a_finite_fit() {
    let mut rows_scale = String::new();
    let mut rows_offset = String::new();
    for i in 0..60 {
        let t = i as f64 / 60.0;
        rows_scale += &format!(
            "{},{}\n",
            (t * 7.0).sin() * 1e-10,
            (1.0 + (i % 2) as f64 * 9.0 + t) * 1e10
        );
        rows_offset += &format!(
            "{},{}\n",
            1e9 + 0.01 * (t * 13.0).sin(),
            1e9 - 0.01 * (t * 5.0).cos() + (i % 2) as f64 * 0.05
        );
    }
    let distinct: String = (0..40)
        .map(|i| format!("{},{}\n", i % 4, (i % 4) * (i % 4)))
        .collect();
    // Six features: the product kernels (and, with --dtype f32, the anchored f32 kernel).
    let wide_offset: String = (0..80)
        .map(|i| {
            let t = i as f64 / 80.0;
            (0..6)
                .map(|j| {
                    format!(
                        "{}",
                        1e7 + (i % 3) as f64 * 0.5 + 0.01 * (t * (j + 3) as f64).sin()
                    )
                })
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    let wide_constant: String = (0..80)
        .map(|i| {
            let t = i as f64 / 80.0;
            format!(
                "{},{},7,{},{},-2\n",
                (t * 9.0).sin() + (i % 2) as f64 * 8.0,
                (t * 4.0).cos(),
                (t * 17.0).sin() * 1e-6,
                (i % 2) as f64 * 3.0
            )
        })
        .collect();
    let cases: Vec<(&str, String, &str)> = vec![
        ("identical points", "3,4\n".repeat(30), "-k 2"),
        (
            "constant column",
            (0..40)
                .map(|i| format!("{},5\n", (i as f64 * 0.7).sin() + (i % 2) as f64 * 6.0))
                .collect(),
            "-k 2",
        ),
        ("20 orders of magnitude", rows_scale, "-k 2"),
        ("huge offset", rows_offset, "-k 2"),
        ("k = distinct points", distinct, "-k 4"),
        ("single sample", "1,2\n".into(), "-k 1"),
        (
            "duplicated rows",
            "1,2\n1,2\n1,2\n5,5\n5,5\n5,6\n".into(),
            "-k 2",
        ),
        (
            "values near 1e300 but close together",
            "1e300,1\n1e300,2\n1.0000000001e300,3\n".into(),
            "-k 1",
        ),
        ("6-D, huge offset", wide_offset, "-k 3"),
        ("6-D, constant columns", wide_constant, "-k 3"),
        ("6-D, identical points", "1,2,3,4,5,6\n".repeat(30), "-k 2"),
    ];
    for (name, text, k) in cases {
        for (cov, recover, dtype) in ["full", "tied", "diag", "spherical"]
            .into_iter()
            .flat_map(|c| [(c, false), (c, true)])
            .flat_map(|(c, r)| [(c, r, "f64"), (c, r, "f32")])
        {
            {
                let dir = tempfile::tempdir().unwrap();
                let d = dir.path().join("d.csv");
                std::fs::write(&d, &text).unwrap();
                let mut cmd = Command::cargo_bin("gaussmix").unwrap();
                cmd.arg("fit").arg(&d).args(k.split_whitespace()).args([
                    "--covariance",
                    cov,
                    "--quiet",
                    "--n-init",
                    "2",
                    "--dtype",
                    dtype,
                ]);
                if recover {
                    cmd.arg("--recover");
                }
                // f32: every full-covariance fit through the anchored kernel, which
                // these small problems would otherwise not use.
                cmd.env("GAUSSMIX_F32_FULL", "anchored");
                let res = cmd.output().unwrap();
                let stderr = String::from_utf8_lossy(&res.stderr);
                assert!(!stderr.contains("panicked"), "{name} {cov}: {stderr}");
                if res.status.success() {
                    let v: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
                    let text = v.to_string();
                    assert!(
                        !text.contains("null") || text.contains("\"variance_floor\":null"),
                        "{name} {cov}: {text}"
                    );
                    for key in ["weights", "means", "covariances"] {
                        let mut stack = vec![&v[key]];
                        while let Some(x) = stack.pop() {
                            match x {
                                serde_json::Value::Array(a) => stack.extend(a.iter()),
                                serde_json::Value::Number(n) => {
                                    assert!(n.as_f64().unwrap().is_finite())
                                }
                                other => panic!("{name} {cov}: {key} holds {other}"),
                            }
                        }
                    }
                    assert!(
                        v["fit"]["score"].as_f64().unwrap().is_finite(),
                        "{name} {cov}"
                    );
                } else {
                    assert_eq!(res.status.code(), Some(1), "{name} {cov}: {stderr}");
                    assert!(stderr.starts_with("error: "), "{name} {cov}: {stderr}");
                }
            }
        }
    }
}

#[test]
fn a_failed_write_leaves_the_old_file() {
    // The model is written only after a successful fit; a failing fit keeps the old one.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    std::fs::write(&out, PRECIOUS).unwrap();
    let d = dir.path().join("d.csv");
    std::fs::write(&d, "1,2\n1,2\n").unwrap();
    Command::cargo_bin("gaussmix")
        .unwrap()
        .arg("fit")
        .arg(&d)
        .args(["-k", "2", "--reg-covar", "0", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), PRECIOUS);
    // And a successful one replaces it whole, keeping its permissions.
    std::fs::write(&d, GOOD_DATA).unwrap();
    Command::cargo_bin("gaussmix")
        .unwrap()
        .arg("fit")
        .arg(&d)
        .args(["-k", "2", "--quiet", "-o"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("gaussmix-model"));
}

/// Regression: `-o /dev/null` once renamed a temporary file over the device (as root
/// that succeeds), leaving a regular file that later reads of /dev/null returned.
/// Special files are written in place; symbolic links stay links.
#[cfg(unix)]
#[test]
fn special_files_and_links_are_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d.csv");
    std::fs::write(&d, GOOD_DATA).unwrap();
    Command::cargo_bin("gaussmix")
        .unwrap()
        .arg("fit")
        .arg(&d)
        .args(["-k", "2", "--quiet", "-o", "/dev/null"])
        .assert()
        .success();
    Command::cargo_bin("gaussmix")
        .unwrap()
        .arg("sample")
        .arg("/dev/null")
        .args(["-n", "1"])
        .assert()
        .code(1);
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "/dev/null was replaced by a regular file"
    );

    let real = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    std::fs::write(&real, PRECIOUS).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    Command::cargo_bin("gaussmix")
        .unwrap()
        .arg("fit")
        .arg(&d)
        .args(["-k", "2", "--quiet", "-o"])
        .arg(&link)
        .assert()
        .success();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("gaussmix-model"));
}
