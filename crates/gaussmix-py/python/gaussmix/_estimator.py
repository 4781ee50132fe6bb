"""``gaussmix.GaussianMixture``: scikit-learn's estimator, computed by the Rust engine."""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
import time
import warnings
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from . import _init, _native
from ._compat import BASES, ConvergenceWarning, DegenerateWarning
from ._validation import (
    check_is_fitted,
    check_sample_weight,
    random_seed,
    run_seed,
    validate_X,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
DTYPES = ("float64", "float32")

_NOT_CONVERGED = (
    "Best performing initialization did not converge. Try different init parameters, "
    "or increase max_iter, tol, or check for degenerate data."
)


def _param_error(name: str, expected: str, value: Any) -> ValueError:
    return ValueError(
        f"The {name!r} parameter of GaussianMixture must be {expected}. "
        f"Got {value!r} instead."
    )


def _is_int(v: Any) -> bool:
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, bool)


class GaussianMixture(*BASES):  # type: ignore[misc]
    """Gaussian mixture model fitted by expectation-maximisation, with
    scikit-learn's interface and semantics and the gaussmix Rust engine underneath.

    A drop-in for :class:`sklearn.mixture.GaussianMixture`: same parameters, defaults,
    attributes, methods, warnings and exceptions; from the same start it gives
    scikit-learn's answers (to ~1e-10). EM runs in Rust with the GIL released, on all
    cores, one pass over the data per iteration and no ``N×K`` matrix.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Each component has its own general covariance matrix ('full'), all share one
        ('tied'), each has its own diagonal ('diag') or single variance ('spherical').
    tol : float, default=1e-3
        EM stops when the mean log-likelihood changes by less than this.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of the covariances.
    max_iter : int, default=100
        EM iterations per initialisation (0: keep the initial parameters).
    n_init : int, default=1
        Number of initialisations; each is a complete EM run and the run with the
        largest final lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How starting responsibilities are chosen, as in scikit-learn: 'kmeans' labels
        from k-means; 'k-means++' and 'random_from_data' give responsibility 1 to the
        chosen rows only; 'random' draws uniform responsibilities. The random draws come
        from gaussmix's own generator (ChaCha8): the same distributions as
        scikit-learn's, not numpy's random stream, so a given ``random_state`` does not
        reproduce scikit-learn's draws.
    weights_init : array-like of shape (n_components,), default=None
        Starting weights; if None, estimated from the ``init_params`` responsibilities.
    means_init : array-like of shape (n_components, n_features), default=None
        Starting means; if None, estimated from the ``init_params`` responsibilities.
        When only some starting parameters are given, the others are estimated from
        the responsibilities exactly as scikit-learn does (the given ones override).
    precisions_init : array-like, default=None
        Starting precisions (inverse covariances) in per-type shape: full
        ``(n_components, n_features, n_features)``, tied ``(n_features, n_features)``,
        diag ``(n_components, n_features)``, spherical ``(n_components,)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and :meth:`sample`. An int gives the same results on
        every call.
    warm_start : bool, default=False
        If True, each fit after the first starts from the previous solution (one
        run, ``n_init`` ignored), as in scikit-learn.
    verbose : int, default=0
        1 prints each initialisation and iteration, 2 also the time and the change of
        the lower bound.
    verbose_interval : int, default=10
        Iterations between two printed lines.
    n_threads : int or None, default=None
        Threads for the engine (None: all cores). Results do not depend on it.
    dtype : {'float64', 'float32'} or None, default=None
        The precision the data are used in. None keeps the input's: float32 input stays
        float32 (half the memory, f32 kernels), anything else is float64. 'float32'
        converts float64 input once. Fitted arrays come back in the input's dtype.
    recover : bool, default=False
        Re-seed a component that loses its mass or whose covariance collapses, instead
        of failing; each event is reported as a ``UserWarning``.
    step_exponent : float, default=0.6
        :meth:`partial_fit` (online EM): ``κ`` of the step sizes ``(t + 2) ** -κ``, in
        (0.5, 1]; smaller forgets the start faster.
    average_from : int or None, default=None
        :meth:`partial_fit`: from this update on, the parameters come from the average
        of the running statistics (Polyak–Ruppert); e.g. the number of batches in one
        pass, to average over the later passes.
    variance_floor : float or None, default=None
        Clamp every variance to at least this value (off by default).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixture weights.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray
        Covariances in per-type shape (see ``precisions_init``).
    precisions_ : ndarray
        Inverse covariances in per-type shape.
    precisions_cholesky_ : ndarray
        Cholesky factors of the precisions in per-type shape (upper triangular ``U``
        with precision ``U Uᵀ`` for full and tied).
    converged_ : bool
        Whether the kept run converged.
    n_iter_ : int
        EM iterations of the kept run.
    lower_bound_ : float
        Mean log-likelihood at the start of the kept run's last iteration.
    lower_bounds_ : list of float
        The lower bound at every iteration of the kept run.
    fit_warnings_ : list of dict
        The fit's warnings as data (``kind``, ``component``, ``feature``,
        ``message``; 0-based indices, ``None`` when not about one): ``not_converged``
        (also raised as ``ConvergenceWarning``), and ``empty_component``,
        ``collapsed_variance``, ``reg_covar_large``, ``too_many_parameters``,
        ``constant_feature`` (each raised as :class:`gaussmix.DegenerateWarning`).
        Empty for an ordinary fit.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit, when X was a DataFrame with string column names.

    See Also
    --------
    gaussmix.select : choose the number of components and the covariance type.
    gaussmix.load : read a model file written by :meth:`save` or the CLI.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> sorted(gm.means_[:, 0].round(3).tolist())
    [1.0, 10.0]
    >>> bool(gm.predict([[0, 0]])[0] != gm.predict([[12, 3]])[0])
    True
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        n_threads: Optional[int] = None,
        dtype: Optional[str] = None,
        recover: bool = False,
        variance_floor: Optional[float] = None,
        step_exponent: float = 0.6,
        average_from: Optional[int] = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads
        self.dtype = dtype
        self.recover = recover
        self.variance_floor = variance_floor
        self.step_exponent = step_exponent
        self.average_from = average_from

    # ------------------------------------------------------------------ checks

    def _check_params(self) -> None:
        if not (_is_int(self.n_components) and self.n_components >= 1):
            raise _param_error("n_components", "an int in the range [1, inf)", self.n_components)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise _param_error(
                "covariance_type", f"a str among {set(COVARIANCE_TYPES)}", self.covariance_type
            )
        for name in ("tol", "reg_covar"):
            v = getattr(self, name)
            if not (_is_real(v) and v >= 0 and math.isfinite(v)):
                raise _param_error(name, "a float in the range [0.0, inf)", v)
        if not (_is_int(self.max_iter) and self.max_iter >= 0):
            raise _param_error("max_iter", "an int in the range [0, inf)", self.max_iter)
        if not (_is_int(self.n_init) and self.n_init >= 1):
            raise _param_error("n_init", "an int in the range [1, inf)", self.n_init)
        if self.init_params not in INIT_PARAMS:
            raise _param_error("init_params", f"a str among {set(INIT_PARAMS)}", self.init_params)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise _param_error("warm_start", "an instance of 'bool'", self.warm_start)
        if not (_is_int(self.verbose) or isinstance(self.verbose, (bool, np.bool_))):
            raise _param_error("verbose", "an int or a bool", self.verbose)
        if not (_is_int(self.verbose_interval) and self.verbose_interval >= 1):
            raise _param_error("verbose_interval", "an int in the range [1, inf)", self.verbose_interval)
        if self.n_threads is not None and not (_is_int(self.n_threads) and self.n_threads >= 1):
            raise _param_error("n_threads", "None or an int in the range [1, inf)", self.n_threads)
        if self.dtype is not None and str(np.dtype(self.dtype)) not in DTYPES:
            raise _param_error("dtype", "None, 'float64' or 'float32'", self.dtype)
        if not isinstance(self.recover, (bool, np.bool_)):
            raise _param_error("recover", "an instance of 'bool'", self.recover)
        v = self.variance_floor
        if v is not None and not (_is_real(v) and v >= 0 and math.isfinite(v)):
            raise _param_error("variance_floor", "None or a float in the range [0.0, inf)", v)
        k = self.step_exponent
        if not (_is_real(k) and 0.5 < k <= 1.0):
            raise _param_error("step_exponent", "a float in the range (0.5, 1.0]", k)
        a = self.average_from
        if a is not None and not (_is_int(a) and a >= 1):
            raise _param_error("average_from", "None or an int in the range [1, inf)", a)

    def _compute_dtype(self) -> Optional[str]:
        return None if self.dtype is None else str(np.dtype(self.dtype))

    def _checked_inits(
        self, n_features: int
    ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]:
        """weights_init, means_init, precisions_init validated as scikit-learn does
        (shapes, ranges, normalisation, positive definiteness), as float64."""
        k = self.n_components
        w = m = p = None

        def arr(v: Any, name: str) -> np.ndarray:
            a = np.asarray(v)
            if a.dtype.kind not in "fiu":
                raise ValueError(f"The parameter '{name}' must be numeric, got dtype {a.dtype}")
            return np.ascontiguousarray(a, dtype=np.float64)

        def shape(a: np.ndarray, expected: tuple, name: str) -> None:
            if a.shape != expected:
                raise ValueError(
                    f"The parameter '{name}' should have the shape of {expected}, "
                    f"but got {a.shape}"
                )

        if self.weights_init is not None:
            raw = np.asarray(self.weights_init)
            w = arr(self.weights_init, "weights")
            shape(w, (k,), "weights")
            if np.any(w < 0.0) or np.any(w > 1.0):
                raise ValueError(
                    "The parameter 'weights' should be in the range [0, 1], but got "
                    f"max value {w.min():.5f}, min value {w.max():.5f}"
                )
            atol = 1e-6 if raw.dtype == np.float32 else 1e-8
            if not np.allclose(abs(1.0 - w.sum()), 0.0, atol=atol):
                raise ValueError(
                    "The parameter 'weights' should be normalized, but got "
                    f"sum(weights) = {w.sum():.5f}"
                )
        if self.means_init is not None:
            m = arr(self.means_init, "means")
            shape(m, (k, n_features), "means")
        if self.precisions_init is not None:
            kind = self.covariance_type
            p = arr(self.precisions_init, f"{kind} precision")
            expected = {
                "full": (k, n_features, n_features),
                "tied": (n_features, n_features),
                "diag": (k, n_features),
                "spherical": (k,),
            }[kind]
            shape(p, expected, f"{kind} precision")
            if kind in ("full", "tied"):
                for mat in p.reshape(-1, n_features, n_features):
                    if not (
                        np.allclose(mat, mat.T) and np.all(np.linalg.eigvalsh(mat) > 0.0)
                    ):
                        raise ValueError(
                            f"'{kind} precision' should be symmetric, positive-definite"
                        )
            elif np.any(p <= 0.0):
                raise ValueError(f"'{kind} precision' should be positive")
        return w, m, p

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "GaussianMixture":
        """Estimate the parameters with the EM algorithm.

        Runs ``n_init`` complete EM runs (one with ``warm_start`` after the first
        fit) and keeps the run with the largest final lower bound. A
        ``ConvergenceWarning`` is issued when that run did not converge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows. C-contiguous float64 or float32 arrays are used without a
            copy; anything else is converted once.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; a row of weight 3 counts as three rows.

        Returns
        -------
        self : GaussianMixture
            The fitted mixture.
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit the model and return the most likely component of every row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels (int64), equal to ``fit(X).predict(X)``.
        """
        Xc = self._fit(X, sample_weight)
        return self._model.predict(Xc)

    def _fit(self, X: Any, sample_weight: Any) -> np.ndarray:
        self._check_params()
        # A new fit ends any online fit.
        self.__dict__.pop("n_batches_", None)
        Xc, in_dtype = validate_X(self, X, reset=True, dtype=self._compute_dtype())
        n, d = Xc.shape
        if n < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {n}"
            )
        w = check_sample_weight(sample_weight, n)
        inits = self._checked_inits(d)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        base = random_seed(self.random_state)

        best = None
        max_lower_bound = -math.inf
        failures: List[str] = []
        first_error: Optional[BaseException] = None
        for run in range(n_init):
            seed = run_seed(base, run)
            self._verbose_init_begin(run)
            if do_init:
                start = _init.initial_parameters(self, Xc, w, seed, *inits)
                prev_lb = -math.inf
            else:
                prev = self._model
                start = dict(
                    weights_init=prev.weights, means_init=prev.means,
                    covariances_init=prev.covariances,
                )
                prev_lb = float(self.lower_bound_)
            try:
                result = self._run(Xc, w, seed, start, prev_lb)
            except _native.RunFailed as e:
                failures.append(f"initialization {run}: {e}")
                first_error = first_error or e
                continue
            model, lower_bound, lbs, n_iter, converged = result
            self._verbose_init_end(lower_bound, converged)
            if lower_bound > max_lower_bound or max_lower_bound == -math.inf:
                max_lower_bound = lower_bound
                best = (model, lbs, n_iter, converged)
        if best is None:
            assert first_error is not None
            raise ValueError(str(first_error)) from first_error
        for f in failures:
            warnings.warn(
                f"{f}; the other initializations were kept", UserWarning, stacklevel=3
            )
        model, lbs, n_iter, converged = best
        self.converged_ = bool(converged)
        if not converged and self.max_iter > 0:
            warnings.warn(_NOT_CONVERGED, ConvergenceWarning, stacklevel=3)
        # The engine's warnings as data; convergence is the estimator's own view (a run
        # may be assembled from several engine calls), so the engine's not_converged
        # entry is replaced by it.
        fit_warnings = []
        if not converged and self.max_iter > 0:
            fit_warnings.append(
                dict(kind="not_converged", component=None, feature=None, message=_NOT_CONVERGED)
            )
        for kind, component, feature, message in model.warnings:
            if kind == "not_converged":
                continue
            fit_warnings.append(
                dict(kind=kind, component=component, feature=feature, message=message)
            )
            warnings.warn(message, DegenerateWarning, stacklevel=3)
        self.fit_warnings_ = fit_warnings
        record = json.loads(model.record_json) if model.record_json else {}
        for r in record.get("recoveries", []):
            if r.get("row") is None:
                msg = f"recover: component {r['component']} at initialization: {r['reason']}"
            else:
                msg = (
                    f"recover: component {r['component']} was re-seeded on row {r['row']} "
                    f"after EM iteration {r['iteration']}: {r['reason']}"
                )
            warnings.warn(msg, UserWarning, stacklevel=3)
        self._set_model(model, in_dtype)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        self.lower_bound_ = float(max_lower_bound)
        self.lower_bounds_ = list(lbs)
        return Xc

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "GaussianMixture":
        """One batch of online (stepwise) EM (Cappé & Moulines 2009).

        scikit-learn's ``GaussianMixture`` has no ``partial_fit``. Here the first call
        fits its batch as :meth:`fit` does (an already fitted estimator starts from its
        parameters instead), and that batch's statistics start running averages; every
        call then blends its batch's E-step statistics into them with step
        ``(t + 2) ** -step_exponent`` and sets the parameters to their M-step. With
        ``average_from``, the parameters come from the average of the running
        statistics from that update on (less noise on a stationary stream). The same
        batches in the same order give the same model, for any ``n_threads``; the
        running statistics are saved by :meth:`save`, so a saved model continues.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch of rows (any number of rows; at least ``n_components`` in the
            first).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights.

        Returns
        -------
        self : GaussianMixture
            ``lower_bound_`` is the batch's mean log-likelihood under the parameters
            before the update; ``n_batches_`` counts the batches seen.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> gm = GaussianMixture(2, random_state=0)
        >>> for _ in range(20):
        ...     X = np.r_[rng.normal(0, 1, (250, 1)), rng.normal(8, 1, (250, 1))]
        ...     gm = gm.partial_fit(X)
        >>> sorted(gm.means_[:, 0].round(0).tolist())
        [0.0, 8.0]
        >>> gm.n_batches_
        20
        """
        self._check_params()
        if not hasattr(self, "_model"):
            Xc = self._fit(X, sample_weight)
            in_dtype = self.means_.dtype
        else:
            m = self._model
            if (m.n_components, m.covariance_type) != (self.n_components, self.covariance_type):
                raise ValueError(
                    f"n_components / covariance_type are {self.n_components} / "
                    f"{self.covariance_type!r} but the model being fitted online has "
                    f"{m.n_components} / {m.covariance_type!r}; call fit() (or use a new "
                    "estimator) to start again with the new parameters"
                )
            Xc, in_dtype = self._data(X)
        w = check_sample_weight(sample_weight, Xc.shape[0])
        fresh = self._model.online_batches is None
        # partial_fit_file's default averaging, decided when its first pass ends.
        pending = self.__dict__.pop("_average_from_next", None)
        average_from = self.average_from if pending is None else pending
        model, ll = self._model.partial_fit(
            Xc,
            sample_weight=w,
            step_exponent=float(self.step_exponent) if (fresh or pending is not None) else None,
            average_from=None if average_from is None else int(average_from),
        )
        self._set_model(model, in_dtype)
        # The estimator's record is the online fit's: passes so far, their mean
        # log-likelihoods; no convergence test (online EM has none); the warm-up fit's
        # warnings described that fit only.
        rec = json.loads(model.record_json)
        self.converged_ = False
        self.n_iter_ = int(rec["n_iter"])
        self.lower_bounds_ = [float(v) for v in rec["lower_bounds"]]
        self.fit_warnings_ = []
        self.lower_bound_ = float(ll)
        self.n_batches_ = int(model.online_batches)
        return self

    def partial_fit_file(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        batch_size: int = 10_000,
        passes: int = 1,
        columns: Optional[List[str]] = None,
        exclude: Optional[List[str]] = None,
        weight_column: Optional[str] = None,
        delimiter: Optional[str] = None,
    ) -> "GaussianMixture":
        """Online EM over a data file read a batch at a time, in bounded memory: CSV/TSV
        (plain, gzip or zstd) a batch of lines at a time, ``.npy`` (either order) by
        position. Each pass calls :meth:`partial_fit` on every batch of ``batch_size``
        rows, then :meth:`end_pass`. As the CLI's ``fit --online``: over several passes,
        unless ``average_from`` is set, the model averages the running statistics from
        the second pass on.

        ``columns`` / ``exclude`` choose columns (header names or 0-based indices, as
        strings), ``weight_column`` names a column of row weights. Feature names are not
        taken from the header (batches are numpy arrays). Returns self.

        Online EM assumes the rows come in no particular order: a file sorted by
        cluster (all of one, then all of another) misleads its first batches, and a
        shuffled copy fits far better.

        Examples
        --------
        >>> import numpy as np, os, tempfile
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(1)
        >>> X = rng.permutation(np.r_[rng.normal(0, 1, (3000, 2)), rng.normal(9, 1, (3000, 2))])
        >>> path = os.path.join(tempfile.mkdtemp(), "x.npy"); np.save(path, X)
        >>> gm = GaussianMixture(2, random_state=0).partial_fit_file(path, batch_size=1000, passes=2)
        >>> sorted(gm.means_[:, 0].round(0).tolist()), gm.n_iter_
        ([0.0, 9.0], 2)
        """
        if not (_is_int(batch_size) and batch_size >= 1):
            raise _param_error("batch_size", "an int in the range [1, inf)", batch_size)
        if not (_is_int(passes) and passes >= 1):
            raise _param_error("passes", "an int in the range [1, inf)", passes)
        for p in range(passes):
            batches = _native.Batches(
                os.fspath(path),
                int(batch_size),
                columns=None if columns is None else [str(c) for c in columns],
                exclude=None if exclude is None else [str(c) for c in exclude],
                weight_column=None if weight_column is None else str(weight_column),
                delimiter=delimiter,
            )
            for X, w in batches:
                if X.shape[0] > 0:
                    self.partial_fit(X, sample_weight=w)
            if p == 0 and passes > 1 and self.average_from is None and hasattr(self, "n_batches_"):
                self._average_from_next = self.n_batches_
            self.end_pass()
        if not hasattr(self, "_model"):
            raise ValueError(f"{os.fspath(path)}: no rows to fit")
        return self

    def end_pass(self) -> Optional[float]:
        """Ends the pass of :meth:`partial_fit` batches under way (usually one read of
        the data): returns its mean log-likelihood (each batch under the parameters
        before its update) and appends it to ``lower_bounds_``; ``None`` when no batch
        came since the last call."""
        check_is_fitted(self)
        model, ll = self._model.end_pass()
        if ll is None:
            return None
        self._model = model
        rec = json.loads(model.record_json)
        self.lower_bounds_ = [float(v) for v in rec["lower_bounds"]]
        self.n_iter_ = int(rec["n_iter"])
        # The batch fit's warnings, from the model's statistics at the pass's end.
        self.fit_warnings_ = [
            dict(kind=kind, component=component, feature=feature, message=message)
            for kind, component, feature, message in model.warnings
        ]
        for w in self.fit_warnings_:
            warnings.warn(w["message"], DegenerateWarning, stacklevel=2)
        return float(ll)

    def _run(self, X: np.ndarray, w: Optional[np.ndarray], seed: int, start: dict, prev_lb: float):
        """One complete EM run from ``start``; returns the model, its final lower
        bound, the lower bounds, the iteration count and whether it converged."""
        weights = np.asarray(start["weights_init"], dtype=np.float64)
        total = float(weights.sum())
        if abs(total - 1.0) > 1e-9:
            # scikit-learn's 'k-means++' / 'random_from_data' starts have weights
            # n_k / n summing to K/n: the first E-step's responsibilities are those of
            # the normalised weights, its lower bound is ln(sum) lower, and the first
            # M-step normalises. The engine takes normalised weights; the first lower
            # bound (and the convergence test against it) is corrected.
            start = dict(start, weights_init=weights / total)
        if self.max_iter == 0:
            cov = start.get("covariances_init")
            if cov is None:
                cov = _init.covariances_from_precisions(start["precisions_init"], self.covariance_type)
            model = _native.Model.from_parameters(
                self.covariance_type,
                np.asarray(start["weights_init"], dtype=np.float64),
                np.asarray(start["means_init"], dtype=np.float64),
                np.asarray(cov, dtype=np.float64),
            )
            return model, -math.inf, [], 0, False
        if abs(total - 1.0) <= 1e-9:
            model, lbs, n_iter, converged = self._segment(X, w, seed, start, prev_lb, self.max_iter)
            return model, float(lbs[-1]), lbs, n_iter, converged
        first, lbs1, _, _ = self._segment(X, w, seed, start, prev_lb, 1)
        l1 = float(lbs1[0]) + math.log(total)
        if self.max_iter == 1:
            return first, l1, [l1], 1, abs(l1 - prev_lb) < self.tol
        after = dict(
            weights_init=first.weights, means_init=first.means, covariances_init=first.covariances
        )
        model, lbs, n_iter, converged = self._segment(X, w, seed, after, l1, self.max_iter - 1)
        return model, float(lbs[-1]), [l1] + lbs, 1 + n_iter, converged

    def _segment(self, X, w, seed, start, prev_lb, max_iter):
        """Up to ``max_iter`` EM iterations from ``start``; the first iteration's
        lower bound is compared with ``prev_lb`` (the engine compares it with -inf)."""
        model = self._engine_fit(X, w, seed, start, max_iter)
        rec = json.loads(model.record_json)
        lbs = [float(v) for v in rec["lower_bounds"]]
        converged, n_iter = bool(rec["converged"]), int(rec["n_iter"])
        if prev_lb != -math.inf and abs(lbs[0] - prev_lb) < self.tol:
            # A warm start (or a corrected first step) compares its first lower bound
            # with the previous one: scikit-learn stops after one iteration.
            if n_iter != 1:
                model = self._engine_fit(X, w, seed, start, 1)
            lbs, converged, n_iter = lbs[:1], True, 1
        return model, lbs, n_iter, converged

    def _engine_fit(self, X, w, seed, start, max_iter):
        progress = self._verbose_callback() if self.verbose else None
        return _native.fit(
            X,
            feature_names=self._engine_feature_names(),
            sample_weight=w,
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            tol=float(self.tol),
            reg_covar=float(self.reg_covar),
            max_iter=int(max_iter),
            n_init=1,
            seed=seed,
            n_threads=self.n_threads,
            recover=bool(self.recover),
            variance_floor=None if self.variance_floor is None else float(self.variance_floor),
            progress=progress,
            **start,
        )

    def _engine_feature_names(self) -> Optional[List[str]]:
        """``feature_names_in_`` as the engine takes them (unique, non-empty strings),
        so that the fit's warnings and the model file name features; ``None`` when
        there are none or they do not qualify."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return None
        names = [str(s) for s in names]
        if len(set(names)) != len(names) or any(not s for s in names):
            return None
        return names

    def _set_model(self, model: Any, out_dtype: Any) -> None:
        """Fitted attributes from an engine model, in ``out_dtype``."""
        out = np.dtype(out_dtype) if np.dtype(out_dtype) in (np.float32, np.float64) else np.float64
        self._model = model
        self.weights_ = model.weights.astype(out, copy=False)
        self.means_ = model.means.astype(out, copy=False)
        self.covariances_ = model.covariances.astype(out, copy=False)
        pc = model.precisions_cholesky
        self.precisions_cholesky_ = pc.astype(out, copy=False)
        self.precisions_ = _init.precisions_from_cholesky(pc, model.covariance_type).astype(out, copy=False)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_model")

    # ------------------------------------------------------------------ verbose

    def _verbose_init_begin(self, run: int) -> None:
        if self.verbose >= 1:
            print(f"Initialization {run}")
            self._init_prev_time = self._iter_prev_time = time.time()

    def _verbose_callback(self):
        state = {"prev": -math.inf}

        def cb(run: int, iteration: int, lower_bound: float, change: float) -> None:
            diff = lower_bound - state["prev"]
            state["prev"] = lower_bound
            if iteration % self.verbose_interval == 0:
                if self.verbose == 1:
                    print(f"  Iteration {iteration}")
                elif self.verbose >= 2:
                    now = time.time()
                    print(
                        f"  Iteration {iteration}\t time lapse {now - self._iter_prev_time:.5f}s"
                        f"\t ll change {diff:.5f}"
                    )
                    self._iter_prev_time = now

        return cb

    def _verbose_init_end(self, lb: float, converged: bool) -> None:
        msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {msg}.")
        elif self.verbose >= 2:
            t = time.time() - self._init_prev_time
            print(f"Initialization {msg}. time lapse {t:.5f}s\t lower bound {lb:.5f}.")

    # ------------------------------------------------------------------ using

    def _data(self, X: Any) -> Tuple[np.ndarray, Any]:
        check_is_fitted(self)
        return validate_X(self, X, reset=False, dtype=self._compute_dtype())

    def predict(self, X: Any) -> np.ndarray:
        """The most likely component of every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels (int64; lowest index on ties).
        """
        Xc, _ = self._data(X)
        return self._model.predict(Xc)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each component for every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities (rows sum to 1), in the input's float dtype.
        """
        Xc, in_dtype = self._data(X)
        return self._model.predict_proba(Xc).astype(in_dtype, copy=False)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood ``log p(x)`` of every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            Log-likelihood of each row, in the input's float dtype.
        """
        Xc, in_dtype = self._data(X)
        return self._model.score_samples(Xc).astype(in_dtype, copy=False)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood of the rows of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        log_likelihood : float
            Mean of :meth:`score_samples`.
        """
        Xc, _ = self._data(X)
        return float(np.mean(self._model.score_samples(Xc)))

    def _n_parameters(self) -> int:
        """Number of free parameters: ``(K−1) + K·D`` plus the covariance parameters."""
        check_is_fitted(self)
        return int(self._model.n_parameters)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on X: ``−2·n·score + p·ln n``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        bic : float
            The lower the better.
        """
        Xc, _ = self._data(X)
        n = Xc.shape[0]
        score = float(np.mean(self._model.score_samples(Xc)))
        return -2 * score * n + self._n_parameters() * math.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion on X: ``−2·n·score + 2p``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        aic : float
            The lower the better.
        """
        Xc, _ = self._data(X)
        n = Xc.shape[0]
        score = float(np.mean(self._model.score_samples(Xc)))
        return -2 * score * n + 2 * self._n_parameters()

    def sample(self, n_samples: int = 1) -> Tuple[np.ndarray, np.ndarray]:
        """Draw rows from the fitted mixture.

        Draws come from gaussmix's generator, seeded by ``random_state`` (an int gives
        the same draws every call). As in scikit-learn, rows are grouped by component.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The draws (float64).
        y : ndarray of shape (n_samples,)
            The component of each draw (int64), ascending.
        """
        check_is_fitted(self)
        if not _is_int(n_samples) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples} . The sampling requires at "
                "least one sample."
            )
        X, y = self._model.sample(int(n_samples), random_seed(self.random_state))
        order = np.argsort(y, kind="stable")
        return X[order], y[order]

    # ------------------------------------------------------------------ files

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the model as a gaussmix JSON model file (the CLI's format, usable by
        ``gaussmix predict`` / ``score`` / ``sample`` / ``info``).

        The file is written atomically (a temporary file, then a rename).
        ``feature_names_in_`` is stored in the ``feature_names`` field (model file
        version 2), which the Rust library validates and carries and
        :func:`gaussmix.load` reads back; the fit's warnings are in ``fit.warnings``.

        Parameters
        ----------
        path : str or path-like
            Where to write.
        """
        check_is_fitted(self)
        doc = json.loads(self._model.to_json())
        fit = doc.get("fit")
        if fit is not None:
            # The estimator's view of the run (restarts, warm starts and corrected
            # first steps are assembled from several engine calls).
            fit["converged"] = bool(self.converged_)
            fit["n_iter"] = int(self.n_iter_)
            if self.lower_bounds_:
                fit["lower_bounds"] = [float(v) for v in self.lower_bounds_]
                fit["lower_bound"] = float(self.lower_bound_)
            if hasattr(self, "fit_warnings_"):
                fit["warnings"] = [dict(w) for w in self.fit_warnings_]
        # Version 2 validates names on load: only names the engine accepts (unique,
        # non-empty) are written.
        doc["feature_names"] = self._engine_feature_names()
        text = json.dumps(doc, indent=2)
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gaussmix-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def to_sklearn(self) -> Any:
        """The same fitted mixture as a :class:`sklearn.mixture.GaussianMixture`.

        Returns
        -------
        model : sklearn.mixture.GaussianMixture
            Fitted, with the same parameters (scikit-learn's own ones) and attributes.
        """
        check_is_fitted(self)
        from ._convert import to_sklearn

        return to_sklearn(self)
