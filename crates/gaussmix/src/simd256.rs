//! AVX2 + FMA versions of the anchored kernel's row loops (`anchored`), for CPUs without
//! AVX-512 (the portable loops left long dependency chains and ran slower than the f64
//! kernel). Same arithmetic as `simd512`, eight f32 lanes; AVX2 has no masked float
//! loads worth using, so lengths that are not multiples of eight finish in scalar code.
//!
//! Every function here requires AVX2 and FMA; callers check `available()` (`cpu::level`).

use std::arch::x86_64::*;

/// Whether the AVX2 code paths can run.
pub(crate) fn available() -> bool {
    crate::cpu::avx2()
}

/// Horizontal maximum of eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn hmax(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_max_ss(m, _mm_shuffle_ps::<1>(m, m));
    _mm_cvtss_f32(m)
}

/// Horizontal sum of eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

/// Horizontal sum of four f64 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn hsum_pd(v: __m256d) -> f64 {
    let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    _mm_cvtsd_f64(s)
}

/// `dst ← x − z`.
///
/// # Safety
/// AVX2 and FMA must be available; `x`, `z` at least as long as `dst`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn sub(dst: &mut [f32], x: &[f32], z: &[f32]) {
    let d = dst.len();
    debug_assert!(x.len() >= d && z.len() >= d);
    let (op, xp, zp) = (dst.as_mut_ptr(), x.as_ptr(), z.as_ptr());
    let mut j = 0;
    while j + 8 <= d {
        _mm256_storeu_ps(
            op.add(j),
            _mm256_sub_ps(_mm256_loadu_ps(xp.add(j)), _mm256_loadu_ps(zp.add(j))),
        );
        j += 8;
    }
    while j < d {
        *op.add(j) = *xp.add(j) - *zp.add(j);
        j += 1;
    }
}

/// See `simd512::cross_max`.
///
/// # Safety
/// AVX2 and FMA must be available; `g.len() ≥ y.len()·v.len()`, `c2.len() ≥ v.len()`,
/// `own.0 < v.len()`.
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
                let gj = _mm256_loadu_ps(gp.add((j + u) * k + kb));
                *a = _mm256_fmadd_ps(_mm256_set1_ps(*y.get_unchecked(j + u)), gj, *a);
            }
            j += 4;
        }
        while j < d {
            let gj = _mm256_loadu_ps(gp.add(j * k + kb));
            acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(*y.get_unchecked(j)), gj, acc[0]);
            j += 1;
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut x = _mm256_add_ps(
            _mm256_add_ps(_mm256_loadu_ps(vp.add(kb)), _mm256_loadu_ps(cp.add(kb))),
            s,
        );
        if own.0 >= kb && own.0 < kb + 8 {
            let hit = _mm256_cmpeq_epi32(iota, _mm256_set1_epi32((own.0 - kb) as i32));
            x = _mm256_blendv_ps(x, ownv, _mm256_castsi256_ps(hit));
        }
        _mm256_storeu_ps(vp.add(kb), x);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x));
        mx = _mm256_max_ps(mx, x);
        kb += 8;
    }
    let mut m = hmax(mx);
    let mut bad = _mm256_movemask_ps(nan) != 0;
    for c in kb..k {
        let mut a = *vp.add(c) + *cp.add(c);
        for (j, yj) in y.iter().enumerate() {
            a += yj * *gp.add(j * k + c);
        }
        if c == own.0 {
            a = own.1;
        }
        *vp.add(c) = a;
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
/// AVX2 and FMA must be available; `q.len() ≥ h.len()`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn argmax_shifted(h: &[f32], q: &[f32]) -> usize {
    let k = h.len();
    let (hp, qp) = (h.as_ptr(), q.as_ptr());
    let mut best = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut at = _mm256_setzero_si256();
    let mut idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let step = _mm256_set1_epi32(8);
    let mut kb = 0;
    while kb + 8 <= k {
        let v = _mm256_sub_ps(_mm256_loadu_ps(hp.add(kb)), _mm256_loadu_ps(qp.add(kb)));
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
    _mm256_storeu_ps(bv.as_mut_ptr(), best);
    _mm256_storeu_si256(bi.as_mut_ptr() as *mut __m256i, at);
    let mut top = (f32::NEG_INFINITY, usize::MAX);
    for (v, i) in bv.iter().zip(&bi) {
        if kb > 0 && (*v > top.0 || (*v == top.0 && (*i as usize) < top.1)) {
            top = (*v, *i as usize);
        }
    }
    for c in kb..k {
        let v = *hp.add(c) - *qp.add(c);
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
unsafe fn exp_nonpositive(x: __m256) -> __m256 {
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
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn exp_sum(v: &mut [f32], mx: f32) -> f32 {
    let k = v.len();
    let vp = v.as_mut_ptr();
    let mxv = _mm256_set1_ps(mx);
    let mut sum = _mm256_setzero_ps();
    let mut kb = 0;
    while kb + 8 <= k {
        let e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(vp.add(kb)), mxv));
        _mm256_storeu_ps(vp.add(kb), e);
        sum = _mm256_add_ps(sum, e);
        kb += 8;
    }
    let mut s = hsum(sum);
    for c in kb..k {
        let e = crate::anchored::exp_nonpositive_f32(*vp.add(c) - mx);
        *vp.add(c) = e;
        s += e;
    }
    s
}

/// `v ← s·v`.
///
/// # Safety
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn scale(v: &mut [f32], s: f32) {
    let k = v.len();
    let vp = v.as_mut_ptr();
    let sv = _mm256_set1_ps(s);
    let mut kb = 0;
    while kb + 8 <= k {
        _mm256_storeu_ps(vp.add(kb), _mm256_mul_ps(_mm256_loadu_ps(vp.add(kb)), sv));
        kb += 8;
    }
    for c in kb..k {
        *vp.add(c) *= s;
    }
}

/// `‖yᵀU‖²` in f64 (`U`: D×D row-major upper triangular).
///
/// # Safety
/// AVX2 and FMA must be available; `u.len() ≥ y.len()²`.
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
            let row = _mm256_loadu_pd(up.add(i * d + jb));
            z[i & 1] = _mm256_fmadd_pd(_mm256_set1_pd(*y.get_unchecked(i)), row, z[i & 1]);
        }
        let zz = _mm256_add_pd(z[0], z[1]);
        q = _mm256_fmadd_pd(zz, zz, q);
        jb += 4;
    }
    let mut s = hsum_pd(q);
    for j in jb..d {
        let mut z = 0.0;
        for i in 0..=j {
            z += *y.get_unchecked(i) * *up.add(i * d + j);
        }
        s += z * z;
    }
    s
}

/// `dst ← src` widened to f64.
///
/// # Safety
/// AVX2 and FMA must be available; `src.len() ≥ dst.len()`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn widen(dst: &mut [f64], src: &[f32]) {
    let n = dst.len();
    debug_assert!(src.len() >= n);
    let (dp, sp) = (dst.as_mut_ptr(), src.as_ptr());
    let mut i = 0;
    while i + 4 <= n {
        _mm256_storeu_pd(dp.add(i), _mm256_cvtps_pd(_mm_loadu_ps(sp.add(i))));
        i += 4;
    }
    while i < n {
        *dp.add(i) = *sp.add(i) as f64;
        i += 1;
    }
}

/// See `simd512::own_moments`: `m2 += Σ_p r_pa y_p y_pᵀ` in f64 (upper triangle, and
/// some entries below it; `y`: f64 rows of stride `dp`), then `r_pa ← 0`. Blocks of four
/// matrix rows by eight columns in eight registers.
///
/// # Safety
/// AVX2 and FMA must be available; `r.len() = rows·k`, `a < k`, `y.len() ≥ rows·dp` with
/// `dp ≥ D + 15` (zero beyond `D`), `m2.len() ≥ D²`.
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
    debug_assert!(a < k && y.len() >= rows * dp && m2.len() >= d * d);
    let (rp, yp, mp) = (r.as_mut_ptr(), y.as_ptr(), m2.as_mut_ptr());
    let mut ib = 0;
    while ib < d {
        let ih = (d - ib).min(4);
        let mut jb = ib / 8 * 8;
        while jb < d {
            let w = (d - jb).min(8);
            let mut acc = [[_mm256_setzero_pd(); 2]; 4];
            for p in 0..rows {
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
            let mut buf = [0.0f64; 8];
            for (u, acc) in acc.iter().enumerate().take(ih) {
                _mm256_storeu_pd(buf.as_mut_ptr(), acc[0]);
                _mm256_storeu_pd(buf.as_mut_ptr().add(4), acc[1]);
                let row = mp.add((ib + u) * d + jb);
                for (l, b) in buf.iter().enumerate().take(w) {
                    *row.add(l) += b;
                }
            }
            jb += 8;
        }
        ib += 4;
    }
    for p in 0..rows {
        *rp.add(p * k + a) = 0.0;
    }
}

/// See `simd512::accumulate_anchor`.
///
/// # Safety
/// AVX2 and FMA must be available; `r.len() = rows·k`, `y.len() ≥ rows·dp` with
/// `dp ≥ D + 15` (zero beyond `D`), `c.len() ≥ k·d`, `n.len() ≥ k`.
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
    debug_assert!(y.len() >= rows * dp && c.len() >= k * d && n.len() >= k);
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
            acc = _mm256_add_ps(acc, _mm256_loadu_ps(rp.add(p * k + kb)));
        }
        _mm256_storeu_ps(buf.as_mut_ptr(), acc);
        for (q, b) in buf.iter().enumerate() {
            n[kb + q] += *b as f64;
            mark(kb + q, *b);
        }
        kb += 8;
    }
    for (q, nq) in n.iter_mut().enumerate().take(k).skip(kb) {
        let mut s = 0.0f32;
        for p in 0..rows {
            s += *rp.add(p * k + q);
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
                let yv = _mm256_loadu_ps(yp.add(p * dp + jb));
                let rr = rp.add(p * k + kb);
                for (q, a) in acc.iter_mut().enumerate().take(q4) {
                    *a = _mm256_fmadd_ps(_mm256_set1_ps(*rr.add(q)), yv, *a);
                }
            }
            for (q, a) in acc.iter().enumerate().take(q4) {
                _mm256_storeu_ps(buf.as_mut_ptr(), *a);
                let row = cp.add((kb + q) * d + jb);
                for (l, b) in buf.iter().enumerate().take(w) {
                    *row.add(l) += *b as f64;
                }
            }
            kb += 4;
        }
        jb += 8;
    }
}

/// See `simd512::packed_outer`: whole 8-lane blocks, each segment's last block running
/// into the next segment, which is written afterwards.
///
/// # Safety
/// AVX2 and FMA must be available; `outer.len() ≥ rows·D(D+1)/2 + 16`, `y.len() ≥
/// rows·dp` with `dp ≥ D + 15`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn packed_outer(outer: &mut [f32], y: &[f32], d: usize, dp: usize) {
    let t = d * (d + 1) / 2;
    let rows = y.len() / dp;
    debug_assert!(outer.len() >= rows * t + 16);
    let (op, yp) = (outer.as_mut_ptr(), y.as_ptr());
    for p in 0..rows {
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
