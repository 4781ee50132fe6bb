"""``gaussmix.select``: choose the number of components and the covariance type."""

from __future__ import annotations

import json
import warnings
from typing import Any, Iterable, Optional, Sequence, Tuple

from . import _native
from ._compat import HAVE_PANDAS, ConvergenceWarning, DegenerateWarning
from ._convert import _estimator_from_model
from ._estimator import COVARIANCE_TYPES, GaussianMixture
from ._validation import check_sample_weight, random_seed, validate_X

_INIT_TO_LIBRARY = {
    "kmeans": "kmeans",
    # scikit-learn's k-means++ is the greedy variant (2 + ln K trials per centre).
    "k-means++": "greedy-kmeans++",
    "em-em": "em-em",
    "hierarchical": "hierarchical",
    "random": "random",
    "random_from_data": "random-from-data",
}


def select(
    X: Any,
    k: Iterable[int] = range(1, 11),
    covariance_types: Sequence[str] = COVARIANCE_TYPES,
    criterion: str = "bic",
    *,
    sample_weight: Any = None,
    n_init: int = 1,
    init_params: str = "k-means++",
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    random_state: Any = None,
    n_threads: Optional[int] = None,
    dtype: Optional[str] = None,
    recover: bool = False,
    variance_floor: Optional[float] = None,
) -> Tuple[Any, GaussianMixture]:
    """Fit every (number of components, covariance type) candidate and rank them.

    Candidates are fitted in parallel by the engine (results do not depend on the
    thread count) with gaussmix's own initialisation (k-means++ seeds, each row
    assigned to its nearest seed; ``init_params`` picks another library method). Each
    ``k`` whose ``k - 1`` is also tried gets one more run, warm-started from ``k - 1``'s
    kept model with its widest component split in two; it is kept when its final mean
    log-likelihood is higher by more than ``tol``.
    A candidate that fails is kept in the table with its reason, ranked last.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training rows.
    k : iterable of int, default=range(1, 11)
        Numbers of components to try.
    covariance_types : sequence of str, default=('full', 'tied', 'diag', 'spherical')
        Covariance types to try.
    criterion : {'bic', 'aic', 'icl'}, default='bic'
        Ranking criterion (lower is better). ICL is BIC plus twice the entropy of the
        responsibilities.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.
    n_init : int, default=1
        Complete EM runs per candidate.
    init_params : {'k-means++', 'kmeans', 'em-em', 'hierarchical', 'random', 'random_from_data'}, default='k-means++'
        Initialisation of every run (the library's methods; 'k-means++' is the greedy
        variant scikit-learn uses; 'em-em' is the command line's default: short EM
        runs from several starts, the best continued).
    tol, reg_covar, max_iter : float, float, int
        As for :class:`GaussianMixture`.
    random_state : int, RandomState instance or None, default=None
        Seed of every random choice.
    n_threads : int or None, default=None
        Threads for the whole selection (None: all cores).
    dtype : {'float64', 'float32'} or None, default=None
        As for :class:`GaussianMixture`.
    recover : bool, default=False
        Re-seed collapsed components instead of failing.
    variance_floor : float or None, default=None
        Clamp every variance to at least this value.

    Returns
    -------
    table : pandas.DataFrame or list of dict
        One row per candidate, best first: ``rank``, ``k``, ``covariance_type``, the
        criterion value (``criterion``), ``bic``, ``aic``, ``icl``,
        ``log_likelihood`` (mean per row), ``n_parameters``, ``converged``,
        ``n_iter``, ``spurious`` (the kept fit is a spurious optimum; ranked after the
        sound ones), ``warm_start`` (the kept fit started from ``k - 1``'s model with
        one component split, not from ``init_params``), ``error``. A DataFrame when
        pandas is installed.
    best : GaussianMixture
        The best candidate, fitted.

    Examples
    --------
    >>> import numpy as np, gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(8, 1, (200, 2))])
    >>> table, best = gaussmix.select(X, k=range(1, 5), covariance_types=["full"], random_state=0)
    >>> best.n_components
    2
    """
    holder = GaussianMixture()  # receives n_features_in_ / feature_names_in_
    Xc, in_dtype = validate_X(holder, X, reset=True, dtype=dtype)
    w = check_sample_weight(sample_weight, Xc.shape[0])
    ks = [int(v) for v in k]
    kinds = [str(t) for t in covariance_types]
    if init_params not in _INIT_TO_LIBRARY:
        raise ValueError(
            f"init_params must be one of {sorted(_INIT_TO_LIBRARY)}, got {init_params!r}"
        )
    table_json, model = _native.select(
        Xc,
        sample_weight=w,
        ks=ks,
        covariance_types=kinds,
        criterion=criterion,
        tol=float(tol),
        reg_covar=float(reg_covar),
        max_iter=int(max_iter),
        n_init=int(n_init),
        init=_INIT_TO_LIBRARY[init_params],
        seed=random_seed(random_state),
        n_threads=n_threads,
        recover=bool(recover),
        variance_floor=variance_floor,
    )
    rows = []
    for rank, c in enumerate(json.loads(table_json), start=1):
        rows.append(
            {
                "rank": rank,
                "k": c["k"],
                "covariance_type": c["covariance_type"],
                "criterion": c["criterion_value"],
                "bic": c["bic"],
                "aic": c["aic"],
                "icl": c["icl"],
                "log_likelihood": c["log_likelihood"],
                "n_parameters": c["n_parameters"],
                "converged": c["converged"],
                "n_iter": c["n_iter"],
                "spurious": c.get("spurious", False),
                "warm_start": c.get("warm_start", False),
                "error": c["error"],
            }
        )
    record = json.loads(model.record_json) if model.record_json else None
    names = getattr(holder, "feature_names_in_", None)
    best = _estimator_from_model(
        model,
        record,
        None if names is None else list(names),
        init_params=init_params,
        random_state=random_state,
        dtype=dtype,
    )
    best._set_model(model, in_dtype)
    # The winner's warnings, as fit() raises them: a winner that did not converge
    # (its criterion is not final, so the ranking may change) and degenerate components.
    fit_warnings = []
    for kind, component, feature, message in model.warnings:
        fit_warnings.append(dict(kind=kind, component=component, feature=feature, message=message))
        if kind == "not_converged":
            warnings.warn(
                "the selected model did not converge, so its criterion is not final and the "
                f"ranking may change; increase max_iter or loosen tol ({message})",
                ConvergenceWarning,
                stacklevel=2,
            )
        else:
            warnings.warn(message, DegenerateWarning, stacklevel=2)
    best.fit_warnings_ = fit_warnings
    table: Any = rows
    if HAVE_PANDAS:
        import pandas as pd

        table = pd.DataFrame(rows, columns=list(rows[0].keys()) if rows else None)
    return table, best
