//! The kernels against a centred computation (moments about the new means, log-densities
//! of `x − μ_k`), each kernel on the same problems.

use super::products::{whitened_sq, SHIFT_RADIUS_F64};
use super::rowwise::{weighted_log_prob, Scratch};
use super::*;
use crate::covariance::Covariances;
use crate::params::Params;
use ndarray::{Array1, Array2, Array3};
use rand::{Rng, SeedableRng};

fn random_params(
    kind: CovarianceType,
    k: usize,
    d: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Params {
    let w: Vec<f64> = (0..k).map(|_| rng.gen_range(0.5..1.5)).collect();
    let s: f64 = w.iter().sum();
    let weights = Array1::from_iter(w.iter().map(|v| v / s));
    let means = Array2::from_shape_fn((k, d), |_| 1e3 + rng.gen_range(-5.0..5.0));
    let spd = |rng: &mut rand_chacha::ChaCha8Rng| {
        let a = Array2::from_shape_fn((d, d), |_| rng.gen_range(-0.5..0.5));
        let mut m = a.dot(&a.t());
        for i in 0..d {
            m[[i, i]] += 0.3;
        }
        m
    };
    let cov = match kind {
        CovarianceType::Full => {
            let mut c = Array3::zeros((k, d, d));
            for i in 0..k {
                c.index_axis_mut(ndarray::Axis(0), i).assign(&spd(rng));
            }
            Covariances::Full(c)
        }
        CovarianceType::Tied => Covariances::Tied(spd(rng)),
        CovarianceType::Diag => {
            Covariances::Diag(Array2::from_shape_fn((k, d), |_| rng.gen_range(0.2..3.0)))
        }
        CovarianceType::Spherical => {
            Covariances::Spherical(Array1::from_shape_fn(k, |_| rng.gen_range(0.2..3.0)))
        }
    };
    Params::new(weights, means, cov, 1e-6).unwrap()
}

/// Rows near the components of `p` (each near one mean, spread about 1 in every
/// coordinate), some half-way between two means.
fn rows_near(p: &Params, m: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64> {
    let (k, d) = (p.k, p.d);
    let means = p.means_flat();
    let mut rows = Vec::with_capacity(m * d);
    for i in 0..m {
        let (a, b) = (rng.gen_range(0..k), rng.gen_range(0..k));
        let t = if i % 7 == 0 { 0.5 } else { 0.0 };
        for j in 0..d {
            let mu = (1.0 - t) * means[a * d + j] + t * means[b * d + j];
            rows.push(mu + rng.gen_range(-1.5..1.5));
        }
    }
    rows
}

/// The M-step computed directly from `x − μ'_k` (means first, then moments about
/// them): independent of any shift the kernels use.
fn centred_m_step(
    kind: CovarianceType,
    p: &Params,
    rows: &[f64],
    w: &[f64],
    resp: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (k, d) = (p.k, p.d);
    let m = rows.len() / d;
    let old = p.means_flat();
    let mut means = vec![0.0; k * d];
    let mut covs = vec![0.0; k * d * d];
    let mut pooled = vec![0.0; d * d];
    let mut total = 0.0;
    for c in 0..k {
        let n: f64 = (0..m).map(|i| w[i] * resp[i * k + c]).sum::<f64>() + crate::stats::MASS_EPS;
        total += n;
        for j in 0..d {
            let s: f64 = (0..m)
                .map(|i| w[i] * resp[i * k + c] * (rows[i * d + j] - old[c * d + j]))
                .sum();
            means[c * d + j] = old[c * d + j] + s / n;
        }
        for i in 0..m {
            let r = w[i] * resp[i * k + c];
            for a in 0..d {
                for b in 0..d {
                    let v = r
                        * (rows[i * d + a] - means[c * d + a])
                        * (rows[i * d + b] - means[c * d + b]);
                    covs[c * d * d + a * d + b] += v;
                    pooled[a * d + b] += v;
                }
            }
        }
        for v in &mut covs[c * d * d..(c + 1) * d * d] {
            *v /= n;
        }
    }
    if kind == CovarianceType::Tied {
        for c in 0..k {
            for (o, v) in covs[c * d * d..(c + 1) * d * d].iter_mut().zip(&pooled) {
                *o = v / total;
            }
        }
    }
    (means, covs)
}

/// The kernels' statistics give the centred M-step's means and covariances, and
/// their log-densities the centred ones (`weighted_log_prob` works on `x − μ_k`),
/// on means far from the origin and far apart (several product groups) as well as
/// close together, in f64 to 1e-9 and through f32 products to 1e-3.
#[test]
fn gemm_kernels_match_a_centred_computation() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for kind in CovarianceType::ALL {
        for (k, d, m, sep, offset) in [
            (1, 1, 7, 0.0, 0.0),
            (3, 2, 50, 4.0, 1e3),
            (5, 3, 40, 1e5, 1e6),
            (6, 4, 19, 8.0, 0.0),
            (4, 9, 64, 1e3, 1e7),
            (7, 16, 33, 5.0, 1e3),
            (9, 12, 80, 1e6, 1e8),
            (12, 6, 120, 40.0, -1e4),
        ] {
            let mut p = random_params(kind, k, d, &mut rng);
            let means = ndarray::Array2::from_shape_fn((k, d), |(c, j)| {
                offset + sep * ((c * 7 + j * 3) % 11) as f64 + rng.gen_range(-1.0..1.0)
            });
            p = Params::new(p.weights.clone(), means, p.covariances.clone(), 1e-6).unwrap();
            let rows = rows_near(&p, m, &mut rng);
            let weights: Vec<f64> = (0..m).map(|i| (i % 3) as f64 * 0.5).collect();
            let mut reference = vec![0.0; m * k];
            weighted_log_prob(&p, &rows, &mut reference, &mut Scratch::default());
            let prep = Prepared::with_family(&p, Family::Products, false);
            let mut ws = Workspace::default();
            let mut fast = vec![0.0; m * k];
            prep.kernel().log_prob(Rows::F64(&rows), &mut fast, &mut ws);
            for (a, b) in fast.iter().zip(&reference) {
                assert!(
                    (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                    "{kind} k={k} d={d} sep={sep}: {a} vs {b}"
                );
            }
            let mut resp = reference.clone();
            let mut ln = vec![0.0; m];
            normalize_rows(&mut resp, k, &mut ln);
            let (want_mu, want_cov) = centred_m_step(kind, &p, &rows, &weights, &resp);
            let check = |st: &SuffStats, what: &str, tol: f64| {
                assert!((st.wsum - weights.iter().sum::<f64>()).abs() < 1e-12);
                let (_, mu, cov) = st.m_step(0.0, None).unwrap();
                for c in 0..k {
                    // Components without mass keep their mean; skip them.
                    if st.nk[c] < 1e-3 {
                        continue;
                    }
                    let got_cov = Covariances::component_matrix(&cov, c, d);
                    let want = &want_cov[c * d * d..(c + 1) * d * d];
                    let spread = (0..d)
                        .map(|i| want[i * d + i])
                        .sum::<f64>()
                        .sqrt()
                        .max(1e-3);
                    for j in 0..d {
                        let e = (mu[[c, j]] - want_mu[c * d + j]).abs();
                        assert!(
                            e <= tol * spread,
                            "{what} {kind} k={k} d={d} sep={sep} mean {c}: off by {e:e}"
                        );
                    }
                    let norm = want.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-3);
                    for a in 0..d {
                        // diag/spherical keep the diagonal only (spherical: its mean).
                        let (g, w) = match kind {
                            CovarianceType::Full | CovarianceType::Tied => {
                                (got_cov[a * d + a], want[a * d + a])
                            }
                            CovarianceType::Diag => (got_cov[a * d + a], want[a * d + a]),
                            CovarianceType::Spherical => (
                                got_cov[a * d + a],
                                (0..d).map(|i| want[i * d + i]).sum::<f64>() / d as f64,
                            ),
                        };
                        assert!(
                            (g - w).abs() <= tol * norm,
                            "{what} {kind} k={k} d={d} sep={sep} cov {c}[{a}]: {g} vs {w}"
                        );
                        if matches!(kind, CovarianceType::Full | CovarianceType::Tied) {
                            for b in 0..d {
                                let (g, w) = (got_cov[a * d + b], want[a * d + b]);
                                assert!((g - w).abs() <= tol * norm, "{what} {kind} k={k} d={d} sep={sep} cov {c}[{a},{b}]: {g} vs {w}");
                            }
                        }
                    }
                }
            };
            let mut st = SuffStats::new(kind, k, d, &prep.shift);
            prep.kernel()
                .accumulate(&mut st, Rows::F64(&rows), Some(&weights), &resp, &mut ws);
            check(&st, "products", 1e-9);

            // f32 rows through f32 products, against the same computation on the
            // f32-rounded rows.
            let rows32: Vec<f32> = rows.iter().map(|v| *v as f32).collect();
            let rows_of32: Vec<f64> = rows32.iter().map(|v| *v as f64).collect();
            let prep32 = Prepared::with_family(&p, Family::Products, true);
            let mut fast32 = vec![0.0; m * k];
            prep32
                .kernel()
                .log_prob(Rows::F32(&rows32), &mut fast32, &mut ws);
            let mut ref32 = vec![0.0; m * k];
            weighted_log_prob(&p, &rows_of32, &mut ref32, &mut Scratch::default());
            for (a, b) in fast32.iter().zip(&ref32) {
                assert!(
                    (a - b).abs() <= 1e-3 * (1.0 + b.abs()),
                    "f32 {kind} k={k} d={d} sep={sep}: {a} vs {b}"
                );
            }

            // The structure-of-arrays kernel for small D, against the same reference.
            if d <= small::MAX_D {
                let fused = Prepared::with_family(&p, Family::Fused, false);
                assert!(matches!(fused.choice, Choice::Small(_)));
                let mut lp = vec![0.0; m * k];
                fused.kernel().log_prob(Rows::F64(&rows), &mut lp, &mut ws);
                for (a, b) in lp.iter().zip(&reference) {
                    assert!(
                        (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                        "small {kind} d={d}: {a} vs {b}"
                    );
                }
                let mut s3 = SuffStats::new(kind, k, d, &fused.shift);
                fused.kernel().accumulate(
                    &mut s3,
                    Rows::F64(&rows),
                    Some(&weights),
                    &resp,
                    &mut ws,
                );
                check(&s3, "small", 1e-9);
            }
        }
    }
}

/// Far-apart components split into product groups (full ones: one each, direct);
/// close ones share one.
#[test]
fn components_are_grouped_by_distance_in_their_own_spread() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for kind in CovarianceType::ALL {
        let p = random_params(kind, 4, 6, &mut rng);
        assert_eq!(
            Prepared::with_family(&p, Family::Products, false).n_groups(),
            1
        );
        let far = ndarray::Array2::from_shape_fn((4, 6), |(c, _)| 1e9 * (c / 2) as f64);
        let p = Params::new(p.weights.clone(), far, p.covariances.clone(), 1e-6).unwrap();
        let prep = Prepared::with_family(&p, Family::Products, false);
        // Full components away from c₀ are each computed directly; the others share
        // a group per place.
        let want = if kind == CovarianceType::Full { 4 } else { 2 };
        assert_eq!(prep.n_groups(), want, "{kind}");
        // Each component's moments are taken about its group's shift, within the radius.
        for c in 0..4 {
            let r = whitened_sq(&p, c, &prep.shift[c * 6..(c + 1) * 6]).sqrt();
            assert!(r <= SHIFT_RADIUS_F64, "{kind} {c}: {r}");
        }
    }
}
