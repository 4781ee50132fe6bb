//! Real files the way pandas and R write them: headers, index columns, quoting,
//! delimiters and decimal marks, missing cells, column tokens, weights and kept
//! columns, compression and Parquet. Each case asserts exact values or the exact
//! message.

use std::io::Write;

use gaussmix_io::{
    parse_bytes, read_file, write_npy_f64, Header, Missing, ReadError, ReadOptions, Table,
};

fn opts() -> ReadOptions {
    ReadOptions::default()
}

fn read(text: &str, name: &str, o: &ReadOptions) -> Table {
    parse_bytes(text.as_bytes(), name, o).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fail(text: &str, name: &str, o: &ReadOptions) -> String {
    match parse_bytes(text.as_bytes(), name, o) {
        Ok(t) => panic!("{name}: read {:?}", t.values()),
        Err(e) => e.to_string(),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// (name, text, options, columns, values, warnings)
type Case = (
    &'static str,
    &'static str,
    ReadOptions,
    &'static [&'static str],
    &'static [f64],
    &'static [&'static str],
);

#[test]
fn text_files_as_pandas_and_r_write_them() {
    let cases: Vec<Case> = vec![
        ("pandas numeric header", "0,1,2\n1.5,2,3\n4,5,6\n", opts(), &["0", "1", "2"], &[1.5, 2.0, 3.0, 4.0, 5.0, 6.0],
            &["t.txt: first row 0,1,2 read as column names (pandas' default header); pass header no if it is data"]),
        ("numeric header refused", "0,1,2\n1.5,2,3\n", opts().with_header(Header::No), &["0", "1", "2"], &[0.0, 1.0, 2.0, 1.5, 2.0, 3.0], &[]),
        ("pandas index column", ",a,b\n0,1.5,2\n1,2.5,3\n2,3.5,4\n", opts(), &["", "a", "b"], &[0.0, 1.5, 2.0, 1.0, 2.5, 3.0, 2.0, 3.5, 4.0],
            &["t.txt: the first column \"\" (its header is empty, as pandas' to_csv and R's write.csv write the index) looks like a row index; exclude it (exclude 0) unless it is a feature"]),
        ("pandas index excluded", ",a,b\n0,1.5,2\n1,2.5,3\n", opts().with_exclude(["0"]), &["a", "b"], &[1.5, 2.0, 2.5, 3.0], &[]),
        ("pandas index, default names", ",0,1\n0,1.5,2\n1,2.5,3\n", opts().with_exclude([""]), &["0", "1"], &[1.5, 2.0, 2.5, 3.0],
            &["t.txt: first row ,0,1 read as column names (pandas' default header); pass header no if it is data"]),
        ("pandas index, default names, warned", ",0,1\n0,1.5,2\n1,2.5,3\n", opts(), &["", "0", "1"], &[0.0, 1.5, 2.0, 1.0, 2.5, 3.0],
            &["t.txt: first row ,0,1 read as column names (pandas' default header); pass header no if it is data",
              "t.txt: the first column \"\" (its header is empty, as pandas' to_csv and R's write.csv write the index) looks like a row index; exclude it (exclude \"\") unless it is a feature"]),
        ("R write.csv", "\"\",\"x\",\"y\"\n\"1\",1.5,2\n\"2\",2.5,3\n\"3\",3.5,4\n", opts().with_columns(["x", "y"]), &["x", "y"], &[1.5, 2.0, 2.5, 3.0, 3.5, 4.0], &[]),
        ("R write.csv, index kept", "\"\",\"x\"\n\"1\",1.5\n\"2\",2.5\n\"3\",3.5\n", opts(), &["", "x"], &[1.0, 1.5, 2.0, 2.5, 3.0, 3.5],
            &["t.txt: the first column \"\" (its header is empty, as pandas' to_csv and R's write.csv write the index) looks like a row index; exclude it (exclude 0) unless it is a feature"]),
        ("Unnamed: 0", "Unnamed: 0,x\n5,1\n9,2\n", opts(), &["Unnamed: 0", "x"], &[5.0, 1.0, 9.0, 2.0],
            &["t.txt: the first column \"Unnamed: 0\" (named as pandas names a saved index) looks like a row index; exclude it (exclude 0) unless it is a feature"]),
        ("index by values 1..N, no header", "1,0.5\n2,0.7\n3,0.1\n", opts(), &["0", "1"], &[1.0, 0.5, 2.0, 0.7, 3.0, 0.1],
            &["t.txt: the first column \"0\" (its values are 1, 2, 3, …) looks like a row index; exclude it (exclude 0) unless it is a feature"]),
        ("R write.table (header one short)", "\"x\" \"y\"\n\"1\" 1.5 2\n\"2\" 2.5 3\n", opts().with_exclude(["0"]), &["x", "y"], &[1.5, 2.0, 2.5, 3.0], &[]),
        ("quoted names", "\"a,b\",\"c \"\"q\"\"\"\n1,2\n", opts(), &["a,b", "c \"q\""], &[1.0, 2.0], &[]),
        ("quoted cells, CRLF, newline in quotes", "\"x\",\"note\nmore\"\r\n\"1.5\",2\r\n", opts(), &["x", "note\nmore"], &[1.5, 2.0], &[]),
        ("semicolons, decimal commas", "x;y\n1,5;-2,25\n3;4\n", opts().with_decimal(','), &["x", "y"], &[1.5, -2.25, 3.0, 4.0], &[]),
        ("tab sniffed", "a\tb\n1\t2\n", opts(), &["a", "b"], &[1.0, 2.0], &[]),
        ("pipe sniffed", "a|b|c\n1|2|3\n", opts(), &["a", "b", "c"], &[1.0, 2.0, 3.0], &[]),
        ("whitespace sniffed", "  a   b\n 1  2\n3\t 4\n", opts(), &["a", "b"], &[1.0, 2.0, 3.0, 4.0], &[]),
        ("single column", "x\n1\n\n2\n", opts(), &["x"], &[1.0, 2.0], &[]),
        ("BOM and blank lines", "\u{feff}a,b\n\n1,2\n   \n3,4\n", opts(), &["a", "b"], &[1.0, 2.0, 3.0, 4.0], &[]),
        ("ranges and mixed tokens", "id,a,b,c,d\n1,2,3,4,5\n", opts().with_columns(["d", "1..3"]), &["d", "a", "b", "c"], &[5.0, 2.0, 3.0, 4.0], &[]),
        ("range of names", "id,a,b,c,d\n1,2,3,4,5\n", opts().with_columns(["b..d"]).with_exclude(["c"]), &["b", "d"], &[3.0, 5.0], &[]),
        ("a name wins over an index", "x,0,y\n1,2,3\n", opts().with_columns(["0"]), &["0"], &[2.0], &[]),
        ("index when no name matches", "x,0,y\n1,2,3\n", opts().with_columns(["2"]), &["y"], &[3.0], &[]),
        ("unselected text never parsed", "x,species,y\n1,setosa,2\n3,NA,4\n", opts().with_exclude(["species"]), &["x", "y"], &[1.0, 2.0, 3.0, 4.0], &[]),
    ];
    for (name, text, o, columns, values, warnings) in cases {
        let t = read(text, "t.txt", &o);
        assert_eq!(t.columns(), strings(columns), "{name}");
        assert_eq!(t.values(), values, "{name}");
        assert_eq!(t.warnings(), strings(warnings), "{name}");
    }
}

#[test]
fn text_errors_say_what_where_and_what_to_do() {
    let drop = opts().with_missing(Missing::Drop);
    let cases: Vec<(&str, &str, ReadOptions, &str)> = vec![
        ("NA", "a,b\n1,2\n3,NA\n", opts(), "t.txt: line 3, column 2 (b): missing value \"NA\"; remove or impute missing values, or pass missing drop to skip incomplete rows"),
        ("empty", "a,b\n1,2\n,4\n", opts(), "t.txt: line 3, column 1 (a): missing value (empty field); remove or impute missing values, or pass missing drop to skip incomplete rows"),
        ("nan", "1,2\nnan,4\n", opts(), "t.txt: line 2, column 1 (0): missing value \"nan\"; remove or impute missing values, or pass missing drop to skip incomplete rows"),
        ("inf stays an error", "a,b\n1,inf\n", drop.clone(), "t.txt: line 2, column 2 (b): inf is not a finite number; remove or impute missing and infinite values"),
        ("text cell", "a,b\n1,x7\n", drop.clone(), "t.txt: line 2, column 2 (b): \"x7\" is not a number"),
        ("decimal comma without the option", "x;y\n1,5;2\n", opts(), "t.txt: line 2, column 1 (x): \"1,5\" is not a number"),
        ("all dropped", "a\nNA\n\n\n", drop.clone(), "t.txt: all 1 data rows have a missing value and were dropped; nothing is left to read"),
        ("selected text column", "x,species\n1,setosa\n", opts().with_columns(["species"]), "t.txt: line 2, column 2 (species): \"setosa\" is not a number"),
        ("no such column", "x,y\n1,2\n", opts().with_columns(["z"]), "t.txt: columns: no column \"z\"; columns are x, y (names, 0-based indices, or ranges A..B)"),
        ("index out of range", "x,y\n1,2\n", opts().with_keep(["2"]), "t.txt: keep: no column \"2\"; columns are x, y (names, 0-based indices, or ranges A..B)"),
        ("reversed range", "x,y\n1,2\n", opts().with_exclude(["1..0"]), "t.txt: exclude: the range \"1..0\" runs backwards; write it low..high; columns are x, y"),
        ("weight also a feature", "x,w\n1,2\n", opts().with_columns(["x", "w"]).with_weight_column("w"), "t.txt: column \"w\" is the weight column and cannot also be a feature; leave it out of columns"),
        ("missing weight", "x,w\n1,\n", opts().with_weight_column("w"), "t.txt: line 2, column 2 (w): missing value (empty field); remove or impute missing values, or pass missing drop to skip incomplete rows"),
        ("ragged, quoted newline counted", "a,b\n\"1\n\",2\n3\n", opts(), "t.txt: line 4 has 1 fields but the header expected 2; every row needs the same number of columns"),
        ("bad delimiter", "a\n1\n", opts().with_delimiter('é'), "t.txt: the delimiter 'é' is not usable: give one ASCII character other than a quote or a newline"),
    ];
    for (name, text, o, want) in cases {
        assert_eq!(fail(text, "t.txt", &o), want, "{name}");
    }
}

#[test]
fn missing_drop_records_rows_and_keeps_every_input_row() {
    let text = "id,x,y,w,species\nr1,1,2,0.5,a\nr2,NA,3,1,b\nr3,4,,1,c\nr4,5,6,2,\nr5,7,8,N/A,d\n";
    let o = opts()
        .with_missing(Missing::Drop)
        .with_columns(["x", "y"])
        .with_weight_column("w")
        .with_keep(["id", "species"]);
    let t = read(text, "t.csv", &o);
    assert_eq!(t.values(), [1.0, 2.0, 5.0, 6.0]);
    assert_eq!(t.weights(), Some(&[0.5, 2.0][..]));
    assert_eq!(t.dropped_rows(), [1, 2, 4]);
    assert_eq!(t.n_input_rows(), 5);
    assert_eq!(t.kept().len(), 2);
    assert_eq!(
        (t.kept()[0].name.as_str(), &t.kept()[0].values),
        ("id", &strings(&["r1", "r2", "r3", "r4", "r5"]))
    );
    assert_eq!(t.kept()[1].values, strings(&["a", "b", "c", "", "d"]));
    assert_eq!(
        t.source_columns(),
        strings(&["id", "x", "y", "w", "species"])
    );
    assert_eq!(t.feature_names(), Some(&strings(&["x", "y"])[..]));

    // Defaults: every column but the kept and weight ones.
    let o = opts()
        .with_weight_column("w")
        .with_keep(["id"])
        .with_exclude(["species"])
        .with_missing(Missing::Drop);
    let t = read(text, "t.csv", &o);
    assert_eq!(t.columns(), strings(&["x", "y"]));
    assert_eq!(t.dropped_rows(), [1, 2, 4]);
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn npy_bytes(values: &[f64], shape: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    write_npy_f64(&mut out, values, shape).unwrap();
    out
}

#[test]
fn compressed_text_and_npy_whatever_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = b"a\tb\n1\t2\n3\t4\n";
    let npy = npy_bytes(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("d.tsv.gz", gzip(tsv)),
        ("d.tsv.zst", zstd::stream::encode_all(&tsv[..], 3).unwrap()),
        ("d.data", gzip(tsv)),
        ("d.npy.gz", gzip(&npy)),
        ("d.bin", zstd::stream::encode_all(&npy[..], 3).unwrap()),
        ("d.npy", npy.clone()),
    ];
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let t = read_file(&path, &opts()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.values(), [1.0, 2.0, 3.0, 4.0], "{name}");
        let t = parse_bytes(&bytes, name, &opts()).unwrap();
        assert_eq!(t.values(), [1.0, 2.0, 3.0, 4.0], "{name}");
    }
    let bad = gzip(tsv);
    let e = parse_bytes(&bad[..bad.len() - 4], "d.gz", &opts()).unwrap_err();
    assert!(
        matches!(e, ReadError::Decompress { format: "gzip", .. }),
        "{e}"
    );
}

#[test]
fn npy_columns_and_missing_values() {
    let nan = f64::NAN;
    let b = npy_bytes(&[0.0, 1.0, 2.0, 1.0, nan, 3.0, 2.0, 5.0, 6.0], &[3, 3]);
    let e = parse_bytes(&b, "x.npy", &opts()).unwrap_err();
    assert_eq!(e.to_string(), "x.npy: row 2, column 2 (1): missing value (NaN); remove or impute missing values, or pass missing drop to skip incomplete rows");
    let t = parse_bytes(&b, "x.npy", &opts().with_missing(Missing::Drop)).unwrap();
    assert_eq!(
        (t.values(), t.dropped_rows()),
        (&[0.0, 1.0, 2.0, 2.0, 5.0, 6.0][..], &[1][..])
    );
    let t = parse_bytes(&b, "x.npy", &opts().with_columns(["2", "0"])).unwrap();
    assert_eq!(t.values(), [2.0, 0.0, 3.0, 1.0, 6.0, 2.0]);
    assert_eq!(t.warnings().len(), 1);
    let t = parse_bytes(&b, "x.npy", &opts().with_exclude(["1"]).with_keep(["1"])).unwrap();
    assert_eq!(t.kept()[0].values, strings(&["1", "NaN", "5"]));
    assert_eq!(t.warnings(), ["x.npy: the first column \"0\" (its values are 0, 1, 2, …) looks like a row index; exclude it (exclude 0) unless it is a feature"]);
    let e = parse_bytes(&b, "x.npy", &opts().with_columns(["3"])).unwrap_err();
    assert_eq!(e.to_string(), "x.npy: columns: no column \"3\"; columns are 0, 1, 2 (names, 0-based indices, or ranges A..B)");
}

#[cfg(feature = "parquet")]
mod parquet {
    use super::*;
    use gaussmix_io::{write_parquet, ParquetColumn};

    fn file() -> Vec<u8> {
        let mut out = Vec::new();
        let ids = strings(&["a", "b", "c"]);
        write_parquet(
            &mut out,
            &[
                ("id", ParquetColumn::Str(&ids)),
                (
                    "x",
                    ParquetColumn::OptF64(&[Some(1.5), None, Some(f64::NAN)]),
                ),
                ("n", ParquetColumn::I64(&[1, 2, 3])),
                ("y", ParquetColumn::OptI64(&[Some(7), Some(8), None])),
            ],
        )
        .unwrap();
        out
    }

    #[test]
    fn round_trip_projection_and_types() {
        let f = file();
        let t = parse_bytes(&f, "p.parquet", &opts().with_columns(["n"])).unwrap();
        assert_eq!(
            (t.columns(), t.values()),
            (&strings(&["n"])[..], &[1.0, 2.0, 3.0][..])
        );
        let e = parse_bytes(&f, "p.parquet", &opts()).unwrap_err();
        assert_eq!(e.to_string(), "p.parquet: column \"id\" has type Utf8, which is not a number type (integers and floats are read); leave it out (exclude it) or convert it");
        let e = parse_bytes(&f, "p.parquet", &opts().with_exclude(["id"])).unwrap_err();
        assert_eq!(e.to_string(), "p.parquet: row 2, column 2 (x): missing value (null); remove or impute missing values, or pass missing drop to skip incomplete rows");
        let o = opts()
            .with_keep(["id"])
            .with_missing(Missing::Drop)
            .with_columns(["n", "x"]);
        let t = parse_bytes(&f, "p.parquet", &o).unwrap();
        assert_eq!(
            (t.values(), t.dropped_rows()),
            (&[1.0, 1.5][..], &[1, 2][..])
        );
        assert_eq!(t.kept()[0].values, strings(&["a", "b", "c"]));
        let o = opts().with_columns(["1..2"]).with_missing(Missing::Drop);
        let e = parse_bytes(
            &f,
            "p.parquet",
            &o.clone()
                .with_missing(Missing::Error)
                .with_columns(["n", "x"]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.parquet: row 2, column 2 (x): missing value (null)"),
            "{e}"
        );
        let t = parse_bytes(&f, "p.parquet", &o).unwrap();
        assert_eq!(t.values(), [1.5, 1.0]);
        let e = parse_bytes(&f, "p.parquet", &opts().with_columns(["y"])).unwrap_err();
        assert_eq!(e.to_string(), "p.parquet: row 3, column 4 (y): missing value (null); remove or impute missing values, or pass missing drop to skip incomplete rows");
        // Compressed, and by magic whatever the name.
        let t = parse_bytes(&gzip(&f), "p.bin", &opts().with_columns(["n"])).unwrap();
        assert_eq!(t.values(), [1.0, 2.0, 3.0]);
        let e = parse_bytes(&f[..f.len() - 3], "p.parquet", &opts()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.parquet: cannot read the Parquet data: "),
            "{e}"
        );
    }

    /// Written by pandas 3.1 / pyarrow 26 (`df.to_parquet`, snappy): strings as
    /// large_string, a nullable Int64, int32, float32, NaN, and a stored index
    /// (`__index_level_0__`, left out of the default features).
    #[test]
    fn a_file_written_by_pandas() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pandas.parquet");
        let o = opts()
            .with_exclude(["species"])
            .with_keep(["id", "species"])
            .with_missing(Missing::Drop);
        let t = read_file(path, &o).unwrap();
        assert_eq!(t.columns(), strings(&["x", "n", "k", "f"]));
        assert_eq!(t.values(), [1.5, 1.0, 10.0, 0.5, 4.25, 4.0, 40.0, 3.5]);
        assert_eq!(t.dropped_rows(), [1, 2]);
        assert_eq!(
            t.kept()[1].values,
            strings(&["setosa", "versicolor", "virginica", "setosa"])
        );
        let e = read_file(path, &opts().with_columns(["x"])).unwrap_err();
        assert!(e.to_string().ends_with("tests/data/pandas.parquet: row 2, column 2 (x): missing value (null); remove or impute missing values, or pass missing drop to skip incomplete rows"), "{e}");
        let e = read_file(path, &opts().with_columns(["species"])).unwrap_err();
        assert!(e.to_string().ends_with("column \"species\" has type LargeUtf8, which is not a number type (integers and floats are read); leave it out (exclude it) or convert it"), "{e}");
    }
}

#[test]
fn csv_means_comma_unless_no_line_has_one() {
    let t = read("a;b\n1;2\n", "x.csv", &opts());
    assert_eq!(
        (t.columns(), t.values()),
        (&strings(&["a", "b"])[..], &[1.0, 2.0][..])
    );
    // Commas on the lines: a comma it is.
    let e = fail("a;b,c\n1;2,3\n", "x.csv", &opts());
    assert_eq!(e, "x.csv: line 2, column 1 (a;b): \"1;2\" is not a number");
}

#[test]
fn feather_files_are_refused_with_a_typed_error() {
    let e = parse_bytes(b"ARROW1\0\0rest", "f.bin", &opts()).unwrap_err();
    assert_eq!(e.to_string(), "f.bin: Arrow IPC / Feather files are not read; save the data as Parquet (df.to_parquet), CSV or NPY");
}

#[test]
fn files_written_by_pandas() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let t = read_file(format!("{dir}/pandas_default.csv"), &opts()).unwrap();
    assert_eq!((t.columns(), t.n_rows()), (&strings(&["0", "1"])[..], 3));
    assert_eq!(t.warnings().len(), 1);
    let t = read_file(format!("{dir}/pandas_index.csv"), &opts()).unwrap();
    assert_eq!(t.columns(), strings(&["", "a", "b"]));
    assert!(t.warnings()[0].contains("looks like a row index; exclude it (exclude 0)"));
}
