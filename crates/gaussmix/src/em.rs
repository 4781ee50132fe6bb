//! Passes over the data and the EM driver.
//!
//! One iteration is one pass: per group of chunks, E-step into a chunk buffer and
//! accumulate sufficient statistics; merge groups in order; M-step. No `N×K` matrix is
//! ever held.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::covariance::CovarianceType;
use crate::data::Data;
use crate::engine::{chunks, derive_seed, map_groups};
use crate::error::{GmmError, Result};
use crate::estep::{normalize_rows, weighted_log_prob, Scratch};
use crate::kmeans::nearest;
use crate::options::GmmOptions;
use crate::params::Params;
use crate::stats::SuffStats;

/// Per-worker buffers, reused across the chunks of a group.
#[derive(Default)]
pub(crate) struct Buffers {
    pub resp: Vec<f64>,
    pub log_norm: Vec<f64>,
    pub scratch: Scratch,
    pub diff: Vec<f64>,
}

/// Accumulates statistics over all rows, with responsibilities produced per chunk by
/// `fill(first_row, rows, resp, log_norm, scratch)`.
fn stats_pass<F>(data: &Data, kind: CovarianceType, k: usize, shift: &[f64], fill: F) -> SuffStats
where
    F: Fn(usize, &[f64], &mut [f64], &mut [f64], &mut Scratch) + Sync + Send,
{
    let (n, d) = (data.n_samples(), data.n_features());
    let parts = map_groups(n, |s, e| {
        let mut st = SuffStats::new(kind, k, d);
        let mut b = Buffers::default();
        for (cs, ce) in chunks(s, e) {
            let m = ce - cs;
            b.resp.resize(m * k, 0.0);
            b.log_norm.resize(m, 0.0);
            let rows = &data.values()[cs * d..ce * d];
            fill(cs, rows, &mut b.resp, &mut b.log_norm, &mut b.scratch);
            let w = data.weights().map(|w| &w[cs..ce]);
            st.ll += match w {
                Some(w) => b
                    .log_norm
                    .iter()
                    .zip(w)
                    .map(|(l, w)| if *w > 0.0 { l * w } else { 0.0 })
                    .sum::<f64>(),
                None => b.log_norm.iter().sum::<f64>(),
            };
            st.accumulate(rows, w, &b.resp, shift, &mut b.diff);
        }
        st
    });
    let mut total = SuffStats::new(kind, k, d);
    for p in &parts {
        total.merge(p);
    }
    total
}

/// The E-step pass: statistics and the log-likelihood under `p`.
pub(crate) fn e_pass(data: &Data, p: &Params) -> SuffStats {
    let k = p.k;
    stats_pass(
        data,
        p.kind(),
        k,
        p.means_flat(),
        |_, rows, resp, ln, sc| {
            weighted_log_prob(p, rows, resp, sc);
            normalize_rows(resp, k, ln);
        },
    )
}

/// Statistics of the hard assignment of every row to its nearest centre.
pub(crate) fn nearest_pass(
    data: &Data,
    kind: CovarianceType,
    centers: &[f64],
    k: usize,
) -> SuffStats {
    let d = data.n_features();
    stats_pass(data, kind, k, centers, |_, rows, resp, ln, _| {
        resp.fill(0.0);
        ln.fill(0.0);
        for (i, x) in rows.chunks_exact(d).enumerate() {
            resp[i * k + nearest(centers, d, x).0] = 1.0;
        }
    })
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
    stats_pass(data, kind, k, shift, |first, _, resp, ln, _| {
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
    })
}

/// The outcome of one EM run.
pub(crate) struct Run {
    pub params: Params,
    pub converged: bool,
    pub n_iter: usize,
    pub lower_bounds: Vec<f64>,
}

/// Runs EM from `params` until `|Lᵗ − Lᵗ⁻¹| < tol` or `max_iter` iterations
/// (fixtures README: L⁰ = −∞, strict inequality).
pub(crate) fn run_em(
    data: &Data,
    opts: &GmmOptions,
    mut params: Params,
    mut on_iter: impl FnMut(usize, f64),
) -> Result<Run> {
    let mut prev = f64::NEG_INFINITY;
    let mut lower_bounds = Vec::new();
    let mut converged = false;
    for t in 1..=opts.max_iter {
        let st = e_pass(data, &params);
        let l = st.mean_log_likelihood();
        if !l.is_finite() {
            return Err(GmmError::Numerical(format!(
                "the log-likelihood became {l} at EM iteration {t}"
            )));
        }
        let (w, m, c) = st.m_step(params.means_flat(), opts.reg_covar, opts.variance_floor)?;
        params = Params::new(w, m, c, opts.reg_covar).map_err(|e| with_iteration(e, t))?;
        lower_bounds.push(l);
        on_iter(t, l);
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
    })
}

pub(crate) fn with_iteration(e: GmmError, t: usize) -> GmmError {
    match e {
        GmmError::NotPositiveDefinite {
            component,
            reg_covar,
            ..
        } => GmmError::NotPositiveDefinite {
            component,
            reg_covar,
            context: format!(" after EM iteration {t}"),
        },
        other => other,
    }
}
