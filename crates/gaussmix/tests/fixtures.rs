//! Every reference case of `../shared/fixtures`, through the public API only: one EM
//! step, the full fit, and the fitted model's per-sample outputs.

mod common;

use common::*;
use gaussmix::{Covariances, Data, GaussianMixture, GmmOptions, Precisions, StartParameters};

const RTOL: f64 = 1e-9;

fn options(case: &Case, use_precisions: bool) -> GmmOptions {
    common::force_kernels_for_child();
    let j = &case.json;
    let k = j["n_components"].as_u64().unwrap() as usize;
    let d = j["n_features"].as_u64().unwrap() as usize;
    let t = kind(case);
    let init = &j["init"];
    let mut start = StartParameters {
        weights: Some(vec1(&init["weights"])),
        means: Some(mat(&init["means"], k, d)),
        ..Default::default()
    };
    if use_precisions {
        start.precisions = Some(match covs(t, &init["precisions"], k, d) {
            Covariances::Full(a) => Precisions::Full(a),
            Covariances::Tied(a) => Precisions::Tied(a),
            Covariances::Diag(a) => Precisions::Diag(a),
            Covariances::Spherical(a) => Precisions::Spherical(a),
        });
    } else {
        start.covariances = Some(covs(t, &init["covariances"], k, d));
    }
    GaussianMixture::params(k)
        .covariance_type(t)
        .tol(j["tol"].as_f64().unwrap())
        .max_iter(j["max_iter"].as_u64().unwrap() as usize)
        .reg_covar(j["reg_covar"].as_f64().unwrap())
        .start(start)
}

fn check_params(case: &Case, model: &GaussianMixture, expect: &serde_json::Value, stage: &str) {
    let name = &case.name;
    assert_close(
        &format!("{name} {stage} weights"),
        model.weights().as_slice().unwrap(),
        &flat(&expect["weights"]),
        RTOL,
    );
    assert_close(
        &format!("{name} {stage} means"),
        &model.means().iter().copied().collect::<Vec<_>>(),
        &flat(&expect["means"]),
        RTOL,
    );
    assert_close(
        &format!("{name} {stage} covariances"),
        &model
            .covariances()
            .to_array()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        &flat(&expect["covariances"]),
        RTOL,
    );
}

#[test]
fn one_step_matches_every_case() {
    for name in CASES {
        let case = load(name);
        let data = Data::from_view(case.x.view()).unwrap();
        let (model, l1) = options(&case, false).one_step(&data).unwrap();
        let one = &case.json["one_step"];
        check_params(&case, &model, one, "one_step");
        assert_close(
            &format!("{name} one_step mean log-likelihood"),
            &[l1],
            &[one["mean_log_likelihood_at_init"].as_f64().unwrap()],
            1e-12,
        );
    }
}

fn check_fit(case: &Case, model: &GaussianMixture) {
    let name = &case.name;
    let f = &case.json["fit"];
    check_params(case, model, f, "fit");
    let rec = model.fit_record().expect("a fitted model has a record");
    assert_eq!(
        rec.n_iter as u64,
        f["n_iter"].as_u64().unwrap(),
        "{name} n_iter"
    );
    assert_eq!(
        rec.converged,
        f["converged"].as_bool().unwrap(),
        "{name} converged"
    );
    assert_eq!(
        rec.n_parameters as u64,
        f["n_parameters"].as_u64().unwrap(),
        "{name} n_parameters"
    );
    assert_eq!(model.n_parameters(), rec.n_parameters);
    assert_close(
        &format!("{name} lower_bound"),
        &[rec.lower_bound],
        &[f["lower_bound"].as_f64().unwrap()],
        1e-10,
    );
    assert_close(
        &format!("{name} lower_bounds"),
        &rec.lower_bounds,
        &flat(&f["lower_bounds"]),
        1e-10,
    );
    assert_close(
        &format!("{name} score"),
        &[rec.score],
        &[f["score"].as_f64().unwrap()],
        1e-10,
    );
    assert_close(
        &format!("{name} bic"),
        &[rec.bic],
        &[f["bic"].as_f64().unwrap()],
        1e-10,
    );
    assert_close(
        &format!("{name} aic"),
        &[rec.aic],
        &[f["aic"].as_f64().unwrap()],
        1e-10,
    );

    let x = case.x.view();
    assert_close(
        &format!("{name} score()"),
        &[model.score(&x).unwrap()],
        &[f["score"].as_f64().unwrap()],
        1e-10,
    );
    assert_close(
        &format!("{name} bic()"),
        &[model.bic(&x).unwrap()],
        &[f["bic"].as_f64().unwrap()],
        1e-10,
    );
    assert_close(
        &format!("{name} aic()"),
        &[model.aic(&x).unwrap()],
        &[f["aic"].as_f64().unwrap()],
        1e-10,
    );
    assert_close(
        &format!("{name} score_samples"),
        model.score_samples(&x).unwrap().as_slice().unwrap(),
        &flat(&case.json["score_samples"]),
        1e-10,
    );
    let proba = model.predict_proba(&x).unwrap();
    let want = flat(&case.json["predict_proba"]);
    let k = model.n_components();
    let got: Vec<f64> = proba.iter().take(want.len()).copied().collect();
    assert_eq!(want.len() % k, 0);
    assert_close(&format!("{name} predict_proba"), &got, &want, 1e-9);
    let labels: Vec<u64> = model
        .predict(&x)
        .unwrap()
        .iter()
        .map(|v| *v as u64)
        .collect();
    let want: Vec<u64> = case.json["predict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(labels, want, "{name} predict");
}

#[test]
fn full_fit_matches_every_case() {
    for name in CASES {
        let case = load(name);
        let model = options(&case, false).fit(&case.x).unwrap();
        check_fit(&case, &model);
    }
}

#[test]
fn starting_from_precisions_gives_the_same_fit() {
    for name in CASES {
        let case = load(name);
        let model = options(&case, true).fit(&case.x).unwrap();
        check_fit(&case, &model);
    }
}

#[test]
fn fixture_fits_are_identical_for_one_and_two_threads() {
    for name in ["synthetic_5000x5_full", "iris_tied", "iris_diag"] {
        let case = load(name);
        let mut o = options(&case, false);
        o.n_threads = Some(1);
        let a = o.fit(&case.x).unwrap();
        o.n_threads = Some(2);
        let b = o.fit(&case.x).unwrap();
        let strip = |m: &GaussianMixture| {
            let mut v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
            v["fit"]["options"]["n_threads"] = serde_json::Value::Null;
            v.to_string()
        };
        // Bit-identical: the JSON holds every float in round-trip form.
        assert_eq!(strip(&a), strip(&b), "{name}: 1 vs 2 threads differ");
    }
}

/// Every fixture through each kernel family (products and fused loops), whatever the
/// default choice for its dimension: the test re-runs this binary's fixture tests with
/// the kernel family forced.
#[test]
fn both_kernel_families_reproduce_every_fixture() {
    for kernel in ["gemm", "fused"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(common::CHILD_KERNELS, format!("kernel={kernel}"))
            .args(["--test-threads", "1", "matches_every_case", "same_fit"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "kernel={kernel}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("3 passed"), "kernel={kernel} ran: {text}");
    }
}

/// Every fixture with the AVX2 row loops and with the portable ones
/// (`simd=avx2|portable` forced, `kernel-override` feature), which an AVX-512 machine
/// would otherwise never run: the test re-runs this binary's fixture tests.
#[test]
fn avx2_and_portable_paths_reproduce_every_fixture() {
    for simd in ["avx2", "portable"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(common::CHILD_KERNELS, format!("simd={simd}"))
            .args(["--test-threads", "1", "matches_every_case", "same_fit"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("3 passed"),
            "simd={simd}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// An ordinary fit has no warnings: every reference case with its own start (iris_diag
/// stops at max_iter on purpose: only that), and the same data with the default start
/// (k-means++) and options.
#[test]
fn ordinary_fits_have_no_warnings() {
    for name in CASES {
        let case = load(name);
        let model = options(&case, false).fit(&case.x).unwrap();
        let w = &model.fit_record().unwrap().warnings;
        let kinds: Vec<_> = w.iter().map(|w| w.kind).collect();
        if case.json["fit"]["converged"] == false {
            assert_eq!(
                kinds,
                [gaussmix::WarningKind::NotConverged],
                "{name}: {w:#?}"
            );
        } else {
            assert!(w.is_empty(), "{name}: {w:#?}");
        }
        let k = case.json["n_components"].as_u64().unwrap() as usize;
        let model = GaussianMixture::params(k)
            .covariance_type(kind(&case))
            .fit(&case.x)
            .unwrap();
        let w = &model.fit_record().unwrap().warnings;
        assert!(w.is_empty(), "{name} (default start): {w:#?}");
    }
}
