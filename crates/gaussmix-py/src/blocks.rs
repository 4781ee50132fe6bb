//! EM over blocks for `gaussmix.dask`: a block's statistics computed on a worker (GIL
//! released), shipped as compact bytes (pickle), merged in block order on the client,
//! and the run's M-step and stopping rule (`gaussmix::blocks`).

use gaussmix::blocks::{BlockEm as Em, BlockStats as Stats};
use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::{options, value_error, weights_slice, Input, Model};

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
        .detach(move || {
            let data = rows.data(n, d, w)?;
            Stats::compute_many(&models, &data, n_threads)
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
    #[new]
    #[pyo3(signature = (
        start, *, tol, reg_covar, max_iter, variance_floor=None,
        previous_lower_bound=f64::NEG_INFINITY, first_offset=0.0, feature_names=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        start: &Model,
        tol: f64,
        reg_covar: f64,
        max_iter: usize,
        variance_floor: Option<f64>,
        previous_lower_bound: f64,
        first_offset: f64,
        feature_names: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let s = &start.inner;
        let opts = options(
            s.n_components(),
            s.covariance_type().as_str(),
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
        let em = Em::new(&opts, s)
            .map_err(value_error)?
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
