//! Restarts: `n_init` complete EM runs, how their passes are scheduled, em-EM's short
//! runs, and which run wins.
//!
//! **Scheduling.** Every run is an [`EmRun`] state machine fed by E-step passes, so the
//! same runs can be driven two ways with bit-identical results:
//! - *shared passes* (data with enough chunks to keep every thread busy): all live runs
//!   advance in lockstep, and one read of each chunk serves every run's parameters
//!   (`pass::e_passes`) — the data are read once per iteration, not once per run;
//! - *parallel runs* (small data, where one pass cannot use every thread): the runs are
//!   spread over the threads, each making its own passes.
//!
//! Each pass merges its chunks in a fixed order, so neither choice, nor the thread
//! count, changes any run's numbers.
//!
//! **em-EM** ([`InitMethod::EmEm`], Biernacki, Celeux & Govaert 2003): `init_candidates ×
//! n_init` starts are drawn, Lloyd's k-means and k-means++ in turn (start `c` is the one
//! that strategy would give run `c`), plus one Ward start (`hierarchical`) last; all of
//! them run `init_iter` EM iterations (in one schedule), and the best `n_init` that are
//! not spurious continue to convergence (`fit::split_merge` then tries moves from the
//! winner). On
//! large data the short runs are made on a seeded sample of the rows (`screen_rows`: a
//! lightweight coreset, mostly uniform, partly by distance to the mean) and the chosen
//! ones continue on all of them (`onto_data`). `n_init` still counts complete runs —
//! except when every one of them ends spurious: short runs heading for a collapse can
//! look best before they collapse (a discrete column invites it), so up to `n_init` more
//! short runs, the next in rank order, are then continued once.
//!
//! Measured (bench/README.md "Optima", three seed draws of 88 cases): the two seedings
//! mixed beat either alone (k-means++ alone missed optima that Lloyd's starts reach, and
//! the reverse); 5 starts of 15 iterations beat 10 of 5 (the ranking after 5 iterations
//! often picked starts that end lower) at less cost, and 20 iterations beat 15 (digits,
//! K = 2 full: the best optimum's starts ranked below others after 15); the Ward start
//! found digits' best K = 3 optimum, which no k-means start of three draws reached; successive halving of the pool
//! (dropping the worse half after each short iteration) was cheaper but lost cases;
//! screening on a sample (measured with 10 × 5 starts) changed one case's outcome either
//! way (83 of 88 both) and makes the screening's cost independent of N.
//!
//! **The winner** is the run with the highest final lower bound among those that are not
//! spurious optima (`degenerate::spurious_components`); a spurious run only wins when
//! every run is spurious, or with `allow_spurious` (the record lists the spurious runs
//! and the fit carries a warning when the kept run is one).

use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::covariance::Covariances;
use crate::data::Data;
use crate::error::{GmmError, Result};
use crate::fit::em::{EmRun, Run};
use crate::fit::init::initial_params_with;
use crate::fit::pass::{e_pass, e_passes};
use crate::fit::Progress;
use crate::options::{GmmOptions, InitMethod, StartParameters};
use crate::parallel::{derive_seed, CHUNK_ROWS};
use crate::params::Params;
use ndarray::Axis;

/// A run's seed (the same for every strategy, so `n_init` runs are reproducible).
pub(crate) fn run_seed(seed: u64, run: usize) -> u64 {
    derive_seed(seed, run as u64, 0x1A17)
}

/// em-EM's short runs: `init_candidates` per run, and one from Ward's agglomeration.
pub(crate) fn em_em_pool(opts: &GmmOptions) -> usize {
    opts.init_candidates
        .saturating_mul(opts.n_init)
        .saturating_add(1)
}

/// One run (or em-EM candidate) being advanced.
struct Slot<'a, 'd> {
    /// The restart it belongs to (for progress and the record).
    run: usize,
    state: std::result::Result<EmRun<'a, 'd>, GmmError>,
}

impl Slot<'_, '_> {
    fn live(&self, cap: usize) -> bool {
        matches!(&self.state, Ok(r) if !r.done() && r.n_iter() < cap)
    }
}

/// Whether runs share passes (lockstep) rather than run on separate threads: when the
/// data have at least four chunks per thread, one pass already keeps every thread busy.
fn share_passes(data: &Data) -> bool {
    data.n_samples().div_ceil(CHUNK_ROWS) >= 4 * rayon::current_num_threads()
}

type ProgressFn<'p> = Mutex<&'p mut (dyn FnMut(&Progress) + Send)>;

/// Advances every live slot until it is done or has `cap` iterations.
/// `short`: em-EM's short runs, with the size of the pool they were drawn from (reported
/// as such, each slot's `run` being its index in the pool).
fn advance(
    data: &Data,
    slots: &mut [Slot],
    cap: usize,
    n_init: usize,
    short: Option<usize>,
    progress: &ProgressFn,
) {
    let n_slots = short.unwrap_or(0);
    let report = |run: usize, r: &EmRun, l: f64| {
        let lbs = r.n_iter();
        let prev = if lbs >= 2 {
            r.lower_bound_at(lbs - 2)
        } else {
            f64::NEG_INFINITY
        };
        if let Ok(mut p) = progress.lock() {
            p(&Progress {
                run: if short.is_some() {
                    run * n_init / n_slots.max(1)
                } else {
                    run
                },
                short_run: short.map(|_| run),
                short_runs: n_slots,
                n_init,
                iteration: lbs,
                lower_bound: l,
                change: (l - prev).abs(),
            });
        }
    };
    if share_passes(data) {
        loop {
            let live: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].live(cap)).collect();
            if live.is_empty() {
                break;
            }
            let sts = {
                let ps: Vec<_> = live
                    .iter()
                    .filter_map(|&i| slots[i].state.as_ref().ok().map(|r| r.params()))
                    .collect();
                let track = live
                    .iter()
                    .any(|&i| slots[i].state.as_ref().is_ok_and(|r| r.track_worst()));
                e_passes(data, &ps, track)
            };
            if data.read_failed() {
                // A read failed: the statistics are of zeros. Stop every run now; the
                // fit reports the read's error.
                for &i in &live {
                    slots[i].state = Err(read_stopped());
                }
                break;
            }
            for (&i, st) in live.iter().zip(sts) {
                let slot = &mut slots[i];
                let run = slot.run;
                if let Ok(r) = &mut slot.state {
                    match r.step(st) {
                        Ok(l) => report(run, r, l),
                        Err(e) => slot.state = Err(e),
                    }
                }
            }
        }
    } else {
        slots.par_iter_mut().for_each(|slot| {
            let run = slot.run;
            while slot.live(cap) {
                let Ok(r) = &mut slot.state else {
                    break;
                };
                let st = crate::fit::pass::e_pass(data, r.params(), r.track_worst());
                if data.read_failed() {
                    slot.state = Err(read_stopped());
                    break;
                }
                match r.step(st) {
                    Ok(l) => report(run, r, l),
                    Err(e) => slot.state = Err(e),
                }
            }
        });
    }
}

/// What a run stopped by a failed read holds (the fit returns the read's own error).
fn read_stopped() -> GmmError {
    GmmError::Source {
        message: "stopped: reading the data failed".into(),
    }
}

/// A short run screened on a sample (`sample_rows`: its rows, unweighted) as a run on
/// all the rows, from its parameters — except for its *thin* components, those holding
/// fewer than `5·(D + 1)` rows of the sample (responsibilities summed, unweighted): their weights and covariances are re-estimated on all the rows
/// from the short run's means (each row to its nearest mean, as k-means++'s centres
/// start a run). A component that sat on the one or two rows a rare cluster had in the
/// sample would otherwise carry a collapsed covariance onto all the rows and stay a
/// spike (review); the thick components keep what the short run learned (restarting
/// every component from its mean alone lost 7 of the 264 benchmark cases).
fn onto_data<'a, 'd>(
    s: Slot<'a, 'd>,
    sample_rows: Option<&Data>,
    data: &'a Data<'d>,
    opts: &'a GmmOptions,
    constant: &'a [bool],
) -> Slot<'a, 'd> {
    let (r, sample_rows) = match (sample_rows, s.state) {
        (Some(rows), Ok(r)) => (r, rows),
        (_, state) => return Slot { run: s.run, state },
    };
    Slot {
        run: s.run,
        state: from_sample(r.into_params(), sample_rows, data, opts, constant),
    }
}

/// [`onto_data`] for parameters `p` reached on the sample's rows (`sample_rows`,
/// unweighted): an EM run on all of `data`, thin components re-estimated there.
pub(crate) fn from_sample<'a, 'd>(
    p: Params,
    sample_rows: &Data,
    data: &'a Data<'d>,
    opts: &'a GmmOptions,
    constant: &'a [bool],
) -> Result<EmRun<'a, 'd>> {
    let d = data.n_features();
    // Rows (not weight) per component: an E-step on the sample's rows, unweighted.
    let rows = e_pass(sample_rows, &p, false).nk;
    let thin: Vec<bool> = rows.iter().map(|n| *n < 5.0 * (d + 1) as f64).collect();
    if thin.iter().any(|t| *t) {
        let mut o = opts.clone();
        o.start = StartParameters {
            means: Some(p.means.clone()),
            ..Default::default()
        };
        initial_params_with(data, &o, 0, InitMethod::KMeansPlusPlus).map(|(hard, fixes)| {
            let merged = merge_thin(&p, &hard, &thin, opts.reg_covar);
            EmRun::new(data, opts, constant, merged.unwrap_or(hard), fixes)
        })
    } else {
        Ok(EmRun::new(data, opts, constant, p, Vec::new()))
    }
}

/// The rows em-EM's short runs were made on when they were not all of the data (the
/// screening sample, or the `init_sample`): the split-and-merge moves run there too.
pub(crate) struct ShortRunRows {
    /// The rows with their weights (the coreset's, or the data's).
    pub weighted: Data<'static>,
    /// The same rows without weights, when `weighted` has weights: rows, not weight,
    /// decide which components are thin.
    pub unweighted: Option<Data<'static>>,
}

impl ShortRunRows {
    /// The rows, unweighted.
    pub fn rows(&self) -> &Data<'static> {
        self.unweighted.as_ref().unwrap_or(&self.weighted)
    }
}

/// `p` with the weights and covariances of its `thin` components taken from `hard`
/// (weights renormalised; a tied covariance is shared, so it stays `p`'s). `None` if
/// the result is not a valid parameter set (the caller then starts from `hard`).
fn merge_thin(p: &Params, hard: &Params, thin: &[bool], reg_covar: f64) -> Option<Params> {
    let mut w = p.weights.clone();
    let mut cov = p.covariances.clone();
    // A thin component that no row is nearest to has nothing to re-estimate from: it
    // keeps its short run's parameters.
    for (c, _) in thin
        .iter()
        .enumerate()
        .filter(|&(c, t)| *t && hard.weights[c] > 0.0)
    {
        w[c] = hard.weights[c];
        match (&mut cov, &hard.covariances) {
            (Covariances::Full(a), Covariances::Full(b)) => a
                .index_axis_mut(Axis(0), c)
                .assign(&b.index_axis(Axis(0), c)),
            (Covariances::Diag(a), Covariances::Diag(b)) => a.row_mut(c).assign(&b.row(c)),
            (Covariances::Spherical(a), Covariances::Spherical(b)) => a[c] = b[c],
            _ => {}
        }
    }
    let total = w.sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    w.mapv_inplace(|v| v / total);
    Params::new(w, p.means.clone(), cov, reg_covar).ok()
}

/// `m` distinct rows of `0..n` (`m < n`), uniformly at random and seeded, in order
/// (Floyd's algorithm: memory for `m` rows, not `n`).
fn uniform_rows(n: usize, m: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 0, 0x1A17));
    let mut chosen = std::collections::BTreeSet::new();
    for j in n - m..n {
        let t = rng.gen_range(0..=j);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

/// Fewest rows em-EM screens its short runs on when it samples.
const SCREEN_MIN_ROWS: usize = 1000;

/// The uniform share of em-EM's screening draws (the rest by squared distance to the
/// mean). Measured on three draws of the 96 optima cases: ½ (the lightweight coreset's
/// own mix) lost overlapping synthetic cases to the noisier weights (mean 92.7%); ¾
/// 95.8%; 0.9 95.5%; a uniform sample missed rare far clusters (review).
const UNIFORM_SHARE: f64 = 0.75;

/// The sample em-EM's short runs are made on: `None` (all the rows) unless the data
/// have at least twice `m = max(1000, 10·K·D)` rows of positive weight (and, with
/// weights, an effective number of rows, (Σw)²/Σw², as large). Then `m` draws, after
/// the *lightweight coreset* (Bachem, Lucic & Krause 2018): row `i` is drawn with
/// probability `q_i = u·w_i/Σw + (1 − u)·w_i·d_i²/Σ w·d²` (`u` = [`UNIFORM_SHARE`],
/// `d_i` its distance to the data's mean) and stands for `w_i/(m·q_i)` of the data's
/// weight per draw. Most draws are uniform; the rest favour rows far from the mean, so
/// a small far cluster that a uniform sample of 1,000 rows would often miss (20 rows of
/// 20,000: none in the sample a third of the time) is in the sample, with a small
/// weight. A row drawn several times appears once, its weights summed. Returns the rows
/// (in data order) and their sample weights; seeded by the fit's seed.
fn screen_rows(data: &Data, opts: &GmmOptions) -> Option<(Vec<usize>, Vec<f64>)> {
    let m = SCREEN_MIN_ROWS.max(
        10usize
            .saturating_mul(opts.n_components)
            .saturating_mul(data.n_features()),
    );
    let weight = |i: usize| data.weights().map_or(1.0, |w| w[i]);
    let eligible = (0..data.n_samples()).filter(|&i| weight(i) > 0.0).count();
    // With weights, the rows that matter can be few: 48 heavy rows among 4,000 light ones
    // are 48 rows, not 4,000. Kish's effective number of rows must reach 2m too (it is N
    // without weights or with equal weights).
    let effective = data.weights().map_or(eligible as f64, |w| {
        let (s, s2) = w.iter().fold((0.0, 0.0), |(s, s2), v| (s + v, s2 + v * v));
        s * s / s2
    });
    let need = m.saturating_mul(2);
    if eligible < need || effective.is_nan() || effective < need as f64 {
        return None;
    }
    let (mean, _) = data.column_moments();
    let mut d2 = vec![0.0; data.n_samples()];
    data.for_each_row(0, data.n_samples(), |i, x| {
        d2[i] = x.iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum();
    });
    let total_w = data.total_weight();
    let total_wd: f64 = (0..data.n_samples()).map(|i| weight(i) * d2[i]).sum();
    let q = |i: usize| {
        let far = if total_wd > 0.0 && total_wd.is_finite() {
            weight(i) * d2[i] / total_wd
        } else {
            weight(i) / total_w
        };
        UNIFORM_SHARE * weight(i) / total_w + (1.0 - UNIFORM_SHARE) * far
    };
    // Cumulative probabilities, then m uniform draws located by binary search.
    let mut cum = Vec::with_capacity(data.n_samples());
    let mut acc = 0.0;
    for i in 0..data.n_samples() {
        acc += q(i);
        cum.push(acc);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(opts.seed, 0, 0x5C2E));
    let mut draws: Vec<usize> = (0..m)
        .map(|_| {
            let u = rng.gen::<f64>() * acc;
            // The first row whose cumulative probability exceeds u (rows of weight 0
            // have q = 0 and are never chosen).
            cum.partition_point(|c| *c <= u).min(data.n_samples() - 1)
        })
        .filter(|&i| weight(i) > 0.0)
        .collect();
    draws.sort_unstable();
    let mut rows: Vec<usize> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    for i in draws {
        let w = weight(i) / (m as f64 * q(i) / acc);
        if rows.last() == Some(&i) {
            if let Some(last) = weights.last_mut() {
                *last += w;
            }
        } else {
            rows.push(i);
            weights.push(w);
        }
    }
    (rows.len() >= opts.n_components).then_some((rows, weights))
}

/// Each candidate's rank key: failed, spurious (unless allowed), −lower bound.
fn rank_keys(cand: &[Slot], allow_spurious: bool) -> Vec<(u8, bool, f64)> {
    cand.iter()
        .map(|s| match &s.state {
            Ok(r) => (
                0u8,
                !allow_spurious && !r.spurious().is_empty(),
                -r.lower_bound(),
            ),
            Err(_) => (1u8, true, f64::INFINITY),
        })
        .collect()
}

/// Candidates best first: those that did not fail, then those not spurious, then by
/// lower bound, then the first drawn.
fn rank_order_of(ranks: &[(u8, bool, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ranks.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (ranks[a], ranks[b]);
        ra.0.cmp(&rb.0)
            .then(ra.1.cmp(&rb.1))
            .then(ra.2.total_cmp(&rb.2))
            .then(a.cmp(&b))
    });
    order
}

/// The outcome of every restart, in order; the number of rows em-EM screened its short
/// runs on when it sampled them; and the rows the short runs were made on when they
/// were not all of the data (the split-and-merge moves run there too).
pub(crate) fn run_all(
    opts: &GmmOptions,
    data: &Data,
    constant: &[bool],
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> (Vec<Result<Run>>, Option<usize>, Option<ShortRunRows>) {
    let progress: ProgressFn = Mutex::new(progress);
    let shared = share_passes(data);
    // Starts come from the init sample when there is one (the runs then continue on
    // all rows), else from all rows.
    // (Explicit starting parameters need no sample.)
    let isample_idx = opts
        .init_sample
        .filter(|m| *m < data.n_samples() && opts.start.is_empty())
        .map(|m| uniform_rows(data.n_samples(), m, opts.seed));
    let isample: Option<Data<'static>> = isample_idx.as_ref().and_then(|idx| {
        let w = data.weights().map(|w| idx.iter().map(|&i| w[i]).collect());
        data.subset(idx, w)
    });
    // The sample's rows without weights: the same data when there are none (not read
    // or held twice).
    let isample_unweighted: Option<Data<'static>> = match data.weights() {
        Some(_) => isample_idx.as_ref().and_then(|idx| data.subset(idx, None)),
        None => None,
    };
    let isample_rows_only: Option<&Data> = isample_unweighted.as_ref().or(isample.as_ref());
    let idata: &Data = isample.as_ref().unwrap_or(data);
    let start = |run: usize, seed: u64, init: InitMethod| -> Slot {
        let state = initial_params_with(idata, opts, seed, init)
            .map(|(p, fixes)| EmRun::new(data, opts, constant, p, fixes));
        Slot { run, state }
    };
    let em_em = opts.init == InitMethod::EmEm && opts.start.is_empty();
    let mut reserve: Vec<Slot> = Vec::new();
    let screen_idx = if em_em {
        screen_rows(idata, opts)
    } else {
        None
    };
    let screen: Option<Data<'static>> = screen_idx
        .as_ref()
        .and_then(|(rows, w)| idata.subset(rows, Some(w.clone())));
    // The same rows without weights: how many *rows* each short run's components hold
    // (the coreset's weights are not counts of rows). Short runs on the whole init
    // sample count on it.
    let screen_unweighted: Option<Data<'static>> = screen_idx
        .as_ref()
        .and_then(|(rows, _)| idata.subset(rows, None));
    let screen_rows_only: Option<&Data> = screen_unweighted.as_ref().or(isample_rows_only);
    let mut slots: Vec<Slot> = if em_em {
        let pool = em_em_pool(opts);
        let sdata = screen.as_ref().unwrap_or(idata);
        let make = |c: usize| {
            // Alternately Lloyd's k-means and plain k-means++, and one Ward start (the
            // last candidate; see the module notes).
            let init = if c + 1 == pool {
                InitMethod::Hierarchical
            } else if c.is_multiple_of(2) {
                InitMethod::KMeans
            } else {
                InitMethod::KMeansPlusPlus
            };
            let state = initial_params_with(sdata, opts, run_seed(opts.seed, c), init)
                .map(|(p, fixes)| EmRun::new(sdata, opts, constant, p, fixes));
            Slot { run: c, state }
        };
        let mut cand: Vec<Slot> = if share_passes(sdata) {
            (0..pool).map(make).collect()
        } else {
            (0..pool).into_par_iter().map(make).collect()
        };
        advance(
            sdata,
            &mut cand,
            opts.init_iter,
            opts.n_init,
            Some(pool),
            &progress,
        );
        // The n_init best short runs continue: those that are not spurious first, then
        // by lower bound (the first drawn on ties), failures last; kept in the order
        // they were drawn, and numbered as runs 0..n_init.
        // (Each rank computed once: the spurious test factorises covariances.)
        let ranks = rank_keys(&cand, opts.allow_spurious);
        let order = rank_order_of(&ranks);
        // Short runs whose lower bounds agree to 1e-10 have (almost surely) reached the
        // same optimum: one of them is continued, and the next distinct one takes the
        // other's place (more diverse complete runs for the same time); duplicates only
        // fill places no distinct candidate is left for.
        let mut chosen: Vec<usize> = Vec::with_capacity(opts.n_init);
        let mut spare: Vec<usize> = Vec::new();
        for &c in &order {
            if chosen.len() == opts.n_init {
                break;
            }
            let lb = -ranks[c].2;
            let same = |o: &usize| {
                let other = -ranks[*o].2;
                (lb - other).abs() <= 1e-10 * lb.abs().max(1.0)
            };
            if ranks[c].0 == 0 && chosen.iter().any(same) {
                spare.push(c);
            } else {
                chosen.push(c);
            }
        }
        let missing = opts.n_init.saturating_sub(chosen.len());
        chosen.extend(spare.into_iter().take(missing));
        chosen.sort_unstable();
        let mut cand: Vec<Option<Slot>> = cand.into_iter().map(Some).collect();
        let kept: Vec<Slot> = chosen
            .iter()
            .enumerate()
            .filter_map(|(run, &c)| {
                cand[c].take().map(|mut s| {
                    s.run = run;
                    s
                })
            })
            .collect();
        // The rest, best first, in case every continued run ends spurious.
        let rest: Vec<Slot> = order
            .iter()
            .filter(|&&c| ranks[c].0 == 0)
            .filter_map(|&c| cand[c].take())
            .collect();
        // Short runs screened on a sample continue as runs on all the rows.
        // The reserve stays on the sample until it is needed (converting costs a pass).
        reserve = rest;
        kept.into_iter()
            .map(|s| onto_data(s, screen_rows_only, data, opts, constant))
            .collect()
    } else {
        let init = if opts.init == InitMethod::EmEm {
            // Explicit starting parameters: there is nothing to draw candidates from.
            InitMethod::GreedyKMeansPlusPlus
        } else {
            opts.init
        };
        let make = |run: usize| start(run, run_seed(opts.seed, run), init);
        if shared {
            (0..opts.n_init).map(make).collect()
        } else {
            (0..opts.n_init).into_par_iter().map(make).collect()
        }
    };
    advance(
        data,
        &mut slots,
        opts.max_iter,
        opts.n_init,
        None,
        &progress,
    );
    // em-EM: short runs heading for a collapse can look best before they collapse (a
    // discrete column invites it). When every continued run ended spurious, up to
    // n_init more short runs — the next in rank order — are continued once, as runs
    // n_init.. (a sound one among them then wins).
    let all_spurious = slots
        .iter()
        .all(|s| s.state.as_ref().map_or(true, |r| !r.spurious().is_empty()));
    if em_em && !opts.allow_spurious && all_spurious && !reserve.is_empty() {
        let mut extra: Vec<Slot> = reserve
            .into_iter()
            .take(opts.n_init)
            .map(|s| onto_data(s, screen_rows_only, data, opts, constant))
            .enumerate()
            .map(|(i, mut s)| {
                s.run = opts.n_init + i;
                s
            })
            .collect();
        advance(
            data,
            &mut extra,
            opts.max_iter,
            opts.n_init,
            None,
            &progress,
        );
        slots.extend(extra);
    }
    let runs = slots
        .into_iter()
        .map(|s| s.state.map(EmRun::finish))
        .collect();
    let screen_rows = screen.as_ref().map(Data::n_samples);
    let short_rows = match (em_em, screen, isample) {
        (false, _, _) => None,
        (true, Some(weighted), _) => Some(ShortRunRows {
            weighted,
            unweighted: screen_unweighted,
        }),
        (true, None, Some(weighted)) => Some(ShortRunRows {
            weighted,
            unweighted: isample_unweighted,
        }),
        (true, None, None) => None,
    };
    (runs, screen_rows, short_rows)
}

/// The index of the winning run: the highest final lower bound among the runs that are
/// not spurious (all of them with `allow_spurious`, or when every run is spurious); the
/// first on ties. `None` when every run failed.
pub(crate) fn winner(runs: &[Result<Run>], allow_spurious: bool) -> Option<usize> {
    let ok = |i: usize| runs[i].as_ref().ok();
    let lb = Run::final_lower_bound;
    let pick = |eligible: &dyn Fn(&Run) -> bool| {
        let mut best: Option<(usize, f64)> = None;
        for i in 0..runs.len() {
            if let Some(r) = ok(i).filter(|r| eligible(r)) {
                if best.is_none_or(|(_, b)| lb(r) > b) {
                    best = Some((i, lb(r)));
                }
            }
        }
        best.map(|b| b.0)
    };
    if allow_spurious {
        return pick(&|_| true);
    }
    pick(&|r| r.spurious.is_empty()).or_else(|| pick(&|_| true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn params(w: [f64; 2], var: [f64; 2]) -> Params {
        Params::new(
            array![w[0], w[1]],
            array![[0.0, 0.0], [5.0, 5.0]],
            Covariances::Diag(array![[var[0], var[0]], [var[1], var[1]]]),
            1e-6,
        )
        .unwrap()
    }

    /// Thin components take their weight and covariance from the all-rows estimate
    /// (weights renormalised); the others, and a thin one no row is nearest to, keep the
    /// short run's; the means are the short run's throughout.
    #[test]
    fn merge_thin_replaces_only_thin_components_with_rows() {
        let short = params([0.9, 0.1], [1.0, 1e-6]);
        let hard = params([0.6, 0.4], [2.0, 0.5]);
        let m = merge_thin(&short, &hard, &[false, true], 1e-6).unwrap();
        let total = 0.9 + 0.4;
        assert!((m.weights[0] - 0.9 / total).abs() < 1e-15);
        assert!((m.weights[1] - 0.4 / total).abs() < 1e-15);
        assert_eq!(
            m.covariances,
            Covariances::Diag(array![[1.0, 1.0], [0.5, 0.5]])
        );
        assert_eq!(m.means, short.means);
        let empty = params([1.0, 0.0], [2.0, 0.5]);
        let m = merge_thin(&short, &empty, &[false, true], 1e-6).unwrap();
        assert_eq!(m.weights, short.weights);
        assert_eq!(m.covariances, short.covariances);
    }
}
