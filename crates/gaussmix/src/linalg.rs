//! Small dense linear algebra on `D×D` matrices (row-major slices), via faer.
//!
//! These run once per component per EM iteration, never per row, so clarity wins over
//! speed here; the per-row work lives in `estep`.

use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Mat, Par, Side};

fn to_mat(a: &[f64], d: usize) -> Mat<f64> {
    Mat::from_fn(d, d, |i, j| a[i * d + j])
}

/// Lower Cholesky factor `L` of a symmetric positive definite matrix (`A = L Lᵀ`), or
/// `None` when `A` is not positive definite.
pub(crate) fn cholesky_lower(a: &[f64], d: usize) -> Option<Vec<f64>> {
    if a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let llt = to_mat(a, d).llt(Side::Lower).ok()?;
    let l = llt.L();
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            out[i * d + j] = l[(i, j)];
        }
    }
    if (0..d).any(|i| !(out[i * d + i].is_finite() && out[i * d + i] > 0.0)) {
        return None;
    }
    Some(out)
}

/// Upper-triangular `U = L⁻ᵀ` with `Σ⁻¹ = U Uᵀ`, from a covariance `Σ = L Lᵀ`
/// (scikit-learn's `precisions_cholesky_`).
pub(crate) fn precision_cholesky(cov: &[f64], d: usize) -> Option<Vec<f64>> {
    let l = cholesky_lower(cov, d)?;
    let lm = to_mat(&l, d);
    let mut inv = Mat::<f64>::identity(d, d);
    solve_lower_triangular_in_place(lm.as_ref(), inv.as_mut(), Par::Seq);
    let mut u = vec![0.0; d * d];
    for i in 0..d {
        for j in i..d {
            u[i * d + j] = inv[(j, i)];
        }
    }
    if u.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Some(u)
}

/// Inverse of a symmetric positive definite matrix, via its Cholesky factor. Only used to
/// accept user-supplied precision matrices, never inside EM.
pub(crate) fn spd_inverse(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let u = precision_cholesky(a, d)?;
    // A⁻¹ = U Uᵀ with U = L⁻ᵀ.
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            let mut s = 0.0;
            for t in i.max(j)..d {
                s += u[i * d + t] * u[j * d + t];
            }
            out[i * d + j] = s;
        }
    }
    Some(out)
}

/// Eigenvalues (ascending) and unit eigenvectors (`vectors[i * d + j]`: component `i`
/// of the `j`-th eigenvector) of a symmetric `D×D` matrix, sequentially (deterministic;
/// it runs once per component after a fit, never per row). `None` for a non-finite
/// matrix or when the solver does not converge.
pub(crate) fn symmetric_eigen(a: &[f64], d: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::evd;
    if a.len() != d * d || a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let m = to_mat(a, d);
    let mut u = Mat::<f64>::zeros(d, d);
    let mut s = faer::diag::Diag::<f64>::zeros(d);
    let mut buf = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        d,
        evd::ComputeEigenvectors::Yes,
        Par::Seq,
        Default::default(),
    ));
    evd::self_adjoint_evd(
        m.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .ok()?;
    let values: Vec<f64> = (0..d).map(|i| s[i]).collect();
    let vectors: Vec<f64> = (0..d * d).map(|x| u[(x / d, x % d)]).collect();
    (values.iter().all(|v| v.is_finite()) && vectors.iter().all(|v| v.is_finite()))
        .then_some((values, vectors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_cholesky_inverts() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let inv = spd_inverse(&a, 2).unwrap();
        // A · A⁻¹ = I
        let p = [
            a[0] * inv[0] + a[1] * inv[2],
            a[0] * inv[1] + a[1] * inv[3],
            a[2] * inv[0] + a[3] * inv[2],
            a[2] * inv[1] + a[3] * inv[3],
        ];
        for (x, y) in p.iter().zip([1.0, 0.0, 0.0, 1.0]) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn symmetric_eigen_diagonalises() {
        let a = [2.0, 1.0, 1.0, 2.0];
        let (w, v) = symmetric_eigen(&a, 2).unwrap();
        assert!((w[0] - 1.0).abs() < 1e-14 && (w[1] - 3.0).abs() < 1e-14);
        // A v = λ v for the first eigenvector.
        let (x, y) = (v[0], v[2]);
        assert!((a[0] * x + a[1] * y - w[0] * x).abs() < 1e-14);
        assert!((x * x + y * y - 1.0).abs() < 1e-14);
        assert!(symmetric_eigen(&[f64::NAN], 1).is_none());
    }

    #[test]
    fn not_pd_is_none() {
        assert!(cholesky_lower(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(cholesky_lower(&[f64::NAN, 0.0, 0.0, 1.0], 2).is_none());
        assert!(precision_cholesky(&[0.0], 1).is_none());
    }
}
