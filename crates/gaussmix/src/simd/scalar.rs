//! The scalar level: one lane, plain Rust (`f32` and `f64` are its vectors), for CPUs
//! without AVX2 and for other targets. Multiply-adds are not fused (a fused one would be
//! a libm call without hardware FMA), as in the portable loops this level replaced.

use super::{Isa, Mask, Vector};

/// The scalar level (always available).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scalar;

impl Isa for Scalar {
    type F32 = f32;
    type F64 = f64;
    const MASKED_TAILS: bool = false;
    const REGISTERS: usize = 16;

    #[cfg(test)]
    fn run<R>(self, f: impl FnOnce(Self) -> R) -> R {
        f(self)
    }

    #[inline(always)]
    unsafe fn load_widened(self, p: *const f32) -> f64 {
        // SAFETY: `p` is valid for one read (caller contract).
        unsafe { *p as f64 }
    }
}

impl Mask for bool {
    #[inline(always)]
    fn or(self, other: Self) -> Self {
        self | other
    }
    #[inline(always)]
    fn any(self) -> bool {
        self
    }
    #[inline(always)]
    fn bits(self) -> u64 {
        self as u64
    }
}

macro_rules! scalar_vector {
    ($t:ident, $shift:expr, $int:ident, $uint:ident, $bias:expr, $mant:expr) => {
        impl Vector for $t {
            type Isa = Scalar;
            type Elem = $t;
            type Mask = bool;
            const LANES: usize = 1;

            #[inline(always)]
            fn splat(_: Scalar, x: $t) -> Self {
                x
            }
            #[inline(always)]
            unsafe fn load(_: Scalar, p: *const $t) -> Self {
                // SAFETY: `p` is valid for one read (caller contract).
                unsafe { *p }
            }
            #[inline(always)]
            unsafe fn load_part(_: Scalar, _: *const $t, _: usize, fill: $t) -> Self {
                // A part of one lane is no lane.
                fill
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $t) {
                // SAFETY: `p` is valid for one write (caller contract).
                unsafe { *p = self }
            }
            #[inline(always)]
            unsafe fn store_part(self, _: *mut $t, _: usize) {}

            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self - o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                if self > o {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn mul_add(self, b: Self, c: Self) -> Self {
                self * b + c
            }
            #[inline(always)]
            fn neg_mul_add(self, b: Self, c: Self) -> Self {
                c - self * b
            }
            #[inline(always)]
            fn round(self) -> Self {
                // Adding 1.5·2^(mantissa bits) rounds to an integer (ties to even) and
                // leaves it in the low bits; `round_ties_even` would be a libm call
                // without SSE4.1.
                (self + $shift) - $shift
            }
            #[inline(always)]
            fn scale_pow2(self, n: Self) -> Self {
                self * <$t>::from_bits((((n as $int) + $bias) as $uint) << $mant)
            }
            #[inline(always)]
            fn sum(self) -> $t {
                self
            }
            #[inline(always)]
            fn max_lane(self) -> $t {
                self
            }
            #[inline(always)]
            fn min_lane(self) -> $t {
                self
            }
            #[inline(always)]
            fn gt(self, o: Self) -> bool {
                self > o
            }
            #[inline(always)]
            fn eq(self, o: Self) -> bool {
                self == o
            }
            #[inline(always)]
            fn ne(self, o: Self) -> bool {
                self != o
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn select(m: bool, a: Self, b: Self) -> Self {
                if m {
                    a
                } else {
                    b
                }
            }
            #[inline(always)]
            fn fill_from(self, n: usize, fill: $t) -> Self {
                if n >= 1 {
                    self
                } else {
                    fill
                }
            }
        }
    };
}

scalar_vector!(f32, 12_582_912.0, i32, u32, 127, 23);
scalar_vector!(f64, 6_755_399_441_055_744.0, i64, u64, 1023, 52);
