//! The fit's warnings (one test per kind, on small constructed data) and the model
//! file's versions (1 still loads, 2 round-trips names and warnings, newer is refused).

use gaussmix::select::{select, Criterion, SelectOptions};
use gaussmix::{CovarianceType, GaussianMixture, GmmError, StartParameters, WarningKind};
use ndarray::{array, Array2};

/// Iris-like: three groups of four features, deterministic.
fn iris_like(n_per: usize) -> Array2<f64> {
    let centres = [
        [5.0, 3.4, 1.5, 0.2],
        [5.9, 2.8, 4.3, 1.3],
        [6.6, 3.0, 5.6, 2.0],
    ];
    Array2::from_shape_fn((3 * n_per, 4), |(i, j)| {
        let g = i / n_per;
        let t = (i * 7 + j * 13) % 17;
        centres[g][j] + (t as f64 - 8.0) * 0.04 * (1.0 + j as f64 * 0.3)
    })
}

fn kinds(m: &GaussianMixture) -> Vec<WarningKind> {
    m.fit_record()
        .unwrap()
        .warnings
        .iter()
        .map(|w| w.kind)
        .collect()
}

#[test]
fn a_clean_fit_has_no_warnings() {
    let x = iris_like(50);
    for kind in CovarianceType::ALL {
        let m = GaussianMixture::params(3)
            .covariance_type(kind)
            .fit(&x)
            .unwrap();
        assert!(
            kinds(&m).is_empty(),
            "{kind}: {:#?}",
            m.fit_record().unwrap().warnings
        );
    }
}

#[test]
fn reg_covar_large_on_tiny_scale_data_names_each_feature() {
    let x = iris_like(50).mapv(|v| v * 1e-5);
    let names: Vec<String> = ["sl", "sw", "pl", "pw"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let m = GaussianMixture::params(3)
        .covariance_type(CovarianceType::Diag)
        .feature_names(Some(names))
        .fit(&x)
        .unwrap();
    let w: Vec<_> = m
        .fit_record()
        .unwrap()
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::RegCovarLarge)
        .collect();
    assert_eq!(w.len(), 4, "{w:#?}");
    assert_eq!(
        w.iter().map(|w| w.feature).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2), Some(3)]
    );
    assert!(
        w[2].message
            .starts_with("reg_covar = 1e-6 is larger than 1e-3 × the variance of feature \"pl\""),
        "{}",
        w[2].message
    );
    assert!(
        w[0].message.contains("rescale the data") && w[0].message.contains("smaller reg_covar")
    );
    // Rescaled, or with a reg_covar to match, the warning goes.
    let ok = GaussianMixture::params(3)
        .covariance_type(CovarianceType::Diag)
        .reg_covar(1e-16)
        .fit(&x)
        .unwrap();
    assert!(
        !kinds(&ok).contains(&WarningKind::RegCovarLarge),
        "{:?}",
        kinds(&ok)
    );
}

#[test]
fn a_constant_column_is_reported_by_index_without_names() {
    let mut x = iris_like(20);
    x.column_mut(2).fill(7.5);
    let m = GaussianMixture::params(2).fit(&x).unwrap();
    let w = &m.fit_record().unwrap().warnings;
    let c: Vec<_> = w
        .iter()
        .filter(|w| w.kind == WarningKind::ConstantFeature)
        .collect();
    assert_eq!(c.len(), 1, "{w:#?}");
    assert_eq!(c[0].feature, Some(2));
    assert!(
        c[0].message
            .starts_with("feature 2 is constant (7.5) in every row"),
        "{}",
        c[0].message
    );
    // A constant column is not also "reg_covar large" or a collapse of every component.
    assert!(
        !w.iter().any(|w| matches!(
            w.kind,
            WarningKind::RegCovarLarge | WarningKind::CollapsedVariance
        )),
        "{w:#?}"
    );
}

#[test]
fn k_equal_to_n_rows_collapses_every_component_and_has_too_many_parameters() {
    let x = array![[0.0, 1.0], [3.0, 0.5], [1.0, 4.0], [5.0, 5.0]];
    for kind in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ] {
        let m = GaussianMixture::params(4)
            .covariance_type(kind)
            .fit(&x)
            .unwrap();
        let w = &m.fit_record().unwrap().warnings;
        assert_eq!(w[0].kind, WarningKind::TooManyParameters, "{kind}: {w:#?}");
        let collapsed: Vec<_> = w
            .iter()
            .filter(|w| w.kind == WarningKind::CollapsedVariance)
            .collect();
        assert_eq!(collapsed.len(), 4, "{kind}: {w:#?}");
        assert_eq!(
            collapsed.iter().map(|w| w.component).collect::<Vec<_>>(),
            [Some(0), Some(1), Some(2), Some(3)]
        );
        assert!(
            collapsed[1]
                .message
                .starts_with("component 1's variance along "),
            "{}",
            collapsed[1].message
        );
        assert!(collapsed[1].message.contains("reg_covar = 1e-6"));
    }
}

#[test]
fn many_features_few_rows_is_too_many_parameters() {
    let x = Array2::from_shape_fn((12, 6), |(i, j)| ((i * 5 + j * 3) % 7) as f64 + j as f64);
    let m = GaussianMixture::params(2).fit(&x).unwrap();
    let w = &m.fit_record().unwrap().warnings;
    let t = w
        .iter()
        .find(|w| w.kind == WarningKind::TooManyParameters)
        .expect("too many parameters");
    assert_eq!(
        t.message,
        "the model has 55 free parameters but the data has only 12 rows: it can fit the rows themselves rather than their distribution; use fewer n_components, a simpler covariance_type (diag or spherical), or more data"
    );
}

#[test]
fn max_iter_one_is_not_converged_and_says_what_to_do() {
    let x = iris_like(30);
    let m = GaussianMixture::params(3).max_iter(1).fit(&x).unwrap();
    assert!(!m.converged());
    let w = &m.fit_record().unwrap().warnings;
    assert_eq!(w[0].kind, WarningKind::NotConverged);
    assert_eq!((w[0].component, w[0].feature), (None, None));
    assert!(
        w[0].message
            .starts_with("EM did not converge: the kept run stopped at max_iter = 1"),
        "{}",
        w[0].message
    );
    assert!(w[0].message.contains("increase max_iter, loosen tol"));
    let m = GaussianMixture::params(3)
        .max_iter(3)
        .tol(0.0)
        .fit(&x)
        .unwrap();
    let msg = &m.fit_record().unwrap().warnings[0].message;
    assert!(msg.contains("per iteration (tol = 0e0)"), "{msg}");
}

#[test]
fn a_component_that_empties_is_reported() {
    // Two clusters; the start puts a third component far from every row.
    let x = Array2::from_shape_fn((120, 2), |(i, j)| {
        let c = if i < 60 { 0.0 } else { 8.0 };
        c + ((i * 7 + j * 13) % 11) as f64 * 0.1
    });
    let start = StartParameters {
        weights: Some(array![0.4, 0.4, 0.2]),
        means: Some(array![[0.5, 0.5], [8.5, 8.5], [1e3, -1e3]]),
        covariances: None,
        precisions: None,
    };
    for kind in CovarianceType::ALL {
        let m = GaussianMixture::params(3)
            .covariance_type(kind)
            .start(start.clone())
            .fit(&x)
            .unwrap();
        let w = &m.fit_record().unwrap().warnings;
        assert_eq!(w.len(), 1, "{kind}: {w:#?}");
        assert_eq!(
            (w[0].kind, w[0].component),
            (WarningKind::EmptyComponent, Some(2)),
            "{kind}"
        );
        assert!(
            w[0].message.starts_with("component 2 is empty: it holds "),
            "{}",
            w[0].message
        );
        assert!(w[0].message.contains("fewer n_components"));
        // `recover` re-seeds it.
        let r = GaussianMixture::params(3)
            .covariance_type(kind)
            .start(start.clone())
            .recover(true)
            .max_iter(300)
            .fit(&x)
            .unwrap();
        // (On this lattice data the re-seeded component may end up light again, or on
        // one line of rows: the warnings say so; here only that it was re-seeded.)
        assert!(!r.fit_record().unwrap().recoveries.is_empty(), "{kind}");
    }
}

#[test]
fn a_tied_collapse_has_no_component() {
    // The second feature takes two values, each group on one of them: the pooled
    // within-component variance of that feature is zero.
    let x = Array2::from_shape_fn((40, 2), |(i, j)| {
        if j == 1 {
            (i / 20) as f64 * 10.0
        } else {
            (i % 9) as f64
        }
    });
    // One greedy k-means++ run finds the collapse (em-EM's default guard would keep a
    // run that does not collapse: a collapsed tied covariance is a spurious optimum).
    let m = GaussianMixture::params(2)
        .covariance_type(CovarianceType::Tied)
        .init(gaussmix::InitMethod::GreedyKMeansPlusPlus)
        .fit(&x)
        .unwrap();
    let w = &m.fit_record().unwrap().warnings;
    assert!(w.iter().any(|w| w.kind == WarningKind::SpuriousOptimum));
    let c = w
        .iter()
        .find(|w| w.kind == WarningKind::CollapsedVariance)
        .unwrap_or_else(|| panic!("{w:#?}"));
    assert_eq!((c.component, c.feature), (None, Some(1)));
    assert!(
        c.message
            .starts_with("the shared (tied) covariance's variance along feature 1"),
        "{}",
        c.message
    );
}

#[test]
fn warnings_are_deterministic_and_survive_the_model_file() {
    let x = array![[0.0, 1.0], [3.0, 0.5], [1.0, 4.0], [5.0, 5.0]];
    let fit = || GaussianMixture::params(4).max_iter(2).fit(&x).unwrap();
    let (a, b) = (fit(), fit());
    assert_eq!(
        a.fit_record().unwrap().warnings,
        b.fit_record().unwrap().warnings
    );
    let back = GaussianMixture::from_json(&a.to_json()).unwrap();
    assert_eq!(back, a);
    let json: serde_json::Value = serde_json::from_str(&a.to_json()).unwrap();
    let first = &a.fit_record().unwrap().warnings[0];
    assert_eq!(json["fit"]["warnings"][0]["kind"], first.kind.as_str());
    assert_eq!(
        json["fit"]["warnings"][0]["message"],
        first.message.as_str()
    );
}

#[test]
fn select_warns_when_the_winner_did_not_converge() {
    let x = iris_like(30);
    let opts = SelectOptions::new(2..=3, vec![CovarianceType::Diag], Criterion::Bic)
        .with_fit_options(GaussianMixture::params(1).max_iter(1));
    let sel = select(&x, &opts).unwrap();
    assert_eq!(sel.warnings.len(), 1);
    assert_eq!(sel.warnings[0].kind, WarningKind::SelectWinnerNotConverged);
    assert!(
        sel.warnings[0].message.contains("max_iter = 1"),
        "{}",
        sel.warnings[0].message
    );
    let ok = select(
        &x,
        &SelectOptions::new(2..=3, vec![CovarianceType::Diag], Criterion::Bic),
    )
    .unwrap();
    assert!(ok.warnings.is_empty());
}

// ---- the model file ----

const V1: &str = r#"{"format": "gaussmix-model", "version": 1, "covariance_type": "diag",
  "n_components": 1, "n_features": 2, "weights": [1.0], "means": [[0.0, 1.0]],
  "covariances": [[1.0, 2.0]],
  "fit": {"converged": true, "n_iter": 3, "lower_bound": -1.5, "n_samples": 10}}"#;

#[test]
fn a_version_1_file_loads_without_names_or_warnings() {
    let m = GaussianMixture::from_json(V1).unwrap();
    assert_eq!(m.feature_names(), None);
    assert!(m.fit_record().unwrap().warnings.is_empty());
    assert_eq!(m.n_iter(), 3);
    // Written back, it is the newest version.
    let json: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    assert_eq!(json["version"], gaussmix::MODEL_VERSION);
    assert_eq!(json["feature_names"], serde_json::Value::Null);
}

#[test]
fn a_version_2_file_round_trips_names_and_warnings() {
    let x = iris_like(20);
    let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let m = GaussianMixture::params(2)
        .max_iter(1)
        .feature_names(Some(names.clone()))
        .fit(&x)
        .unwrap();
    assert_eq!(m.feature_names(), Some(&names[..]));
    assert!(!m.fit_record().unwrap().warnings.is_empty());
    let text = m.to_json();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], gaussmix::MODEL_VERSION);
    assert_eq!(json["feature_names"][3], "d");
    // Not inside the record's options.
    assert!(json["fit"]["options"].get("feature_names").is_none());
    let back = GaussianMixture::from_json(&text).unwrap();
    assert_eq!(back, m);
    assert!(back.fit_record().unwrap().options.feature_names.is_none());
}

#[test]
fn a_newer_version_is_refused() {
    let v4 = V1.replace("\"version\": 1", "\"version\": 4");
    let e = GaussianMixture::from_json(&v4).unwrap_err().to_string();
    assert!(
        e.contains("version 4") && e.contains("upgrade gaussmix"),
        "{e}"
    );
}

#[test]
fn wrong_feature_names_in_a_file_are_refused() {
    let with = |names: &str| {
        V1.replace(
            "\"version\": 1",
            &format!("\"version\": 2, \"feature_names\": {names}"),
        )
    };
    let e = GaussianMixture::from_json(&with("[\"x\"]")).unwrap_err();
    assert!(
        matches!(&e, GmmError::InvalidModel(m) if m.contains("1 names for 2 features")),
        "{e}"
    );
    let e = GaussianMixture::from_json(&with("[\"x\", \"x\"]")).unwrap_err();
    assert!(e.to_string().contains("unique"), "{e}");
    let e = GaussianMixture::from_json(&with("[\"x\", \"\"]")).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    let ok = GaussianMixture::from_json(&with("[\"x\", \"y\"]")).unwrap();
    assert_eq!(ok.feature_names().unwrap(), ["x", "y"]);
    // Version 1 had no names: an extra field is kept when valid, dropped when not.
    let v1 = |names: &str| {
        V1.replace(
            "\"version\": 1",
            &format!("\"version\": 1, \"feature_names\": {names}"),
        )
    };
    let m = GaussianMixture::from_json(&v1("[\"x\", \"y\"]")).unwrap();
    assert_eq!(m.feature_names().unwrap(), ["x", "y"]);
    let m = GaussianMixture::from_json(&v1("[\"x\"]")).unwrap();
    assert_eq!(m.feature_names(), None);
}
