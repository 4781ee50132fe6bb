//! The chunk sources yield exactly what the whole-file readers read: same values (bit
//! for bit), same shape, same names, same errors; for every NPY dtype and order, CSV,
//! chunk sizes of one row up, buffers that are not whole rows, and f64 and f32 reads
//! mixed.

use std::path::{Path, PathBuf};

use gaussmix::source::{read_all, read_all_f32, ChunkSource};
use gaussmix_io::{
    parse_text, read_file, read_npy, read_npy_f32, FileSource, NpyReader, ReadOptions, TableSource,
};
use proptest::prelude::*;

fn npy(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
    let mut h = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
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

/// The bytes of `values` (row-major `n × d`) as an NPY file of the given dtype and
/// order.
fn npy_of(values: &[f64], n: usize, d: usize, descr: &str, fortran: bool) -> Vec<u8> {
    let order: Vec<f64> = if fortran {
        (0..d)
            .flat_map(|j| (0..n).map(move |i| values[i * d + j]))
            .collect()
    } else {
        values.to_vec()
    };
    let body: Vec<u8> = order
        .iter()
        .flat_map(|v| match descr {
            "<f8" => v.to_le_bytes().to_vec(),
            ">f8" => v.to_be_bytes().to_vec(),
            "<f4" => (*v as f32).to_le_bytes().to_vec(),
            ">f4" => (*v as f32).to_be_bytes().to_vec(),
            _ => unreachable!(),
        })
        .collect();
    npy(descr, fortran, &format!("({n}, {d})"), &body)
}

fn values(n: usize, d: usize, seed: u64) -> Vec<f64> {
    (0..n * d)
        .map(|k| {
            let x = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15 ^ seed);
            (x >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0
        })
        .collect()
}

struct TempFile(PathBuf);

impl TempFile {
    fn new(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> Self {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        TempFile(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

/// Drains `source` with room for `rows` rows plus `extra` values (< one row, never
/// filled), alternating f64 and f32 reads when `mixed`; returns the values in f64.
fn drain<S: ChunkSource>(source: &mut S, rows: usize, extra: usize, mixed: bool) -> Vec<f64>
where
    S::Error: std::fmt::Debug,
{
    let d = source.n_features();
    let mut out = Vec::new();
    let mut buf = vec![f64::NAN; rows * d + extra];
    let mut buf32 = vec![f32::NAN; rows * d + extra];
    for call in 0.. {
        let hint = source.n_rows_hint();
        let got = if mixed && call % 2 == 1 {
            let got = source.next_chunk_f32(&mut buf32).unwrap();
            out.extend(buf32[..got * d].iter().map(|v| *v as f64));
            got
        } else {
            let got = source.next_chunk(&mut buf).unwrap();
            out.extend_from_slice(&buf[..got * d]);
            got
        };
        assert!(got <= rows);
        if let Some(h) = hint {
            assert_eq!(got, rows.min(h), "a file source fills the buffer");
        }
        if got == 0 {
            assert_eq!(
                source.next_chunk(&mut buf).unwrap(),
                0,
                "the end stays the end"
            );
            break;
        }
    }
    out
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn npy_sources_match_the_whole_file_readers() {
    let dir = tempfile::tempdir().unwrap();
    for descr in ["<f8", ">f8", "<f4", ">f4"] {
        for fortran in [false, true] {
            for (n, d) in [(1, 1), (7, 1), (23, 3), (10, 4), (50, 2)] {
                let v = values(n, d, n as u64 * 31 + d as u64);
                let f = TempFile::new(&dir, "x.npy", &npy_of(&v, n, d, descr, fortran));
                let whole = read_npy(f.path()).unwrap();
                assert_eq!((whole.n_rows(), whole.n_cols()), (n, d));
                let whole32 = read_npy_f32(f.path()).unwrap();
                assert_eq!(
                    whole32.values,
                    whole.values().iter().map(|v| *v as f32).collect::<Vec<_>>(),
                    "{descr} fortran={fortran}: f32 is f64 rounded"
                );
                for rows in [1, 2, 3, 5, 8, 64] {
                    for extra in [0, d - 1] {
                        for mixed in [false, true] {
                            let mut r = NpyReader::open(f.path()).unwrap();
                            assert_eq!(r.n_rows_hint(), Some(n));
                            assert_eq!(r.feature_names(), None);
                            let got = drain(&mut r, rows, extra, mixed);
                            let want: Vec<f64> = if mixed {
                                // Odd calls went through f32.
                                let d_rows = whole.values().chunks(d).collect::<Vec<_>>();
                                d_rows
                                    .chunks(rows)
                                    .enumerate()
                                    .flat_map(|(c, chunk)| {
                                        chunk.iter().flat_map(move |row| {
                                            row.iter().map(move |v| {
                                                if c % 2 == 1 {
                                                    *v as f32 as f64
                                                } else {
                                                    *v
                                                }
                                            })
                                        })
                                    })
                                    .collect()
                            } else {
                                whole.values().to_vec()
                            };
                            assert_eq!(
                                bits(&got),
                                bits(&want),
                                "{descr} fortran={fortran} {n}x{d} rows={rows} extra={extra} mixed={mixed}"
                            );
                        }
                    }
                }
                let all =
                    read_all(&mut FileSource::open(f.path(), &ReadOptions::default()).unwrap())
                        .unwrap();
                assert_eq!((all.n_rows, all.n_features), (n, d));
                assert_eq!(bits(&all.values), bits(whole.values()));
                let all32 = read_all_f32(&mut NpyReader::open(f.path()).unwrap()).unwrap();
                assert_eq!(all32.values, whole32.values);
            }
        }
    }
}

#[test]
fn f4_data_reads_as_f32_without_rounding_twice() {
    let dir = tempfile::tempdir().unwrap();
    let v: Vec<f64> = [0.1f32, 1e-30, 3.4e38, -7.25]
        .iter()
        .map(|x| *x as f64)
        .collect();
    let f = TempFile::new(&dir, "x.npy", &npy_of(&v, 2, 2, "<f4", false));
    let mut r = NpyReader::open(f.path()).unwrap();
    assert!(r.is_f32());
    let mut buf = [0.0f32; 4];
    assert_eq!(r.next_chunk_f32(&mut buf).unwrap(), 2);
    assert_eq!(buf, [0.1f32, 1e-30, 3.4e38, -7.25]);
}

#[test]
fn npy_errors_are_the_same_whole_or_chunked() {
    let dir = tempfile::tempdir().unwrap();
    for fortran in [false, true] {
        let mut v = values(9, 3, 5);
        v[7 * 3 + 2] = f64::INFINITY; // row 8, column 3
        let f = TempFile::new(&dir, "bad.npy", &npy_of(&v, 9, 3, "<f8", fortran));
        let whole = read_npy(f.path()).unwrap_err().to_string();
        assert!(whole.ends_with("bad.npy: row 8, column 3 (1-based) is inf; remove or impute missing and infinite values"), "{whole}");
        for rows in [1, 2, 4, 100] {
            let mut r = NpyReader::open(f.path()).unwrap();
            let mut buf = vec![0.0; rows * 3];
            let e = loop {
                match r.next_chunk(&mut buf) {
                    Ok(0) => panic!("no error"),
                    Ok(_) => {}
                    Err(e) => break e.to_string(),
                }
            };
            assert_eq!(e, whole, "rows={rows}");
            assert_eq!(r.next_chunk(&mut buf).unwrap(), 0, "nothing after an error");
        }
        let e = read_all(&mut NpyReader::open(f.path()).unwrap()).unwrap_err();
        assert_eq!(e.to_string(), whole);
        assert!(matches!(e, gaussmix::GmmError::Source { .. }));
    }
    // A value beyond f32's range: an error in f32 only, at the same place either way.
    let v = vec![1.0, 2.0, 3.0, 1e300];
    let f = TempFile::new(&dir, "big.npy", &npy_of(&v, 2, 2, "<f8", false));
    let whole = read_npy_f32(f.path()).unwrap_err().to_string();
    assert!(
        whole.contains("row 2, column 2 (1-based) is inf in f32"),
        "{whole}"
    );
    let e = read_all_f32(&mut NpyReader::open(f.path()).unwrap()).unwrap_err();
    assert_eq!(e.to_string(), whole);
    assert!(read_all(&mut NpyReader::open(f.path()).unwrap()).is_ok());
}

const CSV: &str = "a,b,c\n1,2,3\n\n4,5,6\n7,8,9.5\n-1,0.25,1e3\n10,11,12\n";

#[test]
fn text_sources_match_the_whole_file_readers() {
    let dir = tempfile::tempdir().unwrap();
    let whole = parse_text(CSV, ',', "d.csv").unwrap();
    assert_eq!(whole.n_rows(), 5);
    for rows in [1, 2, 3, 4, 5, 6, 100] {
        for extra in [0, 1, 2] {
            for mixed in [false, true] {
                let mut s = TableSource::new(whole.clone(), "d.csv");
                let got = drain(&mut s, rows, extra, mixed);
                if !mixed {
                    assert_eq!(bits(&got), bits(whole.values()), "rows={rows}");
                } else {
                    assert_eq!(got.len(), whole.values().len());
                }
            }
        }
    }
    let f = TempFile::new(&dir, "d.csv", CSV.as_bytes());
    let from_file = read_file(f.path(), &ReadOptions::default()).unwrap();
    assert_eq!(from_file, whole);
    let mut source = FileSource::open(f.path(), &ReadOptions::default()).unwrap();
    assert_eq!(source.n_rows_hint(), Some(5));
    let all = read_all(&mut source).unwrap();
    assert_eq!(all.values, whole.values());
    assert_eq!(
        all.feature_names.as_deref(),
        Some(&["a".to_string(), "b".to_string(), "c".to_string()][..])
    );
    // TSV by extension, headerless: no names.
    let f = TempFile::new(&dir, "d.tsv", b"1\t2\n3\t4\n5\t6\n");
    let mut source = FileSource::open(f.path(), &ReadOptions::default()).unwrap();
    assert_eq!(source.feature_names(), None);
    assert_eq!(
        drain(&mut source, 2, 1, false),
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    // Text errors come out of open, as from read_file.
    let f = TempFile::new(&dir, "bad.csv", b"1,2\n3,x\n");
    let e = FileSource::open(f.path(), &ReadOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        read_file(f.path(), &ReadOptions::default())
            .unwrap_err()
            .to_string()
    );
}

#[test]
fn table_source_refuses_values_beyond_f32_only_in_f32() {
    let t = gaussmix_io::Table::new(vec![1.0, 1e39, 2.0, 3.0], 2, 2, None).unwrap();
    let mut s = TableSource::new(t.clone(), "m");
    let mut buf = [0.0f32; 4];
    let e = s.next_chunk_f32(&mut buf).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("m: row 1, column 2 (1-based) is inf in f32"),
        "{e}"
    );
    assert_eq!(s.next_chunk_f32(&mut buf).unwrap(), 0);
    assert_eq!(read_all(&mut TableSource::new(t, "m")).unwrap().n_rows, 2);
}

#[test]
fn missing_files_are_io_errors() {
    let e = FileSource::open("no/such/dir/x.npy", &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, gaussmix_io::ReadError::Io { .. }));
    let e = FileSource::open("no/such/dir/x.csv", &ReadOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read data file no/such/dir/x.csv: "),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn npy_chunks_equal_the_whole_read(
        n in 1usize..40, d in 1usize..5,
        descr in prop::sample::select(vec!["<f8", ">f8", "<f4", ">f4"]),
        fortran in any::<bool>(),
        rows in 1usize..12, extra in 0usize..4, seed in any::<u64>(),
    ) {
        let v = values(n, d, seed);
        let bytes = npy_of(&v, n, d, descr, fortran);
        let whole = gaussmix_io::parse_npy(&bytes, "p").unwrap();
        let mut r = NpyReader::new(std::io::Cursor::new(&bytes), "p").unwrap();
        let got = drain(&mut r, rows, extra.min(d - 1), false);
        prop_assert_eq!(bits(&got), bits(whole.values()));
    }
}
