//! Accuracy whatever the geometry: on clusters far apart compared with their spread, and
//! on data far from the origin, every fit equals an exact centred EM (`common/centred.rs`,
//! independent of the library's kernels) from the same start.
//!
//! - f64: lower bound within 1e-9 relative, means within 1e-8 of their spread (which is
//!   stricter than 1e-8 of their norm), covariances within 1e-8 relative, weights within
//!   1e-10, the same number of iterations and the same convergence decision.
//! - f32: the exact EM run on the f32-rounded data; lower bound within 1e-5 relative,
//!   parameters within 1e-3 (relative to the spread), never a refusal.

mod common;

use common::centred::{self, RefParams};
use gaussmix::{CovarianceType, Covariances, Data, GaussianMixture};
use ndarray::{Array1, Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

const K: usize = 3;

struct Problem {
    x: Array2<f64>,
    start: RefParams,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Three correlated clusters of spread about 1 whose centres lie `sep` apart (in random
/// directions) around `offset·(1, …, 1)`; the start is the true centres moved by 0.3 in
/// every coordinate, with unit-scale covariances.
fn problem(
    kind: CovarianceType,
    d: usize,
    sep: f64,
    offset: f64,
    seed: u64,
    f32_data: bool,
) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let per = (4 * d).max(60);
    let mut centres = Vec::new();
    for _ in 0..K {
        let v: Vec<f64> = (0..d).map(|_| normal(&mut rng)).collect();
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        centres.push(
            v.iter()
                .map(|a| offset + sep * a / norm)
                .collect::<Vec<f64>>(),
        );
    }
    let mut x = Array2::zeros((K * per, d));
    for (c, centre) in centres.iter().enumerate() {
        // A random lower-triangular mixing matrix: correlated features, spread ≈ 1.
        let a: Vec<f64> = (0..d * d)
            .map(|i| {
                let (r, q) = (i / d, i % d);
                match r.cmp(&q) {
                    std::cmp::Ordering::Equal => rng.gen_range(0.5..1.5),
                    std::cmp::Ordering::Greater => 0.3 * normal(&mut rng),
                    std::cmp::Ordering::Less => 0.0,
                }
            })
            .collect();
        for i in 0..per {
            let z: Vec<f64> = (0..d).map(|_| normal(&mut rng)).collect();
            for j in 0..d {
                let v = centre[j] + (0..=j).map(|q| a[j * d + q] * z[q]).sum::<f64>();
                x[[c * per + i, j]] = if f32_data { v as f32 as f64 } else { v };
            }
        }
    }
    let means = Array2::from_shape_fn((K, d), |(c, j)| centres[c][j] + 0.3 * normal(&mut rng));
    let weights = Array1::from_vec(vec![0.3, 0.3, 0.4]);
    let covs = match kind {
        CovarianceType::Full => Covariances::Full(Array3::from_shape_fn((K, d, d), |(_, i, j)| {
            if i == j {
                1.2
            } else {
                0.0
            }
        })),
        CovarianceType::Tied => Covariances::Tied(Array2::from_shape_fn((d, d), |(i, j)| {
            if i == j {
                1.2
            } else {
                0.0
            }
        })),
        CovarianceType::Diag => Covariances::Diag(Array2::from_elem((K, d), 1.2)),
        CovarianceType::Spherical => Covariances::Spherical(Array1::from_elem(K, 1.2)),
    };
    Problem {
        start: RefParams::new(kind, &weights, &means, &covs),
        x,
    }
}

struct Tolerances {
    lower_bound: f64,
    means: f64,
    covariances: f64,
    weights: f64,
}

const F64: Tolerances = Tolerances {
    lower_bound: 1e-9,
    means: 1e-8,
    covariances: 1e-8,
    weights: 1e-10,
};
const F32: Tolerances = Tolerances {
    lower_bound: 1e-5,
    means: 1e-3,
    covariances: 1e-3,
    weights: 1e-3,
};

/// Fits `pr` with the library and the reference; returns a description of every
/// tolerance exceeded (empty when the fit is exact).
fn compare(kind: CovarianceType, pr: &Problem, f32_data: bool, tol: &Tolerances) -> Vec<String> {
    let (n, d) = pr.x.dim();
    let max_iter = 60;
    let reference = centred::fit(pr.start.clone(), &pr.x, 1e-3, max_iter, 1e-6);
    let opts = GaussianMixture::params(K)
        .covariance_type(kind)
        .max_iter(max_iter)
        .weights_init(Array1::from_vec(pr.start.weights.clone()))
        .means_init(Array2::from_shape_fn((K, d), |(c, j)| pr.start.means[c][j]))
        .covariances_init(pr.start.covariances());
    let x32: Vec<f32> = pr.x.iter().map(|v| *v as f32).collect();
    let fitted = if f32_data {
        opts.fit(&Data::from_slice_f32(&x32, n, d).unwrap())
    } else {
        opts.fit(&pr.x)
    };
    let model = match fitted {
        Ok(m) => m,
        Err(e) => return vec![format!("refused: {e}")],
    };
    let rec = model.fit_record().unwrap();
    let mut bad = Vec::new();
    if rec.n_iter != reference.lower_bounds.len() || rec.converged != reference.converged {
        bad.push(format!(
            "n_iter {} converged {} vs reference {} {}",
            rec.n_iter,
            rec.converged,
            reference.lower_bounds.len(),
            reference.converged
        ));
    }
    let lb_ref = *reference.lower_bounds.last().unwrap();
    let lb_err = (rec.lower_bound - lb_ref).abs() / lb_ref.abs().max(1.0);
    if lb_err.is_nan() || lb_err > tol.lower_bound {
        bad.push(format!(
            "lower bound {} vs {lb_ref} (rel {lb_err:.1e})",
            rec.lower_bound
        ));
    }
    let got = RefParams::new(
        kind,
        &model.weights().to_owned(),
        &model.means().to_owned(),
        model.covariances(),
    );
    let want = &reference.params;
    for c in 0..K {
        let w_err = (got.weights[c] - want.weights[c]).abs();
        if w_err.is_nan() || w_err > tol.weights {
            bad.push(format!(
                "weight {c}: {} vs {} ({w_err:.1e})",
                got.weights[c], want.weights[c]
            ));
        }
        let spread = (0..d).map(|i| want.covs[c][i * d + i]).sum::<f64>().sqrt();
        let m_err = (0..d)
            .map(|j| (got.means[c][j] - want.means[c][j]).powi(2))
            .sum::<f64>()
            .sqrt();
        if m_err.is_nan() || m_err > tol.means * spread {
            bad.push(format!(
                "mean {c}: off by {m_err:.2e} (spread {spread:.2e}, rel {:.1e})",
                m_err / spread
            ));
        }
        let c_norm = want.covs[c].iter().map(|v| v * v).sum::<f64>().sqrt();
        let c_err = got.covs[c]
            .iter()
            .zip(&want.covs[c])
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        if c_err.is_nan() || c_err > tol.covariances * c_norm {
            bad.push(format!("covariance {c}: rel {:.1e}", c_err / c_norm));
        }
    }
    bad
}

fn sweep(
    kinds: &[CovarianceType],
    dims: &[usize],
    seps: &[f64],
    offsets: &[f64],
    f32_data: bool,
    tol: &Tolerances,
) {
    common::force_kernels_for_child();
    let mut failures = Vec::new();
    let mut cases = 0;
    for &kind in kinds {
        for &d in dims {
            for &sep in seps {
                for &offset in offsets {
                    cases += 1;
                    let seed = 1000
                        + d as u64 * 31
                        + sep.log10() as u64 * 7
                        + offset.max(1.0).log10() as u64;
                    let pr = problem(kind, d, sep, offset, seed, f32_data);
                    for b in compare(kind, &pr, f32_data, tol) {
                        failures.push(format!("{kind} d={d} sep={sep:e} offset={offset:e}: {b}"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences from the exact centred EM in {cases} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const SEPARATIONS: [f64; 5] = [1.0, 1e2, 1e4, 1e6, 1e8];
const OFFSETS: [f64; 4] = [0.0, 1e3, 1e6, 1e9];

#[test]
fn full_f64_equals_the_centred_em_at_any_separation_and_offset() {
    sweep(
        &[CovarianceType::Full],
        &[2, 5, 17, 40],
        &SEPARATIONS,
        &OFFSETS,
        false,
        &F64,
    );
}

#[test]
fn tied_f64_equals_the_centred_em_at_any_separation_and_offset() {
    sweep(
        &[CovarianceType::Tied],
        &[2, 5, 17, 40],
        &SEPARATIONS,
        &OFFSETS,
        false,
        &F64,
    );
}

#[test]
fn diag_f64_equals_the_centred_em_at_any_separation_and_offset() {
    sweep(
        &[CovarianceType::Diag],
        &[2, 5, 17, 40],
        &SEPARATIONS,
        &OFFSETS,
        false,
        &F64,
    );
}

#[test]
fn spherical_f64_equals_the_centred_em_at_any_separation_and_offset() {
    sweep(
        &[CovarianceType::Spherical],
        &[2, 5, 17, 40],
        &SEPARATIONS,
        &OFFSETS,
        false,
        &F64,
    );
}

#[test]
fn f32_fits_track_the_centred_em_of_the_rounded_data() {
    sweep(
        &CovarianceType::ALL,
        &[2, 8, 17],
        &[1.0, 1e2, 1e3, 3e3, 1e4, 1e5],
        &[0.0, 1e2, 1e4],
        true,
        &F32,
    );
}

/// The same sweeps with each kernel forced (`kernel-override` feature, in child
/// processes of this binary): products at every D (`gemm`), the fused loops at every D
/// (`fused`: the scalar path above D = 4), the portable and AVX2 row loops, and the
/// anchored f32 kernel for every f32 full-covariance fit.
#[test]
fn every_kernel_is_exact_when_forced() {
    type Run<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let runs: [Run; 5] = [
        (
            &[(common::CHILD_KERNELS, "kernel=gemm")],
            "equals_the_centred_em",
            "4 passed",
        ),
        (
            &[(common::CHILD_KERNELS, "kernel=fused")],
            "equals_the_centred_em",
            "4 passed",
        ),
        (
            &[(common::CHILD_KERNELS, "simd=portable")],
            "centred_em",
            "5 passed",
        ),
        (
            &[(common::CHILD_KERNELS, "simd=avx2")],
            "centred_em",
            "5 passed",
        ),
        (
            &[(common::CHILD_KERNELS, "f32-full=anchored")],
            "track_the_centred_em",
            "1 passed",
        ),
    ];
    for (env, filter, expect) in runs {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([filter]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(expect),
            "{env:?}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
