//! Model selection: fit every (k, covariance type) candidate in parallel and rank them
//! by BIC, AIC or ICL (lower is better for all three). Then, for each type in ascending
//! `k`, one more run warm-started from `k − 1`'s kept model with a component split
//! (`warm_starts`) replaces a candidate's fit when it ends higher.
//!
//! ```
//! use gaussmix::select::{select, Criterion, SelectOptions};
//! use gaussmix::{CovarianceType, Covariances, GaussianMixture};
//! use ndarray::array;
//!
//! // 600 rows drawn from three well-separated 1-D components.
//! let truth = GaussianMixture::from_parameters(
//!     array![0.3, 0.3, 0.4],
//!     array![[0.0], [10.0], [20.0]],
//!     Covariances::Spherical(array![1.0, 1.0, 2.0]),
//! )?;
//! let (x, _) = truth.sample(600, 1)?;
//! let opts = SelectOptions::new(1..=5, vec![CovarianceType::Full], Criterion::Bic)
//!     .with_fit_options(GaussianMixture::params(1).n_init(2).seed(0));
//! let sel = select(&x, &opts)?;
//! assert_eq!(sel.best.n_components(), 3);
//! assert_eq!(sel.candidates[0].k, 3);
//! # Ok::<(), gaussmix::GmmError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::covariance::CovarianceType;
use crate::covariance::Covariances;
use crate::data::{AsData, Data};
use crate::error::{invalid_option, GmmError, Result};
use crate::fit::{FitWarning, WarningKind};
use crate::linalg::symmetric_eigen;
use crate::model::GaussianMixture;
use crate::options::{GmmOptions, StartParameters};
use crate::parallel::install;
use ndarray::{s, Array1, Array2, Array3, Axis};

/// The information criterion used to rank candidates.
///
/// ```
/// use gaussmix::select::Criterion;
/// assert_eq!("icl".parse::<Criterion>()?, Criterion::Icl);
/// assert_eq!(Criterion::default(), Criterion::Bic);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Criterion {
    /// Bayesian information criterion `−2·log L + p·ln n`.
    #[default]
    Bic,
    /// Akaike information criterion `−2·log L + 2p`.
    Aic,
    /// Integrated completed likelihood: BIC plus twice the entropy of the
    /// responsibilities, which penalises overlapping components.
    Icl,
}

impl Criterion {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Bic => "bic",
            Criterion::Aic => "aic",
            Criterion::Icl => "icl",
        }
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Criterion {
    type Err = GmmError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bic" => Ok(Criterion::Bic),
            "aic" => Ok(Criterion::Aic),
            "icl" => Ok(Criterion::Icl),
            other => Err(invalid_option(
                "criterion",
                format!("unknown criterion {other:?}; expected bic, aic or icl"),
            )),
        }
    }
}

/// What to try.
///
/// ```
/// use gaussmix::select::{Criterion, SelectOptions};
/// use gaussmix::{CovarianceType, GaussianMixture};
/// let opts = SelectOptions::new(1..=4, CovarianceType::ALL.to_vec(), Criterion::Aic)
///     .with_fit_options(GaussianMixture::params(1).n_init(2));
/// assert_eq!(opts.ks, vec![1, 2, 3, 4]);
/// ```
#[derive(Clone, Debug)]
#[must_use = "options do nothing until `select` is called"]
#[non_exhaustive]
pub struct SelectOptions {
    /// Numbers of components to try.
    pub ks: Vec<usize>,
    /// Covariance types to try.
    pub covariance_types: Vec<CovarianceType>,
    /// Ranking criterion.
    pub criterion: Criterion,
    /// Options shared by every fit (`n_components` and `covariance_type` are replaced
    /// per candidate; `n_threads` bounds the whole selection).
    pub fit: GmmOptions,
}

impl SelectOptions {
    /// Candidates `ks × covariance_types`, default fit options.
    pub fn new(
        ks: impl IntoIterator<Item = usize>,
        covariance_types: Vec<CovarianceType>,
        criterion: Criterion,
    ) -> Self {
        SelectOptions {
            ks: ks.into_iter().collect(),
            covariance_types,
            criterion,
            fit: GmmOptions::default(),
        }
    }

    /// Uses these options for every candidate fit.
    pub fn with_fit_options(mut self, fit: GmmOptions) -> Self {
        self.fit = fit;
        self
    }
}

/// One row of the selection table.
/// See [`Selection`] for an example.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Candidate {
    /// Number of components.
    pub k: usize,
    /// Covariance type.
    pub covariance_type: CovarianceType,
    /// The ranking criterion's value (`None` when the fit failed).
    pub criterion_value: Option<f64>,
    /// BIC on the data.
    pub bic: Option<f64>,
    /// AIC on the data.
    pub aic: Option<f64>,
    /// ICL on the data.
    pub icl: Option<f64>,
    /// Mean log-likelihood of the data.
    pub log_likelihood: Option<f64>,
    /// Free parameters.
    pub n_parameters: usize,
    /// Whether EM converged.
    pub converged: Option<bool>,
    /// EM iterations of the kept restart.
    pub n_iter: Option<usize>,
    /// Why the fit failed, if it did.
    pub error: Option<String>,
    /// Whether the kept fit is a spurious optimum (every restart was, or
    /// `allow_spurious`): a likelihood spike on a few rows. Spurious candidates rank
    /// after every sound one, whatever their criterion.
    #[serde(default)]
    pub spurious: bool,
    /// Whether the kept fit is the warm start from `k − 1`'s model (one of its
    /// components split in two; see [`select`]) rather than one of the `n_init` runs.
    #[serde(default)]
    pub warm_start: bool,
}

/// The outcome of [`select`].
///
/// ```
/// use gaussmix::select::{select, Criterion, SelectOptions};
/// use gaussmix::CovarianceType;
/// let x = ndarray::array![[0.0], [0.3], [0.1], [8.0], [8.3], [8.1], [8.2]];
/// let opts = SelectOptions::new(1..=2, vec![CovarianceType::Spherical], Criterion::Bic);
/// let sel = select(&x, &opts)?;
/// // Candidates are ranked best first; `best` is the first one's model.
/// assert_eq!(sel.candidates[0].k, sel.best.n_components());
/// assert_eq!(sel.candidates.len(), 2);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Selection {
    /// The criterion used.
    pub criterion: Criterion,
    /// Every candidate, best first; failed candidates last, in the order tried.
    pub candidates: Vec<Candidate>,
    /// The best model (that of `candidates[0]`).
    pub best: GaussianMixture,
    /// What the selection wants its user to know (e.g.
    /// [`WarningKind::SelectWinnerNotConverged`]); the winner's own fit warnings are in
    /// `best.fit_record()`.
    pub warnings: Vec<FitWarning>,
}

/// `−Σ w_i Σ_k r_ik ln r_ik`: the entropy of the responsibilities (0 for hard clusters).
pub fn classification_entropy<X: AsData + ?Sized>(model: &GaussianMixture, x: &X) -> Result<f64> {
    let data = x.as_data()?;
    let p = model.predict_proba(&*data)?;
    let mut total = 0.0;
    for (i, row) in p.rows().into_iter().enumerate() {
        let w = data.weights().map_or(1.0, |w| w[i]);
        let h: f64 = row.iter().filter(|r| **r > 0.0).map(|r| -r * r.ln()).sum();
        total += w * h;
    }
    Ok(total)
}

/// A candidate's row (and model) from its fit.
fn evaluate(
    opts: &SelectOptions,
    data: &Data,
    k: usize,
    t: CovarianceType,
    fit: Result<GaussianMixture>,
) -> (Candidate, Option<GaussianMixture>) {
    let n_parameters = t.n_parameters(k, data.n_features());
    let fitted = fit.and_then(|m| {
        let h = classification_entropy(&m, data)?;
        Ok((m, h))
    });
    match fitted {
        Ok((m, h)) => {
            let rec = m.fit_record().cloned().unwrap_or_default();
            let bic = rec.bic;
            let icl = bic + 2.0 * h;
            let value = match opts.criterion {
                Criterion::Bic => bic,
                Criterion::Aic => rec.aic,
                Criterion::Icl => icl,
            };
            let c = Candidate {
                k,
                covariance_type: t,
                criterion_value: Some(value),
                bic: Some(bic),
                aic: Some(rec.aic),
                icl: Some(icl),
                log_likelihood: Some(rec.score),
                n_parameters,
                converged: Some(rec.converged),
                n_iter: Some(rec.n_iter),
                error: None,
                spurious: rec
                    .warnings
                    .iter()
                    .any(|w| w.kind == WarningKind::SpuriousOptimum),
                warm_start: false,
            };
            (c, Some(m))
        }
        Err(e) => (
            Candidate {
                k,
                covariance_type: t,
                criterion_value: None,
                bic: None,
                aic: None,
                icl: None,
                log_likelihood: None,
                n_parameters,
                converged: None,
                n_iter: None,
                error: Some(e.to_string()),
                spurious: false,
                warm_start: false,
            },
            None,
        ),
    }
}

/// Warm starts: for each covariance type, in ascending `k`, when `k − 1` was fitted too,
/// one more EM run for `k` starts from `k − 1`'s kept model with one component split in
/// two ([`split_start`]); it replaces the candidate's fit when it ends higher by more
/// than `tol` (sound before spurious, as restarts rank), and its record says so
/// (`FitRecord::split_from`). A mixture with one more component should explain
/// the data at least as well; restarts alone often miss that (a criterion curve that
/// dips and rises from one `k` to the next by chance), while `k − 1`'s optimum with its
/// widest component split is a start close to it. The chain runs through the kept
/// models, so `k + 1` starts from `k`'s, warm or not.
fn warm_starts(
    opts: &SelectOptions,
    data: &Data,
    grid: &[(usize, CovarianceType)],
    results: &mut [(Candidate, Option<GaussianMixture>)],
) {
    let mut order: Vec<usize> = (0..grid.len()).collect();
    order.sort_by_key(|&i| (grid[i].1.as_str(), grid[i].0));
    for &i in &order {
        let (k, t) = grid[i];
        let Some(prev) = grid.iter().position(|&g| g == (k.wrapping_sub(1), t)) else {
            continue;
        };
        let Some(start) = results[prev].1.as_ref().and_then(|m| split_start(m, data)) else {
            continue;
        };
        let mut o = opts.fit.clone();
        o.n_components = k;
        o.covariance_type = t;
        o.n_threads = None;
        o.n_init = 1;
        o.start = start;
        let Ok(mut warm) = o.fit(data) else {
            continue;
        };
        if let Some(r) = warm.fit_record_mut() {
            r.split_from = Some(k - 1);
        }
        // Compared by the final score (what the table shows; the last lower bound lags
        // it by up to `tol`), and only a gain larger than `tol` — the precision of
        // either fit's convergence — counts: the same optimum reached twice keeps the
        // plain fit.
        let rank = |m: &GaussianMixture| {
            let rec = m.fit_record();
            let spurious = rec.is_some_and(|r| {
                r.warnings
                    .iter()
                    .any(|w| w.kind == WarningKind::SpuriousOptimum)
            });
            (
                !spurious || opts.fit.allow_spurious,
                rec.map_or(f64::NEG_INFINITY, |r| r.score),
            )
        };
        let better = match &results[i].1 {
            None => true,
            Some(cur) => {
                let (a, b) = (rank(&warm), rank(cur));
                (a.0 && !b.0) || (a.0 == b.0 && a.1 > b.1 + opts.fit.tol)
            }
        };
        if better {
            let (mut c, m) = evaluate(opts, data, k, t, Ok(warm));
            c.warm_start = true;
            results[i] = (c, m);
        }
    }
}

/// `model` (`K` components) as the start of a `K + 1`-component fit: the component with
/// the largest `weight × variance along its principal axis` is split in two, each with
/// half its weight and its covariance, their means moved apart by `±√(2/π)·σ` along that
/// axis (the means of the two halves of a Gaussian cut through its centre). The axis is
/// the top eigenvector of the component's scatter of the data, weighted by its
/// responsibilities, so it exists for every covariance type. `None` when no component
/// has spread to split (e.g. constant data).
fn split_start(model: &GaussianMixture, data: &Data) -> Option<StartParameters> {
    let (k, d) = (model.n_components(), model.n_features());
    let resp = model.predict_proba(data).ok()?;
    let means = model.means();
    let weights = model.weights();
    // Each component's responsibility-weighted scatter about its mean, in one pass over
    // fixed chunks of rows (in parallel, summed in chunk order: the same for any thread
    // count); the upper triangles only.
    let n = data.n_samples();
    const CHUNK: usize = 4096;
    let starts: Vec<usize> = (0..n).step_by(CHUNK).collect();
    let parts: Vec<(Vec<f64>, Vec<f64>)> = starts
        .par_iter()
        .map(|&a| {
            let mut sc = vec![0.0; k * d * d];
            let mut tot = vec![0.0; k];
            let mut diff = vec![0.0; d];
            data.for_each_row(a, (a + CHUNK).min(n), |i, x| {
                let wi = data.weights().map_or(1.0, |w| w[i]);
                for c in 0..k {
                    let r = resp[[i, c]] * wi;
                    if r <= 0.0 {
                        continue;
                    }
                    tot[c] += r;
                    for (j, dj) in diff.iter_mut().enumerate() {
                        *dj = x[j] - means[[c, j]];
                    }
                    let s = &mut sc[c * d * d..(c + 1) * d * d];
                    for p in 0..d {
                        let rp = r * diff[p];
                        for q in p..d {
                            s[p * d + q] += rp * diff[q];
                        }
                    }
                }
            });
            (sc, tot)
        })
        .collect();
    let mut scatter = vec![0.0; k * d * d];
    let mut total = vec![0.0; k];
    for (sc, tot) in &parts {
        scatter.iter_mut().zip(sc).for_each(|(a, b)| *a += b);
        total.iter_mut().zip(tot).for_each(|(a, b)| *a += b);
    }
    let mut best: Option<(f64, usize, f64, Vec<f64>)> = None;
    for c in 0..k {
        if total[c] <= 0.0 {
            continue;
        }
        let mut s = scatter[c * d * d..(c + 1) * d * d].to_vec();
        for p in 0..d {
            for q in p..d {
                s[p * d + q] /= total[c];
                s[q * d + p] = s[p * d + q];
            }
        }
        let Some((values, vectors)) = symmetric_eigen(&s, d) else {
            continue;
        };
        let lambda = values[d - 1];
        let score = weights[c] * lambda;
        if lambda > 0.0 && score.is_finite() && best.as_ref().is_none_or(|b| score > b.0) {
            let axis: Vec<f64> = (0..d).map(|a| vectors[a * d + d - 1]).collect();
            best = Some((score, c, lambda, axis));
        }
    }
    let (_, c, lambda, axis) = best?;
    let shift = (2.0 / std::f64::consts::PI).sqrt() * lambda.sqrt();
    let mut w = Array1::zeros(k + 1);
    let mut m = Array2::zeros((k + 1, d));
    for j in 0..k {
        w[j] = weights[j];
        m.row_mut(j).assign(&means.row(j));
    }
    w[c] = weights[c] / 2.0;
    w[k] = weights[c] / 2.0;
    for a in 0..d {
        m[[c, a]] = means[[c, a]] - shift * axis[a];
        m[[k, a]] = means[[c, a]] + shift * axis[a];
    }
    let cov = match model.covariances() {
        Covariances::Full(v) => {
            let mut n = Array3::zeros((k + 1, d, d));
            n.slice_mut(s![..k, .., ..]).assign(v);
            let vc = v.index_axis(Axis(0), c).to_owned();
            n.index_axis_mut(Axis(0), k).assign(&vc);
            Covariances::Full(n)
        }
        Covariances::Diag(v) => {
            let mut n = Array2::zeros((k + 1, d));
            n.slice_mut(s![..k, ..]).assign(v);
            let vc = v.row(c).to_owned();
            n.row_mut(k).assign(&vc);
            Covariances::Diag(n)
        }
        Covariances::Spherical(v) => {
            let mut n = Array1::zeros(k + 1);
            n.slice_mut(s![..k]).assign(v);
            n[k] = v[c];
            Covariances::Spherical(n)
        }
        Covariances::Tied(v) => Covariances::Tied(v.clone()),
    };
    Some(StartParameters {
        weights: Some(w),
        means: Some(m),
        covariances: Some(cov),
        precisions: None,
    })
}

/// Fits every candidate (in parallel; deterministic for any thread count) and ranks them.
/// A failing candidate is recorded with its reason; only if all fail is it an error.
pub fn select<X: AsData + ?Sized>(x: &X, opts: &SelectOptions) -> Result<Selection> {
    let data = x.as_data()?;
    let data: &Data = &data;
    if opts.ks.is_empty() {
        return Err(invalid_option(
            "k",
            "give at least one number of components",
        ));
    }
    if let Some(k) = opts.ks.iter().find(|k| **k == 0) {
        return Err(invalid_option(
            "k",
            format!("numbers of components must be ≥ 1, got {k}"),
        ));
    }
    if opts.covariance_types.is_empty() {
        return Err(invalid_option(
            "covariance_type",
            "give at least one covariance type",
        ));
    }
    let mut grid = Vec::new();
    for &t in &opts.covariance_types {
        for &k in &opts.ks {
            if !grid.contains(&(k, t)) {
                grid.push((k, t));
            }
        }
    }
    let results: Vec<(Candidate, Option<GaussianMixture>)> = install(opts.fit.n_threads, || {
        grid.par_iter()
            .map(|&(k, t)| {
                let mut o = opts.fit.clone();
                o.n_components = k;
                o.covariance_type = t;
                o.n_threads = None; // run inside the selection's pool
                evaluate(opts, data, k, t, o.fit(data))
            })
            .collect()
    })?;
    let mut results = results;
    install(opts.fit.n_threads, || {
        warm_starts(opts, data, &grid, &mut results)
    })?;
    let mut order: Vec<usize> = (0..results.len()).collect();
    // Best first: sound before spurious, then lowest criterion, then fewer parameters;
    // failures keep their order last.
    order.sort_by(|&a, &b| {
        let (ca, cb) = (&results[a].0, &results[b].0);
        match (ca.criterion_value, cb.criterion_value) {
            (Some(x), Some(y)) => ca
                .spurious
                .cmp(&cb.spurious)
                .then(x.total_cmp(&y))
                .then(ca.n_parameters.cmp(&cb.n_parameters))
                .then(a.cmp(&b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(&b),
        }
    });
    let best = results[order[0]].1.clone();
    let candidates: Vec<Candidate> = order.iter().map(|&i| results[i].0.clone()).collect();
    match best {
        Some(best) => {
            let mut warnings = Vec::new();
            let c = &candidates[0];
            if c.converged == Some(false) {
                warnings.push(FitWarning::new(
                    WarningKind::SelectWinnerNotConverged,
                    None,
                    None,
                    format!(
                        "the selected model (k = {}, {}) did not converge within max_iter = {} (tol = {:e}), so its {} is not final and the ranking may change; increase max_iter or loosen tol and select again",
                        c.k, c.covariance_type, opts.fit.max_iter, opts.fit.tol, opts.criterion
                    ),
                ));
            }
            Ok(Selection {
                criterion: opts.criterion,
                candidates,
                best,
                warnings,
            })
        }
        None => {
            let reasons: Vec<String> = candidates
                .iter()
                .take(3)
                .map(|c| {
                    format!(
                        "k={} {}: {}",
                        c.k,
                        c.covariance_type,
                        c.error.clone().unwrap_or_default()
                    )
                })
                .collect();
            Err(GmmError::InvalidData(format!(
                "every candidate failed to fit ({} tried); first reasons: {}",
                candidates.len(),
                reasons.join("; ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// One component over two clusters side by side on x: the split runs along x,
    /// each half `√(2/π)·σ` from the centre, halving the weight; the other component and
    /// every covariance are copied.
    #[test]
    fn split_start_cuts_the_widest_component_along_its_axis() {
        let mut rows = Vec::new();
        for i in 0..200 {
            let t = (i % 20) as f64 * 0.05 - 0.5;
            rows.push([if i < 100 { -4.0 } else { 4.0 } + t, 0.3 * t]);
        }
        rows.push([50.0, 50.0]);
        let x = Array2::from(rows);
        let model = GaussianMixture::from_parameters(
            array![0.9, 0.1],
            array![[0.0, 0.0], [50.0, 50.0]],
            Covariances::Diag(array![[16.0, 1.0], [1.0, 1.0]]),
        )
        .unwrap();
        let data = Data::from_view(x.view()).unwrap();
        let s = split_start(&model, &data).unwrap();
        let (w, m) = (s.weights.unwrap(), s.means.unwrap());
        assert_eq!(w.to_vec(), vec![0.45, 0.1, 0.45]);
        // Split about the old mean, along (almost) x — the clusters' small tilt aside —
        // by √(2/π) times the spread along the axis (≈ the mean square of ±4 + t).
        let var = x.slice(s![..200, 0]).mapv(|v| v * v).mean().unwrap();
        let shift = (2.0 / std::f64::consts::PI).sqrt() * var.sqrt();
        let half = ((m[[2, 0]] - m[[0, 0]]).hypot(m[[2, 1]] - m[[0, 1]])) / 2.0;
        assert!((half - shift).abs() < 1e-4 * shift, "{half} vs {shift}");
        assert!((m[[0, 0]] + m[[2, 0]]).abs() < 1e-12 && (m[[0, 1]] + m[[2, 1]]).abs() < 1e-12);
        assert!(m[[2, 0]] > 3.0 && m[[2, 1]].abs() < 0.01, "{m}");
        assert_eq!(m.row(1).to_vec(), vec![50.0, 50.0]);
        match s.covariances.unwrap() {
            Covariances::Diag(c) => assert_eq!(c, array![[16.0, 1.0], [1.0, 1.0], [16.0, 1.0]]),
            other => panic!("{other:?}"),
        }
        // Nothing to split on constant data.
        let flat = Array2::from_elem((10, 2), 1.0);
        let one = GaussianMixture::from_parameters(
            array![1.0],
            array![[1.0, 1.0]],
            Covariances::Spherical(array![1.0]),
        )
        .unwrap();
        assert!(split_start(&one, &Data::from_view(flat.view()).unwrap()).is_none());
    }
}
