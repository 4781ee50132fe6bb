//! Passes over the data: a map-reduce over fixed groups of chunks (`crate::parallel`).
//! Each worker runs a kernel over its chunks into its own statistics; the groups'
//! statistics are merged in group order. No `N×K` matrix is ever held.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::covariance::CovarianceType;
use crate::data::{Data, RowBuf, Rows};
use crate::fit::kmeans::{AssignScratch, NearestCenters};
use crate::kernels::{accumulate_given, normalize_rows, Carried, ChunkKernel, Prepared, Workspace};
use crate::parallel::{chunks, chunks_of, derive_seed, map_groups, CHUNK_ROWS};
use crate::params::Params;
use crate::stats::{push_worst, SuffStats};

/// Per-worker buffers, reused across the chunks of a group.
#[derive(Default)]
pub(crate) struct Buffers {
    /// `m×K` responsibilities (or log-densities) of the current chunk.
    pub resp: Vec<f64>,
    /// `m`: `log p(x_i)` of the current chunk.
    pub log_norm: Vec<f64>,
    /// The kernels' buffers.
    pub ws: Workspace,
    /// Nearest-centre assignment (initialisation).
    assign: AssignScratch,
    label: Vec<usize>,
    /// Streamed rows of the current chunk.
    rows: RowBuf,
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

/// What a statistics pass does per chunk: fill `log_norm` (and use `resp` as scratch)
/// and add the chunk to the statistics.
trait ChunkStep: Sync {
    fn rows_per_chunk(&self) -> usize {
        CHUNK_ROWS
    }
    fn step(
        &self,
        first: usize,
        rows: Rows,
        w: Option<&[f64]>,
        st: &mut SuffStats,
        b: &mut Buffers,
    );
    fn finish(&self, _st: &mut SuffStats, _b: &mut Buffers) {}
}

/// The E-step of a kernel.
impl ChunkStep for Prepared<'_> {
    fn rows_per_chunk(&self) -> usize {
        self.kernel().chunk_rows()
    }
    fn step(&self, _: usize, rows: Rows, w: Option<&[f64]>, st: &mut SuffStats, b: &mut Buffers) {
        self.kernel()
            .e_step(st, rows, w, &mut b.resp, &mut b.log_norm, &mut b.ws);
    }
    fn finish(&self, st: &mut SuffStats, b: &mut Buffers) {
        self.kernel().finish(st, &mut b.ws);
    }
}

/// Given responsibilities: `fill(first_row, rows, resp, b)` writes them.
struct Given<F>(F);

impl<F> ChunkStep for Given<F>
where
    F: Fn(usize, Rows, &mut [f64], &mut Buffers) + Sync,
{
    fn step(
        &self,
        first: usize,
        rows: Rows,
        w: Option<&[f64]>,
        st: &mut SuffStats,
        b: &mut Buffers,
    ) {
        let mut resp = std::mem::take(&mut b.resp);
        (self.0)(first, rows, &mut resp, b);
        b.log_norm.fill(0.0);
        accumulate_given(st, rows, w, &resp, &mut b.ws);
        b.resp = resp;
    }
}

/// Accumulates statistics over all rows with `steps` (one per parameter set; each
/// chunk is read once for all of them), moments of set `s` about `shifts[s]`.
fn stats_pass<S: ChunkStep>(
    data: &Data,
    kind: CovarianceType,
    k: usize,
    shifts: &[&[f64]],
    steps: &[S],
    track_worst: bool,
) -> Vec<SuffStats> {
    let (n, d) = (data.n_samples(), data.n_features());
    let new_stats = || -> Vec<SuffStats> {
        shifts
            .iter()
            .map(|s| SuffStats::new(kind, k, d, s))
            .collect()
    };
    let rows_per_chunk = steps
        .iter()
        .map(|s| s.rows_per_chunk())
        .max()
        .unwrap_or(CHUNK_ROWS);
    let parts = map_groups(n, |s, e| {
        let mut sts = new_stats();
        // Several sets: each keeps its own carried kernel state (one set uses the
        // workspace's, exactly as a pass of its own).
        let mut carried: Vec<Carried> = if steps.len() > 1 {
            steps.iter().map(|_| Carried::default()).collect()
        } else {
            Vec::new()
        };
        with_buffers(|b| {
            for (cs, ce) in chunks_of(s, e, rows_per_chunk) {
                let m = ce - cs;
                data.prefetch(ce, (ce + m).min(e));
                b.resp.resize(m * k, 0.0);
                b.log_norm.resize(m, 0.0);
                let mut rb = std::mem::take(&mut b.rows);
                let rows = data.rows(cs, ce, &mut rb);
                let w = data.weights().map(|w| &w[cs..ce]);
                for (si, (step, st)) in steps.iter().zip(sts.iter_mut()).enumerate() {
                    if let Some(c) = carried.get_mut(si) {
                        b.ws.swap_carried(c);
                    }
                    step.step(cs, rows, w, st, b);
                    if let Some(c) = carried.get_mut(si) {
                        b.ws.swap_carried(c);
                    }
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
                }
                b.rows = rb;
            }
            for (si, (step, st)) in steps.iter().zip(sts.iter_mut()).enumerate() {
                if let Some(c) = carried.get_mut(si) {
                    b.ws.swap_carried(c);
                }
                step.finish(st, b);
                if let Some(c) = carried.get_mut(si) {
                    b.ws.swap_carried(c);
                }
            }
        });
        sts
    });
    let mut total = new_stats();
    for p in &parts {
        for (t, s) in total.iter_mut().zip(p) {
            t.merge(s);
        }
    }
    total
}

/// The E-step pass: statistics and the log-likelihood under `p`.
pub(crate) fn e_pass(data: &Data, p: &Params, track_worst: bool) -> SuffStats {
    let mut all = e_passes(data, &[p], track_worst);
    all.swap_remove(0)
}

/// E-step passes under several parameter sets (same covariance type and `K`) from one
/// read of each chunk: the statistics of each, equal to separate [`e_pass`]es. A pass
/// computed in f32 (f32 products or the anchored kernel) whose statistics overflow, or
/// whose f32 products may have cancelled a variance
/// ([`SuffStats::f32_cancellation_suspected`]), is redone on f64 conversions, so f32
/// data is never refused where its f64 values fit.
pub(crate) fn e_passes(data: &Data, ps: &[&Params], track_worst: bool) -> Vec<SuffStats> {
    let preps: Vec<Prepared> = ps
        .iter()
        .map(|p| Prepared::choose(p, data.is_f32(), true))
        .collect();
    e_passes_prepared(data, ps, &preps, track_worst)
}

/// [`e_passes`] with given kernels.
fn e_passes_prepared(
    data: &Data,
    ps: &[&Params],
    preps: &[Prepared],
    track_worst: bool,
) -> Vec<SuffStats> {
    let mut sts = e_passes_with(data, ps, preps, track_worst);
    for (i, p) in ps.iter().enumerate() {
        if data.is_f32()
            && preps[i].computes_in_f32()
            && (!sts[i].is_finite() || sts[i].f32_cancellation_suspected())
        {
            // Something overflowed the f32 range, or a variance may have cancelled in
            // f32 products: the same pass on rows converted to f64.
            let f64_prep = [Prepared::choose(p, false, true)];
            sts[i] = e_passes_with(data, &[p], &f64_prep, track_worst).swap_remove(0);
        }
    }
    sts
}

fn e_passes_with(
    data: &Data,
    ps: &[&Params],
    preps: &[Prepared],
    track_worst: bool,
) -> Vec<SuffStats> {
    let Some(first) = ps.first() else {
        return Vec::new();
    };
    let shifts: Vec<&[f64]> = preps.iter().map(|p| p.shift.as_slice()).collect();
    let mut sts = stats_pass(data, first.kind(), first.k, &shifts, preps, track_worst);
    for (st, p) in sts.iter_mut().zip(ps) {
        st.previous_means = Some(p.means_flat().to_vec());
    }
    sts
}

/// Statistics of the hard assignment of every row to its nearest centre.
pub(crate) fn nearest_pass(
    data: &Data,
    kind: CovarianceType,
    centers: &[f64],
    k: usize,
) -> SuffStats {
    let near = NearestCenters::new(centers, k, data.n_features());
    let step = Given(|_: usize, rows: Rows, resp: &mut [f64], b: &mut Buffers| {
        resp.fill(0.0);
        let mut label = std::mem::take(&mut b.label);
        near.assign(rows.as_f64(&mut b.ws.conv), &mut label, &mut b.assign);
        for (i, c) in label.iter().enumerate() {
            resp[i * k + c] = 1.0;
        }
        b.label = label;
    });
    stats_pass(data, kind, k, &[centers], &[step], false).swap_remove(0)
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
    let step = Given(|first: usize, _: Rows, resp: &mut [f64], _: &mut Buffers| {
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, first as u64, 0x5EED));
        for row in resp.chunks_exact_mut(k) {
            let mut s = 0.0;
            for v in row.iter_mut() {
                *v = rng.gen::<f64>();
                s += *v;
            }
            row.iter_mut().for_each(|v| *v /= s);
        }
    });
    stats_pass(data, kind, k, &[shift], &[step], false).swap_remove(0)
}

/// Per-row results of width `width` under `p`, computed chunk by chunk in parallel:
/// `f(kernel, rows, out, b)` fills the chunk's `out`.
pub(crate) fn map_rows(
    data: &Data,
    p: &Params,
    width: usize,
    f: impl Fn(&dyn ChunkKernel, Rows, &mut [f64], &mut Buffers) + Sync + Send,
) -> crate::error::Result<Vec<f64>> {
    let prep = Prepared::choose(p, data.is_f32(), false);
    let kernel = prep.kernel();
    let parts = map_groups(data.n_samples(), |s, e| {
        let mut out = vec![0.0; (e - s) * width];
        with_buffers(|b| {
            let mut rb = RowBuf::default();
            for (cs, ce) in chunks(s, e) {
                let rows = data.rows(cs, ce, &mut rb);
                f(
                    kernel,
                    rows,
                    &mut out[(cs - s) * width..(ce - s) * width],
                    b,
                );
            }
        });
        out
    });
    // A streamed read that failed filled its rows with zeros: the error, not them.
    match data.take_read_error() {
        Some(e) => Err(e),
        None => Ok(parts.concat()),
    }
}

/// `log p(x_i)` into `out` and the responsibilities into `resp` (`m×K`), for one chunk.
pub(crate) fn chunk_responsibilities(
    kernel: &dyn ChunkKernel,
    rows: Rows,
    resp: &mut [f64],
    log_norm: &mut [f64],
    ws: &mut Workspace,
) {
    let k = resp.len() / log_norm.len().max(1);
    kernel.log_prob(rows, resp, ws);
    normalize_rows(resp, k, log_norm);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::Covariances;
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
        let prep = [Prepared::choose(&p, true, true).with_anchors(&p)];
        let a = e_passes_prepared(&d32, &[&p], &prep, false).swap_remove(0);
        let b = e_pass(&Data::from_slice(&x64, n, d).unwrap(), &p, false);
        assert!(a.is_finite());
        assert_eq!(a.ll, b.ll);
        assert_eq!(a.nk, b.nk);
        assert_eq!(a.m2, b.m2);
    }

    /// One read of each chunk for several parameter sets gives each set exactly the
    /// statistics of its own pass (f64 and f32 data, every covariance type).
    #[test]
    fn several_parameter_sets_in_one_pass_equal_separate_passes() {
        // (1100, 14, 16): f32 full runs the anchored kernel, whose accumulators carry
        // over chunks (they mixed between sets before `Carried`).
        for (n, d, k) in [(700, 5, 3), (1100, 14, 16)] {
            several_sets(n, d, k);
        }
    }

    fn several_sets(n: usize, d: usize, k: usize) {
        let x: Vec<f64> = (0..n * d)
            .map(|i| ((i * 7919) % 1009) as f64 * 0.01 + (i / d % 3) as f64 * 4.0)
            .collect();
        let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        for kind in CovarianceType::ALL {
            let sets: Vec<Params> = (0..3)
                .map(|s| {
                    let means = Array2::from_shape_fn((k, d), |(c, j)| {
                        4.0 * c as f64 + 0.3 * s as f64 + 0.01 * j as f64
                    });
                    let cov = match kind {
                        CovarianceType::Full => {
                            Covariances::Full(Array3::from_shape_fn((k, d, d), |(_, a, b)| {
                                if a == b {
                                    1.0 + 0.1 * s as f64
                                } else {
                                    0.05
                                }
                            }))
                        }
                        CovarianceType::Tied => {
                            Covariances::Tied(Array2::from_shape_fn((d, d), |(a, b)| {
                                if a == b {
                                    1.2
                                } else {
                                    0.1
                                }
                            }))
                        }
                        CovarianceType::Diag => {
                            Covariances::Diag(Array2::from_elem((k, d), 0.8 + 0.1 * s as f64))
                        }
                        CovarianceType::Spherical => {
                            Covariances::Spherical(Array1::from_elem(k, 0.9 + 0.2 * s as f64))
                        }
                    };
                    Params::new(Array1::from_elem(k, 1.0 / k as f64), means, cov, 1e-6).unwrap()
                })
                .collect();
            let refs: Vec<&Params> = sets.iter().collect();
            for data in [
                Data::from_slice(&x, n, d).unwrap(),
                Data::from_slice_f32(&x32, n, d).unwrap(),
            ] {
                let together = e_passes(&data, &refs, true);
                assert_eq!(together.len(), 3);
                for (p, st) in sets.iter().zip(&together) {
                    let alone = e_pass(&data, p, true);
                    assert_eq!(st.ll, alone.ll, "{kind}");
                    assert_eq!(st.nk, alone.nk, "{kind}");
                    assert_eq!(st.s, alone.s, "{kind}");
                    assert_eq!(st.m2, alone.m2, "{kind}");
                    assert_eq!(st.worst, alone.worst, "{kind}");
                }
                // Different sets give different statistics (the test can fail).
                assert_ne!(together[0].ll, together[1].ll);
            }
        }
    }
}
