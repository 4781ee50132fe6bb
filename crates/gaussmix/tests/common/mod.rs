//! Shared helpers for the integration tests: fixture loading and norm-wise comparison.
#![allow(dead_code)]

pub mod centred;

use std::path::PathBuf;

use gaussmix::{CovarianceType, Covariances};
use ndarray::{Array1, Array2, Array3};
use serde_json::Value;

/// `../shared/fixtures` relative to the repository root. Missing fixtures are a hard
/// failure: a test that silently skips proves nothing.
pub fn fixtures_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("../shared/fixtures");
    assert!(
        dir.join("README.md").is_file(),
        "fixtures folder not found at {} (expected ../shared/fixtures next to the repository root); \
         the reference tests cannot run without it",
        dir.display()
    );
    dir
}

pub const CASES: [&str; 8] = [
    "seed_1d",
    "seed_2d",
    "iris_full",
    "iris_tied",
    "iris_diag",
    "iris_spherical",
    "faithful_full",
    "synthetic_5000x5_full",
];

pub struct Case {
    pub name: String,
    pub json: Value,
    pub x: Array2<f64>,
}

pub fn load(name: &str) -> Case {
    let dir = fixtures_dir().join(name);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let text = std::fs::read_to_string(dir.join("X.csv")).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| v.trim().parse::<f64>().unwrap())
                .collect()
        })
        .collect();
    let (n, d) = (rows.len(), rows[0].len());
    let x = Array2::from_shape_vec((n, d), rows.into_iter().flatten().collect()).unwrap();
    Case {
        name: name.into(),
        json,
        x,
    }
}

pub fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        Value::Bool(b) => vec![if *b { 1.0 } else { 0.0 }],
        other => panic!("not numeric: {other}"),
    }
}

pub fn kind(case: &Case) -> CovarianceType {
    case.json["covariance_type"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub fn vec1(v: &Value) -> Array1<f64> {
    Array1::from_vec(flat(v))
}

pub fn mat(v: &Value, k: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_vec((k, d), flat(v)).unwrap()
}

pub fn covs(kind: CovarianceType, v: &Value, k: usize, d: usize) -> Covariances {
    let f = flat(v);
    match kind {
        CovarianceType::Full => Covariances::Full(Array3::from_shape_vec((k, d, d), f).unwrap()),
        CovarianceType::Tied => Covariances::Tied(Array2::from_shape_vec((d, d), f).unwrap()),
        CovarianceType::Diag => Covariances::Diag(Array2::from_shape_vec((k, d), f).unwrap()),
        CovarianceType::Spherical => Covariances::Spherical(Array1::from_vec(f)),
    }
}

/// Norm-wise comparison from the fixtures README: max|a−b| ≤ rtol·max|b|.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], rtol: f64) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs {}",
        got.len(),
        want.len()
    );
    let scale = want
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= rtol * scale,
        "{what}: max abs error {err:e} exceeds {rtol:e} × {scale:e}\n got  {got:?}\n want {want:?}"
    );
}

/// Applies the kernel forcing a parent test asked for: the forced-kernel tests re-run
/// this binary's tests in child processes with `GAUSSMIX_TEST_KERNELS=<spec>` (test
/// plumbing; the library itself is forced only through `gaussmix::force_kernels`).
/// Without the variable it does nothing.
pub fn force_kernels_for_child() {
    if let Ok(spec) = std::env::var(CHILD_KERNELS) {
        gaussmix::force_kernels(&spec).expect("forced kernels before the first fit");
    }
}

/// The variable a parent test passes its kernel spec to a child in.
pub const CHILD_KERNELS: &str = "GAUSSMIX_TEST_KERNELS";
