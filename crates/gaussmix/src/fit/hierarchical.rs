//! Model-based hierarchical agglomeration for starting means (mclust's default start).
//!
//! Every row of a sample starts as its own cluster; the two clusters whose merge raises
//! the within-cluster sum of squares least are merged until `K` remain. That is Ward's
//! criterion, which is exactly the classification likelihood of mclust's `EII` model
//! (spherical, equal volumes): the merge cost of `A` and `B` is
//! `w_A·w_B / (w_A + w_B) · ‖c_A − c_B‖²` with `w` the clusters' weights and `c` their
//! weighted means. The `K` clusters' means then start EM (each row assigned to the
//! nearest).
//!
//! Why on a sample: agglomeration costs `O(m²·D)` time with the nearest-neighbour-chain
//! algorithm used here (and `O(m·D)` memory: cluster means, no distance matrix), so it
//! runs on at most [`SAMPLE_ROWS`] rows drawn without replacement by the run's seed
//! (all rows when there are fewer; the result then does not depend on the seed).
//!
//! Ward's criterion is *reducible*, so the nearest-neighbour chain finds the same merges
//! as the greedy algorithm, possibly out of order; the merges are then sorted by cost
//! (ties by the order they were found) and the first `m − K` replayed with a union-find.

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::Data;
use crate::error::{GmmError, Result};

/// At most this many rows are agglomerated (see the module documentation).
pub(crate) const SAMPLE_ROWS: usize = 2000;

/// The means of the `k` clusters Ward's agglomeration leaves on a sample of the rows with
/// positive weight (`k×D`).
pub(crate) fn ward_centers(data: &Data, k: usize, seed: u64) -> Result<Array2<f64>> {
    let d = data.n_features();
    let weight = |i: usize| data.weights().map_or(1.0, |w| w[i]);
    let mut rows: Vec<usize> = (0..data.n_samples()).filter(|&i| weight(i) > 0.0).collect();
    if rows.len() < k || k == 0 {
        return Err(GmmError::InvalidData(format!(
            "{} samples (with positive weight) cannot be split into {k} components",
            rows.len()
        )));
    }
    if rows.len() > SAMPLE_ROWS {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rows = rows
            .choose_multiple(&mut rng, SAMPLE_ROWS)
            .copied()
            .collect();
        rows.sort_unstable();
    }
    let m = rows.len();
    let means: Vec<f64> = rows.iter().flat_map(|&i| data.row_f64(i)).collect();
    let w: Vec<f64> = rows.iter().map(|&i| weight(i)).collect();
    let merges = nn_chain(&means, &w, d);
    let mut parent = cut(&merges, m, k);
    // Cluster means in order of their first row.
    let mut roots: Vec<usize> = Vec::with_capacity(k);
    let mut sums: Vec<Vec<f64>> = Vec::with_capacity(k);
    let mut mass: Vec<f64> = Vec::with_capacity(k);
    for (j, &row) in rows.iter().enumerate() {
        let r = find(&mut parent, j);
        let slot = match roots.iter().position(|&x| x == r) {
            Some(s) => s,
            None => {
                roots.push(r);
                sums.push(vec![0.0; d]);
                mass.push(0.0);
                roots.len() - 1
            }
        };
        let wr = weight(row);
        // Summed about the cluster's first row's value would be more exact; the start
        // only needs to be near the clusters.
        for (s, v) in sums[slot].iter_mut().zip(data.row_f64(row)) {
            *s += wr * v;
        }
        mass[slot] += wr;
    }
    let centers: Vec<f64> = sums
        .iter()
        .zip(&mass)
        .flat_map(|(s, &mw)| s.iter().map(move |v| v / mw).collect::<Vec<_>>())
        .collect();
    Array2::from_shape_vec((roots.len(), d), centers)
        .map_err(|e| GmmError::Numerical(e.to_string()))
}

/// The union-find forest of the `m` points after the cheapest `m − k` of `merges`
/// (sorted by cost, ties in the order found): `find` gives each point's cluster.
fn cut(merges: &[(f64, usize, usize)], m: usize, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..merges.len()).collect();
    order.sort_by(|&a, &b| merges[a].0.total_cmp(&merges[b].0).then(a.cmp(&b)));
    let mut parent: Vec<usize> = (0..m).collect();
    for &i in order.iter().take(m.saturating_sub(k)) {
        let (_, a, b) = merges[i];
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    parent
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// All `m − 1` merges `(cost, a, b)` of Ward's agglomeration of the `m` clusters with
/// means `means` (`m×D`) and weights `w`, by the nearest-neighbour chain. A merged
/// cluster lives on in the lower of its two slots.
///
/// The live clusters are kept compacted and feature-major (`mt[j·m + p]`: feature `j`
/// of the cluster at position `p`), so that the costs from the chain's head to every
/// other cluster run as whole vectors over contiguous memory; a merged cluster's last
/// position takes the removed one's place. (Scanning the clusters through an index
/// list, one pair at a time, took 48 ms for 1,797 rows, D = 10; now 18 ms.) The
/// features are summed in order; the pairwise version summed eight partial sums from
/// D = 8 on, so costs can differ from it in the last bits, and where two merges cost the
/// same to those bits a Ward start can differ from earlier versions'.
fn nn_chain(means: &[f64], w: &[f64], d: usize) -> Vec<(f64, usize, usize)> {
    let m = w.len();
    let mut ids: Vec<usize> = (0..m).collect();
    let mut pos: Vec<usize> = (0..m).collect();
    let mut mt = vec![0.0; d * m];
    for i in 0..m {
        for j in 0..d {
            mt[j * m + i] = means[i * d + j];
        }
    }
    let mut wl: Vec<f64> = w.to_vec();
    let mut n = m;
    let mut acc = vec![0.0; m];
    let mut merges = Vec::with_capacity(m.saturating_sub(1));
    let mut chain: Vec<usize> = Vec::new();
    while n > 1 {
        if chain.is_empty() {
            chain.push(ids[0]);
        }
        let a = chain[chain.len() - 1];
        let pa = pos[a];
        let prev = chain.len().checked_sub(2).map(|i| chain[i]);
        let sq = &mut acc[..n];
        ward_costs(sq, &mt, &wl, m, d, pa);
        // The nearest to `a`; ties go to the chain's previous element (so that the
        // chain always ends), then to the lowest slot.
        let mut best: Option<(f64, usize)> = prev.map(|p| (sq[pos[p]], p));
        for (q, &c) in sq.iter().enumerate() {
            let b = ids[q];
            if q == pa || Some(b) == prev {
                continue;
            }
            let better = match best {
                None => true,
                Some((bc, bs)) => c < bc || (c == bc && Some(bs) != prev && b < bs),
            };
            if better {
                best = Some((c, b));
            }
        }
        let Some((c, b)) = best else {
            break;
        };
        if Some(b) == prev {
            chain.truncate(chain.len() - 2);
            let (lo, hi) = (a.min(b), a.max(b));
            let (pl, ph) = (pos[lo], pos[hi]);
            let (wlo, whi) = (wl[pl], wl[ph]);
            let total = wlo + whi;
            for j in 0..d {
                let (ml, mh) = (mt[j * m + pl], mt[j * m + ph]);
                mt[j * m + pl] = ml + (mh - ml) * (whi / total);
            }
            wl[pl] = total;
            // The last live position takes `hi`'s place.
            let last = n - 1;
            for j in 0..d {
                mt[j * m + ph] = mt[j * m + last];
            }
            wl[ph] = wl[last];
            ids[ph] = ids[last];
            pos[ids[ph]] = ph;
            n -= 1;
            merges.push((c, lo, hi));
        } else {
            chain.push(b);
        }
    }
    merges
}

crate::simd::multiversion! {
    /// Ward's costs from the cluster at position `pa` to the `n = sq.len()` live ones:
    /// `w_a·w_b/(w_a + w_b)·‖c_a − c_b‖²` (features summed in order, so every level
    /// gives the same bits; the vector width only changes how many clusters at once).
    fn ward_costs(sq: &mut [f64], mt: &[f64], wl: &[f64], m: usize, d: usize, pa: usize) {
        _ => ward_costs_body(sq, mt, wl, m, d, pa)
    }
}

#[inline(always)]
fn ward_costs_body(sq: &mut [f64], mt: &[f64], wl: &[f64], m: usize, d: usize, pa: usize) {
    let n = sq.len();
    sq.fill(0.0);
    for j in 0..d {
        let col = &mt[j * m..j * m + n];
        let x = col[pa];
        for (s, y) in sq.iter_mut().zip(col) {
            let t = x - y;
            *s += t * t;
        }
    }
    let wa = wl[pa];
    for (s, wb) in sq.iter_mut().zip(&wl[..n]) {
        *s *= wa * wb / (wa + wb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: merge the cheapest pair until `k` clusters remain.
    fn greedy(points: &[Vec<f64>], k: usize) -> Vec<Vec<usize>> {
        let mut clusters: Vec<Vec<usize>> = (0..points.len()).map(|i| vec![i]).collect();
        let mean = |c: &Vec<usize>| -> Vec<f64> {
            let d = points[0].len();
            (0..d)
                .map(|j| c.iter().map(|&i| points[i][j]).sum::<f64>() / c.len() as f64)
                .collect()
        };
        while clusters.len() > k {
            let mut best = (f64::INFINITY, 0, 0);
            for a in 0..clusters.len() {
                for b in a + 1..clusters.len() {
                    let (ma, mb) = (mean(&clusters[a]), mean(&clusters[b]));
                    let (na, nb) = (clusters[a].len() as f64, clusters[b].len() as f64);
                    let sq: f64 = ma.iter().zip(&mb).map(|(x, y)| (x - y) * (x - y)).sum();
                    let c = na * nb / (na + nb) * sq;
                    if c < best.0 {
                        best = (c, a, b);
                    }
                }
            }
            let b = clusters.remove(best.2);
            clusters[best.1].extend(b);
        }
        for c in &mut clusters {
            c.sort_unstable();
        }
        clusters.sort();
        clusters
    }

    #[test]
    fn nearest_neighbour_chain_equals_greedy_ward() {
        use rand::Rng;
        for seed in 0..20u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = 5 + (seed as usize % 30);
            // Small D, and D past the eight lanes of a vector (the costs' sums).
            let d = [1, 2, 3, 8, 10, 17][seed as usize % 6];
            let points: Vec<Vec<f64>> = (0..n)
                .map(|_| (0..d).map(|_| rng.gen::<f64>() * 10.0).collect())
                .collect();
            for k in [1, 2, 3, n / 2] {
                let means: Vec<f64> = points.concat();
                let w = vec![1.0; n];
                let merges = nn_chain(&means, &w, d);
                assert_eq!(merges.len(), n - 1);
                let mut parent = cut(&merges, n, k);
                let mut got: Vec<Vec<usize>> = Vec::new();
                let mut roots: Vec<usize> = Vec::new();
                for i in 0..n {
                    let r = find(&mut parent, i);
                    match roots.iter().position(|&x| x == r) {
                        Some(s) => got[s].push(i),
                        None => {
                            roots.push(r);
                            got.push(vec![i]);
                        }
                    }
                }
                got.sort();
                assert_eq!(got, greedy(&points, k), "seed {seed}, n {n}, k {k}");
            }
        }
    }

    #[test]
    fn ward_centres_find_separated_clusters() {
        let x = ndarray::array![
            [0.0, 0.0],
            [0.1, 0.0],
            [10.0, 10.0],
            [10.1, 10.0],
            [20.0, 0.0]
        ];
        let data = Data::from_view(x.view()).unwrap();
        let c = ward_centers(&data, 3, 1).unwrap();
        let mut firsts: Vec<f64> = c.column(0).to_vec();
        firsts.sort_by(f64::total_cmp);
        assert!((firsts[0] - 0.05).abs() < 1e-12);
        assert!((firsts[1] - 10.05).abs() < 1e-12);
        assert!((firsts[2] - 20.0).abs() < 1e-12);
    }
}
