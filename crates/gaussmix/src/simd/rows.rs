//! The row loops of the kernels, each written once for every level (see `super`): the
//! log-sum-exp of the E-step (`normalize_rows`), packed outer products, and the loops of
//! the anchored f32 kernel (`anchored`).
//!
//! Functions that take raw-pointer views of several buffers are `unsafe` and list the
//! lengths they rely on under `# Safety`; the instruction set is never a precondition (the
//! token proves it).

use super::math::{exp_nonpositive_f32, exp_nonpositive_f64, ln_in_place};
use super::{load_upto, store_upto, Elem, Isa, Mask, Scalar, Vector, MAX_LANES};

/// `0, 1, …, 15`: lane indices.
static IOTA: [f32; MAX_LANES] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
];

/// Turns each row of `lp` (`m×K` weighted log-probabilities) into responsibilities in
/// place and writes `log p(x_i)` into `log_norm`. A row whose values are all `−∞` or
/// contain `+∞` or NaN gets uniform responsibilities and a non-finite `log p` (NaN if a
/// value was NaN) for the caller to report. Only whole rows of `lp` that have a
/// `log_norm` entry are processed.
///
/// `exp(v − max) / Σ` rather than `exp(v − logsumexp)`: subtracting a large
/// log-normaliser would lose ~1e-14 of the row's unit sum. The maxima (with the shift),
/// the exponentials, the sums, their logarithms and the scaling run as separate sweeps
/// over blocks of rows, so that rows overlap in the pipeline instead of each row's
/// reductions and division forming one long chain.
///
/// The exponentials, the costly part, run over the block as one flat array: whole
/// vectors across row boundaries. Vectorising along each row instead leaves lanes idle
/// whenever `K` is not a multiple of the vector width, and pays a partial load and store
/// per row and sweep (with AVX2 at K = 6 and 10, the benchmark's optima cases; this and
/// cheaper AVX2 partial stores together took 18% off the benchmark's time).
#[inline(always)]
pub(crate) fn normalize_rows<S: Isa>(s: S, lp: &mut [f64], k: usize, log_norm: &mut [f64]) {
    // The row length as a constant where it can be (the per-row loops then unroll: at
    // K = 2 they were a quarter of a small fit's time); those rows reduce in scalar
    // order, longer ones along vectors.
    match k {
        0 => {}
        1 => normalize_block_rows::<S, 1>(s, lp, k, log_norm),
        2 => normalize_block_rows::<S, 2>(s, lp, k, log_norm),
        3 => normalize_block_rows::<S, 3>(s, lp, k, log_norm),
        4 => normalize_block_rows::<S, 4>(s, lp, k, log_norm),
        5 => normalize_block_rows::<S, 5>(s, lp, k, log_norm),
        6 => normalize_block_rows::<S, 6>(s, lp, k, log_norm),
        7 => normalize_block_rows::<S, 7>(s, lp, k, log_norm),
        _ => normalize_block_rows::<S, 0>(s, lp, k, log_norm),
    }
}

/// The maximum of a row (NaN if a value is NaN): whole vectors along it, then its tail.
#[inline(always)]
fn row_max<S: Isa>(s: S, row: &[f64]) -> f64 {
    let l = S::F64::LANES;
    let whole = row.len() - row.len() % l;
    let (mut mx, mut nan) = (f64::NEG_INFINITY, false);
    if whole > 0 {
        let mut v = S::F64::splat(s, f64::NEG_INFINITY);
        let mut vnan = v.is_nan();
        for c in row[..whole].chunks_exact(l) {
            // SAFETY: `c` holds `LANES` values.
            let x = unsafe { S::F64::load(s, c.as_ptr()) };
            vnan = vnan.or(x.is_nan());
            v = v.max(x);
        }
        nan = vnan.any();
        mx = v.max_lane();
    }
    for &v in &row[whole..] {
        nan |= v.is_nan();
        mx = mx.max(v);
    }
    if nan {
        f64::NAN
    } else {
        mx
    }
}

/// The sum of a row: whole vectors along it (lane-wise, then across), then its tail.
#[inline(always)]
fn row_sum<S: Isa>(s: S, row: &[f64]) -> f64 {
    let l = S::F64::LANES;
    let whole = row.len() - row.len() % l;
    let mut acc = S::F64::splat(s, 0.0);
    for c in row[..whole].chunks_exact(l) {
        // SAFETY: `c` holds `LANES` values.
        acc = acc.add(unsafe { S::F64::load(s, c.as_ptr()) });
    }
    row[whole..].iter().fold(acc.sum(), |a, v| a + v)
}

/// [`normalize_rows`] for rows of length `K` (0: the run-time `k`). Short rows (`K` a
/// constant) reduce with a few scalar operations each; longer ones along vectors.
#[inline(always)]
fn normalize_block_rows<S: Isa, const K: usize>(
    s: S,
    lp: &mut [f64],
    k: usize,
    log_norm: &mut [f64],
) {
    let k = if K == 0 { k } else { K };
    const BLOCK: usize = 64;
    let l = S::F64::LANES;
    let mut sums = [0.0f64; BLOCK];
    for (lpb, lnb) in lp.chunks_mut(BLOCK * k).zip(log_norm.chunks_mut(BLOCK)) {
        let rows = lnb.len().min(lpb.len() / k);
        let (lpb, lnb) = (&mut lpb[..rows * k], &mut lnb[..rows]);
        // Maxima (NaN if a value is NaN), and each row shifted by its maximum; a row
        // without a finite maximum is zeroed here and made uniform below.
        for (row, ln) in lpb.chunks_exact_mut(k).zip(lnb.iter_mut()) {
            // (A maximum is exact in any order: one helper serves every K.)
            let mx = row_max(s, row);
            *ln = mx;
            if mx.is_finite() {
                row.iter_mut().for_each(|v| *v -= mx);
            } else {
                row.fill(0.0);
            }
        }
        // The exponentials, whole vectors across rows (all arguments are ≤ 0).
        let n = lpb.len();
        let p = lpb.as_mut_ptr();
        let mut j = 0;
        while j < n {
            // SAFETY: `min(n − j, LANES)` values from `j < n`: inside `lpb`.
            unsafe {
                let x = load_upto::<S::F64>(s, p.add(j), n - j, 0.0);
                store_upto(exp_nonpositive_f64(s, x), p.add(j), n - j);
            }
            j += l;
        }
        // Sums, then their logarithms as one loop that vectorises (a scalar `ln` per row
        // is a long dependency chain), then log p and the scaling (uniform
        // responsibilities for a row without a density; its sum is a placeholder 1).
        for ((row, ln), sum) in lpb.chunks_exact(k).zip(lnb.iter()).zip(sums.iter_mut()) {
            *sum = match (ln.is_finite(), K) {
                (false, _) => 1.0,
                (true, 0) => row_sum(s, row),
                (true, _) => row.iter().sum(),
            };
        }
        let mut logs = sums;
        ln_in_place(&mut logs[..rows]);
        for (((row, ln), sum), lg) in lpb
            .chunks_exact_mut(k)
            .zip(lnb.iter_mut())
            .zip(sums.iter())
            .zip(logs.iter())
        {
            if ln.is_finite() {
                *ln += lg;
                let f = 1.0 / sum;
                row.iter_mut().for_each(|v| *v *= f);
            } else {
                row.fill(1.0 / k as f64);
            }
        }
    }
}

/// `dst ← x − z` (over the shortest of the three).
#[inline(always)]
pub(crate) fn sub<S: Isa>(s: S, dst: &mut [f32], x: &[f32], z: &[f32]) {
    let n = dst.len().min(x.len()).min(z.len());
    let (op, xp, zp) = (dst.as_mut_ptr(), x.as_ptr(), z.as_ptr());
    let mut j = 0;
    while j < n {
        // SAFETY: `min(n − j, LANES)` values from `j < n`: inside all three slices.
        unsafe {
            let v = load_upto::<S::F32>(s, xp.add(j), n - j, 0.0).sub(load_upto(
                s,
                zp.add(j),
                n - j,
                0.0,
            ));
            store_upto(v, op.add(j), n - j);
        }
        j += S::F32::LANES;
    }
}

/// `v ← f·v`.
#[inline(always)]
pub(crate) fn scale<S: Isa>(s: S, v: &mut [f32], f: f32) {
    let (n, vp, fv) = (v.len(), v.as_mut_ptr(), S::F32::splat(s, f));
    let mut j = 0;
    while j < n {
        // SAFETY: `min(n − j, LANES)` values from `j < n`: inside `v`.
        unsafe {
            store_upto(
                load_upto::<S::F32>(s, vp.add(j), n - j, 0.0).mul(fv),
                vp.add(j),
                n - j,
            )
        };
        j += S::F32::LANES;
    }
}

/// `dst ← src` widened to f64 (over the shorter of the two).
#[inline(always)]
pub(crate) fn widen<S: Isa>(s: S, dst: &mut [f64], src: &[f32]) {
    let n = dst.len().min(src.len());
    let l = S::F64::LANES;
    let mut i = 0;
    while i + l <= n {
        // SAFETY: values `i..i + LANES` with `i + LANES ≤ n`: inside both slices.
        unsafe {
            s.load_widened(src.as_ptr().add(i))
                .store(dst.as_mut_ptr().add(i))
        };
        i += l;
    }
    for (a, b) in dst[i..n].iter_mut().zip(&src[i..n]) {
        *a = *b as f64;
    }
}

/// `argmax_k (h_k − q_k)`, first index on ties (0 if every value is −∞ or NaN): per
/// lane the best value and its index in one pass, then the lanes reduced.
#[inline(always)]
pub(crate) fn argmax_shifted<S: Isa>(s: S, h: &[f32], q: &[f32]) -> usize {
    let k = h.len().min(q.len());
    let l = S::F32::LANES;
    let ninf = S::F32::splat(s, f32::NEG_INFINITY);
    let (mut best, mut at) = (ninf, S::F32::splat(s, 0.0));
    // SAFETY: `IOTA` holds `MAX_LANES ≥ LANES` values. (Indices are exact in f32.)
    let mut idx = unsafe { S::F32::load(s, IOTA.as_ptr()) };
    let step = S::F32::splat(s, l as f32);
    let mut kb = 0;
    while kb < k {
        // SAFETY: `min(k − kb, LANES)` values from `kb < k`: inside `h` and `q`.
        let v =
            unsafe {
                load_upto::<S::F32>(s, h.as_ptr().add(kb), k - kb, f32::NEG_INFINITY)
                    .sub(load_upto(s, q.as_ptr().add(kb), k - kb, 0.0))
            };
        // Strictly greater: an earlier index keeps a tie within its lane.
        let gt = v.gt(best);
        best = S::F32::select(gt, v, best);
        at = S::F32::select(gt, idx, at);
        idx = idx.add(step);
        kb += l;
    }
    // Among the lanes holding the maximum, the smallest index.
    let top = S::F32::splat(s, best.max_lane());
    let first = S::F32::select(best.eq(top), at, S::F32::splat(s, f32::INFINITY)).min_lane();
    if first.is_finite() {
        first as usize
    } else {
        0
    }
}

/// Packed upper-triangle outer products `P_p = y_p ⊗ y_p` (by rows of the upper
/// triangle, as `kernels::packed_outer`) of `rows` rows of stride `stride` (their first
/// `d` values) into `outer` (`rows × t`, `t = d(d+1)/2`), in whole vectors: a segment's
/// last vector runs into the next segment (or row), which is written afterwards, and
/// reads past the row's `d` values (measured faster than partial stores of the exact
/// length).
///
/// # Safety
/// For `rows > 0`: `y.len() ≥ (rows − 1)·stride + d + LANES − 1` and
/// `outer.len() ≥ rows·t + LANES − 1`.
#[inline(always)]
pub(crate) unsafe fn packed_outer<S: Isa, E: Elem>(
    s: S,
    outer: &mut [E],
    y: &[E],
    rows: usize,
    d: usize,
    stride: usize,
) {
    let t = d * (d + 1) / 2;
    let l = <E::V<S> as Vector>::LANES;
    debug_assert!(
        rows == 0
            || (y.len() + 1 >= (rows - 1) * stride + d + l && outer.len() + 1 >= rows * t + l)
    );
    let (op, yp) = (outer.as_mut_ptr(), y.as_ptr());
    for p in 0..rows {
        // SAFETY: row `p < rows` starts at `p·stride`; its loads read values
        // `p·stride + i + b ..+ LANES` with `i + b < d`, below `(rows − 1)·stride + d +
        // LANES − 1 ≤ y.len()`. Its stores cover `outer[p·t + idx + b ..+ LANES]` with
        // `idx + b < t`, below `rows·t + LANES − 1 ≤ outer.len()` (caller contract).
        unsafe {
            let (o, yr) = (op.add(p * t), yp.add(p * stride));
            let mut idx = 0;
            for i in 0..d {
                let yi = <E::V<S> as Vector>::splat(s, *yr.add(i));
                let len = d - i;
                let mut b = 0;
                while b < len {
                    yi.mul(<E::V<S> as Vector>::load(s, yr.add(i + b)))
                        .store(o.add(idx + b));
                    b += l;
                }
                idx += len;
            }
        }
    }
}

/// `v ← v + c2 + gᵀ y` (`v`: K, `y`: D, `g`: D×K row-major), then `v[own.0] ← own.1`
/// (when `own.0 < K`); returns `max v`, or NaN if a value is NaN. Four partial sums over
/// the features (four independent chains of multiply-adds); the own value is put in in
/// a register (written to `v` beforehand, the narrow store would stall the wide load).
///
/// # Safety
/// `g.len() ≥ y.len()·v.len()` and `c2.len() ≥ v.len()`.
#[inline(always)]
pub(crate) unsafe fn cross_max<S: Isa>(
    s: S,
    v: &mut [f32],
    y: &[f32],
    g: &[f32],
    c2: &[f32],
    own: (usize, f32),
) -> f32 {
    let (k, d, l) = (v.len(), y.len(), S::F32::LANES);
    debug_assert!(g.len() >= d * k && c2.len() >= k);
    let (vp, gp, cp) = (v.as_mut_ptr(), g.as_ptr(), c2.as_ptr());
    let zero = S::F32::splat(s, 0.0);
    let ninf = S::F32::splat(s, f32::NEG_INFINITY);
    // SAFETY: `IOTA` holds `MAX_LANES ≥ LANES` values.
    let iota = unsafe { S::F32::load(s, IOTA.as_ptr()) };
    let (mut mx, mut nan) = (ninf, ninf.is_nan());
    // Whole vectors, and the last partial one with masks (else in scalar code below).
    let end = if S::MASKED_TAILS { k } else { k / l * l };
    let mut kb = 0;
    while kb < end {
        let w = end - kb;
        let mut acc = [zero; 4];
        let mut j = 0;
        while j + 4 <= d {
            for (u, a) in acc.iter_mut().enumerate() {
                // SAFETY: `j + u < d`; `min(w, LANES)` values from `kb < k` of row `j + u`
                // of `g`, which end within `(j + u + 1)·k ≤ d·k ≤ g.len()`.
                let gj = unsafe { load_upto::<S::F32>(s, gp.add((j + u) * k + kb), w, 0.0) };
                *a = S::F32::splat(s, y[j + u]).mul_add(gj, *a);
            }
            j += 4;
        }
        while j < d {
            // SAFETY: as above, with `j < d`.
            let gj = unsafe { load_upto::<S::F32>(s, gp.add(j * k + kb), w, 0.0) };
            acc[0] = S::F32::splat(s, y[j]).mul_add(gj, acc[0]);
            j += 1;
        }
        let sum = acc[0].add(acc[1]).add(acc[2].add(acc[3]));
        // SAFETY: `min(w, LANES)` values from `kb < k`: inside `v` and `c2` (`c2.len() ≥ k`).
        let base = unsafe {
            load_upto::<S::F32>(s, vp.add(kb), w, 0.0).add(load_upto(s, cp.add(kb), w, 0.0))
        };
        let mut x = base.add(sum);
        if own.0 >= kb && own.0 < kb + l {
            let lane = iota.eq(S::F32::splat(s, (own.0 - kb) as f32));
            x = S::F32::select(lane, S::F32::splat(s, own.1), x);
        }
        // SAFETY: the same values of `v`.
        unsafe { store_upto(x, vp.add(kb), w) };
        let x = if w < l {
            x.fill_from(w, f32::NEG_INFINITY)
        } else {
            x
        };
        nan = nan.or(x.is_nan());
        mx = mx.max(x);
        kb += l;
    }
    let (mut m, mut bad) = (mx.max_lane(), nan.any());
    // The tail without masks (AVX2): in order, not fused.
    for c in end..k {
        let mut a = v[c] + c2[c];
        for (j, yj) in y.iter().enumerate() {
            // SAFETY: `j < d` and `c < k`: `j·k + c < d·k ≤ g.len()`.
            a += yj * unsafe { *gp.add(j * k + c) };
        }
        if c == own.0 {
            a = own.1;
        }
        v[c] = a;
        bad |= a.is_nan();
        m = if a > m { a } else { m };
    }
    if bad {
        f32::NAN
    } else {
        m
    }
}

/// `v ← exp(v − mx)` (for `v ≤ mx`); returns `Σ v`.
#[inline(always)]
pub(crate) fn exp_sum<S: Isa>(s: S, v: &mut [f32], mx: f32) -> f32 {
    let (k, l) = (v.len(), S::F32::LANES);
    let vp = v.as_mut_ptr();
    let mxv = S::F32::splat(s, mx);
    let mut acc = S::F32::splat(s, 0.0);
    // Whole vectors, and the last partial one with masks (else in scalar code below).
    let end = if S::MASKED_TAILS { k } else { k / l * l };
    let mut kb = 0;
    while kb < end {
        // SAFETY: `min(end − kb, LANES)` values from `kb < end ≤ k`: inside `v`.
        let x = unsafe { load_upto::<S::F32>(s, vp.add(kb), end - kb, 0.0) };
        let mut e = exp_nonpositive_f32(s, x.sub(mxv));
        if end - kb < l {
            e = e.fill_from(end - kb, 0.0);
        }
        // SAFETY: the same values.
        unsafe { store_upto(e, vp.add(kb), end - kb) };
        acc = acc.add(e);
        kb += l;
    }
    let mut sum = acc.sum();
    for x in &mut v[end..] {
        *x = exp_nonpositive_f32(Scalar, *x - mx);
        sum += *x;
    }
    sum
}

/// `‖yᵀU‖²` in f64 (`U`: D×D row-major upper triangular, so rows below a block's last
/// column contribute nothing and are skipped): two chains of multiply-adds per block of
/// columns.
///
/// # Safety
/// `u.len() ≥ y.len()²`.
#[inline(always)]
pub(crate) unsafe fn whitened_sq<S: Isa>(s: S, y: &[f64], u: &[f64]) -> f64 {
    let (d, l) = (y.len(), S::F64::LANES);
    debug_assert!(u.len() >= d * d);
    let up = u.as_ptr();
    let zero = S::F64::splat(s, 0.0);
    let mut q = zero;
    // Whole vectors, and the last partial one with masks (else in scalar code below).
    let end = if S::MASKED_TAILS { d } else { d / l * l };
    let mut jb = 0;
    while jb < end {
        let w = (end - jb).min(l);
        let mut z = [zero; 2];
        for (i, yi) in y.iter().enumerate().take(jb + w) {
            // SAFETY: `w` values of row `i < d` of `U` from column `jb`: they end within
            // `i·d + jb + w ≤ d² ≤ u.len()`.
            let row = unsafe { load_upto::<S::F64>(s, up.add(i * d + jb), w, 0.0) };
            z[i & 1] = S::F64::splat(s, *yi).mul_add(row, z[i & 1]);
        }
        let zz = z[0].add(z[1]);
        q = zz.mul_add(zz, q);
        jb += l;
    }
    let mut sum = q.sum();
    for j in end..d {
        let mut z = 0.0;
        for (i, yi) in y.iter().enumerate().take(j + 1) {
            // SAFETY: `i ≤ j < d`: `i·d + j < d² ≤ u.len()`.
            z += yi * unsafe { *up.add(i * d + j) };
        }
        sum += z * z;
    }
    sum
}

/// `m2 += Σ_p r_pa y_p y_pᵀ` in f64 for the `rows = r.len() / k` rows (`m2`: D×D; `y`:
/// f64 rows of stride `dp`, zero beyond `D`; blocks on and above the diagonal, so a few
/// entries below it get their share too, which nothing reads), then `r_pa ← 0`. Blocks
/// of `REGISTERS / 4` matrix rows by two vectors of columns stay in registers while the
/// anchor's rows stream through.
///
/// # Safety
/// `a < k`, `dp ≥ d + 15`, `y.len() ≥ rows·dp`, `m2.len() ≥ d²`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn own_moments<S: Isa>(
    s: S,
    r: &mut [f32],
    y: &[f64],
    a: usize,
    k: usize,
    d: usize,
    dp: usize,
    m2: &mut [f64],
) {
    // SAFETY: the caller's contract.
    unsafe {
        if S::REGISTERS / 4 >= 8 {
            own_moments_blocked::<S, 8>(s, r, y, a, k, d, dp, m2)
        } else {
            own_moments_blocked::<S, 4>(s, r, y, a, k, d, dp, m2)
        }
    }
}

/// [`own_moments`] with blocks of `B` matrix rows.
///
/// # Safety
/// `a < k`, `dp ≥ d + 15 ≥ d + max(2·F64::LANES, B) − 1` (`B ≤ 8`), `y.len() ≥ rows·dp`,
/// `m2.len() ≥ d²`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn own_moments_blocked<S: Isa, const B: usize>(
    s: S,
    r: &mut [f32],
    y: &[f64],
    a: usize,
    k: usize,
    d: usize,
    dp: usize,
    m2: &mut [f64],
) {
    let rows = r.len().checked_div(k).unwrap_or(0);
    let l = S::F64::LANES;
    debug_assert!(
        a < k && dp + 1 >= d + (2 * l).max(B) && y.len() >= rows * dp && m2.len() >= d * d
    );
    let (rp, yp, mp) = (r.as_mut_ptr(), y.as_ptr(), m2.as_mut_ptr());
    let zero = S::F64::splat(s, 0.0);
    let mut ry = [0.0f64; 8];
    let mut ib = 0;
    while ib < d {
        let ih = (d - ib).min(B);
        // Column blocks that reach the diagonal of these rows or beyond.
        let mut jb = ib / (2 * l) * (2 * l);
        while jb < d {
            let w = d - jb;
            let mut acc = [[zero; 2]; B];
            for p in 0..rows {
                // SAFETY: `p < rows` and `a < k`: `p·k + a < rows·k ≤ r.len()`. Row `p` of
                // `y` starts at `p·dp` and has `dp` values (`y.len() ≥ rows·dp`); the loads
                // read its values `ib..ib + B` and `jb..jb + 2·LANES` with `ib, jb < d`,
                // below `d + max(2·LANES, B) − 1 ≤ dp`. `ry` holds the `B ≤ 8` values
                // stored (whole vectors: `B` is a multiple of `LANES` on every level).
                let (lo, hi) = unsafe {
                    let yr = yp.add(p * dp);
                    let rv = S::F64::splat(s, *rp.add(p * k + a) as f64);
                    // r·y of these matrix rows, broadcast below from memory.
                    let mut c = 0;
                    while c < B {
                        rv.mul(S::F64::load(s, yr.add(ib + c)))
                            .store(ry.as_mut_ptr().add(c));
                        c += l;
                    }
                    (S::F64::load(s, yr.add(jb)), S::F64::load(s, yr.add(jb + l)))
                };
                for (acc, ri) in acc.iter_mut().zip(&ry).take(ih) {
                    let ri = S::F64::splat(s, *ri);
                    acc[0] = ri.mul_add(lo, acc[0]);
                    acc[1] = ri.mul_add(hi, acc[1]);
                }
            }
            for (u, acc) in acc.iter().enumerate().take(ih) {
                for (h, part) in acc.iter().enumerate() {
                    if w <= h * l {
                        break;
                    }
                    // SAFETY: `min(w − h·LANES, LANES)` values of row `ib + u < d` of `m2`
                    // from column `jb + h·LANES < d`: they end within `(ib + u + 1)·d ≤ d²
                    // ≤ m2.len()`.
                    unsafe {
                        let at = mp.add((ib + u) * d + jb + h * l);
                        let x = load_upto::<S::F64>(s, at, w - h * l, 0.0).add(*part);
                        store_upto(x, at, w - h * l);
                    }
                }
            }
            jb += 2 * l;
        }
        ib += B;
    }
    for p in 0..rows {
        r[p * k + a] = 0.0;
    }
}

/// Adds `Σ_p r_p ⊗ y_p` (`K×D`) to `c` and `Σ_p r_p` to `n` for the `rows = r.len() / k`
/// rows of one anchor (`r`: rows × K; `y`: rows of stride `dp`, zero beyond `D`).
/// Components without mass in these rows (all responsibilities exactly 0: far
/// components) add nothing to the first moments and are skipped.
///
/// # Safety
/// `dp ≥ d + 15`, `y.len() ≥ rows·dp`, `c.len() ≥ k·d`, `n.len() ≥ k`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn accumulate_anchor<S: Isa>(
    s: S,
    r: &[f32],
    y: &[f32],
    k: usize,
    d: usize,
    dp: usize,
    c: &mut [f64],
    n: &mut [f64],
) {
    // SAFETY: the caller's contract.
    unsafe {
        if S::REGISTERS / 4 >= 8 {
            accumulate_anchor_blocked::<S, 8>(s, r, y, k, d, dp, c, n)
        } else {
            accumulate_anchor_blocked::<S, 4>(s, r, y, k, d, dp, c, n)
        }
    }
}

/// [`accumulate_anchor`] with groups of `G` components (one vector of features each).
///
/// # Safety
/// As [`accumulate_anchor`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn accumulate_anchor_blocked<S: Isa, const G: usize>(
    s: S,
    r: &[f32],
    y: &[f32],
    k: usize,
    d: usize,
    dp: usize,
    c: &mut [f64],
    n: &mut [f64],
) {
    let rows = r.len().checked_div(k).unwrap_or(0);
    let l = S::F32::LANES;
    debug_assert!(dp + 1 >= d + l && y.len() >= rows * dp && c.len() >= k * d && n.len() >= k);
    let (rp, yp, cp) = (r.as_ptr(), y.as_ptr(), c.as_mut_ptr());
    let zero = S::F32::splat(s, 0.0);
    // Masses, a vector of components at a time; a clear bit marks a component without
    // mass (components from 2048 on always count as having some).
    let mut live = [u64::MAX; 32];
    let mut kb = 0;
    while kb < k {
        let w = k - kb;
        let mut acc = zero;
        for p in 0..rows {
            // SAFETY: `min(w, LANES)` values of row `p < rows` of `r` from `kb < k`: below
            // `rows·k ≤ r.len()`.
            acc = acc.add(unsafe { load_upto::<S::F32>(s, rp.add(p * k + kb), w, 0.0) });
        }
        if let Some(word) = live.get_mut(kb / 64) {
            // `LANES` divides 64: the block's bits lie in one word.
            let lanes = (1u64 << w.min(l)) - 1;
            let bits = acc.ne(zero).bits() & lanes;
            *word = (*word & !(lanes << (kb % 64))) | (bits << (kb % 64));
        }
        // SAFETY: `min(w, LANES)` values of `n` from `kb < k ≤ n.len()`.
        unsafe { add_widened(s, n.as_mut_ptr().add(kb), w.min(l), acc) };
        kb += l;
    }
    let has_mass = |q: usize| live.get(q / 64).is_none_or(|w| (w >> (q % 64)) & 1 != 0);
    // First moments: groups of `G` components by one vector of features in `G`
    // registers; the components left over one at a time.
    let mut jb = 0;
    while jb < d {
        let w = (d - jb).min(l);
        let mut kb = 0;
        while kb + G <= k {
            if (kb..kb + G).any(has_mass) {
                // SAFETY: the caller's contract, with `kb + G ≤ k`.
                unsafe { first_moments::<S, G>(s, rp, yp, cp, rows, k, kb, d, dp, jb, w) };
            }
            kb += G;
        }
        for q in (kb..k).filter(|q| has_mass(*q)) {
            // SAFETY: the caller's contract, with `q < k`.
            unsafe { first_moments::<S, 1>(s, rp, yp, cp, rows, k, q, d, dp, jb, w) };
        }
        jb += l;
    }
}

/// `c[kb + q][jb..jb + w] += Σ_p r_p,kb+q · y_p[jb..jb + w]` for `q < N`.
///
/// # Safety
/// `r` holds `rows·k` values, `y` `rows` rows of stride `dp ≥ jb + LANES`, `c` `k·d`
/// values; `kb + N ≤ k`, `jb + w ≤ d`, `w ≤ LANES`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn first_moments<S: Isa, const N: usize>(
    s: S,
    r: *const f32,
    y: *const f32,
    c: *mut f64,
    rows: usize,
    k: usize,
    kb: usize,
    d: usize,
    dp: usize,
    jb: usize,
    w: usize,
) {
    let mut acc = [S::F32::splat(s, 0.0); N];
    for p in 0..rows {
        // SAFETY: row `p < rows` of `y` holds `dp ≥ jb + LANES` values; `p·k + kb + q <
        // rows·k` for `q < N` (caller contract).
        unsafe {
            let yv = S::F32::load(s, y.add(p * dp + jb));
            let rr = r.add(p * k + kb);
            for (q, a) in acc.iter_mut().enumerate() {
                *a = S::F32::splat(s, *rr.add(q)).mul_add(yv, *a);
            }
        }
    }
    for (q, a) in acc.iter().enumerate() {
        // SAFETY: `kb + q < k` and `jb + w ≤ d`: `c[(kb + q)·d + jb..][..w]` lies below
        // `k·d` (caller contract); `w ≤ LANES`.
        unsafe { add_widened(s, c.add((kb + q) * d + jb), w, *a) };
    }
}

/// `dst[..w] += v[..w]` widened to f64 (`w ≤ F32::LANES`).
///
/// # Safety
/// `dst` must be valid for reads and writes of `w` values.
#[inline(always)]
unsafe fn add_widened<S: Isa>(s: S, dst: *mut f64, w: usize, v: S::F32) {
    let mut buf = [0.0f32; MAX_LANES];
    // SAFETY: `buf` holds `MAX_LANES ≥ LANES` values.
    unsafe { v.store(buf.as_mut_ptr()) };
    let mut i = 0;
    while i < w {
        // SAFETY: `min(w − i, F64::LANES)` values of `dst` from `i < w` (caller contract);
        // `buf[i..i + F64::LANES]` lies within the `F32::LANES = 2·F64::LANES` (or one)
        // values stored, as `i < w ≤ F32::LANES` steps by `F64::LANES`.
        unsafe {
            let x = load_upto::<S::F64>(s, dst.add(i), w - i, 0.0)
                .add(s.load_widened(buf.as_ptr().add(i)));
            store_upto(x, dst.add(i), w - i);
        }
        i += S::F64::LANES;
    }
}
