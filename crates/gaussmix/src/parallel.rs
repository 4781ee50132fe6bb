//! The map-reduce skeleton every pass over the data uses.
//!
//! Rows are cut into fixed groups of whole chunks. Group boundaries depend only on the
//! number of rows — never on the thread count — and group results are combined in
//! group order, so every result is bit-identical for any number of threads.

use rayon::prelude::*;

use crate::error::{invalid_option, Result};

/// Rows per chunk: small enough that a chunk's rows and its `rows×K` buffer stay in
/// cache while every component is processed.
pub(crate) const CHUNK_ROWS: usize = 256;

/// Upper bound on the number of groups: enough to balance load over many cores, few
/// enough that per-group statistics stay small.
const MAX_GROUPS: usize = 128;

/// Rows per group for `n` rows (a multiple of `CHUNK_ROWS`).
pub(crate) fn group_rows(n: usize) -> usize {
    let chunks = n.div_ceil(CHUNK_ROWS).max(1);
    let groups = chunks.min(MAX_GROUPS);
    chunks.div_ceil(groups) * CHUNK_ROWS
}

/// Runs `f(start, end)` for every group of rows in parallel and returns the results in
/// group order.
pub(crate) fn map_groups<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize, usize) -> T + Sync + Send,
{
    let gr = group_rows(n);
    let groups = n.div_ceil(gr);
    (0..groups)
        .into_par_iter()
        .map(|g| f(g * gr, ((g + 1) * gr).min(n)))
        .collect()
}

/// Iterates over the chunks of rows `[start, end)`.
pub(crate) fn chunks(start: usize, end: usize) -> impl Iterator<Item = (usize, usize)> {
    chunks_of(start, end, CHUNK_ROWS)
}

/// Iterates over chunks of `rows` rows (the last one shorter) of `[start, end)`.
pub(crate) fn chunks_of(
    start: usize,
    end: usize,
    rows: usize,
) -> impl Iterator<Item = (usize, usize)> {
    (start..end)
        .step_by(rows)
        .map(move |s| (s, (s + rows).min(end)))
}

/// Runs `f` on a pool of `n_threads` threads, or on rayon's global pool when `None`.
pub(crate) fn install<R: Send>(
    n_threads: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> Result<R> {
    match n_threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| {
                    invalid_option("n_threads", format!("cannot start {n} threads: {e}"))
                })?;
            Ok(pool.install(f))
        }
    }
}

/// Derives an independent seed for a sub-task (restart, chunk) from the user's seed.
pub(crate) fn derive_seed(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    // splitmix64 finaliser
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cover_all_rows_once() {
        for n in [1, 255, 256, 257, 10_000, 1_000_003] {
            let ranges = map_groups(n, |s, e| (s, e));
            assert_eq!(ranges[0].0, 0);
            assert_eq!(ranges.last().unwrap().1, n);
            for w in ranges.windows(2) {
                assert_eq!(w[0].1, w[1].0);
            }
            assert!(ranges.len() <= MAX_GROUPS);
        }
    }
}
