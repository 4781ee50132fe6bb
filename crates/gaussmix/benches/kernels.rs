//! Kernel throughput next to the machine's own matrix-product peak, measured in the same
//! run: `cargo bench -p gaussmix`. Throughput is reported as elements/s where one
//! element is one floating-point operation, so "Gelem/s" reads as GFLOP/s.
//!
//! Flop counts (multiply and add counted separately):
//! - matmul n×n×n: 2n³.
//! - full: 4·N·K·D², the count for per-component products (the packed
//!   kernel executes 4·N·K·(D(D+1)/2 + D) — 19.5 of the 32.8 GFLOP per 1M rows at
//!   D = 16, K = 32 — so its rate by this count can exceed the peak). `full_f32` runs
//!   the same workload on f32 data (the anchored f32 kernel) with the same count, so
//!   the two rates compare directly.
//! - tied: 4·N·D² + 3·N·K·D.
//! - diag: 8·N·K·D (two products each way); spherical: 6·N·K·D.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use gaussmix::bench::em_iteration;
use gaussmix::{CovarianceType, Covariances, Data, GaussianMixture};
use ndarray::{Array1, Array2, Array3};

/// One independent sequential `n×n×n` product per core: the machine's aggregate peak.
fn peak_case<T: faer::traits::ComplexField + Copy + From<u8> + Send + Sync>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    n: usize,
) {
    let threads = rayon::current_num_threads();
    let mats: Vec<(Mat<T>, Mat<T>)> = (0..threads)
        .map(|t| {
            (
                Mat::<T>::from_fn(n, n, |i, j| T::from(((i * 7 + j * 3 + t) % 11) as u8)),
                Mat::<T>::from_fn(n, n, |i, j| T::from(((i + 2 * j + t) % 5) as u8)),
            )
        })
        .collect();
    let mut dsts: Vec<Mat<T>> = (0..threads).map(|_| Mat::<T>::zeros(n, n)).collect();
    g.throughput(Throughput::Elements(threads as u64 * 2 * (n as u64).pow(3)));
    g.bench_with_input(
        BenchmarkId::new(format!("{name}_{threads}_cores"), n),
        &n,
        |bch, _| {
            bch.iter(|| {
                use rayon::prelude::*;
                dsts.par_iter_mut()
                    .zip(mats.par_iter())
                    .for_each(|(dst, (a, b))| {
                        matmul(
                            dst.as_mut(),
                            Accum::Replace,
                            a.as_ref(),
                            b.as_ref(),
                            T::from(1),
                            Par::Seq,
                        )
                    })
            })
        },
    );
}

fn matmul_peak(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_peak");
    g.sample_size(10);
    for n in [1024usize, 2048] {
        peak_case::<f64>(&mut g, "f64", n);
    }
    peak_case::<f32>(&mut g, "f32", 2048);
    g.finish();
}

/// A model with spread-out means and unit-ish covariances, and data drawn from it.
fn workload(kind: CovarianceType, n: usize, d: usize, k: usize) -> (Vec<f64>, GaussianMixture) {
    let means = Array2::from_shape_fn((k, d), |(c, j)| {
        3.0 * (((c * 31 + j * 17) % 13) as f64 - 6.0)
    });
    let cov = match kind {
        CovarianceType::Full => Covariances::Full(Array3::from_shape_fn((k, d, d), |(_, a, b)| {
            if a == b {
                1.0
            } else {
                0.1
            }
        })),
        CovarianceType::Tied => Covariances::Tied(Array2::from_shape_fn((d, d), |(a, b)| {
            if a == b {
                1.0
            } else {
                0.1
            }
        })),
        CovarianceType::Diag => Covariances::Diag(Array2::from_elem((k, d), 1.0)),
        CovarianceType::Spherical => Covariances::Spherical(Array1::from_elem(k, 1.0)),
    };
    let model =
        GaussianMixture::from_parameters(Array1::from_elem(k, 1.0 / k as f64), means, cov).unwrap();
    let (x, _) = model.sample(n, 1).unwrap();
    (x.into_raw_vec_and_offset().0, model)
}

fn em_iterations(c: &mut Criterion) {
    let mut g = c.benchmark_group("em_iteration");
    g.sample_size(10);
    let cases = [
        ("full", CovarianceType::Full, 100_000, 16, 32),
        ("full_f32", CovarianceType::Full, 100_000, 16, 32),
        ("full", CovarianceType::Full, 100_000, 8, 16),
        ("full", CovarianceType::Full, 500_000, 2, 8),
        ("tied", CovarianceType::Tied, 100_000, 16, 16),
        ("diag", CovarianceType::Diag, 50_000, 64, 64),
        ("spherical", CovarianceType::Spherical, 100_000, 16, 16),
    ];
    for (name, kind, n, d, k) in cases {
        let (x, model) = workload(kind, n, d, k);
        let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let data = if name.ends_with("f32") {
            Data::from_slice_f32(&x32, n, d).unwrap()
        } else {
            Data::from_slice(&x, n, d).unwrap()
        };
        let (nn, dd, kk) = (n as u64, d as u64, k as u64);
        let flops = match kind {
            CovarianceType::Full => 4 * nn * kk * dd * dd,
            CovarianceType::Tied => 4 * nn * dd * dd + 3 * nn * kk * dd,
            CovarianceType::Diag => 8 * nn * kk * dd,
            CovarianceType::Spherical => 6 * nn * kk * dd,
        };
        g.throughput(Throughput::Elements(flops));
        g.bench_function(BenchmarkId::new(name, format!("N{n}_D{d}_K{k}")), |b| {
            b.iter(|| em_iteration(&data, &model, 1e-6).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, matmul_peak, em_iterations);
criterion_main!(benches);
