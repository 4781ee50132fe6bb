//! Split-and-merge moves on em-EM's winning run (after Ueda, Nakano, Ghahramani &
//! Hinton 2000, "SMEM algorithm for mixture models").
//!
//! Restarts escape a poor local optimum only by luck of the start. A *move* escapes it
//! from the optimum itself: two components are merged into one and a third is split in
//! two, so that `K` stays the same but mass moves from where the model has one component
//! too many to where it has one too few; EM then runs from the moved parameters, and the
//! result replaces the kept run if its log-likelihood is higher (and it is not a
//! spurious optimum). On strongly multimodal data — every restart ending in a different
//! optimum, as for breast-cancer with `K = 10` — moves reach optima that ten restarts of
//! either gaussmix or scikit-learn rarely do (bench/README.md "Optima").
//!
//! Which move: Ueda et al. rank merges by the overlap of the two components'
//! responsibilities and splits by a local Kullback–Leibler divergence. On the benchmark
//! cases that need moves, neither ranking predicted the moves that improved (a third of
//! all moves did, spread over most triplets; the component ranked first for splitting
//! improved in none), so moves are drawn uniformly at random among the triplets not yet
//! tried from the current parameters, seeded by the fit's seed.
//!
//! The moved parameters: the merged component has the pair's total weight, their
//! weighted mean and the covariance of their union (within plus between); the split
//! component's halves have half its weight each, their means `±√(2/π)·√λ` along its
//! principal axis (`λ` its variance along the axis: the means of the two halves of a
//! Gaussian cut through its centre) and its covariance with the variance along the axis
//! reduced to the halves' `(1 − 2/π)·λ`. The axis: the top eigenvector of a full (or the
//! tied) covariance, the feature of largest variance for diag, a seeded random direction
//! for spherical (which has no preferred axis, and whose halves keep its variance). A
//! tied covariance is shared: only weights and means move.
//!
//! Each move's EM run goes to convergence: probing it early (abandoning it unless it had
//! reached the kept run's log-likelihood after 15 iterations) lost most improving moves
//! on breast-cancer, `K = 10` diag, whose runs climb slowly for 20–45 iterations. Moves
//! are evaluated two at a time in parallel and the better improvement of the pair is
//! kept, so the result does not depend on the thread count. On data whose short runs
//! em-EM screened on a sample, the moves run on that sample too ([`search`]).

use std::collections::BTreeSet;

use ndarray::{Array1, Array2, Array3, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::covariance::Covariances;
use crate::data::Data;
use crate::fit::em::{EmRun, Run};
use crate::fit::pass::e_pass;
use crate::fit::restarts::{self, ShortRunRows};
use crate::linalg::symmetric_eigen;
use crate::options::GmmOptions;
use crate::parallel::derive_seed;
use crate::params::Params;

/// Moves evaluated at once (fixed: results must not depend on the thread count).
const BATCH: usize = 2;

/// What the split-and-merge search did (in [`crate::FitRecord::split_merge`]).
///
/// ```
/// // Two tight pairs of clusters and a wide one: one restart may well leave two
/// // components on one pair; the record says what the moves did either way.
/// let x = ndarray::Array2::from_shape_fn((300, 1), |(i, _)| {
///     [0.0, 0.4, 10.0, 10.4, 20.0][i % 5] + 0.01 * (i / 5) as f64
/// });
/// let m = gaussmix::GaussianMixture::params(4).split_merge_moves(8).fit(&x)?;
/// let sm = m.fit_record().unwrap().split_merge.as_ref().expect("em-EM, K ≥ 3");
/// assert!(sm.tried <= 8 && sm.accepted.len() <= sm.tried);
/// # Ok::<(), gaussmix::GmmError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
#[non_exhaustive]
pub struct SplitMergeRecord {
    /// Moves whose EM run was started (a move whose parameters are not a valid model,
    /// e.g. a split of a component without spread, is not counted).
    pub tried: usize,
    /// The moves that improved on the best parameters so far, in order (on the
    /// sample when `screened`; their gains are then the sample's).
    pub accepted: Vec<SplitMergeMove>,
    /// The moves ran on the rows em-EM's short runs were made on (the screening sample,
    /// `FitRecord::screen_rows`, or `init_sample`), and the best one reached continued on
    /// all the rows.
    pub screened: bool,
    /// The fit's parameters come from the moves: the last accepted move's EM run (or,
    /// when `screened`, its continuation on all the rows) ended higher than the winning
    /// restart.
    pub kept: bool,
    /// How much higher the kept result ended than the winning restart, in mean
    /// log-likelihood per row on all the rows (0 when nothing was kept).
    pub gain: f64,
    /// No move was tried: at least half of the restarts ended at the winner's optimum
    /// (within `tol`), a sign that there is no better one near it.
    pub settled: bool,
}

/// One accepted move: components `merged` became one (at index `merged[0]`), component
/// `split` became two (at `split` and `merged[1]`), and EM from there ended `gain`
/// higher in mean log-likelihood per row (on the sample, for a screened search).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
#[non_exhaustive]
pub struct SplitMergeMove {
    /// The two components merged.
    pub merged: [usize; 2],
    /// The component split.
    pub split: usize,
    /// How much higher the move's EM run ended than the best before it.
    pub gain: f64,
}

/// Runs up to [`budget`] moves from `run` (the winner, not spurious unless allowed) and
/// returns the best run reached with the search's record. `None` for the record when no
/// move can be made (`K < 3`, or no moves asked for).
///
/// With `sample` (em-EM made its short runs on a sample of the rows: the screening
/// coreset or `init_sample`), the moves run on the sample too: the winner is first run
/// to convergence there, the moves are tried from it, and the best one reached
/// continues on all the rows (thin components re-estimated, as em-EM's short runs are:
/// `restarts::from_sample`), where it replaces the winner only if it ends higher there.
/// That continuation is abandoned if it has not reached the winner's log-likelihood
/// after `opts.init_iter` iterations, so on large data the search costs passes over the
/// sample plus, at most, `init_iter` passes over all the rows when it does not pay. On
/// the sample, a move is judged by its log-likelihood only: the spurious-optimum rule
/// counts rows, and the coreset's weights are not rows (a component on two heavy
/// sampled rows would pass it); it is applied on all the rows.
pub(crate) fn search(
    data: &Data,
    sample: Option<&ShortRunRows>,
    opts: &GmmOptions,
    constant: &[bool],
    run: Run,
    settled: bool,
) -> (Run, Option<SplitMergeRecord>) {
    if run.params.k < 3 || budget(opts) == 0 {
        return (run, None);
    }
    if settled {
        let record = SplitMergeRecord {
            settled: true,
            ..Default::default()
        };
        return (run, Some(record));
    }
    let incumbent = run.final_lower_bound();
    let Some(sample) = sample else {
        let (best, mut record) = moves(data, opts, constant, run, true);
        record.kept = !record.accepted.is_empty();
        record.gain = best.final_lower_bound() - incumbent;
        return (best, Some(record));
    };
    let on = &sample.weighted;
    let start = EmRun::new(on, opts, constant, run.params.clone(), Vec::new());
    let Some(on_sample) = run_to_end(start, on, opts, None) else {
        let record = SplitMergeRecord {
            screened: true,
            ..Default::default()
        };
        return (run, Some(record));
    };
    let (best, mut record) = moves(on, opts, constant, on_sample, false);
    record.screened = true;
    if record.accepted.is_empty() {
        return (run, Some(record));
    }
    let continued = restarts::from_sample(best.params, sample.rows(), data, opts, constant)
        .ok()
        .and_then(|r| run_to_end(r, data, opts, Some(incumbent)));
    match continued {
        Some(r) if improves(&r, &run, opts, true) => {
            record.kept = true;
            record.gain = r.final_lower_bound() - incumbent;
            (r, Some(record))
        }
        _ => (run, Some(record)),
    }
}

/// Moves tried: `split_merge_moves`, at most two per restart (a single restart asked
/// for a cheap fit; the search grows with the restarts, as their own search does).
fn budget(opts: &GmmOptions) -> usize {
    opts.split_merge_moves
        .min(opts.n_init.saturating_mul(MOVES_PER_RESTART))
}

/// See [`budget`].
const MOVES_PER_RESTART: usize = 2;

/// Whether the restarts have settled on the winner's optimum: at least half of them
/// (and at least two) ended within `tol` of its log-likelihood (spurious runs not
/// counted unless allowed). The moves are then skipped: on the benchmark that rule cost
/// no case and saved a tenth of the time (where restarts disagree, moves found better
/// optima even when two of ten agreed, so agreement of two alone is not enough).
pub(crate) fn settled(runs: &[crate::error::Result<Run>], best: usize, opts: &GmmOptions) -> bool {
    let Some(top) = runs
        .get(best)
        .and_then(|r| r.as_ref().ok())
        .map(Run::final_lower_bound)
    else {
        return false;
    };
    let close = runs
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter(|r| opts.allow_spurious || r.spurious.is_empty())
        .filter(|r| (r.final_lower_bound() - top).abs() <= opts.tol.max(1e-12 * top.abs()))
        .count();
    opts.n_init >= 2 && close >= 2 && 2 * close >= opts.n_init
}

/// Whether `r` may replace `incumbent`: it ends higher by more than `tol`, it converged
/// unless the incumbent did not either (a run cut by `max_iter` would bring a
/// "not converged" warning), and, with `spurious`, it is not a spurious optimum (unless
/// allowed).
fn improves(r: &Run, incumbent: &Run, opts: &GmmOptions, spurious: bool) -> bool {
    r.final_lower_bound() > incumbent.final_lower_bound() + opts.tol.max(1e-12)
        && (r.converged || !incumbent.converged)
        && (!spurious || opts.allow_spurious || r.spurious.is_empty())
}

/// The moves from `run` on `data`, evaluated [`BATCH`] at a time.
/// `spurious`: whether the spurious-optimum rule applies on `data` (not on a coreset).
fn moves(
    data: &Data,
    opts: &GmmOptions,
    constant: &[bool],
    run: Run,
    spurious: bool,
) -> (Run, SplitMergeRecord) {
    let k = run.params.k;
    let budget = budget(opts);
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(opts.seed, 0, 0x53E6));
    let mut best = run;
    let mut record = SplitMergeRecord::default();
    // Triplets (split, merge a, merge b) with a < b, none equal to split (saturating:
    // with millions of components the budget ends the search long before).
    let n_triplets = k.saturating_mul(k - 1).saturating_mul(k - 2) / 2;
    let mut tried: BTreeSet<(usize, usize, usize)> = BTreeSet::new();
    while record.tried < budget && tried.len() < n_triplets {
        let want = BATCH
            .min(budget - record.tried)
            .min(n_triplets - tried.len());
        let mut batch = Vec::with_capacity(want);
        while batch.len() < want {
            let t = draw(&mut rng, k, &tried, n_triplets);
            tried.insert(t);
            let dir = random_direction(&mut rng, best.params.d);
            batch.push((t, moved(&best.params, t, &dir, opts.reg_covar)));
        }
        record.tried += batch.iter().filter(|(_, p)| p.is_some()).count();
        let incumbent = best.final_lower_bound();
        let results: Vec<Option<Run>> = batch
            .par_iter()
            .map(|(_, p)| {
                p.as_ref().and_then(|p| {
                    let r = EmRun::new(data, opts, constant, p.clone(), Vec::new());
                    run_to_end(r, data, opts, None)
                })
            })
            .collect();
        // The best improvement of the batch (the first on ties).
        let mut pick: Option<(usize, Run)> = None;
        for (i, r) in results.into_iter().enumerate() {
            let Some(r) = r else { continue };
            if improves(&r, &best, opts, spurious)
                && pick
                    .as_ref()
                    .is_none_or(|(_, p)| r.final_lower_bound() > p.final_lower_bound())
            {
                pick = Some((i, r));
            }
        }
        if let Some((i, r)) = pick {
            let (split, a, b) = batch[i].0;
            record.accepted.push(SplitMergeMove {
                merged: [a, b],
                split,
                gain: r.final_lower_bound() - incumbent,
            });
            best = r;
            tried.clear();
        }
    }
    (best, record)
}

/// A triplet not in `tried` (which holds fewer than `n` of the `n` triplets).
fn draw(
    rng: &mut ChaCha8Rng,
    k: usize,
    tried: &BTreeSet<(usize, usize, usize)>,
    n: usize,
) -> (usize, usize, usize) {
    // Rejection while most are untried; past half, the first untried in a random
    // rotation of the enumeration (so the search ends in bounded time).
    if tried.len() * 2 < n {
        loop {
            let s = rng.gen_range(0..k);
            let a = rng.gen_range(0..k - 1);
            let b = rng.gen_range(0..k - 2);
            // a, b: distinct indices among the k − 1 components other than s.
            let a = if a >= s { a + 1 } else { a };
            let mut b = if b >= s.min(a) { b + 1 } else { b };
            if b >= s.max(a) {
                b += 1;
            }
            let t = (s, a.min(b), a.max(b));
            if !tried.contains(&t) {
                return t;
            }
        }
    }
    let all: Vec<(usize, usize, usize)> = (0..k)
        .flat_map(|s| (0..k).flat_map(move |a| ((a + 1)..k).map(move |b| (s, a, b))))
        .filter(|&(s, a, b)| s != a && s != b)
        .collect();
    let start = rng.gen_range(0..all.len());
    (0..all.len())
        .map(|i| all[(start + i) % all.len()])
        .find(|t| !tried.contains(t))
        .unwrap_or(all[start])
}

/// A uniformly random unit vector (the split axis of a spherical component).
fn random_direction(rng: &mut ChaCha8Rng, d: usize) -> Vec<f64> {
    loop {
        // Normal draws by Box–Muller: a direction uniform on the sphere.
        let v: Vec<f64> = (0..d)
            .map(|_| {
                let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
                let u2: f64 = rng.gen();
                (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            })
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if n > 1e-12 {
            return v.into_iter().map(|x| x / n).collect();
        }
    }
}

/// The principal axis of component `c`'s covariance and its variance along it.
fn axis(cov: &Covariances, c: usize, d: usize, random: &[f64]) -> Option<(Vec<f64>, f64)> {
    let top = |m: &[f64]| {
        let (values, vectors) = symmetric_eigen(m, d)?;
        let v: Vec<f64> = (0..d).map(|a| vectors[a * d + d - 1]).collect();
        Some((v, values[d - 1]))
    };
    match cov {
        Covariances::Full(v) => top(v.index_axis(Axis(0), c).as_standard_layout().as_slice()?),
        Covariances::Tied(v) => top(v.as_standard_layout().as_slice()?),
        Covariances::Diag(v) => {
            let row = v.row(c);
            let (j, var) = row
                .iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |b, (j, &x)| if x > b.1 { (j, x) } else { b },
                );
            let mut e = vec![0.0; d];
            e[j] = 1.0;
            Some((e, var))
        }
        Covariances::Spherical(v) => Some((random.to_vec(), v[c])),
    }
}

/// `p` with components `a` and `b` merged (into `a`) and `s` split (into `s` and `b`);
/// `None` when the result is not a valid parameter set.
fn moved(
    p: &Params,
    (s, a, b): (usize, usize, usize),
    random: &[f64],
    reg_covar: f64,
) -> Option<Params> {
    let d = p.d;
    let (wa, wb, ws) = (p.weights[a], p.weights[b], p.weights[s]);
    let wm = wa + wb;
    if !(wm > 0.0 && ws > 0.0) {
        return None;
    }
    let (fa, fb) = (wa / wm, wb / wm);
    let (v, lambda) = axis(&p.covariances, s, d, random)?;
    if !(lambda > 0.0 && lambda.is_finite()) {
        return None;
    }
    let two_pi = 2.0 / std::f64::consts::PI;
    let shift = two_pi.sqrt() * lambda.sqrt();
    let mut w: Array1<f64> = p.weights.clone();
    let mut m: Array2<f64> = p.means.clone();
    let ma = p.means.row(a).to_owned();
    let mb = p.means.row(b).to_owned();
    let ms = p.means.row(s).to_owned();
    let merged_mean = &ma * fa + &mb * fb;
    let between = &ma - &mb;
    w[a] = wm;
    w[s] = ws / 2.0;
    w[b] = ws / 2.0;
    m.row_mut(a).assign(&merged_mean);
    for j in 0..d {
        m[[s, j]] = ms[j] - shift * v[j];
        m[[b, j]] = ms[j] + shift * v[j];
    }
    let cov = match &p.covariances {
        Covariances::Full(c) => {
            let mut n: Array3<f64> = c.clone();
            let (ca, cb, cs) = (
                c.index_axis(Axis(0), a).to_owned(),
                c.index_axis(Axis(0), b).to_owned(),
                c.index_axis(Axis(0), s).to_owned(),
            );
            let mut merged = &ca * fa + &cb * fb;
            let mut half = cs;
            for i in 0..d {
                for j in 0..d {
                    merged[[i, j]] += fa * fb * between[i] * between[j];
                    half[[i, j]] -= two_pi * lambda * v[i] * v[j];
                }
            }
            n.index_axis_mut(Axis(0), a).assign(&merged);
            n.index_axis_mut(Axis(0), s).assign(&half);
            n.index_axis_mut(Axis(0), b).assign(&half);
            Covariances::Full(n)
        }
        Covariances::Diag(c) => {
            let mut n = c.clone();
            let merged = &c.row(a) * fa + &c.row(b) * fb + &between.mapv(|x| x * x) * (fa * fb);
            let mut half = c.row(s).to_owned();
            for j in 0..d {
                half[j] -= two_pi * lambda * v[j] * v[j];
            }
            n.row_mut(a).assign(&merged);
            n.row_mut(s).assign(&half);
            n.row_mut(b).assign(&half);
            Covariances::Diag(n)
        }
        Covariances::Spherical(c) => {
            let mut n = c.clone();
            let spread = between.iter().map(|x| x * x).sum::<f64>() / d as f64;
            n[a] = fa * c[a] + fb * c[b] + fa * fb * spread;
            n[b] = c[s];
            Covariances::Spherical(n)
        }
        Covariances::Tied(c) => Covariances::Tied(c.clone()),
    };
    Params::new(w, m, cov, reg_covar).ok()
}

/// `r` advanced on `data` to convergence (`None` if it fails, or, with `probe`, if it
/// has not reached that log-likelihood after `opts.init_iter` iterations: EM never
/// decreases it, so a run that has reached it ends at least as high).
fn run_to_end(mut r: EmRun, data: &Data, opts: &GmmOptions, probe: Option<f64>) -> Option<Run> {
    while !r.done() {
        let st = e_pass(data, r.params(), r.track_worst());
        if data.read_failed() {
            return None;
        }
        r.step(st).ok()?;
        if let Some(target) = probe {
            if r.n_iter() == opts.init_iter.max(1) && !r.done() && r.lower_bound() < target {
                return None;
            }
        }
    }
    Some(r.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array3};

    fn params(cov: Covariances) -> Params {
        Params::new(
            array![0.2, 0.3, 0.5],
            array![[0.0, 0.0], [2.0, 0.0], [10.0, 5.0]],
            cov,
            1e-6,
        )
        .unwrap()
    }

    /// A move keeps K and the total weight; the merged component has the pair's weight,
    /// weighted mean and the covariance of their union; the halves sit symmetrically
    /// about the split component's mean along its principal axis, each with half its
    /// weight and `(1 − 2/π)·λ` along the axis — for every covariance type.
    #[test]
    fn moved_parameters_merge_and_split_as_documented() {
        let full = Covariances::Full(Array3::from_shape_fn((3, 2, 2), |(c, i, j)| {
            [
                [[1.0, 0.0], [0.0, 1.0]],
                [[1.0, 0.0], [0.0, 1.0]],
                [[4.0, 0.0], [0.0, 1.0]],
            ][c][i][j]
        }));
        let diag = Covariances::Diag(array![[1.0, 1.0], [1.0, 1.0], [4.0, 1.0]]);
        let sph = Covariances::Spherical(array![1.0, 1.0, 4.0]);
        let tied = Covariances::Tied(array![[4.0, 0.0], [0.0, 1.0]]);
        let f = 2.0 / std::f64::consts::PI;
        for cov in [full, diag, sph, tied] {
            let kind = cov.covariance_type();
            let p = params(cov);
            // Split 2, merge 0 and 1 (into 0; the second half goes to 1).
            let axis = [1.0, 0.0];
            let m = moved(&p, (2, 0, 1), &axis, 1e-6).expect("a valid move");
            assert!((m.weights.sum() - 1.0).abs() < 1e-15);
            assert_eq!(m.weights.to_vec(), vec![0.5, 0.25, 0.25], "{kind}");
            // Merged mean: (0.2·(0,0) + 0.3·(2,0)) / 0.5.
            assert!((m.means[[0, 0]] - 1.2).abs() < 1e-15 && m.means[[0, 1]] == 0.0);
            // Halves: 10 ∓ √(2/π)·√4 along x (for spherical, the given random axis).
            let shift = f.sqrt() * 2.0;
            assert!((m.means[[2, 0]] - (10.0 - shift)).abs() < 1e-12, "{kind}");
            assert!((m.means[[1, 0]] - (10.0 + shift)).abs() < 1e-12, "{kind}");
            assert_eq!((m.means[[1, 1]], m.means[[2, 1]]), (5.0, 5.0));
            match (&m.covariances, kind) {
                (Covariances::Full(c), _) => {
                    // Union: within 1 plus between 0.2·0.3/0.25·2² = 0.96 along x.
                    assert!((c[[0, 0, 0]] - 1.96).abs() < 1e-12);
                    assert!((c[[0, 1, 1]] - 1.0).abs() < 1e-12);
                    assert!((c[[1, 0, 0]] - 4.0 * (1.0 - f)).abs() < 1e-12);
                    assert_eq!(c.index_axis(Axis(0), 1), c.index_axis(Axis(0), 2));
                }
                (Covariances::Diag(c), _) => {
                    assert!((c[[0, 0]] - 1.96).abs() < 1e-12 && (c[[0, 1]] - 1.0).abs() < 1e-12);
                    assert!((c[[1, 0]] - 4.0 * (1.0 - f)).abs() < 1e-12 && c[[1, 1]] == 1.0);
                    assert_eq!(c.row(1), c.row(2));
                }
                (Covariances::Spherical(c), _) => {
                    // Between: 0.24·4/2 per dimension.
                    assert!((c[0] - (1.0 + 0.96 / 2.0)).abs() < 1e-12);
                    assert_eq!((c[1], c[2]), (4.0, 4.0));
                }
                (Covariances::Tied(c), _) => assert_eq!(c, &array![[4.0, 0.0], [0.0, 1.0]]),
            }
        }
    }

    /// A rotated full covariance (3 features): the halves move along its top
    /// eigenvector (not along an axis), their variance along it drops to `(1 − 2/π)·λ`
    /// and stays across it.
    #[test]
    fn a_full_component_splits_along_its_principal_axis() {
        let (c, s) = (0.6f64.cos(), 0.6f64.sin());
        // Σ = R diag(4, 1, 0.5) Rᵀ, R a rotation in the first two features.
        let r = array![[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]];
        let l = array![[4.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.5]];
        let sigma = r.dot(&l).dot(&r.t());
        let cov = Covariances::Full(Array3::from_shape_fn((3, 3, 3), |(k, i, j)| {
            if k == 2 {
                sigma[[i, j]]
            } else if i == j {
                1.0
            } else {
                0.0
            }
        }));
        let p = Params::new(
            array![0.3, 0.3, 0.4],
            array![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [9.0, 9.0, 9.0]],
            cov,
            1e-6,
        )
        .unwrap();
        let m = moved(&p, (2, 0, 1), &[0.0, 0.0, 1.0], 1e-6).unwrap();
        let v = [c, s, 0.0];
        let f = 2.0 / std::f64::consts::PI;
        let half: Vec<f64> = (0..3)
            .map(|j| (m.means[[1, j]] - m.means[[2, j]]) / 2.0)
            .collect();
        // ±√(2/π)·√4 along v (either sign of the eigenvector).
        let along: f64 = half.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert!((along.abs() - f.sqrt() * 2.0).abs() < 1e-12, "{half:?}");
        let off: Vec<f64> = half.iter().zip(&v).map(|(a, b)| a - along * b).collect();
        assert!(off.iter().all(|x| x.abs() < 1e-12), "{off:?}");
        let Covariances::Full(cv) = &m.covariances else {
            panic!("full")
        };
        let quad = |k: usize, u: &[f64]| -> f64 {
            (0..3)
                .map(|i| (0..3).map(|j| u[i] * cv[[k, i, j]] * u[j]).sum::<f64>())
                .sum()
        };
        let w = [-s, c, 0.0];
        for k in [1, 2] {
            assert!((quad(k, &v) - 4.0 * (1.0 - f)).abs() < 1e-12);
            assert!((quad(k, &w) - 1.0).abs() < 1e-12);
            assert!((quad(k, &[0.0, 0.0, 1.0]) - 0.5).abs() < 1e-12);
        }
    }

    /// `draw` gives every triplet once before repeating none, then says so (no more).
    #[test]
    fn draw_covers_every_triplet_once() {
        for k in 3..7 {
            let n = k * (k - 1) * (k - 2) / 2;
            let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
            let mut tried = BTreeSet::new();
            while tried.len() < n {
                let t = draw(&mut rng, k, &tried, n);
                assert!(
                    t.0 < k && t.1 < t.2 && t.2 < k && t.0 != t.1 && t.0 != t.2,
                    "{t:?}"
                );
                assert!(tried.insert(t), "k = {k}: {t:?} drawn twice");
            }
        }
    }

    fn run(lb: f64, spurious: Vec<usize>) -> Run {
        Run {
            params: params(Covariances::Spherical(array![1.0, 1.0, 4.0])),
            converged: true,
            n_iter: 1,
            lower_bounds: vec![lb],
            recoveries: Vec::new(),
            spurious,
        }
    }

    /// A move's run counts only if it ends higher by more than `tol`, converged (unless
    /// the incumbent did not either) and is not a spurious optimum (unless allowed, or
    /// not judged: on a coreset).
    #[test]
    fn improvements_must_beat_tol_converge_and_be_sound() {
        let opts = GmmOptions::default();
        let inc = |lb: f64| run(lb, vec![]);
        assert!(improves(&run(-1.0, vec![]), &inc(-1.01), &opts, true));
        assert!(!improves(&run(-1.0, vec![]), &inc(-1.0005), &opts, true));
        assert!(!improves(&run(-1.0, vec![2]), &inc(-2.0), &opts, true));
        assert!(improves(&run(-1.0, vec![2]), &inc(-2.0), &opts, false));
        let mut cut = run(-1.0, vec![]);
        cut.converged = false;
        assert!(!improves(&cut, &inc(-2.0), &opts, true));
        let mut cut_inc = inc(-2.0);
        cut_inc.converged = false;
        assert!(improves(&cut, &cut_inc, &opts, true));
        let allow = GmmOptions {
            allow_spurious: true,
            ..GmmOptions::default()
        };
        assert!(improves(&run(-1.0, vec![2]), &inc(-2.0), &allow, true));
    }

    /// The restarts have settled when at least half of them (two at least) end within
    /// `tol` of the winner; spurious runs do not count.
    #[test]
    fn settled_needs_half_the_restarts_at_the_optimum() {
        let opts = |n: usize| GmmOptions {
            n_init: n,
            ..GmmOptions::default()
        };
        let runs = |lbs: &[(f64, bool)]| -> Vec<crate::error::Result<Run>> {
            lbs.iter()
                .map(|&(l, sp)| Ok(run(l, if sp { vec![0] } else { vec![] })))
                .collect()
        };
        let four = runs(&[
            (-1.0, false),
            (-1.0002, false),
            (-2.0, false),
            (-3.0, false),
        ]);
        assert!(settled(&four, 0, &opts(4)));
        let four = runs(&[(-1.0, false), (-1.0002, true), (-2.0, false), (-3.0, false)]);
        assert!(!settled(&four, 0, &opts(4)));
        let five = runs(&[
            (-1.0, false),
            (-1.0, false),
            (-2.0, false),
            (-3.0, false),
            (-4.0, false),
        ]);
        assert!(!settled(&five, 0, &opts(5)));
        assert!(!settled(&runs(&[(-1.0, false)]), 0, &opts(1)));
    }
}
