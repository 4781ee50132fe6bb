//! EM over blocks (`gaussmix::blocks`, what `gaussmix.dask` runs on its workers).
//!
//! What is checked: from the same start, EM over blocks (uneven, one empty, statistics
//! shipped as bytes) equals the in-memory fit — parameters, lower bounds, n_iter, the
//! record's score and warnings — for every covariance type, with weights and f32 data;
//! the merge does not depend on how the rows are cut into blocks; far from the origin
//! it tracks the fit of the centred data; the statistics' size does not depend on the
//! rows; statistics computed under other parameters (another iteration or restart,
//! even with the same means) are refused, as is a singular start; a block of weight
//! 0 counts only its rows; the statistics agree across
//! instruction sets (AVX-512, AVX2, portable, in child processes) to 1e-12.

mod common;

use gaussmix::blocks::{BlockEm, BlockStats};
use gaussmix::{CovarianceType, Covariances, Data, GaussianMixture, GmmOptions};
use ndarray::{array, s, Array2, Array3};

fn truth(offset: f64) -> GaussianMixture {
    let cov = Array3::from_shape_vec(
        (3, 2, 2),
        vec![1.0, 0.3, 0.3, 0.5, 0.4, -0.1, -0.1, 0.8, 2.0, 0.0, 0.0, 0.3],
    )
    .unwrap();
    GaussianMixture::from_parameters(
        array![0.5, 0.3, 0.2],
        array![
            [offset, offset],
            [offset + 6.0, offset + 1.0],
            [offset - 3.0, offset + 7.0]
        ],
        Covariances::Full(cov),
    )
    .unwrap()
}

fn start(kind: CovarianceType, offset: f64) -> GaussianMixture {
    let cov = match kind {
        CovarianceType::Full => Covariances::Full(Array3::from_shape_fn((3, 2, 2), |(_, a, b)| {
            if a == b {
                2.0
            } else {
                0.0
            }
        })),
        CovarianceType::Tied => Covariances::Tied(array![[2.0, 0.1], [0.1, 2.0]]),
        CovarianceType::Diag => Covariances::Diag(Array2::from_elem((3, 2), 2.0)),
        CovarianceType::Spherical => Covariances::Spherical(array![2.0, 2.0, 2.0]),
    };
    GaussianMixture::from_parameters(
        array![0.4, 0.3, 0.3],
        array![
            [offset + 1.0, offset],
            [offset + 4.0, offset + 2.0],
            [offset - 1.0, offset + 5.0]
        ],
        cov,
    )
    .unwrap()
}

/// Row ranges of uneven blocks, one of them empty.
const CUTS: [usize; 6] = [0, 700, 700, 1500, 2650, 3000];

fn weights(n: usize) -> Vec<f64> {
    (0..n).map(|i| 0.25 + (i % 7) as f64 * 0.5).collect()
}

/// EM over the blocks of `x` cut at `cuts`, every block's statistics shipped as bytes.
fn block_fit(
    opts: &GmmOptions,
    start: &GaussianMixture,
    x: &Array2<f64>,
    w: Option<&[f64]>,
    cuts: &[usize],
) -> GaussianMixture {
    let pass = |model: &GaussianMixture| -> BlockStats {
        let parts: Vec<BlockStats> = cuts
            .windows(2)
            .map(|c| {
                let st = if c[0] == c[1] {
                    BlockStats::empty(model)
                } else {
                    let mut data = Data::from_view(x.slice(s![c[0]..c[1], ..])).unwrap();
                    match w.map(|w| &w[c[0]..c[1]]) {
                        // A block of weight 0 (a Data cannot carry all-zero weights).
                        Some(w) if w.iter().all(|v| *v == 0.0) => {
                            BlockStats::zero_weight(&[model], &data).unwrap().remove(0)
                        }
                        Some(w) => {
                            data = data.with_weights(w).unwrap();
                            BlockStats::compute(model, &data).unwrap()
                        }
                        None => BlockStats::compute(model, &data).unwrap(),
                    }
                };
                BlockStats::from_bytes(&st.to_bytes()).unwrap()
            })
            .collect();
        BlockStats::merge(&parts).unwrap()
    };
    let mut em = BlockEm::new(opts, start).unwrap();
    while !em.done() {
        let st = pass(&em.model());
        em.step(&st).unwrap();
    }
    let last = pass(&em.model());
    em.finish(&last).unwrap()
}

fn memory_fit(
    opts: &GmmOptions,
    start: &GaussianMixture,
    x: &Array2<f64>,
    w: Option<&[f64]>,
) -> GaussianMixture {
    let opts = opts.clone().warm_start(start);
    match w {
        Some(w) => opts
            .fit(&Data::from_view(x.view()).unwrap().with_weights(w).unwrap())
            .unwrap(),
        None => opts.fit(x).unwrap(),
    }
}

fn covs(m: &GaussianMixture) -> Vec<f64> {
    m.component_covariances()
        .iter()
        .flat_map(|c| c.iter().copied().collect::<Vec<_>>())
        .collect()
}

fn assert_same_fit(what: &str, got: &GaussianMixture, want: &GaussianMixture, rtol: f64) {
    assert_eq!(got.n_iter(), want.n_iter(), "{what}: n_iter");
    assert_eq!(got.converged(), want.converged(), "{what}: converged");
    let (g, w) = (got.fit_record().unwrap(), want.fit_record().unwrap());
    common::assert_close(
        &format!("{what}: lower bounds"),
        &g.lower_bounds,
        &w.lower_bounds,
        rtol,
    );
    common::assert_close(&format!("{what}: score"), &[g.score], &[w.score], rtol);
    assert_eq!(g.total_weight, w.total_weight, "{what}: total weight");
    assert_eq!(g.n_samples, w.n_samples, "{what}: n_samples");
    let kinds = |r: &gaussmix::FitRecord| r.warnings.iter().map(|w| w.kind).collect::<Vec<_>>();
    assert_eq!(kinds(g), kinds(w), "{what}: warnings");
    common::assert_close(
        &format!("{what}: weights"),
        got.weights().as_slice().unwrap(),
        want.weights().as_slice().unwrap(),
        rtol,
    );
    common::assert_close(
        &format!("{what}: means"),
        got.means().as_slice().unwrap(),
        want.means().as_slice().unwrap(),
        rtol,
    );
    common::assert_close(
        &format!("{what}: covariances"),
        &covs(got),
        &covs(want),
        rtol,
    );
}

#[test]
fn block_em_equals_the_in_memory_fit_for_every_type() {
    let x = truth(0.0).sample(3000, 5).unwrap().0;
    let w = weights(3000);
    for kind in CovarianceType::ALL {
        for weighted in [false, true] {
            let opts = GaussianMixture::params(3)
                .covariance_type(kind)
                .tol(1e-9)
                .max_iter(300);
            let st = start(kind, 0.0);
            let wv = weighted.then_some(w.as_slice());
            let got = block_fit(&opts, &st, &x, wv, &CUTS);
            let want = memory_fit(&opts, &st, &x, wv);
            assert!(
                got.n_iter() > 3,
                "{kind}: the fit should take several iterations"
            );
            assert_same_fit(&format!("{kind} weighted={weighted}"), &got, &want, 1e-10);
        }
    }
}

#[test]
fn a_block_of_weight_zero_counts_only_its_rows() {
    let x = truth(0.0).sample(3000, 15).unwrap().0;
    let mut w = weights(3000);
    w[700..1500].fill(0.0);
    let opts = GaussianMixture::params(3)
        .tol(1e-9)
        .covariance_type(CovarianceType::Diag);
    let st = start(CovarianceType::Diag, 0.0);
    let got = block_fit(&opts, &st, &x, Some(&w), &CUTS);
    let want = memory_fit(&opts, &st, &x, Some(&w));
    assert_same_fit("zero-weight block", &got, &want, 1e-10);
    assert_eq!(got.fit_record().unwrap().n_samples, 3000);
}

#[test]
fn statistics_as_arrays() {
    let x = truth(0.0).sample(500, 16).unwrap().0;
    for kind in CovarianceType::ALL {
        let m = start(kind, 0.0);
        let st = BlockStats::compute(&m, &Data::from_view(x.view()).unwrap()).unwrap();
        let total: f64 = st.counts().iter().sum();
        assert!(
            (total - 500.0).abs() < 1e-9,
            "{kind}: the counts sum to the rows"
        );
        assert_eq!(st.first_moments().len(), 6);
        assert_eq!(st.shift().len(), 6);
        assert_eq!(st.means(), m.means().as_slice().unwrap());
        let m2 = st.second_moments();
        match kind {
            CovarianceType::Full => {
                assert_eq!(m2.len(), 12);
                for c in 0..3 {
                    assert_eq!(m2[c * 4 + 1], m2[c * 4 + 2], "{kind}: symmetric");
                }
            }
            CovarianceType::Tied => assert_eq!(m2.len(), 4),
            _ => assert_eq!(m2.len(), 6),
        }
        assert!(m2.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn block_em_stops_like_the_in_memory_fit() {
    // Not converged at max_iter, and a loose tol that stops early.
    let x = truth(0.0).sample(1000, 8).unwrap().0;
    for (tol, max_iter) in [(1e-12, 4), (0.05, 100)] {
        let opts = GaussianMixture::params(3).tol(tol).max_iter(max_iter);
        let st = start(CovarianceType::Full, 0.0);
        let got = block_fit(&opts, &st, &x, None, &[0, 400, 1000]);
        let want = memory_fit(&opts, &st, &x, None);
        assert_same_fit(
            &format!("tol={tol} max_iter={max_iter}"),
            &got,
            &want,
            1e-10,
        );
    }
}

#[test]
fn the_cut_into_blocks_changes_only_rounding() {
    let x = truth(0.0).sample(2000, 9).unwrap().0;
    let opts = GaussianMixture::params(3).tol(1e-9);
    let st = start(CovarianceType::Full, 0.0);
    let one = block_fit(&opts, &st, &x, None, &[0, 2000]);
    let many = block_fit(&opts, &st, &x, None, &[0, 1, 2, 3, 500, 501, 1999, 2000]);
    assert_same_fit("1 vs 7 blocks", &many, &one, 1e-11);
}

#[test]
fn far_from_the_origin_block_em_tracks_the_fit_of_the_centred_data() {
    let offset = 1e9;
    let centred = truth(0.0).sample(2000, 12).unwrap().0;
    let far = &centred + offset;
    for kind in CovarianceType::ALL {
        let opts = GaussianMixture::params(3)
            .covariance_type(kind)
            .tol(1e-9)
            .max_iter(40);
        let got = block_fit(&opts, &start(kind, offset), &far, None, &[0, 999, 2000]);
        let want = block_fit(&opts, &start(kind, 0.0), &centred, None, &[0, 999, 2000]);
        assert_eq!(got.n_iter(), want.n_iter(), "{kind}: n_iter");
        let moved: Vec<f64> = got.means().iter().map(|m| m - offset).collect();
        // The data themselves are rounded at 1e9 (ulp 1.2e-7), so the means agree to
        // that, not better; the covariances to its square relative to their size.
        common::assert_close(
            &format!("{kind}: means"),
            &moved,
            want.means().as_slice().unwrap(),
            1e-6,
        );
        common::assert_close(
            &format!("{kind}: covariances"),
            &covs(&got),
            &covs(&want),
            1e-6,
        );
    }
}

#[test]
fn statistics_are_compact_and_their_size_does_not_depend_on_the_rows() {
    let x = truth(0.0).sample(5000, 3).unwrap().0;
    for kind in CovarianceType::ALL {
        let m = start(kind, 0.0);
        let small =
            BlockStats::compute(&m, &Data::from_view(x.slice(s![..10, ..])).unwrap()).unwrap();
        let big = BlockStats::compute(&m, &Data::from_view(x.view()).unwrap()).unwrap();
        let (a, b) = (small.to_bytes(), big.to_bytes());
        assert_eq!(a.len(), b.len(), "{kind}");
        // K = 3, D = 2: a header and fewer than 40 numbers.
        assert!(a.len() < 8 * 60, "{kind}: {} bytes", a.len());
        let back = BlockStats::from_bytes(&b).unwrap();
        assert_eq!(back.to_bytes(), b, "{kind}: the encoding round-trips");
        assert_eq!(back.n_samples(), 5000);
        assert_eq!(back.log_likelihood(), big.log_likelihood());
    }
}

#[test]
fn bad_statistics_are_refused() {
    let x = truth(0.0).sample(300, 4).unwrap().0;
    let opts = GaussianMixture::params(3).tol(1e-9);
    let st = start(CovarianceType::Full, 0.0);
    let data = Data::from_view(x.view()).unwrap();
    let mut em = BlockEm::new(&opts, &st).unwrap();
    let first = BlockStats::compute(&em.model(), &data).unwrap();
    em.step(&first).unwrap();
    let second = BlockStats::compute(&em.model(), &data).unwrap();
    // Two iterations' statistics do not merge, and old statistics do not step.
    let e = BlockStats::merge(&[first.clone(), second]).unwrap_err();
    assert!(e.to_string().contains("other parameters"), "{e}");
    let e = em.step(&first).unwrap_err();
    assert!(e.to_string().contains("other parameters"), "{e}");
    // A run that is done takes no more steps.
    let mut one = BlockEm::new(&opts.clone().max_iter(1), &st).unwrap();
    one.step(&BlockStats::compute(&one.model(), &data).unwrap())
        .unwrap();
    assert!(one.done());
    let e = one
        .step(&BlockStats::compute(&one.model(), &data).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("done"), "{e}");
    // Truncated or foreign bytes.
    let bytes = first.to_bytes();
    for bad in [
        &bytes[..bytes.len() - 8],
        &bytes[1..],
        b"GMXBLK01".as_slice(),
        &[],
    ] {
        assert!(BlockStats::from_bytes(bad).is_err());
    }
    // Statistics under other weights or covariances with the same means (another
    // restart, say) do not merge and do not step either.
    let cov = Covariances::Full(Array3::from_shape_fn((3, 2, 2), |(_, a, b)| {
        if a == b {
            3.0
        } else {
            0.0
        }
    }));
    let other = GaussianMixture::from_parameters(array![0.2, 0.2, 0.6], st.means().to_owned(), cov)
        .unwrap();
    let a = BlockStats::compute(&st, &data).unwrap();
    let b = BlockStats::compute(&other, &data).unwrap();
    assert!(BlockStats::merge(&[a, b.clone()]).is_err());
    let mut fresh = BlockEm::new(&opts, &st).unwrap();
    let e = fresh.step(&b).unwrap_err();
    assert!(e.to_string().contains("other parameters"), "{e}");
    // A singular start is refused as the in-memory fit refuses it.
    let flat = Covariances::Full(Array3::zeros((3, 2, 2)));
    let e = BlockEm::from_parameters(
        &opts.clone().reg_covar(0.0),
        array![0.4, 0.3, 0.3],
        st.means().to_owned(),
        flat,
    )
    .err()
    .unwrap();
    assert!(
        matches!(e, gaussmix::GmmError::NotPositiveDefinite { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("at initialisation"), "{e}");
    // A block with other columns; no blocks at all; recover.
    let wide = Array2::<f64>::zeros((5, 3));
    let e = BlockStats::compute(&st, &Data::from_view(wide.view()).unwrap()).unwrap_err();
    assert!(e.to_string().contains("3 columns"), "{e}");
    assert!(BlockStats::merge(&[]).is_err());
    assert!(BlockEm::new(&opts.clone().recover(true), &st).is_err());
    // Fewer rows than components, found on the first step.
    let two = x.slice(s![..2, ..]);
    let mut em = BlockEm::new(&opts, &st).unwrap();
    let few = BlockStats::compute(&em.model(), &Data::from_view(two).unwrap()).unwrap();
    let e = em.step(&few).unwrap_err();
    assert!(e.to_string().contains("fewer than n_components"), "{e}");
}

#[test]
fn f32_blocks_equal_the_in_memory_f32_fit() {
    let x = truth(0.0).sample(2000, 6).unwrap().0.mapv(|v| v as f32);
    let opts = GaussianMixture::params(3).tol(1e-7);
    let st = start(CovarianceType::Diag, 0.0);
    let opts = opts.covariance_type(CovarianceType::Diag);
    let mut em = BlockEm::new(&opts, &st).unwrap();
    let pass = |m: &GaussianMixture| {
        let parts: Vec<BlockStats> = [0, 900, 2000]
            .windows(2)
            .map(|c| {
                BlockStats::compute(
                    m,
                    &Data::from_view_f32(x.slice(s![c[0]..c[1], ..])).unwrap(),
                )
                .unwrap()
            })
            .collect();
        BlockStats::merge(&parts).unwrap()
    };
    while !em.done() {
        em.step(&pass(&em.model())).unwrap();
    }
    let last = pass(&em.model());
    let got = em.finish(&last).unwrap();
    let want = opts.clone().warm_start(&st).fit(&x).unwrap();
    assert_same_fit("f32 diag", &got, &want, 1e-6);
}

/// Writes this process's block statistics (every type, two blocks) for the parent test
/// below, to the file in `GAUSSMIX_TEST_DUMP`. Run only by that test.
#[test]
#[ignore = "a child of statistics_agree_across_instruction_sets"]
fn dump_block_statistics() {
    common::force_kernels_for_child();
    let path = std::env::var("GAUSSMIX_TEST_DUMP").expect("GAUSSMIX_TEST_DUMP names the output");
    let x = truth(1e5).sample(4000, 21).unwrap().0;
    let mut out = Vec::new();
    for kind in CovarianceType::ALL {
        let m = start(kind, 1e5);
        for c in [[0usize, 1700], [1700, 4000]] {
            let data = Data::from_view(x.slice(s![c[0]..c[1], ..])).unwrap();
            let st = BlockStats::compute(&m, &data).unwrap();
            out.push(st.to_bytes());
        }
    }
    let text: Vec<String> = out
        .iter()
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
        .collect();
    std::fs::write(path, text.join("\n")).unwrap();
}

#[test]
fn statistics_agree_across_instruction_sets() {
    let dir = std::env::temp_dir().join(format!("gaussmix-blocks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut dumps = Vec::new();
    // The best the CPU has (AVX-512 here), then capped to AVX2 and to portable code.
    for spec in ["best", "simd=avx2", "simd=portable"] {
        let path = dir.join(spec.replace('=', "-"));
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "dump_block_statistics",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env("GAUSSMIX_TEST_DUMP", &path)
        .env_remove(common::CHILD_KERNELS);
        if spec != "best" {
            cmd.env(common::CHILD_KERNELS, spec);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{spec}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let parts: Vec<BlockStats> = text
            .lines()
            .map(|l| {
                let b: Vec<u8> = (0..l.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                    .collect();
                BlockStats::from_bytes(&b).unwrap()
            })
            .collect();
        dumps.push((spec, parts));
    }
    std::fs::remove_dir_all(&dir).ok();
    let x = truth(1e5).sample(4000, 21).unwrap().0;
    let (_, reference) = &dumps[0];
    for (spec, parts) in &dumps[1..] {
        for (t, kind) in CovarianceType::ALL.iter().enumerate() {
            // One EM step from each machine's merged statistics, and from a merge of
            // one block from each machine (a cluster of mixed CPUs).
            let opts = GaussianMixture::params(3).covariance_type(*kind);
            let step = |a: &BlockStats, b: &BlockStats| {
                let mut em = BlockEm::new(&opts, &start(*kind, 1e5)).unwrap();
                let l = em
                    .step(&BlockStats::merge(&[a.clone(), b.clone()]).unwrap())
                    .unwrap();
                (l, em.model())
            };
            let (l0, m0) = step(&reference[2 * t], &reference[2 * t + 1]);
            let (l1, m1) = step(&parts[2 * t], &parts[2 * t + 1]);
            let (l2, m2) = step(&reference[2 * t], &parts[2 * t + 1]);
            for (what, l, m) in [("alone", l1, &m1), ("mixed", l2, &m2)] {
                let what = format!("{spec} {kind} {what}");
                common::assert_close(&format!("{what}: lower bound"), &[l], &[l0], 1e-12);
                let centred =
                    |m: &GaussianMixture| m.means().iter().map(|v| v - 1e5).collect::<Vec<_>>();
                common::assert_close(&format!("{what}: means"), &centred(m), &centred(&m0), 1e-12);
                common::assert_close(&format!("{what}: covariances"), &covs(m), &covs(&m0), 1e-12);
                common::assert_close(
                    &format!("{what}: weights"),
                    m.weights().as_slice().unwrap(),
                    m0.weights().as_slice().unwrap(),
                    1e-12,
                );
            }
        }
    }
    // The data really were read (not an empty comparison).
    assert_eq!(x.nrows(), 4000);
    assert!(dumps
        .iter()
        .all(|(_, p)| p.len() == 8 && p[0].n_samples() == 1700));
}
