//! Sources of row chunks: how data that does not start as one slice in memory reaches
//! the library.
//!
//! A [`ChunkSource`] hands out the rows of an `n × d` matrix a chunk at a time into a
//! buffer the caller owns, in f64 or f32. It knows its number of features up front,
//! and may know the feature names and how many rows are coming. File readers (the
//! `gaussmix-io` crate: NPY, CSV) implement it; streaming EM will consume it, and
//! until then [`read_all`] / [`read_all_f32`] drain any source into a [`Dataset`]
//! that [`Dataset::data`] turns into the [`Data`] every fit takes.
//!
//! ```
//! use gaussmix::source::{read_all, ChunkSource, SliceSource};
//!
//! let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
//! let mut source = SliceSource::new(&values, 2)?;
//! let mut buf = [0.0; 4]; // room for two rows
//! assert_eq!(source.next_chunk(&mut buf)?, 2);
//! assert_eq!(buf, [1.0, 2.0, 3.0, 4.0]);
//! assert_eq!(source.next_chunk(&mut buf)?, 1); // the last row
//! assert_eq!(source.next_chunk(&mut buf)?, 0); // the end
//!
//! let all = read_all(&mut SliceSource::new(&values, 2)?)?;
//! assert_eq!((all.n_rows, all.n_features), (3, 2));
//! assert_eq!(all.data()?.n_samples(), 3);
//! # Ok::<(), gaussmix::GmmError>(())
//! ```

use crate::{Data, GmmError, Result};

/// Values per chunk when [`read_all`] drains a source (rows of `d` values: at least one
/// row per chunk).
const CHUNK_VALUES: usize = 1 << 16;

/// Most values [`read_all`] reserves up front from a source's row-count hint (a hint is
/// not trusted with more).
const MAX_RESERVE: usize = 1 << 24;

/// A source of row chunks: a row-major matrix of `n_features()` columns whose rows
/// arrive in order, a chunk at a time, into a buffer the caller provides.
///
/// The contract, which every implementation keeps and every consumer relies on:
///
/// - `n_features()` is at least 1 and never changes; `feature_names()`, when given,
///   has exactly `n_features()` names.
/// - `next_chunk(buf)` writes `r` whole rows (`r ≤ buf.len() / n_features()`) into
///   `buf[..r * n_features()]`, row after row, and returns `r`. Fewer rows than fit
///   is allowed at any time; `Ok(0)` means the end of the data (callers pass room
///   for at least one row, so `Ok(0)` is never "no room"). After the end, or after an
///   error, later calls return `Ok(0)` or an error, never more rows.
/// - Calls to `next_chunk` and `next_chunk_f32` may be mixed: each reads the rows
///   after the last one read.
/// - Sources that check their values (the file readers do) refuse non-finite ones
///   with an error naming the row and column.
///
/// ```
/// use gaussmix::source::ChunkSource;
/// use gaussmix::GmmError;
///
/// /// Rows `(i, 2i)` for `i` in `0..n`, made up on the fly.
/// struct Counting { next: usize, n: usize }
///
/// impl ChunkSource for Counting {
///     type Error = GmmError;
///     fn n_features(&self) -> usize { 2 }
///     fn n_rows_hint(&self) -> Option<usize> { Some(self.n - self.next) }
///     fn next_chunk(&mut self, buf: &mut [f64]) -> Result<usize, GmmError> {
///         let rows = (buf.len() / 2).min(self.n - self.next);
///         for (r, row) in buf.chunks_exact_mut(2).take(rows).enumerate() {
///             let i = (self.next + r) as f64;
///             row.copy_from_slice(&[i, 2.0 * i]);
///         }
///         self.next += rows;
///         Ok(rows)
///     }
/// }
///
/// let all = gaussmix::source::read_all(&mut Counting { next: 0, n: 5 })?;
/// assert_eq!(all.values[8..], [4.0, 8.0]);
/// // f32 comes for free (rounded from f64) unless a source reads f32 natively.
/// let mut buf = [0.0f32; 3];
/// assert_eq!(Counting { next: 1, n: 5 }.next_chunk_f32(&mut buf)?, 1);
/// assert_eq!(buf[..2], [1.0, 2.0]);
/// # Ok::<(), GmmError>(())
/// ```
pub trait ChunkSource {
    /// What can go wrong while reading; it converts into [`GmmError`] (usually as
    /// [`GmmError::Source`], keeping its message) where the library reports it.
    type Error: std::error::Error + Into<GmmError>;

    /// Number of features (columns) of every row; at least 1.
    fn n_features(&self) -> usize;

    /// The features' names (e.g. a CSV header), if the source has them.
    fn feature_names(&self) -> Option<&[String]> {
        None
    }

    /// How many rows remain, if the source knows (an NPY header does; a text stream
    /// may not). A hint only: consumers must not trust it for memory or correctness.
    fn n_rows_hint(&self) -> Option<usize> {
        None
    }

    /// Reads the next rows as f64 into `buf` (room for `buf.len() / n_features()`
    /// rows); returns how many rows were written, `0` at the end.
    fn next_chunk(&mut self, buf: &mut [f64]) -> std::result::Result<usize, Self::Error>;

    /// Reads the next rows as f32, like [`next_chunk`](Self::next_chunk). The default
    /// reads f64 and rounds (values beyond f32's range become infinite: consumers
    /// check finiteness, as [`Data::from_slice_f32`] does); sources holding f32 data
    /// override it to copy without the detour.
    fn next_chunk_f32(&mut self, buf: &mut [f32]) -> std::result::Result<usize, Self::Error> {
        let mut wide = vec![0.0f64; buf.len()];
        let rows = self.next_chunk(&mut wide)?;
        let used = rows.saturating_mul(self.n_features());
        for (o, v) in buf.iter_mut().zip(wide.iter().take(used)) {
            *o = *v as f32;
        }
        Ok(rows)
    }
}

impl<S: ChunkSource + ?Sized> ChunkSource for &mut S {
    type Error = S::Error;
    fn n_features(&self) -> usize {
        (**self).n_features()
    }
    fn feature_names(&self) -> Option<&[String]> {
        (**self).feature_names()
    }
    fn n_rows_hint(&self) -> Option<usize> {
        (**self).n_rows_hint()
    }
    fn next_chunk(&mut self, buf: &mut [f64]) -> std::result::Result<usize, Self::Error> {
        (**self).next_chunk(buf)
    }
    fn next_chunk_f32(&mut self, buf: &mut [f32]) -> std::result::Result<usize, Self::Error> {
        (**self).next_chunk_f32(buf)
    }
}

impl<S: ChunkSource + ?Sized> ChunkSource for Box<S> {
    type Error = S::Error;
    fn n_features(&self) -> usize {
        (**self).n_features()
    }
    fn feature_names(&self) -> Option<&[String]> {
        (**self).feature_names()
    }
    fn n_rows_hint(&self) -> Option<usize> {
        (**self).n_rows_hint()
    }
    fn next_chunk(&mut self, buf: &mut [f64]) -> std::result::Result<usize, Self::Error> {
        (**self).next_chunk(buf)
    }
    fn next_chunk_f32(&mut self, buf: &mut [f32]) -> std::result::Result<usize, Self::Error> {
        (**self).next_chunk_f32(buf)
    }
}

/// A [`ChunkSource`] over a row-major slice already in memory (for tests, and for
/// code that takes any source).
///
/// ```
/// use gaussmix::source::{ChunkSource, SliceSource};
///
/// let mut s = SliceSource::new(&[1.0, 2.0, 3.0], 1)?;
/// assert_eq!(s.n_rows_hint(), Some(3));
/// let mut buf = [0.0f32; 2];
/// assert_eq!(s.next_chunk_f32(&mut buf)?, 2);
/// assert_eq!(s.n_rows_hint(), Some(1));
/// assert!(SliceSource::new(&[1.0, 2.0, 3.0], 2).is_err()); // not whole rows
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SliceSource<'a> {
    values: &'a [f64],
    n_features: usize,
    /// Values handed out so far.
    pos: usize,
}

impl<'a> SliceSource<'a> {
    /// Rows of `n_features` values each; `values.len()` must be a multiple of it (≥ 1).
    pub fn new(values: &'a [f64], n_features: usize) -> Result<Self> {
        if n_features == 0 || !values.len().is_multiple_of(n_features) {
            return Err(GmmError::InvalidData(format!(
                "{} values are not whole rows of {n_features} features; give at least one feature and a multiple of it",
                values.len()
            )));
        }
        Ok(SliceSource {
            values,
            n_features,
            pos: 0,
        })
    }

    fn take(&mut self, room: usize) -> (usize, &'a [f64]) {
        let rest = self.values.get(self.pos..).unwrap_or_default();
        let rows = (room / self.n_features).min(rest.len() / self.n_features);
        let taken = rest.get(..rows * self.n_features).unwrap_or_default();
        self.pos += taken.len();
        (rows, taken)
    }
}

impl ChunkSource for SliceSource<'_> {
    type Error = GmmError;

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn n_rows_hint(&self) -> Option<usize> {
        Some(self.values.len().saturating_sub(self.pos) / self.n_features)
    }

    fn next_chunk(&mut self, buf: &mut [f64]) -> Result<usize> {
        let (rows, taken) = self.take(buf.len());
        for (o, v) in buf.iter_mut().zip(taken) {
            *o = *v;
        }
        Ok(rows)
    }

    fn next_chunk_f32(&mut self, buf: &mut [f32]) -> Result<usize> {
        let (rows, taken) = self.take(buf.len());
        for (o, v) in buf.iter_mut().zip(taken) {
            *o = *v as f32;
        }
        Ok(rows)
    }
}

/// A whole source in memory: row-major values in the precision they were read in
/// ([`read_all`] gives f64, [`read_all_f32`] f32).
///
/// ```
/// use gaussmix::source::Dataset;
///
/// let d = Dataset { values: vec![1.0f32, 2.0, 3.0, 4.0], n_rows: 2, n_features: 2, feature_names: None };
/// let data = d.data()?; // f32 data, checked
/// assert_eq!((data.n_samples(), data.n_features(), data.is_f32()), (2, 2, true));
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<T = f64> {
    /// `n_rows × n_features` values, row after row.
    pub values: Vec<T>,
    /// Number of rows read.
    pub n_rows: usize,
    /// Number of features (columns), at least 1.
    pub n_features: usize,
    /// The source's feature names, if it had them (`n_features` of them).
    pub feature_names: Option<Vec<String>>,
}

impl Dataset<f64> {
    /// The values as the [`Data`] a fit takes (checks shape and finiteness; an empty
    /// dataset is refused here).
    pub fn data(&self) -> Result<Data<'_>> {
        Data::from_slice(&self.values, self.n_rows, self.n_features)
    }
}

impl Dataset<f32> {
    /// The values as the [`Data`] a fit takes, in f32 (checks shape and finiteness; an
    /// empty dataset is refused here).
    pub fn data(&self) -> Result<Data<'_>> {
        Data::from_slice_f32(&self.values, self.n_rows, self.n_features)
    }
}

/// Reads every remaining row of `source` as f64.
///
/// Errors: the source's own (as [`GmmError`]), a source with no features, or one that
/// breaks the [`ChunkSource`] contract (more rows than fit, names that do not match
/// the features).
///
/// ```
/// use gaussmix::source::{read_all, SliceSource};
/// let d = read_all(&mut SliceSource::new(&[0.5; 6], 3)?)?;
/// assert_eq!((d.n_rows, d.n_features, d.feature_names), (2, 3, None));
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
pub fn read_all<S: ChunkSource + ?Sized>(source: &mut S) -> Result<Dataset<f64>> {
    drain(source, |s, buf| s.next_chunk(buf))
}

/// Reads every remaining row of `source` as f32 (natively where the source holds f32,
/// else rounded); errors as for [`read_all`].
///
/// ```
/// use gaussmix::source::{read_all_f32, SliceSource};
/// let d = read_all_f32(&mut SliceSource::new(&[0.1, 0.2], 1)?)?;
/// assert_eq!(d.values, [0.1f32, 0.2]);
/// assert!(d.data()?.is_f32());
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
pub fn read_all_f32<S: ChunkSource + ?Sized>(source: &mut S) -> Result<Dataset<f32>> {
    drain(source, |s, buf| s.next_chunk_f32(buf))
}

fn contract(message: String) -> GmmError {
    GmmError::Source {
        message: format!("{message}; this is a bug in the data source, not in the data"),
    }
}

fn drain<S: ChunkSource + ?Sized, T: Copy + Default>(
    source: &mut S,
    mut next: impl FnMut(&mut S, &mut [T]) -> std::result::Result<usize, S::Error>,
) -> Result<Dataset<T>> {
    let d = source.n_features();
    if d == 0 {
        return Err(GmmError::InvalidData(
            "the data source has no columns; give data with at least one feature".into(),
        ));
    }
    let feature_names = source.feature_names().map(<[String]>::to_vec);
    if let Some(names) = &feature_names {
        if names.len() != d {
            return Err(contract(format!(
                "the data source names {} features but has {d}",
                names.len()
            )));
        }
    }
    let rows = (CHUNK_VALUES / d).max(1);
    let room = rows * d; // ≤ max(CHUNK_VALUES, d): no overflow
    let mut values: Vec<T> = Vec::new();
    if let Some(hint) = source.n_rows_hint() {
        // Best effort: a failed reservation only means growing as rows arrive.
        let _ = values.try_reserve_exact(hint.saturating_mul(d).min(MAX_RESERVE));
    }
    loop {
        let start = values.len();
        values.resize(start + room, T::default());
        let got = next(source, &mut values[start..]).map_err(Into::into)?;
        if got > rows {
            return Err(contract(format!(
                "the data source reported {got} rows read into room for {rows}"
            )));
        }
        values.truncate(start + got * d);
        if got == 0 {
            break;
        }
    }
    values.shrink_to_fit();
    Ok(Dataset {
        n_rows: values.len() / d,
        values,
        n_features: d,
        feature_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `step` rows per call, whatever the room.
    struct Trickle<'a> {
        inner: SliceSource<'a>,
        step: usize,
    }

    impl ChunkSource for Trickle<'_> {
        type Error = GmmError;
        fn n_features(&self) -> usize {
            self.inner.n_features()
        }
        fn next_chunk(&mut self, buf: &mut [f64]) -> Result<usize> {
            let room = self.step.saturating_mul(self.n_features()).min(buf.len());
            self.inner.next_chunk(&mut buf[..room])
        }
    }

    #[test]
    fn drains_short_reads_and_many_chunks() {
        let values: Vec<f64> = (0..3 * 50_000).map(|i| i as f64).collect();
        for step in [1, 7, 100_000] {
            let mut s = Trickle {
                inner: SliceSource::new(&values[..3 * 1000], 3).unwrap(),
                step,
            };
            let d = read_all(&mut s).unwrap();
            assert_eq!((d.n_rows, d.n_features), (1000, 3));
            assert_eq!(d.values, values[..3000]);
        }
        // More than one internal chunk, and the default f32 path.
        let mut s = Trickle {
            inner: SliceSource::new(&values, 3).unwrap(),
            step: usize::MAX / 8,
        };
        let d = read_all_f32(&mut s).unwrap();
        assert_eq!(d.n_rows, 50_000);
        assert!(d.values.iter().zip(&values).all(|(a, b)| *a == *b as f32));
    }

    struct Liar {
        d: usize,
        names: Option<Vec<String>>,
        extra: usize,
    }

    impl ChunkSource for Liar {
        type Error = GmmError;
        fn n_features(&self) -> usize {
            self.d
        }
        fn feature_names(&self) -> Option<&[String]> {
            self.names.as_deref()
        }
        fn n_rows_hint(&self) -> Option<usize> {
            Some(usize::MAX)
        }
        fn next_chunk(&mut self, buf: &mut [f64]) -> Result<usize> {
            Ok(buf.len() / self.d.max(1) + self.extra)
        }
    }

    #[test]
    fn contract_breaches_are_errors_not_panics() {
        let e = read_all(&mut Liar {
            d: 0,
            names: None,
            extra: 0,
        })
        .unwrap_err();
        assert!(e.to_string().contains("no columns"), "{e}");
        let e = read_all(&mut Liar {
            d: 2,
            names: None,
            extra: 1,
        })
        .unwrap_err();
        assert!(e.to_string().contains("rows read into room for"), "{e}");
        let e = read_all_f32(&mut Liar {
            d: 2,
            names: Some(vec!["a".into()]),
            extra: 0,
        })
        .unwrap_err();
        assert!(e.to_string().contains("names 1 features but has 2"), "{e}");
        assert!(SliceSource::new(&[], 0).is_err());
    }

    #[test]
    fn empty_source_gives_an_empty_dataset_that_data_refuses() {
        let d = read_all(&mut SliceSource::new(&[], 2).unwrap()).unwrap();
        assert_eq!((d.n_rows, d.values.len()), (0, 0));
        assert!(d.data().is_err());
    }
}

/// Rows read by position, on demand: a file that a streamed fit reads again on every
/// pass instead of holding it in memory ([`Data::from_reader`]).
///
/// Every pass reads the same fixed chunks of rows as an in-memory fit (workers read
/// their own groups of chunks concurrently, hence `&self` and `Sync`), so a streamed
/// fit equals the in-memory fit of the same values bit for bit. Readers hand out
/// finite values only: a non-finite value, like an I/O error, is an error naming the
/// row and column.
///
/// ```
/// use std::sync::Arc;
/// use gaussmix::source::{RowReader, SliceReader};
/// use gaussmix::{Data, GaussianMixture};
///
/// let values: Vec<f64> = (0..400).map(|i| (i % 2) as f64 * 10.0 + (i % 7) as f64 * 0.1).collect();
/// let in_memory = Data::from_slice(&values, 200, 2)?;
/// let streamed = Data::from_reader(Arc::new(SliceReader::new(values.clone(), 2)?))?;
/// let opts = GaussianMixture::params(2).seed(3);
/// assert_eq!(opts.fit(&in_memory)?.means(), opts.fit(&streamed)?.means());
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
pub trait RowReader: Send + Sync + std::fmt::Debug {
    /// Number of rows.
    fn n_rows(&self) -> usize;
    /// Number of features (at least 1).
    fn n_features(&self) -> usize;
    /// Whether the values are stored as f32 (the fit then computes as for f32 data).
    fn is_f32(&self) -> bool {
        false
    }
    /// Reads rows `[start, end)` as f64 into `buf` (exactly `(end − start) ×
    /// n_features()` values).
    fn read_f64(&self, start: usize, end: usize, buf: &mut [f64]) -> Result<()>;
    /// Reads rows `[start, end)` as f32; the default rounds [`read_f64`](Self::read_f64)'s
    /// values. Readers of f32 files override it.
    fn read_f32(&self, start: usize, end: usize, buf: &mut [f32]) -> Result<()> {
        let mut wide = vec![0.0f64; buf.len()];
        self.read_f64(start, end, &mut wide)?;
        for (o, v) in buf.iter_mut().zip(&wide) {
            *o = *v as f32;
        }
        Ok(())
    }
}

/// A [`RowReader`] over values in memory (for tests and examples); counts the rows it
/// has read.
#[derive(Debug)]
pub struct SliceReader {
    values: Vec<f64>,
    d: usize,
    read: std::sync::atomic::AtomicUsize,
}

impl SliceReader {
    /// Rows of `n_features` values; `values.len()` must be a multiple of it (≥ 1).
    pub fn new(values: Vec<f64>, n_features: usize) -> Result<Self> {
        SliceSource::new(&values, n_features)?;
        Ok(SliceReader {
            values,
            d: n_features,
            read: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Rows read so far (every pass reads every row again).
    pub fn rows_read(&self) -> usize {
        self.read.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl RowReader for SliceReader {
    fn n_rows(&self) -> usize {
        self.values.len() / self.d
    }
    fn n_features(&self) -> usize {
        self.d
    }
    fn read_f64(&self, start: usize, end: usize, buf: &mut [f64]) -> Result<()> {
        let src = start
            .checked_mul(self.d)
            .zip(end.checked_mul(self.d))
            .and_then(|(a, b)| self.values.get(a..b))
            .filter(|s| s.len() == buf.len())
            .ok_or_else(|| GmmError::Source {
                message: format!(
                    "rows {start}..{end} are not in 0..{} (or the buffer is not their size)",
                    self.n_rows()
                ),
            })?;
        buf.copy_from_slice(src);
        self.read
            .fetch_add(end - start, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}
