//! SIMD written once: every row loop of the kernels is one generic function, compiled for
//! each instruction set the CPU may have.
//!
//! # Levels and tokens
//! An [`Isa`] is a zero-sized token for one instruction-set level: [`V4`] (AVX-512F with
//! AVX2 and FMA: 16 f32 / 8 f64 lanes), [`V3`] (AVX2 and FMA: 8 / 4 lanes) and [`Scalar`]
//! (one lane, plain Rust: other x86 CPUs and other targets). A `V4` or `V3` exists only
//! when the CPU has its instruction set, and so does every vector built from one (their
//! constructors take the token), so the vector operations of [`Vector`] are safe; only
//! loads and stores through raw pointers are `unsafe`.
//!
//! # Dispatch
//! [`multiversion!`] defines a function compiled once per level: inside it, one
//! function per level, with the level's target features, takes the token and the
//! function's own parameters and evaluates the body, so every `#[inline(always)]` generic
//! function it calls — and every loop the compiler auto-vectorises there — gets them; the
//! function calls the one of the level [`cpu::level`] detected (once per process,
//! cached; tests cap it with `force_kernels("simd=avx2|portable")`, which selects `V3` or
//! `Scalar`). Dispatch once per chunk of rows, never per row: a generic kernel takes the
//! token as its first argument (`fn kernel<S: Isa>(s: S, …)`) and passes it down.
//!
//! # Writing a loop once
//! Loops run over whole vectors of `V::LANES` values, then over the last partial vector
//! with [`load_upto`] / [`store_upto`] (masked loads and stores on AVX-512; on AVX2
//! masked loads and stores by halves, quarters and single lanes, since a masked store is
//! slow on some AMD cores; lane by lane at the scalar level; `Vector::fill_from` gives
//! the unused lanes a neutral value). Register blocking scales with [`Isa::REGISTERS`]. The arithmetic is
//! that of the AVX-512 and AVX2 intrinsics loops this module replaced, bit for bit (an
//! AVX-512 fit is bit-identical to before): the same lane widths, fused multiply-adds where
//! they had them (`Vector::mul_add` is fused on `V3`/`V4`, a plain multiply and add on
//! `Scalar`, like the portable loops), the same reduction trees (`Vector::sum`), and on
//! AVX2 the loop tails that ran in scalar code still do where that changes rounding
//! ([`Isa::MASKED_TAILS`]). Two things moved in the last bits: the AVX2 log-sum-exp
//! (f64), which used to be the portable loop compiled for AVX2, is now the AVX-512 one at
//! four lanes; and the scalar level, whose portable loops had sums of their own shapes
//! (sixteen partial sums, no partial chains), now runs the same loops as the vector
//! levels at one lane — its f32 anchored kernel agrees with the old one to f32 rounding,
//! not bit for bit. Since then the log-sum-exp takes its exponentials over whole blocks
//! of rows for every K (`rows::normalize_rows`), which changed the order of its row sums
//! (K ≥ 8 not a multiple of the lane count, and on AVX2 K = 4–7): fits moved by up to
//! 1e-10 relative.
//!
//! # Why not pulp
//! `pulp`'s AVX-512 level needs its `x86-v4` cargo feature, and features unify: faer
//! dispatches its own SIMD code (the Cholesky factorisation, matrix-vector products,
//! triangular solves) through `pulp::Arch`, which would switch to AVX-512 code whose sums
//! associate differently: fits would move in the last bits for reasons unrelated to the
//! kernels (not measured: read off faer 0.24's `llt` and `matmul`). Its generic trait
//! also lacks operations the exponentials need (rounding, 2ⁿ, f32→f64 widening). So the
//! one generic layer is this module, over `std::arch`, with only the operations the
//! kernels use.
//!
//! ISA-specific code outside the [`Vector`] and [`Isa`] implementations is allowed only
//! where it was measured to pay, with the measurement in a comment. There is none.
//!
//! [`cpu::level`]: crate::cpu::level

mod math;
mod rows;
mod scalar;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

pub(crate) use math::ln_in_place;
pub(crate) use rows::{
    accumulate_anchor, argmax_shifted, cross_max, exp_sum, own_moments, packed_outer, scale, sub,
    whitened_sq, widen,
};
pub(crate) use scalar::Scalar;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{V3, V4};

use crate::cpu::Level;

/// An instruction-set level (a zero-sized token; see the module docs).
pub(crate) trait Isa: Copy + Send + Sync + 'static {
    /// Vectors of f32 lanes.
    type F32: Vector<Elem = f32, Isa = Self>;
    /// Vectors of f64 lanes.
    type F64: Vector<Elem = f64, Isa = Self>;
    /// Whether loops take their tails as a partial last vector (AVX-512, with masked
    /// loads and stores) rather than in scalar code. The AVX2 loops whose tails ran in
    /// scalar code before the module was unified still do: it decides the order of their
    /// sums, and so their rounding.
    const MASKED_TAILS: bool;
    /// Vector registers: register-blocked loops keep `REGISTERS / 4` rows or components
    /// of accumulators (each one or two vectors wide).
    const REGISTERS: usize;
    /// Tests: runs `f` inside a function compiled with this level's target features
    /// (kernels use [`multiversion!`], which keeps their arguments function parameters).
    #[cfg(test)]
    fn run<R>(self, f: impl FnOnce(Self) -> R) -> R;
    /// `F64::LANES` values from `p`, widened to f64.
    ///
    /// # Safety
    /// `p` must be valid for reads of `F64::LANES` values.
    unsafe fn load_widened(self, p: *const f32) -> Self::F64;
}

/// A mask of vector lanes, from a comparison.
pub(crate) trait Mask: Copy {
    fn or(self, other: Self) -> Self;
    /// Whether any lane is set.
    fn any(self) -> bool;
    /// The lanes as bits, lane 0 lowest.
    fn bits(self) -> u64;
}

/// A vector of `LANES` values of `Elem` (f32 or f64) for the level `Isa`.
pub(crate) trait Vector: Copy {
    type Isa: Isa;
    type Elem: Copy;
    type Mask: Mask;
    const LANES: usize;

    fn splat(isa: Self::Isa, x: Self::Elem) -> Self;
    /// # Safety
    /// `p` must be valid for reads of `LANES` values.
    unsafe fn load(isa: Self::Isa, p: *const Self::Elem) -> Self;
    /// The first `n < LANES` lanes from `p`, the others `fill`.
    ///
    /// # Safety
    /// `p` must be valid for reads of `n` values (nothing beyond them is read).
    unsafe fn load_part(isa: Self::Isa, p: *const Self::Elem, n: usize, fill: Self::Elem) -> Self;
    /// # Safety
    /// `p` must be valid for writes of `LANES` values.
    unsafe fn store(self, p: *mut Self::Elem);
    /// Stores the first `n < LANES` lanes.
    ///
    /// # Safety
    /// `p` must be valid for writes of `n` values (nothing beyond them is written).
    unsafe fn store_part(self, p: *mut Self::Elem, n: usize);

    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `self > o ? self : o` per lane (x86 `max`: `o` when either is NaN).
    fn max(self, o: Self) -> Self;
    /// `self·b + c`: fused on `V3`/`V4`, a multiply then an add on `Scalar`.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `c − self·b`, fused as [`Vector::mul_add`] is.
    fn neg_mul_add(self, b: Self, c: Self) -> Self;
    /// To the nearest integer, ties to even (|x| below 2²² for f32, 2⁵¹ for f64).
    fn round(self) -> Self;
    /// `self·2ⁿ` for integral `n` with `2ⁿ` a normal number (one rounding).
    fn scale_pow2(self, n: Self) -> Self;
    /// The sum of the lanes, halves added to halves (the order of the intrinsics'
    /// reductions).
    fn sum(self) -> Self::Elem;
    /// The largest lane.
    fn max_lane(self) -> Self::Elem;
    /// The smallest lane.
    fn min_lane(self) -> Self::Elem;

    /// `self > o` (false for NaN).
    fn gt(self, o: Self) -> Self::Mask;
    /// `self == o` (false for NaN).
    fn eq(self, o: Self) -> Self::Mask;
    /// `!(self == o)` (true for NaN).
    fn ne(self, o: Self) -> Self::Mask;
    fn is_nan(self) -> Self::Mask;
    /// `m ? a : b` per lane.
    fn select(m: Self::Mask, a: Self, b: Self) -> Self;
    /// Lanes from `n` on set to `fill`.
    fn fill_from(self, n: usize, fill: Self::Elem) -> Self;
}

/// The vector type of an element type at a level: `f32 → S::F32`, `f64 → S::F64`.
pub(crate) trait Elem: Copy + Default + 'static {
    type V<S: Isa>: Vector<Elem = Self, Isa = S>;
}

impl Elem for f32 {
    type V<S: Isa> = S::F32;
}

impl Elem for f64 {
    type V<S: Isa> = S::F64;
}

/// The most lanes of any level (AVX-512 f32): the size of lane buffers.
pub(crate) const MAX_LANES: usize = 16;

/// `min(n, LANES)` values from `p` (a whole vector when `n ≥ LANES`), the other lanes
/// `fill`.
///
/// # Safety
/// `p` must be valid for reads of `min(n, LANES)` values.
#[inline(always)]
pub(crate) unsafe fn load_upto<V: Vector>(
    isa: V::Isa,
    p: *const V::Elem,
    n: usize,
    fill: V::Elem,
) -> V {
    if n >= V::LANES {
        // SAFETY: `p` is valid for `LANES` values (caller contract, `n ≥ LANES`).
        unsafe { V::load(isa, p) }
    } else {
        // SAFETY: `p` is valid for the `n < LANES` values read (caller contract).
        unsafe { V::load_part(isa, p, n, fill) }
    }
}

/// Stores the first `min(n, LANES)` lanes of `v` at `p`.
///
/// # Safety
/// `p` must be valid for writes of `min(n, LANES)` values.
#[inline(always)]
pub(crate) unsafe fn store_upto<V: Vector>(v: V, p: *mut V::Elem, n: usize) {
    if n >= V::LANES {
        // SAFETY: `p` is valid for `LANES` values (caller contract, `n ≥ LANES`).
        unsafe { v.store(p) }
    } else {
        // SAFETY: `p` is valid for the `n < LANES` values written (caller contract).
        unsafe { v.store_part(p, n) }
    }
}

/// The token of one level, as detected.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Token {
    Scalar(Scalar),
    #[cfg(target_arch = "x86_64")]
    V3(V3),
    #[cfg(target_arch = "x86_64")]
    V4(V4),
}

impl Token {
    /// The token of `cpu::level()` (detected once; capped by `force_kernels("simd=…")` in tests),
    /// or of `cap` if that is lower.
    #[inline]
    pub(crate) fn at_most(cap: Level) -> Self {
        match crate::cpu::level().min(cap) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `cpu::level` reports AVX-512 only when the CPU has AVX-512F, AVX2
            // and FMA.
            Level::Avx512 => Token::V4(unsafe { V4::new_unchecked() }),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `cpu::level` reports AVX2 or more only when the CPU has AVX2 and FMA.
            Level::Avx2 => Token::V3(unsafe { V3::new_unchecked() }),
            _ => Token::Scalar(Scalar),
        }
    }
}

/// Defines a function compiled once per level and dispatched at run time:
///
/// ```ignore
/// multiversion! {
///     /// Docs.
///     pub(crate) fn name<T: Bound>(a: &mut [T], k: usize) -> R {
///         s => body(s, a, k)
///     }
/// }
/// ```
///
/// defines `name` and, inside it, one function per level whose parameters are the
/// token (bound to the pattern `s`) and `name`'s own; each evaluates the body, compiled
/// with the level's target features (so every `#[inline(always)]` function it calls
/// gets them), and `name` calls the one of the detected level (`cpu::level`).
/// `multiversion! { at_most Avx2; fn … }` caps the level. The arguments stay function parameters
/// down to the compiled body (a closure capturing them instead hid that the slices do not
/// alias, and loops the compiler had vectorised stopped being vectorised: tall-2d 1.2×
/// slower). The body is not placed inside an `unsafe` block.
macro_rules! multiversion {
    (at_most $cap:ident; $($rest:tt)*) => {
        $crate::simd::multiversion!(@at_most $cap; $($rest)*);
    };
    ($(@at_most $cap:ident;)?
        $(#[$attr:meta])*
        $vis:vis fn $name:ident $(<$($gen:ident: $bound:path),+ $(,)?>)?
            ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        { $s:pat => $body:expr $(,)? }
    ) => {
        $(#[$attr])*
        $vis fn $name $(<$($gen: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn v4 $(<$($gen: $bound),+>)? (
                $s: $crate::simd::V4, $($arg: $ty),*
            ) $(-> $ret)? {
                $body
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn v3 $(<$($gen: $bound),+>)? (
                $s: $crate::simd::V3, $($arg: $ty),*
            ) $(-> $ret)? {
                $body
            }
            #[inline(always)]
            fn scalar $(<$($gen: $bound),+>)? (
                $s: $crate::simd::Scalar, $($arg: $ty),*
            ) $(-> $ret)? {
                $body
            }
            match $crate::simd::Token::at_most($crate::simd::multiversion!(@cap $($cap)?)) {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a `V4` exists only when the CPU has AVX-512F, AVX2 and FMA.
                $crate::simd::Token::V4(t) => unsafe { v4 $(::<$($gen),+>)? (t, $($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a `V3` exists only when the CPU has AVX2 and FMA.
                $crate::simd::Token::V3(t) => unsafe { v3 $(::<$($gen),+>)? (t, $($arg),*) },
                $crate::simd::Token::Scalar(t) => scalar $(::<$($gen),+>)? (t, $($arg),*),
            }
        }
    };
    (@cap) => {
        $crate::cpu::Level::Avx512
    };
    (@cap $cap:ident) => {
        $crate::cpu::Level::$cap
    };
}
pub(crate) use multiversion;

/// Tests: `[(level name, value of body)]` for every level this CPU has (`Scalar` always,
/// `V3` and `V4` when present, whatever the forced cap (`force_kernels("simd=…")`) says), `body` evaluated inside
/// `Isa::run` with `$s` bound to the level's token.
#[cfg(test)]
macro_rules! at_each_level {
    ($s:ident => $body:expr) => {{
        use $crate::simd::Isa as _;
        #[allow(unused_mut)]
        let mut out = vec![(
            "scalar",
            $crate::simd::Scalar.run(|$s: $crate::simd::Scalar| $body),
        )];
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = $crate::simd::V3::on_this_cpu() {
            out.push(("avx2", t.run(|$s: $crate::simd::V3| $body)));
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = $crate::simd::V4::on_this_cpu() {
            out.push(("avx512", t.run(|$s: $crate::simd::V4| $body)));
        }
        out
    }};
}
#[cfg(test)]
pub(crate) use at_each_level;

multiversion! {
    /// Turns each row of `lp` (`m×K` weighted log-probabilities) into responsibilities
    /// in place and writes `log p(x_i)` into `log_norm` (see `rows::normalize_rows`).
    pub(crate) fn normalize_rows(lp: &mut [f64], k: usize, log_norm: &mut [f64]) {
        s => rows::normalize_rows(s, lp, k, log_norm)
    }
}

multiversion! {
    /// `outer ← P_i = x_i ⊗ x_i` packed by rows of the upper triangle, for the rows of
    /// `xc` (stride `d`): `rows::packed_outer` on buffers given the slack it needs for the
    /// time of the call.
    pub(crate) fn packed_outer_rows<E: Elem>(outer: &mut Vec<E>, xc: &mut Vec<E>, d: usize) {
        s => packed_outer_vecs(s, outer, xc, d)
    }
}

/// See [`packed_outer_rows`].
#[inline(always)]
fn packed_outer_vecs<S: Isa, E: Elem>(s: S, outer: &mut Vec<E>, xc: &mut Vec<E>, d: usize) {
    if d == 0 {
        outer.clear();
        return;
    }
    let m = xc.len() / d;
    let t = d * (d + 1) / 2;
    // Whole-vector loads and stores run up to `LANES − 1` values past the ends.
    xc.resize(m * d + MAX_LANES, E::default());
    outer.resize(m * t + MAX_LANES, E::default());
    // SAFETY: `xc` holds `m` rows of stride `d` and `outer` `m·t` values, each with
    // `MAX_LANES ≥ LANES` values of slack after them.
    unsafe { rows::packed_outer(s, outer, xc, m, d, d) };
    xc.truncate(m * d);
    outer.truncate(m * t);
}
