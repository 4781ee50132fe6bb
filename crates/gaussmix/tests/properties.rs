//! Properties EM must have whatever the data: monotone likelihood, normalised
//! responsibilities, lossless model files, and recoverability from its own samples.

use gaussmix::{CovarianceType, Covariances, GaussianMixture, Progress};
use ndarray::{Array1, Array2, Array3};
use proptest::prelude::*;

fn kind_strategy() -> impl Strategy<Value = CovarianceType> {
    prop_oneof![
        Just(CovarianceType::Full),
        Just(CovarianceType::Tied),
        Just(CovarianceType::Diag),
        Just(CovarianceType::Spherical),
    ]
}

/// A random mixture with `k` components in `d` dimensions (well-conditioned).
fn random_model(
    k: usize,
    d: usize,
    kind: CovarianceType,
    spread: f64,
    seed: u64,
) -> GaussianMixture {
    force_kernels_for_child();
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut w: Vec<f64> = (0..k).map(|_| rng.gen_range(0.5..1.5)).collect();
    let s: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v /= s);
    // A negative spread asks for well-separated means: component c sits near 8·c·|spread|.
    let means = if spread < 0.0 {
        Array2::from_shape_fn((k, d), |(c, _)| {
            8.0 * c as f64 * -spread + rng.gen_range(-1.0..1.0)
        })
    } else {
        Array2::from_shape_fn((k, d), |_| rng.gen_range(-spread..spread))
    };
    let spd = |rng: &mut rand_chacha::ChaCha8Rng| {
        let a = Array2::from_shape_fn((d, d), |_| rng.gen_range(-0.5..0.5));
        let mut m = a.dot(&a.t());
        for i in 0..d {
            m[[i, i]] += 0.5;
        }
        m
    };
    let cov = match kind {
        CovarianceType::Full => {
            let mut c = Array3::zeros((k, d, d));
            for i in 0..k {
                c.index_axis_mut(ndarray::Axis(0), i).assign(&spd(&mut rng));
            }
            Covariances::Full(c)
        }
        CovarianceType::Tied => Covariances::Tied(spd(&mut rng)),
        CovarianceType::Diag => {
            Covariances::Diag(Array2::from_shape_fn((k, d), |_| rng.gen_range(0.3..2.0)))
        }
        CovarianceType::Spherical => {
            Covariances::Spherical(Array1::from_shape_fn(k, |_| rng.gen_range(0.3..2.0)))
        }
    };
    GaussianMixture::from_parameters(Array1::from_vec(w), means, cov).unwrap()
}

/// How much `reg_covar` may lower the log-likelihood in one EM step: the M-step
/// maximises it without the `εI` added to each covariance, and adding it moves the
/// mean log-likelihood by `½ ε Σ_k π_k (mean_i r_ik ‖P_k (x_i − μ_k)‖² − tr P_k)` to first
/// order, which is at least `−½ ε Σ_k π_k tr P_k` (`P_k` the new precision). Twice that,
/// for the second-order terms.
fn reg_slack(model: &GaussianMixture, reg_covar: f64) -> f64 {
    let w = model.weights();
    let tr: f64 = match model.precisions() {
        gaussmix::Precisions::Full(p) => (0..w.len())
            .map(|c| w[c] * (0..p.dim().1).map(|j| p[[c, j, j]]).sum::<f64>())
            .sum(),
        gaussmix::Precisions::Tied(p) => (0..p.nrows()).map(|j| p[[j, j]]).sum(),
        gaussmix::Precisions::Diag(p) => (0..w.len()).map(|c| w[c] * p.row(c).sum()).sum(),
        gaussmix::Precisions::Spherical(p) => {
            let d = model.n_features() as f64;
            (0..w.len()).map(|c| w[c] * d * p[c]).sum()
        }
    };
    reg_covar * tr
}

/// Fits `k` components (the default start, then 40 EM iterations one at a time, tol 0)
/// and checks that every fit succeeds and that the lower bound never decreases by more
/// than rounding and what `reg_covar` can take away (`reg_slack`, from each step's new
/// parameters). Continuous data with at least `k` distinct rows always has a fit:
/// reg_covar keeps every covariance positive definite, so an error here is a bug, not
/// bad luck.
fn monotone_fit(
    x: &Array2<f64>,
    k: usize,
    kind: CovarianceType,
    seed: u64,
    f32_data: bool,
) -> Result<(), TestCaseError> {
    force_kernels_for_child();
    let (n, d) = x.dim();
    let opts = GaussianMixture::params(k.min(n))
        .covariance_type(kind)
        .tol(0.0)
        .max_iter(1)
        .seed(seed);
    let reg_covar = opts.reg_covar;
    let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let fit = |o: &gaussmix::GmmOptions| {
        if f32_data {
            o.fit(&gaussmix::Data::from_slice_f32(&x32, n, d).unwrap())
        } else {
            o.fit(x)
        }
    };
    let fail =
        |e: gaussmix::GmmError| TestCaseError::fail(format!("{kind} n={n} d={d} k={k}: {e}"));
    // The start and its first iteration, then one iteration per fit from the last model:
    // lower bound t is the log-likelihood of model t, whose parameters bound step t.
    let mut model = fit(&opts).map_err(fail)?;
    let mut lb = vec![model.lower_bound().unwrap_or(f64::NEG_INFINITY)];
    let mut slack_of_step = Vec::new();
    for _ in 1..40 {
        slack_of_step.push(reg_slack(&model, reg_covar));
        model = fit(&opts.clone().warm_start(&model)).map_err(fail)?;
        lb.push(model.lower_bound().unwrap_or(f64::NEG_INFINITY));
    }
    prop_assert_eq!(lb.len(), 40);
    // Rounding (f32: its rounding of the responsibilities too).
    let rounding = if f32_data { 1e-5 } else { 1e-9 };
    for (t, w) in lb.windows(2).enumerate() {
        let slack = rounding * (1.0 + w[0].abs()) + slack_of_step[t];
        prop_assert!(
            w[1] >= w[0] - slack,
            "{kind} f32 {f32_data} d={d} k={k}: {} then {} (step {t}, slack {slack:e})",
            w[0],
            w[1]
        );
    }
    // Responsibilities of the fitted model sum to one on every row.
    let p = model.predict_proba(&x).unwrap();
    for row in p.rows() {
        prop_assert!((row.sum() - 1.0).abs() < 1e-12);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn em_never_decreases_the_likelihood(
        k in 1usize..4, d in 1usize..4, n in 30usize..120, kind in kind_strategy(), seed in 0u64..1000,
    ) {
        let truth = random_model(k, d, kind, 3.0, seed);
        let (x, _) = truth.sample(n, seed).unwrap();
        monotone_fit(&x, k + 1, kind, seed, false)?;
    }

    #[test]
    fn responsibilities_sum_to_one(
        k in 1usize..5, d in 1usize..4, kind in kind_strategy(), seed in 0u64..1000, far in 0.0f64..50.0,
    ) {
        let model = random_model(k, d, kind, 4.0, seed);
        let (mut x, _) = model.sample(60, seed + 1).unwrap();
        // Push some rows far away, where densities underflow without log space.
        for i in 0..10 { x[[i, 0]] += far * 10.0; }
        let p = model.predict_proba(&x).unwrap();
        for row in p.rows() {
            prop_assert!((row.sum() - 1.0).abs() < 1e-12);
            prop_assert!(row.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        let s = model.score_samples(&x).unwrap();
        prop_assert!(s.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn model_json_round_trips_exactly(
        k in 1usize..5, d in 1usize..5, kind in kind_strategy(), seed in 0u64..10_000, spread in 0.001f64..1e6,
    ) {
        let model = random_model(k, d, kind, spread, seed);
        let back = GaussianMixture::from_json(&model.to_json()).unwrap();
        prop_assert_eq!(&back, &model);
        let (x, _) = model.sample(20, 1).unwrap();
        let fitted = GaussianMixture::params(1).covariance_type(kind).fit(&x).unwrap();
        let back = GaussianMixture::from_json(&fitted.to_json()).unwrap();
        prop_assert_eq!(back, fitted);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Dimensions and component counts where the product kernels (D ≥ 5), several
    /// product groups (separated means) and, for f32 full covariances, the anchored
    /// kernel (K ≥ 16, D ≥ 14) run; `every_kernel_keeps_the_properties` re-runs this
    /// with each kernel forced.
    #[test]
    fn larger_problems_are_monotone_in_f64_and_f32(
        k in 2usize..=40, d in 5usize..=24, kind in kind_strategy(), seed in 0u64..1000, separated in any::<bool>(),
    ) {
        let truth = random_model(k, d, kind, if separated { -3.0 } else { 3.0 }, seed);
        // Enough rows per component (10·D + 40) that no covariance nears reg_covar,
        // where regularised EM is only nearly monotone.
        let (x, _) = truth.sample(k * (10 * d + 40), seed).unwrap();
        monotone_fit(&x, k, kind, seed, false)?;
        monotone_fit(&x, k, kind, seed, true)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn sample_then_refit_recovers_the_mixture(
        k in 1usize..4, d in 1usize..4, kind in kind_strategy(), seed in 0u64..1000,
    ) {
        let truth = random_model(k, d, kind, -1.0, seed);
        let (x, _) = truth.sample(4000, seed).unwrap();
        let fit = GaussianMixture::params(k)
            .covariance_type(kind)
            .n_init(3)
            .seed(seed)
            .tol(1e-6)
            .max_iter(300)
            .fit(&x).unwrap();
        // Match each true component with the nearest fitted mean.
        for c in 0..k {
            let mu = truth.means().row(c).to_owned();
            let (best, dist) = (0..k)
                .map(|j| (j, (&fit.means().row(j) - &mu).mapv(|v| v * v).sum().sqrt()))
                .min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
            // Means within a few standard errors; weights within a few points.
            prop_assert!(dist < 0.3, "component {c}: mean off by {dist}");
            prop_assert!((fit.weights()[best] - truth.weights()[c]).abs() < 0.05);
        }
        let ll_truth = truth.score(&x).unwrap();
        let ll_fit = fit.score(&x).unwrap();
        prop_assert!(ll_fit >= ll_truth - 1e-3, "fit {ll_fit} below truth {ll_truth}");
    }
}

#[test]
fn restarts_keep_the_best_run_and_start_differently() {
    let truth = random_model(4, 2, CovarianceType::Full, 4.0, 7);
    let (x, _) = truth.sample(600, 3).unwrap();
    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); 6];
    let mut record = |p: &Progress| runs[p.run].push(p.lower_bound);
    let opts = GaussianMixture::params(4)
        .n_init(6)
        .init(gaussmix::InitMethod::Random)
        .seed(11);
    let data = gaussmix::Data::from_view(x.view()).unwrap();
    let model = opts.fit_with_progress(&data, &mut record).unwrap();
    let firsts: Vec<f64> = runs.iter().map(|r| r[0]).collect();
    for i in 0..firsts.len() {
        for j in 0..i {
            assert_ne!(
                firsts[i], firsts[j],
                "restarts {i} and {j} started from the same point"
            );
        }
    }
    let finals: Vec<f64> = runs.iter().map(|r| *r.last().unwrap()).collect();
    let best = finals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let rec = model.fit_record().unwrap();
    assert_eq!(rec.lower_bound, best);
    assert_eq!(finals[rec.best_init], best);
    // A single run with the same seed reproduces restart 0.
    let single = GaussianMixture::params(4)
        .init(gaussmix::InitMethod::Random)
        .seed(11)
        .fit(&x)
        .unwrap();
    assert_eq!(single.fit_record().unwrap().lower_bounds, runs[0]);
}

#[test]
fn integer_weights_equal_repeated_rows() {
    let truth = random_model(3, 2, CovarianceType::Full, 3.0, 5);
    let (x, _) = truth.sample(90, 9).unwrap();
    let reps: Vec<usize> = (0..90).map(|i| i % 4).collect(); // 0..3 copies, zeros included
    let weights: Vec<f64> = reps.iter().map(|r| *r as f64).collect();
    let mut rows = Vec::new();
    for (i, r) in reps.iter().enumerate() {
        for _ in 0..*r {
            rows.extend(x.row(i).iter().copied());
        }
    }
    let xr = Array2::from_shape_vec((rows.len() / 2, 2), rows).unwrap();
    for kind in CovarianceType::ALL {
        let start = random_model(3, 2, kind, 3.0, 99);
        let opts = GaussianMixture::params(3)
            .warm_start(&start)
            .tol(1e-10)
            .max_iter(200);
        let data = gaussmix::Data::from_view(x.view())
            .unwrap()
            .with_weights(&weights)
            .unwrap();
        let a = opts.fit(&data).unwrap();
        let b = opts.fit(&xr).unwrap();
        let (ra, rb) = (a.fit_record().unwrap(), b.fit_record().unwrap());
        assert_eq!(ra.n_iter, rb.n_iter, "{kind}");
        let close = |p: &[f64], q: &[f64]| {
            p.iter()
                .zip(q)
                .all(|(u, v)| (u - v).abs() <= 1e-9 * (1.0 + v.abs()))
        };
        assert!(
            close(a.means().as_slice().unwrap(), b.means().as_slice().unwrap()),
            "{kind} means"
        );
        assert!(
            close(
                a.weights().as_slice().unwrap(),
                b.weights().as_slice().unwrap()
            ),
            "{kind} weights"
        );
        let (ca, cb) = (a.covariances().to_array(), b.covariances().to_array());
        assert!(
            close(ca.as_slice().unwrap(), cb.as_slice().unwrap()),
            "{kind} covariances"
        );
        assert!((ra.bic - rb.bic).abs() < 1e-7 * rb.bic.abs(), "{kind} bic");
    }
}

/// The property tests on larger problems with each kernel forced (`kernel-override`
/// feature, child processes of this binary): products everywhere, the fused loops
/// everywhere, the anchored f32 kernel for every f32 full fit, the portable row loops.
#[test]
fn every_kernel_keeps_the_properties() {
    for (var, value) in [
        (CHILD_KERNELS, "kernel=gemm"),
        (CHILD_KERNELS, "kernel=fused"),
        (CHILD_KERNELS, "f32-full=anchored"),
        (CHILD_KERNELS, "simd=portable"),
    ] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(var, value)
            .args(["larger_problems", "em_never_decreases"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("2 passed"),
            "{var}={value}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The variable the forced-kernel test passes a kernel spec to its children in.
const CHILD_KERNELS: &str = "GAUSSMIX_TEST_KERNELS";

/// In a child run by `every_kernel_keeps_the_properties`: force its kernels (test
/// plumbing; the library is forced only through `gaussmix::force_kernels`).
fn force_kernels_for_child() {
    if let Ok(spec) = std::env::var(CHILD_KERNELS) {
        gaussmix::force_kernels(&spec).expect("forced kernels before the first fit");
    }
}
