//! The one rule for a degenerate component, shared by the fit's warnings
//! (`fit::warnings`), the `recover` option's re-seeding (`fit::em`) and any later guard
//! against spurious optima.
//!
//! A component is **degenerate** when either
//!
//! 1. **it is empty**: its responsibility mass `N_k` is below half a row (`N_k < 0.5`;
//!    with sample weights, half the smallest positive weight: weights count rows). Below half a row it
//!    explains no row of the data: its mean and covariance are estimated from
//!    rounding-level shares of rows that belong elsewhere. (The same threshold
//!    `recover` has always used for "lost its mass", so that behaviour is unchanged.)
//! 2. **its covariance has collapsed**: along some direction its own variance — the
//!    covariance minus `reg_covar`, i.e. what the data put there — is at most
//!    [`COLLAPSE_RATIO`] (`1e-10`) times the variance of the whole data along that
//!    direction. The covariance there is then the regulariser alone: the component sits
//!    on coincident rows (duplicates, a discrete feature, one isolated row) and its
//!    density is a spike whose height only `reg_covar` bounds.
//!
//! Why `1e-10`: rounding leaves a truly collapsed component with a relative variance of
//! ~1e-16 (exact zeros for duplicated rows; ~1e-303 with `reg_covar = 0`), so 1e-10 is
//! six orders above that noise; and a real cluster only falls below it when it is more
//! than 1e5 of its own standard deviations from the rest of the data (its variance is
//! then ~1/ρ² of the data's), far past the ρ = 1e4 the library is built to fit exactly
//! (DESIGN.md, "Numerics"). The comparison is with the data's spread, not with
//! `reg_covar`, so that a large `reg_covar` on small-scale data (reported separately,
//! as `RegCovarLarge`) does not make every component "degenerate".
//!
//! "Along a direction": per feature for diag covariances, the average over features for
//! spherical ones, and for full and tied covariances the smallest generalised
//! eigenvalue `min_v vᵀ(Σ_k − reg·I)v / vᵀ V v` with `V` the data's covariance, so that
//! the rule does not depend on the units of the features and correlated (even exactly
//! collinear) features do not count as collapse: directions in which the data itself
//! has no spread (constant columns, exact linear dependences) are left out, since every
//! component is flat there by necessity (constant columns are reported as
//! `ConstantFeature` instead).
//!
//! A collapse is also **singular** ([`Degeneracy::singular`]) when not even `reg_covar`
//! holds the variance above `ε` times the data's: the `recover` option re-seeds empty
//! and singular components (and, after its re-seeds run out, reports a singular one as
//! an error); the warnings report every degenerate component.
//!
//! The restarts' guard against **spurious optima** ([`spurious_components`]) is the same
//! rule with the mass threshold raised from half a row to the rows a covariance needs
//! (`D + 1` for full, 2 for diag and spherical): such a component's likelihood is a spike
//! on a few rows, not a better model, so a run holding one does not win the restarts.

use crate::covariance::Covariances;
use crate::linalg::symmetric_eigen;
use crate::stats::SuffStats;

/// A component's variance above `reg_covar` at most this fraction of the data's variance
/// in the same direction has collapsed (see the module documentation for why 1e-10).
pub(crate) const COLLAPSE_RATIO: f64 = 1e-10;

/// A component with less than this many rows' weight is empty.
pub(crate) const MIN_MASS_ROWS: f64 = 0.5;

/// The mass below which a component is empty: half a row (`Data::row_unit`: 1 without
/// weights, the smallest positive weight with them).
pub(crate) fn min_mass(row_unit: f64) -> f64 {
    MIN_MASS_ROWS * row_unit
}

/// The data's spread the rule measures collapse against.
#[derive(Clone, Debug)]
pub(crate) struct DataSpread {
    pub d: usize,
    /// The data's covariance, `D×D` row-major (only its diagonal for diag and spherical
    /// statistics).
    pub cov: Vec<f64>,
    /// Columns holding a single value (left out of the collapse test).
    pub constant: Vec<bool>,
}

impl DataSpread {
    /// From a pass's statistics (no extra pass over the data) and the constant columns.
    pub fn from_stats(st: &SuffStats, constant: &[bool]) -> Self {
        let d = st.d;
        let mut constant = constant.to_vec();
        constant.resize(d, false);
        DataSpread {
            d,
            cov: st.data_covariance(),
            constant,
        }
    }

    /// The data's variance of feature `j`.
    pub fn variance(&self, j: usize) -> f64 {
        self.cov[j * self.d + j]
    }

    /// Whether feature `j` has spread to measure against.
    fn varies(&self, j: usize) -> bool {
        !self.constant[j] && self.variance(j) > 0.0
    }
}

/// Why a component is degenerate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Degeneracy {
    /// Its mass is below `threshold` (half a row).
    Empty { mass: f64, threshold: f64 },
    /// Its variance above `reg_covar` along a direction is `excess`, against the data's
    /// `data_variance` there (`ratio = excess / data_variance ≤ COLLAPSE_RATIO`);
    /// `feature` when the direction is mostly one feature (for full and tied: at least
    /// 90% of the standardised direction's squared length).
    Collapsed {
        feature: Option<usize>,
        excess: f64,
        data_variance: f64,
        ratio: f64,
    },
}

impl Degeneracy {
    /// Whether the covariance is numerically singular, not just collapsed: along the
    /// collapsed direction even the regularised variance (`excess + reg_covar`) is at
    /// most `ε` times the data's variance there, below what f64 can distinguish from
    /// zero at the data's scale. Only happens with `reg_covar` ≈ 0 (the `recover`
    /// option re-seeds these; a collapse `reg_covar` holds is a legitimate optimum of
    /// the regularised likelihood). An empty component is not singular by itself.
    pub fn singular(&self, reg_covar: f64) -> bool {
        match self {
            Degeneracy::Empty { .. } => false,
            Degeneracy::Collapsed {
                excess,
                data_variance,
                ..
            } => excess + reg_covar <= f64::EPSILON * data_variance,
        }
    }
}

/// One degenerate component: `component` is `None` for the shared covariance of a tied
/// model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Degenerate {
    pub component: Option<usize>,
    pub why: Degeneracy,
}

/// The degenerate components of parameters whose masses are `nk` (the statistics of a
/// pass), whose covariances (with `reg_covar` added) are `cov`; in component order,
/// a tied collapse last. An empty component is reported as empty only (its covariance
/// is the regulariser by construction).
pub(crate) fn degenerate_components(
    nk: &[f64],
    min_mass: f64,
    cov: &Covariances,
    reg_covar: f64,
    spread: &DataSpread,
) -> Vec<Degenerate> {
    let d = spread.d;
    let mut out = Vec::new();
    let live: Vec<usize> = spread_features(spread);
    let whitener = match cov {
        Covariances::Full(_) | Covariances::Tied(_) => Whitener::new(spread, &live),
        _ => None,
    };
    for (c, &n) in nk.iter().enumerate() {
        if n < min_mass {
            out.push(Degenerate {
                component: Some(c),
                why: Degeneracy::Empty {
                    mass: n,
                    threshold: min_mass,
                },
            });
            continue;
        }
        let why = match cov {
            Covariances::Full(_) => whitener
                .as_ref()
                .and_then(|w| w.collapse(&cov.component_matrix(c, d), reg_covar)),
            Covariances::Tied(_) => None,
            Covariances::Diag(v) => live
                .iter()
                .map(|&j| {
                    let excess = v[[c, j]] - reg_covar;
                    (j, excess, spread.variance(j))
                })
                .min_by(|a, b| (a.1 / a.2).total_cmp(&(b.1 / b.2)))
                .and_then(|(j, excess, var)| collapsed(Some(j), excess, var)),
            Covariances::Spherical(v) => {
                // σ² is the mean of the per-feature variances: compare with the mean of
                // the data's (constant columns add 0 to both).
                let var = (0..d).map(|j| spread.variance(j).max(0.0)).sum::<f64>() / d as f64;
                (!live.is_empty())
                    .then(|| collapsed(None, v[c] - reg_covar, var))
                    .flatten()
            }
        };
        if let Some(why) = why {
            out.push(Degenerate {
                component: Some(c),
                why,
            });
        }
    }
    if let (Covariances::Tied(_), Some(w)) = (cov, &whitener) {
        if let Some(why) = w.collapse(&cov.component_matrix(0, d), reg_covar) {
            out.push(Degenerate {
                component: None,
                why,
            });
        }
    }
    out
}

/// Fewest rows' mass a component needs to estimate its covariance without a spike:
/// `D + 1` (live features) for a full covariance, 2 for diag and spherical ones, none for
/// a tied (shared) one.
pub(crate) fn spurious_min_rows(cov: &Covariances, live_features: usize) -> f64 {
    match cov {
        Covariances::Full(_) => (live_features + 1) as f64,
        Covariances::Diag(_) | Covariances::Spherical(_) => 2.0,
        Covariances::Tied(_) => 0.0,
    }
}

/// The components that make a fit a **spurious optimum** (Biernacki & Chrétien 2003; McLachlan
/// & Peel §3.10): a component sitting on a few (near-)identical rows, whose likelihood
/// grows without a better model. It is the degenerate-component rule above with the mass
/// threshold raised to what a covariance needs: a component is spurious when it has
/// collapsed (as above: variance above `reg_covar` ≤ 1e-10 of the data's along a
/// direction), or when its mass is below [`spurious_min_rows`] rows (`D + 1`
/// for full covariances, 2 for diag and spherical: fewer rows cannot span the
/// covariance, so its spread along some direction is rounding or `reg_covar`). An
/// *empty* component (below half a row) is not spurious: it explains no row, adds no
/// spike, and is reported as empty. A collapsed tied covariance makes every component
/// spurious; it is reported as component 0. `row_weight` is one row's weight
/// (`Data::row_unit`).
pub(crate) fn spurious_components(
    nk: &[f64],
    row_weight: f64,
    cov: &Covariances,
    reg_covar: f64,
    spread: &DataSpread,
) -> Vec<usize> {
    let live = spread_features(spread).len();
    let min_rows = spurious_min_rows(cov, live) * row_weight;
    let empty = MIN_MASS_ROWS * row_weight;
    let mut out: Vec<usize> = nk
        .iter()
        .enumerate()
        .filter(|&(_, &n)| n >= empty && n < min_rows)
        .map(|(c, _)| c)
        .collect();
    for dg in degenerate_components(nk, empty, cov, reg_covar, spread) {
        if matches!(dg.why, Degeneracy::Empty { .. }) {
            continue;
        }
        let c = dg.component.unwrap_or(0);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out.sort_unstable();
    out
}

/// The features with spread.
fn spread_features(spread: &DataSpread) -> Vec<usize> {
    (0..spread.d).filter(|&j| spread.varies(j)).collect()
}

fn collapsed(feature: Option<usize>, excess: f64, data_variance: f64) -> Option<Degeneracy> {
    let ratio = excess / data_variance;
    // NaN (a non-finite covariance) is not "collapsed": other checks report it.
    (ratio <= COLLAPSE_RATIO).then_some(Degeneracy::Collapsed {
        feature,
        excess,
        data_variance,
        ratio,
    })
}

/// `W` with `Wᵀ R W = I` on the directions where the data has spread, `R` the data's
/// correlation matrix over the varying features: `vᵀ(Σ−reg)v / vᵀVv` is then an
/// ordinary eigenvalue problem in `W`'s coordinates.
struct Whitener {
    d: usize,
    /// The varying features.
    live: Vec<usize>,
    /// Their standard deviations.
    sd: Vec<f64>,
    /// `r × m`, row-major (`m` kept directions).
    w: Vec<f64>,
    m: usize,
}

impl Whitener {
    fn new(spread: &DataSpread, live: &[usize]) -> Option<Self> {
        let (d, r) = (spread.d, live.len());
        if r == 0 {
            return None;
        }
        let sd: Vec<f64> = live.iter().map(|&j| spread.variance(j).sqrt()).collect();
        let corr: Vec<f64> = (0..r * r)
            .map(|x| {
                let (a, b) = (x / r, x % r);
                spread.cov[live[a] * d + live[b]] / (sd[a] * sd[b])
            })
            .collect();
        let (vals, vecs) = symmetric_eigen(&corr, r)?;
        let top = vals.last().copied().unwrap_or(0.0);
        // Directions where the data itself is flat (collinear features) are left out.
        let kept: Vec<usize> = (0..r).filter(|&i| vals[i] > COLLAPSE_RATIO * top).collect();
        let m = kept.len();
        if m == 0 {
            return None;
        }
        let mut w = vec![0.0; r * m];
        for a in 0..r {
            for (t, &i) in kept.iter().enumerate() {
                w[a * m + t] = vecs[a * r + i] / vals[i].sqrt();
            }
        }
        Some(Whitener {
            d,
            live: live.to_vec(),
            sd,
            w,
            m,
        })
    }

    /// The collapse of the covariance `sigma` (`D×D`, with `reg_covar`), if any.
    fn collapse(&self, sigma: &[f64], reg_covar: f64) -> Option<Degeneracy> {
        let (r, m) = (self.live.len(), self.m);
        let d = self.d;
        if sigma.len() != d * d {
            return None;
        }
        // A = D^{-1/2}(Σ − reg·I)D^{-1/2} over the varying features.
        let a: Vec<f64> = (0..r * r)
            .map(|x| {
                let (i, j) = (x / r, x % r);
                let reg = if i == j { reg_covar } else { 0.0 };
                (sigma[self.live[i] * d + self.live[j]] - reg) / (self.sd[i] * self.sd[j])
            })
            .collect();
        // C = Wᵀ A W (m×m).
        let mut aw = vec![0.0; r * m];
        for i in 0..r {
            for t in 0..m {
                aw[i * m + t] = (0..r).map(|j| a[i * r + j] * self.w[j * m + t]).sum();
            }
        }
        let c: Vec<f64> = (0..m * m)
            .map(|x| {
                let (s, t) = (x / m, x % m);
                (0..r).map(|i| self.w[i * m + s] * aw[i * m + t]).sum()
            })
            .collect();
        let (vals, vecs) = symmetric_eigen(&c, m)?;
        let ratio = *vals.first()?;
        // NaN (a non-finite covariance) is not "collapsed" either.
        if ratio.is_nan() || ratio > COLLAPSE_RATIO {
            return None;
        }
        // The direction in standardised coordinates (yᵀRy = 1), then in the features'
        // units, normalised.
        let y: Vec<f64> = (0..r)
            .map(|i| (0..m).map(|t| self.w[i * m + t] * vecs[t * m]).sum())
            .collect();
        let y2: f64 = y.iter().map(|v| v * v).sum();
        let feature = (0..r)
            .find(|&i| y[i] * y[i] >= 0.9 * y2)
            .map(|i| self.live[i]);
        let x2: f64 = (0..r).map(|i| (y[i] / self.sd[i]).powi(2)).sum();
        let data_variance = 1.0 / x2;
        Some(Degeneracy::Collapsed {
            feature,
            excess: ratio * data_variance,
            data_variance,
            ratio,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array3};

    fn spread(cov: Vec<f64>, d: usize) -> DataSpread {
        DataSpread {
            d,
            cov,
            constant: vec![false; d],
        }
    }

    #[test]
    fn empty_below_half_a_row() {
        let s = spread(vec![1.0], 1);
        let cov = Covariances::Spherical(array![0.5, 0.5]);
        let found = degenerate_components(&[0.49, 0.5], 0.5, &cov, 1e-6, &s);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].component, Some(0));
        assert!(matches!(found[0].why, Degeneracy::Empty { .. }));
    }

    #[test]
    fn diag_collapse_names_the_feature_and_ignores_constant_columns() {
        let mut s = spread(vec![4.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0], 3);
        s.constant[2] = true;
        let reg = 1e-6;
        let cov = Covariances::Diag(array![[1.0, reg, reg], [1.0, 2.0, reg]]);
        let found = degenerate_components(&[5.0, 5.0], 0.5, &cov, reg, &s);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].component, Some(0));
        match &found[0].why {
            Degeneracy::Collapsed {
                feature,
                data_variance,
                ..
            } => assert_eq!((*feature, *data_variance), (Some(1), 9.0)),
            other => panic!("{other:?}"),
        }
    }

    /// Full: a component flat along x = y is collapsed; collinear data (y = 2x exactly)
    /// makes no component collapsed along the data's own flat direction.
    #[test]
    fn full_collapse_is_against_the_data_direction() {
        let reg = 1e-6;
        let s = spread(vec![2.0, 1.0, 1.0, 2.0], 2);
        let flat = Array3::from_shape_vec((1, 2, 2), vec![1.0 + reg, 1.0, 1.0, 1.0 + reg]).unwrap();
        let found = degenerate_components(&[3.0], 0.5, &Covariances::Full(flat), reg, &s);
        assert_eq!(found.len(), 1);
        match &found[0].why {
            Degeneracy::Collapsed { feature, ratio, .. } => {
                assert_eq!(*feature, None);
                assert!(ratio.abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
        let collinear = spread(vec![1.0, 2.0, 2.0, 4.0], 2);
        let along =
            Array3::from_shape_vec((1, 2, 2), vec![0.5 + reg, 1.0, 1.0, 2.0 + reg]).unwrap();
        let found = degenerate_components(&[3.0], 0.5, &Covariances::Full(along), reg, &collinear);
        assert!(found.is_empty(), "{found:?}");
        // A healthy full covariance is not degenerate.
        let ok = Array3::from_shape_vec((1, 2, 2), vec![1.0, 0.2, 0.2, 1.0]).unwrap();
        assert!(degenerate_components(&[3.0], 0.5, &Covariances::Full(ok), reg, &s).is_empty());
    }

    #[test]
    fn tied_collapse_is_reported_once_without_a_component() {
        let s = spread(vec![1.0, 0.0, 0.0, 1.0], 2);
        let cov = Covariances::Tied(array![[1.0, 0.0], [0.0, 0.0]]);
        let found = degenerate_components(&[3.0, 3.0], 0.5, &cov, 0.0, &s);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].component, None);
        assert!(matches!(
            found[0].why,
            Degeneracy::Collapsed {
                feature: Some(1),
                ..
            }
        ));
    }
}
