//! Compressed input: gzip and zstd, recognized by their magic bytes whatever the
//! file's name.

use std::io::Read;

use crate::error::{ReadError, Result};

/// The first bytes of a gzip stream.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// The first bytes of a zstd frame.
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// The format `bytes` start with, if any.
    pub fn detect(bytes: &[u8]) -> Option<Compression> {
        if bytes.starts_with(GZIP_MAGIC) {
            Some(Compression::Gzip)
        } else if bytes.starts_with(ZSTD_MAGIC) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// The bytes, decompressed if they start with a gzip or zstd magic (concatenated
/// gzip members and zstd frames included).
pub(crate) fn decompress(bytes: &[u8], name: &str) -> Result<Option<Vec<u8>>> {
    let Some(format) = Compression::detect(bytes) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let read = match format {
        Compression::Gzip => flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out),
        Compression::Zstd => {
            zstd::stream::read::Decoder::new(bytes).and_then(|mut d| d.read_to_end(&mut out))
        }
    };
    match read {
        Ok(_) => Ok(Some(out)),
        Err(source) => Err(ReadError::Decompress {
            file: name.to_string(),
            format: format.name(),
            source,
        }),
    }
}

/// `name` without a `.gz`/`.zst`/`.zstd` suffix, so that its extension is the inner
/// format's (`x.tsv.gz` → `x.tsv`).
pub(crate) fn inner_name(name: &str) -> &str {
    let lower = name.to_ascii_lowercase();
    for suffix in [".gz", ".gzip", ".zst", ".zstd"] {
        if lower.ends_with(suffix) {
            return &name[..name.len() - suffix.len()];
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trips_and_errors() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"a,b\n1,2\n").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decompress(&gz, "f").unwrap().unwrap(), b"a,b\n1,2\n");
        let zs = zstd::stream::encode_all(&b"x"[..], 3).unwrap();
        assert_eq!(decompress(&zs, "f").unwrap().unwrap(), b"x");
        assert_eq!(decompress(b"plain", "f").unwrap(), None);
        let e = decompress(&gz[..gz.len() - 6], "f.gz").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("f.gz: cannot decompress the gzip data: "),
            "{e}"
        );
        assert!(
            e.to_string()
                .ends_with("; the file is truncated or corrupt"),
            "{e}"
        );
        assert_eq!(inner_name("X.TSV.GZ"), "X.TSV");
        assert_eq!(inner_name("x.npy.zst"), "x.npy");
        assert_eq!(inner_name("x.csv"), "x.csv");
    }
}
