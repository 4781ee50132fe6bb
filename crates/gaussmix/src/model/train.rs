//! Fitting from the options' side: `GmmOptions::fit` and friends return a
//! [`GaussianMixture`] (the fit itself, in `crate::fit`, knows nothing of this type).

use ndarray::Array1;

use super::GaussianMixture;
use crate::data::AsData;
use crate::error::Result;
use crate::fit::Progress;
use crate::options::{GmmOptions, StartParameters};

impl StartParameters {
    /// Starting parameters taken from a model (for warm starts and `--init-model`).
    pub fn from_model(model: &GaussianMixture) -> Self {
        StartParameters {
            weights: Some(model.weights().to_owned()),
            means: Some(model.means().to_owned()),
            covariances: Some(model.covariances().clone()),
            precisions: None,
        }
    }
}

impl GmmOptions {
    /// Continue from a fitted model: its parameters become the starting point and its
    /// covariance type and component count are used (scikit-learn's `warm_start`); its
    /// feature names too, unless names were set.
    ///
    /// ```
    /// use gaussmix::GaussianMixture;
    /// use ndarray::array;
    /// let x = array![[0.0], [0.3], [5.0], [5.4]];
    /// let first = GaussianMixture::params(2).max_iter(1).fit(&x)?;
    /// let more = GaussianMixture::params(1).warm_start(&first).fit(&x)?;
    /// assert_eq!(more.n_components(), 2);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn warm_start(mut self, model: &GaussianMixture) -> Self {
        self.covariance_type = model.covariance_type();
        self.n_components = model.n_components();
        self.start = StartParameters::from_model(model);
        if self.feature_names.is_none() {
            self.feature_names = model.feature_names.clone();
        }
        self
    }

    /// Fits a mixture to the rows of `x` (`n_samples × n_features`; a [`crate::Data`]
    /// may carry sample weights).
    ///
    /// ```
    /// let x = ndarray::array![[0.0], [0.2], [0.1], [9.0], [9.2], [9.1]];
    /// let m = gaussmix::GaussianMixture::params(2).fit(&x)?;
    /// assert_eq!(m.n_features(), 1);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn fit<X: AsData + ?Sized>(&self, x: &X) -> Result<GaussianMixture> {
        self.fit_with_progress(x, &mut |_| {})
    }

    /// Like [`GmmOptions::fit`], calling `progress` after every EM iteration.
    pub fn fit_with_progress<X: AsData + ?Sized>(
        &self,
        x: &X,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<GaussianMixture> {
        let data = x.as_data()?;
        let (params, record) = crate::fit::fit(self, &data, progress)?;
        Ok(GaussianMixture {
            params,
            fit: Some(record),
            feature_names: self.feature_names.clone(),
            online: None,
        })
    }

    /// Fits, then labels the training rows (scikit-learn's `fit_predict`).
    ///
    /// ```
    /// let x = ndarray::array![[0.0], [0.2], [9.0], [9.2]];
    /// let (model, labels) = gaussmix::GaussianMixture::params(2).seed(3).fit_predict(&x)?;
    /// assert_eq!(labels, model.predict(&x)?);
    /// assert_eq!(labels[0], labels[1]);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn fit_predict<X: AsData + ?Sized>(
        &self,
        x: &X,
    ) -> Result<(GaussianMixture, Array1<usize>)> {
        let data = x.as_data()?;
        let model = self.fit(data.as_ref())?;
        let labels = model.predict(data.as_ref())?;
        Ok((model, labels))
    }

    /// Runs exactly one EM iteration from the starting parameters and returns the new
    /// model and the mean log-likelihood of the start (for checks and teaching).
    pub fn one_step<X: AsData + ?Sized>(&self, x: &X) -> Result<(GaussianMixture, f64)> {
        let data = x.as_data()?;
        if let Some(names) = &self.feature_names {
            crate::options::check_feature_names(names, Some(data.n_features()))?;
        }
        let (params, l) = crate::fit::one_step(self, &data)?;
        Ok((
            GaussianMixture {
                params,
                fit: None,
                feature_names: self.feature_names.clone(),
                online: None,
            },
            l,
        ))
    }
}
