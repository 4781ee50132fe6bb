//! Borrowed input data: a row-major `n×d` matrix and optional per-row weights,
//! validated once before any work.

use std::borrow::Cow;

use ndarray::ArrayView2;

use crate::error::{GmmError, Result};

/// Widest column spread a fit accepts: squares of differences must stay far from
/// f64's overflow at ~1.8e308.
const MAX_SPAN: f64 = 1e150;

/// A validated, borrowed, row-major data matrix with optional sample weights.
#[derive(Clone, Debug)]
pub struct Data<'a> {
    x: Cow<'a, [f64]>,
    n: usize,
    d: usize,
    weights: Option<&'a [f64]>,
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
        let expected = n_rows
            .checked_mul(n_cols)
            .ok_or_else(|| GmmError::InvalidData(format!("shape {n_rows}×{n_cols} overflows")))?;
        if x.len() != expected {
            return Err(GmmError::InvalidData(format!(
                "{} values do not fill a {n_rows}×{n_cols} matrix ({expected} values)",
                x.len()
            )));
        }
        Self::checked(Cow::Borrowed(x), n_rows, n_cols)
    }

    /// Wraps an ndarray view; a view that is not row-major contiguous is copied once.
    pub fn from_view(x: ArrayView2<'a, f64>) -> Result<Self> {
        let (n, d) = x.dim();
        let cow: Cow<'a, [f64]> = match x.to_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(x.iter().copied().collect()),
        };
        Self::checked(cow, n, d)
    }

    fn checked(x: Cow<'a, [f64]>, n: usize, d: usize) -> Result<Self> {
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
        if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
            return Err(GmmError::NonFinite {
                row: pos / d,
                column: pos % d,
                value: x[pos],
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
        self.weights = Some(w);
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
    /// The row-major values.
    pub fn values(&self) -> &[f64] {
        &self.x
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
    /// Sample weights, if any.
    pub fn weights(&self) -> Option<&[f64]> {
        self.weights
    }
    /// Total weight (the number of rows when unweighted).
    pub fn total_weight(&self) -> f64 {
        match self.weights {
            Some(w) => w.iter().sum(),
            None => self.n as f64,
        }
    }
    /// Weighted per-column means and (biased) variances.
    pub(crate) fn column_moments(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.d;
        let tw = self.total_weight();
        let mut mean = vec![0.0; d];
        for i in 0..self.n {
            let w = self.weights.map_or(1.0, |w| w[i]);
            for (m, x) in mean.iter_mut().zip(self.row(i)) {
                *m += w * x;
            }
        }
        mean.iter_mut().for_each(|m| *m /= tw);
        let mut var = vec![0.0; d];
        for i in 0..self.n {
            let w = self.weights.map_or(1.0, |w| w[i]);
            for ((v, x), m) in var.iter_mut().zip(self.row(i)).zip(&mean) {
                *v += w * (x - m) * (x - m);
            }
        }
        var.iter_mut().for_each(|v| *v /= tw);
        (mean, var)
    }

    /// Refuses columns whose spread would overflow squared distances.
    pub(crate) fn check_range(&self) -> Result<()> {
        for j in 0..self.d {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for i in 0..self.n {
                let v = self.x[i * self.d + j];
                lo = lo.min(v);
                hi = hi.max(v);
            }
            let span = hi - lo;
            if !(span.is_finite() && span <= MAX_SPAN) {
                return Err(GmmError::InvalidData(format!(
                    "column {j} spans {lo:e} to {hi:e}: squared distances would overflow; rescale it (e.g. standardise the data) before fitting"
                )));
            }
        }
        Ok(())
    }

    /// Number of rows with positive weight.
    pub(crate) fn n_effective_rows(&self) -> usize {
        match self.weights {
            Some(w) => w.iter().filter(|v| **v > 0.0).count(),
            None => self.n,
        }
    }
}
