//! Reading a data file whole, whatever its format: [`read_file`] picks the reader by
//! the file's extension and first bytes, [`parse_bytes`] by the bytes alone.

use std::path::Path;

use crate::error::{ReadError, Result};
use crate::npy::{parse_npy, read_npy, NPY_MAGIC};
use crate::table::Table;
use crate::text::parse_text;

/// How to read a data file. Defaults: NPY by extension or magic bytes, else text
/// delimited by tabs for `.tsv`/`.tab` files and by commas otherwise.
///
/// ```
/// use gaussmix_io::ReadOptions;
/// let opts = ReadOptions::default().with_delimiter(' ');
/// assert_eq!(opts.delimiter, Some(' '));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The text delimiter (`' '` splits on any run of whitespace); `None` chooses by
    /// the file's extension.
    pub delimiter: Option<char>,
}

impl ReadOptions {
    /// The same options with the given text delimiter.
    pub fn with_delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = Some(delimiter);
        self
    }
}

/// The file's extension, lowercased (`""` without one).
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The delimiter `opts` asks for, else the one `path`'s extension suggests.
fn delimiter_for(path: &Path, opts: &ReadOptions) -> char {
    opts.delimiter.unwrap_or(match extension(path).as_str() {
        "tsv" | "tab" => '\t',
        _ => ',',
    })
}

/// Reads the data file at `path` into a [`Table`]: `.npy` files (any case) with the
/// streaming NPY reader, anything else as bytes that [`parse_bytes`] reads (NPY by
/// its magic bytes, else delimited text).
///
/// ```
/// use gaussmix_io::{read_file, ReadOptions};
///
/// let dir = std::env::temp_dir().join(format!("gaussmix-io-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("d.tsv");
/// std::fs::write(&path, "a\tb\n1\t2\n").unwrap();
/// let t = read_file(&path, &ReadOptions::default())?;
/// assert_eq!(t.columns(), ["a", "b"]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
pub fn read_file(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Table> {
    let path = path.as_ref();
    if extension(path) == "npy" {
        return read_npy(path);
    }
    let file = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(source) => return Err(ReadError::Io { file, source }),
    };
    let opts = ReadOptions {
        delimiter: Some(delimiter_for(path, opts)),
    };
    parse_bytes(&bytes, &file, &opts)
}

/// Reads data held in memory: NPY if it starts with NPY's magic bytes, else UTF-8
/// text delimited by `opts.delimiter` (a comma by default). `name` says where the
/// bytes came from in error messages (the CLI gives `<stdin>`).
///
/// ```
/// use gaussmix_io::{parse_bytes, ReadOptions};
///
/// let t = parse_bytes(b"1;2\n3;4\n", "<stdin>", &ReadOptions::default().with_delimiter(';'))?;
/// assert_eq!(t.values(), [1.0, 2.0, 3.0, 4.0]);
/// let e = parse_bytes(&[0xff, 0xfe], "<stdin>", &ReadOptions::default()).unwrap_err();
/// assert!(e.to_string().contains("not a text file"));
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
pub fn parse_bytes(bytes: &[u8], name: &str, opts: &ReadOptions) -> Result<Table> {
    if bytes.starts_with(NPY_MAGIC) {
        return parse_npy(bytes, name);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ReadError::NotText {
        file: name.to_string(),
        byte: e.valid_up_to(),
    })?;
    parse_text(text, opts.delimiter.unwrap_or(','), name)
}
