//! AVX2 + FMA versions of the anchored kernel's row loops (`anchored`), for CPUs without
//! AVX-512 (the portable loops left long dependency chains and ran slower than the f64
//! kernel). The same algorithms as `simd512` with eight f32 lanes instead of sixteen, so
//! sums associate differently: results agree with the AVX-512 and portable loops to
//! rounding (tested against an f64 reference), not bit for bit. AVX2 has no masked
//! float loads worth using, so lengths that are not multiples of eight finish in scalar
//! code.
//!
//! Every function here requires AVX2 and FMA; callers check `available()` (`cpu::level`).
//! The register-only helpers are safe `#[target_feature]` functions (callable without
//! `unsafe` from the functions below, which enable the same features); the others read
//! and write through raw pointers and list the slice lengths they rely on under
//! `# Safety`. In the `SAFETY` comments, "AVX" is implied by this module's `avx2` target
//! feature, which every such function enables and whose presence on the CPU is its
//! caller's contract.

use std::arch::x86_64::*;

/// Whether the AVX2 code paths can run.
pub(crate) fn available() -> bool {
    crate::cpu::avx2()
}

/// Horizontal maximum of eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hmax(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_max_ss(m, _mm_shuffle_ps::<1>(m, m));
    _mm_cvtss_f32(m)
}

/// Horizontal sum of eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

/// Horizontal sum of four f64 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hsum_pd(v: __m256d) -> f64 {
    let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    _mm_cvtsd_f64(s)
}

/// `dst ← x − z`.
///
/// # Safety
/// - The CPU must support AVX2 and FMA.
/// - `x` and `z` must hold at least `dst.len()` values.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn sub(dst: &mut [f32], x: &[f32], z: &[f32]) {
    let d = dst.len();
    debug_assert!(x.len() >= d && z.len() >= d);
    let (op, xp, zp) = (dst.as_mut_ptr(), x.as_ptr(), z.as_ptr());
    let mut j = 0;
    while j + 8 <= d {
        // SAFETY: lanes `j..j + 8` with `j + 8 ≤ d` are inside `dst` (length d) and inside
        // `x` and `z` (at least d values: caller contract); AVX: see the module docs.
        unsafe {
            _mm256_storeu_ps(
                op.add(j),
                _mm256_sub_ps(_mm256_loadu_ps(xp.add(j)), _mm256_loadu_ps(zp.add(j))),
            )
        };
        j += 8;
    }
    while j < d {
        // SAFETY: `j < d`: inside `dst`, `x` and `z` (at least d values: caller contract).
        unsafe { *op.add(j) = *xp.add(j) - *zp.add(j) };
        j += 1;
    }
}

/// See `simd512::cross_max` (`own.0 < v.len()` for the own value to be put in).
///
/// # Safety
/// - The CPU must support AVX2 and FMA.
/// - `g.len() ≥ y.len()·v.len()` and `c2.len() ≥ v.len()`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn cross_max(
    v: &mut [f32],
    y: &[f32],
    g: &[f32],
    c2: &[f32],
    own: (usize, f32),
) -> f32 {
    let k = v.len();
    let d = y.len();
    debug_assert!(g.len() >= d * k && c2.len() >= k && own.0 < k);
    let (vp, gp, cp) = (v.as_mut_ptr(), g.as_ptr(), c2.as_ptr());
    let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let ownv = _mm256_set1_ps(own.1);
    let mut mx = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut nan = _mm256_setzero_ps();
    let mut kb = 0;
    while kb + 8 <= k {
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut j = 0;
        while j + 4 <= d {
            for (u, a) in acc.iter_mut().enumerate() {
                // SAFETY: `j + u < d = y.len()`, and lanes `kb..kb + 8` (`kb + 8 ≤ k`) of
                // row `j + u` of `g` end at `(j + u)·k + kb + 8 ≤ d·k ≤ g.len()` (caller
                // contract); AVX: see the module docs.
                let (gj, yj) = unsafe {
                    (
                        _mm256_loadu_ps(gp.add((j + u) * k + kb)),
                        *y.get_unchecked(j + u),
                    )
                };
                *a = _mm256_fmadd_ps(_mm256_set1_ps(yj), gj, *a);
            }
            j += 4;
        }
        while j < d {
            // SAFETY: as above, with `j < d`.
            let (gj, yj) = unsafe { (_mm256_loadu_ps(gp.add(j * k + kb)), *y.get_unchecked(j)) };
            acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(yj), gj, acc[0]);
            j += 1;
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        // SAFETY: lanes `kb..kb + 8` with `kb + 8 ≤ k`: inside `v` (length k) and `c2` (at
        // least k values: caller contract); AVX: see the module docs.
        let (vk, ck) = unsafe { (_mm256_loadu_ps(vp.add(kb)), _mm256_loadu_ps(cp.add(kb))) };
        let mut x = _mm256_add_ps(_mm256_add_ps(vk, ck), s);
        if own.0 >= kb && own.0 < kb + 8 {
            let hit = _mm256_cmpeq_epi32(iota, _mm256_set1_epi32((own.0 - kb) as i32));
            x = _mm256_blendv_ps(x, ownv, _mm256_castsi256_ps(hit));
        }
        // SAFETY: lanes `kb..kb + 8` of `v`, as above.
        unsafe { _mm256_storeu_ps(vp.add(kb), x) };
        nan = _mm256_or_ps(nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x));
        mx = _mm256_max_ps(mx, x);
        kb += 8;
    }
    let mut m = hmax(mx);
    let mut bad = _mm256_movemask_ps(nan) != 0;
    for c in kb..k {
        // SAFETY: `c < k`: inside `v` (length k) and `c2` (at least k values).
        let mut a = unsafe { *vp.add(c) + *cp.add(c) };
        for (j, yj) in y.iter().enumerate() {
            // SAFETY: `j < d` and `c < k`, so `j·k + c < d·k ≤ g.len()` (caller contract).
            a += yj * unsafe { *gp.add(j * k + c) };
        }
        if c == own.0 {
            a = own.1;
        }
        // SAFETY: `c < k = v.len()`.
        unsafe { *vp.add(c) = a };
        bad |= a.is_nan();
        m = if a > m { a } else { m };
    }
    if bad {
        f32::NAN
    } else {
        m
    }
}

/// `argmax_k (h_k − q_k)`, first index on ties: per lane the best value and its index,
/// then the lanes (and the scalar tail) reduced.
///
/// # Safety
/// - The CPU must support AVX2 and FMA.
/// - `q.len() ≥ h.len()`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn argmax_shifted(h: &[f32], q: &[f32]) -> usize {
    let k = h.len();
    debug_assert!(q.len() >= k);
    let (hp, qp) = (h.as_ptr(), q.as_ptr());
    let mut best = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut at = _mm256_setzero_si256();
    let mut idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let step = _mm256_set1_epi32(8);
    let mut kb = 0;
    while kb + 8 <= k {
        // SAFETY: lanes `kb..kb + 8` with `kb + 8 ≤ k`: inside `h` (length k) and `q` (at
        // least k values: caller contract); AVX: see the module docs.
        let (hk, qk) = unsafe { (_mm256_loadu_ps(hp.add(kb)), _mm256_loadu_ps(qp.add(kb))) };
        let v = _mm256_sub_ps(hk, qk);
        let gt = _mm256_cmp_ps::<_CMP_GT_OQ>(v, best);
        best = _mm256_blendv_ps(best, v, gt);
        at = _mm256_castps_si256(_mm256_blendv_ps(
            _mm256_castsi256_ps(at),
            _mm256_castsi256_ps(idx),
            gt,
        ));
        idx = _mm256_add_epi32(idx, step);
        kb += 8;
    }
    let (mut bv, mut bi) = ([0.0f32; 8], [0i32; 8]);
    // SAFETY: `bv` and `bi` are 8 × 4 = 32 bytes each, the width of the unaligned stores;
    // AVX: see the module docs.
    unsafe {
        _mm256_storeu_ps(bv.as_mut_ptr(), best);
        _mm256_storeu_si256(bi.as_mut_ptr() as *mut __m256i, at);
    }
    let mut top = (f32::NEG_INFINITY, usize::MAX);
    for (v, i) in bv.iter().zip(&bi) {
        if kb > 0 && (*v > top.0 || (*v == top.0 && (*i as usize) < top.1)) {
            top = (*v, *i as usize);
        }
    }
    for c in kb..k {
        // SAFETY: `c < k`: inside `h` (length k) and `q` (at least k values).
        let v = unsafe { *hp.add(c) - *qp.add(c) };
        if v > top.0 {
            top = (v, c);
        }
    }
    if top.1 == usize::MAX {
        0
    } else {
        top.1
    }
}

/// `exp(x)` for `x ≤ 0`, eight lanes, 0 below −87.3 (see
/// `anchored::exp_nonpositive_f32`).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn exp_nonpositive(x: __m256) -> __m256 {
    let live = _mm256_cmp_ps::<_CMP_GT_OQ>(x, _mm256_set1_ps(-87.3));
    let x = _mm256_max_ps(x, _mm256_set1_ps(-87.3));
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.0 / 5040.0);
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    // 2ⁿ from the exponent bits (n ≥ −126 after the clamp).
    let two_n = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    )));
    _mm256_and_ps(_mm256_mul_ps(p, two_n), live)
}

/// `v ← exp(v − mx)`; returns `Σ v`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn exp_sum(v: &mut [f32], mx: f32) -> f32 {
    let k = v.len();
    let vp = v.as_mut_ptr();
    let mxv = _mm256_set1_ps(mx);
    let mut sum = _mm256_setzero_ps();
    let mut kb = 0;
    while kb + 8 <= k {
        // SAFETY: lanes `kb..kb + 8` with `kb + 8 ≤ k = v.len()`; AVX: see the module docs.
        let x = unsafe { _mm256_loadu_ps(vp.add(kb)) };
        let e = exp_nonpositive(_mm256_sub_ps(x, mxv));
        // SAFETY: the same lanes of `v`.
        unsafe { _mm256_storeu_ps(vp.add(kb), e) };
        sum = _mm256_add_ps(sum, e);
        kb += 8;
    }
    let mut s = hsum(sum);
    for c in kb..k {
        // SAFETY: `c < k = v.len()`.
        let e = crate::kernels::exp_nonpositive_f32(unsafe { *vp.add(c) } - mx);
        // SAFETY: `c < k = v.len()`.
        unsafe { *vp.add(c) = e };
        s += e;
    }
    s
}

/// `v ← s·v`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn scale(v: &mut [f32], s: f32) {
    let k = v.len();
    let vp = v.as_mut_ptr();
    let sv = _mm256_set1_ps(s);
    let mut kb = 0;
    while kb + 8 <= k {
        // SAFETY: lanes `kb..kb + 8` with `kb + 8 ≤ k = v.len()`; AVX: see the module docs.
        unsafe { _mm256_storeu_ps(vp.add(kb), _mm256_mul_ps(_mm256_loadu_ps(vp.add(kb)), sv)) };
        kb += 8;
    }
    for c in kb..k {
        // SAFETY: `c < k = v.len()`.
        unsafe { *vp.add(c) *= s };
    }
}

/// `‖yᵀU‖²` in f64 (`U`: D×D row-major upper triangular).
///
/// # Safety
/// - The CPU must support AVX2 and FMA.
/// - `u.len() ≥ y.len()²`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn whitened_sq(y: &[f64], u: &[f64]) -> f64 {
    let d = y.len();
    debug_assert!(u.len() >= d * d);
    let up = u.as_ptr();
    let mut q = _mm256_setzero_pd();
    let mut jb = 0;
    while jb + 4 <= d {
        let mut z = [_mm256_setzero_pd(); 2];
        for i in 0..jb + 4 {
            // SAFETY: `i < jb + 4 ≤ d = y.len()`, and lanes `jb..jb + 4` of row `i` of `U`
            // end at `i·d + jb + 4 ≤ d² ≤ u.len()` (caller contract); AVX: see the module
            // docs.
            let (row, yi) = unsafe { (_mm256_loadu_pd(up.add(i * d + jb)), *y.get_unchecked(i)) };
            z[i & 1] = _mm256_fmadd_pd(_mm256_set1_pd(yi), row, z[i & 1]);
        }
        let zz = _mm256_add_pd(z[0], z[1]);
        q = _mm256_fmadd_pd(zz, zz, q);
        jb += 4;
    }
    let mut s = hsum_pd(q);
    for j in jb..d {
        let mut z = 0.0;
        for i in 0..=j {
            // SAFETY: `i ≤ j < d`: inside `y`, and `i·d + j < d² ≤ u.len()`.
            z += unsafe { *y.get_unchecked(i) * *up.add(i * d + j) };
        }
        s += z * z;
    }
    s
}

/// `dst ← src` widened to f64.
///
/// # Safety
/// - The CPU must support AVX2 and FMA.
/// - `src.len() ≥ dst.len()`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn widen(dst: &mut [f64], src: &[f32]) {
    let n = dst.len();
    debug_assert!(src.len() >= n);
    let (dp, sp) = (dst.as_mut_ptr(), src.as_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: lanes `i..i + 4` with `i + 4 ≤ n`: inside `dst` (length n) and `src` (at
        // least n values: caller contract); AVX: see the module docs.
        unsafe { _mm256_storeu_pd(dp.add(i), _mm256_cvtps_pd(_mm_loadu_ps(sp.add(i)))) };
        i += 4;
    }
    while i < n {
        // SAFETY: `i < n`: inside `dst` and `src`.
        unsafe { *dp.add(i) = *sp.add(i) as f64 };
        i += 1;
    }
}

/// See `simd512::own_moments`: `m2 += Σ_p r_pa y_p y_pᵀ` in f64 (upper triangle, and
/// some entries below it; `y`: f64 rows of stride `dp`, zero beyond `D`), then
/// `r_pa ← 0`, for the `rows = r.len() / k` rows. Blocks of four matrix rows by eight
/// columns in eight registers.
///
/// # Safety
/// - The CPU must support AVX2 and FMA.
/// - `a < k`, `dp ≥ d + 15`, `y.len() ≥ rows·dp`, `m2.len() ≥ d²`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn own_moments(
    r: &mut [f32],
    y: &[f64],
    a: usize,
    k: usize,
    d: usize,
    dp: usize,
    m2: &mut [f64],
) {
    let rows = r.len() / k;
    debug_assert!(a < k && dp >= d + 15 && y.len() >= rows * dp && m2.len() >= d * d);
    let (rp, yp, mp) = (r.as_mut_ptr(), y.as_ptr(), m2.as_mut_ptr());
    let mut ib = 0;
    while ib < d {
        let ih = (d - ib).min(4);
        let mut jb = ib / 8 * 8;
        while jb < d {
            let w = (d - jb).min(8);
            let mut acc = [[_mm256_setzero_pd(); 2]; 4];
            for p in 0..rows {
                // SAFETY: `p < rows` and `a < k`: `p·k + a < rows·k ≤ r.len()`. Row `p` of
                // `y` starts at `p·dp` and has `dp` values (`y.len() ≥ rows·dp`); the loads
                // read its lanes `jb..jb + 8` with `jb < d`, so below `d + 7 < dp`, and
                // lanes `ib + u < d`. AVX: see the module docs.
                unsafe {
                    let rv = *rp.add(p * k + a) as f64;
                    let yr = yp.add(p * dp);
                    let lo = _mm256_loadu_pd(yr.add(jb));
                    let hi = _mm256_loadu_pd(yr.add(jb + 4));
                    for (u, acc) in acc.iter_mut().enumerate().take(ih) {
                        let ri = _mm256_set1_pd(rv * *yr.add(ib + u));
                        acc[0] = _mm256_fmadd_pd(ri, lo, acc[0]);
                        acc[1] = _mm256_fmadd_pd(ri, hi, acc[1]);
                    }
                }
            }
            let mut buf = [0.0f64; 8];
            for (u, acc) in acc.iter().enumerate().take(ih) {
                // SAFETY: `buf` holds 8 f64, two 4-lane stores; `ib + u < d` and
                // `jb + l < jb + w ≤ d`, so `(ib + u)·d + jb + l < d² ≤ m2.len()` (caller
                // contract). AVX: see the module docs.
                unsafe {
                    _mm256_storeu_pd(buf.as_mut_ptr(), acc[0]);
                    _mm256_storeu_pd(buf.as_mut_ptr().add(4), acc[1]);
                    let row = mp.add((ib + u) * d + jb);
                    for (l, b) in buf.iter().enumerate().take(w) {
                        *row.add(l) += b;
                    }
                }
            }
            jb += 8;
        }
        ib += 4;
    }
    for p in 0..rows {
        // SAFETY: `p·k + a < rows·k ≤ r.len()` (`a < k`: caller contract).
        unsafe { *rp.add(p * k + a) = 0.0 };
    }
}

/// See `simd512::accumulate_anchor` (`rows = r.len() / k`).
///
/// # Safety
/// - The CPU must support AVX2 and FMA.
/// - `dp ≥ d + 15`, `y.len() ≥ rows·dp`, `c.len() ≥ k·d`, `n.len() ≥ k`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn accumulate_anchor(
    r: &[f32],
    y: &[f32],
    k: usize,
    d: usize,
    dp: usize,
    c: &mut [f64],
    n: &mut [f64],
) {
    let rows = r.len() / k;
    debug_assert!(dp >= d + 15 && y.len() >= rows * dp && c.len() >= k * d && n.len() >= k);
    let (rp, yp) = (r.as_ptr(), y.as_ptr());
    let mut buf = [0.0f32; 8];
    // Components with mass in these rows (bit set); the others add nothing to the first
    // moments (all their responsibilities are exactly 0) and are skipped.
    let mut live = [u64::MAX; 32];
    let mut mark = |q: usize, mass: f32| {
        if let Some(l) = live.get_mut(q / 64) {
            if mass == 0.0 {
                *l &= !(1u64 << (q % 64));
            }
        }
    };
    let mut kb = 0;
    while kb + 8 <= k {
        let mut acc = _mm256_setzero_ps();
        for p in 0..rows {
            // SAFETY: lanes `kb..kb + 8` (`kb + 8 ≤ k`) of row `p < rows` of `r`: below
            // `rows·k ≤ r.len()`. AVX: see the module docs.
            acc = _mm256_add_ps(acc, unsafe { _mm256_loadu_ps(rp.add(p * k + kb)) });
        }
        // SAFETY: `buf` holds 8 f32, the width of the store.
        unsafe { _mm256_storeu_ps(buf.as_mut_ptr(), acc) };
        for (q, b) in buf.iter().enumerate() {
            n[kb + q] += *b as f64;
            mark(kb + q, *b);
        }
        kb += 8;
    }
    for (q, nq) in n.iter_mut().enumerate().take(k).skip(kb) {
        let mut s = 0.0f32;
        for p in 0..rows {
            // SAFETY: `q < k` and `p < rows`: `p·k + q < rows·k ≤ r.len()`.
            s += unsafe { *rp.add(p * k + q) };
        }
        *nq += s as f64;
        mark(q, s);
    }
    let has_mass = |q: usize| live.get(q / 64).is_none_or(|l| (l >> (q % 64)) & 1 != 0);
    // First moments: four components × eight features in four registers, twice.
    let cp = c.as_mut_ptr();
    let mut jb = 0;
    while jb < d {
        let w = (d - jb).min(8);
        let mut kb = 0;
        while kb < k {
            let q4 = (k - kb).min(4);
            if !(kb..kb + q4).any(has_mass) {
                kb += 4;
                continue;
            }
            let mut acc = [_mm256_setzero_ps(); 4];
            for p in 0..rows {
                // SAFETY: row `p < rows` of `y` has `dp` values (`y.len() ≥ rows·dp`); its
                // lanes `jb..jb + 8` with `jb < d` end below `d + 7 < dp`. `kb + q < kb + q4
                // ≤ k`, so `p·k + kb + q < rows·k ≤ r.len()`. AVX: see the module docs.
                unsafe {
                    let yv = _mm256_loadu_ps(yp.add(p * dp + jb));
                    let rr = rp.add(p * k + kb);
                    for (q, a) in acc.iter_mut().enumerate().take(q4) {
                        *a = _mm256_fmadd_ps(_mm256_set1_ps(*rr.add(q)), yv, *a);
                    }
                }
            }
            for (q, a) in acc.iter().enumerate().take(q4) {
                // SAFETY: `buf` holds 8 f32, the width of the store; `kb + q < k` and
                // `jb + l < jb + w ≤ d`, so `(kb + q)·d + jb + l < k·d ≤ c.len()` (caller
                // contract).
                unsafe {
                    _mm256_storeu_ps(buf.as_mut_ptr(), *a);
                    let row = cp.add((kb + q) * d + jb);
                    for (l, b) in buf.iter().enumerate().take(w) {
                        *row.add(l) += *b as f64;
                    }
                }
            }
            kb += 4;
        }
        jb += 8;
    }
}

/// See `simd512::packed_outer`: whole 8-lane blocks, each segment's last block running
/// into the next segment, which is written afterwards (`rows = y.len() / dp`,
/// `t = d(d+1)/2`).
///
/// # Safety
/// - The CPU must support AVX2 and FMA.
/// - `dp ≥ d + 15` and `outer.len() ≥ rows·t + 16`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn packed_outer(outer: &mut [f32], y: &[f32], d: usize, dp: usize) {
    let t = d * (d + 1) / 2;
    let rows = y.len() / dp;
    debug_assert!(dp >= d + 15 && outer.len() >= rows * t + 16);
    let (op, yp) = (outer.as_mut_ptr(), y.as_ptr());
    for p in 0..rows {
        // SAFETY: row `p < rows` of `y` is `y[p·dp..(p + 1)·dp]`; its loads read lanes
        // `i + b .. i + b + 8` with `i + b < d`, so below `d + 7 < dp`. Row `p`'s stores
        // cover `outer[p·t + idx + b ..][..8]` with `idx + b < t`, so below
        // `rows·t + 7 < outer.len()` (caller contract). AVX: see the module docs.
        unsafe {
            let o = op.add(p * t);
            let yr = yp.add(p * dp);
            let mut idx = 0;
            for i in 0..d {
                let yi = _mm256_set1_ps(*yr.add(i));
                let len = d - i;
                let mut b = 0;
                while b < len {
                    _mm256_storeu_ps(
                        o.add(idx + b),
                        _mm256_mul_ps(yi, _mm256_loadu_ps(yr.add(i + b))),
                    );
                    b += 8;
                }
                idx += len;
            }
        }
    }
}
