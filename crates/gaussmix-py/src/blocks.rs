//! EM over blocks for `gaussmix.dask`: a block's statistics computed on a worker (GIL
//! released), shipped as compact bytes (pickle), merged in block order on the client,
//! and the run's M-step and stopping rule (`gaussmix::blocks`).

use gaussmix::blocks::{BlockEm as Em, BlockStats as Stats};
use gaussmix::CovarianceType;
use ndarray::{Array1, Array2};
use numpy::{
    IntoPyArray, PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyReadonlyArrayDyn,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::{
    covariances_from_array, options, parse_kind, value_error, weights_slice, Input, Model,
};

/// One block's E-step statistics under one model (`gaussmix::blocks::BlockStats`):
/// `O(K·D²)` numbers whatever the block's rows. Pickles as its compact bytes.
#[pyclass(module = "gaussmix._native", name = "BlockStats", frozen)]
pub(crate) struct BlockStats {
    inner: Stats,
}

#[pymethods]
impl BlockStats {
    /// The statistics of a block without rows under `model`.
    #[staticmethod]
    fn empty(model: &Model) -> Self {
        BlockStats {
            inner: Stats::empty(&model.inner),
        }
    }

    /// The sum of `parts` (same parameters), left to right.
    #[staticmethod]
    fn merge(py: Python<'_>, parts: Vec<Py<BlockStats>>) -> PyResult<Self> {
        let stats: Vec<Stats> = parts.iter().map(|p| p.get().inner.clone()).collect();
        let inner = py.detach(|| Stats::merge(&stats)).map_err(value_error)?;
        Ok(BlockStats { inner })
    }

    /// Decodes `to_bytes`.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(BlockStats {
            inner: Stats::from_bytes(data).map_err(value_error)?,
        })
    }

    /// The compact encoding (what pickling ships).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let module = py.import("gaussmix._native")?;
        let load = module.getattr("_block_stats_from_bytes")?;
        let args = PyTuple::new(py, [self.to_bytes(py)])?;
        PyTuple::new(py, [load, args.into_any()])
    }

    #[getter]
    fn n_samples(&self) -> u64 {
        self.inner.n_samples()
    }

    #[getter]
    fn total_weight(&self) -> f64 {
        self.inner.total_weight()
    }

    #[getter]
    fn log_likelihood(&self) -> f64 {
        self.inner.log_likelihood()
    }

    /// Rows with positive weight.
    #[getter]
    fn n_weighted_samples(&self) -> u64 {
        self.inner.n_weighted_samples()
    }

    /// `Σ w r_k` per component, shape `(K,)`.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.counts().to_vec().into_pyarray(py)
    }

    /// `Σ w r_k (x − shift_k)`, shape `(K, D)`.
    #[getter]
    fn first_moments<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        self.shaped(py, self.inner.first_moments().to_vec(), false)
    }

    /// `Σ w r_k (x − shift_k)(x − shift_k)ᵀ`: full `(K, D, D)`, tied `(D, D)` (pooled),
    /// diag and spherical `(K, D)` (the diagonal).
    #[getter]
    fn second_moments<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        self.shaped(py, self.inner.second_moments(), true)
    }

    /// The point each component's moments are taken about, shape `(K, D)`.
    #[getter]
    fn shift<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        self.shaped(py, self.inner.shift().to_vec(), false)
    }

    /// The means of the parameters the statistics were computed under, `(K, D)`.
    #[getter]
    fn means<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        self.shaped(py, self.inner.means().to_vec(), false)
    }

    fn __repr__(&self) -> String {
        format!(
            "BlockStats({} rows, {} components, {} features, {})",
            self.inner.n_samples(),
            self.inner.n_components(),
            self.inner.n_features(),
            self.inner.covariance_type()
        )
    }
}

impl BlockStats {
    /// `v` as `(K, D)`, or the second moments' per-type shape.
    fn shaped<'py>(
        &self,
        py: Python<'py>,
        v: Vec<f64>,
        second: bool,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let (k, d) = (self.inner.n_components(), self.inner.n_features());
        let shape: Vec<usize> = match (second, self.inner.covariance_type()) {
            (true, CovarianceType::Full) => vec![k, d, d],
            (true, CovarianceType::Tied) => vec![d, d],
            _ => vec![k, d],
        };
        v.into_pyarray(py)
            .reshape(shape)
            .map(|a| a.to_dyn().clone())
    }
}

#[pyfunction]
pub(crate) fn _block_stats_from_bytes(data: &[u8]) -> PyResult<BlockStats> {
    BlockStats::from_bytes(data)
}

/// The statistics of block `x` (with `sample_weight`) under each of `models` (the runs
/// in progress), from one read of the block, with the GIL released.
#[pyfunction]
#[pyo3(signature = (models, x, sample_weight=None, n_threads=None))]
pub(crate) fn block_stats(
    py: Python<'_>,
    models: Vec<Py<Model>>,
    x: &Bound<'_, PyAny>,
    sample_weight: Option<PyReadonlyArray1<'_, f64>>,
    n_threads: Option<usize>,
) -> PyResult<Vec<BlockStats>> {
    let input = Input::new(x)?;
    let (rows, n, d) = input.rows()?;
    let w = weights_slice(&sample_weight)?;
    let models: Vec<&gaussmix::GaussianMixture> = models.iter().map(|m| &m.get().inner).collect();
    if n == 0 {
        return Ok(models
            .iter()
            .map(|m| BlockStats {
                inner: Stats::empty(m),
            })
            .collect());
    }
    let stats = py
        .detach(move || match w {
            // A block of weight 0 (its rows still count, as in memory).
            Some(w) if w.iter().all(|v| *v == 0.0) => {
                let data = rows.data(n, d, None)?;
                Stats::zero_weight(&models, &data)
            }
            _ => {
                let data = rows.data(n, d, w)?;
                Stats::compute_many(&models, &data, n_threads)
            }
        })
        .map_err(value_error)?;
    Ok(stats
        .into_iter()
        .map(|inner| BlockStats { inner })
        .collect())
}

/// One EM run over blocks (`gaussmix::blocks::BlockEm`).
#[pyclass(module = "gaussmix._native", name = "BlockEm")]
pub(crate) struct BlockEm {
    inner: Option<Em>,
}

impl BlockEm {
    fn em(&self) -> PyResult<&Em> {
        self.inner
            .as_ref()
            .ok_or_else(|| PyValueError::new_err("this EM run has finished"))
    }
}

#[pymethods]
impl BlockEm {
    /// A run from the starting `weights`, `means` and `covariances` (per-type shape);
    /// a start that is not positive definite raises `RunFailed`, as in memory.
    #[new]
    #[pyo3(signature = (
        covariance_type, weights, means, covariances, *, tol, reg_covar, max_iter,
        variance_floor=None, previous_lower_bound=f64::NEG_INFINITY, first_offset=0.0,
        feature_names=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        covariance_type: &str,
        weights: PyReadonlyArray1<'_, f64>,
        means: PyReadonlyArray2<'_, f64>,
        covariances: PyReadonlyArrayDyn<'_, f64>,
        tol: f64,
        reg_covar: f64,
        max_iter: usize,
        variance_floor: Option<f64>,
        previous_lower_bound: f64,
        first_offset: f64,
        feature_names: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let kind = parse_kind(covariance_type)?;
        let m = means.as_array();
        let means = Array2::from_shape_vec(m.dim(), m.iter().copied().collect())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let weights = Array1::from_vec(weights.as_array().iter().copied().collect());
        let cov = covariances_from_array(kind, &covariances, "covariances")?;
        let opts = options(
            means.nrows(),
            covariance_type,
            tol,
            reg_covar,
            max_iter,
            1,
            "kmeans++",
            0,
            None,
            false,
            variance_floor,
        )?
        .feature_names(feature_names);
        let em = Em::from_parameters(&opts, weights, means, cov)
            .map_err(crate::fit_error)?
            .previous_lower_bound(previous_lower_bound)
            .first_offset(first_offset);
        Ok(BlockEm { inner: Some(em) })
    }

    /// The current parameters (the next pass is made under these).
    #[getter]
    fn model(&self) -> PyResult<Model> {
        Ok(Model {
            inner: self.em()?.model(),
        })
    }

    /// One iteration from the merged statistics of a pass under `model`; returns its
    /// lower bound.
    fn step(&mut self, stats: &BlockStats) -> PyResult<f64> {
        let em = self
            .inner
            .as_mut()
            .ok_or_else(|| PyValueError::new_err("this EM run has finished"))?;
        em.step(&stats.inner).map_err(crate::fit_error)
    }

    #[getter]
    fn done(&self) -> PyResult<bool> {
        Ok(self.em()?.done())
    }

    #[getter]
    fn converged(&self) -> PyResult<bool> {
        Ok(self.em()?.converged())
    }

    #[getter]
    fn n_iter(&self) -> PyResult<usize> {
        Ok(self.em()?.n_iter())
    }

    #[getter]
    fn lower_bounds(&self) -> PyResult<Vec<f64>> {
        Ok(self.em()?.lower_bounds().to_vec())
    }

    /// The fitted model with its record, from the merged statistics of a final pass
    /// under `model`. Ends the run.
    fn finish(&mut self, stats: &BlockStats) -> PyResult<Model> {
        let em = self
            .inner
            .take()
            .ok_or_else(|| PyValueError::new_err("this EM run has finished"))?;
        let inner = em.finish(&stats.inner).map_err(crate::fit_error)?;
        Ok(Model { inner })
    }
}
