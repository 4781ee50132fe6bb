//! Online (stepwise) EM: `partial_fit` one batch at a time.
//!
//! What is checked: one batch of all rows is exactly one batch EM iteration; online EM
//! converges on a known mixture, to batch EM's optimum, for every covariance type, with
//! its per-pass log-likelihood in the record; weights count as repeated rows; the
//! thread count changes nothing; a model saved mid-stream (a checkpoint) continues
//! exactly as if it had not been saved; bad input leaves the model unchanged.

use gaussmix::{CovarianceType, Covariances, Data, GaussianMixture, GmmError, StartParameters};
use ndarray::{array, s, Array2};

/// A known 2-D mixture of three components far from the origin (so that centring
/// matters), and `n` rows drawn from it.
fn truth() -> GaussianMixture {
    let cov = ndarray::Array3::from_shape_vec(
        (3, 2, 2),
        vec![1.0, 0.3, 0.3, 0.5, 0.4, -0.1, -0.1, 0.8, 2.0, 0.0, 0.0, 0.3],
    )
    .unwrap();
    GaussianMixture::from_parameters(
        array![0.5, 0.3, 0.2],
        array![[1e4, 1e4], [1e4 + 6.0, 1e4 + 1.0], [1e4 - 3.0, 1e4 + 7.0]],
        Covariances::Full(cov),
    )
    .unwrap()
}

fn rows(n: usize, seed: u64) -> Array2<f64> {
    truth().sample(n, seed).unwrap().0
}

/// A start some way off the truth, for `kind`.
fn start(kind: CovarianceType) -> StartParameters {
    let cov = match kind {
        CovarianceType::Full => {
            Covariances::Full(ndarray::Array3::from_shape_fn((3, 2, 2), |(_, a, b)| {
                if a == b {
                    2.0
                } else {
                    0.0
                }
            }))
        }
        CovarianceType::Tied => Covariances::Tied(Array2::eye(2) * 2.0),
        CovarianceType::Diag => Covariances::Diag(Array2::from_elem((3, 2), 2.0)),
        CovarianceType::Spherical => Covariances::Spherical(array![2.0, 2.0, 2.0]),
    };
    StartParameters {
        weights: Some(array![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
        means: Some(array![
            [1e4 + 1.0, 1e4 - 1.0],
            [1e4 + 4.0, 1e4 + 2.0],
            [1e4 - 2.0, 1e4 + 5.0]
        ]),
        covariances: Some(cov),
        precisions: None,
    }
}

fn opts(kind: CovarianceType) -> gaussmix::GmmOptions {
    let mut o = GaussianMixture::params(3).covariance_type(kind);
    o.start = start(kind);
    o
}

fn close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y} (tol {tol})"
        );
    }
}

fn flat_cov(m: &GaussianMixture) -> Vec<f64> {
    m.component_covariances()
        .iter()
        .flat_map(|c| c.iter().copied().collect::<Vec<_>>())
        .collect()
}

/// The warm-up batch is one batch EM iteration from the start: same weights, means and
/// covariances (to rounding), and the batch's log-likelihood is the start's.
#[test]
fn one_batch_of_all_rows_is_one_em_iteration() {
    let x = rows(3000, 1);
    for kind in CovarianceType::ALL {
        let o = opts(kind);
        let (batch_em, l0) = o.one_step(&x).unwrap();
        let online = o.partial_fit(&x).unwrap();
        close(
            "weights",
            online.weights().as_slice().unwrap(),
            batch_em.weights().as_slice().unwrap(),
            1e-12,
        );
        close(
            "means",
            online.means().as_slice().unwrap(),
            batch_em.means().as_slice().unwrap(),
            1e-12,
        );
        close(
            "covariances",
            &flat_cov(&online),
            &flat_cov(&batch_em),
            1e-10,
        );
        let rec = online.fit_record().unwrap();
        assert!(
            (rec.score - l0).abs() < 1e-12,
            "{kind}: {} vs {l0}",
            rec.score
        );
        assert_eq!(online.online_state().unwrap().batches(), 1);
        assert_eq!(online.online_state().unwrap().updates(), 0);
    }
}

/// Three passes of batches of 2,000 over 60,000 rows reach batch EM's converged
/// log-likelihood (from the same start) within 1e-4 relative, for every covariance type,
/// and the record holds one mean log-likelihood per pass, rising.
#[test]
fn online_em_reaches_batch_em_on_a_known_mixture() {
    let x = rows(60_000, 2);
    for kind in CovarianceType::ALL {
        let o = opts(kind).tol(1e-10).max_iter(500);
        let batch = o.fit(&x).unwrap();
        let best = batch.score(&x).unwrap();
        let mut model = o.partial_fit(&x.slice(s![0..2000, ..])).unwrap();
        let mut per_pass = Vec::new();
        for pass in 0..3 {
            let first = if pass == 0 { 1 } else { 0 };
            for b in first..30 {
                model
                    .partial_fit(&x.slice(s![b * 2000..(b + 1) * 2000, ..]))
                    .unwrap();
            }
            per_pass.push(model.end_pass().unwrap());
        }
        let rec = model.fit_record().unwrap();
        assert_eq!(rec.lower_bounds, per_pass, "{kind}");
        assert_eq!((rec.n_iter, rec.n_samples), (3, 60_000), "{kind}");
        assert!(per_pass[1] > per_pass[0], "{kind}: {per_pass:?}");
        let got = model.score(&x).unwrap();
        let gap = (best - got) / best.abs();
        assert!(
            gap.abs() < 1e-4,
            "{kind}: online {got} vs batch {best} (gap {gap:e})"
        );
        // The parameters are batch EM's too, up to the noise of the last batches.
        let (mut a, mut b) = (model.means().to_owned(), batch.means().to_owned());
        for m in [&mut a, &mut b] {
            let mut r: Vec<Vec<f64>> = m.rows().into_iter().map(|r| r.to_vec()).collect();
            r.sort_by(|p, q| p[0].total_cmp(&q[0]));
            *m = Array2::from_shape_vec((3, 2), r.concat()).unwrap();
        }
        close("means", a.as_slice().unwrap(), b.as_slice().unwrap(), 1e-5);
    }
}

/// A weighted batch is the batch with each row repeated by its (integer) weight.
#[test]
fn weights_count_as_repeated_rows() {
    let x = rows(900, 3);
    let w: Vec<f64> = (0..900).map(|i| (i % 3) as f64 + 1.0).collect();
    let mut repeated = Vec::new();
    for (i, r) in x.rows().into_iter().enumerate() {
        for _ in 0..w[i] as usize {
            repeated.extend(r.iter().copied());
        }
    }
    let repeated = Array2::from_shape_vec((repeated.len() / 2, 2), repeated).unwrap();
    for kind in CovarianceType::ALL {
        let o = opts(kind);
        let xs = x.as_slice().unwrap();
        let half = |a: usize, b: usize| {
            Data::from_slice(&xs[a * 2..b * 2], b - a, 2)
                .unwrap()
                .with_weights(&w[a..b])
                .unwrap()
        };
        let mut weighted = o.partial_fit(&half(0, 450)).unwrap();
        weighted.partial_fit(&half(450, 900)).unwrap();
        let cut = w[..450].iter().sum::<f64>() as usize;
        let mut plain = o.partial_fit(&repeated.slice(s![..cut, ..])).unwrap();
        plain.partial_fit(&repeated.slice(s![cut.., ..])).unwrap();
        close(
            "means",
            weighted.means().as_slice().unwrap(),
            plain.means().as_slice().unwrap(),
            1e-11,
        );
        close(
            "covariances",
            &flat_cov(&weighted),
            &flat_cov(&plain),
            1e-10,
        );
        close(
            "weights",
            weighted.weights().as_slice().unwrap(),
            plain.weights().as_slice().unwrap(),
            1e-12,
        );
    }
}

/// The same batches give the same model bit for bit on 1 or 2 threads, and a model
/// saved and loaded between batches (a checkpoint) continues exactly as one that was not.
#[test]
fn thread_count_and_checkpoints_change_nothing() {
    let x = rows(20_000, 4);
    for kind in CovarianceType::ALL {
        let run = |threads: usize, save_at: Option<usize>| {
            let o = opts(kind)
                .n_threads(threads)
                .step_exponent(0.7)
                .average_from(2);
            let mut m = o.partial_fit(&x.slice(s![0..4000, ..])).unwrap();
            for b in 1..5 {
                if save_at == Some(b) {
                    let text = m.to_json();
                    m = GaussianMixture::from_json(&text).unwrap();
                }
                m.partial_fit(&x.slice(s![b * 4000..(b + 1) * 4000, ..]))
                    .unwrap();
            }
            m.end_pass();
            m
        };
        let a = run(1, None);
        let same = |a: &GaussianMixture, b: &GaussianMixture| {
            assert_eq!(a.weights(), b.weights(), "{kind}");
            assert_eq!(a.means(), b.means(), "{kind}");
            assert_eq!(a.covariances(), b.covariances(), "{kind}");
            assert_eq!(a.online_state(), b.online_state(), "{kind}");
            assert_eq!(
                a.fit_record().unwrap().lower_bounds,
                b.fit_record().unwrap().lower_bounds
            );
        };
        same(&a, &run(2, None));
        // (The loaded model's options lack the explicit start, which files do not keep:
        // compare everything a file holds.)
        let b = run(1, Some(3));
        assert_eq!(a.to_json(), b.to_json(), "{kind}: checkpoint");
        assert_eq!(a.online_state(), b.online_state());
        let state = a.online_state().unwrap();
        assert_eq!(
            (state.batches(), state.updates(), state.rows()),
            (5, 4, 20_000)
        );
        assert_eq!(state.step_exponent(), 0.7);
        assert!((state.next_step_size() - 6f64.powf(-0.7)).abs() < 1e-15);
    }
}

/// Bad batches are errors that leave the model as it was; bad options are refused by
/// name; a corrupt checkpoint is refused on load.
#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let x = rows(2000, 5);
    let mut m = opts(CovarianceType::Diag).partial_fit(&x).unwrap();
    let before = m.clone();
    let e = m.partial_fit(&array![[1.0, 2.0, 3.0]]).unwrap_err();
    assert!(matches!(e, GmmError::InvalidData(_)), "{e}");
    assert!(
        e.to_string().contains("3 features but the model has 2"),
        "{e}"
    );
    assert!(m.partial_fit(&array![[f64::NAN, 1.0]]).is_err());
    assert_eq!(m, before);
    for k in [0.5, 1.01, f64::NAN] {
        let e = opts(CovarianceType::Diag)
            .step_exponent(k)
            .partial_fit(&x)
            .unwrap_err();
        assert!(e.to_string().contains("step_exponent"), "{e}");
    }
    let mut doc: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    assert_eq!(doc["version"], gaussmix::MODEL_VERSION);
    doc["online"]["mass"] = serde_json::json!([0.5]);
    let e = GaussianMixture::from_json(&doc.to_string()).unwrap_err();
    assert!(
        e.to_string()
            .contains("online: mass has 1 values, expected 3"),
        "{e}"
    );
    doc["online"]["mass"] = serde_json::json!([0.5, -0.1, 0.6]);
    assert!(GaussianMixture::from_json(&doc.to_string()).is_err());
    // Without running statistics, partial_fit warms up from the model's parameters.
    let fresh = m.clone().without_online_state();
    let mut warm = fresh.clone();
    warm.partial_fit(&x).unwrap();
    assert_eq!(warm.online_state().unwrap().batches(), 1);
    assert!(fresh.clone().end_pass().is_none());
}

/// Without a given start, the warm-up batch is fitted as `fit` would fit it.
#[test]
fn the_warm_up_batch_is_fitted_without_a_start() {
    let x = rows(5000, 6);
    let o = GaussianMixture::params(3).seed(7);
    let fitted = o.fit(&x.slice(s![..2000, ..])).unwrap();
    let mut from_fit = fitted.clone();
    from_fit.partial_fit(&x.slice(s![..2000, ..])).unwrap();
    let online = o.partial_fit(&x.slice(s![..2000, ..])).unwrap();
    assert_eq!(online.means(), from_fit.means());
    assert_eq!(online.fit_record().unwrap().options.seed, 7);
}

/// Polyak–Ruppert averaging: the E-steps still run under the running statistics, so a
/// run with averaging sees the same running statistics as one without; its weights are
/// the mean of those runs' weights over the averaged updates, and its means their
/// mass-weighted mean.
#[test]
fn averaging_is_the_mean_of_the_running_statistics() {
    let x = rows(12_000, 8);
    for kind in CovarianceType::ALL {
        let mut plain = opts(kind).partial_fit(&x.slice(s![0..1000, ..])).unwrap();
        let mut avg = opts(kind)
            .average_from(3)
            .partial_fit(&x.slice(s![0..1000, ..]))
            .unwrap();
        let (mut w_sum, mut wm_sum) = (vec![0.0; 3], vec![0.0; 6]);
        let mut count = 0;
        for b in 1..12 {
            let batch = x.slice(s![b * 1000..(b + 1) * 1000, ..]);
            let lp = plain.partial_fit(&batch).unwrap();
            let la = avg.partial_fit(&batch).unwrap();
            // The same E-step parameters, hence the same batch log-likelihood.
            assert_eq!(lp, la, "{kind} batch {b}");
            if b >= 3 {
                count += 1;
                for c in 0..3 {
                    w_sum[c] += plain.weights()[c];
                    for j in 0..2 {
                        wm_sum[c * 2 + j] += plain.weights()[c] * plain.means()[[c, j]];
                    }
                }
                let state = avg.online_state().unwrap();
                assert_eq!(state.averaged_updates(), count);
                for c in 0..3 {
                    let w = w_sum[c] / count as f64;
                    assert!((avg.weights()[c] - w).abs() < 1e-12, "{kind} weight {c}");
                    for j in 0..2 {
                        let m = wm_sum[c * 2 + j] / w_sum[c];
                        assert!(
                            (avg.means()[[c, j]] - m).abs() < 1e-9 * m.abs(),
                            "{kind} mean {c},{j}"
                        );
                    }
                }
            } else {
                assert_eq!(avg.means(), plain.means());
            }
        }
        assert!(opts(kind).average_from(0).partial_fit(&x).is_err());
    }
}

/// A batch lighter than the others (a file's short last batch, rows of tiny weight)
/// moves the model by that fraction of a step only: one extra row barely moves it,
/// and outliers of weight 1e-9 do not drag a component.
#[test]
fn a_light_batch_takes_a_small_step() {
    let x = rows(20_000, 9);
    for kind in CovarianceType::ALL {
        let mut m = opts(kind).partial_fit(&x.slice(s![0..2000, ..])).unwrap();
        for b in 1..10 {
            m.partial_fit(&x.slice(s![b * 2000..(b + 1) * 2000, ..]))
                .unwrap();
        }
        let before = m.clone();
        // One far row moves a mean about as much as it would among the last ~2,000
        // rows in batch EM (70 / 2000 · its component's share); at a full step (what
        // a batch got before steps were weighed) it moved it by ~35.
        m.partial_fit(&array![[1e4 + 50.0, 1e4 + 50.0]]).unwrap();
        for (a, b) in m.means().iter().zip(before.means().iter()) {
            assert!(
                (a - b).abs() < 0.1,
                "{kind}: one row moved a mean from {b} to {a}"
            );
        }
        for (a, b) in m.weights().iter().zip(before.weights().iter()) {
            assert!(
                (a - b).abs() < 1e-3,
                "{kind}: one row moved a weight from {b} to {a}"
            );
        }
        // 2000 far outliers of weight 1e-9 each.
        let far = Array2::from_elem((2000, 2), 1e4 + 50.0);
        let w = vec![1e-9; 2000];
        let mut n = before.clone();
        n.partial_fit(
            &Data::from_slice(far.as_slice().unwrap(), 2000, 2)
                .unwrap()
                .with_weights(&w)
                .unwrap(),
        )
        .unwrap();
        for (a, b) in n.means().iter().zip(before.means().iter()) {
            assert!(
                (a - b).abs() < 1e-6,
                "{kind}: weightless outliers moved a mean from {b} to {a}"
            );
        }
        // A full-weight batch of them does move it (the test can fail).
        let mut f = before.clone();
        f.partial_fit(&far).unwrap();
        assert!(
            f.means()
                .iter()
                .zip(before.means().iter())
                .any(|(a, b)| (a - b).abs() > 1.0),
            "{kind}"
        );
    }
}

/// A finished pass carries the batch fit's warnings, computed from the model's
/// statistics: a constant feature, a component collapsed onto repeated rows.
#[test]
fn a_pass_reports_what_a_batch_fit_would_warn_about() {
    let x = rows(6000, 10);
    let mut with_constant = Array2::from_elem((6000, 3), 7.5);
    with_constant.slice_mut(s![.., ..2]).assign(&x);
    let mut m = GaussianMixture::params(3)
        .seed(1)
        .partial_fit(&with_constant.slice(s![..2000, ..]))
        .unwrap();
    for b in 1..3 {
        m.partial_fit(&with_constant.slice(s![b * 2000..(b + 1) * 2000, ..]))
            .unwrap();
    }
    assert!(
        m.fit_record().unwrap().warnings.is_empty(),
        "before the pass ends"
    );
    m.end_pass().unwrap();
    let kinds: Vec<_> = m
        .fit_record()
        .unwrap()
        .warnings
        .iter()
        .map(|w| w.kind)
        .collect();
    assert!(
        kinds.contains(&gaussmix::WarningKind::ConstantFeature),
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&gaussmix::WarningKind::NotConverged),
        "{kinds:?}"
    );
    // Ordinary data: no warning.
    let mut clean = opts(CovarianceType::Full)
        .partial_fit(&x.slice(s![..2000, ..]))
        .unwrap();
    clean.partial_fit(&x.slice(s![2000.., ..])).unwrap();
    clean.end_pass().unwrap();
    assert!(
        clean.fit_record().unwrap().warnings.is_empty(),
        "{:?}",
        clean.fit_record().unwrap().warnings
    );
    // A third of the rows repeat one point, with reg_covar 0: a component collapses there.
    let mut dup = x.slice(s![..3000, ..]).to_owned();
    for i in (0..3000).step_by(3) {
        dup.row_mut(i)
            .assign(&ndarray::array![1e4 + 20.0, 1e4 + 20.0]);
    }
    let o = GaussianMixture::params(4).seed(2).reg_covar(1e-12);
    let mut d = o.partial_fit(&dup.slice(s![..1000, ..])).unwrap();
    d.partial_fit(&dup.slice(s![1000.., ..])).unwrap();
    d.end_pass().unwrap();
    let kinds: Vec<_> = d
        .fit_record()
        .unwrap()
        .warnings
        .iter()
        .map(|w| w.kind)
        .collect();
    assert!(
        kinds.contains(&gaussmix::WarningKind::CollapsedVariance),
        "{kinds:?}"
    );
}
