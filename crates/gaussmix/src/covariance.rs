//! The four covariance kinds: storage, precision Cholesky factors, log-determinants and
//! parameter counts.
//!
//! Internally every kind keeps the Cholesky factor of its *precision* (upper triangular
//! `U` with `Σ⁻¹ = U Uᵀ`), so that a log-density is a triangular product and a squared
//! norm: no inverse or determinant is ever formed.

use std::fmt;
use std::str::FromStr;

use ndarray::{Array1, Array2, Array3, ArrayD};
use serde::{Deserialize, Serialize};

use crate::error::{GmmError, Result};
use crate::linalg;

/// The shape of each component's covariance matrix (scikit-learn's `covariance_type`).
///
/// ```
/// use gaussmix::CovarianceType;
/// let t: CovarianceType = "diag".parse()?;
/// assert_eq!(t, CovarianceType::Diag);
/// assert_eq!(t.to_string(), "diag");
/// // Free parameters of 3 components in 2-D: 2 weights, 6 means, 6 variances.
/// assert_eq!(t.n_parameters(3, 2), 14);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CovarianceType {
    /// Each component has its own general covariance matrix.
    #[default]
    Full,
    /// All components share one general covariance matrix.
    Tied,
    /// Each component has its own diagonal covariance matrix.
    Diag,
    /// Each component has its own single variance (`σ²·I`).
    Spherical,
}

impl CovarianceType {
    /// All four kinds, in a fixed order.
    pub const ALL: [CovarianceType; 4] = [
        CovarianceType::Full,
        CovarianceType::Tied,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ];

    /// The lowercase name used in model files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CovarianceType::Full => "full",
            CovarianceType::Tied => "tied",
            CovarianceType::Diag => "diag",
            CovarianceType::Spherical => "spherical",
        }
    }

    /// Number of free covariance parameters for `k` components in `d` dimensions.
    pub fn n_covariance_parameters(self, k: usize, d: usize) -> usize {
        match self {
            CovarianceType::Full => k * d * (d + 1) / 2,
            CovarianceType::Tied => d * (d + 1) / 2,
            CovarianceType::Diag => k * d,
            CovarianceType::Spherical => k,
        }
    }

    /// Number of free parameters of a whole mixture: `(k-1) + k·d + covariance`.
    ///
    /// ```
    /// use gaussmix::CovarianceType;
    /// assert_eq!(CovarianceType::Full.n_parameters(2, 1), 5);
    /// assert_eq!(CovarianceType::Spherical.n_parameters(3, 4), 2 + 12 + 3);
    /// ```
    pub fn n_parameters(self, k: usize, d: usize) -> usize {
        k.saturating_sub(1) + k * d + self.n_covariance_parameters(k, d)
    }
}

impl fmt::Display for CovarianceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CovarianceType {
    type Err = GmmError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(CovarianceType::Full),
            "tied" => Ok(CovarianceType::Tied),
            "diag" | "diagonal" => Ok(CovarianceType::Diag),
            "spherical" => Ok(CovarianceType::Spherical),
            other => Err(crate::error::invalid_option(
                "covariance_type",
                format!("unknown covariance type {other:?}; expected one of full, tied, diag, spherical"),
            )),
        }
    }
}

/// Covariance (or precision-Cholesky) arrays in scikit-learn's per-type shape:
/// full `K×D×D`, tied `D×D`, diag `K×D` (variances), spherical `K`.
///
/// ```
/// use gaussmix::{CovarianceType, Covariances};
/// use ndarray::array;
/// let c = Covariances::Spherical(array![1.0, 0.5]);
/// assert_eq!(c.covariance_type(), CovarianceType::Spherical);
/// assert_eq!(c.to_array().shape(), &[2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Covariances {
    /// `K×D×D`.
    Full(Array3<f64>),
    /// `D×D`, shared by all components.
    Tied(Array2<f64>),
    /// `K×D`: one variance per component and feature.
    Diag(Array2<f64>),
    /// `K`: one variance per component.
    Spherical(Array1<f64>),
}

impl Covariances {
    /// Which kind this is.
    pub fn covariance_type(&self) -> CovarianceType {
        match self {
            Covariances::Full(_) => CovarianceType::Full,
            Covariances::Tied(_) => CovarianceType::Tied,
            Covariances::Diag(_) => CovarianceType::Diag,
            Covariances::Spherical(_) => CovarianceType::Spherical,
        }
    }

    /// The array with its per-type shape, as a dynamic-dimensional array.
    pub fn to_array(&self) -> ArrayD<f64> {
        match self {
            Covariances::Full(a) => a.clone().into_dyn(),
            Covariances::Tied(a) => a.clone().into_dyn(),
            Covariances::Diag(a) => a.clone().into_dyn(),
            Covariances::Spherical(a) => a.clone().into_dyn(),
        }
    }

    /// Checks the shape against `k` components and `d` features.
    pub(crate) fn check_shape(&self, k: usize, d: usize, what: &str) -> Result<()> {
        let (got, want): (Vec<usize>, Vec<usize>) = match self {
            Covariances::Full(a) => (a.shape().to_vec(), vec![k, d, d]),
            Covariances::Tied(a) => (a.shape().to_vec(), vec![d, d]),
            Covariances::Diag(a) => (a.shape().to_vec(), vec![k, d]),
            Covariances::Spherical(a) => (a.shape().to_vec(), vec![k]),
        };
        if got != want {
            return Err(GmmError::InvalidInit(format!(
                "{what} ({}) have shape {got:?}, expected {want:?} for {k} components and {d} features",
                self.covariance_type()
            )));
        }
        Ok(())
    }

    /// The full `D×D` covariance matrix of component `k`, row-major.
    pub(crate) fn component_matrix(&self, k: usize, d: usize) -> Vec<f64> {
        let mut m = vec![0.0; d * d];
        match self {
            Covariances::Full(a) => {
                for i in 0..d {
                    for j in 0..d {
                        m[i * d + j] = a[[k, i, j]];
                    }
                }
            }
            Covariances::Tied(a) => {
                for i in 0..d {
                    for j in 0..d {
                        m[i * d + j] = a[[i, j]];
                    }
                }
            }
            Covariances::Diag(a) => {
                for i in 0..d {
                    m[i * d + i] = a[[k, i]];
                }
            }
            Covariances::Spherical(a) => {
                for i in 0..d {
                    m[i * d + i] = a[k];
                }
            }
        }
        m
    }

    fn all_finite(&self) -> bool {
        match self {
            Covariances::Full(a) => a.iter().all(|v| v.is_finite()),
            Covariances::Tied(a) | Covariances::Diag(a) => a.iter().all(|v| v.is_finite()),
            Covariances::Spherical(a) => a.iter().all(|v| v.is_finite()),
        }
    }
}

/// Precision matrices (inverse covariances) or their Cholesky factors, in the same
/// per-type shapes as [`Covariances`] (full `K×D×D`, tied `D×D`, diag `K×D`, spherical
/// `K`). A type of its own, so that a precision is never taken for a covariance.
///
/// ```
/// use gaussmix::{CovarianceType, Precisions};
/// use ndarray::array;
/// let p = Precisions::Diag(array![[1.0, 4.0]]);
/// assert_eq!(p.covariance_type(), CovarianceType::Diag);
/// assert_eq!(p.to_array().shape(), &[1, 2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Precisions {
    /// `K×D×D`.
    Full(Array3<f64>),
    /// `D×D`, shared by all components.
    Tied(Array2<f64>),
    /// `K×D`: one value per component and feature.
    Diag(Array2<f64>),
    /// `K`: one value per component.
    Spherical(Array1<f64>),
}

impl Precisions {
    /// Which kind this is.
    pub fn covariance_type(&self) -> CovarianceType {
        self.as_matrices().covariance_type()
    }

    /// The array with its per-type shape, as a dynamic-dimensional array.
    pub fn to_array(&self) -> ArrayD<f64> {
        self.as_matrices().to_array()
    }

    /// The same arrays in the shape container the per-type helpers work on.
    fn as_matrices(&self) -> Covariances {
        match self {
            Precisions::Full(a) => Covariances::Full(a.clone()),
            Precisions::Tied(a) => Covariances::Tied(a.clone()),
            Precisions::Diag(a) => Covariances::Diag(a.clone()),
            Precisions::Spherical(a) => Covariances::Spherical(a.clone()),
        }
    }

    fn from_matrices(m: Covariances) -> Self {
        match m {
            Covariances::Full(a) => Precisions::Full(a),
            Covariances::Tied(a) => Precisions::Tied(a),
            Covariances::Diag(a) => Precisions::Diag(a),
            Covariances::Spherical(a) => Precisions::Spherical(a),
        }
    }

    /// Checks the shape against `k` components and `d` features.
    pub(crate) fn check_shape(&self, k: usize, d: usize, what: &str) -> Result<()> {
        self.as_matrices().check_shape(k, d, what)
    }
}

/// Precision Cholesky factors in a flat layout the kernels read directly.
///
/// - full: `K` upper-triangular `D×D` blocks `U_k` (row-major), `Σ_k⁻¹ = U_k U_kᵀ`
/// - tied: one such block
/// - diag: `K×D` values `1/σ_kd`
/// - spherical: `K` values `1/σ_k`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PrecisionCholesky {
    pub kind: CovarianceType,
    pub k: usize,
    pub d: usize,
    pub factors: Vec<f64>,
    /// `Σ log diag(U_k)` = −½ log det Σ_k, per component.
    pub log_det: Vec<f64>,
}

impl PrecisionCholesky {
    /// Factorises covariances; a matrix that is not positive definite is an error naming
    /// the component.
    pub fn from_covariances(cov: &Covariances, k: usize, d: usize, reg_covar: f64) -> Result<Self> {
        let not_pd = |component: usize| GmmError::NotPositiveDefinite {
            component,
            reg_covar,
            context: String::new(),
        };
        if !cov.all_finite() {
            return Err(GmmError::Numerical(
                "a covariance contains a non-finite value".into(),
            ));
        }
        let kind = cov.covariance_type();
        let (factors, log_det) = match cov {
            Covariances::Full(_) | Covariances::Tied(_) => {
                let blocks = if kind == CovarianceType::Tied { 1 } else { k };
                let mut factors = Vec::with_capacity(blocks * d * d);
                let mut log_det = Vec::with_capacity(k);
                for b in 0..blocks {
                    let m = cov.component_matrix(b, d);
                    let u = linalg::precision_cholesky(&m, d).ok_or_else(|| not_pd(b))?;
                    let ld: f64 = (0..d).map(|i| u[i * d + i].ln()).sum();
                    if !ld.is_finite() {
                        return Err(not_pd(b));
                    }
                    factors.extend_from_slice(&u);
                    log_det.push(ld);
                }
                if kind == CovarianceType::Tied {
                    log_det = vec![log_det[0]; k];
                }
                (factors, log_det)
            }
            Covariances::Diag(a) => {
                let mut factors = Vec::with_capacity(k * d);
                let mut log_det = Vec::with_capacity(k);
                for c in 0..k {
                    let mut ld = 0.0;
                    for j in 0..d {
                        let v = a[[c, j]];
                        if !(v.is_finite() && v > 0.0) {
                            return Err(not_pd(c));
                        }
                        let p = 1.0 / v.sqrt();
                        ld += p.ln();
                        factors.push(p);
                    }
                    log_det.push(ld);
                }
                (factors, log_det)
            }
            Covariances::Spherical(a) => {
                let mut factors = Vec::with_capacity(k);
                let mut log_det = Vec::with_capacity(k);
                for c in 0..k {
                    let v = a[c];
                    if !(v.is_finite() && v > 0.0) {
                        return Err(not_pd(c));
                    }
                    let p = 1.0 / v.sqrt();
                    factors.push(p);
                    log_det.push(d as f64 * p.ln());
                }
                (factors, log_det)
            }
        };
        if log_det.iter().any(|v| !v.is_finite()) {
            return Err(GmmError::Numerical(
                "a covariance has an infinite or zero determinant".into(),
            ));
        }
        Ok(PrecisionCholesky {
            kind,
            k,
            d,
            factors,
            log_det,
        })
    }

    /// The factors in scikit-learn's per-type shape.
    pub fn to_precisions(&self) -> Precisions {
        Precisions::from_matrices(self.to_covariances_shape())
    }

    /// The factors in the per-type shape container.
    fn to_covariances_shape(&self) -> Covariances {
        let (k, d) = (self.k, self.d);
        match self.kind {
            CovarianceType::Full => Covariances::Full(
                Array3::from_shape_vec((k, d, d), self.factors.clone()).unwrap_or_default(),
            ),
            CovarianceType::Tied => Covariances::Tied(
                Array2::from_shape_vec((d, d), self.factors.clone()).unwrap_or_default(),
            ),
            CovarianceType::Diag => Covariances::Diag(
                Array2::from_shape_vec((k, d), self.factors.clone()).unwrap_or_default(),
            ),
            CovarianceType::Spherical => {
                Covariances::Spherical(Array1::from_vec(self.factors.clone()))
            }
        }
    }
}

/// Builds covariances from precision matrices (the inverse), for users who start from
/// scikit-learn's `precisions_init`.
pub(crate) fn covariances_from_precisions(
    prec: &Precisions,
    k: usize,
    d: usize,
) -> Result<Covariances> {
    let prec = &prec.as_matrices();
    let bad = |c: usize| {
        GmmError::InvalidInit(format!(
            "the precision matrix of component {c} is not positive definite; precisions must be inverses of covariance matrices"
        ))
    };
    Ok(match prec {
        Covariances::Full(_) => {
            let mut out = Array3::zeros((k, d, d));
            for c in 0..k {
                let m = prec.component_matrix(c, d);
                let inv = linalg::spd_inverse(&m, d).ok_or_else(|| bad(c))?;
                for i in 0..d {
                    for j in 0..d {
                        out[[c, i, j]] = inv[i * d + j];
                    }
                }
            }
            Covariances::Full(out)
        }
        Covariances::Tied(_) => {
            let m = prec.component_matrix(0, d);
            let inv = linalg::spd_inverse(&m, d).ok_or_else(|| bad(0))?;
            Covariances::Tied(
                Array2::from_shape_vec((d, d), inv)
                    .map_err(|e| GmmError::InvalidInit(e.to_string()))?,
            )
        }
        Covariances::Diag(a) => {
            if let Some(((c, _), _)) = a
                .indexed_iter()
                .find(|(_, v)| !(v.is_finite() && **v > 0.0))
            {
                return Err(bad(c));
            }
            Covariances::Diag(a.mapv(|v| 1.0 / v))
        }
        Covariances::Spherical(a) => {
            if let Some((c, _)) = a
                .indexed_iter()
                .find(|(_, v)| !(v.is_finite() && **v > 0.0))
            {
                return Err(bad(c));
            }
            Covariances::Spherical(a.mapv(|v| 1.0 / v))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1, Array2, Array3};

    #[test]
    fn parameter_counts_names_and_parsing() {
        for (t, cov) in [
            (CovarianceType::Full, 3 * 4 * 5 / 2),
            (CovarianceType::Tied, 4 * 5 / 2),
            (CovarianceType::Diag, 3 * 4),
            (CovarianceType::Spherical, 3),
        ] {
            assert_eq!(t.n_covariance_parameters(3, 4), cov);
            assert_eq!(t.n_parameters(3, 4), 2 + 12 + cov);
            assert_eq!(t.as_str().parse::<CovarianceType>().unwrap(), t);
            assert_eq!(t.to_string(), t.as_str());
        }
        assert_eq!(
            " Diagonal ".parse::<CovarianceType>().unwrap(),
            CovarianceType::Diag
        );
        assert!(matches!(
            "round".parse::<CovarianceType>(),
            Err(GmmError::InvalidOption {
                name: "covariance_type",
                ..
            })
        ));
    }

    #[test]
    fn shapes_are_checked_and_component_matrices_expand_each_kind() {
        let full = Covariances::Full(Array3::from_shape_fn((2, 2, 2), |(c, i, j)| {
            (c + 1) as f64 * if i == j { 2.0 } else { 0.5 }
        }));
        assert!(full.check_shape(2, 2, "covariances").is_ok());
        assert!(matches!(
            full.check_shape(3, 2, "covariances"),
            Err(GmmError::InvalidInit(_))
        ));
        assert_eq!(full.component_matrix(1, 2), vec![4.0, 1.0, 1.0, 4.0]);
        let tied = Covariances::Tied(array![[2.0, 0.5], [0.5, 3.0]]);
        assert_eq!(tied.component_matrix(1, 2), vec![2.0, 0.5, 0.5, 3.0]);
        let diag = Covariances::Diag(array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(diag.component_matrix(1, 2), vec![3.0, 0.0, 0.0, 4.0]);
        let sph = Covariances::Spherical(Array1::from_vec(vec![1.5, 2.5]));
        assert_eq!(sph.component_matrix(0, 2), vec![1.5, 0.0, 0.0, 1.5]);
        assert!(Covariances::Diag(Array2::zeros((2, 3)))
            .check_shape(2, 2, "x")
            .is_err());
    }

    /// The precision Cholesky factor `U` satisfies `U Uᵀ = Σ⁻¹` (checked as
    /// `Σ U Uᵀ = I`), its log-determinant is `−½ log det Σ`, and going back to
    /// covariances restores them; a matrix that is not positive definite names its
    /// component.
    #[test]
    fn precision_factors_invert_the_covariances() {
        let s = array![[4.0, 1.2, 0.3], [1.2, 2.0, -0.4], [0.3, -0.4, 1.0]];
        let full = Covariances::Full(Array3::from_shape_fn((1, 3, 3), |(_, i, j)| s[[i, j]]));
        let p = PrecisionCholesky::from_covariances(&full, 1, 3, 0.0).unwrap();
        let u = Array2::from_shape_vec((3, 3), p.factors.clone()).unwrap();
        let eye = s.dot(&u.dot(&u.t()));
        for i in 0..3 {
            for j in 0..3 {
                assert!((eye[[i, j]] - (i == j) as u8 as f64).abs() < 1e-13);
                if j < i {
                    assert_eq!(u[[i, j]], 0.0, "upper triangular");
                }
            }
        }
        // det Σ by cofactors.
        let det = s[[0, 0]] * (s[[1, 1]] * s[[2, 2]] - s[[1, 2]] * s[[2, 1]])
            - s[[0, 1]] * (s[[1, 0]] * s[[2, 2]] - s[[1, 2]] * s[[2, 0]])
            + s[[0, 2]] * (s[[1, 0]] * s[[2, 1]] - s[[1, 1]] * s[[2, 0]]);
        assert!((p.log_det[0] + 0.5 * det.ln()).abs() < 1e-13);
        let diag = Covariances::Diag(array![[4.0, 0.25]]);
        let pd = PrecisionCholesky::from_covariances(&diag, 1, 2, 0.0).unwrap();
        assert_eq!(pd.factors, vec![0.5, 2.0]);
        assert!((pd.log_det[0] - (0.5f64.ln() + 2.0f64.ln())).abs() < 1e-15);
        let bad = Covariances::Full(Array3::from_shape_fn((2, 2, 2), |(c, i, j)| {
            if i == j {
                1.0
            } else if c == 1 {
                5.0
            } else {
                0.0
            }
        }));
        match PrecisionCholesky::from_covariances(&bad, 2, 2, 0.0) {
            Err(GmmError::NotPositiveDefinite { component, .. }) => assert_eq!(component, 1),
            other => panic!("{other:?}"),
        }
    }
}
