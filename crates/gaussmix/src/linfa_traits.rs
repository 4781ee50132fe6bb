//! linfa's traits (the `linfa` feature): [`GmmOptions`] is a linfa `Fit` and the fitted
//! [`GaussianMixture`] a linfa `PredictInplace`, so code written against linfa's
//! `GaussianMixtureModel` switches by changing the parameters' constructor.
//!
//! ```
//! use gaussmix::GaussianMixture;
//! use linfa::prelude::*;
//! use ndarray::array;
//!
//! let x = array![[0.0, 0.1], [0.2, -0.1], [10.0, 10.2], [10.1, 9.9]];
//! let dataset = DatasetBase::from(x.clone());
//! // `Fit::fit` (the inherent `GmmOptions::fit` takes a matrix or `Data`).
//! let model = Fit::fit(&GaussianMixture::params(2).seed(1), &dataset)?;
//! // linfa's `Predict` (the inherent `predict` returns a `Result`).
//! let labels: ndarray::Array1<usize> = Predict::predict(&model, &x);
//! assert_eq!(labels[0], labels[1]);
//! assert_ne!(labels[0], labels[2]);
//! # Ok::<(), gaussmix::GmmError>(())
//! ```
//!
//! Dataset weights (`Dataset::with_weights`) are used as sample weights. linfa's
//! `predict` cannot report an error: rows the model refuses (wrong width, non-finite
//! values) get the label `usize::MAX`, never a valid component; call
//! [`GaussianMixture::predict`] directly to get the reason.

use ::linfa::dataset::{DatasetBase, Records};
use ::linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, ArrayBase, Data as Storage, Ix2};

use crate::data::Data;
use crate::error::GmmError;
use crate::model::GaussianMixture;
use crate::options::GmmOptions;

impl<S: Storage<Elem = f64>, T> Fit<ArrayBase<S, Ix2>, T, GmmError> for GmmOptions
where
    ArrayBase<S, Ix2>: Records,
{
    type Object = GaussianMixture;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<S, Ix2>, T>,
    ) -> Result<GaussianMixture, GmmError> {
        let x = dataset.records().view();
        let weights: Option<Vec<f64>> = dataset
            .weights()
            .map(|w| w.iter().map(|v| f64::from(*v)).collect());
        let data = Data::from_view(x)?;
        let data = match &weights {
            Some(w) => data.with_weights(w)?,
            None => data,
        };
        GmmOptions::fit(self, &data)
    }
}

impl<S: Storage<Elem = f64>> PredictInplace<ArrayBase<S, Ix2>, Array1<usize>> for GaussianMixture {
    fn predict_inplace(&self, x: &ArrayBase<S, Ix2>, y: &mut Array1<usize>) {
        let labels = GaussianMixture::predict(self, &x.view());
        match labels {
            Ok(l) if l.len() == y.len() => y.assign(&l),
            // linfa's trait has no error channel: mark every row as refused.
            _ => y.fill(usize::MAX),
        }
    }

    fn default_target(&self, x: &ArrayBase<S, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use ndarray::array;

    #[test]
    fn linfa_fit_and_predict_agree_with_the_native_api() {
        let x = array![[0.0], [0.3], [0.1], [8.0], [8.4], [8.2], [8.1]];
        let opts = GaussianMixture::params(2).seed(4);
        let native = opts.fit(&x).unwrap();
        let via_linfa = Fit::fit(&opts, &DatasetBase::from(x.clone())).unwrap();
        assert_eq!(native, via_linfa);
        let labels: Array1<usize> = Predict::predict(&via_linfa, &x);
        assert_eq!(labels, native.predict(&x).unwrap());
        // Weights as sample weights: zero weight on the last row equals dropping it.
        let w = DatasetBase::from(x.clone()).with_weights(array![1., 1., 1., 1., 1., 1., 0.]);
        let weighted = Fit::fit(&opts, &w).unwrap();
        let dropped = opts.fit(&x.slice(ndarray::s![..6, ..]).to_owned()).unwrap();
        for (a, b) in weighted.means().iter().zip(dropped.means()) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        // A refused row set is marked, not labelled.
        let bad = array![[f64::NAN], [0.0]];
        let mut y = Array1::zeros(2);
        via_linfa.predict_inplace(&bad, &mut y);
        assert_eq!(y, array![usize::MAX, usize::MAX]);
    }
}
