//! `ParquetRows`: any range of rows read by position (across row groups, in any order,
//! from several threads) equals the whole-file reader's rows.
#![cfg(feature = "parquet")]

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray};
use gaussmix::source::RowReader;
use gaussmix_io::{read_file, Missing, ParquetRows, ReadOptions};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

fn write(path: &std::path::Path, n: usize) {
    let a: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..n).map(|i| i as f64 * 0.5),
    ));
    let b: ArrayRef = Arc::new(Int32Array::from_iter_values(
        (0..n).map(|i| (i % 11) as i32 - 5),
    ));
    let s: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| format!("r{i}")),
    ));
    let c: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..n).map(|i| 1e9 + i as f64),
    ));
    let batch = RecordBatch::try_from_iter([("a", a), ("b", b), ("label", s), ("c", c)]).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(300))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn any_range_equals_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.parquet");
    write(&path, 1000);
    for opts in [
        ReadOptions::default().with_exclude(["label"]),
        ReadOptions::default().with_columns(["c", "a"]),
    ] {
        let whole = read_file(&path, &opts).unwrap();
        let rows = Arc::new(ParquetRows::open(&path, &opts).unwrap());
        let d = whole.n_cols();
        assert_eq!((rows.n_rows(), rows.n_features()), (1000, d));
        assert_eq!(rows.feature_names(), whole.columns());
        for (a, b) in [
            (0, 1000),
            (0, 256),
            (290, 310),
            (999, 1000),
            (600, 900),
            (5, 5),
            (250, 260),
        ] {
            let mut buf = vec![0.0; (b - a) * d];
            rows.read_f64(a, b, &mut buf).unwrap();
            assert_eq!(buf, whole.values()[a * d..b * d], "rows {a}..{b}");
        }
        // Two threads reading interleaved ranges.
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let rows = rows.clone();
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    for c in (t..40).step_by(2) {
                        let mut buf = vec![0.0; 25 * rows.n_features()];
                        rows.read_f64(c * 25, c * 25 + 25, &mut buf).unwrap();
                        out.push((c, buf));
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            for (c, buf) in h.join().unwrap() {
                assert_eq!(buf, whole.values()[c * 25 * d..(c * 25 + 25) * d]);
            }
        }
    }
    assert!(
        ParquetRows::open(&path, &ReadOptions::default()).is_err(),
        "a text column is refused"
    );
    let e = ParquetRows::open(
        &path,
        &ReadOptions::default()
            .with_exclude(["label"])
            .with_missing(Missing::Drop),
    )
    .unwrap_err();
    assert!(e.to_string().contains("convert"), "{e}");
}
