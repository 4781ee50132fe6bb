//! f32 data: the same fits as f64 to f32 precision, monotone EM, thread-independent.

mod common;

use common::*;
use gaussmix::{CovarianceType, Data, GaussianMixture, StartParameters};
use ndarray::Array2;

fn start_for(case: &Case, kind: CovarianceType) -> StartParameters {
    let k = case.json["n_components"].as_u64().unwrap() as usize;
    let d = case.json["n_features"].as_u64().unwrap() as usize;
    // The fixture's weights and means; covariances from one f64 M-step of that start.
    let model = GaussianMixture::builder(k)
        .covariance_type(kind)
        .means_init(mat(&case.json["init"]["means"], k, d))
        .weights_init(vec1(&case.json["init"]["weights"]))
        .max_iter(1)
        .build()
        .unwrap()
        .fit(case.x.view())
        .unwrap();
    StartParameters::from_model(&model)
}

#[test]
fn f32_fits_match_f64_fits() {
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
            let opts = GaussianMixture::builder(k)
                .covariance_type(kind)
                .start(start)
                .tol(0.0)
                .max_iter(25)
                .build()
                .unwrap();
            let a = opts
                .fit_data(&Data::from_slice_f32(&x32, n, d).unwrap())
                .unwrap();
            // The reference sees the same (f32-rounded) values in f64.
            let b = opts.fit(x64.view()).unwrap();
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
    let case = load("synthetic_5000x5_full");
    let x32: Vec<f32> = case.x.iter().map(|v| *v as f32).collect();
    let (n, d) = case.x.dim();
    let data = Data::from_slice_f32(&x32, n, d).unwrap();
    for kind in CovarianceType::ALL {
        let fit = |threads: usize| {
            GaussianMixture::builder(6)
                .covariance_type(kind)
                .init(gaussmix::InitMethod::Random)
                .seed(3)
                .tol(0.0)
                .max_iter(40)
                .n_threads(threads)
                .build()
                .unwrap()
                .fit_data(&data)
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
        let p32 = a.predict_data(&data).unwrap();
        let p64 = a
            .predict_data(&Data::from_slice(&x64, n, d).unwrap())
            .unwrap();
        let differ = p32.iter().zip(&p64).filter(|(u, v)| u != v).count();
        assert!(differ <= n / 1000, "{kind}: {differ} labels differ");
    }
}

#[test]
fn f32_non_finite_values_are_located() {
    let x = [1.0f32, 2.0, f32::NAN, 4.0];
    match Data::from_slice_f32(&x, 2, 2) {
        Err(gaussmix::GmmError::NonFinite { row, column, .. }) => assert_eq!((row, column), (1, 0)),
        other => panic!("unexpected {other:?}"),
    }
}
