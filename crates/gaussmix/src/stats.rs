//! Sufficient statistics of EM: accumulated per chunk, merged by addition, turned into
//! parameters by the M-step (DESIGN.md).
//!
//! Moments are taken about a per-component shift `c_k` near the component (its own mean
//! in the fused loops, its product group's shift — within a few hundred spreads — in the
//! products, its f32 anchor in the anchored kernel), which keeps the second moment free
//! of the cancellation that `E[x²] − E[x]²` suffers on data far from the origin or far
//! from other components. The M-step moves them to the new mean:
//! `Σ r (x−μ)(x−μ)ᵀ = M2 − s δᵀ − δ sᵀ + n δ δᵀ`, `δ = μ − c_k`, which cancels only as
//! much as `δ` is large against the spread.

use ndarray::{Array1, Array2, Array3};

use crate::covariance::{CovarianceType, Covariances};
use crate::error::{GmmError, Result};

/// scikit-learn adds `10·ε` to every component mass so an empty component never divides
/// by zero; we do the same so results match to rounding.
pub(crate) const MASS_EPS: f64 = 10.0 * f64::EPSILON;

/// Per-component sums over (weighted) rows.
#[derive(Clone, Debug)]
pub(crate) struct SuffStats {
    pub kind: CovarianceType,
    pub k: usize,
    pub d: usize,
    /// `Σ w r_ik` per component.
    pub nk: Vec<f64>,
    /// `Σ w r_ik (x_i − c_k)`, `K×D`.
    pub s: Vec<f64>,
    /// Second moments about the shift: full `K×D×D` (upper triangle), tied `D×D` pooled
    /// (upper triangle), diag/spherical `K×D`.
    pub m2: Vec<f64>,
    /// `Σ w log p(x_i)`.
    pub ll: f64,
    /// `Σ w`.
    pub wsum: f64,
    /// The shift `c_k` the moments are taken about (`K×D`).
    pub shift: Vec<f64>,
    /// The rows with the lowest `log p(x)` as `(log p, row)`, ascending; only kept when
    /// component recovery needs places to re-seed.
    pub worst: Vec<(f64, usize)>,
    /// The means of the parameters this pass evaluated (`K×D`), where known: a
    /// component without any mass keeps its mean (its shift may be a group's).
    pub previous_means: Option<Vec<f64>>,
}

/// Inserts `(ll, row)` into an ascending list capped at `cap` entries (ties by row, so the
/// result does not depend on merge order).
pub(crate) fn push_worst(list: &mut Vec<(f64, usize)>, item: (f64, usize), cap: usize) {
    if cap == 0 {
        return;
    }
    let key = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if list.len() == cap && key(&item, &list[cap - 1]).is_ge() {
        return;
    }
    let pos = list.partition_point(|x| key(x, &item).is_lt());
    list.insert(pos, item);
    list.truncate(cap);
}

impl SuffStats {
    pub fn new(kind: CovarianceType, k: usize, d: usize, shift: &[f64]) -> Self {
        let m2 = match kind {
            CovarianceType::Full => k * d * d,
            CovarianceType::Tied => d * d,
            CovarianceType::Diag | CovarianceType::Spherical => k * d,
        };
        SuffStats {
            kind,
            k,
            d,
            nk: vec![0.0; k],
            s: vec![0.0; k * d],
            m2: vec![0.0; m2],
            ll: 0.0,
            wsum: 0.0,
            shift: shift.to_vec(),
            worst: Vec::new(),
            previous_means: None,
        }
    }

    /// Adds the rows of a chunk given their responsibilities `resp` (`m×K`).
    pub fn accumulate(
        &mut self,
        rows: &[f64],
        weights: Option<&[f64]>,
        resp: &[f64],
        diff: &mut Vec<f64>,
    ) {
        let (k, d) = (self.k, self.d);
        let shift = &self.shift;
        let m = rows.len() / d;
        diff.resize(d, 0.0);
        for i in 0..m {
            let x = &rows[i * d..(i + 1) * d];
            let w = weights.map_or(1.0, |w| w[i]);
            self.wsum += w;
            if w == 0.0 {
                continue;
            }
            for c in 0..k {
                let r = w * resp[i * k + c];
                if r == 0.0 {
                    continue;
                }
                self.nk[c] += r;
                let sc = &mut self.s[c * d..(c + 1) * d];
                let sh = &shift[c * d..(c + 1) * d];
                for j in 0..d {
                    diff[j] = x[j] - sh[j];
                    sc[j] += r * diff[j];
                }
                match self.kind {
                    CovarianceType::Full | CovarianceType::Tied => {
                        let off = if self.kind == CovarianceType::Full {
                            c * d * d
                        } else {
                            0
                        };
                        let m2 = &mut self.m2[off..off + d * d];
                        for a in 0..d {
                            let ra = r * diff[a];
                            let row = &mut m2[a * d..(a + 1) * d];
                            for b in a..d {
                                row[b] += ra * diff[b];
                            }
                        }
                    }
                    CovarianceType::Diag | CovarianceType::Spherical => {
                        let m2 = &mut self.m2[c * d..(c + 1) * d];
                        for j in 0..d {
                            m2[j] += r * diff[j] * diff[j];
                        }
                    }
                }
            }
        }
    }

    /// Adds another chunk's statistics (merge is plain addition, so it is associative up
    /// to rounding; callers merge in a fixed order for bit-identical results).
    pub fn merge(&mut self, o: &SuffStats) {
        let cap = self.k;
        for &w in &o.worst {
            push_worst(&mut self.worst, w, cap);
        }
        add(&mut self.nk, &o.nk);
        add(&mut self.s, &o.s);
        add(&mut self.m2, &o.m2);
        self.ll += o.ll;
        self.wsum += o.wsum;
    }

    /// Whether every accumulated value is finite.
    pub fn is_finite(&self) -> bool {
        self.ll.is_finite()
            && self.wsum.is_finite()
            && [&self.nk, &self.s, &self.m2]
                .iter()
                .all(|v| v.iter().all(|x| x.is_finite()))
    }

    /// Whether moments accumulated from f32 products may have lost a variance to
    /// cancellation (diag and spherical): a component's variance about its new mean,
    /// `m2/n − (s/n)²`, below `64·ε₃₂` times its second moment about the shift `m2/n`
    /// (what the f32 rounding of the products can move it by). The group shifts keep
    /// every component within 64 spreads, so this happens only when a component
    /// collapses within one iteration (e.g. onto one row far from its group's shift);
    /// the pass is then redone in f64 (`fit::pass`).
    pub fn f32_cancellation_suspected(&self) -> bool {
        if !matches!(self.kind, CovarianceType::Diag | CovarianceType::Spherical) {
            return false;
        }
        let d = self.d;
        let bound = 64.0 * f32::EPSILON as f64;
        (0..self.k).any(|c| {
            let n = self.nk[c];
            n > MASS_EPS
                && (0..d).any(|j| {
                    let second = self.m2[c * d + j] / n;
                    let mean = self.s[c * d + j] / n;
                    second - mean * mean < bound * second
                })
        })
    }

    /// The (weighted) covariance of the data the pass read, `D×D` row-major, from the
    /// statistics alone (the law of total covariance: the components' scatter about
    /// their own means plus the scatter of those means about the overall mean), so no
    /// extra pass over the data is needed. Full and tied statistics give the whole
    /// matrix; diag and spherical ones only its diagonal (the off-diagonal is 0). Every
    /// term is a sum of products of deviations from a point near the rows, so nothing
    /// cancels beyond what the M-step itself loses.
    pub fn data_covariance(&self) -> Vec<f64> {
        let (k, d) = (self.k, self.d);
        let mut out = vec![0.0; d * d];
        let full = matches!(self.kind, CovarianceType::Full | CovarianceType::Tied);
        let total: f64 = self.nk.iter().sum();
        if total.is_nan() || total <= 0.0 {
            return out;
        }
        // Component means and the overall mean.
        let mut mu = vec![0.0; k * d];
        let mut grand = vec![0.0; d];
        for c in 0..k {
            let n = self.nk[c];
            if n <= 0.0 {
                continue;
            }
            for j in 0..d {
                mu[c * d + j] = self.shift[c * d + j] + self.s[c * d + j] / n;
            }
        }
        // The overall mean about the first live component's mean (no cancellation on
        // data far from the origin).
        let base = (0..k).find(|&c| self.nk[c] > 0.0).unwrap_or(0);
        for c in 0..k {
            for j in 0..d {
                grand[j] += self.nk[c] * (mu[c * d + j] - mu[base * d + j]) / total;
            }
        }
        let pairs: Vec<(usize, usize)> = if full {
            (0..d).flat_map(|a| (a..d).map(move |b| (a, b))).collect()
        } else {
            (0..d).map(|j| (j, j)).collect()
        };
        for &(a, b) in &pairs {
            let mut v = if self.kind == CovarianceType::Tied {
                self.m2[a * d + b]
            } else {
                0.0
            };
            for c in 0..k {
                let n = self.nk[c];
                if n <= 0.0 {
                    continue;
                }
                let m2 = match self.kind {
                    CovarianceType::Full => self.m2[c * d * d + a * d + b],
                    CovarianceType::Tied => 0.0,
                    _ => self.m2[c * d + a],
                };
                let (sa, sb) = (self.s[c * d + a], self.s[c * d + b]);
                let da = mu[c * d + a] - mu[base * d + a] - grand[a];
                let db = mu[c * d + b] - mu[base * d + b] - grand[b];
                v += m2 - sa * sb / n + n * da * db;
            }
            let v = v / total;
            out[a * d + b] = v;
            out[b * d + a] = v;
        }
        out
    }

    /// Mean log-likelihood of the pass that produced these statistics.
    pub fn mean_log_likelihood(&self) -> f64 {
        self.ll / self.wsum
    }

    /// The M-step (fixtures README semantics): new weights, means and covariances.
    pub fn m_step(
        &self,
        reg_covar: f64,
        variance_floor: Option<f64>,
    ) -> Result<(Array1<f64>, Array2<f64>, Covariances)> {
        let (k, d) = (self.k, self.d);
        let shift = &self.shift;
        let nk: Vec<f64> = self.nk.iter().map(|v| v + MASS_EPS).collect();
        let total: f64 = nk.iter().sum();
        let weights = Array1::from_iter(nk.iter().map(|v| v / total));
        // μ = c + s / n_k. scikit-learn's (Σ r x) / n_k differs from this by
        // c·10ε/n_k — below 1e-15 relative for any component holding a row — but sends
        // an empty component's mean to the origin; this keeps it where it was.
        let mut means = Array2::zeros((k, d));
        let mut delta = vec![0.0; k * d];
        for c in 0..k {
            // No mass at all: the moments are zero whatever the shift, only the mean
            // is to keep.
            let kept = match &self.previous_means {
                Some(prev) if self.nk[c] == 0.0 => Some(&prev[c * d..(c + 1) * d]),
                _ => None,
            };
            for j in 0..d {
                let step = self.s[c * d + j] / nk[c];
                means[[c, j]] = kept.map_or(shift[c * d + j] + step, |m| m[j]);
                delta[c * d + j] = step;
            }
        }
        let floor = |v: f64| match variance_floor {
            Some(f) if v < f => f,
            _ => v,
        };
        // Second moment about the new mean, from moments about the shift:
        // Σ r (x−μ)(x−μ)ᵀ = M2 − s δᵀ − δ sᵀ + Σr δ δᵀ.
        let centred = |c: usize, a: usize, b: usize, m2ab: f64| {
            let (sa, sb) = (self.s[c * d + a], self.s[c * d + b]);
            let (da, db) = (delta[c * d + a], delta[c * d + b]);
            m2ab - sa * db - da * sb + self.nk[c] * da * db
        };
        let cov = match self.kind {
            CovarianceType::Full => {
                let mut cov = Array3::zeros((k, d, d));
                for c in 0..k {
                    for a in 0..d {
                        for b in a..d {
                            let v = centred(c, a, b, self.m2[c * d * d + a * d + b]) / nk[c];
                            cov[[c, a, b]] = v;
                            cov[[c, b, a]] = v;
                        }
                        cov[[c, a, a]] = floor(cov[[c, a, a]] + reg_covar);
                    }
                }
                Covariances::Full(cov)
            }
            CovarianceType::Tied => {
                let mut cov = Array2::zeros((d, d));
                for a in 0..d {
                    for b in a..d {
                        let mut v = self.m2[a * d + b];
                        for c in 0..k {
                            v += centred(c, a, b, 0.0);
                        }
                        let v = v / total;
                        cov[[a, b]] = v;
                        cov[[b, a]] = v;
                    }
                    cov[[a, a]] = floor(cov[[a, a]] + reg_covar);
                }
                Covariances::Tied(cov)
            }
            CovarianceType::Diag | CovarianceType::Spherical => {
                let mut var = Array2::zeros((k, d));
                for c in 0..k {
                    for j in 0..d {
                        var[[c, j]] = centred(c, j, j, self.m2[c * d + j]) / nk[c] + reg_covar;
                    }
                }
                if self.kind == CovarianceType::Diag {
                    Covariances::Diag(var.mapv(floor))
                } else {
                    Covariances::Spherical(Array1::from_iter(
                        (0..k).map(|c| floor(var.row(c).sum() / d as f64)),
                    ))
                }
            }
        };
        if means.iter().any(|v| !v.is_finite()) {
            return Err(GmmError::Numerical(
                "the M-step produced a non-finite mean".into(),
            ));
        }
        Ok((weights, means, cov))
    }
}

fn add(a: &mut [f64], b: &[f64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows, weights and responsibilities of a small two-component problem far from the
    /// origin.
    fn problem() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let rows = vec![
            1e6 + 0.0,
            2.0,
            1e6 + 1.0,
            3.0,
            1e6 + 0.5,
            2.5,
            1e6 + 7.0,
            -1.0,
            1e6 + 8.0,
            -2.0,
        ];
        let w = vec![1.0, 2.0, 0.5, 1.0, 1.5];
        let resp = vec![0.9, 0.1, 0.8, 0.2, 1.0, 0.0, 0.05, 0.95, 0.0, 1.0];
        (rows, w, resp)
    }

    /// The M-step equals scikit-learn's formulas computed directly (two-pass) for
    /// moments accumulated about any shift near the data (within a few spreads: a shift
    /// at the origin would cancel ε·(1e6)², which is why no kernel uses one).
    #[test]
    fn m_step_gives_the_weighted_means_and_centred_covariances_for_shifts_near_the_data() {
        let (rows, w, resp) = problem();
        let (k, d, m) = (2, 2, 5);
        for shift in [
            vec![1e6, 2.0, 1e6 + 7.0, -1.0],
            vec![1e6 + 3.0, 0.0, 1e6 + 5.0, 1.0],
        ] {
            for kind in CovarianceType::ALL {
                let mut st = SuffStats::new(kind, k, d, &shift);
                st.accumulate(&rows, Some(&w), &resp, &mut Vec::new());
                let (wt, mu, cov) = st.m_step(1e-6, None).unwrap();
                let nk: Vec<f64> = (0..k)
                    .map(|c| (0..m).map(|i| w[i] * resp[i * k + c]).sum::<f64>() + MASS_EPS)
                    .collect();
                let total: f64 = nk.iter().sum();
                let mut pooled = [[0.0; 2]; 2];
                for c in 0..k {
                    assert!((wt[c] - nk[c] / total).abs() < 1e-15);
                    let want_mu: Vec<f64> = (0..d)
                        .map(|j| {
                            (0..m)
                                .map(|i| {
                                    w[i] * resp[i * k + c]
                                        * (rows[i * d + j] - 1e6 * (j == 0) as u8 as f64)
                                })
                                .sum::<f64>()
                                / nk[c]
                                + 1e6 * (j == 0) as u8 as f64
                        })
                        .collect();
                    for j in 0..d {
                        assert!(
                            (mu[[c, j]] - want_mu[j]).abs() < 1e-9,
                            "{kind} mean {c}{j}: {} vs {}",
                            mu[[c, j]],
                            want_mu[j]
                        );
                    }
                    let mut want = [[0.0; 2]; 2];
                    for i in 0..m {
                        let r = w[i] * resp[i * k + c];
                        for a in 0..d {
                            for b in 0..d {
                                let v = r
                                    * (rows[i * d + a] - want_mu[a])
                                    * (rows[i * d + b] - want_mu[b]);
                                want[a][b] += v / nk[c];
                                pooled[a][b] += v;
                            }
                        }
                    }
                    let got = cov.component_matrix(c, d);
                    let expect = |a: usize, b: usize| -> f64 {
                        let reg = if a == b { 1e-6 } else { 0.0 };
                        match kind {
                            CovarianceType::Full => want[a][b] + reg,
                            CovarianceType::Tied => f64::NAN, // checked below
                            CovarianceType::Diag => {
                                if a == b {
                                    want[a][a] + reg
                                } else {
                                    0.0
                                }
                            }
                            CovarianceType::Spherical => {
                                if a == b {
                                    (want[0][0] + want[1][1]) / 2.0 + reg
                                } else {
                                    0.0
                                }
                            }
                        }
                    };
                    if kind != CovarianceType::Tied {
                        for a in 0..d {
                            for b in 0..d {
                                assert!(
                                    (got[a * d + b] - expect(a, b)).abs() < 1e-9,
                                    "{kind} cov {c}[{a},{b}]: {} vs {}",
                                    got[a * d + b],
                                    expect(a, b)
                                );
                            }
                        }
                    }
                }
                if kind == CovarianceType::Tied {
                    let got = cov.component_matrix(0, d);
                    for a in 0..d {
                        for b in 0..d {
                            let want = pooled[a][b] / total + if a == b { 1e-6 } else { 0.0 };
                            assert!(
                                (got[a * d + b] - want).abs() < 1e-9,
                                "tied [{a},{b}]: {} vs {want}",
                                got[a * d + b]
                            );
                        }
                    }
                }
            }
        }
    }

    /// A component without mass keeps its mean (its shift); the variance floor clamps;
    /// merging two halves equals accumulating everything.
    #[test]
    fn empty_components_floors_and_merges() {
        let (rows, w, mut resp) = problem();
        for i in 0..5 {
            resp[i * 2] = 1.0;
            resp[i * 2 + 1] = 0.0;
        }
        let shift = vec![0.0, 0.0, 42.0, -7.0];
        let mut st = SuffStats::new(CovarianceType::Diag, 2, 2, &shift);
        st.accumulate(&rows, Some(&w), &resp, &mut Vec::new());
        let (wt, mu, cov) = st.m_step(0.0, Some(0.25)).unwrap();
        assert_eq!((mu[[1, 0]], mu[[1, 1]]), (42.0, -7.0));
        assert!(wt[1] < 1e-15);
        // The empty component's variances are 0 before the floor.
        let c = cov.component_matrix(1, 2);
        assert_eq!((c[0], c[3]), (0.25, 0.25));
        let mut a = SuffStats::new(CovarianceType::Diag, 2, 2, &shift);
        a.accumulate(&rows[..4], Some(&w[..2]), &resp[..4], &mut Vec::new());
        let mut b = SuffStats::new(CovarianceType::Diag, 2, 2, &shift);
        b.accumulate(&rows[4..], Some(&w[2..]), &resp[4..], &mut Vec::new());
        a.merge(&b);
        assert_eq!(a.nk, st.nk);
        assert!(a
            .m2
            .iter()
            .zip(&st.m2)
            .all(|(x, y)| (x - y).abs() <= 1e-12 * y.abs().max(1.0)));
        assert_eq!(a.wsum, st.wsum);
    }

    /// A component without any mass keeps the mean it had, whatever the shift its
    /// moments were taken about.
    #[test]
    fn a_massless_component_keeps_its_previous_mean() {
        let (rows, w, mut resp) = problem();
        for i in 0..5 {
            resp[i * 2] = 1.0;
            resp[i * 2 + 1] = 0.0;
        }
        let shift = vec![1e6, 2.0, 1e6, 2.0];
        let mut st = SuffStats::new(CovarianceType::Spherical, 2, 2, &shift);
        st.accumulate(&rows, Some(&w), &resp, &mut Vec::new());
        st.previous_means = Some(vec![1e6, 2.0, -5.0, 7.0]);
        let (_, mu, _) = st.m_step(1e-6, None).unwrap();
        assert_eq!((mu[[1, 0]], mu[[1, 1]]), (-5.0, 7.0));
        assert!((mu[[0, 0]] - 1e6).abs() < 10.0);
    }

    #[test]
    fn a_non_finite_mean_is_an_error() {
        let mut st = SuffStats::new(CovarianceType::Spherical, 1, 1, &[0.0]);
        st.nk[0] = 1.0;
        st.s[0] = f64::INFINITY;
        assert!(matches!(st.m_step(1e-6, None), Err(GmmError::Numerical(_))));
        assert!(!st.is_finite());
    }
}
