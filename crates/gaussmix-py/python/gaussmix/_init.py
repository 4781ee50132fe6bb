"""Starting parameters with scikit-learn's semantics.

scikit-learn turns ``init_params`` into starting *responsibilities* and runs one M-step
on them (``_estimate_gaussian_parameters``), then overrides whatever the user gave
(``weights_init``, ``means_init``, ``precisions_init``). This module does the same, with
the random draws (k-means++, k-means, row choice, uniform responsibilities) made by the
Rust engine's generator: same distributions as scikit-learn, not numpy's stream.

The responsibilities are never materialised as an ``N×K`` matrix except for
``init_params='random'`` (as scikit-learn does): k-means gives one label per row, and
'k-means++' / 'random_from_data' give responsibility 1 to the K chosen rows only.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from . import _native

EPS10 = 10 * np.finfo(np.float64).eps
_CHUNK = 1 << 16


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _weighted_gram(X: np.ndarray, w: Optional[np.ndarray]) -> np.ndarray:
    """``Xᵀ diag(w) X`` in float64, a chunk of rows at a time (no full-size copy)."""
    d = X.shape[1]
    out = np.zeros((d, d))
    for s in range(0, X.shape[0], _CHUNK):
        xc = _f64(X[s : s + _CHUNK])
        out += xc.T @ (xc if w is None else xc * w[s : s + _CHUNK, None])
    return out


def _symmetric(m: np.ndarray) -> np.ndarray:
    """``(M + Mᵀ) / 2``: weighted products are symmetric only up to rounding, and the
    engine checks symmetry entry by entry (scikit-learn reads one triangle)."""
    return (m + m.T) * 0.5


def _covariances(
    kind: str,
    X: np.ndarray,
    w: Optional[np.ndarray],
    nk: np.ndarray,
    means: np.ndarray,
    reg_covar: float,
    per_component,
) -> np.ndarray:
    """scikit-learn's covariance formulas. ``per_component(k)`` yields the rows and
    weights (responsibility × sample weight) that component k sees."""
    n_components, d = means.shape
    if kind == "tied":
        # scikit-learn: (XᵀX − Σ_k n_k μ_k μ_kᵀ) / Σ n_k, over *all* rows whatever the
        # responsibilities (as it does for every init method).
        cov = _weighted_gram(X, w) - (nk * means.T) @ means
        cov /= nk.sum()
        cov.flat[:: d + 1] += reg_covar
        return _symmetric(cov)
    if kind == "full":
        out = np.empty((n_components, d, d))
        for k in range(n_components):
            xk, rk = per_component(k)
            diff = xk - means[k]
            out[k] = _symmetric((rk * diff.T) @ diff / nk[k])
            out[k].flat[:: d + 1] += reg_covar
        return out
    diag = np.empty((n_components, d))
    for k in range(n_components):
        xk, rk = per_component(k)
        diag[k] = (rk @ (xk * xk)) / nk[k] - means[k] ** 2 + reg_covar
    if kind == "diag":
        return diag
    return diag.mean(axis=1)


def params_from_assignments(
    X: np.ndarray,
    w: Optional[np.ndarray],
    rows: np.ndarray,
    comps: np.ndarray,
    n_components: int,
    kind: str,
    reg_covar: float,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One M-step from hard responsibilities: row ``rows[i]`` belongs to component
    ``comps[i]`` with responsibility 1, every other (row, component) pair has 0.
    Returns ``(n_k, means, covariances)`` exactly as scikit-learn's
    ``_estimate_gaussian_parameters`` would from the dense matrix."""
    order = np.argsort(comps, kind="stable")
    rows_sorted = rows[order]
    counts = np.bincount(comps, minlength=n_components)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    d = X.shape[1]
    groups = []
    nk = np.empty(n_components)
    means = np.empty((n_components, d))
    for k in range(n_components):
        r = rows_sorted[bounds[k] : bounds[k + 1]]
        xk = _f64(X[r])
        rk = np.ones(len(r)) if w is None else w[r]
        groups.append((xk, rk))
        nk[k] = rk.sum() + EPS10
        means[k] = (rk @ xk) / nk[k]
    cov = _covariances(kind, X, w, nk, means, reg_covar, lambda k: groups[k])
    return nk, means, cov


def params_from_resp(
    X: np.ndarray,
    w: Optional[np.ndarray],
    resp: np.ndarray,
    kind: str,
    reg_covar: float,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One M-step from dense responsibilities (``init_params='random'``)."""
    rw = resp if w is None else resp * w[:, None]
    nk = rw.sum(axis=0) + EPS10
    means = np.zeros((resp.shape[1], X.shape[1]))
    for s in range(0, X.shape[0], _CHUNK):
        means += rw[s : s + _CHUNK].T @ _f64(X[s : s + _CHUNK])
    means /= nk[:, None]
    Xf = _f64(X)
    cov = _covariances(kind, X, w, nk, means, reg_covar, lambda k: (Xf, rw[:, k]))
    return nk, means, cov


def initial_parameters(
    est,
    X: np.ndarray,
    w: Optional[np.ndarray],
    seed: int,
    weights_init: Optional[np.ndarray],
    means_init: Optional[np.ndarray],
    precisions_init: Optional[np.ndarray],
) -> dict:
    """Starting parameters for one run, as scikit-learn's ``_initialize_parameters``
    computes them. Returns keyword arguments for the engine's ``fit``:
    ``weights_init``, ``means_init`` and ``covariances_init`` or ``precisions_init``."""
    k = est.n_components
    kind = est.covariance_type
    if weights_init is not None and means_init is not None and precisions_init is not None:
        return dict(
            weights_init=weights_init,
            means_init=means_init,
            precisions_init=precisions_init,
        )
    n = X.shape[0]
    method = est.init_params
    if method == "random":
        resp = _native.uniform(n, k, seed)
        resp /= resp.sum(axis=1)[:, None]
        nk, means, cov = params_from_resp(X, w, resp, kind, est.reg_covar)
        del resp
    else:
        if method == "kmeans":
            labels, _ = _native.kmeans_labels(X, k, seed, 300, w)
            rows, comps = np.arange(n), labels
        elif method == "k-means++":
            rows = _native.kmeans_plus_plus(X, k, seed, w)
            comps = np.arange(k)
        else:  # random_from_data
            candidates = np.arange(n) if w is None else np.flatnonzero(w > 0)
            rows = _native.choice(candidates.astype(np.int64), k, seed)
            comps = np.arange(k)
        nk, means, cov = params_from_assignments(
            X, w, rows, comps, k, kind, est.reg_covar
        )
    total = float(n if w is None else w.sum())
    start = dict(
        weights_init=nk / total if weights_init is None else weights_init,
        means_init=means if means_init is None else means_init,
    )
    if precisions_init is None:
        start["covariances_init"] = cov
    else:
        start["precisions_init"] = precisions_init
    return start


def covariances_from_precisions(prec: np.ndarray, kind: str) -> np.ndarray:
    """The inverse of per-type precisions (for a start used without any EM step)."""
    if kind == "full":
        return np.stack([np.linalg.inv(p) for p in prec])
    if kind == "tied":
        return np.linalg.inv(prec)
    return 1.0 / prec


def precisions_from_cholesky(pc: np.ndarray, kind: str) -> np.ndarray:
    """``U Uᵀ`` per component (full, tied) or ``u²`` (diag, spherical), as
    scikit-learn's ``precisions_``."""
    if kind == "full":
        return np.einsum("kij,klj->kil", pc, pc)
    if kind == "tied":
        return pc @ pc.T
    return pc**2
