//! Passes over the data and the EM driver.
//!
//! One iteration is one pass: per group of chunks, E-step into a chunk buffer and
//! accumulate sufficient statistics; merge groups in order; M-step. No `N×K` matrix is
//! ever held.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::anchored::{self, AnchorWs};
use crate::covariance::CovarianceType;
use crate::covariance::Covariances;
use crate::data::{Data, Rows};
use crate::engine::{chunks_of, derive_seed, map_groups, CHUNK_ROWS};
use crate::error::{GmmError, Result};
use crate::estep::{normalize_rows, weighted_log_prob, Scratch};
use crate::init::widen;
use crate::kernels::{self, Prepared, Workspace};
use crate::kmeans::{AssignScratch, NearestCenters};
use crate::model::Recovery;
use crate::options::GmmOptions;
use crate::params::Params;
use crate::small::{self, SmallAcc};
use crate::stats::{push_worst, SuffStats};

/// Per-worker buffers, reused across the chunks of a group.
#[derive(Default)]
pub(crate) struct Buffers {
    pub resp: Vec<f64>,
    pub log_norm: Vec<f64>,
    pub scratch: Scratch,
    pub diff: Vec<f64>,
    pub ws: Workspace,
    pub small: SmallAcc,
    /// f32 rows converted for the f64-only kernels.
    pub conv: Vec<f64>,
    pub anchor: AnchorWs,
    /// Nearest-centre assignment (initialisation).
    pub assign: AssignScratch,
    pub label: Vec<usize>,
}

thread_local! {
    /// Each worker thread keeps its buffers across chunks, passes and EM iterations, so
    /// the iteration loop does not allocate them again. Their contents never carry over
    /// (every use overwrites them), so results do not depend on which thread ran what.
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

/// Runs `f` with this thread's buffers.
pub(crate) fn with_buffers<R>(f: impl FnOnce(&mut Buffers) -> R) -> R {
    BUFFERS.with(|b| match b.try_borrow_mut() {
        Ok(mut b) => f(&mut b),
        // Re-entered on the same thread (a nested pass): use fresh buffers.
        Err(_) => f(&mut Buffers::default()),
    })
}

/// `ln w_k + log N(x | θ_k)` for a chunk, by products (in the data's precision) or by
/// the fused loops (in f64).
pub(crate) fn chunk_log_prob(
    prep: &Prepared,
    p: &Params,
    rows: Rows,
    out: &mut [f64],
    b: &mut Buffers,
) {
    if prep.gemm {
        kernels::log_prob(prep, rows, out, &mut b.ws);
    } else if let Some(sp) = &prep.small {
        small::log_prob(sp, rows.as_f64(&mut b.conv), out);
    } else {
        weighted_log_prob(p, rows.as_f64(&mut b.conv), out, &mut b.scratch);
    }
}

/// Accumulates statistics over all rows, with responsibilities produced per chunk by
/// `fill(first_row, rows, resp, log_norm, scratch)`.
fn stats_pass<F>(
    data: &Data,
    kind: CovarianceType,
    k: usize,
    shift: &[f64],
    prep: Option<&Prepared>,
    track_worst: bool,
    fill: F,
) -> SuffStats
where
    F: Fn(usize, Rows, &mut [f64], &mut [f64], &mut Buffers) + Sync + Send,
{
    let (n, d) = (data.n_samples(), data.n_features());
    let anchors = prep.and_then(|p| p.anchored.as_ref());
    let parts = map_groups(n, |s, e| {
        let mut st = SuffStats::new(kind, k, d, shift);
        with_buffers(|b| {
            // The anchored kernel works per anchor within a chunk: longer chunks give it
            // longer runs per anchor (and still fit its f32 buffers in cache).
            let step = if anchors.is_some() {
                2 * CHUNK_ROWS
            } else {
                CHUNK_ROWS
            };
            for (cs, ce) in chunks_of(s, e, step) {
                let m = ce - cs;
                data.prefetch(ce, (ce + m).min(e));
                b.resp.resize(m * k, 0.0);
                b.log_norm.resize(m, 0.0);
                let rows = data.rows(cs, ce);
                let w = data.weights().map(|w| &w[cs..ce]);
                // f32 rows, full covariances: E-step and accumulation in one kernel.
                let fused = match (anchors, rows) {
                    (Some(ap), Rows::F32(r)) => {
                        anchored::chunk(ap, &mut st, r, w, &mut b.log_norm, &mut b.anchor);
                        true
                    }
                    _ => {
                        let (mut resp, mut log_norm) =
                            (std::mem::take(&mut b.resp), std::mem::take(&mut b.log_norm));
                        fill(cs, rows, &mut resp, &mut log_norm, b);
                        b.resp = resp;
                        b.log_norm = log_norm;
                        false
                    }
                };
                if track_worst {
                    for (i, l) in b.log_norm.iter().enumerate() {
                        if w.is_none_or(|w| w[i] > 0.0) {
                            push_worst(&mut st.worst, (*l, cs + i), k);
                        }
                    }
                }
                st.ll += match w {
                    Some(w) => b
                        .log_norm
                        .iter()
                        .zip(w)
                        .map(|(l, w)| if *w > 0.0 { l * w } else { 0.0 })
                        .sum::<f64>(),
                    None => b.log_norm.iter().sum::<f64>(),
                };
                match prep {
                    _ if fused => {}
                    Some(prep) if prep.gemm => {
                        kernels::accumulate(prep, &mut st, rows, w, &b.resp, &mut b.ws)
                    }
                    Some(Prepared {
                        small: Some(sp), ..
                    }) => small::accumulate(
                        sp,
                        &mut st,
                        rows.as_f64(&mut b.conv),
                        w,
                        &b.resp,
                        &mut b.small,
                    ),
                    _ => st.accumulate(rows.as_f64(&mut b.conv), w, &b.resp, &mut b.diff),
                }
            }
            if let Some(ap) = anchors {
                anchored::fold(ap, &mut st, &mut b.anchor);
            }
        });
        st
    });
    let mut total = SuffStats::new(kind, k, d, shift);
    for p in &parts {
        total.merge(p);
    }
    total
}

/// The E-step pass: statistics and the log-likelihood under `p`.
pub(crate) fn e_pass(data: &Data, p: &Params, track_worst: bool) -> SuffStats {
    e_pass_prepared(data, p, &Prepared::for_data(p, data.is_f32()), track_worst)
}

/// [`e_pass`] with given kernels; a pass computed in f32 (f32 products or the anchored
/// kernel) whose statistics overflow is redone on f64 conversions, so f32 data is never
/// refused where its f64 values would fit.
fn e_pass_prepared(data: &Data, p: &Params, prep: &Prepared, track_worst: bool) -> SuffStats {
    let st = e_pass_with(data, p, prep, track_worst);
    if data.is_f32() && prep.computes_in_f32() && !st.is_finite() {
        // Something overflowed the f32 range: the same pass on rows converted to f64.
        return e_pass_with(data, p, &Prepared::new(p, None, false), track_worst);
    }
    st
}

fn e_pass_with(data: &Data, p: &Params, prep: &Prepared, track_worst: bool) -> SuffStats {
    let k = p.k;
    let mut st = stats_pass(
        data,
        p.kind(),
        k,
        &prep.shift,
        Some(prep),
        track_worst,
        |_, rows, resp, ln, b| {
            chunk_log_prob(prep, p, rows, resp, b);
            normalize_rows(resp, k, ln);
        },
    );
    st.previous_means = Some(p.means_flat().to_vec());
    st
}

/// Statistics of the hard assignment of every row to its nearest centre.
pub(crate) fn nearest_pass(
    data: &Data,
    kind: CovarianceType,
    centers: &[f64],
    k: usize,
) -> SuffStats {
    let near = NearestCenters::new(centers, k, data.n_features());
    stats_pass(
        data,
        kind,
        k,
        centers,
        None,
        false,
        |_, rows, resp, ln, b| {
            resp.fill(0.0);
            ln.fill(0.0);
            let mut label = std::mem::take(&mut b.label);
            near.assign(rows.as_f64(&mut b.conv), &mut label, &mut b.assign);
            for (i, c) in label.iter().enumerate() {
                resp[i * k + c] = 1.0;
            }
            b.label = label;
        },
    )
}

/// Statistics of uniformly random responsibilities (normalised per row); each chunk has
/// its own seed, so the draw does not depend on the thread count.
pub(crate) fn random_pass(
    data: &Data,
    kind: CovarianceType,
    shift: &[f64],
    k: usize,
    seed: u64,
) -> SuffStats {
    stats_pass(
        data,
        kind,
        k,
        shift,
        None,
        false,
        |first, _, resp, ln, _| {
            ln.fill(0.0);
            let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, first as u64, 0x5EED));
            for row in resp.chunks_exact_mut(k) {
                let mut s = 0.0;
                for v in row.iter_mut() {
                    *v = rng.gen::<f64>();
                    s += *v;
                }
                row.iter_mut().for_each(|v| *v /= s);
            }
        },
    )
}

/// The outcome of one EM run.
pub(crate) struct Run {
    pub params: Params,
    pub converged: bool,
    pub n_iter: usize,
    pub lower_bounds: Vec<f64>,
    pub recoveries: Vec<Recovery>,
}

/// What re-seeding needs to know about the data.
struct Reseeder {
    /// Per-feature variance of the whole data: a re-seeded component starts this wide.
    variance: Vec<f64>,
    /// A component with less mass than this is dead (half an average row).
    min_mass: f64,
    /// Re-seeds allowed per run, so that a point that keeps capturing a component cannot
    /// make EM loop on re-seeding: past it, the default behaviour applies.
    budget: usize,
}

impl Reseeder {
    fn new(data: &Data) -> Self {
        let (_, variance) = data.column_moments();
        Reseeder {
            variance,
            min_mass: 0.5 * data.total_weight() / data.n_effective_rows().max(1) as f64,
            budget: 0,
        }
    }

    /// Moves component `c` onto data row `row` with the data's own spread and weight 1/K.
    fn reseed(
        &self,
        c: usize,
        row: &[f64],
        reg_covar: f64,
        w: &mut ndarray::Array1<f64>,
        m: &mut ndarray::Array2<f64>,
        cov: &mut Covariances,
    ) {
        let k = m.nrows();
        m.row_mut(c).assign(&ndarray::ArrayView1::from(row));
        // A tied covariance is shared: only the mean and weight move.
        widen(cov, c, &self.variance, reg_covar);
        let others: f64 = (0..k).filter(|&j| j != c).map(|j| w[j]).sum();
        let share = 1.0 / k as f64;
        for j in 0..k {
            w[j] = if j == c {
                share
            } else if others > 0.0 {
                w[j] / others * (1.0 - share)
            } else {
                (1.0 - share) / (k - 1).max(1) as f64
            };
        }
    }
}

/// Runs EM from `params` until `|Lᵗ − Lᵗ⁻¹| < tol` or `max_iter` iterations
/// (fixtures README: L⁰ = −∞, strict inequality).
///
/// With `opts.recover`, a component that loses its mass (less than half an average row)
/// or whose covariance stops being positive definite is re-seeded on the worst-explained
/// row not used yet, with the data's variance and weight 1/K; the event is recorded and
/// convergence is not declared on the iteration that re-seeded. At most `2K` re-seeds
/// happen per run; after that the default behaviour (an error for a covariance that is
/// not positive definite) applies.
pub(crate) fn run_em(
    data: &Data,
    opts: &GmmOptions,
    mut params: Params,
    mut recoveries: Vec<Recovery>,
    mut on_iter: impl FnMut(usize, f64),
) -> Result<Run> {
    let mut prev = f64::NEG_INFINITY;
    let mut lower_bounds = Vec::new();
    let mut converged = false;
    let reseeder = opts.recover.then(|| Reseeder {
        budget: 2 * opts.n_components,
        ..Reseeder::new(data)
    });
    for t in 1..=opts.max_iter {
        let st = e_pass(data, &params, reseeder.is_some());
        let l = st.mean_log_likelihood();
        if !l.is_finite() {
            return Err(GmmError::Numerical(format!(
                "the log-likelihood became {l} at EM iteration {t}"
            )));
        }
        let (mut w, mut m, mut c) = st.m_step(opts.reg_covar, opts.variance_floor)?;
        let mut reseeded: Vec<usize> = Vec::new();
        let mut next_row = st.worst.iter().map(|x| x.1);
        let mut reseed = |comp: usize, reason: String, w: &mut _, m: &mut _, c: &mut _| -> bool {
            let Some(rs) = &reseeder else {
                return false;
            };
            if recoveries.len() >= rs.budget {
                return false;
            }
            let Some(row) = next_row.next() else {
                return false;
            };
            rs.reseed(comp, &data.row_f64(row), opts.reg_covar, w, m, c);
            recoveries.push(Recovery {
                iteration: t,
                component: comp,
                row: Some(row),
                reason,
            });
            true
        };
        if let Some(rs) = &reseeder {
            for comp in 0..params.k {
                if st.nk[comp] < rs.min_mass
                    && reseed(
                        comp,
                        format!("its mass fell to {:.3e}", st.nk[comp]),
                        &mut w,
                        &mut m,
                        &mut c,
                    )
                {
                    reseeded.push(comp);
                }
            }
        }
        params = loop {
            match Params::new(w.clone(), m.clone(), c.clone(), opts.reg_covar) {
                Ok(p) => break p,
                Err(GmmError::NotPositiveDefinite { component, .. })
                    if reseeder.is_some()
                        && opts.covariance_type != CovarianceType::Tied
                        && !reseeded.contains(&component)
                        && reseed(
                            component,
                            "its covariance was not positive definite".into(),
                            &mut w,
                            &mut m,
                            &mut c,
                        ) =>
                {
                    reseeded.push(component);
                }
                Err(e) => {
                    let e = with_iteration(e, t);
                    return Err(if reseeder.is_some() {
                        let n = recoveries.len();
                        e.map_pd_context(|c| format!("{c} (recovery gave up after {n} re-seeds)"))
                    } else {
                        e
                    });
                }
            }
        };
        lower_bounds.push(l);
        on_iter(t, l);
        if !reseeded.is_empty() {
            // The jump a re-seed causes is not convergence.
            prev = f64::NEG_INFINITY;
            continue;
        }
        if (l - prev).abs() < opts.tol {
            converged = true;
            break;
        }
        prev = l;
    }
    Ok(Run {
        n_iter: lower_bounds.len(),
        params,
        converged,
        lower_bounds,
        recoveries,
    })
}

pub(crate) fn with_iteration(e: GmmError, t: usize) -> GmmError {
    e.map_pd_context(|_| format!(" after EM iteration {t}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, Array3};

    /// A weighted f32 row whose squares overflow f32 makes the anchored pass non-finite;
    /// the pass is then redone on f64 conversions and equals the f64 pass exactly.
    #[test]
    fn overflowing_f32_pass_is_redone_in_f64() {
        let (n, d, k) = (300, 6, 2);
        let x32: Vec<f32> = (0..n * d)
            .map(|i| {
                if i == 7 * d {
                    3e19
                } else {
                    ((i * 37) % 101) as f32 * 0.05 + (i / d % 2) as f32 * 4.0
                }
            })
            .collect();
        let x64: Vec<f64> = x32.iter().map(|v| *v as f64).collect();
        let means = Array2::from_shape_fn((k, d), |(c, _)| 2.5 + 4.0 * c as f64);
        let mut cov = Array3::zeros((k, d, d));
        for c in 0..k {
            for j in 0..d {
                cov[[c, j, j]] = 1.5;
            }
        }
        let p = Params::new(
            Array1::from_elem(k, 0.5),
            means,
            Covariances::Full(cov),
            1e-6,
        )
        .unwrap();
        let d32 = Data::from_slice_f32(&x32, n, d).unwrap();
        let prep = Prepared::new(&p, None, true).with_anchors(&p);
        let a = e_pass_prepared(&d32, &p, &prep, false);
        let b = e_pass(&Data::from_slice(&x64, n, d).unwrap(), &p, false);
        assert!(a.is_finite());
        assert_eq!(a.ll, b.ll);
        assert_eq!(a.nk, b.nk);
        assert_eq!(a.m2, b.m2);
    }
}
