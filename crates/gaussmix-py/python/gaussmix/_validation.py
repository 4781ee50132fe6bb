"""Input checks: scikit-learn's ``validate_data`` when scikit-learn is installed (same
messages, feature-name handling and ``n_features_in_`` bookkeeping), an equivalent
subset otherwise."""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional, Tuple

import numpy as np

from ._compat import HAVE_SKLEARN, NotFittedError, _sk_check_is_fitted, _sk_validate_data

FLOATS = (np.float64, np.float32)


def check_is_fitted(est: Any) -> None:
    """Raises ``NotFittedError`` when ``est`` has not been fitted."""
    if HAVE_SKLEARN:
        _sk_check_is_fitted(est)
    elif not est.__sklearn_is_fitted__():
        raise NotFittedError(
            f"This {type(est).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


def _feature_names(X: Any) -> Optional[np.ndarray]:
    cols = getattr(X, "columns", None)
    if cols is None or not hasattr(X, "iloc"):
        return None
    names = np.asarray(list(cols), dtype=object)
    if len(names) and all(isinstance(c, str) for c in names):
        return names
    return None


def _own_check_array(X: Any, min_samples: int) -> np.ndarray:
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            "Sparse data was passed, but dense data is required. Use '.toarray()' to "
            "convert to a dense numpy array."
        )
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported\n{}\n".format(arr))
    if arr.dtype not in FLOATS:
        arr = arr.astype(np.float64)
    if arr.ndim == 0:
        raise ValueError(
            f"Expected 2D array, got scalar array instead:\narray={X!r}.\nReshape your "
            "data either using array.reshape(-1, 1) if your data has a single feature "
            "or array.reshape(1, -1) if it contains a single sample."
        )
    if arr.ndim == 1:
        raise ValueError(
            f"Expected 2D array, got 1D array instead:\narray={arr!r}.\nReshape your "
            "data either using array.reshape(-1, 1) if your data has a single feature "
            "or array.reshape(1, -1) if it contains a single sample."
        )
    if arr.ndim > 2:
        raise ValueError(f"Found array with dim {arr.ndim}. Expected <= 2.")
    n, d = arr.shape
    if n < min_samples:
        raise ValueError(
            f"Found array with {n} sample(s) (shape={arr.shape}) while a minimum of "
            f"{min_samples} is required."
        )
    if d < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 "
            "is required."
        )
    if not np.isfinite(arr.sum()):
        if np.isnan(arr).any():
            raise ValueError("Input X contains NaN.")
        raise ValueError(f"Input X contains infinity or a value too large for {arr.dtype!r}.")
    return np.ascontiguousarray(arr)


def validate_X(est: Any, X: Any, *, reset: bool, dtype: Optional[str]) -> Tuple[np.ndarray, np.dtype]:
    """Returns the data as a C-contiguous float64 or float32 array (no copy when it
    already is one, one conversion otherwise) and the input's float dtype.

    With ``reset=True`` (fit) it records ``n_features_in_`` and ``feature_names_in_``;
    otherwise it checks them."""
    if HAVE_SKLEARN:
        arr = _sk_validate_data(
            est,
            X,
            reset=reset,
            dtype=list(FLOATS),
            order="C",
            ensure_min_samples=2 if reset else 1,
        )
    else:
        names = _feature_names(X)
        arr = _own_check_array(X, 2 if reset else 1)
        check_features(est, names, arr.shape[1], reset=reset, warn=False)
    in_dtype = arr.dtype
    if dtype is not None and arr.dtype != np.dtype(dtype):
        arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr, in_dtype


def check_features(est: Any, names: Any, d: int, *, reset: bool, warn: bool) -> None:
    """Records (``reset``) or checks ``n_features_in_`` and ``feature_names_in_`` as
    scikit-learn does; ``warn``: its warnings when names appear or disappear."""
    if reset:
        est.n_features_in_ = d
        if names is not None:
            est.feature_names_in_ = names
        elif hasattr(est, "feature_names_in_"):
            del est.feature_names_in_
        return
    fitted = getattr(est, "feature_names_in_", None)
    if fitted is not None and names is not None and (
        len(fitted) != len(names) or np.any(fitted != names)
    ):
        raise ValueError("The feature names should match those that were passed during fit.")
    name = type(est).__name__
    if warn and fitted is not None and names is None:
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with feature names",
            UserWarning, stacklevel=5,
        )
    if warn and fitted is None and names is not None:
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names",
            UserWarning, stacklevel=5,
        )
    if d != est.n_features_in_:
        raise ValueError(
            f"X has {d} features, but {name} is expecting {est.n_features_in_} features as input."
        )


def check_sample_weight(sample_weight: Any, n: int) -> Optional[np.ndarray]:
    """float64, 1-D, one per row (a scalar is broadcast); ``None`` stays ``None``."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        return np.full(n, float(sample_weight))
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array instead."
        )
    if w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if not np.all(np.isfinite(w)):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if np.any(w < 0):
        raise ValueError("Negative values in data passed to `sample_weight`")
    return np.ascontiguousarray(w)


def random_seed(random_state: Any) -> int:
    """A 64-bit seed for the engine from scikit-learn's ``random_state`` conventions:
    an int gives the same seed every time, ``None`` draws from numpy's global
    generator, a ``RandomState`` (or ``Generator``) draws from it (advancing it)."""
    if random_state is None or random_state is np.random:
        rs: Any = np.random.mtrand._rand
    elif isinstance(random_state, (numbers.Integral, np.integer)):
        if isinstance(random_state, bool):
            raise ValueError(f"{random_state!r} cannot be used to seed a numpy.random.RandomState instance")
        return int(random_state) & 0xFFFF_FFFF_FFFF_FFFF
    elif isinstance(random_state, np.random.RandomState):
        rs = random_state
    elif isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    else:
        raise ValueError(
            f"{random_state!r} cannot be used to seed a numpy.random.RandomState instance"
        )
    hi = int(rs.randint(0, 2**31 - 1))
    lo = int(rs.randint(0, 2**31 - 1))
    return (hi << 31) | lo


def run_seed(base: int, run: int) -> int:
    """Independent seeds for the restarts of one fit."""
    ss = np.random.SeedSequence([base & 0xFFFF_FFFF, base >> 32, run])
    a, b = ss.generate_state(2, dtype=np.uint32)
    return (int(a) << 32) | int(b)


def warn_once(message: str, category: type) -> None:
    warnings.warn(message, category, stacklevel=3)
