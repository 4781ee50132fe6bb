//! The exponentials and the logarithm of the row loops: branch-free polynomial
//! approximations (no libm calls), written once for every level's vectors.

use super::Vector;

/// `exp(x)` for `x ≤ 0` in f32, to about 2 ulp. Below −87.3 (where f32 has only
/// subnormals left) it returns exactly 0, so that components a row cannot reach get no
/// mass at all (and the anchored kernel skips them); NaN gives 0 too.
#[inline(always)]
pub(crate) fn exp_nonpositive_f32<V: Vector<Elem = f32>>(isa: V::Isa, x: V) -> V {
    let c = |v: f32| V::splat(isa, v);
    let live = x.gt(c(-87.3));
    let x = x.max(c(-87.3));
    let n = x.mul(c(std::f32::consts::LOG2_E)).round();
    // ln 2 split so that n·LN2_HI is exact for |n| ≤ 2⁸: |r| ≤ ln2/2.
    let r = n.neg_mul_add(c(0.693_359_4), x);
    let r = n.neg_mul_add(c(-2.121_944_4e-4), r);
    // Taylor series to degree 7: remainder below 6e-9 relative on |r| ≤ ln2/2.
    let mut p = c(1.0 / 5040.0);
    for k in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p.mul_add(r, c(k));
    }
    // n ≥ −126 after the clamp: 2ⁿ is a normal number.
    V::select(live, p.scale_pow2(n), c(0.0))
}

/// `exp(x)` for `x ≤ 0` in f64, to about 1 ulp. Below −708 it returns `exp(−708) ≈
/// 3e-308` instead of a subnormal: as a responsibility that is zero for every purpose.
#[inline(always)]
pub(crate) fn exp_nonpositive_f64<V: Vector<Elem = f64>>(isa: V::Isa, x: V) -> V {
    let c = |v: f64| V::splat(isa, v);
    let x = x.max(c(-708.0));
    let n = x.mul(c(std::f64::consts::LOG2_E)).round();
    let r = n.neg_mul_add(c(6.931_471_803_691_238e-1), x);
    let r = n.neg_mul_add(c(1.908_214_929_270_587_7e-10), r);
    // Taylor series to degree 12: the remainder is below 2e-16 relative on |r| ≤ ln2/2.
    let mut p = c(1.0 / 479_001_600.0);
    for k in [
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p.mul_add(r, c(k));
    }
    // n ≥ −1021 after the clamp: 2ⁿ is a normal number.
    p.scale_pow2(n)
}

/// `x ← ln x` for positive finite `x` (here sums of exponentials, in `[1, K]`), to
/// about 1 ulp, branch-free so that the loop vectorises: `x = 2^e·m` with
/// `m ∈ [√½, √2)`, `ln m = 2 atanh s`, `s = (m − 1)/(m + 1)`, `|s| ≤ 0.172`.
///
/// Values outside the kernel's range (zero, subnormal, non-finite) are looked for first
/// and, only if there are any, the slice takes the per-value path with the library's
/// `ln`: a select between the two inside the loop made the compiler call the library
/// for every lane (7% of a small fit's time).
#[inline(always)]
pub(crate) fn ln_in_place(xs: &mut [f64]) {
    let odd = xs.iter().fold(false, |odd, &x| {
        odd | !(f64::MIN_POSITIVE..=f64::MAX).contains(&x)
    });
    if odd {
        for x in xs.iter_mut() {
            *x = ln_fast(*x);
        }
    } else {
        for x in xs.iter_mut() {
            *x = ln_kernel(*x);
        }
    }
}

/// One value of [`ln_in_place`] (no call into libm for the usual range).
#[inline(always)]
pub(crate) fn ln_fast(x: f64) -> f64 {
    // Outside the kernel's range (zero, subnormal, non-finite): the library's `ln`.
    if x >= f64::MIN_POSITIVE && x.is_finite() {
        ln_kernel(x)
    } else {
        x.ln()
    }
}

/// [`ln_fast`] for positive normal finite `x` only.
#[inline(always)]
fn ln_kernel(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i64;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // 2·(s + s³/3 + … + s²¹/21): the next term is below 1e-17 relative.
    let mut p = 1.0 / 21.0;
    for c in [19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0] {
        p = p * s2 + 1.0 / c;
    }
    p = p * s2 + 1.0;
    2.0 * s * p + e as f64 * LN2
}
