//! AVX-512 versions of the anchored kernel's row loops (`anchored`), written with
//! intrinsics: the auto-vectorised loops left long dependency chains and spilled their
//! accumulators, which made them slower than the f64 kernel they replace.
//!
//! Every function here requires AVX-512F; callers check `available()` (`cpu::level`).
//! Component and feature counts that are not multiples of 16 use masked loads and
//! stores, so no value outside a slice is read or written except where stated (a masked
//! load or store touches only the lanes its mask enables).
//!
//! The register-only helpers are safe `#[target_feature]` functions (callable without
//! `unsafe` from the functions below, which enable the same feature); the others read and
//! write through raw pointers and list the slice lengths they rely on under `# Safety`.
//! In the `SAFETY` comments, "AVX-512F" is the feature every function here enables, whose
//! presence on the CPU is its caller's contract.

use std::arch::x86_64::*;

/// Whether the AVX-512 code paths run (`cpu::level`).
pub(crate) fn available() -> bool {
    crate::cpu::avx512()
}

/// Mask of the first `n` (< 16) lanes, or all lanes for `n ≥ 16`.
#[inline(always)]
fn lanes(n: usize) -> __mmask16 {
    if n >= 16 {
        0xFFFF
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// `dst ← x − z`, 16 lanes at a time (masked at the end).
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `x` and `z` must hold at least `dst.len()` values.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn sub(dst: &mut [f32], x: &[f32], z: &[f32]) {
    let d = dst.len();
    debug_assert!(x.len() >= d && z.len() >= d);
    let (op, xp, zp) = (dst.as_mut_ptr(), x.as_ptr(), z.as_ptr());
    let mut j = 0;
    while j < d {
        let m = lanes(d - j);
        // SAFETY: `m` enables lanes `j..min(j + 16, d)` only: inside `dst` (length d) and
        // inside `x` and `z` (at least d values: caller contract). AVX-512F: module docs.
        unsafe {
            let v = _mm512_sub_ps(
                _mm512_maskz_loadu_ps(m, xp.add(j)),
                _mm512_maskz_loadu_ps(m, zp.add(j)),
            );
            _mm512_mask_storeu_ps(op.add(j), m, v);
        }
        j += 16;
    }
}

/// `v ← v + c2 + gᵀ y` (`v`: K, `g`: D×K row-major), then `v[own.0] ← own.1` (when
/// `own.0 < K`); returns `max v`, or NaN if a value is NaN. (The own value is put in
/// here, in a register: written to `v` beforehand, the narrow store would stall the wide
/// load that follows.)
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `g.len() ≥ y.len()·v.len()` and `c2.len() ≥ v.len()`.
#[target_feature(enable = "avx512f")]
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
    debug_assert!(g.len() >= d * k && c2.len() >= k);
    let (vp, gp, cp) = (v.as_mut_ptr(), g.as_ptr(), c2.as_ptr());
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut mx = ninf;
    let mut nan: __mmask16 = 0;
    let mut kb = 0;
    while kb < k {
        let m = lanes(k - kb);
        // Four partial sums over the features: four independent FMA chains.
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut j = 0;
        while j + 4 <= d {
            for (u, a) in acc.iter_mut().enumerate() {
                // SAFETY: `j + u < d = y.len()`; `m` enables lanes `kb..min(kb + 16, k)` of
                // row `j + u` of `g`, which end at `(j + u)·k + k ≤ d·k ≤ g.len()` (caller
                // contract). AVX-512F: module docs.
                let (gj, yj) = unsafe {
                    (
                        _mm512_maskz_loadu_ps(m, gp.add((j + u) * k + kb)),
                        *y.get_unchecked(j + u),
                    )
                };
                *a = _mm512_fmadd_ps(_mm512_set1_ps(yj), gj, *a);
            }
            j += 4;
        }
        while j < d {
            // SAFETY: as above, with `j < d`.
            let (gj, yj) = unsafe {
                (
                    _mm512_maskz_loadu_ps(m, gp.add(j * k + kb)),
                    *y.get_unchecked(j),
                )
            };
            acc[0] = _mm512_fmadd_ps(_mm512_set1_ps(yj), gj, acc[0]);
            j += 1;
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        // SAFETY: `m` enables lanes `kb..min(kb + 16, k)`: inside `v` (length k) and `c2`
        // (at least k values: caller contract). AVX-512F: module docs.
        let base = unsafe {
            _mm512_add_ps(
                _mm512_maskz_loadu_ps(m, vp.add(kb)),
                _mm512_maskz_loadu_ps(m, cp.add(kb)),
            )
        };
        let mut x = _mm512_add_ps(base, s);
        if own.0 >= kb && own.0 < kb + 16 {
            x = _mm512_mask_mov_ps(x, 1 << (own.0 - kb), _mm512_set1_ps(own.1));
        }
        // SAFETY: the same lanes of `v`.
        unsafe { _mm512_mask_storeu_ps(vp.add(kb), m, x) };
        nan |= _mm512_mask_cmp_ps_mask::<_CMP_UNORD_Q>(m, x, x);
        mx = _mm512_mask_max_ps(mx, m, mx, x);
        kb += 16;
    }
    if nan != 0 {
        f32::NAN
    } else {
        _mm512_reduce_max_ps(mx)
    }
}

/// `v ← exp(v − mx)`; returns `Σ v`.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn exp_sum(v: &mut [f32], mx: f32) -> f32 {
    let k = v.len();
    let vp = v.as_mut_ptr();
    let mxv = _mm512_set1_ps(mx);
    let mut sum = _mm512_setzero_ps();
    let mut kb = 0;
    while kb < k {
        let m = lanes(k - kb);
        // SAFETY: `m` enables lanes `kb..min(kb + 16, k)` of `v` (length k) only.
        // AVX-512F: module docs.
        let x = unsafe { _mm512_maskz_loadu_ps(m, vp.add(kb)) };
        let e = exp_nonpositive(_mm512_sub_ps(x, mxv));
        let e = _mm512_maskz_mov_ps(m, e);
        // SAFETY: the same lanes of `v`.
        unsafe { _mm512_mask_storeu_ps(vp.add(kb), m, e) };
        sum = _mm512_add_ps(sum, e);
        kb += 16;
    }
    _mm512_reduce_add_ps(sum)
}

/// `‖yᵀU‖²` in f64 (`U`: D×D row-major upper triangular, so rows below a block's last
/// column contribute nothing and are skipped).
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `u.len() ≥ y.len()²`.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn whitened_sq(y: &[f64], u: &[f64]) -> f64 {
    let d = y.len();
    debug_assert!(u.len() >= d * d);
    let up = u.as_ptr();
    let mut q = _mm512_setzero_pd();
    let mut jb = 0;
    while jb < d {
        let w = (d - jb).min(8);
        let m = ((1u32 << w) - 1) as __mmask8;
        let mut z = [_mm512_setzero_pd(); 2];
        for i in 0..jb + w {
            // SAFETY: `i < jb + w ≤ d = y.len()`; `m` enables lanes `jb..jb + w` of row `i`
            // of `U`, which end at `i·d + jb + w ≤ d² ≤ u.len()` (caller contract).
            // AVX-512F: module docs.
            let (row, yi) = unsafe {
                (
                    _mm512_maskz_loadu_pd(m, up.add(i * d + jb)),
                    *y.get_unchecked(i),
                )
            };
            z[i & 1] = _mm512_fmadd_pd(_mm512_set1_pd(yi), row, z[i & 1]);
        }
        let zz = _mm512_add_pd(z[0], z[1]);
        q = _mm512_fmadd_pd(zz, zz, q);
        jb += 8;
    }
    _mm512_reduce_add_pd(q)
}

/// `dst ← src` widened to f64.
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `src.len() ≥ dst.len()`.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn widen(dst: &mut [f64], src: &[f32]) {
    let n = dst.len();
    debug_assert!(src.len() >= n);
    let (dp, sp) = (dst.as_mut_ptr(), src.as_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: lanes `i..i + 8` with `i + 8 ≤ n`: inside `dst` (length n) and `src` (at
        // least n values: caller contract). AVX-512F (which implies AVX): module docs.
        unsafe { _mm512_storeu_pd(dp.add(i), _mm512_cvtps_pd(_mm256_loadu_ps(sp.add(i)))) };
        i += 8;
    }
    while i < n {
        // SAFETY: `i < n`: inside `dst` and `src`.
        unsafe { *dp.add(i) = *sp.add(i) as f64 };
        i += 1;
    }
}

/// `m2 += Σ_p r_pa y_p y_pᵀ` in f64 for the `rows = r.len() / k` rows (`m2`: D×D; `y`:
/// f64 rows of stride `dp`, zero beyond `D`; blocks on and above the diagonal, so a few
/// entries below it get their share too, which nothing reads), then `r_pa ← 0`. Blocks
/// of eight matrix rows by sixteen columns stay in sixteen registers while the anchor's
/// rows stream through.
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `a < k`, `dp ≥ d + 15`, `y.len() ≥ rows·dp`, `m2.len() ≥ d²`.
#[target_feature(enable = "avx512f")]
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
    let mut ry = [0.0f64; 8];
    let mut ib = 0;
    while ib < d {
        let ih = (d - ib).min(8);
        // Column blocks that reach the diagonal of these rows or beyond.
        let mut jb = ib / 16 * 16;
        while jb < d {
            let w = d - jb;
            let m_lo = ((1u32 << w.min(8)) - 1) as __mmask8;
            let m_hi = if w > 8 {
                ((1u32 << (w - 8).min(8)) - 1) as __mmask8
            } else {
                0
            };
            let mut acc = [[_mm512_setzero_pd(); 2]; 8];
            for p in 0..rows {
                // SAFETY: `p < rows` and `a < k`: `p·k + a < rows·k ≤ r.len()`. Row `p` of
                // `y` starts at `p·dp` and has `dp` values (`y.len() ≥ rows·dp`); the
                // unmasked loads read its lanes `ib..ib + 8` and `jb..jb + 16` with
                // `ib, jb < d`, so below `d + 15 ≤ dp`. `ry` holds the 8 f64 stored.
                // AVX-512F: module docs.
                let (lo, hi) = unsafe {
                    let yr = yp.add(p * dp);
                    let rv = _mm512_set1_pd(*rp.add(p * k + a) as f64);
                    // r·y of these matrix rows, broadcast below from memory.
                    _mm512_storeu_pd(
                        ry.as_mut_ptr(),
                        _mm512_mul_pd(rv, _mm512_loadu_pd(yr.add(ib))),
                    );
                    (_mm512_loadu_pd(yr.add(jb)), _mm512_loadu_pd(yr.add(jb + 8)))
                };
                for (acc, ri) in acc.iter_mut().zip(&ry).take(ih) {
                    let ri = _mm512_set1_pd(*ri);
                    acc[0] = _mm512_fmadd_pd(ri, lo, acc[0]);
                    acc[1] = _mm512_fmadd_pd(ri, hi, acc[1]);
                }
            }
            for (u, acc) in acc.iter().enumerate().take(ih) {
                // SAFETY: `ib + u < d`; `m_lo` and `m_hi` enable columns
                // `jb..jb + min(w, 16)`, all `< d`, of row `ib + u` of `m2`: below
                // `d² ≤ m2.len()` (caller contract); `row + 8` is formed only when `w > 8`,
                // i.e. `jb + 8 < d`. AVX-512F: module docs.
                unsafe {
                    let row = mp.add((ib + u) * d + jb);
                    let x = _mm512_maskz_loadu_pd(m_lo, row);
                    _mm512_mask_storeu_pd(row, m_lo, _mm512_add_pd(x, acc[0]));
                    if m_hi != 0 {
                        let x = _mm512_maskz_loadu_pd(m_hi, row.add(8));
                        _mm512_mask_storeu_pd(row.add(8), m_hi, _mm512_add_pd(x, acc[1]));
                    }
                }
            }
            jb += 16;
        }
        ib += 8;
    }
    for p in 0..rows {
        // SAFETY: `p·k + a < rows·k ≤ r.len()` (`a < k`: caller contract).
        unsafe { *rp.add(p * k + a) = 0.0 };
    }
}

/// `v ← s·v`.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn scale(v: &mut [f32], s: f32) {
    let k = v.len();
    let vp = v.as_mut_ptr();
    let sv = _mm512_set1_ps(s);
    let mut kb = 0;
    while kb < k {
        let m = lanes(k - kb);
        // SAFETY: `m` enables lanes `kb..min(kb + 16, k)` of `v` (length k) only.
        // AVX-512F: module docs.
        unsafe {
            let x = _mm512_maskz_loadu_ps(m, vp.add(kb));
            _mm512_mask_storeu_ps(vp.add(kb), m, _mm512_mul_ps(x, sv));
        }
        kb += 16;
    }
}

/// `exp(x)` for `x ≤ 0`, 16 lanes, 0 below −87.3 (see `anchored::exp_nonpositive_f32`);
/// `vscalefps` applies the power of two.
#[target_feature(enable = "avx512f")]
#[inline]
fn exp_nonpositive(x: __m512) -> __m512 {
    let live = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, _mm512_set1_ps(-87.3));
    let x = _mm512_max_ps(x, _mm512_set1_ps(-87.3));
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm512_set1_ps(1.0 / 5040.0);
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    _mm512_maskz_mov_ps(live, _mm512_scalef_ps(p, n))
}

/// Adds `Σ_p r_p ⊗ y_p` (`K×D`) to `c` and `Σ_p r_p` to `n` for the `rows = r.len() / k`
/// rows of one anchor (`r`: rows × K; `y`: rows of stride `dp`, zero beyond `D`).
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `dp ≥ d + 15`, `y.len() ≥ rows·dp`, `c.len() ≥ k·d`, `n.len() ≥ k`.
#[target_feature(enable = "avx512f")]
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
    // Masses: sixteen components at a time. Components without mass in these rows
    // (all responsibilities exactly 0: far components) add nothing below: skipped.
    let mut live = [u16::MAX; 128];
    let mut kb = 0;
    while kb < k {
        let m = lanes(k - kb);
        let mut acc = _mm512_setzero_ps();
        for p in 0..rows {
            // SAFETY: `m` enables lanes `kb..min(kb + 16, k)` of row `p < rows` of `r`:
            // below `rows·k ≤ r.len()`. AVX-512F: module docs.
            acc = _mm512_add_ps(acc, unsafe { _mm512_maskz_loadu_ps(m, rp.add(p * k + kb)) });
        }
        if let Some(l) = live.get_mut(kb / 16) {
            *l = _mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(m, acc, _mm512_setzero_ps());
        }
        // SAFETY: `kb < k ≤ n.len()` (caller contract), and `n[kb..]` has at least
        // `min(k − kb, 16)` values, the width `add_f64` touches.
        unsafe { add_f64(n.as_mut_ptr().add(kb), (k - kb).min(16), acc) };
        kb += 16;
    }
    let has_mass = |q: usize, width: usize| {
        live.get(q / 16)
            .is_none_or(|l| (*l >> (q % 16)) & ((1u32 << width) - 1) as u16 != 0)
    };
    // First moments: eight components × sixteen features in eight registers.
    let cp = c.as_mut_ptr();
    let mut jb = 0;
    while jb < d {
        let w = (d - jb).min(16);
        let mut kb = 0;
        while kb + 8 <= k {
            if !has_mass(kb, 8) {
                kb += 8;
                continue;
            }
            let mut acc = [_mm512_setzero_ps(); 8];
            for p in 0..rows {
                // SAFETY: row `p < rows` of `y` has `dp` values (`y.len() ≥ rows·dp`); the
                // unmasked load reads its lanes `jb..jb + 16` with `jb < d`, so below
                // `d + 15 ≤ dp`. `kb + q < kb + 8 ≤ k`, so `p·k + kb + q < rows·k ≤
                // r.len()`. AVX-512F: module docs.
                unsafe {
                    let yv = _mm512_loadu_ps(yp.add(p * dp + jb));
                    let rr = rp.add(p * k + kb);
                    for (q, a) in acc.iter_mut().enumerate() {
                        *a = _mm512_fmadd_ps(_mm512_set1_ps(*rr.add(q)), yv, *a);
                    }
                }
            }
            for (q, a) in acc.iter().enumerate() {
                // SAFETY: `kb + q < k` and `jb + w ≤ d`: `c[(kb + q)·d + jb..][..w]` lies
                // below `k·d ≤ c.len()` (caller contract); `w ≤ 16`.
                unsafe { add_f64(cp.add((kb + q) * d + jb), w, *a) };
            }
            kb += 8;
        }
        for q in kb..k {
            if !has_mass(q, 1) {
                continue;
            }
            let mut a = _mm512_setzero_ps();
            for p in 0..rows {
                // SAFETY: as above, with `q < k`.
                let (yv, rq) =
                    unsafe { (_mm512_loadu_ps(yp.add(p * dp + jb)), *rp.add(p * k + q)) };
                a = _mm512_fmadd_ps(_mm512_set1_ps(rq), yv, a);
            }
            // SAFETY: as above, with `q < k`.
            unsafe { add_f64(cp.add(q * d + jb), w, a) };
        }
        jb += 16;
    }
}

/// `dst[..w] += v[..w]` with `v` converted to f64.
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `w ≤ 16`, and `dst` must be valid for reads and writes of `w` f64 values.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn add_f64(dst: *mut f64, w: usize, v: __m512) {
    debug_assert!(w <= 16);
    let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
        _mm512_castps_pd(v),
    )));
    let m_lo = ((1u32 << w.min(8)) - 1) as __mmask8;
    let m_hi = if w > 8 {
        ((1u32 << (w - 8)) - 1) as __mmask8
    } else {
        0
    };
    // SAFETY: `m_lo` enables lanes `0..min(w, 8)` of `dst`, valid for `w` values (caller
    // contract). AVX-512F: module docs.
    unsafe {
        let a = _mm512_maskz_loadu_pd(m_lo, dst);
        _mm512_mask_storeu_pd(dst, m_lo, _mm512_add_pd(a, lo));
    }
    if m_hi != 0 {
        // SAFETY: `w > 8`: `dst + 8` is inside the `w` values, and `m_hi` enables lanes
        // `8..w` only.
        unsafe {
            let b = _mm512_maskz_loadu_pd(m_hi, dst.add(8));
            _mm512_mask_storeu_pd(dst.add(8), m_hi, _mm512_add_pd(b, hi));
        }
    }
}

/// Packed upper-triangle outer products of the `rows = y.len() / dp` rows of stride `dp`
/// (zero beyond `D`) into `outer` (`rows × t` with `t = D(D+1)/2`, plus 16 values of
/// slack that are overwritten): whole 16-lane blocks, each segment's last block running
/// into the next segment, which is written afterwards (measured faster than masked stores
/// of the exact length).
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `dp ≥ d + 15` and `outer.len() ≥ rows·t + 16`.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn packed_outer(outer: &mut [f32], y: &[f32], d: usize, dp: usize) {
    let t = d * (d + 1) / 2;
    let rows = y.len() / dp;
    debug_assert!(dp >= d + 15 && outer.len() >= rows * t + 16);
    let (op, yp) = (outer.as_mut_ptr(), y.as_ptr());
    for p in 0..rows {
        // SAFETY: row `p < rows` of `y` is `y[p·dp..(p + 1)·dp]`; its loads read lanes
        // `i + b .. i + b + 16` with `i + b < d`, so below `d + 15 ≤ dp`. Row `p`'s stores
        // cover `outer[p·t + idx + b..][..16]` with `idx + b < t`, so below
        // `rows·t + 15 < outer.len()` (caller contract). AVX-512F: module docs.
        unsafe {
            let o = op.add(p * t);
            let yr = yp.add(p * dp);
            let mut idx = 0;
            for i in 0..d {
                let yi = _mm512_set1_ps(*yr.add(i));
                let len = d - i;
                let mut b = 0;
                while b < len {
                    let v = _mm512_mul_ps(yi, _mm512_loadu_ps(yr.add(i + b)));
                    _mm512_storeu_ps(o.add(idx + b), v);
                    b += 16;
                }
                idx += len;
            }
        }
    }
}

/// `argmax_k (h_k − q_k)`, first index on ties: per lane the best value and its index
/// in one pass, then the lanes reduced.
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `q.len() ≥ h.len()`.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn argmax_shifted(h: &[f32], q: &[f32]) -> usize {
    let k = h.len();
    debug_assert!(q.len() >= k);
    let (hp, qp) = (h.as_ptr(), q.as_ptr());
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut best = ninf;
    let mut at = _mm512_setzero_si512();
    let mut idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let step = _mm512_set1_epi32(16);
    let mut kb = 0;
    while kb < k {
        let m = lanes(k - kb);
        // SAFETY: `m` enables lanes `kb..min(kb + 16, k)`: inside `h` (length k) and `q`
        // (at least k values: caller contract). AVX-512F: module docs.
        let v = unsafe {
            _mm512_sub_ps(
                _mm512_mask_loadu_ps(ninf, m, hp.add(kb)),
                _mm512_maskz_loadu_ps(m, qp.add(kb)),
            )
        };
        // Strictly greater: an earlier index keeps a tie within its lane.
        let gt = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best);
        best = _mm512_mask_mov_ps(best, gt, v);
        at = _mm512_mask_mov_epi32(at, gt, idx);
        idx = _mm512_add_epi32(idx, step);
        kb += 16;
    }
    let top = _mm512_reduce_max_ps(best);
    // Among lanes holding the maximum, the smallest index.
    let hit = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(best, _mm512_set1_ps(top));
    let cand = _mm512_mask_mov_epi32(_mm512_set1_epi32(i32::MAX), hit, at);
    let i = _mm512_reduce_min_epi32(cand);
    if i == i32::MAX {
        0
    } else {
        i as usize
    }
}

/// Mask of the first `n` (< 8) f64 lanes, or all for `n ≥ 8`.
#[inline(always)]
fn lanes8(n: usize) -> __mmask8 {
    if n >= 8 {
        0xFF
    } else {
        ((1u32 << n) - 1) as __mmask8
    }
}

/// `exp(x)` for `x ≤ 0`, 8 lanes: `estep::exp_nonpositive`'s reduction and degree-12
/// series (with fused multiply-adds), `vscalefpd` for the power of two; below −708 it
/// gives `exp(−708)` as the scalar version does.
#[target_feature(enable = "avx512f")]
#[inline]
fn exp_nonpositive_f64(x: __m512d) -> __m512d {
    let x = _mm512_max_pd(x, _mm512_set1_pd(-708.0));
    let n = _mm512_roundscale_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_pd(x, _mm512_set1_pd(std::f64::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.931_471_803_691_238e-1), x);
    let r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.908_214_929_270_587_7e-10), r);
    let mut p = _mm512_set1_pd(1.0 / 479_001_600.0);
    for c in [
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
        p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c));
    }
    _mm512_scalef_pd(p, n)
}

/// `estep::normalize_rows` in AVX-512 (same semantics) for the `log_norm.len()` rows of
/// `k` values of `lp`: per row the maximum (and a NaN check) in registers,
/// `exp(v − max)` and its sum, `log p = max + ln Σ`, then the scaling by `1/Σ`. The three
/// steps run as separate sweeps over blocks of rows, so that rows overlap in the pipeline
/// instead of each row's reductions and division forming one long chain.
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `lp.len() ≥ log_norm.len()·k`.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn normalize_rows_f64(lp: &mut [f64], k: usize, log_norm: &mut [f64]) {
    debug_assert!(lp.len() >= log_norm.len() * k);
    const BLOCK: usize = 64;
    let ninf = _mm512_set1_pd(f64::NEG_INFINITY);
    let mut sums = [0.0f64; BLOCK];
    for (bi, lnb) in log_norm.chunks_mut(BLOCK).enumerate() {
        // SAFETY: block `bi` starts at row `bi·BLOCK < log_norm.len()`, so at value
        // `bi·BLOCK·k ≤ lp.len()` (caller contract); its `lnb.len()` rows of `k` values
        // end within `log_norm.len()·k ≤ lp.len()`.
        let base = unsafe { lp.as_mut_ptr().add(bi * BLOCK * k) };
        // Maxima (NaN if a value is NaN).
        for (i, ln) in lnb.iter_mut().enumerate() {
            // SAFETY: row `i < lnb.len()` of the block (see `base`).
            let vp = unsafe { base.add(i * k) };
            let mut mx = ninf;
            let mut nan: __mmask8 = 0;
            let mut kb = 0;
            while kb < k {
                let m = lanes8(k - kb);
                // SAFETY: `m` enables lanes `kb..min(kb + 8, k)` of the row only.
                // AVX-512F: module docs.
                let x = unsafe { _mm512_mask_loadu_pd(ninf, m, vp.add(kb)) };
                nan |= _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(x, x);
                mx = _mm512_max_pd(mx, x);
                kb += 8;
            }
            *ln = if nan != 0 {
                f64::NAN
            } else {
                _mm512_reduce_max_pd(mx)
            };
        }
        // Exponentials and their sums.
        for (i, (ln, sum)) in lnb.iter().zip(sums.iter_mut()).enumerate() {
            if !ln.is_finite() {
                continue;
            }
            // SAFETY: row `i < lnb.len()` of the block (see `base`).
            let vp = unsafe { base.add(i * k) };
            let mxv = _mm512_set1_pd(*ln);
            let mut acc = _mm512_setzero_pd();
            let mut kb = 0;
            while kb < k {
                let m = lanes8(k - kb);
                // SAFETY: `m` enables lanes `kb..min(kb + 8, k)` of the row only.
                // AVX-512F: module docs.
                let x = unsafe { _mm512_maskz_loadu_pd(m, vp.add(kb)) };
                let e = exp_nonpositive_f64(_mm512_sub_pd(x, mxv));
                let e = _mm512_maskz_mov_pd(m, e);
                // SAFETY: the same lanes.
                unsafe { _mm512_mask_storeu_pd(vp.add(kb), m, e) };
                acc = _mm512_add_pd(acc, e);
                kb += 8;
            }
            *sum = _mm512_reduce_add_pd(acc);
        }
        // log p and the scaling (uniform responsibilities for a row without a density).
        for (i, (ln, sum)) in lnb.iter_mut().zip(sums.iter()).enumerate() {
            // SAFETY: row `i < lnb.len()` of the block (see `base`).
            let vp = unsafe { base.add(i * k) };
            let scale = if ln.is_finite() {
                *ln += crate::kernels::ln_fast(*sum);
                None
            } else {
                Some(_mm512_set1_pd(1.0 / k as f64))
            };
            let inv = _mm512_set1_pd(1.0 / *sum);
            let mut kb = 0;
            while kb < k {
                let m = lanes8(k - kb);
                // SAFETY: `m` enables lanes `kb..min(kb + 8, k)` of the row only.
                // AVX-512F: module docs.
                unsafe {
                    let v = match scale {
                        None => _mm512_mul_pd(_mm512_maskz_loadu_pd(m, vp.add(kb)), inv),
                        Some(u) => u,
                    };
                    _mm512_mask_storeu_pd(vp.add(kb), m, v);
                }
                kb += 8;
            }
        }
    }
}

/// `P_i = x_i ⊗ x_i` packed by rows of the upper triangle (`kernels::packed_outer`) for
/// `m` rows of stride `D`, in whole 8-lane blocks: a segment's last block runs into the
/// next segment (or row), which is written afterwards (`t = d(d+1)/2`).
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `xc.len() ≥ m·d + 7` (a block may read past the last row) and
///   `outer.len() ≥ m·t + 8`.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn packed_outer_f64(outer: &mut [f64], xc: &[f64], m: usize, d: usize) {
    let t = d * (d + 1) / 2;
    debug_assert!(xc.len() >= m * d + 7 && outer.len() >= m * t + 8);
    let (op, xp) = (outer.as_mut_ptr(), xc.as_ptr());
    for p in 0..m {
        // SAFETY: row `p < m` starts at `p·d`; its loads read values `p·d + i + b ..+ 8`
        // with `i + b < d`, so below `(p + 1)·d + 7 ≤ m·d + 7 ≤ xc.len()`. Its stores cover
        // `outer[p·t + idx + b..][..8]` with `idx + b < t`, so below `m·t + 7 <
        // outer.len()` (caller contract). AVX-512F: module docs.
        unsafe {
            let o = op.add(p * t);
            let x = xp.add(p * d);
            let mut idx = 0;
            for i in 0..d {
                let xi = _mm512_set1_pd(*x.add(i));
                let len = d - i;
                let mut b = 0;
                while b < len {
                    _mm512_storeu_pd(
                        o.add(idx + b),
                        _mm512_mul_pd(xi, _mm512_loadu_pd(x.add(i + b))),
                    );
                    b += 8;
                }
                idx += len;
            }
        }
    }
}
