//! Independent f64 reference computations for checking fitted mixtures: two-pass
//! (centred) means and covariances, the moment identities every EM M-step satisfies,
//! and the log-likelihood of a model computed directly with a Cholesky factor.
//!
//! Only `std`: the gaussmix-cli tests include this file too (`#[path]`), so it works on
//! flat row-major slices instead of the library's types.
#![allow(dead_code)]

/// f64 machine epsilon.
const EPS: f64 = f64::EPSILON;

/// A covariance type, spelled as in the model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Full,
    Tied,
    Diag,
    Spherical,
}

impl Kind {
    pub fn parse(s: &str) -> Kind {
        match s {
            "full" => Kind::Full,
            "tied" => Kind::Tied,
            "diag" => Kind::Diag,
            "spherical" => Kind::Spherical,
            other => panic!("unknown covariance type {other:?}"),
        }
    }
}

/// A fitted mixture as flat row-major arrays: `means` is `k×d`; `cov` is `k×d×d`
/// (full), `d×d` (tied), `k×d` (diag) or `k` (spherical).
#[derive(Clone, Debug)]
pub struct Mixture {
    pub kind: Kind,
    pub k: usize,
    pub d: usize,
    pub weights: Vec<f64>,
    pub means: Vec<f64>,
    pub cov: Vec<f64>,
}

impl Mixture {
    pub fn new(kind: Kind, weights: Vec<f64>, means: Vec<f64>, cov: Vec<f64>) -> Mixture {
        let k = weights.len();
        assert!(
            k > 0 && means.len().is_multiple_of(k),
            "means do not fit {k} weights"
        );
        let d = means.len() / k;
        let want = match kind {
            Kind::Full => k * d * d,
            Kind::Tied => d * d,
            Kind::Diag => k * d,
            Kind::Spherical => k,
        };
        assert_eq!(cov.len(), want, "{kind:?} covariances for k = {k}, d = {d}");
        Mixture {
            kind,
            k,
            d,
            weights,
            means,
            cov,
        }
    }

    pub fn mean(&self, c: usize) -> &[f64] {
        &self.means[c * self.d..(c + 1) * self.d]
    }

    /// Component `c`'s covariance as a dense `d×d` matrix.
    pub fn cov_matrix(&self, c: usize) -> Vec<f64> {
        let d = self.d;
        let mut m = vec![0.0; d * d];
        match self.kind {
            Kind::Full => m.copy_from_slice(&self.cov[c * d * d..(c + 1) * d * d]),
            Kind::Tied => m.copy_from_slice(&self.cov),
            Kind::Diag => (0..d).for_each(|j| m[j * d + j] = self.cov[c * d + j]),
            Kind::Spherical => (0..d).for_each(|j| m[j * d + j] = self.cov[c]),
        }
        m
    }
}

/// Count, mean and biased covariance (`d×d`) of some rows, computed in two passes:
/// the mean first, then the centred products.
pub struct Moments {
    pub count: usize,
    pub mean: Vec<f64>,
    pub cov: Vec<f64>,
}

pub fn moments(x: &[f64], d: usize, rows: &[usize]) -> Moments {
    assert!(!rows.is_empty());
    let n = rows.len() as f64;
    // The mean as first row + mean offset from it: a sum of values near f64::MAX would
    // overflow, a sum of their differences (the spread, ≤ 1e150 in a fit) does not.
    let first = rows[0] * d;
    let mut mean = vec![0.0; d];
    for &i in rows {
        for j in 0..d {
            mean[j] += x[i * d + j] - x[first + j];
        }
    }
    (0..d).for_each(|j| mean[j] = x[first + j] + mean[j] / n);
    let mut cov = vec![0.0; d * d];
    for &i in rows {
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] += (x[i * d + a] - mean[a]) * (x[i * d + b] - mean[b]);
            }
        }
    }
    cov.iter_mut().for_each(|v| *v /= n);
    Moments {
        count: rows.len(),
        mean,
        cov,
    }
}

/// Per-column facts the tolerances are scaled by.
pub struct Columns {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// `hi − lo`.
    pub span: Vec<f64>,
    /// Largest magnitude.
    pub mag: Vec<f64>,
}

pub fn columns(x: &[f64], d: usize) -> Columns {
    let mut lo = vec![f64::INFINITY; d];
    let mut hi = vec![f64::NEG_INFINITY; d];
    for row in x.chunks_exact(d) {
        for j in 0..d {
            lo[j] = lo[j].min(row[j]);
            hi[j] = hi[j].max(row[j]);
        }
    }
    let span = (0..d).map(|j| hi[j] - lo[j]).collect();
    let mag = (0..d).map(|j| lo[j].abs().max(hi[j].abs())).collect();
    Columns { lo, hi, span, mag }
}

/// How far a computed value may be from its reference.
///
/// A mean is compared to `rtol·span + 64ε·|x|max` of its column: `rtol` relative to the
/// column's spread (what the method may lose: cross-cluster responsibilities, f32
/// arithmetic on deviations), plus a few f64 roundings of the values themselves (a
/// mean of values near 1e9 cannot be closer than ~1e-7 to the exact one). A covariance
/// entry `(a, b)` is compared to `rtol·span_a·span_b` plus the same roundings carried
/// through one product: `64ε·(|x_a|max·span_b + |x_b|max·span_a + reg_covar)` and
/// `64ε²·|x_a|max·|x_b|max` (a mean known to `8ε·|x|max` shifts a variance by its square:
/// 3e-12 for values near 1e9).
///
/// `floor` is an absolute slack for values below the normal range of the arithmetic
/// used (f32 products: 64 × f32::MIN_POSITIVE; f64: 0).
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub rtol: f64,
    pub floor: f64,
}

impl Tol {
    pub fn f64(rtol: f64) -> Tol {
        Tol { rtol, floor: 0.0 }
    }
    pub fn f32(rtol: f64) -> Tol {
        Tol {
            rtol,
            floor: 64.0 * f32::MIN_POSITIVE as f64,
        }
    }
    pub fn mean(&self, c: &Columns, j: usize) -> f64 {
        self.rtol * c.span[j] + 64.0 * EPS * c.mag[j] + self.floor
    }
    pub fn cov(&self, c: &Columns, a: usize, b: usize, reg: f64) -> f64 {
        self.floor * (c.span[a] + c.span[b] + self.floor)
            + self.rtol * c.span[a] * c.span[b]
            + 64.0 * EPS * (c.mag[a] * c.span[b] + c.mag[b] * c.span[a] + reg)
            + 64.0 * EPS * EPS * c.mag[a] * c.mag[b]
    }
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e} (difference {:e} > tolerance {tol:e})",
        (got - want).abs()
    );
}

/// What every fit must satisfy whatever the data: finite numbers, weights that sum to 1,
/// means inside the data's per-column range, and variances between `reg_covar` and
/// `span²/4 + reg_covar` (a weighted variance of values in `[lo, hi]` is at most
/// `(hi − lo)²/4`), each up to `tol`.
pub fn check_basic(what: &str, m: &Mixture, x: &[f64], reg: f64, tol: Tol) {
    let c = columns(x, m.d);
    assert!(
        m.weights.iter().all(|w| w.is_finite() && *w >= 0.0),
        "{what}: weights {:?}",
        m.weights
    );
    assert!(
        m.means.iter().chain(&m.cov).all(|v| v.is_finite()),
        "{what}: non-finite parameter: means {:?} covariances {:?}",
        m.means,
        m.cov
    );
    let total: f64 = m.weights.iter().sum();
    close(&format!("{what}: sum of weights"), total, 1.0, 1e-12);
    for comp in 0..m.k {
        for j in 0..m.d {
            let (v, t) = (m.mean(comp)[j], tol.mean(&c, j));
            assert!(
                v >= c.lo[j] - t && v <= c.hi[j] + t,
                "{what}: mean of component {comp}, column {j} is {v:e}, outside the data's [{:e}, {:e}] (± {t:e})",
                c.lo[j],
                c.hi[j]
            );
        }
        let s = m.cov_matrix(comp);
        for j in 0..m.d {
            let v = s[j * m.d + j];
            // A spherical variance is the mean of the per-column ones.
            let (t, top) = match m.kind {
                Kind::Spherical => (
                    (0..m.d).map(|i| tol.cov(&c, i, i, reg)).sum::<f64>() / m.d as f64,
                    c.span.iter().map(|s| s * s / 4.0).sum::<f64>() / m.d as f64,
                ),
                _ => (tol.cov(&c, j, j, reg), c.span[j] * c.span[j] / 4.0),
            };
            assert!(
                v >= reg - t && v <= top + reg + t,
                "{what}: variance of component {comp}, column {j} is {v:e}, outside [{reg:e}, {:e}] (± {t:e})",
                top + reg
            );
        }
    }
}

/// `Σ_c w_c (μ_c − m)(μ_c − m)ᵀ` over the components `comps`.
fn between(m: &Mixture, comps: &[usize], centre: &[f64]) -> Vec<f64> {
    let d = m.d;
    let mut b = vec![0.0; d * d];
    for &c in comps {
        let mu = m.mean(c);
        for p in 0..d {
            for q in 0..d {
                b[p * d + q] += m.weights[c] * (mu[p] - centre[p]) * (mu[q] - centre[q]);
            }
        }
    }
    b
}

/// `Σ_c w_c (Σ_c − reg·I)` over `comps` (full, diag, spherical).
fn within(m: &Mixture, comps: &[usize], reg: f64) -> Vec<f64> {
    let d = m.d;
    let mut w = vec![0.0; d * d];
    for &c in comps {
        let s = m.cov_matrix(c);
        for p in 0..d {
            for q in 0..d {
                let v = s[p * d + q] - if p == q { reg } else { 0.0 };
                w[p * d + q] += m.weights[c] * v;
            }
        }
    }
    w
}

/// Compares the model's within-component scatter `w` (a `d×d` matrix; only its diagonal
/// for diag, only its trace for spherical) to the reference `want`.
#[allow(clippy::too_many_arguments)]
fn compare_scatter(
    what: &str,
    kind: Kind,
    got: &[f64],
    want: &[f64],
    cols: &Columns,
    d: usize,
    reg: f64,
    tol: Tol,
) {
    match kind {
        Kind::Full | Kind::Tied => {
            for a in 0..d {
                for b in 0..d {
                    close(
                        &format!("{what}: covariance [{a}, {b}]"),
                        got[a * d + b],
                        want[a * d + b],
                        tol.cov(cols, a, b, reg),
                    );
                }
            }
        }
        Kind::Diag => {
            for j in 0..d {
                close(
                    &format!("{what}: variance [{j}]"),
                    got[j * d + j],
                    want[j * d + j],
                    tol.cov(cols, j, j, reg),
                );
            }
        }
        Kind::Spherical => {
            let g: f64 = (0..d).map(|j| got[j * d + j]).sum();
            let w: f64 = (0..d).map(|j| want[j * d + j]).sum();
            let t: f64 = (0..d).map(|j| tol.cov(cols, j, j, reg)).sum();
            close(&format!("{what}: total variance"), g, w, t);
        }
    }
}

/// The identities every M-step output satisfies, whatever the responsibilities were
/// (each row's responsibilities sum to 1), checked against a two-pass computation:
/// `Σ w_c μ_c = x̄` and, by the law of total covariance,
/// `Σ w_c (Σ_c − reg·I) + Σ w_c (μ_c − x̄)(μ_c − x̄)ᵀ = S` (full; the shared matrix for
/// tied; the diagonal for diag; the trace, with `Σ_c = σ²_c·I`, for spherical). For one
/// component this is the data's own mean and `S + reg·I`.
pub fn check_total_moments(what: &str, m: &Mixture, x: &[f64], reg: f64, tol: Tol) {
    let d = m.d;
    let n = x.len() / d;
    let rows: Vec<usize> = (0..n).collect();
    let all = moments(x, d, &rows);
    let cols = columns(x, d);
    let comps: Vec<usize> = (0..m.k).collect();
    for j in 0..d {
        let got: f64 = comps.iter().map(|&c| m.weights[c] * m.mean(c)[j]).sum();
        close(
            &format!("{what}: Σ w·μ, column {j}"),
            got,
            all.mean[j],
            tol.mean(&cols, j),
        );
    }
    let mut scatter = if m.kind == Kind::Tied {
        within(&tied_as_one(m), &[0], reg)
    } else {
        within(m, &comps, reg)
    };
    let b = between(m, &comps, &all.mean);
    scatter.iter_mut().zip(&b).for_each(|(s, b)| *s += b);
    compare_scatter(
        &format!("{what}: total covariance"),
        m.kind,
        &scatter,
        &all.cov,
        &cols,
        d,
        reg,
        tol,
    );
}

/// The tied matrix as a one-component mixture of weight 1 (its within scatter).
fn tied_as_one(m: &Mixture) -> Mixture {
    Mixture::new(Kind::Tied, vec![1.0], vec![0.0; m.d], m.cov.clone())
}

/// Known generating clusters (`labels[i]` for row `i`), well separated: each component
/// belongs to the cluster whose mean is nearest to its own (distances in units of each
/// column's spread), and the components of one cluster together hold its share of the
/// rows, its mean and its covariance as computed in two passes from its rows:
/// `Σ_{c∈g} w_c = n_g/n`, `Σ_{c∈g} w_c μ_c = (n_g/n)·m_g` and the total-covariance
/// identity within the cluster (pooled over clusters for tied). A cluster with one
/// component therefore gets exactly its own mean and covariance (+ `reg_covar`).
///
/// Returns the components of each cluster.
pub fn check_clusters(
    what: &str,
    m: &Mixture,
    x: &[f64],
    labels: &[usize],
    reg: f64,
    tol: Tol,
) -> Vec<Vec<usize>> {
    let d = m.d;
    let n = x.len() / d;
    assert_eq!(labels.len(), n);
    let g_count = labels.iter().max().unwrap() + 1;
    let groups: Vec<Moments> = (0..g_count)
        .map(|g| {
            let rows: Vec<usize> = (0..n).filter(|&i| labels[i] == g).collect();
            moments(x, d, &rows)
        })
        .collect();
    let cols = columns(x, d);
    let unit: Vec<f64> = cols
        .span
        .iter()
        .map(|s| if *s > 0.0 { *s } else { 1.0 })
        .collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); g_count];
    for c in 0..m.k {
        let dist = |g: &Moments| -> f64 {
            (0..d)
                .map(|j| ((m.mean(c)[j] - g.mean[j]) / unit[j]).powi(2))
                .sum()
        };
        let best = (0..g_count)
            .min_by(|a, b| dist(&groups[*a]).total_cmp(&dist(&groups[*b])))
            .unwrap();
        members[best].push(c);
    }
    let mut pooled = vec![0.0; d * d];
    for (g, mg) in groups.iter().enumerate() {
        let comps = &members[g];
        let share = mg.count as f64 / n as f64;
        let w: f64 = comps.iter().map(|&c| m.weights[c]).sum();
        close(
            &format!("{what}: weight of cluster {g} (components {comps:?})"),
            w,
            share,
            tol.rtol.max(1e-12),
        );
        for j in 0..d {
            let got: f64 = comps
                .iter()
                .map(|&c| m.weights[c] * m.mean(c)[j])
                .sum::<f64>()
                / w;
            close(
                &format!("{what}: mean of cluster {g} (components {comps:?}), column {j}"),
                got,
                mg.mean[j],
                tol.mean(&cols, j),
            );
        }
        let b = between(m, comps, &mg.mean);
        if m.kind == Kind::Tied {
            // What the cluster adds to the pooled within-component scatter.
            for p in 0..d * d {
                pooled[p] += share * mg.cov[p] - b[p];
            }
        } else {
            let mut got = within(m, comps, reg);
            got.iter_mut()
                .zip(&b)
                .for_each(|(s, b)| *s = (*s + b) / share);
            compare_scatter(
                &format!("{what}: covariance of cluster {g} (components {comps:?})"),
                m.kind,
                &got,
                &mg.cov,
                &cols,
                d,
                reg,
                tol,
            );
        }
    }
    if m.kind == Kind::Tied {
        let got = within(&tied_as_one(m), &[0], reg);
        compare_scatter(
            &format!("{what}: tied covariance"),
            m.kind,
            &got,
            &pooled,
            &cols,
            d,
            reg,
            tol,
        );
    }
    members
}

/// Lower Cholesky factor of a symmetric `d×d` matrix, or `None` if it is not positive
/// definite in f64.
pub fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for p in 0..j {
                s -= l[i * d + p] * l[j * d + p];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// How far the score of a fit on f32 data with diag or spherical covariances may be from
/// the exact log-likelihood of its parameters: those kernels evaluate the expanded form
/// `(x−c)²/σ² − 2(x−c)(μ−c)/σ² + (μ−c)²/σ²` (about a common shift `c` inside the data's
/// range) in f32, where each term, at most `span²/σ²`, carries a rounding of `ε₃₂` of
/// its size: `2·ε₃₂·Σ_j span_j² / min σ²` bounds the half sum, with a factor 4 to spare.
pub fn f32_product_score_tol(m: &Mixture, x: &[f64]) -> f64 {
    let c = columns(x, m.d);
    let min_var = (0..m.k)
        .flat_map(|comp| {
            let s = m.cov_matrix(comp);
            (0..m.d).map(move |j| s[j * m.d + j])
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * f32::EPSILON as f64 * c.span.iter().map(|s| s * s).sum::<f64>() / min_var
}

/// Mean log-likelihood of the rows under the mixture, computed directly: a Cholesky
/// factor per component, `(x − μ)` formed in f64 for each row, log-sum-exp over
/// components. Panics if a covariance is not positive definite.
pub fn mean_log_likelihood(m: &Mixture, x: &[f64]) -> f64 {
    let d = m.d;
    let n = x.len() / d;
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    let factors: Vec<(Vec<f64>, f64)> = (0..m.k)
        .map(|c| {
            let l = cholesky(&m.cov_matrix(c), d).unwrap_or_else(|| {
                panic!(
                    "covariance of component {c} is not positive definite: {:?}",
                    m.cov_matrix(c)
                )
            });
            let log_det: f64 = (0..d).map(|i| 2.0 * l[i * d + i].ln()).sum();
            (l, log_det)
        })
        .collect();
    let mut total = 0.0;
    let mut z = vec![0.0; d];
    let mut terms = vec![0.0; m.k];
    for row in x.chunks_exact(d).take(n) {
        for c in 0..m.k {
            let (l, log_det) = &factors[c];
            let mu = m.mean(c);
            let mut q = 0.0;
            for i in 0..d {
                let mut s = row[i] - mu[i];
                for p in 0..i {
                    s -= l[i * d + p] * z[p];
                }
                z[i] = s / l[i * d + i];
                q += z[i] * z[i];
            }
            terms[c] = m.weights[c].ln() - 0.5 * (d as f64 * ln2pi + log_det + q);
        }
        let top = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        total += top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln();
    }
    total / n as f64
}
