//! Degenerate components: scikit-learn's behaviour by default, re-seeding with `recover`.

#[path = "common/reference.rs"]
mod reference;

use gaussmix::{CovarianceType, Covariances, GaussianMixture, GmmError, StartParameters};
use ndarray::{array, Array2, Array3};

/// The fitted model as flat arrays for the reference checks.
fn mixture(m: &GaussianMixture) -> reference::Mixture {
    reference::Mixture::new(
        reference::Kind::parse(&m.covariance_type().to_string()),
        m.weights().to_vec(),
        m.means().iter().copied().collect(),
        m.covariances().to_array().iter().copied().collect(),
    )
}

/// Accuracy of a fit on `x` (see `reference.rs`): the M-step identities against a
/// two-pass mean and covariance, each known cluster's share, mean and covariance held by
/// its components, and the score against a direct log-likelihood. Tolerances: the
/// clusters here are tens of within-cluster standard deviations apart, so foreign
/// responsibilities are below e^-100 and only rounding is left: 1e-9 of each column's
/// spread, 1e-9 relative for the score.
fn check_accuracy(what: &str, m: &GaussianMixture, x: &Array2<f64>, labels: &[usize], reg: f64) {
    let mix = mixture(m);
    let flat: Vec<f64> = x.iter().copied().collect();
    let tol = reference::Tol::f64(1e-9);
    reference::check_total_moments(what, &mix, &flat, reg, tol);
    reference::check_clusters(what, &mix, &flat, labels, reg, tol);
    let score = m.fit_record().unwrap().score;
    let want = reference::mean_log_likelihood(&mix, &flat);
    assert!(
        (score - want).abs() <= 1e-9 * (1.0 + want.abs()),
        "{what}: score {score} but the model's mean log-likelihood is {want}"
    );
}

/// Two clusters; the start puts a third component far from every row, so it gets no
/// responsibility at all and dies.
fn setup(kind: CovarianceType) -> (Array2<f64>, StartParameters) {
    let x = Array2::from_shape_fn((120, 2), |(i, j)| {
        let c = if i < 60 { 0.0 } else { 8.0 };
        c + ((i * 7 + j * 13) % 11) as f64 * 0.1
    });
    let cov = match kind {
        CovarianceType::Full => Covariances::Full(Array3::from_shape_fn((3, 2, 2), |(_, a, b)| {
            if a == b {
                0.5
            } else {
                0.0
            }
        })),
        CovarianceType::Diag => Covariances::Diag(Array2::from_elem((3, 2), 0.5)),
        CovarianceType::Spherical => Covariances::Spherical(array![0.5, 0.5, 0.5]),
        CovarianceType::Tied => Covariances::Tied(array![[0.5, 0.0], [0.0, 0.5]]),
    };
    let start = StartParameters {
        weights: Some(array![0.4, 0.4, 0.2]),
        means: Some(array![[0.5, 0.5], [8.5, 8.5], [1e3, -1e3]]),
        covariances: Some(cov),
        precisions: None,
    };
    (x, start)
}

#[test]
fn by_default_a_dead_component_stays_dead_but_finite() {
    for kind in CovarianceType::ALL {
        let (x, start) = setup(kind);
        let m = GaussianMixture::params(3)
            .covariance_type(kind)
            .start(start)
            .fit(&x)
            .unwrap();
        assert!(m.weights()[2] < 1e-10, "{kind}: {}", m.weights());
        assert!(m.means().iter().all(|v| v.is_finite()));
        // Without any mass it keeps its mean (scikit-learn would send it to the origin).
        assert_eq!(m.means().row(2).to_vec(), vec![1e3, -1e3], "{kind}");
        assert!(m.fit_record().unwrap().recoveries.is_empty());
        // The two live ones are the two clusters (rows 0..60 and 60..120).
        let labels: Vec<usize> = (0..120).map(|i| i / 60).collect();
        check_accuracy(&format!("{kind}"), &m, &x, &labels, 1e-6);
    }
}

#[test]
fn recover_reseeds_the_dead_component_and_reports_it() {
    for kind in CovarianceType::ALL {
        let (x, start) = setup(kind);
        let m = GaussianMixture::params(3)
            .covariance_type(kind)
            .start(start)
            .recover(true)
            .max_iter(300)
            .fit(&x)
            .unwrap();
        let rec = m.fit_record().unwrap();
        assert!(!rec.recoveries.is_empty(), "{kind}: no recovery recorded");
        let r = &rec.recoveries[0];
        assert_eq!(r.component, 2);
        assert_eq!(r.iteration, 1);
        assert!(r.reason.contains("mass"), "{kind}: {}", r.reason);
        let row = r.row.unwrap();
        assert!(row < 120);
        // After re-seeding the component lives among the data, not at the far start.
        let mu = m.means().row(2).to_owned();
        assert!(mu.iter().all(|v| (-1.0..10.0).contains(v)), "{kind}: {mu}");
        assert!(m.weights()[2] > 1e-6, "{kind}: {}", m.weights());
        // Three components over the two clusters: together they hold each cluster.
        let labels: Vec<usize> = (0..120).map(|i| i / 60).collect();
        check_accuracy(&format!("{kind}"), &m, &x, &labels, 1e-6);
        // And the recovery survives the model file.
        let back = GaussianMixture::from_json(&m.to_json()).unwrap();
        assert_eq!(back.fit_record().unwrap().recoveries, rec.recoveries);
    }
}

/// 40 rows near the origin and one isolated row at (50, 50); the start puts a component
/// on each, so with reg_covar = 0 the second one's covariance is singular.
fn collapse_setup() -> (Array2<f64>, StartParameters) {
    let mut x: Vec<f64> = (0..40)
        .flat_map(|i| [(i % 7) as f64 * 0.3, (i % 5) as f64 * 0.2])
        .collect();
    x.extend([50.0, 50.0]);
    let x = Array2::from_shape_vec((41, 2), x).unwrap();
    let start = StartParameters {
        weights: Some(array![0.5, 0.5]),
        means: Some(array![[1.0, 0.5], [50.0, 50.0]]),
        covariances: None,
        precisions: None,
    };
    (x, start)
}

fn fit_collapse(kind: CovarianceType, recover: bool) -> gaussmix::Result<GaussianMixture> {
    let (x, start) = collapse_setup();
    GaussianMixture::params(2)
        .covariance_type(kind)
        .reg_covar(0.0)
        .start(start)
        .recover(recover)
        .fit(&x)
}

/// The error for the isolated row's component, with where it happened.
fn assert_collapse_error(what: &str, r: gaussmix::Result<GaussianMixture>, context: &str) {
    let err = r
        .err()
        .unwrap_or_else(|| panic!("{what}: expected an error"));
    let text = err.to_string();
    match err {
        GmmError::NotPositiveDefinite {
            component,
            reg_covar,
            context: c,
        } => {
            assert_eq!((component, reg_covar), (1, 0.0), "{what}");
            assert_eq!(c, context, "{what}");
        }
        other => panic!("{what}: unexpected {other:?}"),
    }
    assert!(
        text.contains("component 1") && text.contains("reg_covar"),
        "{what}: {text}"
    );
}

/// Table-driven over covariance type and `recover`, one expected outcome each:
/// - full, diag, spherical without `recover`: an error at initialisation naming
///   component 1 and suggesting `recover`;
/// - full, diag, spherical with `recover`: the collapse is re-seeded until the re-seeds
///   run out, then an error saying recovery gave up (`recover_gives_up_on_a_collapse`);
/// - tied, either way: a fit (the pooled covariance is not singular), checked for
///   accuracy: one component per cluster, the tied covariance the pooled within-cluster
///   one (the isolated row adds nothing).
#[test]
fn a_collapse_without_regularisation_is_an_error_naming_the_component() {
    use CovarianceType::*;
    let (x, _) = collapse_setup();
    let labels: Vec<usize> = (0..41).map(|i| i / 40).collect();
    for (kind, recover) in [
        (Full, false),
        (Diag, false),
        (Spherical, false),
        (Full, true),
        (Diag, true),
        (Spherical, true),
        (Tied, false),
        (Tied, true),
    ] {
        let what = format!("{kind} / recover {recover}");
        let r = fit_collapse(kind, recover);
        match (kind, recover) {
            (Tied, _) => {
                let m = r.unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(m.fit_record().unwrap().recoveries.is_empty(), "{what}");
                check_accuracy(&what, &m, &x, &labels, 0.0);
            }
            (_, false) => {
                let text = r.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
                assert!(text.contains("recover"), "{what}: {text}");
                assert_collapse_error(&what, r, " at initialisation");
            }
            (_, true) => assert_collapse_error(
                &what,
                r,
                " after EM iteration 4 (recovery gave up after 4 re-seeds)",
            ),
        }
    }
}

/// Regression: with `recover`, full, diag and spherical covariances used to "succeed" on
/// the collapse: after the start is widened (recorded as a recovery at iteration 0), the
/// component collapses onto the isolated row again with a covariance of ~3e-303 in every
/// entry (exact EM with reg_covar = 0: the other rows' e^-huge responsibilities), which
/// passes the Cholesky test, and the fit reported a lower bound of 15.9 (the tied fit of
/// the same data: -1.13), the likelihood of a spike, not of a fit. The degenerate rule
/// (`fit/degenerate.rs`) sees the covariance collapsed against the data's own spread and
/// not held by reg_covar (singular), so `recover` re-seeds it, and gives up when the
/// re-seeds run out.
#[test]
fn recover_gives_up_on_a_collapse() {
    for kind in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ] {
        assert_collapse_error(
            &format!("{kind} / recover true"),
            fit_collapse(kind, true),
            " after EM iteration 4 (recovery gave up after 4 re-seeds)",
        );
    }
}
