//! Starting parameters for one EM run: from the chosen method's responsibilities, with
//! any explicitly given parameters taking precedence.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::covariance::{covariances_from_precisions, CovarianceType, Covariances};
use crate::data::Data;
use crate::error::{GmmError, Result};
use crate::fit::kmeans;
use crate::fit::pass::{nearest_pass, random_pass};
use crate::fit::Recovery;
use crate::options::{GmmOptions, InitMethod};
use crate::params::Params;

/// Starting parameters for one run (restarts pass independent seeds), and the
/// components whose covariance had to be widened (only with `recover`).
pub(crate) fn initial_params(
    data: &Data,
    opts: &GmmOptions,
    seed: u64,
) -> Result<(Params, Vec<Recovery>)> {
    initial_params_with(data, opts, seed, opts.init)
}

/// [`initial_params`] with the seeding method `init` instead of `opts.init` (em-EM's
/// candidates are k-means++ starts; em-EM itself, which chooses among whole starts,
/// seeds one start as k-means++).
pub(crate) fn initial_params_with(
    data: &Data,
    opts: &GmmOptions,
    seed: u64,
    init: InitMethod,
) -> Result<(Params, Vec<Recovery>)> {
    let (k, d) = (opts.n_components, data.n_features());
    let kind = opts.covariance_type;
    let start = &opts.start;
    if let Some(w) = &start.weights {
        if w.len() != k {
            return Err(GmmError::InvalidInit(format!(
                "{} starting weights for {k} components",
                w.len()
            )));
        }
    }
    if let Some(m) = &start.means {
        if m.dim() != (k, d) {
            return Err(GmmError::InvalidInit(format!(
                "starting means have shape {:?}, expected [{k}, {d}] ({k} components, {d} features)",
                m.shape()
            )));
        }
        if m.iter().any(|v| !v.is_finite()) {
            return Err(GmmError::InvalidInit(
                "starting means must be finite".into(),
            ));
        }
    }
    let given_cov = match (&start.covariances, &start.precisions) {
        (Some(c), _) => Some(c.clone()),
        (None, Some(p)) => {
            p.check_shape(k, d, "starting precisions")?;
            Some(covariances_from_precisions(p, k, d)?)
        }
        (None, None) => None,
    };
    if let Some(c) = &given_cov {
        if c.covariance_type() != kind {
            return Err(GmmError::InvalidInit(format!(
                "starting covariances are {} but covariance_type is {kind}",
                c.covariance_type()
            )));
        }
        c.check_shape(k, d, "starting covariances")?;
    }

    let (weights, means, cov) = match (&start.weights, &start.means, given_cov) {
        (Some(w), Some(m), Some(c)) => (w.clone(), m.clone(), c),
        (w, m, c) => {
            let (ew, em, ec) = estimate_start(data, opts, seed, init)?;
            (
                w.clone().unwrap_or(ew),
                m.clone().unwrap_or(em),
                c.unwrap_or(ec),
            )
        }
    };
    let total = weights.sum();
    if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || (total - 1.0).abs() > 1e-6 {
        return Err(GmmError::InvalidInit(format!(
            "starting weights must be non-negative and sum to 1 (within 1e-6); they sum to {total}"
        )));
    }
    let mut cov = cov;
    let mut fixes: Vec<Recovery> = Vec::new();
    loop {
        match Params::new(weights.clone(), means.clone(), cov.clone(), opts.reg_covar) {
            Ok(p) => return Ok((p, fixes)),
            Err(GmmError::NotPositiveDefinite { component, .. })
                if opts.recover
                    && kind != CovarianceType::Tied
                    && !fixes.iter().any(|f| f.component == component) =>
            {
                // A component started on a single point: give it the data's spread.
                let (_, var) = data.column_moments();
                widen(&mut cov, component, &var, opts.reg_covar);
                fixes.push(Recovery {
                    iteration: 0,
                    component,
                    row: None,
                    reason: "its starting covariance was not positive definite; widened to the data's variance".into(),
                });
            }
            Err(e) => {
                return Err(match e {
                    GmmError::InvalidModel(m) => GmmError::InvalidInit(m),
                    other => other.map_pd_context(|_| " at initialisation".into()),
                })
            }
        }
    }
}

/// Replaces component `c`'s covariance with the diagonal `var + reg_covar`.
pub(crate) fn widen(cov: &mut Covariances, c: usize, var: &[f64], reg_covar: f64) {
    let v: Vec<f64> = var
        .iter()
        .map(|v| (v + reg_covar).max(f64::MIN_POSITIVE))
        .collect();
    let d = v.len();
    match cov {
        Covariances::Full(a) => {
            let mut block = a.index_axis_mut(ndarray::Axis(0), c);
            block.fill(0.0);
            for j in 0..d {
                block[[j, j]] = v[j];
            }
        }
        Covariances::Diag(a) => {
            for j in 0..d {
                a[[c, j]] = v[j];
            }
        }
        Covariances::Spherical(a) => a[c] = v.iter().sum::<f64>() / d as f64,
        Covariances::Tied(_) => {}
    }
}

/// Parameters from the init method's responsibilities (one M-step).
fn estimate_start(
    data: &Data,
    opts: &GmmOptions,
    seed: u64,
    init: InitMethod,
) -> Result<(ndarray::Array1<f64>, ndarray::Array2<f64>, Covariances)> {
    let k = opts.n_components;
    let kind = opts.covariance_type;
    let eff = data.n_effective_rows();
    if eff < k {
        return Err(GmmError::InvalidData(format!(
            "{eff} {} (with positive weight) {} fewer than n_components = {k}; use at most {eff} {} or more data",
            if eff == 1 { "sample" } else { "samples" },
            if eff == 1 { "is" } else { "are" },
            if eff == 1 { "component" } else { "components" }
        )));
    }
    let centers: Option<Vec<f64>> = match (&opts.start.means, init) {
        (Some(m), _) => Some(m.iter().copied().collect()),
        (None, InitMethod::KMeansPlusPlus | InitMethod::EmEm) => Some(
            kmeans::kmeans_plus_plus_trials(data, k, seed, 1)?
                .iter()
                .copied()
                .collect(),
        ),
        (None, InitMethod::GreedyKMeansPlusPlus) => Some(
            kmeans::kmeans_plus_plus(data, k, seed)?
                .iter()
                .copied()
                .collect(),
        ),
        (None, InitMethod::Hierarchical) => Some(
            crate::fit::hierarchical::ward_centers(data, k, seed)?
                .iter()
                .copied()
                .collect(),
        ),
        (None, InitMethod::KMeans) => Some(
            kmeans::kmeans(data, k, seed, 300)?
                .centers
                .iter()
                .copied()
                .collect(),
        ),
        (None, InitMethod::RandomFromData) => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let candidates: Vec<usize> = (0..data.n_samples())
                .filter(|&i| data.weights().is_none_or(|w| w[i] > 0.0))
                .collect();
            let picks: Vec<usize> = candidates.choose_multiple(&mut rng, k).copied().collect();
            Some(picks.iter().flat_map(|&i| data.row_f64(i)).collect())
        }
        (None, InitMethod::Random) => None,
    };
    let stats = match centers {
        Some(c) => nearest_pass(data, kind, &c, k),
        None => {
            let (mean, _) = data.column_moments();
            let shift: Vec<f64> = (0..k).flat_map(|_| mean.iter().copied()).collect();
            random_pass(data, kind, &shift, k, seed)
        }
    };
    stats.m_step(opts.reg_covar, opts.variance_floor)
}
