//! Arbitrary bytes and arbitrary matrices never panic: the CSV reader, the NPY reader and
//! the model loader return a value or an error; `fit` returns an error or a finite model.

use gaussmix::{CovarianceType, Data, GaussianMixture};
use gaussmix_cli::read::{parse_npy, parse_text};
use proptest::prelude::*;

fn npy_header(descr: &str, fortran: bool, shape: &str) -> Vec<u8> {
    let mut h = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((h.len() as u16).to_le_bytes());
    b.extend(h.as_bytes());
    b
}

/// Numbers across every scale, plus the non-finite ones.
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for d in [',', '\t', ' ', ';'] {
                if let Ok(t) = parse_text(text, d, "fuzz") {
                    prop_assert_eq!(t.values.len(), t.n * t.d);
                    prop_assert!(t.values.iter().all(|v| v.is_finite()));
                }
            }
        }
    }

    #[test]
    fn csv_reader_on_numberish_text(cells in prop::collection::vec(prop::collection::vec("[-+0-9.eEnaif ]{0,6}", 1..4), 0..8)) {
        let text: String = cells.iter().map(|r| r.join(",") + "\n").collect();
        if let Ok(t) = parse_text(&text, ',', "fuzz") {
            prop_assert!(t.values.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn npy_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_npy(&bytes);
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend(&bytes);
        let _ = parse_npy(&b);
    }

    #[test]
    fn npy_reader_with_valid_headers(
        descr in prop::sample::select(vec!["<f8", ">f8", "<f4", ">f4", "<i4", "|u1"]),
        fortran in any::<bool>(),
        n in 0usize..5, d in 0usize..4,
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut b = npy_header(descr, fortran, &format!("({n}, {d})"));
        b.extend(&body);
        if let Ok(t) = parse_npy(&b) {
            prop_assert_eq!(t.values.len(), n * d);
            prop_assert!(t.values.iter().all(|v| v.is_finite()));
        }
    }

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
        version in prop::option::of(0u32..3),
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
            let _ = m.score_samples(m.means());
        }
    }

    #[test]
    fn fit_gives_an_error_or_a_finite_model(
        n in 1usize..25, d in 1usize..4, k in 1usize..4,
        values in prop::collection::vec(any_number(), 100),
        kind in prop::sample::select(CovarianceType::ALL.to_vec()),
        recover in any::<bool>(),
    ) {
        let x: Vec<f64> = (0..n * d).map(|i| values[i % values.len()]).collect();
        let Ok(data) = Data::from_slice(&x, n, d) else { return Ok(()); };
        let fit = GaussianMixture::builder(k).covariance_type(kind).recover(recover).max_iter(20).build().unwrap().fit_data(&data);
        if let Ok(m) = fit {
            prop_assert!(m.weights().iter().all(|v| v.is_finite()));
            prop_assert!(m.means().iter().all(|v| v.is_finite()));
            prop_assert!(m.covariances().to_array().iter().all(|v| v.is_finite()));
            let rec = m.fit_record().unwrap();
            prop_assert!(rec.score.is_finite() && rec.bic.is_finite() && rec.lower_bound.is_finite());
            // A finite model round-trips through its file.
            prop_assert_eq!(GaussianMixture::from_json(&m.to_json()).unwrap(), m);
        }
    }

    /// The same on f32 data and up to 7 features, where full covariances run the
    /// anchored f32 kernel and extreme values overflow f32 arithmetic.
    #[test]
    fn fit_on_f32_data_gives_an_error_or_a_finite_model(
        n in 1usize..40, d in 1usize..8, k in 1usize..4,
        values in prop::collection::vec(any_number(), 100),
        kind in prop::sample::select(CovarianceType::ALL.to_vec()),
        recover in any::<bool>(),
    ) {
        let x: Vec<f32> = (0..n * d).map(|i| values[(i * 7) % values.len()] as f32).collect();
        let Ok(data) = Data::from_slice_f32(&x, n, d) else { return Ok(()); };
        let fit = GaussianMixture::builder(k).covariance_type(kind).recover(recover).max_iter(20).build().unwrap().fit_data(&data);
        if let Ok(m) = fit {
            prop_assert!(m.weights().iter().all(|v| v.is_finite()));
            prop_assert!(m.means().iter().all(|v| v.is_finite()));
            prop_assert!(m.covariances().to_array().iter().all(|v| v.is_finite()));
            let rec = m.fit_record().unwrap();
            prop_assert!(rec.score.is_finite() && rec.bic.is_finite() && rec.lower_bound.is_finite());
        }
    }
}
