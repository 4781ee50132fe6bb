//! Sufficient statistics of EM: accumulated per chunk, merged by addition, turned into
//! parameters by the M-step (DESIGN.md).
//!
//! Moments are taken about a per-component shift `c_k` (the current means), which keeps
//! the second moment free of the cancellation that `E[x²] − E[x]²` suffers on data far
//! from the origin.

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
            for j in 0..d {
                let step = self.s[c * d + j] / nk[c];
                means[[c, j]] = shift[c * d + j] + step;
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
