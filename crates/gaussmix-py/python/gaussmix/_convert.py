"""Model files and conversion to and from scikit-learn."""

from __future__ import annotations

import json
import math
import os
from typing import Any, List, Optional, Union

import numpy as np

from . import _native
from ._estimator import GaussianMixture

# Options of the CLI/library fit record that map onto estimator parameters.
_INIT_FROM_LIBRARY = {
    "kmeans": "kmeans",
    "kmeans++": "k-means++",
    "random": "random",
    "random-from-data": "random_from_data",
}


def _estimator_from_model(
    model: Any, record: Optional[dict], feature_names: Optional[list], **params: Any
) -> GaussianMixture:
    """A fitted estimator around an engine model."""
    opts = (record or {}).get("options", {})
    kw: dict = dict(n_components=model.n_components, covariance_type=model.covariance_type)
    for name in ("tol", "reg_covar", "max_iter", "n_init", "recover"):
        if name in opts:
            kw[name] = opts[name]
    if opts.get("variance_floor") is not None:
        kw["variance_floor"] = opts["variance_floor"]
    if "step_exponent" in opts:
        kw["step_exponent"] = opts["step_exponent"]
    if opts.get("average_from") is not None:
        kw["average_from"] = opts["average_from"]
    if opts.get("n_threads") is not None:
        kw["n_threads"] = opts["n_threads"]
    if opts.get("init") in _INIT_FROM_LIBRARY:
        kw["init_params"] = _INIT_FROM_LIBRARY[opts["init"]]
    kw.update(params)
    est = GaussianMixture(**kw)
    est._set_model(model, np.float64)
    if record:
        est.converged_ = bool(record.get("converged", False))
        est.n_iter_ = int(record.get("n_iter", 0))
        est.lower_bound_ = float(record.get("lower_bound", -math.inf))
        est.lower_bounds_ = [float(v) for v in record.get("lower_bounds", [])]
        est.fit_warnings_ = [
            dict(
                kind=w.get("kind"),
                component=w.get("component"),
                feature=w.get("feature"),
                message=w.get("message", ""),
            )
            for w in record.get("warnings", [])
        ]
    else:
        est.converged_ = False
        est.n_iter_ = 0
        est.lower_bound_ = -math.inf
        est.lower_bounds_ = []
        est.fit_warnings_ = []
    est.n_features_in_ = model.n_features
    if model.online_batches is not None:
        est.n_batches_ = int(model.online_batches)
    if feature_names is not None:
        if len(feature_names) != model.n_features:
            raise ValueError(
                f"the model file names {len(feature_names)} features but has "
                f"{model.n_features}"
            )
        est.feature_names_in_ = np.asarray(feature_names, dtype=object)
    return est


def load(path: Union[str, "os.PathLike[str]"]) -> GaussianMixture:
    """Read a gaussmix JSON model file (written by :meth:`GaussianMixture.save` or
    by ``gaussmix fit -o``) as a fitted :class:`GaussianMixture`.

    Everything is validated before use (known format version, shapes, finite numbers,
    weights summing to 1, positive definite covariances).

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    model : GaussianMixture
        Fitted: parameters, the fit's record (``converged_``, ``n_iter_``,
        ``lower_bound_``, ``lower_bounds_``) when the file has one, the options it was
        fitted with, and ``feature_names_in_`` when the file names its features.

    Raises
    ------
    ValueError
        The file is not a valid model (the message says what is wrong).
    """
    with open(os.fspath(path), encoding="utf-8") as f:
        text = f.read()
    model = _native.Model.from_json(text)
    doc = json.loads(text)
    # The engine validated the names (version 2; a version-1 file's extra field is
    # kept only when valid).
    return _estimator_from_model(model, doc.get("fit"), model.feature_names)


def to_sklearn(est: GaussianMixture) -> Any:
    """A fitted ``sklearn.mixture.GaussianMixture`` with ``est``'s parameters."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    sk_params = SkGaussianMixture().get_params()
    params = {k: v for k, v in est.get_params().items() if k in sk_params}
    sk = SkGaussianMixture(**params)
    for name in (
        "weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
        "converged_", "n_iter_", "lower_bound_", "n_features_in_", "feature_names_in_",
    ):
        if hasattr(est, name):
            value = getattr(est, name)
            setattr(sk, name, value.copy() if isinstance(value, np.ndarray) else value)
    sk.lower_bounds_ = list(est.lower_bounds_)
    return sk


def from_sklearn(model: Any, **params: Any) -> GaussianMixture:
    """A fitted :class:`GaussianMixture` from a fitted
    ``sklearn.mixture.GaussianMixture`` (its parameters, attributes and constructor
    parameters; ``params`` override or add gaussmix's own, e.g. ``n_threads``).

    Parameters
    ----------
    model : sklearn.mixture.GaussianMixture
        A fitted scikit-learn mixture.
    **params
        Extra constructor parameters for the gaussmix estimator.

    Returns
    -------
    gm : GaussianMixture
        The same mixture, computed by gaussmix from now on.

    Raises
    ------
    ValueError
        ``model`` is not fitted, or its parameters are not a valid mixture.
    """
    for name in ("weights_", "means_", "covariances_"):
        if not hasattr(model, name):
            raise ValueError(f"{type(model).__name__} is not fitted: it has no {name}")
    kind = model.covariance_type
    weights = np.asarray(model.weights_, dtype=np.float64)
    # scikit-learn's M-step weights sum to 1 only up to rounding: renormalise exactly.
    weights = weights / weights.sum()
    native = _native.Model.from_parameters(
        kind,
        np.ascontiguousarray(weights),
        np.ascontiguousarray(model.means_, dtype=np.float64),
        np.ascontiguousarray(model.covariances_, dtype=np.float64),
    )
    kw = {k: v for k, v in model.get_params().items() if k in GaussianMixture().get_params()}
    kw.update(params)
    est = GaussianMixture(**kw)
    out = np.asarray(model.means_).dtype
    est._set_model(native, out if out in (np.float32, np.float64) else np.float64)
    est.converged_ = bool(getattr(model, "converged_", False))
    est.n_iter_ = int(getattr(model, "n_iter_", 0))
    est.lower_bound_ = float(getattr(model, "lower_bound_", -math.inf))
    est.lower_bounds_ = [float(v) for v in getattr(model, "lower_bounds_", [])]
    est.n_features_in_ = int(getattr(model, "n_features_in_", native.n_features))
    if hasattr(model, "feature_names_in_"):
        est.feature_names_in_ = np.asarray(model.feature_names_in_, dtype=object)
    return est


def spurious_components(model: Any, X: Any, sample_weight: Any = None) -> List[int]:
    """The components that make a fitted mixture a *spurious optimum* on ``X``.

    A component is spurious when it holds less mass than its covariance needs
    (``n_features + 1`` average rows for ``'full'``, 2 for ``'diag'`` and
    ``'spherical'``) or when its variance above ``reg_covar`` collapsed to at most
    1e-10 of the data's along some direction: a likelihood spike on a few
    (near-)identical rows, not a better model. It is the rule gaussmix's restarts use
    to keep such runs from winning; here it can judge any fit, including a
    scikit-learn one.

    Parameters
    ----------
    model : GaussianMixture or sklearn.mixture.GaussianMixture
        A fitted mixture (its ``reg_covar`` is what the fit added to every
        covariance).
    X : array-like of shape (n_samples, n_features)
        The data it was fitted to.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-row weights of the fit.

    Returns
    -------
    components : list of int
        The spurious components, ascending; empty for a sound fit.

    Examples
    --------
    >>> import numpy as np, gaussmix
    >>> X = np.r_[np.linspace(0, 2, 40), [7.0]][:, None]
    >>> m = gaussmix.GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    >>> gaussmix.spurious_components(m, X)
    [1]
    """
    if isinstance(model, GaussianMixture):
        from ._validation import check_is_fitted

        check_is_fitted(model)
        native = model._model
    else:
        for name in ("weights_", "means_", "covariances_"):
            if not hasattr(model, name):
                raise ValueError(f"{type(model).__name__} is not fitted: it has no {name}")
        weights = np.asarray(model.weights_, dtype=np.float64)
        native = _native.Model.from_parameters(
            model.covariance_type,
            np.ascontiguousarray(weights / weights.sum()),
            np.ascontiguousarray(model.means_, dtype=np.float64),
            np.ascontiguousarray(model.covariances_, dtype=np.float64),
        )
    Xc = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    if Xc.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {Xc.shape}")
    w = None
    if sample_weight is not None:
        w = np.ascontiguousarray(np.asarray(sample_weight, dtype=np.float64).ravel())
    return list(native.spurious_components(Xc, float(model.reg_covar), w))
