//! k-means++ seeding and Lloyd's k-means, weighted, seeded and chunk-parallel.
//!
//! Usable on its own; the mixture uses it to choose starting responsibilities.
//!
//! ```
//! use gaussmix::kmeans::KMeans;
//! let x = ndarray::array![[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]];
//! let fit = KMeans::params(2).seed(7).max_iter(100).fit(&x)?;
//! let mut c: Vec<f64> = fit.centers.iter().copied().collect();
//! c.sort_by(f64::total_cmp);
//! assert!((c[0] - 0.1).abs() < 1e-12 && (c[1] - 10.1).abs() < 1e-12);
//! assert_eq!(KMeans::assign(&x, fit.centers.view())?, fit.labels);
//! # Ok::<(), gaussmix::GmmError>(())
//! ```

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use std::borrow::Cow;

use crate::data::{AsData, Data, RowBuf};
use crate::error::{GmmError, Result};
use crate::parallel::{chunks, map_groups};

/// The result of [`KMeans::fit`].
#[derive(Clone, Debug)]
///
/// ```
/// let x = ndarray::array![[0.0], [1.0], [10.0], [11.0]];
/// let fit = gaussmix::kmeans::KMeans::params(2).fit(&x)?;
/// assert!((fit.inertia - 1.0).abs() < 1e-12);
/// assert!(fit.n_iter >= 1 && fit.labels.len() == 4);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[non_exhaustive]
pub struct KMeansFit {
    /// `K×D` cluster centres.
    pub centers: Array2<f64>,
    /// The nearest final centre of every row.
    pub labels: Vec<usize>,
    /// Weighted sum of squared distances of rows to their nearest centre.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub n_iter: usize,
}

/// `‖a − b‖²` with eight partial sums (vectorises; a single running sum would not).
#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    crate::kernels::sum_sq_diff(a, b)
}

/// Nearest centres by one product per chunk: argmin_c ‖x − c‖² =
/// argmax_c (x − s)·(c − s) − ½‖c − s‖², about the centres' mean `s` so that the
/// expansion does not cancel far from the origin. (As with scikit-learn's distances,
/// near-ties may resolve differently from the exact distances.)
pub(crate) struct NearestCenters {
    k: usize,
    d: usize,
    shift: Vec<f64>,
    /// `c − s` (`K×D`) and `½‖c − s‖²`.
    cc: Vec<f64>,
    half_sq: Vec<f64>,
}

/// Buffers [`NearestCenters::assign`] reuses.
#[derive(Default)]
pub(crate) struct AssignScratch {
    xc: Vec<f64>,
    h: Vec<f64>,
}

impl NearestCenters {
    pub fn new(centers: &[f64], k: usize, d: usize) -> Self {
        // The centres' mean, summed about the first centre so that equal centres give
        // exactly their value (no rounding by ε·|x| to square into an overflow).
        let mut shift = centers[..d].to_vec();
        for c in centers.chunks_exact(d) {
            for ((s, v), f) in shift.iter_mut().zip(c).zip(&centers[..d]) {
                *s += (v - f) / k as f64;
            }
        }
        let cc: Vec<f64> = centers
            .chunks_exact(d)
            .flat_map(|c| c.iter().zip(&shift).map(|(a, b)| a - b))
            .collect();
        let half_sq = cc
            .chunks_exact(d)
            .map(|c| 0.5 * c.iter().map(|v| v * v).sum::<f64>())
            .collect();
        NearestCenters {
            k,
            d,
            shift,
            cc,
            half_sq,
        }
    }

    /// `label[i]` ← the centre nearest to row `i` of `rows` (first index on ties).
    pub fn assign(&self, rows: &[f64], label: &mut Vec<usize>, s: &mut AssignScratch) {
        let (k, d) = (self.k, self.d);
        let m = rows.len() / d;
        // Written in place (a `flat_map` extend did not vectorise: 5% of a small fit).
        s.xc.resize(m * d, 0.0);
        for (xc, x) in s.xc.chunks_exact_mut(d).zip(rows.chunks_exact(d)) {
            for ((o, a), b) in xc.iter_mut().zip(x).zip(&self.shift) {
                *o = a - b;
            }
        }
        s.h.resize(m * k, 0.0);
        matmul(
            MatMut::from_row_major_slice_mut(&mut s.h, m, k),
            Accum::Replace,
            MatRef::from_row_major_slice(&s.xc, m, d),
            MatRef::from_row_major_slice(&self.cc, k, d).transpose(),
            1.0,
            Par::Seq,
        );
        label.clear();
        label.extend(s.h.chunks_exact(k).map(|hr| {
            let mut c = 0;
            let mut best = f64::NEG_INFINITY;
            for (j, (hv, q)) in hr.iter().zip(&self.half_sq).enumerate() {
                let v = hv - q;
                if v > best {
                    best = v;
                    c = j;
                }
            }
            c
        }));
    }
}

fn check(data: &Data, k: usize) -> Result<()> {
    if k == 0 {
        return Err(crate::error::invalid_option(
            "n_components",
            "must be at least 1, got 0",
        ));
    }
    let eff = data.n_effective_rows();
    if eff < k {
        return Err(GmmError::InvalidData(format!(
            "{eff} samples (with positive weight) cannot be split into {k} components; use at most {eff} components or more data"
        )));
    }
    Ok(())
}

/// Draws an index with probability proportional to `mass[i]` (all ≥ 0, sum `total` > 0).
fn draw(mass: impl Iterator<Item = f64>, total: f64, rng: &mut ChaCha8Rng) -> Option<usize> {
    draw_many(mass, total, 1, rng)[0]
}

/// `count` draws as [`draw`] would make them one after the other (the same random
/// numbers, in the same order, against the same running sum), in one scan of `mass`.
fn draw_many(
    mass: impl Iterator<Item = f64>,
    total: f64,
    count: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Option<usize>> {
    let targets: Vec<f64> = (0..count).map(|_| rng.gen::<f64>() * total).collect();
    // Targets in increasing order; ties keep their draw order.
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by(|a, b| targets[*a].total_cmp(&targets[*b]));
    let mut picks = vec![None; count];
    let mut next = 0;
    let mut acc = 0.0;
    let mut last = None;
    for (i, m) in mass.enumerate() {
        if next == count {
            break;
        }
        if m > 0.0 {
            acc += m;
            last = Some(i);
            while next < count && acc > targets[order[next]] {
                picks[order[next]] = Some(i);
                next += 1;
            }
        }
    }
    for &t in &order[next..] {
        picks[t] = last;
    }
    picks
}

/// Greedy k-means++ seeding (Arthur & Vassilvitskii, with `2 + ln k` local trials per
/// centre as scikit-learn does), weighted by the sample weights.
pub(crate) fn kmeans_plus_plus(data: &Data, k: usize, seed: u64) -> Result<Array2<f64>> {
    kmeans_plus_plus_trials(data, k, seed, 2 + (k as f64).ln() as usize)
}

/// k-means++ seeding with `trials` candidates per centre (1: the original algorithm,
/// without the scoring pass).
pub(crate) fn kmeans_plus_plus_trials(
    data: &Data,
    k: usize,
    seed: u64,
    trials: usize,
) -> Result<Array2<f64>> {
    let d = data.n_features();
    let picks = plus_plus_indices(data, k, seed, trials.max(1))?;
    let centers: Vec<f64> = picks.iter().flat_map(|&i| data.row_f64(i)).collect();
    Array2::from_shape_vec((k, d), centers).map_err(|e| GmmError::Numerical(e.to_string()))
}

/// The rows [`kmeans_plus_plus`] picks as centres, in order (the same draws: the centres
/// are exactly these rows).
pub(crate) fn kmeans_plus_plus_indices(data: &Data, k: usize, seed: u64) -> Result<Vec<usize>> {
    plus_plus_indices(data, k, seed, 2 + (k as f64).ln() as usize)
}

fn plus_plus_indices(data: &Data, k: usize, seed: u64, trials: usize) -> Result<Vec<usize>> {
    check(data, k)?;
    let n = data.n_samples();
    let w = |i: usize| data.weights().map_or(1.0, |w| w[i]);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked: Vec<usize> = Vec::with_capacity(k);
    let first = draw((0..n).map(w), data.total_weight(), &mut rng).unwrap_or(0);
    let first_row = data.row_f64(first);
    picked.push(first);
    let mut closest: Vec<f64> = vec![f64::INFINITY; n];
    lower_closest(data, &mut closest, &first_row);
    for _ in 1..k {
        let potential: f64 = (0..n).map(|i| w(i) * closest[i]).sum();
        // All trials' draws in one scan of the running sum.
        let picks = if potential > 0.0 {
            draw_many(
                (0..n).map(|i| w(i) * closest[i]),
                potential,
                trials,
                &mut rng,
            )
        } else {
            // Every row already sits on a centre: any row will do.
            draw_many((0..n).map(w), data.total_weight(), trials, &mut rng)
        };
        let candidates: Vec<usize> = picks.into_iter().map(|p| p.unwrap_or(0)).collect();
        if let [only] = candidates[..] {
            // One candidate: nothing to compare, no scoring pass.
            lower_closest(data, &mut closest, &data.row_f64(only));
            picked.push(only);
            continue;
        }
        // Pick the candidate that lowers the potential most (ties: first drawn); all
        // candidates are scored in one parallel pass over the data.
        let cand_rows: Vec<Vec<f64>> = candidates.iter().map(|&c| data.row_f64(c)).collect();
        let cand_flat: Vec<f64> = cand_rows.concat();
        let parts = map_groups(n, |s, e| score_candidates(data, &closest, &cand_flat, s, e));
        let mut best: Option<(usize, f64)> = None;
        for (t, &cand) in candidates.iter().enumerate() {
            let pot: f64 = parts.iter().map(|p| p[t]).sum();
            if best.is_none_or(|(_, b)| pot < b) {
                best = Some((cand, pot));
            }
        }
        let chosen = best.map_or(0, |b| b.0);
        let c = data.row_f64(chosen);
        lower_closest(data, &mut closest, &c);
        picked.push(chosen);
    }
    Ok(picked)
}

/// The index of the nearest centre (`K×D`) for every row (lowest index on ties, up to
/// rounding of near-ties as in scikit-learn), in parallel over fixed row groups.
///
pub(crate) fn assign(data: &Data, centers: ndarray::ArrayView2<f64>) -> Result<Vec<usize>> {
    let (k, d) = centers.dim();
    if d != data.n_features() {
        return Err(GmmError::FeatureMismatch {
            expected: d,
            found: data.n_features(),
        });
    }
    if k == 0 {
        return Err(crate::error::invalid_option(
            "n_components",
            "must be at least 1, got 0",
        ));
    }
    let flat: Vec<f64> = centers.iter().copied().collect();
    let near = NearestCenters::new(&flat, k, d);
    let parts = map_groups(data.n_samples(), |s, e| {
        let mut out = Vec::with_capacity(e - s);
        let (mut conv, mut scratch, mut label) = (Vec::new(), AssignScratch::default(), Vec::new());
        let mut rb = RowBuf::default();
        for (cs, ce) in chunks(s, e) {
            let rows = data.rows(cs, ce, &mut rb).as_f64(&mut conv);
            near.assign(rows, &mut label, &mut scratch);
            out.extend_from_slice(&label);
        }
        out
    });
    Ok(parts.concat())
}

/// `closest[i] ← min(closest[i], ‖x_i − c‖²)`, in parallel over the fixed row groups.
fn lower_closest(data: &Data, closest: &mut [f64], c: &[f64]) {
    use rayon::prelude::*;
    let gr = crate::parallel::group_rows(closest.len());
    closest.par_chunks_mut(gr).enumerate().for_each(|(g, cl)| {
        let s = g * gr;
        lower_closest_rows(data, cl, c, s);
    });
}

crate::simd::multiversion! {
    /// `closest[i] ← min(closest[i], ‖x_{s+i} − c‖²)`.
    fn lower_closest_rows(data: &Data, cl: &mut [f64], c: &[f64], s: usize) {
        _ => lower_closest_body(data, cl, c, s)
    }
}

#[inline(always)]
fn lower_closest_body(data: &Data, cl: &mut [f64], c: &[f64], s: usize) {
    let d = data.n_features();
    let mut buf = Vec::new();
    let mut rb = RowBuf::default();
    for (cs, ce) in chunks(s, s + cl.len()) {
        let rows = data.rows(cs, ce, &mut rb).as_f64(&mut buf);
        for (x, v) in rows.chunks_exact(d).zip(&mut cl[cs - s..ce - s]) {
            let dist = sq_dist(x, c);
            if dist < *v {
                *v = dist;
            }
        }
    }
}

crate::simd::multiversion! {
    /// For each candidate `t` (rows of `cands`), `Σ w_i min(closest_i, ‖x_i − c_t‖²)`
    /// over rows `[s, e)`.
    fn score_candidates(data: &Data, closest: &[f64], cands: &[f64], s: usize, e: usize) -> Vec<f64> {
        _ => score_candidates_rows(data, closest, cands, s, e)
    }
}

#[inline(always)]
fn score_candidates_rows(
    data: &Data,
    closest: &[f64],
    cands: &[f64],
    s: usize,
    e: usize,
) -> Vec<f64> {
    let d = data.n_features();
    let mut pot = vec![0.0; cands.len() / d];
    let mut buf = Vec::new();
    let mut rb = RowBuf::default();
    for (cs, ce) in chunks(s, e) {
        let rows = data.rows(cs, ce, &mut rb).as_f64(&mut buf);
        for (r, x) in rows.chunks_exact(d).enumerate() {
            let i = cs + r;
            let wi = data.weights().map_or(1.0, |w| w[i]);
            for (p, c) in pot.iter_mut().zip(cands.chunks_exact(d)) {
                *p += wi * closest[i].min(sq_dist(x, c));
            }
        }
    }
    pot
}

/// Lloyd's k-means from k-means++ seeds; stops when the centres move less than `1e-4`
/// times the mean feature variance (scikit-learn's rule) or after `max_iter` steps.
pub(crate) fn kmeans(data: &Data, k: usize, seed: u64, max_iter: usize) -> Result<KMeansFit> {
    let init = kmeans_plus_plus(data, k, seed)?;
    lloyd(data, init, max_iter)
}

/// Lloyd's iterations from given centres.
pub(crate) fn lloyd(data: &Data, init: Array2<f64>, max_iter: usize) -> Result<KMeansFit> {
    let (n, d) = (data.n_samples(), data.n_features());
    let k = init.nrows();
    if init.ncols() != d {
        return Err(GmmError::FeatureMismatch {
            expected: init.ncols(),
            found: d,
        });
    }
    let tol = 1e-4 * mean_variance(data);
    let mut centers: Vec<f64> = init.iter().copied().collect();
    let mut n_iter = 0;
    let mut inertia;
    loop {
        let near = NearestCenters::new(&centers, k, d);
        // Sums of (x − old centre) per cluster: shifted so the update is accurate far
        // from the origin.
        let parts = map_groups(n, |s, e| {
            let mut sums = vec![0.0; k * d];
            let mut mass = vec![0.0; k];
            let mut inert = 0.0;
            let (mut conv, mut scratch, mut label) =
                (Vec::new(), AssignScratch::default(), Vec::new());
            let mut rb = RowBuf::default();
            for (cs, ce) in chunks(s, e) {
                let rows = data.rows(cs, ce, &mut rb).as_f64(&mut conv);
                near.assign(rows, &mut label, &mut scratch);
                for (r, (x, &c)) in rows.chunks_exact(d).zip(&label).enumerate() {
                    let wi = data.weights().map_or(1.0, |w| w[cs + r]);
                    let mu = &centers[c * d..(c + 1) * d];
                    mass[c] += wi;
                    inert += wi * sq_dist(x, mu);
                    for j in 0..d {
                        sums[c * d + j] += wi * (x[j] - mu[j]);
                    }
                }
            }
            (sums, mass, inert)
        });
        let mut sums = vec![0.0; k * d];
        let mut mass = vec![0.0; k];
        inertia = 0.0;
        for (s, m, i) in &parts {
            sums.iter_mut().zip(s).for_each(|(a, b)| *a += b);
            mass.iter_mut().zip(m).for_each(|(a, b)| *a += b);
            inertia += i;
        }
        let mut moved = 0.0;
        for c in 0..k {
            if mass[c] > 0.0 {
                for j in 0..d {
                    let step = sums[c * d + j] / mass[c];
                    centers[c * d + j] += step;
                    moved += step * step;
                }
            }
        }
        n_iter += 1;
        if moved <= tol || n_iter >= max_iter {
            break;
        }
    }
    let centers =
        Array2::from_shape_vec((k, d), centers).map_err(|e| GmmError::Numerical(e.to_string()))?;
    Ok(KMeansFit {
        centers,
        // Filled by the public `KMeans::fit` (the initialisation does not need them).
        labels: Vec::new(),
        inertia,
        n_iter,
    })
}

/// Lloyd's k-means from k-means++ seeds, with named options (scikit-learn's `KMeans`
/// with `init="k-means++"`, `n_init=1`). Weighted when the data carry sample weights.
///
/// ```
/// use gaussmix::kmeans::KMeans;
/// let x = ndarray::array![[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]];
/// let km = KMeans::params(2).seed(3);
/// // The k-means++ seeds are rows of the data, one per cluster here.
/// let rows = km.plus_plus_indices(&x)?;
/// assert!((rows[0] < 3) != (rows[1] < 3));
/// let fit = km.fit(&x)?;
/// assert_eq!(fit.labels[0], fit.labels[2]);
/// assert_ne!(fit.labels[0], fit.labels[3]);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "options do nothing until `fit` is called"]
#[non_exhaustive]
pub struct KMeans {
    /// Number of clusters (≥ 1).
    pub n_clusters: usize,
    /// Seed of the k-means++ draws (default 0).
    pub seed: u64,
    /// Lloyd iterations at most (default 300, scikit-learn's).
    pub max_iter: usize,
}

impl KMeans {
    /// `n_clusters` clusters, seed 0, at most 300 iterations.
    pub fn params(n_clusters: usize) -> Self {
        KMeans {
            n_clusters,
            seed: 0,
            max_iter: 300,
        }
    }

    /// The seed of the k-means++ draws.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The Lloyd iteration cap (at least 1).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    fn checked<'x, X: AsData + ?Sized>(&self, x: &'x X) -> Result<Cow<'x, Data<'x>>> {
        if self.max_iter == 0 {
            return Err(crate::error::invalid_option(
                "max_iter",
                "must be at least 1, got 0",
            ));
        }
        x.as_data()
    }

    /// The rows k-means++ picks as centres, in order (scikit-learn's `kmeans_plusplus`
    /// returns the same rows' values and these indices).
    pub fn plus_plus_indices<X: AsData + ?Sized>(&self, x: &X) -> Result<Vec<usize>> {
        kmeans_plus_plus_indices(&*self.checked(x)?, self.n_clusters, self.seed)
    }

    /// The k-means++ centres (`K×D`): the rows of [`KMeans::plus_plus_indices`].
    pub fn plus_plus<X: AsData + ?Sized>(&self, x: &X) -> Result<Array2<f64>> {
        kmeans_plus_plus(&*self.checked(x)?, self.n_clusters, self.seed)
    }

    /// Lloyd's iterations from k-means++ seeds; stops when the centres move less than
    /// `1e-4` times the mean feature variance (scikit-learn's rule) or after `max_iter`
    /// steps. The labels are each row's nearest final centre.
    pub fn fit<X: AsData + ?Sized>(&self, x: &X) -> Result<KMeansFit> {
        let data = self.checked(x)?;
        let mut fit = kmeans(&data, self.n_clusters, self.seed, self.max_iter)?;
        fit.labels = assign(&data, fit.centers.view())?;
        Ok(fit)
    }

    /// Lloyd's iterations from the given centres (`K×D`).
    pub fn fit_from<X: AsData + ?Sized>(&self, x: &X, centers: Array2<f64>) -> Result<KMeansFit> {
        let data = self.checked(x)?;
        let mut fit = lloyd(&data, centers, self.max_iter)?;
        fit.labels = assign(&data, fit.centers.view())?;
        Ok(fit)
    }

    /// The index of the nearest centre (`K×D`) for every row (lowest index on ties, up
    /// to rounding of near-ties as in scikit-learn).
    ///
    /// ```
    /// use gaussmix::kmeans::KMeans;
    /// let x = ndarray::array![[0.0], [0.1], [10.0], [10.1]];
    /// let centers = ndarray::array![[10.0], [0.0]];
    /// assert_eq!(KMeans::assign(&x, centers.view())?, vec![1, 1, 0, 0]);
    /// # Ok::<(), gaussmix::GmmError>(())
    /// ```
    pub fn assign<X: AsData + ?Sized>(
        x: &X,
        centers: ndarray::ArrayView2<f64>,
    ) -> Result<Vec<usize>> {
        assign(&*x.as_data()?, centers)
    }
}

fn mean_variance(data: &Data) -> f64 {
    let (_, var) = data.column_moments();
    var.iter().sum::<f64>() / var.len() as f64
}

#[cfg(test)]
mod draw_tests {
    use super::*;

    /// One scan gives exactly the draws that separate scans would.
    #[test]
    fn draw_many_equals_repeated_draws() {
        let mass: Vec<f64> = (0..500).map(|i| ((i * 37) % 11) as f64 * 0.5).collect();
        let total: f64 = mass.iter().sum();
        for seed in 0..20 {
            let mut a = ChaCha8Rng::seed_from_u64(seed);
            let mut b = ChaCha8Rng::seed_from_u64(seed);
            let one: Vec<Option<usize>> = (0..7)
                .map(|_| draw(mass.iter().copied(), total, &mut a))
                .collect();
            assert_eq!(draw_many(mass.iter().copied(), total, 7, &mut b), one);
        }
        // Rounding past the end: the last row with mass.
        let mut r = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            draw_many([0.0, 1.0, 0.0].into_iter(), 1e9, 2, &mut r),
            vec![Some(1); 2]
        );
    }
}
