//! Arbitrary bytes never panic: the CSV reader, the NPY reader (whole, and chunked
//! through `NpyReader`) and `parse_bytes` return a table of finite numbers or an error.
//! (Moved here from the CLI's tests with the readers.)

use gaussmix::source::ChunkSource;
use gaussmix_io::{parse_bytes, parse_npy, parse_text, NpyReader, ReadOptions};
use proptest::prelude::*;

fn npy_header(descr: &str, fortran: bool, shape: &str) -> Vec<u8> {
    let mut h = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((h.len() as u16).to_le_bytes());
    b.extend(h.as_bytes());
    b
}

/// Reads `b` in chunks of `rows` rows in f64 then f32, until the end or an error.
fn drain_chunks(b: &[u8], rows: usize) {
    if let Ok(mut r) = NpyReader::new(std::io::Cursor::new(b), "fuzz") {
        let d = r.n_features();
        assert!(d >= 1);
        let mut buf = vec![0.0; rows * d];
        let mut buf32 = vec![0.0f32; rows * d];
        for i in 0.. {
            let got = if i % 2 == 0 {
                r.next_chunk(&mut buf)
            } else {
                r.next_chunk_f32(&mut buf32)
            };
            match got {
                Ok(0) | Err(_) => break,
                Ok(n) => assert!(n <= rows),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for d in [',', '\t', ' ', ';'] {
                if let Ok(t) = parse_text(text, d, "fuzz") {
                    prop_assert_eq!(t.values().len(), t.n_rows() * t.n_cols());
                    prop_assert!(t.values().iter().all(|v| v.is_finite()));
                }
            }
        }
        let _ = parse_bytes(&bytes, "fuzz", &ReadOptions::default());
    }

    #[test]
    fn csv_reader_on_numberish_text(cells in prop::collection::vec(prop::collection::vec("[-+0-9.eEnaif ]{0,6}", 1..4), 0..8)) {
        let text: String = cells.iter().map(|r| r.join(",") + "\n").collect();
        if let Ok(t) = parse_text(&text, ',', "fuzz") {
            prop_assert!(t.values().iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn npy_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_npy(&bytes, "fuzz");
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend(&bytes);
        let _ = parse_npy(&b, "fuzz");
        let _ = parse_bytes(&b, "fuzz", &ReadOptions::default());
        drain_chunks(&b, 3);
    }

    #[test]
    fn npy_reader_with_valid_headers(
        descr in prop::sample::select(vec!["<f8", ">f8", "<f4", ">f4", "<i4", "|u1"]),
        fortran in any::<bool>(),
        n in 0usize..5, d in 0usize..4,
        body in prop::collection::vec(any::<u8>(), 0..200),
        rows in 1usize..4,
    ) {
        let mut b = npy_header(descr, fortran, &format!("({n}, {d})"));
        b.extend(&body);
        if let Ok(t) = parse_npy(&b, "fuzz") {
            prop_assert_eq!(t.values().len(), n * d);
            prop_assert!(t.values().iter().all(|v| v.is_finite()));
        }
        drain_chunks(&b, rows);
    }
}

/// Parquet and Feather files with bytes overwritten: a table or an error, never a
/// panic (the decoders' own panics on corrupt input are caught too).
#[cfg(feature = "parquet")]
mod columnar {
    use super::*;
    use gaussmix_io::{write_parquet, ParquetColumn};

    fn parquet_file() -> Vec<u8> {
        let xs: Vec<f64> = (0..50).map(|i| i as f64 * 0.5).collect();
        let ys: Vec<Option<i64>> = (0..50).map(|i| (i % 7 != 0).then_some(i)).collect();
        let mut out = Vec::new();
        write_parquet(
            &mut out,
            &[
                ("x", ParquetColumn::F64(&xs)),
                ("y", ParquetColumn::OptI64(&ys)),
            ],
        )
        .unwrap();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn corrupt_columnar_files_never_panic(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let pandas = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pandas.parquet")).unwrap();
            for mut b in [parquet_file(), pandas] {
                for (at, byte) in &edits {
                    let i = at.index(b.len());
                    b[i] = *byte;
                }
                let name = if b.starts_with(b"PAR1") { "f.parquet" } else { "f.feather" };
                let drop = ReadOptions::default().with_missing(gaussmix_io::Missing::Drop).with_keep(["0"]);
                if let Ok(t) = parse_bytes(&b, name, &drop) {
                    prop_assert!(t.values().iter().all(|v| v.is_finite()));
                }
                let _ = parse_bytes(&b[..cut.index(b.len())], name, &ReadOptions::default());
            }
        }
    }
}
