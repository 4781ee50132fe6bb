//! `TableChunks`: any file read a chunk of rows at a time gives, chunk after chunk,
//! exactly what the whole-file reader gives (values, columns, weights), for every
//! format and chunk size; a stream whose width changes is refused, naming its lines.

use std::io::Write;

use gaussmix_io::{read_file, write_npy_f64, Missing, ReadOptions, Table, TableChunks};

/// Reads `path` whole and in chunks of `size` rows; asserts they agree.
fn agree(path: &std::path::Path, opts: &ReadOptions, size: usize) {
    let whole = read_file(path, opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut chunks = TableChunks::open(path, opts).unwrap();
    let (mut values, mut weights, mut n) = (Vec::new(), Vec::new(), 0);
    let mut columns: Option<Vec<String>> = None;
    while let Some(t) = chunks.next_table(size).unwrap() {
        assert!(
            t.n_rows() <= size,
            "{}: {} rows in a chunk of {size}",
            path.display(),
            t.n_rows()
        );
        n += t.n_rows();
        values.extend_from_slice(t.values());
        if let Some(w) = t.weights() {
            weights.extend_from_slice(w);
        }
        match &columns {
            None => columns = Some(t.columns().to_vec()),
            Some(c) => assert_eq!(c, t.columns(), "{}", path.display()),
        }
    }
    let what = format!("{} in chunks of {size}", path.display());
    assert_eq!(n, whole.n_rows(), "{what}");
    assert_eq!(values, whole.values(), "{what}");
    assert_eq!(columns.as_deref(), Some(whole.columns()), "{what}");
    assert_eq!(
        whole.weights().map(<[f64]>::to_vec),
        (!weights.is_empty()).then_some(weights),
        "{what}"
    );
}

fn text(rows: usize, header: bool) -> String {
    let mut s = String::new();
    if header {
        s += "id,x,y,w\n";
    }
    for i in 0..rows {
        s += &format!(
            "{i},{},{},{}\n",
            i as f64 * 0.5,
            (i % 7) as f64 - 3.25,
            1 + i % 3
        );
    }
    s
}

#[test]
fn text_files_in_chunks_equal_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with.csv");
    std::fs::write(&with, text(50, true)).unwrap();
    let without = dir.path().join("without.csv");
    std::fs::write(&without, text(50, false)).unwrap();
    let gz = dir.path().join("with.csv.gz");
    let mut e = flate2_writer(std::fs::File::create(&gz).unwrap());
    e.write_all(text(50, true).as_bytes()).unwrap();
    e.finish().unwrap();
    let tsv = dir.path().join("t.tsv");
    std::fs::write(
        &tsv,
        text(20, true).replace(',', "\t").replace("\n", "\r\n"),
    )
    .unwrap();
    let selected = ReadOptions::default()
        .with_columns(["x", "y"])
        .with_weight_column("w");
    for size in [1, 3, 7, 49, 50, 51, 1000] {
        agree(&with, &ReadOptions::default(), size);
        agree(&with, &selected, size);
        agree(&without, &ReadOptions::default(), size);
        agree(&gz, &selected, size);
        agree(&tsv, &ReadOptions::default(), size);
    }
}

fn flate2_writer(f: std::fs::File) -> flate2::write::GzEncoder<std::fs::File> {
    flate2::write::GzEncoder::new(f, flate2::Compression::fast())
}

#[test]
fn npy_and_parquet_in_chunks_equal_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f64> = (0..60).map(|i| i as f64 * 1.5 - 7.0).collect();
    let c = dir.path().join("c.npy");
    let mut f = std::fs::File::create(&c).unwrap();
    write_npy_f64(&mut f, &values, &[20, 3]).unwrap();
    // The same matrix in Fortran order: the header says so, the values go by column.
    let fortran = dir.path().join("f.npy");
    let mut body = Vec::new();
    for j in 0..3 {
        for i in 0..20 {
            body.extend_from_slice(&values[i * 3 + j].to_le_bytes());
        }
    }
    let dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (20, 3), }";
    let mut head = format!("{dict:<117}").into_bytes();
    head.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(head.len() as u16).to_le_bytes());
    bytes.extend(head);
    bytes.extend(body);
    std::fs::write(&fortran, bytes).unwrap();
    let parquet =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pandas.parquet");
    for size in [1, 4, 19, 20, 21] {
        agree(&c, &ReadOptions::default(), size);
        agree(&fortran, &ReadOptions::default(), size);
        agree(&c, &ReadOptions::default().with_columns(["2", "0"]), size);
        let o = ReadOptions::default()
            .with_exclude(["species", "id"])
            .with_missing(Missing::Drop);
        agree(&parquet, &o, size);
    }
    // Row numbers in errors count from the file's first row, whatever the chunk.
    let mut chunks = TableChunks::open(
        &parquet,
        &ReadOptions::default().with_exclude(["species", "id"]),
    )
    .unwrap();
    assert!(chunks.next_table(1).unwrap().is_some());
    let e = chunks.next_table(1).unwrap_err().to_string();
    assert!(e.contains("row 2, column 2 (x): missing value"), "{e}");
    let whole: Table = read_file(&fortran, &ReadOptions::default()).unwrap();
    assert_eq!(whole.values(), values);
}

#[test]
fn streams_read_text_and_refuse_what_needs_a_file() {
    let mut chunks = TableChunks::from_reader(
        std::io::Cursor::new(text(10, true).into_bytes()),
        "<stdin>",
        &ReadOptions::default(),
    )
    .unwrap();
    let mut n = 0;
    while let Some(t) = chunks.next_table(4).unwrap() {
        assert_eq!(t.columns(), ["id", "x", "y", "w"]);
        n += t.n_rows();
    }
    assert_eq!(n, 10);
    let npy = b"\x93NUMPY\x01\x00rest".to_vec();
    let e = TableChunks::from_reader(
        std::io::Cursor::new(npy),
        "<stdin>",
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("from files"), "{e}");
    // A headerless stream that changes width is refused, naming its lines.
    let mut s = String::new();
    for i in 0..9 {
        s += &format!("{i},{i}\n");
    }
    s += "1,2,3\n";
    let mut chunks = TableChunks::from_reader(
        std::io::Cursor::new(s.into_bytes()),
        "<stdin>",
        &ReadOptions::default(),
    )
    .unwrap();
    let e = loop {
        match chunks.next_table(4) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the wide row was accepted"),
            Err(e) => break e.to_string(),
        }
    };
    assert!(e.contains("<stdin>: line 10 has 3 fields"), "{e}");
    // Missing cells dropped: a chunk may hold fewer rows than its lines.
    let o = ReadOptions::default().with_missing(Missing::Drop);
    let mut chunks = TableChunks::from_reader(
        std::io::Cursor::new(b"a,b\n1,2\nNA,3\n4,5\n".to_vec()),
        "<stdin>",
        &o,
    )
    .unwrap();
    assert_eq!(chunks.next_table(2).unwrap().unwrap().n_rows(), 1);
    assert_eq!(chunks.next_table(2).unwrap().unwrap().values(), [4.0, 5.0]);
}

/// Errors name the input's line, whatever the chunk: blank lines and the header that
/// every chunk is parsed with are counted as in the file.
#[test]
fn errors_name_the_input_line() {
    let mut s = String::from("a,b\n\n");
    for i in 0..20 {
        s += &format!("{i},{i}\n");
        if i % 5 == 0 {
            s += "\n";
        }
    }
    s += "3,x\n";
    let lines_before = s.lines().count();
    for size in [1, 3, 7, 100] {
        let mut chunks = TableChunks::from_reader(
            std::io::Cursor::new(s.clone().into_bytes()),
            "d.csv",
            &ReadOptions::default(),
        )
        .unwrap();
        let e = loop {
            match chunks.next_table(size) {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the bad cell was accepted"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(
            e.contains(&format!("line {lines_before}, column 2 (b)")),
            "chunks of {size}: {e}"
        );
    }
}
