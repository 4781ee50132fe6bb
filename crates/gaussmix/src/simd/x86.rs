//! The x86-64 levels: [`V4`] (AVX-512F, with AVX2 and FMA) and [`V3`] (AVX2 and FMA).
//!
//! Each vector wraps one register. Vectors are made only from a token (`splat`, `load`,
//! `load_part`) or from other vectors, so a `F32x16` or `F64x8` exists only if a `V4`
//! did, and a `F32x8` or `F64x4` only if a `V3` did; every intrinsic applied to a type
//! needs no more than its level's features. That is the argument of the `SAFETY` comment
//! in [`simd!`], which wraps the register-only intrinsics; loads and stores document
//! their pointers where they stand.

use std::arch::x86_64::*;

use super::{Isa, Mask, Vector};
#[cfg(test)]
use crate::cpu::Level;

/// Evaluates register-only intrinsics on this module's vectors.
macro_rules! simd {
    ($e:expr) => {
        // SAFETY: the operands are vectors of this module, which exist only when a token
        // of their level did, i.e. when the CPU has that level's instruction set (`V4`:
        // AVX-512F, AVX2, FMA; `V3`: AVX2, FMA); the intrinsics used on each type need no
        // more than that (module docs). No memory is accessed.
        unsafe { $e }
    };
}

/// AVX-512F with AVX2 and FMA: 16 f32 / 8 f64 lanes, masked loads and stores.
#[derive(Clone, Copy, Debug)]
pub(crate) struct V4(());

/// AVX2 and FMA: 8 f32 / 4 f64 lanes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct V3(());

impl V4 {
    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA.
    #[inline(always)]
    pub(crate) unsafe fn new_unchecked() -> Self {
        V4(())
    }

    /// The token if this CPU has the instruction set (whatever level the tests capped
    /// the dispatch at).
    #[cfg(test)]
    pub(crate) fn on_this_cpu() -> Option<Self> {
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA (`cpu::hardware`).
        (crate::cpu::hardware() >= Level::Avx512).then(|| unsafe { Self::new_unchecked() })
    }
}

impl V3 {
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline(always)]
    pub(crate) unsafe fn new_unchecked() -> Self {
        V3(())
    }

    /// The token if this CPU has the instruction set.
    #[cfg(test)]
    pub(crate) fn on_this_cpu() -> Option<Self> {
        // SAFETY: the CPU has AVX2 and FMA (`cpu::hardware`).
        (crate::cpu::hardware() >= Level::Avx2).then(|| unsafe { Self::new_unchecked() })
    }
}

impl Isa for V4 {
    type F32 = F32x16;
    type F64 = F64x8;
    const MASKED_TAILS: bool = true;
    const REGISTERS: usize = 32;

    #[cfg(test)]
    fn run<R>(self, f: impl FnOnce(Self) -> R) -> R {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn with_features<R>(s: V4, f: impl FnOnce(V4) -> R) -> R {
            f(s)
        }
        // SAFETY: a `V4` exists only when the CPU has AVX-512F, AVX2 and FMA.
        unsafe { with_features(self, f) }
    }

    #[inline(always)]
    unsafe fn load_widened(self, p: *const f32) -> F64x8 {
        // SAFETY: `p` is valid for 8 reads (caller contract); AVX-512F: the token.
        F64x8(unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(p)) })
    }
}

impl Isa for V3 {
    type F32 = F32x8;
    type F64 = F64x4;
    const MASKED_TAILS: bool = false;
    const REGISTERS: usize = 16;

    #[cfg(test)]
    fn run<R>(self, f: impl FnOnce(Self) -> R) -> R {
        #[target_feature(enable = "avx2,fma")]
        fn with_features<R>(s: V3, f: impl FnOnce(V3) -> R) -> R {
            f(s)
        }
        // SAFETY: a `V3` exists only when the CPU has AVX2 and FMA.
        unsafe { with_features(self, f) }
    }

    #[inline(always)]
    unsafe fn load_widened(self, p: *const f32) -> F64x4 {
        // SAFETY: `p` is valid for 4 reads (caller contract); AVX: the token.
        F64x4(unsafe { _mm256_cvtps_pd(_mm_loadu_ps(p)) })
    }
}

/// A lane mask of AVX-512 (one bit per lane).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bits<T>(T);

macro_rules! bits_mask {
    ($t:ty) => {
        impl Mask for Bits<$t> {
            #[inline(always)]
            fn or(self, other: Self) -> Self {
                Bits(self.0 | other.0)
            }
            #[inline(always)]
            fn any(self) -> bool {
                self.0 != 0
            }
            #[inline(always)]
            fn bits(self) -> u64 {
                self.0 as u64
            }
        }
    };
}
bits_mask!(__mmask16);
bits_mask!(__mmask8);

/// An AVX-512 vector type: one implementation for both element types, from the names of
/// their intrinsics.
macro_rules! avx512_vector {
    ($name:ident($reg:ty): $t:ty, $lanes:expr, $mask:ty; $set1:ident, $loadu:ident,
     $mask_loadu:ident, $storeu:ident, $mask_storeu:ident, $add:ident, $sub:ident,
     $mul:ident, $max:ident, $fmadd:ident, $fnmadd:ident, $roundscale:ident,
     $scalef:ident, $reduce_add:ident, $reduce_max:ident, $reduce_min:ident, $cmp:ident,
     $blend:ident) => {
        #[derive(Clone, Copy, Debug)]
        pub(crate) struct $name($reg);

        impl $name {
            /// Mask of the first `n` lanes (all of them for `n ≥ LANES`).
            #[inline(always)]
            fn first(n: usize) -> $mask {
                if n >= $lanes {
                    <$mask>::MAX
                } else {
                    ((1u32 << n) - 1) as $mask
                }
            }
        }

        impl Vector for $name {
            type Isa = V4;
            type Elem = $t;
            type Mask = Bits<$mask>;
            const LANES: usize = $lanes;

            #[inline(always)]
            fn splat(_: V4, x: $t) -> Self {
                Self(simd!($set1(x)))
            }
            #[inline(always)]
            unsafe fn load(_: V4, p: *const $t) -> Self {
                // SAFETY: `p` is valid for `LANES` reads (caller contract); AVX-512F: the
                // token.
                Self(unsafe { $loadu(p) })
            }
            #[inline(always)]
            unsafe fn load_part(_: V4, p: *const $t, n: usize, fill: $t) -> Self {
                // SAFETY: the mask enables the first `n` lanes only, for which `p` is valid
                // (caller contract); a masked load touches no other memory. AVX-512F: the
                // token.
                Self(unsafe { $mask_loadu($set1(fill), Self::first(n), p) })
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $t) {
                // SAFETY: `p` is valid for `LANES` writes (caller contract); AVX-512F: the
                // vector exists.
                unsafe { $storeu(p, self.0) }
            }
            #[inline(always)]
            unsafe fn store_part(self, p: *mut $t, n: usize) {
                // SAFETY: the mask enables the first `n` lanes only, for which `p` is valid
                // (caller contract); a masked store touches no other memory. AVX-512F: the
                // vector exists.
                unsafe { $mask_storeu(p, Self::first(n), self.0) }
            }
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                Self(simd!($add(self.0, o.0)))
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                Self(simd!($sub(self.0, o.0)))
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                Self(simd!($mul(self.0, o.0)))
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                Self(simd!($max(self.0, o.0)))
            }
            #[inline(always)]
            fn mul_add(self, b: Self, c: Self) -> Self {
                Self(simd!($fmadd(self.0, b.0, c.0)))
            }
            #[inline(always)]
            fn neg_mul_add(self, b: Self, c: Self) -> Self {
                Self(simd!($fnmadd(self.0, b.0, c.0)))
            }
            #[inline(always)]
            fn round(self) -> Self {
                Self(simd!($roundscale::<
                    { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
                >(self.0)))
            }
            #[inline(always)]
            fn scale_pow2(self, n: Self) -> Self {
                Self(simd!($scalef(self.0, n.0)))
            }
            #[inline(always)]
            fn sum(self) -> $t {
                simd!($reduce_add(self.0))
            }
            #[inline(always)]
            fn max_lane(self) -> $t {
                simd!($reduce_max(self.0))
            }
            #[inline(always)]
            fn min_lane(self) -> $t {
                simd!($reduce_min(self.0))
            }
            #[inline(always)]
            fn gt(self, o: Self) -> Self::Mask {
                Bits(simd!($cmp::<_CMP_GT_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn eq(self, o: Self) -> Self::Mask {
                Bits(simd!($cmp::<_CMP_EQ_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn ne(self, o: Self) -> Self::Mask {
                Bits(simd!($cmp::<_CMP_NEQ_UQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn is_nan(self) -> Self::Mask {
                Bits(simd!($cmp::<_CMP_UNORD_Q>(self.0, self.0)))
            }
            #[inline(always)]
            fn select(m: Self::Mask, a: Self, b: Self) -> Self {
                Self(simd!($blend(m.0, b.0, a.0)))
            }
            #[inline(always)]
            fn fill_from(self, n: usize, fill: $t) -> Self {
                Self(simd!($blend(Self::first(n), $set1(fill), self.0)))
            }
        }
    };
}

avx512_vector!(F32x16(__m512): f32, 16, __mmask16;
    _mm512_set1_ps, _mm512_loadu_ps, _mm512_mask_loadu_ps, _mm512_storeu_ps,
    _mm512_mask_storeu_ps, _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_max_ps,
    _mm512_fmadd_ps, _mm512_fnmadd_ps, _mm512_roundscale_ps, _mm512_scalef_ps,
    _mm512_reduce_add_ps, _mm512_reduce_max_ps, _mm512_reduce_min_ps, _mm512_cmp_ps_mask, _mm512_mask_blend_ps);
avx512_vector!(F64x8(__m512d): f64, 8, __mmask8;
    _mm512_set1_pd, _mm512_loadu_pd, _mm512_mask_loadu_pd, _mm512_storeu_pd,
    _mm512_mask_storeu_pd, _mm512_add_pd, _mm512_sub_pd, _mm512_mul_pd, _mm512_max_pd,
    _mm512_fmadd_pd, _mm512_fnmadd_pd, _mm512_roundscale_pd, _mm512_scalef_pd,
    _mm512_reduce_add_pd, _mm512_reduce_max_pd, _mm512_reduce_min_pd, _mm512_cmp_pd_mask, _mm512_mask_blend_pd);

/// A lane mask of AVX2 (all bits of a lane set or clear).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lanes<T>(T);

/// An AVX2 vector type, from the names of its intrinsics (`$sum`, `$max_lane`, `$pow2`
/// and `$iota` are this module's helpers).
macro_rules! avx2_vector {
    ($name:ident($reg:ty): $t:ty, $lanes:expr; $set1:ident, $loadu:ident, $storeu:ident,
     $add:ident, $sub:ident, $mul:ident, $max:ident, $fmadd:ident, $fnmadd:ident,
     $round:ident, $cmp:ident, $blendv:ident, $or:ident, $movemask:ident, $sum:ident,
     $max_lane:ident, $min_lane:ident, $pow2:ident, $iota:ident, $load_part:ident,
     $store_part:ident) => {
        #[derive(Clone, Copy, Debug)]
        pub(crate) struct $name($reg);

        impl Mask for Lanes<$reg> {
            #[inline(always)]
            fn or(self, other: Self) -> Self {
                Lanes(simd!($or(self.0, other.0)))
            }
            #[inline(always)]
            fn any(self) -> bool {
                simd!($movemask(self.0)) != 0
            }
            #[inline(always)]
            fn bits(self) -> u64 {
                simd!($movemask(self.0)) as u64
            }
        }

        impl Vector for $name {
            type Isa = V3;
            type Elem = $t;
            type Mask = Lanes<$reg>;
            const LANES: usize = $lanes;

            #[inline(always)]
            fn splat(_: V3, x: $t) -> Self {
                Self(simd!($set1(x)))
            }
            #[inline(always)]
            unsafe fn load(_: V3, p: *const $t) -> Self {
                // SAFETY: `p` is valid for `LANES` reads (caller contract); AVX: the token.
                Self(unsafe { $loadu(p) })
            }
            #[inline(always)]
            unsafe fn load_part(_: V3, p: *const $t, n: usize, fill: $t) -> Self {
                // A masked load (the first `n` lanes), then `fill` in the others. (Through
                // a stack buffer, the copy was a call to `memcpy` per row.)
                // SAFETY: `p` is valid for the `n < LANES` values read (caller contract);
                // the masked-off lanes are not read. AVX2: the token.
                unsafe { Self($load_part(p, n, fill)) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $t) {
                // SAFETY: `p` is valid for `LANES` writes (caller contract); AVX: the
                // vector exists.
                unsafe { $storeu(p, self.0) }
            }
            #[inline(always)]
            unsafe fn store_part(self, p: *mut $t, n: usize) {
                // SAFETY: `p` is valid for the `n < LANES` values written (caller
                // contract). AVX2: the token.
                unsafe { $store_part(p, n, self.0) }
            }
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                Self(simd!($add(self.0, o.0)))
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                Self(simd!($sub(self.0, o.0)))
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                Self(simd!($mul(self.0, o.0)))
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                Self(simd!($max(self.0, o.0)))
            }
            #[inline(always)]
            fn mul_add(self, b: Self, c: Self) -> Self {
                Self(simd!($fmadd(self.0, b.0, c.0)))
            }
            #[inline(always)]
            fn neg_mul_add(self, b: Self, c: Self) -> Self {
                Self(simd!($fnmadd(self.0, b.0, c.0)))
            }
            #[inline(always)]
            fn round(self) -> Self {
                Self(simd!($round::<
                    { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
                >(self.0)))
            }
            #[inline(always)]
            fn scale_pow2(self, n: Self) -> Self {
                Self(simd!($mul(self.0, $pow2(n.0))))
            }
            #[inline(always)]
            fn sum(self) -> $t {
                simd!($sum(self.0))
            }
            #[inline(always)]
            fn max_lane(self) -> $t {
                simd!($max_lane(self.0))
            }
            #[inline(always)]
            fn min_lane(self) -> $t {
                simd!($min_lane(self.0))
            }
            #[inline(always)]
            fn gt(self, o: Self) -> Self::Mask {
                Lanes(simd!($cmp::<_CMP_GT_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn eq(self, o: Self) -> Self::Mask {
                Lanes(simd!($cmp::<_CMP_EQ_OQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn ne(self, o: Self) -> Self::Mask {
                Lanes(simd!($cmp::<_CMP_NEQ_UQ>(self.0, o.0)))
            }
            #[inline(always)]
            fn is_nan(self) -> Self::Mask {
                Lanes(simd!($cmp::<_CMP_UNORD_Q>(self.0, self.0)))
            }
            #[inline(always)]
            fn select(m: Self::Mask, a: Self, b: Self) -> Self {
                Self(simd!($blendv(b.0, a.0, m.0)))
            }
            #[inline(always)]
            fn fill_from(self, n: usize, fill: $t) -> Self {
                let keep = simd!($cmp::<_CMP_LT_OQ>($iota(), $set1(n as $t)));
                Self(simd!($blendv($set1(fill), self.0, keep)))
            }
        }
    };
}

avx2_vector!(F32x8(__m256): f32, 8;
    _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps, _mm256_sub_ps,
    _mm256_mul_ps, _mm256_max_ps, _mm256_fmadd_ps, _mm256_fnmadd_ps, _mm256_round_ps,
    _mm256_cmp_ps, _mm256_blendv_ps, _mm256_or_ps, _mm256_movemask_ps, hsum_ps, hmax_ps,
    hmin_ps, pow2_ps, iota_ps, load_part_ps, store_part_ps);
avx2_vector!(F64x4(__m256d): f64, 4;
    _mm256_set1_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_add_pd, _mm256_sub_pd,
    _mm256_mul_pd, _mm256_max_pd, _mm256_fmadd_pd, _mm256_fnmadd_pd, _mm256_round_pd,
    _mm256_cmp_pd, _mm256_blendv_pd, _mm256_or_pd, _mm256_movemask_pd, hsum_pd, hmax_pd,
    hmin_pd, pow2_pd, iota_pd, load_part_pd, store_part_pd);

// The AVX2 helpers: `#[target_feature]` functions, safe to call where the features are
// enabled and `unsafe` elsewhere (the vector methods wrap them in `simd!`).

/// Sum of eight lanes: halves added to halves.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

/// Maximum of eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hmax_ps(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_max_ss(m, _mm_shuffle_ps::<1>(m, m));
    _mm_cvtss_f32(m)
}

/// Minimum of eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hmin_ps(v: __m256) -> f32 {
    let m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_min_ss(m, _mm_shuffle_ps::<1>(m, m));
    _mm_cvtss_f32(m)
}

/// Sum of four f64 lanes: halves added to halves.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hsum_pd(v: __m256d) -> f64 {
    let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    _mm_cvtsd_f64(s)
}

/// Maximum of four f64 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hmax_pd(v: __m256d) -> f64 {
    let m = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    let m = _mm_max_sd(m, _mm_unpackhi_pd(m, m));
    _mm_cvtsd_f64(m)
}

/// Minimum of four f64 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hmin_pd(v: __m256d) -> f64 {
    let m = _mm_min_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    let m = _mm_min_sd(m, _mm_unpackhi_pd(m, m));
    _mm_cvtsd_f64(m)
}

/// `2ⁿ` for integral `n` with a normal result, from the exponent bits.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn pow2_ps(n: __m256) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    )))
}

/// `2ⁿ` for integral `n` with a normal result, from the exponent bits.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn pow2_pd(n: __m256d) -> __m256d {
    _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_add_epi64(
        _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)),
        _mm256_set1_epi64x(1023),
    )))
}

/// `0, 1, …, 7`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn iota_ps() -> __m256 {
    _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
}

/// The first `n < 8` values at `p`, `fill` in the other lanes.
///
/// # Safety
/// `p` must be valid for reads of `n` values.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load_part_ps(p: *const f32, n: usize, fill: f32) -> __m256 {
    let keep = _mm256_cmp_ps::<_CMP_LT_OQ>(iota_ps(), _mm256_set1_ps(n as f32));
    // SAFETY: the mask enables the first `n` lanes only, which the caller vouches for.
    // Masked-off lanes are not read; that they cannot fault is Intel's guarantee (AMD
    // calls it implementation-dependent, and LLVM relies on it as well).
    let v = unsafe { _mm256_maskload_ps(p, _mm256_castps_si256(keep)) };
    _mm256_blendv_ps(_mm256_set1_ps(fill), v, keep)
}

/// The first `n < 4` values at `p`, `fill` in the other lanes.
///
/// # Safety
/// `p` must be valid for reads of `n` values.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load_part_pd(p: *const f64, n: usize, fill: f64) -> __m256d {
    let keep = _mm256_cmp_pd::<_CMP_LT_OQ>(iota_pd(), _mm256_set1_pd(n as f64));
    // SAFETY: as in `load_part_ps`.
    let v = unsafe { _mm256_maskload_pd(p, _mm256_castpd_si256(keep)) };
    _mm256_blendv_pd(_mm256_set1_pd(fill), v, keep)
}

/// Writes the first `n < 8` lanes of `v` at `p`: a half, a quarter, one lane (a masked
/// store is microcoded and slow on some AMD cores). Unaligned writes throughout: `p` is
/// only as aligned as an `f32`.
///
/// # Safety
/// `p` must be valid for writes of `n` values.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_part_ps(p: *mut f32, n: usize, v: __m256) {
    debug_assert!(n < 8);
    let (mut rest, mut at) = (_mm256_castps256_ps128(v), 0);
    if n & 4 != 0 {
        // SAFETY: lanes `0..4`, and `4 ≤ n`: valid by the caller's contract.
        unsafe { _mm_storeu_ps(p, rest) };
        rest = _mm256_extractf128_ps::<1>(v);
        at = 4;
    }
    if n & 2 != 0 {
        // SAFETY: lanes `at..at + 2` with `at + 2 ≤ n`; an unaligned 8-byte store.
        unsafe { _mm_storeu_si64(p.add(at).cast::<u8>(), _mm_castps_si128(rest)) };
        rest = _mm_movehl_ps(rest, rest);
        at += 2;
    }
    if n & 1 != 0 {
        // SAFETY: lane `at` with `at + 1 = n`.
        unsafe { _mm_store_ss(p.add(at), rest) };
    }
}

/// Writes the first `n < 4` lanes of `v` at `p` (see `store_part_ps`).
///
/// # Safety
/// `p` must be valid for writes of `n` values.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_part_pd(p: *mut f64, n: usize, v: __m256d) {
    debug_assert!(n < 4);
    let (mut rest, mut at) = (_mm256_castpd256_pd128(v), 0);
    if n & 2 != 0 {
        // SAFETY: lanes `0..2`, and `2 ≤ n`: valid by the caller's contract.
        unsafe { _mm_storeu_pd(p, rest) };
        rest = _mm256_extractf128_pd::<1>(v);
        at = 2;
    }
    if n & 1 != 0 {
        // SAFETY: lane `at` with `at + 1 = n`; `_mm_store_sd` needs only an `f64`'s
        // alignment, which `p` has.
        unsafe { _mm_store_sd(p.add(at), rest) };
    }
}

/// `0, 1, 2, 3`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn iota_pd() -> __m256d {
    _mm256_setr_pd(0.0, 1.0, 2.0, 3.0)
}
