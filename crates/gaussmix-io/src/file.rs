//! Reading a data file whole, whatever its format: [`read_file`] picks the reader by
//! the file's first bytes and extension, [`parse_bytes`] by the bytes and the name.
//!
//! gzip and zstd compression are recognized by their magic bytes; the format inside
//! by its magic bytes (NPY, Parquet's `PAR1`; Arrow IPC's `ARROW1` is refused), else by the extension under the
//! compression suffix (`x.npy.gz`, `x.tsv.zst`), else it is text.

use std::io::Read;
use std::path::Path;

use crate::compress::{decompress, inner_name, Compression};
use crate::error::{ReadError, Result};
use crate::npy::{NpyReader, NPY_MAGIC};
use crate::options::ReadOptions;
use crate::table::Table;
use crate::text::{csv_delimiter, parse_text_with};

/// The first bytes of a Parquet file.
pub(crate) const PARQUET_MAGIC: &[u8] = b"PAR1";

/// A data format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Npy,
    Parquet,
    /// Arrow IPC file (Feather v2).
    Ipc,
    Text,
}

/// The extension of `name` (lowercased, `""` without one), under any compression
/// suffix.
pub(crate) fn extension(name: &str) -> String {
    Path::new(inner_name(name))
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The format of (uncompressed) `head` bytes named `name`.
pub(crate) fn format_of(head: &[u8], name: &str) -> Format {
    if head.starts_with(NPY_MAGIC) {
        return Format::Npy;
    }
    if head.starts_with(PARQUET_MAGIC) {
        return Format::Parquet;
    }
    if head.starts_with(b"ARROW1") {
        return Format::Ipc;
    }
    match extension(name).as_str() {
        "npy" => Format::Npy,
        "parquet" | "pq" => Format::Parquet,
        "feather" | "arrow" | "ipc" => Format::Ipc,
        _ => Format::Text,
    }
}

/// The options with the delimiter the extension suggests if none is given: tab for
/// `.tsv`/`.tab`, comma for `.csv` (unless no line has one and another delimiter
/// fits: semicolons), else `None`: sniffed.
pub(crate) fn with_extension_delimiter(name: &str, text: &str, opts: &ReadOptions) -> ReadOptions {
    let mut opts = opts.clone();
    if opts.delimiter.is_none() {
        opts.delimiter = match extension(name).as_str() {
            "tsv" | "tab" => Some('\t'),
            "csv" => Some(csv_delimiter(text, opts.decimal)),
            _ => None,
        };
    }
    opts
}

/// Reads the data file at `path` into a [`Table`]: NPY (streamed from disk), Parquet
/// or delimited text, maybe gzip- or zstd-compressed, as `opts` say.
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
    let file = path.display().to_string();
    let io = |source| ReadError::Io {
        file: file.clone(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(8);
    (&mut f).take(8).read_to_end(&mut head).map_err(io)?;
    if Compression::detect(&head).is_none() {
        match format_of(&head, &file) {
            Format::Npy => {
                return NpyReader::open(path)?.read_table_with(opts);
            }
            #[cfg(feature = "parquet")]
            Format::Parquet => {
                drop(f);
                let f = std::fs::File::open(path).map_err(io)?;
                return crate::columnar::read_parquet(f, &file, opts);
            }
            _ => {}
        }
    }
    let mut bytes = head;
    f.read_to_end(&mut bytes).map_err(io)?;
    parse_bytes(&bytes, &file, opts)
}

/// Reads data held in memory: gzip/zstd-compressed or not; NPY or Parquet by their
/// magic bytes or `name`'s extension; else UTF-8 text, delimited by `opts.delimiter`,
/// else by `name`'s extension (`.tsv`, `.csv`), else sniffed. `name` says where the
/// bytes came from in error messages (the CLI gives `<stdin>`).
///
/// ```
/// use gaussmix_io::{parse_bytes, ReadOptions};
///
/// let t = parse_bytes(b"1;2\n3;4\n", "<stdin>", &ReadOptions::default())?;
/// assert_eq!(t.values(), [1.0, 2.0, 3.0, 4.0]);
/// let e = parse_bytes(&[0xff, 0xfe], "<stdin>", &ReadOptions::default()).unwrap_err();
/// assert!(e.to_string().contains("not a text file"));
/// # Ok::<(), gaussmix_io::ReadError>(())
/// ```
pub fn parse_bytes(bytes: &[u8], name: &str, opts: &ReadOptions) -> Result<Table> {
    let inflated = decompress(bytes, name)?;
    let bytes = inflated.as_deref().unwrap_or(bytes);
    match format_of(bytes, name) {
        Format::Npy => NpyReader::new(std::io::Cursor::new(bytes), name)?.read_table_with(opts),
        #[cfg(feature = "parquet")]
        Format::Parquet => crate::columnar::read_parquet(
            bytes::Bytes::copy_from_slice(bytes),
            name,
            opts,
        ),
        Format::Ipc => Err(ReadError::Options {
            file: name.to_string(),
            reason: "Arrow IPC / Feather files are not read; save the data as Parquet (df.to_parquet), CSV or NPY".into(),
        }),
        #[cfg(not(feature = "parquet"))]
        Format::Parquet => Err(ReadError::Options {
            file: name.to_string(),
            reason: "this build reads no Parquet files (the gaussmix-io feature `parquet` is off); convert the file to CSV or NPY".into(),
        }),
        Format::Text => {
            let text = std::str::from_utf8(bytes).map_err(|e| ReadError::NotText {
                file: name.to_string(),
                byte: e.valid_up_to(),
            })?;
            parse_text_with(text, name, &with_extension_delimiter(name, text, opts))
        }
    }
}
