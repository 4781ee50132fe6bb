//! `TextRows`: any range of rows read by position equals the whole-file reader's rows
//! (several indexed blocks, a header, blank lines, CRLF, column selection); bad cells
//! are errors naming the data rows; what cannot be streamed is refused.

use gaussmix::source::RowReader;
use gaussmix_io::{read_file, Missing, ReadOptions, TextRows};

#[test]
fn any_range_equals_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    let mut text = String::from("id,a,b,c\r\n\r\n");
    for i in 0..1000 {
        text += &format!(
            "{i},{},{},{}\r\n",
            i as f64 * 0.25,
            (i % 17) as f64 - 8.5,
            1e6 + i as f64
        );
        if i % 97 == 0 {
            text += "\r\n";
        }
    }
    std::fs::write(&path, text).unwrap();
    for opts in [
        ReadOptions::default(),
        ReadOptions::default().with_exclude(["id"]),
    ] {
        let whole = read_file(&path, &opts).unwrap();
        let rows = TextRows::open(&path, &opts).unwrap();
        let d = whole.n_cols();
        assert_eq!((rows.n_rows(), rows.n_features()), (1000, d));
        assert_eq!(rows.columns(), whole.columns());
        for (a, b) in [
            (0, 1000),
            (0, 256),
            (255, 257),
            (999, 1000),
            (300, 700),
            (512, 512),
        ] {
            let mut buf = vec![0.0; (b - a) * d];
            rows.read_f64(a, b, &mut buf).unwrap();
            assert_eq!(buf, whole.values()[a * d..b * d], "rows {a}..{b}");
        }
        let mut buf = vec![0.0; d];
        assert!(rows.read_f64(999, 1001, &mut buf).is_err());
    }
}

#[test]
fn bad_cells_and_what_cannot_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    let mut text = String::from("a,b\n");
    let mut bad_line = 0;
    for i in 0..2000 {
        if i % 100 == 0 {
            text += "\n"; // blank lines count as lines
        }
        if i == 1400 {
            text += "1,x\n";
            bad_line = text.lines().count();
        } else {
            text += &format!("{i},{i}\n");
        }
    }
    std::fs::write(&path, &text).unwrap();
    let rows = TextRows::open(&path, &ReadOptions::default()).unwrap();
    let mut buf = vec![0.0; 2 * 256];
    rows.read_f64(0, 256, &mut buf).unwrap();
    let e = rows.read_f64(1280, 1536, &mut buf).unwrap_err().to_string();
    let want = format!("line {bad_line}, column 2 (b): \"x\" is not a number");
    assert!(e.contains(&want), "{e}");
    // In the first lines, the error comes at open, with its line.
    let early = dir.path().join("early.csv");
    std::fs::write(&early, "a,b\n1,2\n3,y\n").unwrap();
    let e = TextRows::open(&early, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 3, column 2"), "{e}");
    let e = TextRows::open(&path, &ReadOptions::default().with_missing(Missing::Drop)).unwrap_err();
    assert!(e.to_string().contains("gaussmix convert"), "{e}");
    let e = TextRows::open(&path, &ReadOptions::default().with_weight_column("b")).unwrap_err();
    assert!(e.to_string().contains("weight column"), "{e}");
    let gz = dir.path().join("d.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
    enc.finish().unwrap();
    let e = TextRows::open(&gz, &ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("compressed"), "{e}");
}
