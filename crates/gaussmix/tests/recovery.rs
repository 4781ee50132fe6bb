//! Degenerate components: scikit-learn's behaviour by default, re-seeding with `recover`.

use gaussmix::{CovarianceType, Covariances, GaussianMixture, GmmError, StartParameters};
use ndarray::{array, Array2, Array3};

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
        let m = GaussianMixture::builder(3)
            .covariance_type(kind)
            .start(start)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap();
        assert!(m.weights()[2] < 1e-10, "{kind}: {}", m.weights());
        assert!(m.means().iter().all(|v| v.is_finite()));
        assert!(m.fit_record().unwrap().recoveries.is_empty());
    }
}

#[test]
fn recover_reseeds_the_dead_component_and_reports_it() {
    for kind in CovarianceType::ALL {
        let (x, start) = setup(kind);
        let m = GaussianMixture::builder(3)
            .covariance_type(kind)
            .start(start)
            .recover(true)
            .max_iter(300)
            .build()
            .unwrap()
            .fit(x.view())
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
        // And the recovery survives the model file.
        let back = GaussianMixture::from_json(&m.to_json()).unwrap();
        assert_eq!(back.fit_record().unwrap().recoveries, rec.recoveries);
    }
}

#[test]
fn a_collapse_without_regularisation_is_an_error_naming_the_component() {
    // One isolated row captures a component; with reg_covar = 0 its covariance is
    // singular.
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
    let err = GaussianMixture::builder(2)
        .reg_covar(0.0)
        .start(start.clone())
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap_err();
    match &err {
        GmmError::NotPositiveDefinite { component, .. } => assert_eq!(*component, 1),
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("component 1") && text.contains("reg_covar") && text.contains("recover"),
        "{text}"
    );
    // With recovery the same fit either succeeds with re-seeds on record or gives up
    // with a message that says so — never NaN.
    match GaussianMixture::builder(2)
        .reg_covar(0.0)
        .start(start)
        .recover(true)
        .build()
        .unwrap()
        .fit(x.view())
    {
        Ok(m) => assert!(!m.fit_record().unwrap().recoveries.is_empty()),
        Err(e) => assert!(e.to_string().contains("recovery gave up"), "{e}"),
    }
}
