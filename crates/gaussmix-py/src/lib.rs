//! `gaussmix._native`: the thin PyO3 layer between the Python package `gaussmix` and the
//! Rust library. Numbers only: the scikit-learn estimator semantics live in Python
//! (`python/gaussmix/`), every computation here.
//!
//! - Data arrive as C-contiguous `float64` or `float32` numpy arrays and are borrowed,
//!   never copied (the Python side converts anything else once).
//! - Every call that touches the data runs with the GIL released.
//! - Every library error becomes a `ValueError` carrying the library's message.
//! - Data files are read by `gaussmix-io`, the CLI's readers (`read_data`).

mod blocks;

use gaussmix::select::{select as select_models, Criterion, SelectOptions};
use gaussmix::{
    kmeans, CovarianceType, Covariances, Data, GaussianMixture, GmmError, GmmOptions, InitMethod,
    Precisions, Progress,
};
use gaussmix_io::{ReadError, ReadOptions};
use ndarray::{Array1, Array2, Array3};
use numpy::{
    PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

create_exception!(
    _native,
    RunFailed,
    PyValueError,
    "An EM run failed on its own terms (a covariance that is not positive definite, a \
     numerical failure), not because of its input: another initialization may succeed."
);

/// A library error as the `ValueError` Python users expect, with the library's message.
fn value_error(e: GmmError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Like [`value_error`], but a failure of the run itself is a [`RunFailed`] (a
/// `ValueError` subclass), so the caller can try the next initialization.
fn fit_error(e: GmmError) -> PyErr {
    match e {
        GmmError::NotPositiveDefinite { .. } | GmmError::Numerical(_) => {
            RunFailed::new_err(e.to_string())
        }
        other => value_error(other),
    }
}

/// The data matrix, borrowed from numpy (read-only borrow for the call's duration).
enum Input<'py> {
    F64(PyReadonlyArray2<'py, f64>),
    F32(PyReadonlyArray2<'py, f32>),
}

/// The same matrix as a plain slice, which may cross into a GIL-free closure.
#[derive(Clone, Copy)]
enum Rows<'a> {
    F64(&'a [f64]),
    F32(&'a [f32]),
}

impl<'py> Input<'py> {
    fn new(x: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = x.cast::<PyArray2<f64>>() {
            return Ok(Input::F64(a.try_readonly().map_err(|e| {
                PyValueError::new_err(format!("X cannot be read: {e}"))
            })?));
        }
        if let Ok(a) = x.cast::<PyArray2<f32>>() {
            return Ok(Input::F32(a.try_readonly().map_err(|e| {
                PyValueError::new_err(format!("X cannot be read: {e}"))
            })?));
        }
        Err(PyTypeError::new_err(
            "X must be a 2-D numpy array of float64 or float32",
        ))
    }

    /// Rows, columns and the values in row-major order; refuses anything not
    /// C-contiguous (the Python side makes it so: a Fortran array's slice would be read
    /// column by column).
    fn rows(&self) -> PyResult<(Rows<'_>, usize, usize)> {
        fn slice<'a, T: numpy::Element>(
            a: &'a PyReadonlyArray2<'_, T>,
        ) -> PyResult<(&'a [T], usize, usize)> {
            if !a.is_c_contiguous() {
                return Err(PyValueError::new_err(
                    "X must be C-contiguous (numpy.ascontiguousarray)",
                ));
            }
            let (n, d) = (a.shape()[0], a.shape()[1]);
            let s = a
                .as_slice()
                .map_err(|e| PyValueError::new_err(format!("X cannot be read: {e}")))?;
            Ok((s, n, d))
        }
        Ok(match self {
            Input::F64(a) => {
                let (s, n, d) = slice(a)?;
                (Rows::F64(s), n, d)
            }
            Input::F32(a) => {
                let (s, n, d) = slice(a)?;
                (Rows::F32(s), n, d)
            }
        })
    }
}

impl<'a> Rows<'a> {
    /// Validated library data (shape, finiteness), with optional sample weights.
    fn data(self, n: usize, d: usize, weights: Option<&'a [f64]>) -> Result<Data<'a>, GmmError> {
        let data = match self {
            Rows::F64(s) => Data::from_slice(s, n, d)?,
            Rows::F32(s) => Data::from_slice_f32(s, n, d)?,
        };
        match weights {
            Some(w) => data.with_weights(w),
            None => Ok(data),
        }
    }
}

fn weights_slice<'a>(w: &'a Option<PyReadonlyArray1<'_, f64>>) -> PyResult<Option<&'a [f64]>> {
    match w {
        None => Ok(None),
        Some(w) => w
            .as_slice()
            .map(Some)
            .map_err(|_| PyValueError::new_err("sample_weight must be contiguous")),
    }
}

fn parse_kind(s: &str) -> PyResult<CovarianceType> {
    s.parse::<CovarianceType>().map_err(value_error)
}

/// Per-type covariance-shaped array (`full` K×D×D, `tied` D×D, `diag` K×D,
/// `spherical` K) from numpy.
fn covariances_from_array(
    kind: CovarianceType,
    a: &PyReadonlyArrayDyn<'_, f64>,
    what: &str,
) -> PyResult<Covariances> {
    let shape = a.shape().to_vec();
    let values: Vec<f64> = a.as_array().iter().copied().collect();
    let bad = |expected: &str| {
        PyValueError::new_err(format!(
            "{what} for covariance_type={kind} must have shape {expected}, got {shape:?}"
        ))
    };
    let shape_err = |e: ndarray::ShapeError| PyValueError::new_err(e.to_string());
    Ok(match kind {
        CovarianceType::Full => {
            if shape.len() != 3 {
                return Err(bad("(n_components, n_features, n_features)"));
            }
            Covariances::Full(
                Array3::from_shape_vec((shape[0], shape[1], shape[2]), values)
                    .map_err(shape_err)?,
            )
        }
        CovarianceType::Tied | CovarianceType::Diag => {
            if shape.len() != 2 {
                return Err(bad(if kind == CovarianceType::Tied {
                    "(n_features, n_features)"
                } else {
                    "(n_components, n_features)"
                }));
            }
            let m = Array2::from_shape_vec((shape[0], shape[1]), values).map_err(shape_err)?;
            if kind == CovarianceType::Tied {
                Covariances::Tied(m)
            } else {
                Covariances::Diag(m)
            }
        }
        CovarianceType::Spherical => {
            if shape.len() != 1 {
                return Err(bad("(n_components,)"));
            }
            Covariances::Spherical(Array1::from_vec(values))
        }
    })
}

/// A per-type array as numpy, in its per-type shape.
fn covariances_to_numpy<'py>(
    py: Python<'py>,
    c: &Covariances,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    array_to_numpy(py, c.to_array())
}

/// A dynamic-dimensional array as numpy.
fn array_to_numpy<'py>(
    py: Python<'py>,
    a: ndarray::ArrayD<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let shape = a.shape().to_vec();
    let values: Vec<f64> = a.iter().copied().collect();
    PyArray1::from_vec(py, values).reshape(shape)
}

fn matrix_to_numpy<'py>(
    py: Python<'py>,
    m: ndarray::ArrayView2<'_, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (r, c) = m.dim();
    PyArray1::from_vec(py, m.iter().copied().collect()).reshape([r, c])
}

/// Rows and labels (`sample`), or labels and centres (`kmeans_labels`).
type Pair<'py, A, B> = (Bound<'py, A>, Bound<'py, B>);

fn labels_to_numpy(py: Python<'_>, labels: Vec<usize>) -> Bound<'_, PyArray1<i64>> {
    PyArray1::from_vec(py, labels.into_iter().map(|v| v as i64).collect())
}

/// A fitted (or loaded) mixture. Immutable; pickles as its JSON model file.
#[pyclass(module = "gaussmix._native", name = "Model", frozen)]
struct Model {
    inner: GaussianMixture,
}

impl Model {
    /// Runs `f` on the borrowed data with the GIL released.
    fn with_data<T: Send>(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        f: impl FnOnce(&GaussianMixture, &Data) -> Result<T, GmmError> + Send,
    ) -> PyResult<T> {
        let input = Input::new(x)?;
        let (rows, n, d) = input.rows()?;
        let inner = &self.inner;
        py.detach(move || {
            let data = rows.data(n, d, None)?;
            f(inner, &data)
        })
        .map_err(value_error)
    }
}

#[pymethods]
impl Model {
    /// A model from explicit parameters, validated like a model file.
    #[staticmethod]
    fn from_parameters(
        covariance_type: &str,
        weights: PyReadonlyArray1<'_, f64>,
        means: PyReadonlyArray2<'_, f64>,
        covariances: PyReadonlyArrayDyn<'_, f64>,
    ) -> PyResult<Self> {
        let kind = parse_kind(covariance_type)?;
        let w = weights.as_array().to_owned();
        let m = means.as_array();
        let means = Array2::from_shape_vec(m.dim(), m.iter().copied().collect())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let w = Array1::from_vec(w.iter().copied().collect());
        let cov = covariances_from_array(kind, &covariances, "covariances")?;
        let inner = GaussianMixture::from_parameters(w, means, cov).map_err(value_error)?;
        Ok(Model { inner })
    }

    /// Reads the JSON model file format (validated).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        let inner = py
            .detach(|| GaussianMixture::from_json(text))
            .map_err(value_error)?;
        Ok(Model { inner })
    }

    /// The spurious components on `x` (the restarts' rule; see the library's
    /// `GaussianMixture::spurious_components`).
    #[pyo3(signature = (x, reg_covar, sample_weight=None))]
    fn spurious_components(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        reg_covar: f64,
        sample_weight: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<Vec<usize>> {
        let input = Input::new(x)?;
        let (rows, n, d) = input.rows()?;
        let w = weights_slice(&sample_weight)?;
        let inner = &self.inner;
        py.detach(move || {
            let data = rows.data(n, d, w)?;
            inner.spurious_components(&data, reg_covar)
        })
        .map_err(value_error)
    }

    /// One batch of online (stepwise) EM: a new model and the batch's mean
    /// log-likelihood. `step_exponent` / `average_from`, when given, are set first
    /// (`GaussianMixture::with_online_options`). The GIL is released.
    #[pyo3(signature = (x, *, sample_weight=None, step_exponent=None, average_from=None))]
    fn partial_fit(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        sample_weight: Option<PyReadonlyArray1<'_, f64>>,
        step_exponent: Option<f64>,
        average_from: Option<u64>,
    ) -> PyResult<(Model, f64)> {
        let mut inner = self.inner.clone();
        if let Some(k) = step_exponent {
            inner = inner
                .with_online_options(k, average_from)
                .map_err(value_error)?;
        }
        let input = Input::new(x)?;
        let (rows, n, d) = input.rows()?;
        let w = weights_slice(&sample_weight)?;
        let l = py
            .detach(|| {
                let data = rows.data(n, d, w)?;
                inner.partial_fit(&data)
            })
            .map_err(value_error)?;
        Ok((Model { inner }, l))
    }

    /// Ends online EM's pass under way: a new model and the pass's mean
    /// log-likelihood (`None` when no batch was seen since the last pass ended).
    fn end_pass(&self) -> (Model, Option<f64>) {
        let mut inner = self.inner.clone();
        let l = inner.end_pass();
        (Model { inner }, l)
    }

    /// The JSON model file (the CLI's format).
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let f = py.import("gaussmix._native")?.getattr("_model_from_json")?;
        let args = PyTuple::new(py, [self.inner.to_json()])?;
        PyTuple::new(py, [f, args.into_any()])
    }

    fn __repr__(&self) -> String {
        format!(
            "Model(covariance_type={:?}, n_components={}, n_features={})",
            self.inner.covariance_type().as_str(),
            self.inner.n_components(),
            self.inner.n_features()
        )
    }

    #[getter]
    fn covariance_type(&self) -> &'static str {
        self.inner.covariance_type().as_str()
    }
    /// Batches online EM has seen (`None` for a model without its running state).
    #[getter]
    fn online_batches(&self) -> Option<u64> {
        self.inner.online_state().map(|s| s.batches())
    }
    #[getter]
    fn n_components(&self) -> usize {
        self.inner.n_components()
    }
    #[getter]
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }
    #[getter]
    fn n_parameters(&self) -> usize {
        self.inner.n_parameters()
    }
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.inner.weights().to_vec())
    }
    #[getter]
    fn means<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        matrix_to_numpy(py, self.inner.means())
    }
    #[getter]
    fn covariances<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        covariances_to_numpy(py, self.inner.covariances())
    }
    #[getter]
    fn precisions_cholesky<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        array_to_numpy(py, self.inner.precisions_cholesky().to_array())
    }
    /// The feature names the model carries (`None` when it has none).
    #[getter]
    fn feature_names(&self) -> Option<Vec<String>> {
        self.inner.feature_names().map(<[String]>::to_vec)
    }
    /// The fit's warnings as `(kind, component, feature, message)` tuples, in the
    /// library's order (empty for a model built from parameters).
    #[getter]
    fn warnings(&self) -> Vec<(String, Option<usize>, Option<usize>, String)> {
        self.inner.fit_record().map_or_else(Vec::new, |r| {
            r.warnings
                .iter()
                .map(|w| {
                    (
                        w.kind.as_str().to_string(),
                        w.component,
                        w.feature,
                        w.message.clone(),
                    )
                })
                .collect()
        })
    }
    /// The fit record as JSON (`None` for a model built from parameters).
    #[getter]
    fn record_json(&self) -> Option<String> {
        self.inner
            .fit_record()
            .and_then(|r| serde_json::to_string(r).ok())
    }

    /// The most likely component of every row.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let labels = self.with_data(py, x, |m, d| m.predict(d))?;
        Ok(labels_to_numpy(py, labels.to_vec()))
    }

    /// Responsibilities, `N×K`.
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let p = self.with_data(py, x, |m, d| m.predict_proba(d))?;
        let (n, k) = p.dim();
        PyArray1::from_vec(py, p.into_raw_vec_and_offset().0).reshape([n, k])
    }

    /// `log p(x)` of every row.
    fn score_samples<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let s = self.with_data(py, x, |m, d| m.score_samples(d))?;
        Ok(PyArray1::from_vec(py, s.to_vec()))
    }

    /// `n` draws and the component of each.
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
    ) -> PyResult<Pair<'py, PyArray2<f64>, PyArray1<i64>>> {
        let inner = &self.inner;
        let (x, labels) = py.detach(|| inner.sample(n, seed)).map_err(value_error)?;
        let d = x.ncols();
        let xs = PyArray1::from_vec(py, x.into_raw_vec_and_offset().0).reshape([n, d])?;
        Ok((xs, labels_to_numpy(py, labels.to_vec())))
    }
}

/// Unpickling: a model from its JSON model file.
#[pyfunction]
fn _model_from_json(py: Python<'_>, text: &str) -> PyResult<Model> {
    Model::from_json(py, text)
}

/// Fit options, named as the library names them.
#[allow(clippy::too_many_arguments)]
fn options(
    n_components: usize,
    covariance_type: &str,
    tol: f64,
    reg_covar: f64,
    max_iter: usize,
    n_init: usize,
    init: &str,
    seed: u64,
    n_threads: Option<usize>,
    recover: bool,
    variance_floor: Option<f64>,
) -> PyResult<GmmOptions> {
    let mut b = GaussianMixture::params(n_components)
        .covariance_type(parse_kind(covariance_type)?)
        .tol(tol)
        .reg_covar(reg_covar)
        .max_iter(max_iter)
        .n_init(n_init)
        .init(init.parse::<InitMethod>().map_err(value_error)?)
        .seed(seed)
        .recover(recover);
    if let Some(t) = n_threads {
        b = b.n_threads(t);
    }
    if let Some(v) = variance_floor {
        b = b.variance_floor(v);
    }
    b.validate().map_err(value_error)?;
    Ok(b)
}

/// One call of the library's fit (all restarts, EM, final E-step) with the GIL
/// released. `progress(run, iteration, lower_bound, change)` is called after every EM
/// iteration when given (it takes the GIL for that moment only).
#[pyfunction]
#[pyo3(signature = (
    x, *, sample_weight=None, n_components, covariance_type="full", tol=1e-3,
    reg_covar=1e-6, max_iter=100, n_init=1, init="kmeans++", seed=0, n_threads=None,
    recover=false, variance_floor=None, weights_init=None, means_init=None,
    covariances_init=None, precisions_init=None, progress=None, feature_names=None
))]
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    sample_weight: Option<PyReadonlyArray1<'_, f64>>,
    n_components: usize,
    covariance_type: &str,
    tol: f64,
    reg_covar: f64,
    max_iter: usize,
    n_init: usize,
    init: &str,
    seed: u64,
    n_threads: Option<usize>,
    recover: bool,
    variance_floor: Option<f64>,
    weights_init: Option<PyReadonlyArray1<'_, f64>>,
    means_init: Option<PyReadonlyArray2<'_, f64>>,
    covariances_init: Option<PyReadonlyArrayDyn<'_, f64>>,
    precisions_init: Option<PyReadonlyArrayDyn<'_, f64>>,
    progress: Option<Py<PyAny>>,
    feature_names: Option<Vec<String>>,
) -> PyResult<Model> {
    let mut opts = options(
        n_components,
        covariance_type,
        tol,
        reg_covar,
        max_iter,
        n_init,
        init,
        seed,
        n_threads,
        recover,
        variance_floor,
    )?;
    let kind = opts.covariance_type;
    // The model carries them and the fit's warnings name features by them.
    opts = opts.feature_names(feature_names);
    if let Some(w) = &weights_init {
        opts.start.weights = Some(Array1::from_vec(w.as_array().iter().copied().collect()));
    }
    if let Some(m) = &means_init {
        let v = m.as_array();
        opts.start.means = Some(
            Array2::from_shape_vec(v.dim(), v.iter().copied().collect())
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        );
    }
    if let Some(c) = &covariances_init {
        opts.start.covariances = Some(covariances_from_array(kind, c, "covariances_init")?);
    }
    if let Some(p) = &precisions_init {
        opts.start.precisions = Some(match covariances_from_array(kind, p, "precisions_init")? {
            Covariances::Full(a) => Precisions::Full(a),
            Covariances::Tied(a) => Precisions::Tied(a),
            Covariances::Diag(a) => Precisions::Diag(a),
            Covariances::Spherical(a) => Precisions::Spherical(a),
        });
    }
    let input = Input::new(x)?;
    let (rows, n, d) = input.rows()?;
    let w = weights_slice(&sample_weight)?;
    let model = py
        .detach(move || {
            let data = rows.data(n, d, w)?;
            match progress {
                None => opts.fit(&data),
                Some(cb) => opts.fit_with_progress(&data, &mut |p: &Progress| {
                    Python::attach(|py| {
                        // A failing callback (e.g. a closed stdout) must not stop the fit.
                        let _ = cb.call1(py, (p.run, p.iteration, p.lower_bound, p.change));
                    })
                }),
            }
        })
        .map_err(fit_error)?;
    Ok(Model { inner: model })
}

/// The rows greedy k-means++ picks (weighted by `sample_weight`), from seed `seed`.
#[pyfunction]
#[pyo3(signature = (x, n_clusters, seed, sample_weight=None))]
fn kmeans_plus_plus<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_clusters: usize,
    seed: u64,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let input = Input::new(x)?;
    let (rows, n, d) = input.rows()?;
    let w = weights_slice(&sample_weight)?;
    let picks = py
        .detach(move || {
            let data = rows.data(n, d, w)?;
            kmeans::KMeans::params(n_clusters)
                .seed(seed)
                .plus_plus_indices(&data)
        })
        .map_err(value_error)?;
    Ok(labels_to_numpy(py, picks))
}

/// Lloyd's k-means from k-means++ seeds: the label of every row (its nearest final
/// centre) and the centres.
#[pyfunction]
#[pyo3(signature = (x, n_clusters, seed, max_iter=300, sample_weight=None))]
fn kmeans_labels<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_clusters: usize,
    seed: u64,
    max_iter: usize,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Pair<'py, PyArray1<i64>, PyArray2<f64>>> {
    let input = Input::new(x)?;
    let (rows, n, d) = input.rows()?;
    let w = weights_slice(&sample_weight)?;
    let (labels, centers) = py
        .detach(move || {
            let data = rows.data(n, d, w)?;
            let fit = kmeans::KMeans::params(n_clusters)
                .seed(seed)
                .max_iter(max_iter.max(1))
                .fit(&data)?;
            Ok::<_, GmmError>((fit.labels, fit.centers))
        })
        .map_err(value_error)?;
    Ok((
        labels_to_numpy(py, labels),
        matrix_to_numpy(py, centers.view())?,
    ))
}

/// `k` distinct indices drawn uniformly from `candidates` (without replacement).
#[pyfunction]
fn choice<'py>(
    py: Python<'py>,
    candidates: PyReadonlyArray1<'py, i64>,
    k: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let c = candidates.as_array();
    if k > c.len() {
        return Err(PyValueError::new_err(format!(
            "cannot draw {k} distinct rows from {}",
            c.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let picks = rand::seq::index::sample(&mut rng, c.len(), k);
    Ok(PyArray1::from_vec(
        py,
        picks.into_iter().map(|i| c[i]).collect(),
    ))
}

/// An `n×k` matrix of uniform draws in `[0, 1)`.
#[pyfunction]
fn uniform<'py>(
    py: Python<'py>,
    n: usize,
    k: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let len = n
        .checked_mul(k)
        .ok_or_else(|| PyValueError::new_err("shape overflows"))?;
    let v = py.detach(move || {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| rng.gen::<f64>()).collect::<Vec<f64>>()
    });
    PyArray1::from_vec(py, v).reshape([n, k])
}

/// Model selection over `ks × covariance_types` (in parallel, library semantics).
/// Returns the ranked table as JSON (best first) and the best model.
#[pyfunction]
#[pyo3(signature = (
    x, *, sample_weight=None, ks, covariance_types, criterion="bic", tol=1e-3,
    reg_covar=1e-6, max_iter=100, n_init=1, init="kmeans++", seed=0, n_threads=None,
    recover=false, variance_floor=None
))]
#[allow(clippy::too_many_arguments)]
fn select(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    sample_weight: Option<PyReadonlyArray1<'_, f64>>,
    ks: Vec<usize>,
    covariance_types: Vec<String>,
    criterion: &str,
    tol: f64,
    reg_covar: f64,
    max_iter: usize,
    n_init: usize,
    init: &str,
    seed: u64,
    n_threads: Option<usize>,
    recover: bool,
    variance_floor: Option<f64>,
) -> PyResult<(String, Model)> {
    let fit = options(
        1,
        "full",
        tol,
        reg_covar,
        max_iter,
        n_init,
        init,
        seed,
        n_threads,
        recover,
        variance_floor,
    )?;
    let kinds = covariance_types
        .iter()
        .map(|s| parse_kind(s))
        .collect::<PyResult<Vec<_>>>()?;
    let criterion = criterion.parse::<Criterion>().map_err(value_error)?;
    let opts = SelectOptions::new(ks, kinds, criterion).with_fit_options(fit);
    let input = Input::new(x)?;
    let (rows, n, d) = input.rows()?;
    let w = weights_slice(&sample_weight)?;
    let sel = py
        .detach(move || {
            let data = rows.data(n, d, w)?;
            select_models(&data, &opts)
        })
        .map_err(value_error)?;
    let table =
        serde_json::to_string(&sel.candidates).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((table, Model { inner: sel.best }))
}

/// A reader's error: `FileNotFoundError` / `OSError` when the file cannot be read,
/// else `ValueError`; the message is the reader's (what, where, what to do).
fn read_error(e: ReadError) -> PyErr {
    match &e {
        ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(e.to_string())
        }
        ReadError::Io { .. } => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A data file's values and its column names (`read_data`).
type DataAndNames<'py> = (Bound<'py, PyArray2<f64>>, Option<Vec<String>>);

/// Reads a data file with the CLI's readers: CSV/TSV text (a first row without
/// numbers is a header; tab-delimited for .tsv/.tab, else commas unless `delimiter`
/// says otherwise, " " meaning any whitespace) or .npy (float64/float32, either order;
/// 1-D arrays are one column). Returns the values as a C-contiguous float64 array of
/// shape (n_samples, n_features) and the header's column names, or None without one.
#[pyfunction]
#[pyo3(signature = (path, *, delimiter=None))]
fn read_data<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    delimiter: Option<char>,
) -> PyResult<DataAndNames<'py>> {
    let mut opts = ReadOptions::default();
    opts.delimiter = delimiter;
    let table = py
        .detach(|| gaussmix_io::read_file(&path, &opts))
        .map_err(read_error)?;
    let names = table.feature_names().map(<[String]>::to_vec);
    let shape = [table.n_rows(), table.n_cols()];
    let x = PyArray1::from_vec(py, table.into_values()).reshape(shape)?;
    Ok((x, names))
}

/// One batch: the rows, and their weights when a weight column was read.
type Batch<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyArray1<f64>>>);

/// A data file read a batch of rows at a time (`gaussmix_io::TableChunks`: text by
/// lines, .npy by position), for `GaussianMixture.partial_fit_file`: iterating gives
/// (float64 array of shape (rows, features), weights or None) per batch.
#[pyclass(module = "gaussmix._native", name = "Batches", unsendable)]
struct Batches {
    chunks: gaussmix_io::TableChunks,
    size: usize,
    names: Option<Vec<String>>,
}

#[pymethods]
impl Batches {
    #[new]
    #[pyo3(signature = (path, batch_size, *, columns=None, exclude=None, weight_column=None, delimiter=None))]
    fn new(
        path: std::path::PathBuf,
        batch_size: usize,
        columns: Option<Vec<String>>,
        exclude: Option<Vec<String>>,
        weight_column: Option<String>,
        delimiter: Option<char>,
    ) -> PyResult<Self> {
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        let mut opts = ReadOptions::default();
        opts.delimiter = delimiter;
        opts.columns = columns;
        opts.exclude = exclude.unwrap_or_default();
        opts.weight_column = weight_column;
        let chunks = gaussmix_io::TableChunks::open(&path, &opts).map_err(read_error)?;
        Ok(Batches {
            chunks,
            size: batch_size,
            names: None,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Batch<'py>>> {
        let Some(t) = self.chunks.next_table(self.size).map_err(read_error)? else {
            return Ok(None);
        };
        if self.names.is_none() {
            self.names = t.feature_names().map(<[String]>::to_vec);
        }
        let w = t.weights().map(|w| PyArray1::from_vec(py, w.to_vec()));
        let shape = [t.n_rows(), t.n_cols()];
        let x = PyArray1::from_vec(py, t.into_values()).reshape(shape)?;
        Ok(Some((x.into_any(), w)))
    }

    /// The header's column names (after selection), once a batch has been read.
    #[getter]
    fn feature_names(&self) -> Option<Vec<String>> {
        self.names.clone()
    }
}

/// The Rust engine of the `gaussmix` package.
#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Batches>()?;
    m.add_class::<blocks::BlockStats>()?;
    m.add_class::<blocks::BlockEm>()?;
    m.add_function(wrap_pyfunction!(blocks::block_stats, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::_block_stats_from_bytes, m)?)?;
    m.add("RunFailed", m.py().get_type::<RunFailed>())?;
    m.add_function(wrap_pyfunction!(_model_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans_plus_plus, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans_labels, m)?)?;
    m.add_function(wrap_pyfunction!(choice, m)?)?;
    m.add_function(wrap_pyfunction!(uniform, m)?)?;
    m.add_function(wrap_pyfunction!(select, m)?)?;
    m.add_function(wrap_pyfunction!(read_data, m)?)?;
    m.add("MODEL_VERSION", gaussmix::MODEL_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
