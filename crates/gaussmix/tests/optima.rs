//! Initialisation strategies and restarts (issue "better optima"): every strategy is
//! deterministic for a seed and independent of the thread count (which also switches
//! the restarts between shared passes and separate threads), em-EM's pool (Lloyd's
//! k-means and k-means++ in turn, one Ward start), and the spurious-optimum guard on data
//! with duplicated rows.

use gaussmix::{CovarianceType, GaussianMixture, InitMethod, WarningKind, INIT_METHODS};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Three 2-D Gaussian clusters of `n_per` rows (seeded).
fn blobs(n_per: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres = [[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]];
    let mut normal = || {
        // Box-Muller: a test that does not depend on rand_distr's stream.
        let (u, v): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    Array2::from_shape_fn((3 * n_per, 2), |(i, j)| centres[i / n_per][j] + normal())
}

fn fingerprint(m: &GaussianMixture) -> (Vec<u64>, Vec<u64>, usize, usize) {
    let rec = m.fit_record().unwrap();
    (
        m.means().iter().map(|v| v.to_bits()).collect(),
        rec.lower_bounds.iter().map(|v| v.to_bits()).collect(),
        rec.best_init,
        rec.n_iter,
    )
}

/// Every strategy, n_init 3: the same seed gives bit-identical fits on 1, 2 and 3
/// threads. 512 × 3 rows are 6 chunks: on one thread the restarts share passes, on two
/// and three they run on separate threads — so this also shows that the two schedules
/// give the same results.
#[test]
fn every_strategy_is_deterministic_and_thread_independent() {
    let x = blobs(512, 1);
    for init in INIT_METHODS {
        for kind in [CovarianceType::Full, CovarianceType::Diag] {
            let fit = |threads: usize| {
                GaussianMixture::params(3)
                    .covariance_type(kind)
                    .init(init)
                    .n_init(3)
                    .seed(11)
                    .n_threads(threads)
                    .fit(&x)
                    .unwrap()
            };
            let one = fingerprint(&fit(1));
            assert_eq!(
                one,
                fingerprint(&fit(1)),
                "{init} {kind}: not deterministic"
            );
            for t in [2, 3] {
                assert_eq!(
                    one,
                    fingerprint(&fit(t)),
                    "{init} {kind}: {t} threads differ"
                );
            }
            // A different seed starts elsewhere (hierarchical on all rows is the
            // exception: below 2,000 rows it does not sample).
            let other = GaussianMixture::params(3)
                .covariance_type(kind)
                .init(init)
                .n_init(3)
                .seed(12)
                .n_threads(1)
                .fit(&x)
                .unwrap();
            let lbs = |m: &GaussianMixture| m.fit_record().unwrap().lower_bounds.clone();
            // (k-means converges to the same clusters from any seed on these blobs, and
            // so do em-EM's continued runs, half of them k-means starts.)
            if !matches!(
                init,
                InitMethod::Hierarchical | InitMethod::KMeans | InitMethod::EmEm
            ) {
                assert_ne!(
                    lbs(&fit(1)),
                    lbs(&other),
                    "{init} {kind}: the seed is ignored"
                );
            }
        }
    }
}

/// em-EM's pool alternates Lloyd's k-means starts (even candidates) and k-means++
/// starts (odd), each the start that strategy gives the run of that number, and ends
/// with one Ward start: with one candidate and one run (and no split-and-merge moves),
/// em-EM continues whichever of k-means' run 0 and the Ward start ranks higher after
/// the short run, and is then that strategy's fit.
#[test]
fn em_em_pool_alternates_kmeans_and_kmeans_plus_plus() {
    let x = blobs(200, 2);
    let mut ward_won = 0;
    for kind in CovarianceType::ALL {
        for k in [3, 4] {
            let fit = |init: InitMethod, max_iter: usize| {
                GaussianMixture::params(k)
                    .covariance_type(kind)
                    .init(init)
                    .init_candidates(1)
                    .split_merge_moves(0)
                    .max_iter(max_iter)
                    .seed(5)
                    .fit(&x)
                    .unwrap()
            };
            let a = fit(InitMethod::EmEm, 100);
            // The short runs' ranks: their last lower bounds (the first drawn on ties).
            let short = |init| {
                *fit(init, gaussmix::DEFAULT_INIT_ITER)
                    .fit_record()
                    .unwrap()
                    .lower_bounds
                    .last()
                    .unwrap()
            };
            let ward = short(InitMethod::Hierarchical) > short(InitMethod::KMeans);
            ward_won += usize::from(ward);
            let b = if ward {
                fit(InitMethod::Hierarchical, 100)
            } else {
                fit(InitMethod::KMeans, 100)
            };
            assert_eq!(fingerprint(&a), fingerprint(&b), "{kind} K = {k}");
        }
    }
    assert!(
        ward_won < 8,
        "the k-means start never won: the pool's layout is not tested"
    );
    assert!(
        ward_won > 0,
        "the Ward start never won: the pool's layout is not tested"
    );
}

/// More candidates never lose to candidate 0 at the point of choice, and the choice is
/// reported as one complete run per `n_init`.
#[test]
fn em_em_counts_complete_runs() {
    let x = blobs(200, 3);
    let m = GaussianMixture::params(5)
        .init(InitMethod::EmEm)
        .init_candidates(8)
        .init_iter(3)
        .n_init(2)
        .fit(&x)
        .unwrap();
    let rec = m.fit_record().unwrap();
    assert!(rec.best_init < 2);
    // The kept candidate's short run is part of its history.
    assert!(rec.n_iter >= 3 && rec.lower_bounds.len() == rec.n_iter);
    for w in rec.lower_bounds.windows(2) {
        assert!(w[1] >= w[0] - 1e-12, "EM decreased: {:?}", rec.lower_bounds);
    }
}

/// Two clusters plus two identical rows far away, K = 3 full: the third component can
/// only sit on the duplicates, so every run is spurious — the best is returned with a
/// warning naming the component, and every run is listed.
#[test]
fn all_runs_spurious_returns_the_best_with_a_warning() {
    let base = blobs(60, 4);
    let mut rows: Vec<[f64; 2]> = base
        .rows()
        .into_iter()
        .take(120)
        .map(|r| [r[0], r[1]])
        .collect();
    rows.push([40.0, -30.0]);
    rows.push([40.0, -30.0]);
    let x = Array2::from(rows);
    let m = GaussianMixture::params(3)
        .init(InitMethod::KMeans)
        .n_init(4)
        .fit(&x)
        .unwrap();
    let rec = m.fit_record().unwrap();
    assert_eq!(rec.spurious_inits, vec![0, 1, 2, 3]);
    let w: Vec<_> = rec
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::SpuriousOptimum)
        .collect();
    assert_eq!(w.len(), 1, "{:?}", rec.warnings);
    let spurious = m.spurious_components(&x, 1e-6).unwrap();
    assert_eq!(spurious.len(), 1);
    assert_eq!(w[0].component, Some(spurious[0]));
    assert!(
        w[0].message.contains("all 4 of 4 runs were spurious"),
        "{}",
        w[0].message
    );
    // The spurious component is the one on the duplicates.
    let c = spurious[0];
    assert!((m.means()[[c, 0]] - 40.0).abs() < 1e-9);
}

/// Two clusters and three duplicated rows far away, K = 3 diag: a start with a seed on
/// the duplicates ends with a component collapsed on them (a likelihood spike), the
/// other starts with the far rows absorbed by a wide component. The guard keeps a sound
/// run; `allow_spurious` lets the spike win.
#[test]
fn the_guard_keeps_spurious_runs_from_winning() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut v: Vec<f64> = (0..120)
        .map(|i| {
            let (u, w): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
            let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * w).cos();
            if i < 60 {
                z
            } else {
                8.0 + z
            }
        })
        .collect();
    v.extend([30.0, 30.0, 30.0]);
    let x = Array2::from_shape_vec((v.len(), 1), v).unwrap();
    let fit = |allow: bool| {
        GaussianMixture::params(3)
            .covariance_type(CovarianceType::Diag)
            .init(InitMethod::RandomFromData)
            .n_init(40)
            .seed(3)
            .allow_spurious(allow)
            .fit(&x)
            .unwrap()
    };
    let guarded = fit(false);
    let allowed = fit(true);
    let rec = guarded.fit_record().unwrap();
    assert!(
        !rec.spurious_inits.is_empty(),
        "no run was spurious: the test data do not exercise the guard"
    );
    assert!(rec.spurious_inits.len() < 40, "every run was spurious");
    assert!(!rec.spurious_inits.contains(&rec.best_init));
    assert!(guarded.spurious_components(&x, 1e-6).unwrap().is_empty());
    assert!(rec
        .warnings
        .iter()
        .all(|w| w.kind != WarningKind::SpuriousOptimum));
    // Allowed, the spike wins: a higher likelihood, a spurious component on the
    // duplicates, a warning.
    let arec = allowed.fit_record().unwrap();
    assert_eq!(arec.spurious_inits, rec.spurious_inits);
    assert!(arec.spurious_inits.contains(&arec.best_init));
    assert!(arec.lower_bound > rec.lower_bound);
    let sp = allowed.spurious_components(&x, 1e-6).unwrap();
    assert_eq!(sp.len(), 1);
    assert_eq!(allowed.means()[[sp[0], 0]], 30.0);
    assert!(arec
        .warnings
        .iter()
        .any(|w| w.kind == WarningKind::SpuriousOptimum && w.message.contains("allow_spurious")));
}

/// The rule's mass threshold: `D + 1` rows for full, 2 for diag (a component on three
/// distinct rows of 4-D data is spurious for full, not for diag).
#[test]
fn spurious_mass_threshold_depends_on_the_covariance_type() {
    use gaussmix::Covariances;
    use ndarray::{array, Array3};
    let mut rows: Vec<[f64; 4]> = Vec::new();
    for i in 0..60 {
        let t = i as f64;
        rows.push([
            (t * 0.37).sin(),
            (t * 0.61).cos(),
            (t * 0.23).sin(),
            (t * 0.91).cos(),
        ]);
    }
    rows.push([9.0, 9.0, 9.0, 9.0]);
    rows.push([9.5, 9.2, 8.8, 9.1]);
    rows.push([8.7, 9.3, 9.4, 8.9]);
    let x = Array2::from(rows.clone());
    let far = Array2::from(rows[60..].to_vec());
    let near = Array2::from(rows[..60].to_vec());
    let mean = |a: &Array2<f64>| a.mean_axis(ndarray::Axis(0)).unwrap();
    let var = |a: &Array2<f64>| a.var_axis(ndarray::Axis(0), 0.0) + 1e-6;
    let w = array![60.0 / 63.0, 3.0 / 63.0];
    let means = ndarray::stack![ndarray::Axis(0), mean(&near), mean(&far)];
    let diag = ndarray::stack![ndarray::Axis(0), var(&near), var(&far)];
    let d =
        GaussianMixture::from_parameters(w.clone(), means.clone(), Covariances::Diag(diag.clone()))
            .unwrap();
    assert!(d.spurious_components(&x, 1e-6).unwrap().is_empty());
    let mut full = Array3::zeros((2, 4, 4));
    for c in 0..2 {
        for j in 0..4 {
            full[[c, j, j]] = diag[[c, j]];
        }
    }
    let f = GaussianMixture::from_parameters(w, means, Covariances::Full(full)).unwrap();
    assert_eq!(f.spurious_components(&x, 1e-6).unwrap(), vec![1]);
}

/// Regression (review): with sample weights the rules counted rows in *average* weights,
/// so 12 rows of weight 5 beside 200 of weight 100 were "spurious" (fewer than D + 1 =
/// 3 average rows) and, with weight 1, "empty". Weights count rows: the light cluster is
/// twelve rows, and its fit is sound.
#[test]
fn weighted_rows_count_as_rows_in_the_spurious_and_empty_rules() {
    let heavy = blobs(200, 7).slice(ndarray::s![..200, ..]).to_owned();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut rows: Vec<[f64; 2]> = heavy.rows().into_iter().map(|r| [r[0], r[1]]).collect();
    for _ in 0..12 {
        rows.push([10.0 + rng.gen::<f64>() * 2.0, 10.0 + rng.gen::<f64>() * 2.0]);
    }
    let x = Array2::from(rows);
    for light in [5.0, 1.0] {
        let w: Vec<f64> = (0..212)
            .map(|i| if i < 200 { 100.0 } else { light })
            .collect();
        let data = gaussmix::Data::from_view(x.view())
            .unwrap()
            .with_weights(&w)
            .unwrap();
        let m = GaussianMixture::params(2).n_init(3).fit(&data).unwrap();
        let rec = m.fit_record().unwrap();
        assert!(
            rec.spurious_inits.is_empty(),
            "weight {light}: {:?}",
            rec.spurious_inits
        );
        assert!(
            rec.warnings.is_empty(),
            "weight {light}: {:#?}",
            rec.warnings
        );
        assert!(m.spurious_components(&data, 1e-6).unwrap().is_empty());
        // At weight 5 the best fit gives the light cluster a component (measured:
        // −2.9276 against −2.933 for splitting the heavy one). At weight 1 its twelve
        // rows weigh too little: splitting the heavy cluster scores higher (−2.915 against
        // −2.930), so no component is asked of it.
        if light == 5.0 {
            assert!(m
                .means()
                .rows()
                .into_iter()
                .any(|r| r[0] > 9.0 && r[1] > 9.0));
        }
    }
}

/// Regression (review): `select` ranked spike fits (every restart spurious) above sound
/// ones by their criterion; they now rank after every sound candidate and say so.
#[test]
fn select_ranks_spurious_candidates_last() {
    use gaussmix::select::{select, Criterion, SelectOptions};
    // 60 spread rows and three far groups of five identical rows: components on the
    // groups collapse (spikes with a huge likelihood and a better BIC).
    let mut rows: Vec<[f64; 2]> = blobs(20, 9)
        .rows()
        .into_iter()
        .map(|r| [r[0], r[1]])
        .collect();
    for g in 0..3 {
        for _ in 0..5 {
            rows.push([40.0 + 15.0 * g as f64, -30.0]);
        }
    }
    let x = Array2::from(rows);
    let opts = SelectOptions::new(1..=4, vec![CovarianceType::Full], Criterion::Bic)
        .with_fit_options(GaussianMixture::params(1).n_init(2));
    let sel = select(&x, &opts).unwrap();
    let flags: Vec<bool> = sel.candidates.iter().map(|c| c.spurious).collect();
    assert!(flags.iter().any(|s| *s), "no spurious candidate: {flags:?}");
    assert!(flags.iter().any(|s| !*s), "no sound candidate: {flags:?}");
    let first_spurious = flags.iter().position(|s| *s).unwrap();
    assert!(flags[first_spurious..].iter().all(|s| *s), "{flags:?}");
    assert!(!sel.candidates[0].spurious);
    // Their BIC is better: the ranking, not the criterion, put them last.
    let best_bic = sel.candidates[0].bic.unwrap();
    assert!(sel.candidates[first_spurious..]
        .iter()
        .any(|c| c.bic.unwrap() < best_bic));
}

/// With fewer rows than K sound components need, the warning says so instead of
/// suggesting more restarts.
#[test]
fn too_few_rows_for_sound_components_is_said() {
    let x = ndarray::array![[0.0, 0.0], [1.0, 0.3], [0.2, 1.1], [5.0, 5.0], [6.0, 5.2]];
    let m = GaussianMixture::params(2).n_init(3).fit(&x).unwrap();
    let w = m
        .fit_record()
        .unwrap()
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::SpuriousOptimum)
        .cloned()
        .expect("5 rows cannot hold 2 full 2-D components of 3 rows each");
    assert!(
        w.message
            .contains("the data have 5 rows, fewer than the 2 × 3 that 2 sound components need"),
        "{}",
        w.message
    );
}

/// Regression (review): with a two-valued column, em-EM's best short runs can all be
/// heading for a collapse onto one value (their likelihood is highest before they
/// collapse); every continued run then ended spurious although sound fits exist. When
/// that happens, em-EM continues up to n_init more short runs, and a sound one wins.
#[test]
fn em_em_continues_more_short_runs_when_every_run_ends_spurious() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut normal = move || {
        let (u, v): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    let x = Array2::from_shape_fn((400, 3), |(i, j)| match j {
        1 => (i % 2) as f64,
        _ => normal() + if i % 4 < 2 { 0.0 } else { 1.5 },
    });
    // Today's defaults (15 short iterations) let the collapse show before the choice:
    // no seed ends with every restart spurious.
    for seed in 0..8u64 {
        let m = GaussianMixture::params(4)
            .n_init(3)
            .seed(seed)
            .fit(&x)
            .unwrap();
        let rec = m.fit_record().unwrap();
        assert!(rec.spurious_inits.len() < 3, "seed {seed}: {rec:?}");
        assert!(!rec.spurious_inits.contains(&rec.best_init), "seed {seed}");
    }
    // Shorter short runs (the former defaults, 10 × 5) still get fooled; the rescue:
    let (mut rescued, mut all_spurious) = (0, 0);
    for seed in 0..8u64 {
        let m = GaussianMixture::params(4)
            .n_init(3)
            .init_candidates(10)
            .init_iter(5)
            .seed(seed)
            .fit(&x)
            .unwrap();
        let rec = m.fit_record().unwrap();
        let restarts_spurious = rec.spurious_inits.iter().filter(|&&r| r < 3).count();
        if restarts_spurious < 3 {
            // A sound restart: nothing more was continued, and a sound run won.
            assert!(
                rec.spurious_inits.iter().all(|&r| r < 3),
                "seed {seed}: {rec:?}"
            );
            assert!(!rec.spurious_inits.contains(&rec.best_init), "seed {seed}");
        } else if rec.spurious_inits.len() < 6 {
            // Every restart spurious; a sound extra run (3, 4 or 5) wins.
            rescued += 1;
            assert!((3..6).contains(&rec.best_init), "seed {seed}: {rec:?}");
            assert!(!rec.spurious_inits.contains(&rec.best_init), "seed {seed}");
            assert!(
                m.spurious_components(&x, 1e-6).unwrap().is_empty(),
                "seed {seed}"
            );
            assert!(rec.warnings.is_empty(), "seed {seed}: {:?}", rec.warnings);
        } else {
            // The extra runs ended spurious too: the best is kept with the warning.
            all_spurious += 1;
            assert_eq!(rec.spurious_inits, vec![0, 1, 2, 3, 4, 5], "seed {seed}");
            assert!(rec
                .warnings
                .iter()
                .any(|w| w.kind == WarningKind::SpuriousOptimum));
        }
    }
    // (Measured: seed 1 is rescued — its restarts 0–2 spurious, extra run 3 kept.)
    assert!(
        rescued >= 1,
        "rescued {rescued}, all spurious {all_spurious}"
    );
}

/// em-EM screens its short runs on a sample of `max(1000, 10·K·D)` rows when the data
/// have at least twice that many (rows of weight zero do not count); the chosen runs then
/// continue on every row. The sample is drawn from the seed: the fit stays deterministic
/// and thread-independent (2,700 rows are 6 chunks: one thread shares passes, two run
/// the restarts on separate threads).
#[test]
fn em_em_screens_short_runs_on_a_sample_of_large_data() {
    let x = blobs(900, 4);
    let fit = |threads: usize, seed: u64| {
        GaussianMixture::params(3)
            .n_init(2)
            .seed(seed)
            .n_threads(threads)
            .fit(&x)
            .unwrap()
    };
    let one = fit(1, 3);
    // 1,000 draws; rows drawn twice count once.
    let screened = one.fit_record().unwrap().screen_rows.unwrap();
    assert!((700..=1000).contains(&screened), "{screened}");
    assert_eq!(fingerprint(&one), fingerprint(&fit(1, 3)));
    assert_eq!(fingerprint(&one), fingerprint(&fit(2, 3)));
    // The continued runs are runs on all the rows: their statistics count every row.
    let rec = one.fit_record().unwrap();
    assert_eq!(rec.n_samples, 2700);
    assert!(rec.converged);
    // Every mean found: the three blobs.
    for c in [[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]] {
        assert!(
            one.means()
                .rows()
                .into_iter()
                .any(|m| (m[0] - c[0]).hypot(m[1] - c[1]) < 0.3),
            "{c:?}: {}",
            one.means()
        );
    }
    // Below twice the sample size every row is used; zero-weight rows do not count.
    let small = blobs(600, 4); // 1,800 rows
    let m = GaussianMixture::params(3).n_init(2).fit(&small).unwrap();
    assert_eq!(m.fit_record().unwrap().screen_rows, None);
    let w: Vec<f64> = (0..2700)
        .map(|i| if i % 3 == 0 { 0.0 } else { 1.0 })
        .collect();
    let data = gaussmix::Data::from_view(x.view())
        .unwrap()
        .with_weights(&w)
        .unwrap();
    let m = GaussianMixture::params(3).n_init(2).fit(&data).unwrap();
    assert_eq!(
        m.fit_record().unwrap().screen_rows,
        None,
        "1,800 weighted rows"
    );
    // Other strategies never sample.
    let m = GaussianMixture::params(3)
        .init(InitMethod::KMeansPlusPlus)
        .fit(&x)
        .unwrap();
    assert_eq!(m.fit_record().unwrap().screen_rows, None);
}

/// Regression (review): screening on a sample collapsed components onto the one or two
/// rows a rare cluster had in the sample, and the run on all rows kept the collapsed
/// covariance: 20 far rows among 20,000 gave spurious fits (here seed 1, with its
/// 1,000-row sample; the review measured 4 of 10 seeds). The run on all rows now
/// starts from the short run's means only.
#[test]
fn a_rare_cluster_does_not_become_a_spike_through_the_sample() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut normal = move || {
        let (u, v): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    let centres = [
        [0.0, 0.0],
        [9.0, 2.0],
        [-7.0, 6.0],
        [3.0, -9.0],
        [-5.0, -6.0],
    ];
    let x = Array2::from_shape_fn((20_000, 2), |(i, j)| {
        // Rows 0, 1000, 2000, … (20 of them) are the far cluster.
        if i % 1000 == 0 {
            60.0 + normal()
        } else {
            centres[i % 5][j] + normal()
        }
    });
    let mut found = 0;
    for seed in 0..10 {
        let m = GaussianMixture::params(6).seed(seed).fit(&x).unwrap();
        let rec = m.fit_record().unwrap();
        assert!(rec.screen_rows.is_some_and(|r| r <= 1000));
        assert!(
            rec.spurious_inits.is_empty() && rec.warnings.is_empty(),
            "seed {seed}: {:?}",
            rec.warnings
        );
        found += m.means().rows().into_iter().any(|r| r[0] > 55.0) as usize;
    }
    // One component holds the far cluster, for every seed: the sample is a lightweight
    // coreset, whose draws favour rows far from the mean (review: with a uniform sample
    // of 1,000 rows, seeds 7–9 had none of its 20 rows and missed it).
    assert_eq!(found, 10, "found in {found} of 10 seeds");
}

/// Regression (review): the sample ignored the weights: 48 heavy rows among 3,952 light
/// ones were mostly left out of it. With weights, the effective number of rows
/// ((Σw)²/Σw², about 48 here) decides, so these data are not sampled.
#[test]
fn skewed_weights_are_not_screened_on_a_uniform_sample() {
    let x = blobs(1400, 6);
    let w: Vec<f64> = (0..4200)
        .map(|i| if i % 80 == 0 { 1000.0 } else { 0.01 })
        .collect();
    let data = gaussmix::Data::from_view(x.view())
        .unwrap()
        .with_weights(&w)
        .unwrap();
    let m = GaussianMixture::params(3).fit(&data).unwrap();
    assert_eq!(m.fit_record().unwrap().screen_rows, None);
    // Equal weights: the same as none.
    let ones = vec![2.0; 4200];
    let data = gaussmix::Data::from_view(x.view())
        .unwrap()
        .with_weights(&ones)
        .unwrap();
    let m = GaussianMixture::params(3).fit(&data).unwrap();
    assert!(m.fit_record().unwrap().screen_rows.is_some());
}
