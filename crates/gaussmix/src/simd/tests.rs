//! Every row loop at every level this CPU has (`Scalar` always, `V3` and `V4` when
//! present, whatever the forced cap (`force_kernels("simd=…")`) says) against a plain scalar reference, on random
//! inputs whose sizes are not multiples of the lane counts.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::math::{exp_nonpositive_f32, exp_nonpositive_f64, ln_fast};
use super::*;

/// Sizes around the lane counts (1, 4, 8, 16) and the register blocks.
const SIZES: [usize; 14] = [1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 23, 31, 33, 40];

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn uniform32(r: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| r.gen_range(lo..hi)).collect()
}

fn uniform64(r: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| r.gen_range(lo..hi)).collect()
}

/// `|a − b| ≤ tol`, NaN only against NaN.
fn close(what: &str, a: f64, b: f64, tol: f64) {
    assert!(
        (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol,
        "{what}: {a} vs {b} (tolerance {tol:e})"
    );
}

const E32: f64 = f32::EPSILON as f64;
const E64: f64 = f64::EPSILON;

#[test]
fn exponentials_and_logarithm_are_accurate() {
    let mut worst = 0.0f64;
    let mut x = 0.0f32;
    while x > -87.0 {
        let (a, b) = (exp_nonpositive_f32(Scalar, x) as f64, (x as f64).exp());
        worst = worst.max(((a - b) / b).abs());
        x -= 0.003_7;
    }
    assert!(worst < 4.0 * E32, "f32 exp: relative error {worst:e}");
    for (x, want) in [
        (0.0, 1.0),
        (-1e4, 0.0),
        (f32::NEG_INFINITY, 0.0),
        (f32::NAN, 0.0),
    ] {
        assert_eq!(exp_nonpositive_f32(Scalar, x), want, "exp({x})");
    }
    assert!(exp_nonpositive_f32(Scalar, -87.2f32) > 0.0);

    let mut worst = 0.0f64;
    let mut x = 0.0f64;
    while x > -708.0 {
        let (a, b) = (exp_nonpositive_f64(Scalar, x), x.exp());
        worst = worst.max(((a - b) / b).abs());
        x -= 0.013_7;
    }
    assert!(worst < 4.0 * E64, "f64 exp: relative error {worst:e}");
    assert_eq!(exp_nonpositive_f64(Scalar, 0.0), 1.0);
    assert!(exp_nonpositive_f64(Scalar, -1e4) < 1e-307);
    assert!(exp_nonpositive_f64(Scalar, f64::NEG_INFINITY) < 1e-307);

    let mut xs: Vec<f64> = (0..20_000).map(|i| 1.0 + i as f64 * 0.003_1).collect();
    xs.extend([
        f64::MIN_POSITIVE,
        1e-310,
        0.0,
        1e300,
        0.5,
        std::f64::consts::FRAC_1_SQRT_2,
        std::f64::consts::SQRT_2,
        2.0,
    ]);
    for x in xs {
        let (g, want) = (ln_fast(x), x.ln());
        if want.is_finite() {
            assert!(
                (g - want).abs() <= 2.0 * E64 * want.abs().max(1.0),
                "ln {x}: {g} vs {want}"
            );
        } else {
            assert_eq!(g, want);
        }
    }
}

/// `exp(x)` through a vector of level `S` (`x` in lane 0).
fn exp_one32<S: Isa>(s: S, x: f32) -> f32 {
    // SAFETY: `load_upto` reads one value of `x`.
    let v = unsafe { load_upto::<S::F32>(s, &x, 1, 0.0) };
    let mut out = [0.0f32; MAX_LANES];
    // SAFETY: `out` holds `MAX_LANES` values.
    unsafe { exp_nonpositive_f32(s, v).store(out.as_mut_ptr()) };
    out[0]
}

/// `exp(x)` through a vector of level `S` (`x` in lane 0).
fn exp_one64<S: Isa>(s: S, x: f64) -> f64 {
    // SAFETY: `load_upto` reads one value of `x`.
    let v = unsafe { load_upto::<S::F64>(s, &x, 1, 0.0) };
    let mut out = [0.0f64; MAX_LANES];
    // SAFETY: `out` holds `MAX_LANES` values.
    unsafe { exp_nonpositive_f64(s, v).store(out.as_mut_ptr()) };
    out[0]
}

/// The vector exponentials of every level agree with the scalar ones (to rounding: the
/// vector levels fuse their multiply-adds), and give exact zeros at the same places.
#[test]
fn vector_exponentials_match_the_scalar_ones() {
    let x32: Vec<f32> = (0..203).map(|i| -(i as f32) * 0.45).collect();
    let x64: Vec<f64> = (0..203).map(|i| -(i as f64) * 3.55).collect();
    for (level, (e32, e64)) in at_each_level!(s => {
        let a: Vec<f32> = x32.iter().map(|x| exp_one32(s, *x)).collect();
        let b: Vec<f64> = x64.iter().map(|x| exp_one64(s, *x)).collect();
        (a, b)
    }) {
        for (x, e) in x32.iter().zip(&e32) {
            let want = exp_nonpositive_f32(Scalar, *x);
            close(
                &format!("{level} exp_f32({x})"),
                *e as f64,
                want as f64,
                2.0 * E32 * want as f64,
            );
            assert_eq!(*e == 0.0, want == 0.0, "{level} exp_f32({x})");
        }
        for (x, e) in x64.iter().zip(&e64) {
            let want = exp_nonpositive_f64(Scalar, *x);
            close(&format!("{level} exp_f64({x})"), *e, want, 2.0 * E64 * want);
        }
    }
}

#[test]
fn normalize_rows_matches_a_plain_log_sum_exp() {
    let mut r = rng(1);
    // Every row length with a path of its own (constant K < 8), and around the lanes.
    for k in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 16, 17, 23, 31, 33, 40] {
        let m = 70; // more than one block of 64 rows
        let mut lp: Vec<f64> = (0..m * k)
            .map(|i| -r.gen_range(0.0..60.0) - (i / k) as f64)
            .collect();
        // Rows without a density, with a NaN, with +∞; with +∞ and a NaN, and a −∞
        // among finite values.
        lp[..k].fill(f64::NEG_INFINITY);
        lp[k] = f64::NAN;
        lp[2 * k] = f64::INFINITY;
        if k >= 2 {
            lp[3 * k] = f64::INFINITY;
            lp[3 * k + 1] = f64::NAN;
            lp[4 * k + 1] = f64::NEG_INFINITY;
        }
        let mut want = lp.clone();
        let mut want_ln = vec![0.0; m];
        for (row, ln) in want.chunks_mut(k).zip(want_ln.iter_mut()) {
            let mx = row.iter().fold(f64::NEG_INFINITY, |a, v| a.max(*v));
            if row.iter().any(|v| v.is_nan()) || !mx.is_finite() {
                *ln = if row.iter().any(|v| v.is_nan()) {
                    f64::NAN
                } else {
                    mx
                };
                row.fill(1.0 / k as f64);
                continue;
            }
            let sum: f64 = row.iter().map(|v| (v - mx).exp()).sum();
            *ln = mx + sum.ln();
            row.iter_mut().for_each(|v| *v = (*v - mx).exp() / sum);
        }
        for (level, (got, ln, short)) in at_each_level!(s => {
            let mut a = lp.clone();
            let mut ln = vec![0.0; m];
            rows::normalize_rows(s, &mut a, k, &mut ln);
            // Only rows with a `log_norm` entry are processed.
            let mut short = lp.clone();
            rows::normalize_rows(s, &mut short, k, &mut ln.clone()[..m - 5]);
            (a, ln, short)
        }) {
            assert_eq!(
                &short[..(m - 5) * k],
                &got[..(m - 5) * k],
                "{level} k={k} short"
            );
            let untouched = short[(m - 5) * k..].iter().zip(&lp[(m - 5) * k..]);
            for (a, b) in untouched {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{level} k={k}: a row past log_norm"
                );
            }
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                close(&format!("{level} k={k} r[{i}]"), *a, *b, 8.0 * E64);
            }
            for (i, (a, b)) in ln.iter().zip(&want_ln).enumerate() {
                close(
                    &format!("{level} k={k} ln[{i}]"),
                    *a,
                    *b,
                    8.0 * E64 * b.abs(),
                );
            }
        }
    }
}

/// Partial loads and stores, `n < LANES` values: exactly those lanes are read and
/// written (the fill in the others, the values beside them untouched).
/// Per `n`: the loaded lanes, then a buffer of `n + 2` stored into at offset 1.
fn partial_round_trip<S: Isa, V: Vector<Isa = S>>(
    s: S,
    fill: V::Elem,
    vals: &[V::Elem],
) -> Vec<Vec<V::Elem>> {
    let mut out = Vec::new();
    for n in 0..V::LANES {
        // SAFETY: `vals` holds at least `n` values.
        let v = unsafe { V::load_part(s, vals.as_ptr(), n, fill) };
        let mut lanes = vec![fill; V::LANES];
        // SAFETY: `lanes` holds `LANES` values.
        unsafe { v.store(lanes.as_mut_ptr()) };
        // A store of `n` of a full vector's distinct values into a guarded buffer with
        // room for all `LANES`, at an odd offset (misaligned for the wider stores): a
        // lane too many would show, in bounds.
        // SAFETY: `vals` holds at least `LANES` values.
        let full = unsafe { V::load(s, vals.as_ptr()) };
        let mut buf = vec![fill; V::LANES + 2];
        // SAFETY: `buf[1..]` holds `LANES + 1 ≥ n` values.
        unsafe { full.store_part(buf.as_mut_ptr().add(1), n) };
        out.push([lanes, buf].concat());
    }
    out
}

#[test]
fn partial_loads_and_stores_touch_only_their_lanes() {
    let v64: Vec<f64> = (1..=16).map(|i| i as f64).collect();
    let v32: Vec<f32> = (1..=16).map(|i| i as f32).collect();
    fn both<S: Isa>(s: S, v64: &[f64], v32: &[f32]) -> (Vec<Vec<f64>>, Vec<Vec<f32>>) {
        (
            partial_round_trip::<S, S::F64>(s, -1.0, v64),
            partial_round_trip::<S, S::F32>(s, -1.0, v32),
        )
    }
    for (level, (r64, r32)) in at_each_level!(s => both(s, &v64, &v32)) {
        fn check<E: Copy + PartialEq + std::fmt::Debug + From<i8>>(
            level: &str,
            rs: &[Vec<E>],
            vals: &[E],
        ) {
            let lanes = rs.len();
            let fill = E::from(-1);
            for (n, got) in rs.iter().enumerate() {
                let (loaded, stored) = got.split_at(lanes);
                for j in 0..lanes {
                    let want = if j < n { vals[j] } else { fill };
                    assert_eq!(loaded[j], want, "{level} load_part n={n} lane {j}");
                }
                assert_eq!(stored.len(), lanes + 2);
                assert_eq!(stored[0], fill, "{level} store_part n={n} wrote before");
                assert_eq!(&stored[1..=n], &vals[..n], "{level} store_part n={n}");
                for (j, v) in stored[n + 1..].iter().enumerate() {
                    assert_eq!(*v, fill, "{level} store_part n={n} wrote past, at +{j}");
                }
            }
        }
        check(level, &r64, &v64);
        check(level, &r32, &v32);
    }
}

#[test]
fn elementwise_loops_are_exact() {
    let mut r = rng(2);
    for n in SIZES {
        let (x, z) = (
            uniform32(&mut r, n, -5.0, 5.0),
            uniform32(&mut r, n, -5.0, 5.0),
        );
        let f = r.gen_range(0.1f32..3.0);
        for (level, (d, v, w)) in at_each_level!(s => {
            let mut d = vec![0.0f32; n];
            rows::sub(s, &mut d, &x, &z);
            let mut v = x.clone();
            rows::scale(s, &mut v, f);
            let mut w = vec![0.0f64; n];
            rows::widen(s, &mut w, &x);
            (d, v, w)
        }) {
            for j in 0..n {
                assert_eq!(d[j], x[j] - z[j], "{level} sub n={n}");
                assert_eq!(v[j], x[j] * f, "{level} scale n={n}");
                assert_eq!(w[j], x[j] as f64, "{level} widen n={n}");
            }
        }
    }
}

#[test]
fn argmax_takes_the_first_maximum() {
    let mut r = rng(3);
    for k in SIZES {
        for case in 0..4 {
            // Few distinct values, so that ties are common.
            let mut h: Vec<f32> = (0..k).map(|_| r.gen_range(0..4) as f32).collect();
            let q = vec![0.5f32; k];
            if case == 1 {
                h.fill(f32::NEG_INFINITY);
            }
            if case == 2 {
                h[k / 2] = f32::NAN;
            }
            let (mut want, mut score) = (0, f32::NEG_INFINITY);
            for c in 0..k {
                if h[c] - q[c] > score {
                    (want, score) = (c, h[c] - q[c]);
                }
            }
            for (level, got) in at_each_level!(s => rows::argmax_shifted(s, &h, &q)) {
                assert_eq!(got, want, "{level} k={k} {h:?}");
            }
        }
    }
}

#[test]
fn packed_outer_products_are_exact() {
    let mut r = rng(4);
    for d in SIZES {
        let m = 3;
        for stride in [d, d + 16] {
            let x64 = uniform64(&mut r, m * stride + MAX_LANES, -3.0, 3.0);
            let x32: Vec<f32> = x64.iter().map(|v| *v as f32).collect();
            let t = d * (d + 1) / 2;
            let mut want64 = vec![0.0f64; m * t];
            let mut want32 = vec![0.0f32; m * t];
            for p in 0..m {
                let mut idx = 0;
                for i in 0..d {
                    for j in i..d {
                        want64[p * t + idx] = x64[p * stride + i] * x64[p * stride + j];
                        want32[p * t + idx] = x32[p * stride + i] * x32[p * stride + j];
                        idx += 1;
                    }
                }
            }
            for (level, (o64, o32)) in at_each_level!(s => {
                let mut o64 = vec![0.0f64; m * t + MAX_LANES];
                let mut o32 = vec![0.0f32; m * t + MAX_LANES];
                // SAFETY: `MAX_LANES` values of slack after the rows and the output.
                unsafe {
                    rows::packed_outer(s, &mut o64, &x64, m, d, stride);
                    rows::packed_outer(s, &mut o32, &x32, m, d, stride);
                }
                (o64, o32)
            }) {
                assert_eq!(
                    o64[..m * t],
                    want64[..],
                    "{level} f64 d={d} stride={stride}"
                );
                assert_eq!(
                    o32[..m * t],
                    want32[..],
                    "{level} f32 d={d} stride={stride}"
                );
            }
        }
        // The buffer-managing entry point.
        let mut xc = uniform64(&mut r, m * d, -3.0, 3.0);
        let mut outer = Vec::new();
        let want: Vec<f64> = xc
            .chunks(d)
            .flat_map(|x| (0..d).flat_map(move |i| (i..d).map(move |j| x[i] * x[j])))
            .collect();
        packed_outer_rows(&mut outer, &mut xc, d);
        assert_eq!(outer, want, "packed_outer_rows d={d}");
        assert_eq!(xc.len(), m * d);
    }
}

#[test]
fn cross_max_matches_a_plain_sum() {
    let mut r = rng(5);
    for k in SIZES {
        for d in [1, 3, 4, 6, 9, 17] {
            for own in [0, k / 2, k - 1, k] {
                let v0 = uniform32(&mut r, k, -30.0, 0.0);
                let y = uniform32(&mut r, d, -2.0, 2.0);
                let g = uniform32(&mut r, d * k, -3.0, 3.0);
                let c2 = uniform32(&mut r, k, -5.0, 5.0);
                let own = (own, -1.5f32);
                let mut want = vec![0.0f64; k];
                let mut scale = vec![0.0f64; k];
                for c in 0..k {
                    want[c] = v0[c] as f64 + c2[c] as f64;
                    scale[c] = (v0[c].abs() + c2[c].abs()) as f64;
                    for j in 0..d {
                        want[c] += y[j] as f64 * g[j * k + c] as f64;
                        scale[c] += (y[j] * g[j * k + c]).abs() as f64;
                    }
                }
                if own.0 < k {
                    want[own.0] = own.1 as f64;
                }
                for (level, (v, mx)) in at_each_level!(s => {
                    let mut v = v0.clone();
                    // SAFETY: `g` holds `d·k` values, `c2` `k`.
                    let mx = unsafe { rows::cross_max(s, &mut v, &y, &g, &c2, own) };
                    (v, mx)
                }) {
                    let what = format!("{level} k={k} d={d} own={}", own.0);
                    for c in 0..k {
                        close(&what, v[c] as f64, want[c], (d + 3) as f64 * E32 * scale[c]);
                    }
                    let vmax = v.iter().fold(f32::NEG_INFINITY, |a, b| a.max(*b));
                    assert_eq!(mx, vmax, "{what}");
                }
            }
        }
        // A NaN anywhere gives NaN.
        let mut g = vec![1.0f32; 2 * k];
        g[k - 1] = f32::NAN;
        for (level, mx) in at_each_level!(s => {
            let mut v = vec![0.0f32; k];
            // SAFETY: `g` holds `2·k` values, `c2` `k`.
            unsafe { rows::cross_max(s, &mut v, &[1.0, 1.0], &g, &vec![0.0; k], (k, 0.0)) }
        }) {
            assert!(mx.is_nan(), "{level} k={k}: {mx}");
        }
    }
}

#[test]
fn exp_sum_matches_the_scalar_exponential() {
    let mut r = rng(6);
    for k in SIZES {
        let mut v0 = uniform32(&mut r, k, -100.0, 0.0);
        v0[k / 2] = 0.0;
        let want: Vec<f32> = v0.iter().map(|x| exp_nonpositive_f32(Scalar, *x)).collect();
        let total: f64 = want.iter().map(|v| *v as f64).sum();
        for (level, (v, sum)) in at_each_level!(s => {
            let mut v = v0.clone();
            let sum = rows::exp_sum(s, &mut v, 0.0);
            (v, sum)
        }) {
            for (a, b) in v.iter().zip(&want) {
                close(
                    &format!("{level} k={k}"),
                    *a as f64,
                    *b as f64,
                    2.0 * E32 * *b as f64,
                );
                assert_eq!(*a == 0.0, *b == 0.0, "{level} k={k}");
            }
            close(
                &format!("{level} k={k} sum"),
                sum as f64,
                total,
                (k + 4) as f64 * E32 * total,
            );
        }
    }
}

#[test]
fn whitened_sq_matches_a_plain_product() {
    let mut r = rng(7);
    for d in SIZES {
        let y = uniform64(&mut r, d, -2.0, 2.0);
        let mut u = uniform64(&mut r, d * d, -1.0, 1.0);
        for i in 0..d {
            for j in 0..i {
                u[i * d + j] = 0.0;
            }
        }
        let (mut want, mut bound) = (0.0, 0.0);
        for j in 0..d {
            let z: f64 = (0..=j).map(|i| y[i] * u[i * d + j]).sum();
            let za: f64 = (0..=j).map(|i| (y[i] * u[i * d + j]).abs()).sum();
            want += z * z;
            bound += za * za;
        }
        for (level, q) in at_each_level!(s => {
            // SAFETY: `u` holds `d²` values.
            unsafe { rows::whitened_sq(s, &y, &u) }
        }) {
            close(
                &format!("{level} d={d}"),
                q,
                want,
                4.0 * (d + 2) as f64 * E64 * bound,
            );
        }
    }
}

/// Rows of stride `d + 16` (zero beyond `d`), as the anchored kernel pads them.
fn padded_rows(r: &mut ChaCha8Rng, rows: usize, d: usize) -> (Vec<f64>, usize) {
    let dp = d + 16;
    let mut y = vec![0.0; rows * dp];
    for p in 0..rows {
        for j in 0..d {
            y[p * dp + j] = r.gen_range(-2.0..2.0);
        }
    }
    (y, dp)
}

#[test]
fn own_moments_match_a_plain_sum() {
    let mut r = rng(8);
    for d in SIZES {
        for k in [1, 3, 17] {
            let rows = 37;
            let (y, dp) = padded_rows(&mut r, rows, d);
            let resp = uniform32(&mut r, rows * k, 0.0, 1.0);
            let a = k / 2;
            let m0 = uniform64(&mut r, d * d, -1.0, 1.0);
            let (mut want, mut bound) = (m0.clone(), vec![0.0; d * d]);
            for p in 0..rows {
                let rv = resp[p * k + a] as f64;
                for i in 0..d {
                    for j in i..d {
                        want[i * d + j] += rv * y[p * dp + i] * y[p * dp + j];
                        bound[i * d + j] += (rv * y[p * dp + i] * y[p * dp + j]).abs();
                    }
                }
            }
            for (level, (m2, rr)) in at_each_level!(s => {
                let (mut m2, mut rr) = (m0.clone(), resp.clone());
                // SAFETY: `a < k`, rows of stride `d + 16`, `m2` holds `d²` values.
                unsafe { rows::own_moments(s, &mut rr, &y, a, k, d, dp, &mut m2) };
                (m2, rr)
            }) {
                for i in 0..d {
                    for j in i..d {
                        let at = i * d + j;
                        let tol = (rows + 3) as f64 * E64 * (bound[at] + m0[at].abs());
                        close(
                            &format!("{level} d={d} k={k} m2[{i}][{j}]"),
                            m2[at],
                            want[at],
                            tol,
                        );
                    }
                }
                for p in 0..rows {
                    for c in 0..k {
                        let w = if c == a { 0.0 } else { resp[p * k + c] };
                        assert_eq!(rr[p * k + c], w, "{level} r");
                    }
                }
            }
        }
    }
}

#[test]
fn anchor_accumulation_matches_a_plain_sum() {
    let mut r = rng(9);
    for d in SIZES {
        for k in [1, 3, 4, 8, 9, 17, 33] {
            let rows = 29;
            let (y64, dp) = padded_rows(&mut r, rows, d);
            let y: Vec<f32> = y64.iter().map(|v| *v as f32).collect();
            // Every third component without mass (exact zeros), as far components are.
            let resp: Vec<f32> = (0..rows * k)
                .map(|i| {
                    if (i % k) % 3 == 1 {
                        0.0
                    } else {
                        r.gen_range(0.0..1.0)
                    }
                })
                .collect();
            let (c0, n0) = (
                uniform64(&mut r, k * d, -1.0, 1.0),
                uniform64(&mut r, k, 0.0, 1.0),
            );
            let (mut want_c, mut want_n) = (c0.clone(), n0.clone());
            let (mut bound_c, mut bound_n) = (vec![0.0; k * d], vec![0.0; k]);
            for p in 0..rows {
                for q in 0..k {
                    let rq = resp[p * k + q] as f64;
                    want_n[q] += rq;
                    bound_n[q] += rq;
                    for j in 0..d {
                        want_c[q * d + j] += rq * y[p * dp + j] as f64;
                        bound_c[q * d + j] += (rq * y[p * dp + j] as f64).abs();
                    }
                }
            }
            for (level, (c, n)) in at_each_level!(s => {
                let (mut c, mut n) = (c0.clone(), n0.clone());
                // SAFETY: rows of stride `d + 16`, `c` holds `k·d` values, `n` `k`.
                unsafe { rows::accumulate_anchor(s, &resp, &y, k, d, dp, &mut c, &mut n) };
                (c, n)
            }) {
                let what = format!("{level} d={d} k={k}");
                for q in 0..k {
                    let tol = (rows + 3) as f64 * E32 * bound_n[q] + 2.0 * E64 * n0[q].abs();
                    close(&format!("{what} n[{q}]"), n[q], want_n[q], tol);
                    for j in 0..d {
                        let at = q * d + j;
                        let tol = (rows + 3) as f64 * E32 * bound_c[at] + 2.0 * E64 * c0[at].abs();
                        close(&format!("{what} c[{q}][{j}]"), c[at], want_c[at], tol);
                        if q % 3 == 1 {
                            assert_eq!(
                                c[at], c0[at],
                                "{what}: a component without mass is untouched"
                            );
                        }
                    }
                }
            }
        }
    }
}
