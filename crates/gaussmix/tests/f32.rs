//! f32 data: the same fits as f64 to f32 precision, monotone EM, thread-independent.

mod common;

use common::*;
use gaussmix::{CovarianceType, Data, GaussianMixture, StartParameters};
use ndarray::Array2;

fn start_for(case: &Case, kind: CovarianceType) -> StartParameters {
    let k = case.json["n_components"].as_u64().unwrap() as usize;
    let d = case.json["n_features"].as_u64().unwrap() as usize;
    // The fixture's weights and means; covariances from one f64 M-step of that start.
    let model = GaussianMixture::params(k)
        .covariance_type(kind)
        .means_init(mat(&case.json["init"]["means"], k, d))
        .weights_init(vec1(&case.json["init"]["weights"]))
        .max_iter(1)
        .fit(&case.x)
        .unwrap();
    StartParameters::from_model(&model)
}

#[test]
fn f32_fits_match_f64_fits() {
    common::force_kernels_for_child();
    // synthetic_5000x5 (D = 5) runs the product kernels, iris (D = 4) the fused ones.
    for name in ["synthetic_5000x5_full", "iris_full", "faithful_full"] {
        let case = load(name);
        let x32: Vec<f32> = case.x.iter().map(|v| *v as f32).collect();
        let x64: Array2<f64> =
            Array2::from_shape_vec(case.x.dim(), x32.iter().map(|v| *v as f64).collect()).unwrap();
        let (n, d) = case.x.dim();
        for kind in CovarianceType::ALL {
            let start = start_for(&case, kind);
            let k = start.weights.as_ref().unwrap().len();
            let opts = GaussianMixture::params(k)
                .covariance_type(kind)
                .start(start)
                .tol(0.0)
                .max_iter(25);
            let a = opts
                .fit(&Data::from_slice_f32(&x32, n, d).unwrap())
                .unwrap();
            // The reference sees the same (f32-rounded) values in f64.
            let b = opts.fit(&x64).unwrap();
            let what = format!("{name} {kind}");
            assert_close(
                &format!("{what} weights"),
                a.weights().as_slice().unwrap(),
                b.weights().as_slice().unwrap(),
                1e-4,
            );
            assert_close(
                &format!("{what} means"),
                &a.means().iter().copied().collect::<Vec<_>>(),
                &b.means().iter().copied().collect::<Vec<_>>(),
                1e-4,
            );
            let (ca, cb) = (a.covariances().to_array(), b.covariances().to_array());
            assert_close(
                &format!("{what} covariances"),
                ca.as_slice().unwrap(),
                cb.as_slice().unwrap(),
                1e-3,
            );
            let (la, lb) = (
                a.fit_record().unwrap().lower_bound,
                b.fit_record().unwrap().lower_bound,
            );
            assert!(
                (la - lb).abs() <= 1e-5 * lb.abs(),
                "{what}: lower bound {la} vs {lb}"
            );
        }
    }
}

#[test]
fn f32_em_is_monotone_and_thread_independent() {
    common::force_kernels_for_child();
    let case = load("synthetic_5000x5_full");
    let x32: Vec<f32> = case.x.iter().map(|v| *v as f32).collect();
    let (n, d) = case.x.dim();
    let data = Data::from_slice_f32(&x32, n, d).unwrap();
    for kind in CovarianceType::ALL {
        let fit = |threads: usize| {
            GaussianMixture::params(6)
                .covariance_type(kind)
                .init(gaussmix::InitMethod::Random)
                .seed(3)
                .tol(0.0)
                .max_iter(40)
                .n_threads(threads)
                .fit(&data)
                .unwrap()
        };
        let (a, b) = (fit(1), fit(2));
        assert_eq!(a.means(), b.means(), "{kind}: 1 vs 2 threads");
        let lb = &a.fit_record().unwrap().lower_bounds;
        for w in lb.windows(2) {
            assert!(
                w[1] >= w[0] - 1e-6 * w[0].abs(),
                "{kind}: {} then {}",
                w[0],
                w[1]
            );
        }
        // Predictions on f32 data agree with predictions on the same values in f64.
        let x64: Vec<f64> = x32.iter().map(|v| *v as f64).collect();
        let p32 = a.predict(&data).unwrap();
        let p64 = a.predict(&Data::from_slice(&x64, n, d).unwrap()).unwrap();
        let differ = p32.iter().zip(&p64).filter(|(u, v)| u != v).count();
        assert!(differ <= n / 1000, "{kind}: {differ} labels differ");
    }
}

#[test]
fn f32_non_finite_values_are_located() {
    common::force_kernels_for_child();
    let x = [1.0f32, 2.0, f32::NAN, 4.0];
    match Data::from_slice_f32(&x, 2, 2) {
        Err(gaussmix::GmmError::NonFinite { row, column, .. }) => assert_eq!((row, column), (1, 0)),
        other => panic!("unexpected {other:?}"),
    }
}

/// `n` rows from `k` well-separated 16-D clusters with random, partly ill-conditioned
/// covariances (the shape of the `big-full` benchmark), as f32 values.
fn separated_clusters(n: usize, k: usize, d: usize, seed: u64) -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || {
        // Box–Muller: enough for test data.
        let (u, v): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen_range(0.0..1.0));
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let centers: Vec<f64> = (0..k * d).map(|_| 4.0 * normal()).collect();
    let maps: Vec<f64> = (0..k * d * d)
        .map(|i| {
            normal() / (d as f64).sqrt()
                + if (i % (d * d)).is_multiple_of(d + 1) {
                    0.5
                } else {
                    0.0
                }
        })
        .collect();
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        let c = (i * 7919) % k;
        let z: Vec<f64> = (0..d).map(|_| normal()).collect();
        for j in 0..d {
            let mut v = centers[c * d + j];
            for (l, zl) in z.iter().enumerate() {
                v += zl * maps[c * d * d + l * d + j];
            }
            x.push(v as f32);
        }
    }
    x
}

/// Full covariances on f32 data run in f32 (the anchored kernel). Moments about one
/// common shift lost positive definiteness in f32 on data like this; anchored at the
/// nearest means, the f32 fit follows the f64 fit of the same values.
#[test]
fn f32_full_covariance_fit_tracks_f64_on_separated_clusters() {
    common::force_kernels_for_child();
    // K = 16, D = 16: where the anchored kernel is chosen by default.
    let (n, k, d) = (24_000, 16, 16);
    let x32 = separated_clusters(n, k, d, 7);
    let x64: Vec<f64> = x32.iter().map(|v| *v as f64).collect();
    let data64 = Data::from_slice(&x64, n, d).unwrap();
    // The benchmark's start: equal weights, K rows as means, the data's covariance.
    let view = ndarray::ArrayView2::from_shape((n, d), &x64).unwrap();
    let mean = view.mean_axis(ndarray::Axis(0)).unwrap();
    let centred = &view - &mean;
    let cov = centred.t().dot(&centred) / (n as f64 - 1.0);
    let means = Array2::from_shape_fn((k, d), |(c, j)| x64[(c * 1499) * d + j]);
    let covs = ndarray::Array3::from_shape_fn((k, d, d), |(_, a, b)| cov[[a, b]]);
    let opts = GaussianMixture::params(k)
        .covariance_type(CovarianceType::Full)
        .weights_init(ndarray::Array1::from_elem(k, 1.0 / k as f64))
        .means_init(means)
        .covariances_init(gaussmix::Covariances::Full(covs))
        .tol(0.0)
        .max_iter(30);
    let a = opts
        .fit(&Data::from_slice_f32(&x32, n, d).unwrap())
        .unwrap();
    let b = opts.fit(&data64).unwrap();
    let (ra, rb) = (a.fit_record().unwrap(), b.fit_record().unwrap());
    let e32 = gaussmix::bench::em_iteration(&Data::from_slice_f32(&x32, n, d).unwrap(), &b, 1e-6)
        .unwrap();
    let e64 = gaussmix::bench::em_iteration(&data64, &b, 1e-6).unwrap();
    // The README's claim: one f32 E-step at the f64 optimum gives its log-likelihood to
    // 3e-9 (measured 6.5e-10).
    assert!(
        (e32 - e64).abs() <= 3e-9 * e64.abs(),
        "E-step at the f64 optimum: f32 {e32} vs f64 {e64}"
    );
    // Every iteration's lower bound follows f64's to 1e-8 (measured 3.8e-9).
    for (t, (la, lb)) in ra.lower_bounds.iter().zip(&rb.lower_bounds).enumerate() {
        assert!(
            (la - lb).abs() <= 1e-8 * lb.abs(),
            "iteration {}: lower bound {la} (f32) vs {lb} (f64)",
            t + 1
        );
    }
    assert_close(
        "means",
        &a.means().iter().copied().collect::<Vec<_>>(),
        &b.means().iter().copied().collect::<Vec<_>>(),
        1e-4,
    );
    let (ca, cb) = (a.covariances().to_array(), b.covariances().to_array());
    assert_close(
        "covariances",
        ca.as_slice().unwrap(),
        cb.as_slice().unwrap(),
        1e-3,
    );
}

/// A row whose squares overflow f32, given no weight (so that the f64 fit is well
/// posed): it must not poison the f32 fit, which then equals the f64 fit of the same
/// values to f32 precision. (A weighted overflowing row makes the pass redo itself in
/// f64: `em::tests`.)
#[test]
fn f32_zero_weight_row_that_overflows_is_ignored() {
    common::force_kernels_for_child();
    let (n, d) = (400, 6);
    let mut x32 = separated_clusters(n, 3, d, 3);
    x32[5 * d] = 3e19;
    let x64: Vec<f64> = x32.iter().map(|v| *v as f64).collect();
    let mut w = vec![1.0; n];
    w[5] = 0.0;
    let opts = GaussianMixture::params(3)
        .covariance_type(CovarianceType::Full)
        .means_init(Array2::from_shape_fn((3, d), |(c, j)| {
            x64[(10 + c) * d + j]
        }))
        .max_iter(20);
    let b = opts
        .fit(
            &Data::from_slice(&x64, n, d)
                .unwrap()
                .with_weights(&w)
                .unwrap(),
        )
        .unwrap();
    let a = opts
        .fit(
            &Data::from_slice_f32(&x32, n, d)
                .unwrap()
                .with_weights(&w)
                .unwrap(),
        )
        .unwrap();
    assert_close(
        "means",
        &a.means().iter().copied().collect::<Vec<_>>(),
        &b.means().iter().copied().collect::<Vec<_>>(),
        1e-6,
    );
    let (la, lb) = (
        a.fit_record().unwrap().lower_bound,
        b.fit_record().unwrap().lower_bound,
    );
    assert!((la - lb).abs() <= 1e-7 * lb.abs(), "{la} vs {lb}");
}

/// The f32 tests again in child processes: with the anchored kernel forced for every
/// full-covariance fit (`f32-full=anchored`: the small fixtures would otherwise
/// go through f64 conversion), and that with the AVX2 row loops too
/// (`simd=avx2`), which an AVX-512 machine would otherwise never run.
#[test]
fn f32_tests_pass_with_the_anchored_kernel_forced_and_on_the_avx2_paths() {
    for simd in [None, Some("avx2"), Some("portable")] {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        let spec = match simd {
            Some(s) => format!("f32-full=anchored,simd={s}"),
            None => "f32-full=anchored".to_string(),
        };
        cmd.env(common::CHILD_KERNELS, &spec).args([
            "--test-threads",
            "1",
            "f32_f",
            "f32_em",
            "f32_zero",
        ]);
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("4 passed"),
            "{spec}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// f32 data whose squares overflow f32 (values near 1e20) but whose f64 values fit: every
/// covariance type and kernel family fits it, as the f64 fit of the same values (the
/// f32 passes and predictions that overflow are redone in f64; chunks that do not
/// overflow keep f32 products, hence f32 tolerances on the predictions).
#[test]
fn f32_data_beyond_the_f32_square_range_is_never_refused() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    for d in [2usize, 6] {
        let n = 300;
        // Two clusters per column; the last column lives at 1e20 with a spread of 1e19.
        let x32: Vec<f32> = (0..n * d)
            .map(|i| {
                let (row, col) = (i / d, i % d);
                let base = if row % 2 == 0 { 0.0 } else { 6.0 };
                let v = base + rng.gen_range(-1.0..1.0);
                if col == d - 1 {
                    (1e20 + 1e19 * v) as f32
                } else {
                    v as f32
                }
            })
            .collect();
        let x64: Vec<f64> = x32.iter().map(|v| *v as f64).collect();
        for kind in CovarianceType::ALL {
            let opts = GaussianMixture::params(2).covariance_type(kind).seed(3);
            let a = opts
                .fit(&Data::from_slice_f32(&x32, n, d).unwrap())
                .unwrap_or_else(|e| panic!("{kind} d={d}: f32 refused: {e}"));
            let b = opts.fit(&Data::from_slice(&x64, n, d).unwrap()).unwrap();
            let (ra, rb) = (a.fit_record().unwrap(), b.fit_record().unwrap());
            assert_eq!(ra.n_iter, rb.n_iter, "{kind} d={d}");
            assert!(
                (ra.lower_bound - rb.lower_bound).abs() <= 1e-9 * rb.lower_bound.abs(),
                "{kind} d={d}: {} vs {}",
                ra.lower_bound,
                rb.lower_bound
            );
            assert_close(
                &format!("{kind} d={d} means"),
                &a.means().iter().copied().collect::<Vec<_>>(),
                &b.means().iter().copied().collect::<Vec<_>>(),
                1e-9,
            );
            // Predictions on the f32 data too (f32 products where nothing overflows).
            let s32 = a
                .score_samples(&Data::from_slice_f32(&x32, n, d).unwrap())
                .unwrap();
            let s64 = a
                .score_samples(&Data::from_slice(&x64, n, d).unwrap())
                .unwrap();
            for (u, v) in s32.iter().zip(&s64) {
                assert!(
                    (u - v).abs() <= 1e-6 * v.abs().max(1.0),
                    "{kind} d={d}: {u} vs {v}"
                );
            }
        }
    }
}

/// Regression (found by the CLI's `fit_on_wider_f32_data_follows_the_rules`): a diag
/// component re-seeded and collapsing onto one row 8.3 away from its product group's
/// shift had its variance cancelled by the f32 products ("not positive definite" after
/// 6 re-seeds) where the f64 fit of the same values succeeds. The f32 fit now follows the
/// f64 one.
#[test]
fn f32_collapse_far_from_the_group_shift_is_redone_in_f64() {
    let mut x = vec![0.0f32; 15];
    x[7] = 6.975_404e-5;
    x[9] = 8.337_291;
    let x64: Vec<f64> = x.iter().map(|v| *v as f64).collect();
    for kind in [CovarianceType::Diag, CovarianceType::Spherical] {
        let opts = GaussianMixture::params(3)
            .covariance_type(kind)
            .recover(true)
            .max_iter(20)
            .seed(6737714400906124877);
        let a = opts.fit(&Data::from_slice_f32(&x, 3, 5).unwrap()).unwrap();
        let b = opts.fit(&Data::from_slice(&x64, 3, 5).unwrap()).unwrap();
        for (u, v) in a.weights().iter().zip(b.weights()) {
            assert!((u - v).abs() < 1e-6, "{kind}: weights {u} vs {v}");
        }
        for (u, v) in a.means().iter().zip(b.means()) {
            assert!(
                (u - v).abs() < 1e-6 * (1.0 + v.abs()),
                "{kind}: means {u} vs {v}"
            );
        }
    }
}
