//! Streamed data (`Data::from_reader`): every pass reads the rows again from the
//! reader, in the same fixed chunks as data in memory, so fits, predictions and scores
//! are the same bit for bit; a failed read is the fit's error.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gaussmix::source::{RowReader, SliceReader};
use gaussmix::{CovarianceType, Data, GaussianMixture, GmmError, InitMethod};

/// `n` rows of `d` features from three well-separated blobs (deterministic).
fn blobs(n: usize, d: usize) -> Vec<f64> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut unif = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        let c = (i % 3) as f64;
        for j in 0..d {
            let g: f64 = (0..4).map(|_| unif()).sum::<f64>() - 2.0;
            x.push(c * 6.0 * ((j % 2) as f64 * 2.0 - 1.0) + g + 100.0);
        }
    }
    x
}

fn assert_same(a: &GaussianMixture, b: &GaussianMixture) {
    assert_eq!(a.weights(), b.weights());
    assert_eq!(a.means(), b.means());
    assert_eq!(a.component_covariances(), b.component_covariances());
    let (ra, rb) = (a.fit_record().unwrap(), b.fit_record().unwrap());
    assert_eq!(ra.lower_bounds, rb.lower_bounds);
    assert_eq!(ra.n_iter, rb.n_iter);
}

#[test]
fn streamed_fits_equal_in_memory_fits_bit_for_bit() {
    // 2,600 rows: enough for em-EM to screen on a sample (2 × 1,000 rows).
    let (n, d) = (2600, 3);
    let x = blobs(n, d);
    let mem = Data::from_slice(&x, n, d).unwrap();
    for t in CovarianceType::ALL {
        for init in [
            InitMethod::EmEm,
            InitMethod::KMeansPlusPlus,
            InitMethod::KMeans,
        ] {
            for threads in [1, 2] {
                let reader = Arc::new(SliceReader::new(x.clone(), d).unwrap());
                let streamed = Data::from_reader(reader.clone()).unwrap();
                let opts = GaussianMixture::params(3)
                    .covariance_type(t)
                    .init(init)
                    .n_init(2)
                    .seed(7)
                    .n_threads(threads);
                let a = opts.fit(&mem).unwrap();
                let b = opts.fit(&streamed).unwrap();
                assert_same(&a, &b);
                // Every EM iteration read every row again (and nothing was held).
                let iters = b.fit_record().unwrap().n_iter;
                assert!(reader.rows_read() >= n * iters, "{t:?} {init:?}");
                assert_eq!(a.predict(&mem).unwrap(), b.predict(&streamed).unwrap());
                assert_eq!(a.score(&mem).unwrap(), b.score(&streamed).unwrap());
                assert_eq!(
                    a.predict_proba(&mem).unwrap(),
                    b.predict_proba(&streamed).unwrap()
                );
            }
        }
    }
}

#[test]
fn streamed_f32_and_weighted_fits_equal_in_memory_fits() {
    let (n, d) = (900, 2);
    let x = blobs(n, d);
    let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 4) as f64).collect();

    /// An f32 reader over the same values.
    #[derive(Debug)]
    struct F32Reader(Vec<f32>, usize);
    impl RowReader for F32Reader {
        fn n_rows(&self) -> usize {
            self.0.len() / self.1
        }
        fn n_features(&self) -> usize {
            self.1
        }
        fn is_f32(&self) -> bool {
            true
        }
        fn read_f64(&self, s: usize, e: usize, buf: &mut [f64]) -> gaussmix::Result<()> {
            for (o, v) in buf.iter_mut().zip(&self.0[s * self.1..e * self.1]) {
                *o = *v as f64;
            }
            Ok(())
        }
        fn read_f32(&self, s: usize, e: usize, buf: &mut [f32]) -> gaussmix::Result<()> {
            buf.copy_from_slice(&self.0[s * self.1..e * self.1]);
            Ok(())
        }
    }
    let opts = GaussianMixture::params(3).seed(2).n_init(2);
    let mem32 = Data::from_slice_f32(&x32, n, d).unwrap();
    let s32 = Data::from_reader(Arc::new(F32Reader(x32.clone(), d))).unwrap();
    assert!(s32.is_f32() && s32.is_streamed());
    assert_same(&opts.fit(&mem32).unwrap(), &opts.fit(&s32).unwrap());

    let memw = Data::from_slice(&x, n, d)
        .unwrap()
        .with_weights(&w)
        .unwrap();
    let sw = Data::from_reader(Arc::new(SliceReader::new(x.clone(), d).unwrap()))
        .unwrap()
        .with_weights(&w)
        .unwrap();
    assert_same(&opts.fit(&memw).unwrap(), &opts.fit(&sw).unwrap());
}

/// A reader that fails once `fail_after` rows have been read.
#[derive(Debug)]
struct Failing {
    inner: SliceReader,
    read: AtomicUsize,
    fail_after: usize,
}

impl RowReader for Failing {
    fn n_rows(&self) -> usize {
        self.inner.n_rows()
    }
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }
    fn read_f64(&self, s: usize, e: usize, buf: &mut [f64]) -> gaussmix::Result<()> {
        if self.read.fetch_add(e - s, Ordering::SeqCst) >= self.fail_after {
            return Err(GmmError::Source {
                message: format!("data.npy: cannot read rows {s}..{e}: disk on fire"),
            });
        }
        self.inner.read_f64(s, e, buf)
    }
}

#[test]
fn a_read_failing_during_the_fit_is_the_fits_error() {
    let (n, d) = (1000, 2);
    let x = blobs(n, d);
    // During the range check, during EM, and later, during a prediction.
    for fail_after in [0, 500, 5 * n] {
        let data = Data::from_reader(Arc::new(Failing {
            inner: SliceReader::new(x.clone(), d).unwrap(),
            read: AtomicUsize::new(0),
            fail_after,
        }))
        .unwrap();
        let fit = GaussianMixture::params(3)
            .seed(1)
            .max_iter(200)
            .tol(0.0)
            .fit(&data);
        let err = match fit {
            Err(e) => e,
            Ok(m) => m.predict(&data).expect_err("the reader had failed by now"),
        };
        assert!(
            err.to_string().contains("disk on fire"),
            "{fail_after}: {err}"
        );
    }
}

#[test]
fn a_reader_without_rows_or_columns_is_refused() {
    let empty = Data::from_reader(Arc::new(SliceReader::new(vec![], 2).unwrap()));
    assert!(empty.unwrap_err().to_string().contains("no rows"));
}

#[test]
fn the_init_sample_is_reproducible_and_the_same_for_streamed_data() {
    let (n, d) = (5000, 2);
    let x = blobs(n, d);
    let mem = Data::from_slice(&x, n, d).unwrap();
    let streamed = Data::from_reader(Arc::new(SliceReader::new(x.clone(), d).unwrap())).unwrap();
    for init in [InitMethod::EmEm, InitMethod::KMeansPlusPlus] {
        let opts = GaussianMixture::params(3)
            .init(init)
            .init_sample(700)
            .seed(5);
        let a = opts.fit(&mem).unwrap();
        assert_same(&a, &opts.fit(&mem).unwrap());
        assert_same(&a, &opts.fit(&streamed).unwrap());
        assert_eq!(a.fit_record().unwrap().options.init_sample, Some(700));
        // Another seed draws another sample (and the fit still finds the blobs).
        let b = opts.clone().seed(6).fit(&mem).unwrap();
        assert!((a.score(&mem).unwrap() - b.score(&mem).unwrap()).abs() < 1e-3);
    }
    // A sample as large as the data is the data.
    let all = GaussianMixture::params(3).seed(5);
    assert_same(
        &all.clone().init_sample(n).fit(&mem).unwrap(),
        &all.fit(&mem).unwrap(),
    );
    // Fewer rows than components cannot start them.
    let e = GaussianMixture::params(3)
        .init_sample(2)
        .fit(&mem)
        .unwrap_err();
    assert!(e.to_string().contains("init_sample"), "{e}");
}
