//! The JSON model file: versioned, self-describing, validated on load.
//!
//! Parameter fields use the fixtures' names and shapes (`weights` K, `means` K×D,
//! `covariances` per type). The minimal accepted form is an object with
//! `covariance_type`, `weights`, `means` and `covariances`: exactly a fixture's `init`.
//!
//! Versions (the `version` field; a file without one is read as the newest):
//! - 1: parameters, shapes, and the fit's record (`fit`);
//! - 2: adds `feature_names` (a list of unique, non-empty names, one per
//!   feature, or `null`) at the top level and `fit.warnings` (a list of
//!   `{kind, component, feature, message}`). A version-1 file loads with no warnings,
//!   and with no names unless it carries a valid `feature_names` field (files saved by
//!   the Python package before version 2 did; invalid ones are dropped, not refused);
//! - 3 (written now): adds `online` (the running statistics of online EM, `partial_fit`: a model file
//!   holding them is a checkpoint to continue from) and the option
//!   `fit.options.step_exponent`; files without them load as before;
//! - anything newer is refused with a message to upgrade gaussmix.

use ndarray::{Array1, Array2, Array3};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::covariance::{CovarianceType, Covariances};
use crate::error::{GmmError, Result};
use crate::fit::FitRecord;
use crate::model::GaussianMixture;

/// The model-file format version this build writes and the newest it reads.
pub const MODEL_VERSION: u32 = 3;
const FORMAT: &str = "gaussmix-model";

/// The file's fields, as written; [`GaussianMixture`] serialises through it and
/// deserialises through its validation (`TryFrom`).
#[derive(Serialize, Deserialize)]
pub(crate) struct ModelFile {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    version: Option<u32>,
    covariance_type: CovarianceType,
    #[serde(default)]
    n_components: Option<usize>,
    #[serde(default)]
    n_features: Option<usize>,
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    covariances: Value,
    /// Version 2: one name per feature, or null.
    #[serde(default)]
    feature_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fit: Option<FitRecord>,
    /// Version 3: online EM's running state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    online: Option<crate::fit::OnlineState>,
}

fn bad(msg: impl Into<String>) -> GmmError {
    GmmError::InvalidModel(msg.into())
}

fn as_vec(v: &Value, what: &str) -> Result<Vec<f64>> {
    let arr = v
        .as_array()
        .ok_or_else(|| bad(format!("{what} must be a list of numbers")))?;
    arr.iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_f64()
                .ok_or_else(|| bad(format!("{what}[{i}] is {x}, not a number")))
        })
        .collect()
}

fn as_matrix(v: &Value, rows: usize, cols: usize, what: &str) -> Result<Vec<f64>> {
    let arr = v
        .as_array()
        .ok_or_else(|| bad(format!("{what} must be a nested list")))?;
    if arr.len() != rows {
        return Err(bad(format!(
            "{what} has {} rows, expected {rows}",
            arr.len()
        )));
    }
    let mut out = Vec::with_capacity(rows * cols);
    for (i, r) in arr.iter().enumerate() {
        let row = as_vec(r, &format!("{what}[{i}]"))?;
        if row.len() != cols {
            return Err(bad(format!(
                "{what}[{i}] has {} values, expected {cols}",
                row.len()
            )));
        }
        out.extend(row);
    }
    Ok(out)
}

fn shape_err(e: ndarray::ShapeError) -> GmmError {
    bad(e.to_string())
}

fn parse_covariances(kind: CovarianceType, v: &Value, k: usize, d: usize) -> Result<Covariances> {
    let what = "covariances";
    Ok(match kind {
        CovarianceType::Full => {
            let arr = v
                .as_array()
                .ok_or_else(|| bad("covariances (full) must be a K×D×D nested list"))?;
            if arr.len() != k {
                return Err(bad(format!(
                    "covariances (full) has {} matrices for {k} components",
                    arr.len()
                )));
            }
            let mut flat = Vec::with_capacity(k * d * d);
            for (c, m) in arr.iter().enumerate() {
                flat.extend(as_matrix(m, d, d, &format!("{what}[{c}]"))?);
            }
            Covariances::Full(Array3::from_shape_vec((k, d, d), flat).map_err(shape_err)?)
        }
        CovarianceType::Tied => Covariances::Tied(
            Array2::from_shape_vec((d, d), as_matrix(v, d, d, "covariances (tied)")?)
                .map_err(shape_err)?,
        ),
        CovarianceType::Diag => Covariances::Diag(
            Array2::from_shape_vec((k, d), as_matrix(v, k, d, "covariances (diag)")?)
                .map_err(shape_err)?,
        ),
        CovarianceType::Spherical => {
            let s = as_vec(v, "covariances (spherical)")?;
            if s.len() != k {
                return Err(bad(format!(
                    "covariances (spherical) has {} values for {k} components",
                    s.len()
                )));
            }
            Covariances::Spherical(Array1::from_vec(s))
        }
    })
}

fn covariances_value(c: &Covariances) -> Value {
    let mat = |a: ndarray::ArrayView2<f64>| -> Value {
        Value::from(a.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>())
    };
    match c {
        Covariances::Full(a) => Value::Array(a.outer_iter().map(mat).collect()),
        Covariances::Tied(a) | Covariances::Diag(a) => mat(a.view()),
        Covariances::Spherical(a) => Value::from(a.to_vec()),
    }
}

impl GaussianMixture {
    /// The model as pretty-printed JSON (floats in shortest round-trip form).
    ///
    /// ```
    /// # use gaussmix::{GaussianMixture, Covariances};
    /// # use ndarray::array;
    /// let m = GaussianMixture::from_parameters(
    ///     array![0.25, 0.75], array![[0.0], [3.0]],
    ///     Covariances::Spherical(array![1.0, 2.0]))?;
    /// let back = GaussianMixture::from_json(&m.to_json())?;
    /// assert_eq!(m, back);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn to_json(&self) -> String {
        // Serialising plain numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a model from JSON, validating every field before use (the same as
    /// deserialising a [`GaussianMixture`] with serde, with "not a gaussmix model
    /// file" errors for JSON that is not one).
    pub fn from_json(text: &str) -> Result<Self> {
        let file: ModelFile = serde_json::from_str(text)
            .map_err(|e| bad(format!("not a gaussmix model file: {e}")))?;
        GaussianMixture::try_from(file)
    }
}

impl From<GaussianMixture> for ModelFile {
    fn from(m: GaussianMixture) -> Self {
        ModelFile {
            format: Some(FORMAT.into()),
            version: Some(MODEL_VERSION),
            covariance_type: m.covariance_type(),
            n_components: Some(m.n_components()),
            n_features: Some(m.n_features()),
            weights: m.weights().to_vec(),
            means: m.means().rows().into_iter().map(|r| r.to_vec()).collect(),
            covariances: covariances_value(m.covariances()),
            feature_names: m.feature_names,
            fit: m.fit,
            online: m.online,
        }
    }
}

impl TryFrom<ModelFile> for GaussianMixture {
    type Error = GmmError;

    /// Every field checked: format and version, shapes against each other, finite
    /// values, weights summing to 1, positive definite covariances.
    fn try_from(file: ModelFile) -> Result<Self> {
        if let Some(f) = &file.format {
            if f != FORMAT {
                return Err(bad(format!("format is {f:?}, expected {FORMAT:?}")));
            }
        }
        if let Some(v) = file.version {
            if v == 0 || v > MODEL_VERSION {
                return Err(bad(format!(
                    "model file version {v} is not understood by this build (it reads versions 1 to {MODEL_VERSION}); upgrade gaussmix"
                )));
            }
        }
        let k = file.weights.len();
        if k == 0 {
            return Err(bad(
                "weights is empty; a model needs at least one component",
            ));
        }
        if let Some(nc) = file.n_components {
            if nc != k {
                return Err(bad(format!(
                    "n_components is {nc} but there are {k} weights"
                )));
            }
        }
        if file.means.len() != k {
            return Err(bad(format!(
                "means has {} rows but there are {k} weights",
                file.means.len()
            )));
        }
        let d = file.means[0].len();
        if d == 0 {
            return Err(bad("means[0] is empty; a model needs at least one feature"));
        }
        if let Some(nf) = file.n_features {
            if nf != d {
                return Err(bad(format!(
                    "n_features is {nf} but means have {d} columns"
                )));
            }
        }
        let means_v = Value::from(file.means.clone());
        let means = Array2::from_shape_vec((k, d), as_matrix(&means_v, k, d, "means")?)
            .map_err(shape_err)?;
        let cov = parse_covariances(file.covariance_type, &file.covariances, k, d)?;
        let mut model =
            GaussianMixture::from_parameters(Array1::from_vec(file.weights), means, cov)?;
        let mut names = file.feature_names;
        if let Some(n) = &names {
            match crate::options::check_feature_names(n, Some(d)) {
                Ok(()) => {}
                // Version 1 had no names: an extra field (the Python package wrote one
                // before version 2) is kept only when valid, never a reason to refuse.
                Err(_) if file.version == Some(1) => names = None,
                Err(GmmError::InvalidOption { message, .. }) => {
                    return Err(bad(format!("feature_names: {message}")))
                }
                Err(e) => return Err(e),
            }
        }
        model.feature_names = names;
        model.fit = file.fit;
        if let Some(state) = &file.online {
            state.check(file.covariance_type, k, d)?;
        }
        model.online = file.online;
        if file.version == Some(1) {
            // Version 1 had no warnings: whatever a hand-edited file holds is dropped.
            if let Some(f) = &mut model.fit {
                f.warnings.clear();
            }
        }
        Ok(model)
    }
}
