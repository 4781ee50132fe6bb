"""Optional dependencies: scikit-learn's base classes and exceptions when it is
installed, minimal stand-ins with the same names and behaviour otherwise."""

from __future__ import annotations

import inspect
from typing import Any, Dict

try:  # pragma: no cover - exercised by whichever environment runs the tests
    import sklearn  # noqa: F401
    from sklearn.base import BaseEstimator as _SkBaseEstimator
    from sklearn.base import DensityMixin as _SkDensityMixin
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
    from sklearn.utils.validation import check_is_fitted as _sk_check_is_fitted
    from sklearn.utils.validation import validate_data as _sk_validate_data

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover
    HAVE_SKLEARN = False
    _SkBaseEstimator = None
    _SkDensityMixin = None
    _sk_check_is_fitted = None
    _sk_validate_data = None

    class ConvergenceWarning(UserWarning):
        """Warning raised when EM did not converge (scikit-learn's name; scikit-learn's
        own class is used when scikit-learn is installed)."""

    class NotFittedError(ValueError, AttributeError):
        """Raised when an estimator is used before it is fitted (scikit-learn's name;
        scikit-learn's own class is used when scikit-learn is installed)."""


class DegenerateWarning(UserWarning):
    """Warning raised by ``fit`` when the fitted mixture is usable but degenerate or
    badly scaled: an empty or collapsed component, a ``reg_covar`` too large for the
    data's scale, a constant feature, or more free parameters than rows. The message
    says what, where and what to do; ``fit_warnings_`` holds them all as data."""


try:  # pragma: no cover
    import pandas as _pd  # noqa: F401

    HAVE_PANDAS = True
except ImportError:  # pragma: no cover
    HAVE_PANDAS = False


class _ParamsBase:
    """get_params / set_params / repr with scikit-learn's conventions, used when
    scikit-learn is not installed."""

    @classmethod
    def _get_param_names(cls) -> list:
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind != p.VAR_KEYWORD
        )

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators (there are none).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> "_ParamsBase":
        """Set the parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {self}. "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        changed = []
        for name in self._get_param_names():
            default = sig.parameters[name].default
            value = getattr(self, name)
            same = value is default
            if not same:
                try:
                    same = bool(value == default)
                except Exception:  # arrays compare element-wise
                    same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


if HAVE_SKLEARN:
    BASES: tuple = (_SkDensityMixin, _SkBaseEstimator)
else:
    BASES = (_ParamsBase,)
