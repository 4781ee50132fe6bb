//! `NpyRows`: the positioned-read NPY reader streamed fits use. Rows read by position
//! equal the whole-file reader's, in f64 and f32, little- and big-endian; bad values
//! and unstreamable layouts are errors that say where and what to do.

use gaussmix::source::RowReader;
use gaussmix_io::{read_npy, NpyRows};

/// An NPY file of `values` (row-major, `rows × cols`) with the given dtype and order.
fn npy(values: &[f64], rows: usize, cols: usize, descr: &str, fortran: bool) -> Vec<u8> {
    let header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': ({rows}, {cols}), }}",
        if fortran { "True" } else { "False" }
    );
    let mut h = header.into_bytes();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h);
    let order: Vec<f64> = if fortran {
        (0..cols)
            .flat_map(|j| (0..rows).map(move |i| values[i * cols + j]))
            .collect()
    } else {
        values.to_vec()
    };
    for v in order {
        match descr {
            "<f8" => out.extend(v.to_le_bytes()),
            ">f8" => out.extend(v.to_be_bytes()),
            "<f4" => out.extend((v as f32).to_le_bytes()),
            ">f4" => out.extend((v as f32).to_be_bytes()),
            _ => unreachable!(),
        }
    }
    out
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn rows_read_by_position_equal_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (1000, 3);
    let values: Vec<f64> = (0..n * d)
        .map(|i| (i as f64 * 0.37).sin() * 100.0)
        .collect();
    for descr in ["<f8", ">f8", "<f4", ">f4"] {
        let p = write(dir.path(), "x.npy", &npy(&values, n, d, descr, false));
        let rows = NpyRows::open(&p).unwrap();
        assert_eq!(rows.shape(), (n, d));
        assert_eq!(RowReader::is_f32(&rows), descr.ends_with('4'));
        let whole = read_npy(&p).unwrap();
        // Any range, in any order, from several threads at once.
        std::thread::scope(|s| {
            for (a, b) in [(0, 1), (998, 1000), (17, 530), (0, 1000), (400, 401)] {
                let (rows, whole) = (&rows, &whole);
                s.spawn(move || {
                    let mut buf = vec![0.0; (b - a) * d];
                    rows.read_f64(a, b, &mut buf).unwrap();
                    assert_eq!(buf, whole.values()[a * d..b * d], "{descr} {a}..{b}");
                    let mut buf32 = vec![0.0f32; (b - a) * d];
                    rows.read_f32(a, b, &mut buf32).unwrap();
                    let want: Vec<f32> = whole.values()[a * d..b * d]
                        .iter()
                        .map(|v| *v as f32)
                        .collect();
                    assert_eq!(buf32, want);
                });
            }
        });
        // Rows past the end, or a buffer of the wrong size, are errors, not panics.
        let mut buf = vec![0.0; 2 * d];
        assert!(rows.read_f64(999, 1001, &mut buf).is_err());
        assert!(rows.read_f64(0, 1, &mut buf).is_err());
    }
}

#[test]
fn bad_values_and_unstreamable_files_are_errors_that_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut values: Vec<f64> = (0..40).map(|i| i as f64).collect();
    values[2 * 4 + 3] = f64::INFINITY;
    let p = write(dir.path(), "inf.npy", &npy(&values, 10, 4, "<f8", false));
    let rows = NpyRows::open(&p).unwrap();
    let mut buf = vec![0.0; 4 * 4];
    // Rows 0..2 are fine; row 3 (1-based), column 4 holds inf.
    rows.read_f64(0, 2, &mut buf[..8]).unwrap();
    let e = rows.read_f64(0, 4, &mut buf).unwrap_err().to_string();
    assert!(
        e.contains("inf.npy") && e.contains("row 3, column 4"),
        "{e}"
    );

    let p = write(dir.path(), "f.npy", &npy(&values, 10, 4, "<f8", true));
    let e = NpyRows::open(&p).unwrap_err().to_string();
    assert!(
        e.contains("Fortran-order") && e.contains("ascontiguousarray"),
        "{e}"
    );

    // Truncated after the header was checked: the read fails, naming the file.
    let p = write(dir.path(), "t.npy", &npy(&values[..20], 5, 4, "<f8", false));
    let rows = NpyRows::open(&p).unwrap();
    let full = std::fs::read(&p).unwrap();
    std::fs::write(&p, &full[..full.len() - 16]).unwrap();
    let mut buf = vec![0.0; 20];
    let e = rows.read_f64(0, 5, &mut buf).unwrap_err().to_string();
    assert!(e.contains("t.npy"), "{e}");
}
