//! Arbitrary bytes never panic: the model loader returns a value or an error (the data
//! readers' counterparts moved with them to gaussmix-io's tests). Arbitrary finite
//! matrices into `fit` get the outcome the input decides: a refusal naming the
//! problem, or a fit checked against independent f64 computations; non-finite values
//! are refused naming the first one.

#[path = "../../gaussmix/tests/common/reference.rs"]
mod reference;

use gaussmix::{CovarianceType, Data, GaussianMixture, GmmError};
use ndarray::{Array2, ShapeBuilder};
use proptest::prelude::*;

/// Numbers across every scale, plus the non-finite ones (for the model loader).
fn any_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0f64..10.0,
        1 => prop::num::f64::ANY,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => (-300i32..300).prop_map(|e| 10f64.powi(e)),
        1 => (-300i32..300).prop_map(|e| -(10f64.powi(e))),
        1 => Just(1e9).prop_flat_map(|b| (-0.01f64..0.01).prop_map(move |d| b + d)),
    ]
}

/// How the values of one column are drawn. All are finite by construction.
#[derive(Clone, Copy, Debug)]
enum Scale {
    /// `m·10^e`, `m ∈ [-10, 10)`, `e ∈ [-300, 2]` per value: every scale from subnormal
    /// to below 1000, so the column spans less than 2e3.
    Moderate,
    /// `1e9 + u`, `u ∈ [-0.01, 0.01]`: a small spread on a huge offset.
    Offset,
    /// `±m·10^e`, `m ∈ [1, 10)`, `e ∈ [160, 307]` per value: differences whose squares
    /// overflow f64 (unless the column is constant).
    Huge,
}

fn value(scale: Scale) -> BoxedStrategy<f64> {
    match scale {
        Scale::Moderate => (-10.0f64..10.0, -300i32..=2)
            .prop_map(|(m, e)| m * 10f64.powi(e))
            .boxed(),
        Scale::Offset => (-0.01f64..=0.01).prop_map(|u| 1e9 + u).boxed(),
        Scale::Huge => (1.0f64..10.0, 160i32..=307, any::<bool>())
            .prop_map(|(m, e, neg)| if neg { -m } else { m } * 10f64.powi(e))
            .boxed(),
    }
}

/// A finite `n×d` matrix (row-major): each column drawn at one scale (`scales` picks
/// among them), and rows repeated from a few distinct ones about half the time, so that
/// fewer distinct rows than components happens often.
fn finite_matrix(
    n: std::ops::Range<usize>,
    d: std::ops::Range<usize>,
    scales: Vec<(u32, Scale)>,
) -> impl Strategy<Value = (usize, usize, Vec<f64>)> {
    let scale = prop::strategy::Union::new_weighted(
        scales.into_iter().map(|(w, s)| (w, Just(s))).collect(),
    );
    (n, d)
        .prop_flat_map(move |(n, d)| {
            let cols = prop::collection::vec(scale.clone(), d).prop_flat_map(move |sc| {
                sc.into_iter()
                    .map(|s| prop::collection::vec(value(s), n))
                    .collect::<Vec<_>>()
            });
            let pattern = prop_oneof![
                Just((0..n).collect::<Vec<usize>>()),
                (1..=n).prop_flat_map(move |m| prop::collection::vec(0..m, n)),
            ];
            (Just(n), Just(d), cols, pattern)
        })
        .prop_map(|(n, d, cols, pattern)| {
            // Huge columns keep one value per row: a constant one (a repeated row) is
            // left to `constant_columns_far_from_zero_get_a_fit`.
            let x = (0..n * d)
                .map(|p| {
                    let (i, j) = (p / d, p % d);
                    let huge = cols[j].iter().any(|v| v.abs() > 1e150);
                    cols[j][if huge { i } else { pattern[i] }]
                })
                .collect();
            (n, d, x)
        })
}

/// The outcome the input decides, in the order `fit` checks: fewer rows than components,
/// then a column whose spread squared would overflow (the library's limit is a spread
/// of 1e150, computed as max − min in f64).
#[derive(Debug)]
enum Expected {
    TooFewRows,
    Overflow {
        column: usize,
    },
    /// Every column spans less than 1e4, with default reg_covar: a fit must come back.
    Fit,
}

fn expected(x: &[f64], n: usize, d: usize, k: usize) -> Option<Expected> {
    if n < k {
        return Some(Expected::TooFewRows);
    }
    let cols = reference::columns(x, d);
    if let Some(column) = (0..d).find(|&j| !(cols.span[j].is_finite() && cols.span[j] <= 1e150)) {
        return Some(Expected::Overflow { column });
    }
    // Spreads in (1e4, 1e150] are legal but make reg_covar negligible (the fit may then
    // fail on a covariance that rounding left not positive definite); the scales above
    // never draw them (a Huge column spans more than 1e150 but for one row, or for two
    // equal draws). Constant columns beyond 1e150 with several rows are the bug in
    // `constant_columns_far_from_zero_get_a_fit`.
    let far_constant = (0..d).any(|j| n > 1 && cols.span[j] == 0.0 && cols.mag[j] > 1e150);
    (cols.span.iter().all(|s| *s <= 1e4) && !far_constant).then_some(Expected::Fit)
}

/// Checks one fit's outcome against the rule (`x` as the fit saw it: f32-rounded for
/// f32 data). A fit is checked against independent f64 computations (see
/// `reference.rs`): finite numbers, weights summing to 1, means inside the data's range,
/// variances between reg_covar and span²/4 + reg_covar; the M-step identities against a
/// two-pass mean and covariance; the score against a direct log-likelihood of the model;
/// finite lower bound, BIC and AIC; the model file round trip.
#[allow(clippy::too_many_arguments)]
fn check_fit_outcome(
    fit: gaussmix::Result<GaussianMixture>,
    rule: Expected,
    x: &[f64],
    n: usize,
    d: usize,
    k: usize,
    tol: reference::Tol,
    f32_data: bool,
) -> Result<(), TestCaseError> {
    match (rule, fit) {
        (Expected::TooFewRows, Err(GmmError::InvalidData(msg))) => {
            prop_assert_eq!(
                msg,
                if n == 1 {
                    format!("1 sample (with positive weight) is fewer than n_components = {k}; use at most 1 component or more data")
                } else {
                    format!("{n} samples (with positive weight) are fewer than n_components = {k}; use at most {n} components or more data")
                }
            );
        }
        (Expected::Overflow { column }, Err(GmmError::InvalidData(msg))) => {
            prop_assert!(
                msg.starts_with(&format!("column {column} spans "))
                    && msg.contains("squared distances would overflow"),
                "{}",
                msg
            );
        }
        (Expected::Fit, Ok(m)) => {
            let kind = reference::Kind::parse(&m.covariance_type().to_string());
            let mix = reference::Mixture::new(
                kind,
                m.weights().to_vec(),
                m.means().iter().copied().collect(),
                m.covariances().to_array().iter().copied().collect(),
            );
            prop_assert_eq!((mix.k, mix.d), (k, d));
            let reg = 1e-6;
            reference::check_basic("fit", &mix, x, reg, tol);
            let rec = m.fit_record().unwrap();
            // A re-seed on the last iteration leaves re-seeded parameters, which do not
            // come out of an M-step.
            if rec
                .recoveries
                .last()
                .is_none_or(|r| r.iteration < rec.n_iter)
            {
                reference::check_total_moments("fit", &mix, x, reg, tol);
            }
            // Full and tied covariances on f32 data are computed in f64 here (the
            // anchored f32 kernel only pays from K = 16, D = 14 on).
            let want = reference::mean_log_likelihood(&mix, x);
            let mut score_tol = 1e-9 * (1.0 + want.abs());
            if matches!(kind, reference::Kind::Full | reference::Kind::Tied) {
                // Full and tied log-densities are only as accurate as Σ is conditioned:
                // both sides solve with it, so rounding can move each by ε·κ(Σ) relative
                // (κ ≤ trace Σ / reg_covar, since Σ = S + reg_covar·I with S ⪰ 0). Found
                // by a draw: 7 zero rows and one at (63, 0, −46), k = 1, κ ≈ 4e8, the two
                // scores 1.7e-8 apart relative.
                let covs = m.component_covariances();
                let kappa = covs
                    .iter()
                    .map(|c| c.diag().sum() / reg)
                    .fold(1.0, f64::max);
                score_tol += 4.0 * f64::EPSILON * kappa * (1.0 + want.abs());
            }
            if f32_data {
                // Part of each pass runs in f32 (measured: 1e-7 relative on a full fit).
                score_tol += 8.0 * f32::EPSILON as f64 * (1.0 + want.abs());
                if matches!(kind, reference::Kind::Diag | reference::Kind::Spherical) {
                    score_tol += reference::f32_product_score_tol(&mix, x);
                }
            }
            prop_assert!(
                (rec.score - want).abs() <= score_tol,
                "score {} but the model's mean log-likelihood is {} (tolerance {:e})",
                rec.score,
                want,
                score_tol
            );
            prop_assert!(rec.lower_bound.is_finite() && rec.bic.is_finite() && rec.aic.is_finite());
            prop_assert_eq!(rec.n_samples, n);
            prop_assert_eq!(GaussianMixture::from_json(&m.to_json()).unwrap(), m);
        }
        (rule, got) => prop_assert!(
            false,
            "expected {:?}, got {:?}",
            rule,
            got.map(|m| m.to_json())
        ),
    }
    Ok(())
}

/// Fits `x` rounded to f32; the rule is decided on the f32-rounded values.
fn check_f32_fit(
    n: usize,
    d: usize,
    x: &[f64],
    k: usize,
    kind: CovarianceType,
    recover: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let x: Vec<f64> = x32.iter().map(|v| *v as f64).collect();
    let rule = expected(&x, n, d, k).expect("f32 columns here span less than 2e3");
    let data = Data::from_slice_f32(&x32, n, d).unwrap();
    let fit = GaussianMixture::params(k)
        .covariance_type(kind)
        .recover(recover)
        .max_iter(20)
        .seed(seed)
        .fit(&data);
    check_fit_outcome(fit, rule, &x, n, d, k, reference::Tol::f32(1e-5), true)
}

/// A finite matrix with 1 to 3 of its values replaced by NaN or ±∞ (the first one, in
/// row-major order, is the one to be named).
fn poisoned_matrix() -> impl Strategy<Value = (usize, usize, Vec<f64>, usize)> {
    finite_matrix(1..25, 1..4, vec![(1, Scale::Moderate)]).prop_flat_map(|(n, d, x)| {
        let bad = prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        let spots = prop::collection::vec((0..n * d, bad), 1..4);
        (Just(n), Just(d), Just(x), spots).prop_map(|(n, d, mut x, spots)| {
            for &(p, v) in &spots {
                x[p] = v;
            }
            let first = spots.iter().map(|s| s.0).min().unwrap();
            (n, d, x, first)
        })
    })
}

fn assert_non_finite(
    err: GmmError,
    row: usize,
    column: usize,
    value: f64,
) -> Result<(), TestCaseError> {
    let text = err.to_string();
    match err {
        GmmError::NonFinite {
            row: r,
            column: c,
            value: v,
        } => {
            prop_assert_eq!((r, c), (row, column));
            prop_assert!(v.to_bits() == value.to_bits() || (v.is_nan() && value.is_nan()));
            prop_assert!(
                text.contains(&format!(
                    "non-finite value {value} at row {row}, column {column}"
                )),
                "{}",
                text
            );
        }
        other => prop_assert!(false, "expected NonFinite, got {:?}", other),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn model_loader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = GaussianMixture::from_json(&text);
    }

    #[test]
    fn model_loader_on_structured_json(
        kind in prop::sample::select(vec!["full", "tied", "diag", "spherical", "other"]),
        weights in prop::collection::vec(-1.0f64..2.0, 0..4),
        means in prop::collection::vec(prop::collection::vec(any_number().prop_filter("json", |v| v.is_finite()), 0..3), 0..4),
        cov in prop::collection::vec(prop::collection::vec(-2.0f64..2.0, 0..3), 0..4),
        version in prop::option::of(0u32..5),
    ) {
        let mut v = serde_json::json!({
            "covariance_type": kind, "weights": weights, "means": means,
            "covariances": if kind == "full" { serde_json::json!([cov.clone(), cov.clone()]) } else { serde_json::json!(cov) },
        });
        if let Some(ver) = version { v["version"] = ver.into(); }
        if let Ok(m) = GaussianMixture::from_json(&v.to_string()) {
            // A model that loads is usable: it scores its own means to finite numbers or
            // returns an error, and it round-trips.
            let back = GaussianMixture::from_json(&m.to_json()).unwrap();
            prop_assert_eq!(&back, &m);
            let _ = m.score_samples(&m.means());
        }
    }

    /// Finite f64 matrices across scales into `fit`, every covariance type, with and
    /// without `recover`: the outcome `expected` decides from the input, and each fit
    /// checked for accuracy (`check_fit_outcome`). Tolerances: 1e-9 of each column's
    /// spread for the identities (only rounding separates them), 1e-9 relative for the
    /// score.
    #[test]
    fn fit_on_finite_data_follows_the_rules(
        (n, d, x) in finite_matrix(1..25, 1..4, vec![(6, Scale::Moderate), (2, Scale::Offset), (1, Scale::Huge)]),
        k in 1usize..4,
        kind in prop::sample::select(CovarianceType::ALL.to_vec()),
        recover in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let Some(rule) = expected(&x, n, d, k) else {
            // Unreachable with these scales; see `expected`.
            return Err(TestCaseError::reject("spread between 1e4 and 1e150"));
        };
        let data = Data::from_slice(&x, n, d).unwrap();
        let fit = GaussianMixture::params(k).covariance_type(kind).recover(recover).max_iter(20).seed(seed).fit(&data);
        check_fit_outcome(fit, rule, &x, n, d, k, reference::Tol::f64(1e-9), false)?;
    }

    /// The same on f32 data and up to 7 features (the f32 product kernels), at moderate
    /// scales, spreads below 0.2 for diag and spherical (f32 holds nothing near the Huge
    /// scale; larger spreads and the offset scale are in the test below). Tolerances: diag and spherical moments come from f32 products, so
    /// 1e-5 of each column's spread for the identities, and the score within
    /// `reference::f32_product_score_tol`.
    #[test]
    fn fit_on_finite_f32_data_follows_the_rules(
        (n, d, x) in finite_matrix(1..40, 1..8, vec![(1, Scale::Moderate)]),
        k in 1usize..4,
        kind in prop::sample::select(CovarianceType::ALL.to_vec()),
        recover in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // diag and spherical: spreads below 0.2 (wider ones: the test below).
        let x: Vec<f64> = match kind {
            CovarianceType::Diag | CovarianceType::Spherical => x.iter().map(|v| v * 1e-4).collect(),
            _ => x,
        };
        check_f32_fit(n, d, &x, k, kind, recover, seed)?;
    }

    /// Regression: f32 data with diag or spherical covariances and a spread beyond a few
    /// units was refused. Moments came from f32 products about one common shift `c`, so
    /// the variance of a component holding one row cancelled to ±ε₃₂·(x − c)², beyond
    /// reg_covar = 1e-6 once |x − c| ≳ 3: "not positive definite" on e.g. 26 zero rows
    /// and one with 82.1, k = 2, where the f64 fit of the same values is fine; likewise a
    /// column at 1e9 (a constant column in f32). The products now shift rows per group
    /// of nearby components (`kernels::Group`), so both fit. And (session 4): a component
    /// collapsing within one iteration onto a row far from its group's shift (3 rows,
    /// k = 3, diag, recover: 6 re-seeds) had its variance cancelled by the f32 products;
    /// such a pass is now redone in f64 (`SuffStats::f32_cancellation_suspected`).
    #[test]
    fn fit_on_wider_f32_data_follows_the_rules(
        (n, d, x) in finite_matrix(1..40, 1..8, vec![(6, Scale::Moderate), (2, Scale::Offset)]),
        k in 1usize..4,
        kind in prop::sample::select(CovarianceType::ALL.to_vec()),
        recover in any::<bool>(),
        seed in any::<u64>(),
    ) {
        check_f32_fit(n, d, &x, k, kind, recover, seed)?;
    }

    /// Regression: a column that is constant at a magnitude beyond ~1e154 (spread 0, so
    /// accepted) made tied, diag and spherical fits fail with "a covariance contains a
    /// non-finite value": e.g. 6 rows at 8.6e202, k = 2. Means (the data's, and the
    /// kernels' common shift) summed plainly were rounded by ε·|x| ≈ 1e187, whose square
    /// overflows; they are now summed about a member, so a constant stays exact. A fit,
    /// that column's mean the constant and its variance reg_covar.
    #[test]
    fn constant_columns_far_from_zero_get_a_fit(
        (n, d, x) in finite_matrix(2..25, 1..3, vec![(1, Scale::Moderate)]),
        far in (1.0f64..10.0, 155i32..=307, any::<bool>()).prop_map(|(m, e, neg)| if neg { -m } else { m } * 10f64.powi(e)),
        k in 1usize..4,
        kind in prop::sample::select(CovarianceType::ALL.to_vec()),
        recover in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // One more column, constant at `far`.
        let x: Vec<f64> = x.chunks_exact(d).flat_map(|r| r.iter().copied().chain([far])).collect();
        let d = d + 1;
        let rule = if n < k { Expected::TooFewRows } else { Expected::Fit };
        let data = Data::from_slice(&x, n, d).unwrap();
        let fit = GaussianMixture::params(k).covariance_type(kind).recover(recover).max_iter(20).seed(seed).fit(&data);
        check_fit_outcome(fit, rule, &x, n, d, k, reference::Tol::f64(1e-9), false)?;
    }

    /// NaN and ±∞ are refused before any work, naming the first one (row-major) by its
    /// 0-based row and column, through every way in: a row-major slice, a column-major
    /// ndarray view (rows and columns stay logical), and `fit`.
    #[test]
    fn non_finite_values_are_refused_naming_the_first((n, d, x, first) in poisoned_matrix()) {
        let (row, column, value) = (first / d, first % d, x[first]);
        assert_non_finite(Data::from_slice(&x, n, d).unwrap_err(), row, column, value)?;
        let opts = GaussianMixture::params(1);
        let row_major = Array2::from_shape_vec((n, d), x.clone()).unwrap();
        assert_non_finite(opts.fit(&row_major).unwrap_err(), row, column, value)?;
        let col_major: Vec<f64> = (0..n * d).map(|p| x[(p % n) * d + p / n]).collect();
        let a = Array2::from_shape_vec((n, d).f(), col_major).unwrap();
        assert_non_finite(opts.fit(&a).unwrap_err(), row, column, value)?;
    }

    /// The same for f32 data (the value reported as f64).
    #[test]
    fn non_finite_f32_values_are_refused_naming_the_first((n, d, x, first) in poisoned_matrix()) {
        let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let (row, column, value) = (first / d, first % d, x32[first] as f64);
        let err = Data::from_slice_f32(&x32, n, d).unwrap_err();
        assert_non_finite(err, row, column, value)?;
    }
}
