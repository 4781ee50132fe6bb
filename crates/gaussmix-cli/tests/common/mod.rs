//! Helpers shared by the end-to-end test files that include this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `gaussmix` binary under test.
pub fn gaussmix() -> Command {
    Command::cargo_bin("gaussmix").unwrap()
}

/// A fixture case's folder in `../shared/fixtures` (the tests need it beside the repo).
pub fn fixture(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    assert!(
        dir.join("README.md").is_file(),
        "fixtures folder not found at {}: the end-to-end tests need ../shared/fixtures next to the repository",
        dir.display()
    );
    dir.join(name)
}

/// Writes `values` (row-major, `n × d`) as a Fortran-order float64 `.npy` file, as
/// `np.save(path, np.asfortranarray(x))` does.
pub fn write_fortran_npy(path: &Path, values: &[f64], n: usize, d: usize) {
    let mut body = Vec::with_capacity(n * d * 8);
    for j in 0..d {
        for i in 0..n {
            body.extend_from_slice(&values[i * d + j].to_le_bytes());
        }
    }
    let dict = format!("{{'descr': '<f8', 'fortran_order': True, 'shape': ({n}, {d}), }}");
    let mut head = format!("{dict:<117}").into_bytes();
    head.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(head.len() as u16).to_le_bytes());
    bytes.extend(head);
    bytes.extend(body);
    std::fs::write(path, bytes).unwrap();
}
