//! Borrowed input data: a row-major `n×d` matrix and optional per-row weights,
//! validated once before any work.

pub mod source;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use ndarray::{Array2, ArrayView2};

use crate::error::{GmmError, Result};
use source::RowReader;

/// Widest column spread a fit accepts: squares of differences must stay far from
/// f64's overflow at ~1.8e308.
const MAX_SPAN: f64 = 1e150;

/// `len` values must fill an `n_rows × n_cols` matrix exactly.
fn check_len(len: usize, n_rows: usize, n_cols: usize) -> Result<()> {
    let expected = n_rows
        .checked_mul(n_cols)
        .ok_or_else(|| GmmError::InvalidData(format!("shape {n_rows}×{n_cols} overflows")))?;
    if len != expected {
        return Err(GmmError::InvalidData(format!(
            "{len} values do not fill a {n_rows}×{n_cols} matrix ({expected} values)"
        )));
    }
    Ok(())
}

/// The values, in the precision they were given in: in memory, or read from a
/// [`RowReader`] on every pass.
#[derive(Clone, Debug)]
enum Values<'a> {
    F64(Cow<'a, [f64]>),
    F32(Cow<'a, [f32]>),
    Streamed(Stream),
}

/// A reader and the first error any pass met reading it. Passes cannot fail half-way
/// (they run on worker threads and return statistics), so a failed read fills its rows
/// with zeros, records the error here, and the fit returns the error instead of the
/// statistics built on those zeros.
#[derive(Clone, Debug)]
struct Stream {
    reader: Arc<dyn RowReader>,
    error: Arc<Mutex<Option<GmmError>>>,
}

impl Stream {
    fn record(&self, e: GmmError) {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(e);
        }
    }
}

/// Buffers a worker reads streamed rows into (unused for data in memory).
#[derive(Default, Debug)]
pub(crate) struct RowBuf {
    f64: Vec<f64>,
    f32: Vec<f32>,
}

/// A run of consecutive rows in the data's own precision.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rows<'a> {
    F64(&'a [f64]),
    F32(&'a [f32]),
}

impl<'a> Rows<'a> {
    /// The rows as f64: borrowed when they are f64, converted into `buf` when f32.
    pub fn as_f64<'s>(self, buf: &'s mut Vec<f64>) -> &'s [f64]
    where
        'a: 's,
    {
        match self {
            Rows::F64(r) => r,
            Rows::F32(r) => {
                buf.clear();
                buf.extend(r.iter().map(|v| *v as f64));
                buf
            }
        }
    }
}

/// A validated, borrowed, row-major data matrix (f64, or f32 for half the memory and
/// faster products) with optional sample weights.
#[derive(Clone, Debug)]
pub struct Data<'a> {
    x: Values<'a>,
    n: usize,
    d: usize,
    weights: Option<Cow<'a, [f64]>>,
}

impl<'a> Data<'a> {
    /// Wraps a row-major slice of `n_rows × n_cols` values, checking shape and finiteness.
    ///
    /// ```
    /// let x = [0.0, 1.0, 2.0, 3.0];
    /// let data = gaussmix::Data::from_slice(&x, 2, 2).unwrap();
    /// assert_eq!(data.n_samples(), 2);
    /// assert!(gaussmix::Data::from_slice(&x, 3, 2).is_err());
    /// ```
    pub fn from_slice(x: &'a [f64], n_rows: usize, n_cols: usize) -> Result<Self> {
        check_len(x.len(), n_rows, n_cols)?;
        Self::checked(Values::F64(Cow::Borrowed(x)), n_rows, n_cols)
    }

    /// Wraps a row-major f32 slice. Fitting f32 data computes in f32 where that pays (full
    /// covariances through the anchored kernel, diag and spherical products: up to
    /// about 1.8× faster on large data) and accumulates statistics in f64.
    ///
    /// ```
    /// let x = [0.0f32, 0.1, 5.0, 5.1];
    /// let data = gaussmix::Data::from_slice_f32(&x, 4, 1).unwrap();
    /// assert!(data.is_f32());
    /// ```
    pub fn from_slice_f32(x: &'a [f32], n_rows: usize, n_cols: usize) -> Result<Self> {
        check_len(x.len(), n_rows, n_cols)?;
        Self::checked(Values::F32(Cow::Borrowed(x)), n_rows, n_cols)
    }

    /// Wraps an f32 ndarray view; a view that is not row-major contiguous is copied once.
    pub fn from_view_f32(x: ArrayView2<'a, f32>) -> Result<Self> {
        let (n, d) = x.dim();
        let cow: Cow<'a, [f32]> = match x.to_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(x.iter().copied().collect()),
        };
        Self::checked(Values::F32(cow), n, d)
    }

    /// Whether the values are f32.
    pub fn is_f32(&self) -> bool {
        match &self.x {
            Values::F32(_) => true,
            Values::F64(_) => false,
            Values::Streamed(s) => s.reader.is_f32(),
        }
    }

    /// Wraps an ndarray view; a view that is not row-major contiguous is copied once.
    pub fn from_view(x: ArrayView2<'a, f64>) -> Result<Self> {
        let (n, d) = x.dim();
        let cow: Cow<'a, [f64]> = match x.to_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(x.iter().copied().collect()),
        };
        Self::checked(Values::F64(cow), n, d)
    }

    fn checked(x: Values<'a>, n: usize, d: usize) -> Result<Self> {
        if n == 0 {
            return Err(GmmError::InvalidData(
                "the data has no rows; at least one sample is needed".into(),
            ));
        }
        if d == 0 {
            return Err(GmmError::InvalidData(
                "the data has no columns; at least one feature is needed".into(),
            ));
        }
        let bad = match &x {
            Values::F64(v) => v.iter().position(|v| !v.is_finite()).map(|p| (p, v[p])),
            Values::F32(v) => v
                .iter()
                .position(|v| !v.is_finite())
                .map(|p| (p, v[p] as f64)),
            // Readers refuse non-finite values as they read them.
            Values::Streamed(_) => None,
        };
        if let Some((pos, value)) = bad {
            return Err(GmmError::NonFinite {
                row: pos / d,
                column: pos % d,
                value,
            });
        }
        Ok(Data {
            x,
            n,
            d,
            weights: None,
        })
    }

    /// Attaches per-row sample weights (non-negative, finite, not all zero). A weight of
    /// `w` counts a row as if it appeared `w` times.
    pub fn with_weights(mut self, w: &'a [f64]) -> Result<Self> {
        if w.len() != self.n {
            return Err(GmmError::InvalidData(format!(
                "{} sample weights given for {} rows; give exactly one weight per row",
                w.len(),
                self.n
            )));
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(GmmError::InvalidData(format!(
                "sample weight {} at row {i} is not a finite non-negative number",
                w[i]
            )));
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return Err(GmmError::InvalidData(
                "all sample weights are zero; at least one row must have positive weight".into(),
            ));
        }
        self.weights = Some(Cow::Borrowed(w));
        Ok(self)
    }

    /// Number of rows.
    pub fn n_samples(&self) -> usize {
        self.n
    }
    /// Number of columns.
    pub fn n_features(&self) -> usize {
        self.d
    }
    /// Rows `[start, end)` in the data's own precision: borrowed from memory, or read
    /// into `buf` from a streamed file.
    pub(crate) fn rows<'s>(&'s self, start: usize, end: usize, buf: &'s mut RowBuf) -> Rows<'s> {
        let (a, b) = (start * self.d, end * self.d);
        match &self.x {
            Values::F64(v) => Rows::F64(&v[a..b]),
            Values::F32(v) => Rows::F32(&v[a..b]),
            Values::Streamed(s) => {
                if s.reader.is_f32() {
                    buf.f32.clear();
                    buf.f32.resize(b - a, 0.0);
                    if let Err(e) = s.reader.read_f32(start, end, &mut buf.f32) {
                        buf.f32.iter_mut().for_each(|v| *v = 0.0);
                        s.record(e);
                    }
                    Rows::F32(&buf.f32)
                } else {
                    buf.f64.clear();
                    buf.f64.resize(b - a, 0.0);
                    if let Err(e) = s.reader.read_f64(start, end, &mut buf.f64) {
                        buf.f64.iter_mut().for_each(|v| *v = 0.0);
                        s.record(e);
                    }
                    Rows::F64(&buf.f64)
                }
            }
        }
    }

    /// Data read from `reader` on every pass instead of held in memory: a fit reads
    /// the file once per EM iteration (plus its initialisation), in the same fixed
    /// chunks as an in-memory fit, so the result is the same bit for bit. Memory stays
    /// that of a few chunks per thread whatever the number of rows.
    ///
    /// A read that fails during a fit (an I/O error, a non-finite value) makes the fit
    /// return that error.
    ///
    /// Set [`GmmOptions::init_sample`](crate::GmmOptions::init_sample) for large
    /// files: the starts (em-EM's sampling weights, k-means++'s distances) otherwise
    /// keep a few numbers per row in memory.
    pub fn from_reader(reader: Arc<dyn RowReader>) -> Result<Data<'static>> {
        let (n, d) = (reader.n_rows(), reader.n_features());
        n.checked_mul(d)
            .ok_or_else(|| GmmError::InvalidData(format!("shape {n}×{d} overflows")))?;
        let stream = Stream {
            reader,
            error: Arc::new(Mutex::new(None)),
        };
        Data::checked(Values::Streamed(stream), n, d)
    }

    /// Whether the rows are read from a file on every pass.
    pub fn is_streamed(&self) -> bool {
        matches!(self.x, Values::Streamed(_))
    }

    /// Whether a read of streamed rows has failed (passes then stop early: what they
    /// compute from the zeros is thrown away).
    pub(crate) fn read_failed(&self) -> bool {
        match &self.x {
            Values::Streamed(s) => s.error.lock().map_or(true, |e| e.is_some()),
            _ => false,
        }
    }

    /// The first error reading streamed rows met, if any (taken: a later fit starts
    /// clean).
    pub(crate) fn take_read_error(&self) -> Option<GmmError> {
        match &self.x {
            Values::Streamed(s) => s.error.lock().ok().and_then(|mut e| e.take()),
            _ => None,
        }
    }

    /// Asks the CPU to start loading rows `[start, end)` into cache (a hint: rows past
    /// the end are ignored). Passes call it for the next chunk while working on this one,
    /// so that the first touch of each row does not wait on memory.
    #[inline]
    pub(crate) fn prefetch(&self, start: usize, end: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            let end = end.min(self.n);
            if start >= end {
                return;
            }
            let bytes: &[u8] = match &self.x {
                Values::F64(v) => bytemuck::cast_slice(&v[start * self.d..end * self.d]),
                Values::F32(v) => bytemuck::cast_slice(&v[start * self.d..end * self.d]),
                // The operating system reads ahead in the file.
                Values::Streamed(_) => return,
            };
            for line in bytes.chunks(64) {
                // SAFETY: SSE (for `prefetcht0`) is part of the x86-64 baseline; a prefetch
                // only hints and never faults, and the address is inside `bytes` anyway.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        line.as_ptr() as *const i8,
                    )
                };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (start, end);
    }

    /// Row `i` as f64 (a copy).
    pub fn row_f64(&self, i: usize) -> Vec<f64> {
        let mut buf = Vec::new();
        let mut rb = RowBuf::default();
        self.rows(i, i + 1, &mut rb).as_f64(&mut buf).to_vec()
    }

    /// Calls `f(row index, row as f64)` for rows `[start, end)`, converting f32 data a
    /// chunk at a time.
    pub(crate) fn for_each_row(&self, start: usize, end: usize, mut f: impl FnMut(usize, &[f64])) {
        let mut buf = Vec::new();
        let mut rb = RowBuf::default();
        for (cs, ce) in crate::parallel::chunks(start, end) {
            let rows = self.rows(cs, ce, &mut rb).as_f64(&mut buf);
            for (i, x) in rows.chunks_exact(self.d).enumerate() {
                f(cs + i, x);
            }
        }
    }
    /// Sample weights, if any.
    pub fn weights(&self) -> Option<&[f64]> {
        self.weights.as_deref()
    }
    /// Total weight (the number of rows when unweighted).
    pub fn total_weight(&self) -> f64 {
        match self.weights.as_deref() {
            Some(w) => w.iter().sum(),
            None => self.n as f64,
        }
    }
    /// Weighted per-column means and (biased) variances.
    pub(crate) fn column_moments(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.d;
        let tw = self.total_weight();
        // Summed about the first row, so a constant column's mean is exactly its value
        // (a mean rounded by ε·|x| would square to overflow beyond |x| ≈ 1e154).
        let first = if self.n > 0 {
            self.row_f64(0)
        } else {
            vec![0.0; d]
        };
        let mut sum = vec![0.0; d];
        self.for_each_row(0, self.n, |i, x| {
            let w = self.weights.as_deref().map_or(1.0, |w| w[i]);
            for ((s, x), f) in sum.iter_mut().zip(x).zip(&first) {
                *s += w * (x - f);
            }
        });
        let mean: Vec<f64> = sum.iter().zip(&first).map(|(s, f)| f + s / tw).collect();
        let mut var = vec![0.0; d];
        self.for_each_row(0, self.n, |i, x| {
            let w = self.weights.as_deref().map_or(1.0, |w| w[i]);
            for ((v, x), m) in var.iter_mut().zip(x).zip(&mean) {
                *v += w * (x - m) * (x - m);
            }
        });
        var.iter_mut().for_each(|v| *v /= tw);
        (mean, var)
    }

    /// Refuses columns whose spread would overflow squared distances; returns which
    /// columns are constant (every row holds the same value), which the fit's warnings
    /// report and the degenerate-component rule leaves out.
    pub(crate) fn check_range(&self) -> Result<Vec<bool>> {
        let (lo, hi) = self.column_range();
        check_spans(&lo, &hi)
    }

    /// Per column: the smallest and largest value.
    pub(crate) fn column_range(&self) -> (Vec<f64>, Vec<f64>) {
        let mut lo = vec![f64::INFINITY; self.d];
        let mut hi = vec![f64::NEG_INFINITY; self.d];
        self.for_each_row(0, self.n, |_, x| {
            for j in 0..x.len() {
                lo[j] = lo[j].min(x[j]);
                hi[j] = hi[j].max(x[j]);
            }
        });
        (lo, hi)
    }

    /// The rows `idx` (each must be below `n_samples`; `None` otherwise) as data of
    /// their own, with `weights` (one per row of `idx`), or without weights for `None`:
    /// em-EM screens its short runs on such a sample.
    pub(crate) fn subset(&self, idx: &[usize], weights: Option<Vec<f64>>) -> Option<Data<'static>> {
        if idx.is_empty()
            || idx.iter().any(|&i| i >= self.n)
            || weights.as_ref().is_some_and(|w| {
                w.len() != idx.len() || w.iter().any(|v| !(v.is_finite() && *v >= 0.0))
            })
        {
            return None;
        }
        let d = self.d;
        let x = match &self.x {
            Values::F64(v) => Values::F64(Cow::Owned(
                idx.iter()
                    .flat_map(|&i| &v[i * d..(i + 1) * d])
                    .copied()
                    .collect(),
            )),
            Values::F32(v) => Values::F32(Cow::Owned(
                idx.iter()
                    .flat_map(|&i| &v[i * d..(i + 1) * d])
                    .copied()
                    .collect(),
            )),
            // Read into memory, one row at a time, in the data's own precision.
            Values::Streamed(s) => {
                let mut rb = RowBuf::default();
                if s.reader.is_f32() {
                    let mut out = Vec::with_capacity(idx.len() * d);
                    for &i in idx {
                        if let Rows::F32(r) = self.rows(i, i + 1, &mut rb) {
                            out.extend_from_slice(r);
                        }
                    }
                    Values::F32(Cow::Owned(out))
                } else {
                    let mut out = Vec::with_capacity(idx.len() * d);
                    for &i in idx {
                        if let Rows::F64(r) = self.rows(i, i + 1, &mut rb) {
                            out.extend_from_slice(r);
                        }
                    }
                    Values::F64(Cow::Owned(out))
                }
            }
        };
        let weights = weights.map(Cow::Owned);
        Some(Data {
            x,
            n: idx.len(),
            d,
            weights,
        })
    }

    /// Number of rows with positive weight.
    pub(crate) fn n_effective_rows(&self) -> usize {
        match self.weights.as_deref() {
            Some(w) => w.iter().filter(|v| **v > 0.0).count(),
            None => self.n,
        }
    }

    /// The weight of one row, for rules that count rows (an empty component holds less
    /// than half a row; a spurious one fewer rows than its covariance needs): 1 without
    /// weights, else the smallest positive weight — weights are counts ("a row of weight
    /// 3 counts as three rows"), and a light row is a row too (the average weight made
    /// 12 rows of weight 5 beside 200 of weight 100 "less than half a row").
    pub(crate) fn row_unit(&self) -> f64 {
        match self.weights.as_deref() {
            Some(w) => w
                .iter()
                .copied()
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min)
                .min(f64::MAX),
            None => 1.0,
        }
    }
}

/// The constant columns of data whose columns range over `[lo, hi]`; an error when a
/// span is too wide for squared distances (or not finite).
pub(crate) fn check_spans(lo: &[f64], hi: &[f64]) -> Result<Vec<bool>> {
    for (j, (&lo, &hi)) in lo.iter().zip(hi).enumerate() {
        let span = hi - lo;
        if !(span.is_finite() && span <= MAX_SPAN) {
            return Err(GmmError::InvalidData(format!(
                "column {j} spans {lo:e} to {hi:e}: squared distances would overflow; rescale it (e.g. standardise the data) before fitting"
            )));
        }
    }
    Ok(lo.iter().zip(hi).map(|(l, h)| l == h).collect())
}

/// Anything the model can read rows from: [`Data`] (validated once, may carry sample
/// weights), or an ndarray matrix or view of `f64` or `f32` (`n_samples × n_features`,
/// validated on each call). Every method that takes data takes `&impl AsData`.
///
/// ```
/// use gaussmix::{Data, GaussianMixture};
/// use ndarray::array;
/// let x = array![[0.0], [0.2], [5.0], [5.2]];
/// let model = GaussianMixture::params(2).fit(&x)?;
/// let data = Data::from_view(x.view())?;
/// assert_eq!(model.predict(&x)?, model.predict(&data)?);
/// assert_eq!(model.predict(&x.view())?, model.predict(&x.mapv(|v| v as f32))?);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
pub trait AsData {
    /// The rows as validated data, borrowed where possible.
    fn as_data(&self) -> Result<Cow<'_, Data<'_>>>;
}

impl<T: AsData + ?Sized> AsData for &T {
    fn as_data(&self) -> Result<Cow<'_, Data<'_>>> {
        (**self).as_data()
    }
}

impl AsData for Data<'_> {
    fn as_data(&self) -> Result<Cow<'_, Data<'_>>> {
        Ok(Cow::Borrowed(self))
    }
}

impl AsData for ArrayView2<'_, f64> {
    fn as_data(&self) -> Result<Cow<'_, Data<'_>>> {
        Data::from_view(self.view()).map(Cow::Owned)
    }
}

impl AsData for Array2<f64> {
    fn as_data(&self) -> Result<Cow<'_, Data<'_>>> {
        Data::from_view(self.view()).map(Cow::Owned)
    }
}

impl AsData for ArrayView2<'_, f32> {
    fn as_data(&self) -> Result<Cow<'_, Data<'_>>> {
        Data::from_view_f32(self.view()).map(Cow::Owned)
    }
}

impl AsData for Array2<f32> {
    fn as_data(&self) -> Result<Cow<'_, Data<'_>>> {
        Data::from_view_f32(self.view()).map(Cow::Owned)
    }
}
