"""``gaussmix.dask``: Gaussian mixtures fitted by EM on a Dask cluster.

EM's sufficient statistics are sums over rows, so every iteration is one map over the
data's blocks and one tree-reduce: each worker computes its blocks' statistics with
the Rust engine (GIL released) — counts, first and second moments about a shift near
each component, the log-likelihood: ``O(K·D²)`` numbers per block, whatever its rows —
the statistics are merged in block order (deterministic; a retried or recomputed task
gives the same block statistics under the same key, so nothing is counted twice), and
the client runs the M-step and the stopping rule. Only parameters and statistics
travel, never rows (except the initialisation sample, at most ``init_sample`` rows).

From the same start the fit equals :class:`gaussmix.GaussianMixture`'s in-memory fit
of the same rows to rounding (~1e-12), with the same ``n_iter_``, lower bounds,
warnings and attributes (tests: ``tests/test_dask.py``).

Example (a script: worker processes re-import it, hence the guard; the README's
``## Dask`` section has the one the tests run)::

    from dask.distributed import Client, LocalCluster
    import dask.array as da
    from gaussmix.dask import GaussianMixture

    if __name__ == "__main__":
        client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
        X = da.random.default_rng(0).normal(size=(1_000_000, 4), chunks=(100_000, 4))
        gm = GaussianMixture(n_components=3, random_state=0).fit(X)
        labels = gm.predict(X)      # a dask array, computed per block when asked

The per-block pass is public for other engines: :func:`block_stats`,
:class:`BlockStats` (``merge``, the statistics as arrays, compact pickling) and
:class:`BlockEm` (the M-step and stopping rule on merged statistics).
"""

from __future__ import annotations

import math
import re
import time
import uuid
import warnings
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError(
        "gaussmix.dask needs dask: pip install 'dask[array,dataframe]' distributed"
    ) from e

from . import _estimator, _init, _native
from ._compat import ConvergenceWarning, DegenerateWarning
from ._validation import check_features, check_is_fitted, random_seed, run_seed

__all__ = ["BlockEm", "BlockStats", "GaussianMixture", "RunFailed", "block_stats", "read_npy"]

#: One block's E-step statistics (``counts``, ``first_moments``, ``second_moments``
#: about ``shift``, ``log_likelihood``, ``n_samples``, ...; ``BlockStats.merge``,
#: compact pickling).
BlockStats = _native.BlockStats
#: A run that failed on its own terms (e.g. a start that is not positive definite).
RunFailed = _native.RunFailed


class BlockEm:
    """One EM run over blocks, for engines other than Dask: ``step`` it with the merged
    statistics (:func:`block_stats` per block, :meth:`BlockStats.merge`) of each pass
    under :attr:`model` until :attr:`done`, then :meth:`finish` with a final pass's.

    Parameters
    ----------
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    weights, means, covariances : array-like
        The start: ``(K,)`` weights summing to 1 (scikit-learn's k-means++ starts sum
        to K/n: normalise them and pass ``first_offset=log(sum)``), ``(K, D)`` means and
        covariances in the per-type shape.
    tol, reg_covar, max_iter, variance_floor :
        As :class:`gaussmix.GaussianMixture` (``max_iter`` ≥ 1).
    previous_lower_bound : float, default=-inf
        The first iteration's lower bound is compared with this (a warm start).
    first_offset : float, default=0
        Added to the first iteration's lower bound.
    feature_names : list of str, optional
        Carried by the finished model (warnings name features by them).

    A start that is not positive definite raises :class:`RunFailed`; statistics
    computed under other parameters, and steps after :attr:`done`, raise ValueError.
    """

    def __init__(
        self,
        covariance_type: str,
        weights: Any,
        means: Any,
        covariances: Any,
        *,
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        variance_floor: Optional[float] = None,
        previous_lower_bound: float = -math.inf,
        first_offset: float = 0.0,
        feature_names: Optional[List[str]] = None,
    ) -> None:
        def f64(a: Any) -> np.ndarray:
            return np.ascontiguousarray(np.asarray(a, dtype=np.float64))

        self._em = _native.BlockEm(
            covariance_type, f64(weights), f64(means), f64(covariances),
            tol=float(tol), reg_covar=float(reg_covar), max_iter=int(max_iter),
            variance_floor=None if variance_floor is None else float(variance_floor),
            previous_lower_bound=float(previous_lower_bound),
            first_offset=float(first_offset), feature_names=feature_names,
        )

    @property
    def model(self) -> Any:
        """The current parameters (pass them to :func:`block_stats`)."""
        return self._em.model

    def step(self, stats: Any) -> float:
        """One iteration from merged statistics under :attr:`model`; returns its lower
        bound (mean log-likelihood)."""
        return self._em.step(stats)

    @property
    def done(self) -> bool:
        """Converged, or ``max_iter`` iterations made."""
        return self._em.done

    @property
    def converged(self) -> bool:
        return self._em.converged

    @property
    def n_iter(self) -> int:
        return self._em.n_iter

    @property
    def lower_bounds(self) -> List[float]:
        return self._em.lower_bounds

    def finish(self, stats: Any) -> Any:
        """The fitted model (with the in-memory fit's record and warnings) from the
        merged statistics of a final pass under :attr:`model`."""
        return self._em.finish(stats)


def block_stats(model: Any, X: Any, sample_weight: Any = None, n_threads: Optional[int] = 1) -> Any:
    """The per-block pass for other engines: the E-step statistics of the rows ``X``
    (a block; numpy, float64 or float32) under ``model`` (a fitted
    :class:`gaussmix.GaussianMixture` or the ``model`` of a :class:`BlockEm`), computed
    by the Rust engine with the GIL released. Merge blocks' statistics with
    ``BlockStats.merge([...])`` (in a fixed order: deterministic) and step a
    :class:`BlockEm` with the result.

    >>> import numpy as np, gaussmix
    >>> from gaussmix.dask import BlockStats, block_stats
    >>> X = np.random.default_rng(0).normal(size=(1000, 2))
    >>> gm = gaussmix.GaussianMixture(2, random_state=0).fit(X)
    >>> parts = [block_stats(gm, X[:600]), block_stats(gm, X[600:])]
    >>> st = BlockStats.merge(parts)
    >>> st.n_samples, st.counts.shape, st.second_moments.shape
    (1000, (2,), (2, 2, 2))
    >>> bool(abs(st.log_likelihood / 1000 - gm.score(X)) < 1e-12)
    True
    """
    if n_threads is not None and not (isinstance(n_threads, int) and n_threads >= 1):
        raise ValueError(f"n_threads must be None or an int >= 1, got {n_threads!r}")
    m = getattr(model, "_model", model)
    if not isinstance(m, _native.Model):
        raise TypeError("model must be a fitted gaussmix.GaussianMixture or a BlockEm's model")
    x = np.asarray(X)
    x = _aligned(x if x.dtype in (np.float32, np.float64) else x.astype(np.float64))
    w = None if sample_weight is None else _weights(sample_weight, x.shape[0])
    return _native.block_stats([m], x, w, n_threads)[0]

# Statistics merged per task of the tree-reduce.
_FAN_IN = 8


# ---------------------------------------------------------------- worker functions
# Module-level functions: Dask ships them by reference (the workers import gaussmix).


def _aligned(a: np.ndarray) -> np.ndarray:
    """A C-contiguous, aligned array: blocks received from another worker may sit
    unaligned in the message buffer, which the engine refuses to borrow."""
    a = np.ascontiguousarray(a)
    return a if a.flags.aligned else a.copy()


def _rows(block: Any, dtype: np.dtype) -> np.ndarray:
    if hasattr(block, "to_numpy"):  # a pandas partition
        block = block.to_numpy()
    return _aligned(np.asarray(block, dtype=dtype))


def _block_error(e: Exception, index: int, start: int) -> ValueError:
    """The engine's message about a block, with its row numbers made the data's."""
    msg = re.sub(r"\bat row (\d+)", lambda m: f"at row {start + int(m.group(1))}", str(e))
    return ValueError(f"block {index} (rows from {start}): {msg}")


def _check_finite(x: np.ndarray) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"invalid data: non-finite value {x[i, j]} at row {i}, column {j} (0-based); "
            "remove or impute it before fitting"
        )


def _weights(weights: Any, n: int) -> Optional[np.ndarray]:
    """A block's sample weights, checked (finite, non-negative, one per row)."""
    if weights is None:
        return None
    w = _aligned(np.asarray(weights, dtype=np.float64).reshape(-1))
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} values for the block's {n} rows")
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"invalid data: sample weight {w[i]} at row {i} is not a finite non-negative number"
        )
    return w


def _block_stats(models, block, weights, dtype, n_threads, index, start):
    """One block's statistics under each of ``models`` (the runs in progress)."""
    try:
        x = _rows(block, dtype)
        w = _weights(weights, x.shape[0])
        if x.ndim != 2:
            raise ValueError(f"a block must be 2-D, got {x.ndim}-D")
        return _native.block_stats(models, x, w, 1 if n_threads is None else n_threads)
    except ValueError as e:
        raise _block_error(e, index, start) from e


def _merge(*parts):
    """Element-wise merge of the runs' statistics, in the given (block) order."""
    return [_native.BlockStats.merge(list(col)) for col in zip(*parts)]


def _positive_rows(weights) -> int:
    """Rows of positive weight in a block of weights."""
    return int(np.count_nonzero(np.asarray(weights) > 0))


def _block_sample(block, weights, dtype, count, seed, index, start, whole):
    """The block's rows for the initialisation sample: all of them (``whole``), or
    ``count`` drawn uniformly without replacement among the rows of positive weight
    (in row order)."""
    x = _rows(block, dtype)
    try:
        _check_finite(x)
        w = _weights(weights, x.shape[0])
    except ValueError as e:
        raise _block_error(e, index, start) from e
    if whole:
        return x, w
    rng = np.random.default_rng([seed & 0xFFFF_FFFF, seed >> 32, index])
    candidates = np.arange(x.shape[0]) if w is None else np.flatnonzero(w > 0)
    rows = np.sort(rng.choice(candidates, size=min(count, candidates.size), replace=False))
    return x[rows], (None if w is None else w[rows])


def _predict_block(block, model, dtype, what, block_info=None):
    x = _rows(block, dtype)
    if x.shape[0] == 0:
        k = model.n_components
        return {
            "predict": np.zeros(0, dtype=np.int64),
            "predict_proba": np.zeros((0, k)),
            "score_samples": np.zeros(0),
        }[what]
    try:
        return getattr(model, what)(x)
    except ValueError as e:
        info = (block_info or {}).get(0, {})
        index = info.get("chunk-location", (None,))[0]
        start = info.get("array-location", [(None, None)])[0][0]
        msg = str(e).replace("before fitting", "before predicting")
        if index is None:
            raise ValueError(msg) from e
        if start is None or (isinstance(start, float) and math.isnan(start)):
            raise ValueError(f"block {index} (row numbers within the block): {msg}") from e
        raise _block_error(ValueError(msg), index, int(start)) from e


def _read_npy_rows(path: str, start: int, stop: int) -> np.ndarray:
    a = np.load(path, mmap_mode="r")
    return np.array(a[start:stop])


def read_npy(path: str, block_rows: int = 1 << 20) -> "da.Array":
    """A ``.npy`` file as a dask array whose tasks read their rows from the file (a
    memory map, one block of ``block_rows`` rows per task), so workers read the data on
    every pass instead of holding it: with ``GaussianMixture(persist=False)`` a data
    set larger than the workers' memory fits. The file must be readable by every
    worker at ``path`` (a shared file system)."""
    path = str(path)
    a = np.load(path, mmap_mode="r")
    if a.ndim != 2:
        raise ValueError(f"{path} holds a {a.ndim}-D array; expected rows × features")
    if not (isinstance(block_rows, int) and block_rows >= 1):
        raise ValueError(f"block_rows must be a positive int, got {block_rows!r}")
    n, d = a.shape
    dtype = a.dtype
    del a
    blocks = []
    for s in range(0, n, block_rows):
        e = min(n, s + block_rows)
        t = dask.delayed(_read_npy_rows, pure=True)(path, s, e)
        blocks.append(da.from_delayed(t, shape=(e - s, d), dtype=dtype))
    if not blocks:
        return da.zeros((0, d), dtype=dtype)
    return da.concatenate(blocks, axis=0)


# ---------------------------------------------------------------- the estimator


def _is_dask(X: Any) -> bool:
    return dask.is_dask_collection(X)


class _Run:
    """One EM run over the blocks."""

    def __init__(self, index: int, em: Optional[Any]):
        self.index = index
        self.em = em  # None for max_iter = 0
        self.error: Optional[BaseException] = None
        self.model: Optional[Any] = None  # a max_iter = 0 run's start


class GaussianMixture(_estimator.GaussianMixture):
    """:class:`gaussmix.GaussianMixture` for dask arrays and DataFrames: EM as one
    map-reduce over the blocks per iteration, on whatever Dask scheduler is active (a
    ``distributed.Client`` — a cluster — or the local threads).

    The constructor is :class:`gaussmix.GaussianMixture`'s, with the same meaning
    (``recover`` is refused: re-seeding needs a data row on the client), plus:

    Parameters
    ----------
    persist : bool, default=True
        Persist the blocks on the workers once (each EM iteration then reads them from
        the workers' memory). ``False`` recomputes the blocks on every pass — e.g.
        reads them from files with :func:`read_npy` or ``dask.dataframe.read_parquet``
        — so data larger than the workers' memory fits.
    init_sample : int, default=100_000
        The initialisation (``init_params``, k-means by default) runs on the client on
        a uniform sample of at most this many rows among those of positive weight
        (drawn per block, seeded by ``random_state``). With fewer rows it runs on all
        of them, in order, so the start is the in-memory estimator's.

    ``n_threads`` is the engine's threads per block task of ``fit`` (None: 1, as Dask
    sets for BLAS in its workers; Dask's threads and workers are the parallelism);
    predictions use all the worker's cores. ``fit``
    accepts dask arrays and dask DataFrames (numeric columns, nullable and pyarrow
    ones included; their names become ``feature_names_in_``), with ``sample_weight`` a
    dask array or Series (aligned with the rows) or numpy; numpy input is fitted in
    memory. ``predict``, ``predict_proba`` and ``score_samples``
    return dask arrays (lazy, per block); ``score``, ``bic`` and ``aic`` compute.
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
        persist: bool = True,
        init_sample: int = 100_000,
    ) -> None:
        super().__init__(
            n_components,
            covariance_type=covariance_type,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            weights_init=weights_init,
            means_init=means_init,
            precisions_init=precisions_init,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            n_threads=n_threads,
            dtype=dtype,
            recover=recover,
            variance_floor=variance_floor,
            step_exponent=step_exponent,
            average_from=average_from,
        )
        self.persist = persist
        self.init_sample = init_sample

    # ------------------------------------------------------------------ input

    def _check_dask_params(self) -> None:
        self._check_params()
        if self.recover:
            raise ValueError(
                "recover=True is not available for Dask fits (re-seeding a component "
                "needs a data row on the client); fit without it, or in memory"
            )
        if not isinstance(self.persist, (bool, np.bool_)):
            raise _estimator._param_error("persist", "an instance of 'bool'", self.persist)
        s = self.init_sample
        if not (_estimator._is_int(s) and s >= self.n_components):
            raise _estimator._param_error(
                "init_sample", f"an int in the range [n_components={self.n_components}, inf)", s
            )

    def _dask_rows(
        self, X: Any, *, reset: bool, lengths: bool = True, persist: bool = False
    ) -> Tuple["da.Array", np.dtype]:
        """The rows as a dask array chunked by rows only, and the input's float dtype;
        checks (or, with ``reset``, records) the features. ``persist``: persisted on
        the workers (once, as the array the fit reads); ``lengths``: the row chunks made
        known (from the persisted blocks when persisted, else a pass over the data)."""
        names = None
        if hasattr(X, "columns") and hasattr(X, "to_dask_array"):
            cols = list(X.columns)
            bad = [str(c) for c, t in zip(cols, X.dtypes) if not _numeric(t)]
            if bad:
                raise ValueError(
                    f"the DataFrame's columns {bad} are not numeric; select numeric columns "
                    "(e.g. df[[...]]) or convert them"
                )
            kinds = sorted({type(c).__name__ for c in cols})
            if all(isinstance(c, str) for c in cols):
                names = np.asarray(cols, dtype=object)
            elif any(isinstance(c, str) for c in cols):
                raise TypeError(
                    "Feature names are only supported if all input features have string "
                    f"names, but your input has {kinds} as feature name / column name "
                    "types. If you want feature names to be stored and validated, you "
                    "must convert them all to strings, by using X.columns = "
                    "X.columns.astype(str) for example. Otherwise you can remove feature "
                    "/ column names from your input data, or convert them all to a "
                    "non-string data type."
                )
            if not all(isinstance(t, np.dtype) and t.kind in "fiu" for t in X.dtypes):
                # Nullable, pyarrow-backed or bool columns: as float64 (NA becomes NaN,
                # refused with its row).
                X = X.astype(np.float64)
            X = X.to_dask_array()
        elif not isinstance(X, da.Array):
            raise TypeError(
                f"gaussmix.dask fits dask arrays and dask DataFrames, got {type(X).__name__}"
            )
        if X.ndim != 2:
            raise ValueError(
                f"Expected 2D array, got {X.ndim}D array instead; reshape your data "
                "to (n_samples, n_features)"
            )
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        if len(X.chunks[1]) > 1:
            if any(math.isnan(c) for c in X.chunks[0]):
                X = X.compute_chunk_sizes()
            X = X.rechunk({1: -1})
        if persist:
            X = X.persist()
        if lengths and any(math.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        check_features(self, names, X.shape[1], reset=reset, warn=True)
        in_dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        return X, np.dtype(in_dtype)

    def _work_dtype(self, in_dtype: np.dtype) -> np.dtype:
        return np.dtype(self.dtype) if self.dtype is not None else in_dtype

    @staticmethod
    def _dask_weights(sample_weight: Any, X: "da.Array") -> Optional["da.Array"]:
        if sample_weight is None:
            return None
        n = X.shape[0]
        if np.isscalar(sample_weight):
            return da.full((n,), float(sample_weight), chunks=(X.chunks[0],))
        w = sample_weight
        if hasattr(w, "to_dask_array"):
            w = w.to_dask_array(lengths=True)
        if not isinstance(w, da.Array):
            w = np.asarray(w, dtype=np.float64)
            if w.ndim != 1:
                raise ValueError(
                    f"Sample weights must be 1D array or scalar, got {w.ndim}D array instead."
                )
            if w.shape[0] != n:
                raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
            w = da.from_array(w, chunks=(X.chunks[0],))
        if w.ndim != 1:
            raise ValueError(
                f"Sample weights must be 1D array or scalar, got {w.ndim}D array instead."
            )
        if any(math.isnan(c) for c in w.chunks[0]):
            w = w.compute_chunk_sizes()
        if w.shape[0] != n:
            raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
        if w.chunks[0] != X.chunks[0]:
            w = w.rechunk((X.chunks[0],))
        return w

    # ------------------------------------------------------------------ passes

    def _pass(
        self, blocks, weights, starts, dtype, models: List[Any], tag: str, futures: dict
    ) -> List[Any]:
        """One E-step pass under each of ``models``: a task per block (key
        ``gaussmix-stats-<tag>``, block index), a tree of merges in block order; returns
        the merged statistics per model.

        On a distributed cluster each block's task is pinned to the workers holding
        the (persisted) block, so Dask's work stealing never moves rows between
        workers; if a worker holding a block leaves mid-pass, the pass is submitted
        again under the new placement (the lost blocks are recomputed by Dask)."""

        def graph(holders, attempt):
            tag_ = tag if attempt == 0 else f"{tag}-retry{attempt}"
            params = dask.delayed(models, name=f"gaussmix-params-{tag_}")
            parts = []
            for i, blk in enumerate(blocks):
                where = holders.get(i)
                ann = dict(workers=where, allow_other_workers=False) if where else {}
                with dask.annotate(**ann):
                    parts.append(
                        dask.delayed(_block_stats, pure=True)(
                            params,
                            blk,
                            None if weights is None else weights[i],
                            dtype,
                            self.n_threads,
                            i,
                            starts[i],
                            dask_key_name=(f"gaussmix-stats-{tag_}", i),
                        )
                    )
            level = 0
            while len(parts) > 1 or level == 0:
                parts = [
                    dask.delayed(_merge, pure=True)(
                        *parts[j : j + _FAN_IN],
                        dask_key_name=(f"gaussmix-merge-{tag_}", level, j),
                    )
                    for j in range(0, len(parts), _FAN_IN)
                ]
                level += 1
            return parts[0]

        client = _client()
        if client is None:
            (out,) = dask.compute(graph({}, 0))
            return out
        attempt = 0
        while True:
            holders = _holders(client, blocks, futures)
            future = client.compute(graph(holders, attempt), optimize_graph=False)
            attempt += 1
            self._pass_submitted(client)
            needed = {w for ws in holders.values() for w in ws}
            while True:
                try:
                    return future.result(timeout=0.5)
                except TimeoutError:
                    if needed and not needed <= set(client.nthreads()):
                        future.cancel()
                        break

    def _compute(self, root: Any) -> Any:
        client = _client()
        if client is None:
            (out,) = dask.compute(root)
            return out
        return client.compute(root).result()

    def _pass_submitted(self, client: Any) -> None:
        """Called once a pass is submitted to a distributed cluster (tests use it to
        kill a worker mid-iteration)."""

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "GaussianMixture":
        """Estimate the parameters with the EM algorithm over the blocks of ``X``.

        Parameters
        ----------
        X : dask array or dask DataFrame of shape (n_samples, n_features)
            Training rows (numpy input is fitted in memory).
        y : Ignored
            Not used, present for API consistency.
        sample_weight : dask array or Series of shape (n_samples,), default=None
            Non-negative row weights; a row of weight 3 counts as three rows.

        Returns
        -------
        self : GaussianMixture
            The fitted mixture.
        """
        if not _is_dask(X):
            if _is_dask(sample_weight):
                sample_weight = np.asarray(dask.compute(sample_weight)[0])
            super().fit(X, sample_weight=sample_weight)
            return self
        self._fit_dask(X, sample_weight)
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit, then the component of every row of X (a dask array for dask input)."""
        self.fit(X, sample_weight=sample_weight)
        return self.predict(X)

    def _fit_dask(self, X: Any, sample_weight: Any) -> None:
        self._check_dask_params()
        self.__dict__.pop("n_batches_", None)
        X, in_dtype = self._dask_rows(X, reset=True, persist=bool(self.persist))
        dtype = self._work_dtype(in_dtype)
        n, d = X.shape
        if n < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {n}"
            )
        if n < 2:
            raise ValueError(f"Found array with {n} sample(s) while a minimum of 2 is required.")
        w = self._dask_weights(sample_weight, X)
        if w is not None and self.persist:
            (w,) = dask.persist(w)
        # The persisted chunks' futures (key → future): where each block lives.
        futures = {f.key: f for f in _futures_of(X)} if self.persist else {}
        blocks = list(X.to_delayed().ravel())
        wblocks = None if w is None else list(w.to_delayed().ravel())
        sizes = [int(c) for c in X.chunks[0]]
        starts = list(np.cumsum([0] + sizes[:-1]))
        inits = self._checked_inits(d)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        base = random_seed(self.random_state)
        tag = uuid.uuid4().hex[:12]
        names = self._engine_feature_names()

        sample = None
        runs: List[_Run] = []
        failures: List[Any] = []
        for r in range(n_init):
            seed = run_seed(base, r)
            if do_init:
                if sample is None and not all(v is not None for v in inits):
                    sample = self._init_sample(blocks, wblocks, sizes, starts, dtype, base, tag)
                xs, ws = sample if sample is not None else (np.zeros((0, d)), None)
                start = _init.initial_parameters(self, xs, ws, seed, *inits)
                prev_lb = -math.inf
            else:
                prev = self._model
                if prev.n_features != d:
                    k = self.n_components
                    raise ValueError(
                        f"invalid initialisation: starting means have shape [{k}, "
                        f"{prev.n_features}], expected [{k}, {d}] ({k} components, {d} "
                        "features): warm_start continues the previous fit, on data with "
                        "its features"
                    )
                start = dict(
                    weights_init=prev.weights, means_init=prev.means,
                    covariances_init=prev.covariances,
                )
                prev_lb = float(self.lower_bound_)
            weights = np.asarray(start["weights_init"], dtype=np.float64)
            total = float(weights.sum())
            offset = 0.0
            if abs(total - 1.0) > 1e-9:
                # As the in-memory estimator: the engine takes normalised weights and
                # the first lower bound is corrected by ln(sum).
                weights = weights / total
                offset = math.log(total)
            cov = start.get("covariances_init")
            if cov is None:
                cov = _init.covariances_from_precisions(start["precisions_init"], self.covariance_type)
            means = np.ascontiguousarray(start["means_init"], dtype=np.float64)
            cov = np.ascontiguousarray(cov, dtype=np.float64)
            if self.max_iter == 0:
                # The start itself, as the in-memory estimator (no pass, no record).
                model = _native.Model.from_parameters(self.covariance_type, weights, means, cov)
                run = _Run(r, None)
                run.model = model
                runs.append(run)
                continue
            try:
                em = _native.BlockEm(
                    self.covariance_type,
                    weights,
                    means,
                    cov,
                    tol=float(self.tol),
                    reg_covar=float(self.reg_covar),
                    max_iter=int(self.max_iter),
                    variance_floor=None if self.variance_floor is None else float(self.variance_floor),
                    previous_lower_bound=prev_lb,
                    first_offset=offset,
                    feature_names=names,
                )
            except _native.RunFailed as e:
                failures.append((r, e))
                continue
            runs.append(_Run(r, em))

        # The runs advance in lockstep: one read of each block serves all of them.
        iteration = 0
        t0 = time.time()
        while True:
            active = [r for r in runs if r.em is not None and r.error is None and not r.em.done]
            if not active:
                break
            iteration += 1
            lbs = self._pass(
                blocks, wblocks, starts, dtype, [r.em.model for r in active],
                f"{tag}-{iteration}", futures,
            )
            for run, st in zip(active, lbs):
                try:
                    run.em.step(st)
                except _native.RunFailed as e:
                    run.error = e
            self._verbose_iteration(iteration, active, t0)
            t0 = time.time()

        for run in runs:
            if run.error is not None:
                failures.append((run.index, run.error))
        failures.sort(key=lambda f: f[0])
        ok = [r for r in runs if r.error is None]
        if not ok:
            # As in memory: the first failure's own message.
            raise ValueError(str(failures[0][1]) if failures else "no initialization finished")
        failures = [f"initialization {i}: {e}" for i, e in failures]
        for f in failures:
            warnings.warn(f"{f}; the other initializations were kept", UserWarning, stacklevel=3)

        # The in-memory estimator's rule: the largest final lower bound, the first on
        # ties; while every bound is −∞ (max_iter = 0) the last run.
        best, max_lb = None, -math.inf
        for r in ok:
            lb = r.em.lower_bounds[-1] if r.em is not None and r.em.lower_bounds else -math.inf
            if lb > max_lb or max_lb == -math.inf:
                best, max_lb = r, lb
        assert best is not None
        if best.em is None:
            lbs, converged, n_iter, model = [], False, 0, best.model
        else:
            lbs = list(best.em.lower_bounds)
            converged, n_iter = bool(best.em.converged), int(best.em.n_iter)
            (final,) = self._pass(
                blocks, wblocks, starts, dtype, [best.em.model], f"{tag}-final", futures
            )
            model = best.em.finish(final)
        self._fitted_from(model, in_dtype, lbs, converged, n_iter)
        self.n_blocks_ = len(blocks)

    def _init_sample(self, blocks, wblocks, sizes, starts, dtype, base, tag):
        """The initialisation's rows, gathered on the client: all rows, in order, when
        there are at most ``init_sample``; else ``init_sample`` rows drawn uniformly
        among the rows of positive weight (per block, seeded)."""
        n = sum(sizes)
        m = int(self.init_sample)
        whole = n <= m
        counts = list(sizes)
        if not whole:
            avail = sizes
            if wblocks is not None:
                avail = self._compute(dask.delayed(list)(
                    [dask.delayed(_positive_rows, pure=True)(wb) for wb in wblocks]
                ))
            if sum(avail) == 0:
                raise ValueError(
                    "all sample weights are zero; at least one row must have positive weight"
                )
            rng = np.random.default_rng([base & 0xFFFF_FFFF, base >> 32, 0x5A])
            counts = [int(c) for c in rng.multivariate_hypergeometric(avail, min(m, sum(avail)))]
        parts = [
            dask.delayed(_block_sample, pure=True)(
                blk,
                None if wblocks is None else wblocks[i],
                dtype,
                counts[i],
                base,
                i,
                starts[i],
                whole,
                dask_key_name=(f"gaussmix-sample-{tag}", i),
            )
            for i, blk in enumerate(blocks)
            if counts[i] > 0
        ]
        got = self._compute(dask.delayed(list)(parts))
        xs = np.ascontiguousarray(np.concatenate([p[0] for p in got]), dtype=dtype)
        ws = None
        if wblocks is not None:
            ws = np.ascontiguousarray(np.concatenate([p[1] for p in got]))
            if not np.any(ws > 0):
                raise ValueError(
                    "all sample weights are zero; at least one row must have positive weight"
                )
        if xs.shape[0] < self.n_components:
            raise ValueError(
                f"{xs.shape[0]} samples (with positive weight) are fewer than "
                f"n_components = {self.n_components}; use at most {xs.shape[0]} components "
                "or more data"
            )
        return xs, ws

    def _fitted_from(self, model, in_dtype, lbs, converged, n_iter) -> None:
        """The fitted attributes and warnings, as the in-memory estimator sets them."""
        if not converged and self.max_iter > 0:
            warnings.warn(_estimator._NOT_CONVERGED, ConvergenceWarning, stacklevel=4)
        fit_warnings = []
        if not converged and self.max_iter > 0:
            fit_warnings.append(
                dict(kind="not_converged", component=None, feature=None,
                     message=_estimator._NOT_CONVERGED)
            )
        for kind, component, feature, message in model.warnings:
            if kind == "not_converged":
                continue
            fit_warnings.append(
                dict(kind=kind, component=component, feature=feature, message=message)
            )
            warnings.warn(message, DegenerateWarning, stacklevel=4)
        self.fit_warnings_ = fit_warnings
        self._set_model(model, in_dtype)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = float(lbs[-1]) if lbs else -math.inf
        self.lower_bounds_ = [float(v) for v in lbs]

    def _verbose_iteration(self, iteration: int, active: Sequence[_Run], t0: float) -> None:
        if not self.verbose or iteration % self.verbose_interval != 0 and self.verbose < 2:
            return
        parts = []
        for r in active:
            lb = r.em.lower_bounds
            if r.error is not None:
                parts.append(f"init {r.index}: failed")
            elif lb:
                ch = lb[-1] - lb[-2] if len(lb) > 1 else math.inf
                parts.append(f"init {r.index}: lower bound {lb[-1]:.6f} (change {ch:.3g})")
        print(
            f"  Iteration {iteration}: {'; '.join(parts)}; {time.time() - t0:.3f}s",
            flush=True,
        )

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "GaussianMixture":
        """Online EM is in-memory only (:class:`gaussmix.GaussianMixture`); a dask
        collection is refused."""
        if _is_dask(X):
            raise TypeError(
                "partial_fit takes in-memory batches (numpy/pandas); fit a dask collection "
                "with fit(), or pass its blocks one at a time (X.blocks[i].compute())"
            )
        return super().partial_fit(X, sample_weight=sample_weight)

    # ------------------------------------------------------------------ using

    def _lazy(self, X: Any, what: str, cast: bool = True) -> "da.Array":
        check_is_fitted(self)
        Xd, in_dtype = self._dask_rows(X, reset=False, lengths=False)
        dtype = self._work_dtype(in_dtype)
        model = self._model
        k = self.n_components
        if what == "predict":
            return Xd.map_blocks(
                _predict_block, model, dtype, what, dtype=np.int64, drop_axis=1,
                meta=np.zeros(0, dtype=np.int64),
            )
        if what == "predict_proba":
            out = Xd.map_blocks(
                _predict_block, model, dtype, what, dtype=np.float64,
                chunks=(Xd.chunks[0], (k,)), meta=np.zeros((0, k)),
            )
        else:
            out = Xd.map_blocks(
                _predict_block, model, dtype, what, dtype=np.float64, drop_axis=1,
                meta=np.zeros(0),
            )
        return out.astype(in_dtype) if cast and in_dtype != np.float64 else out

    def predict(self, X: Any) -> Any:
        """The most likely component of every row: a dask array (int64) for dask
        input, computed per block when asked; numpy for numpy input."""
        return self._lazy(X, "predict") if _is_dask(X) else super().predict(X)

    def predict_proba(self, X: Any) -> Any:
        """Posterior probabilities of the components per row (dask in, dask out)."""
        return self._lazy(X, "predict_proba") if _is_dask(X) else super().predict_proba(X)

    def score_samples(self, X: Any) -> Any:
        """``log p(x)`` of every row (dask in, dask out)."""
        return self._lazy(X, "score_samples") if _is_dask(X) else super().score_samples(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood of the rows of X (computed)."""
        if not _is_dask(X):
            return super().score(X)
        # The mean of the float64 values, as in memory (not of their float32 casts).
        s = self._lazy(X, "score_samples", cast=False)
        return float(self._compute(s.mean()))

    def _n_rows(self, X: Any) -> int:
        Xd, _ = self._dask_rows(X, reset=False)
        return int(Xd.shape[0])

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on X: ``−2·n·score + p·ln n`` (computed)."""
        if not _is_dask(X):
            return super().bic(X)
        n = self._n_rows(X)
        return -2.0 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion on X: ``−2·n·score + 2p`` (computed)."""
        if not _is_dask(X):
            return super().aic(X)
        n = self._n_rows(X)
        return -2.0 * self.score(X) * n + 2 * self._n_parameters()


def _holders(client: Any, blocks: Sequence[Any], futures: dict) -> dict:
    """Block index → the workers holding it, for blocks persisted on the cluster
    (``futures``: key → future of the persisted array's chunks)."""
    if not futures:
        return {}
    who = client.who_has(list(futures.values()))
    out = {}
    for i, b in enumerate(blocks):
        ws = who.get(b.key)
        if ws:
            out[i] = sorted(ws)
    return out


def _futures_of(x: Any) -> list:
    try:
        from distributed import futures_of
    except ImportError:  # pragma: no cover
        return []
    return futures_of(x)


def _numeric(t: Any) -> bool:
    """Whether a DataFrame column's dtype (numpy or pandas extension) is numeric."""
    try:
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        return bool(is_numeric_dtype(t) or is_bool_dtype(t))
    except ImportError:  # pragma: no cover
        return isinstance(t, np.dtype) and t.kind in "fiub"


def _client() -> Any:
    """The active ``distributed`` client, if any and if no local scheduler was asked for
    (``dask.config.set(scheduler="threads" | "sync" | "processes")``)."""
    scheduler = dask.config.get("scheduler", None)
    if isinstance(scheduler, str) and scheduler in (
        "threads", "threading", "sync", "synchronous", "single-threaded", "processes",
        "multiprocessing",
    ):
        return None
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover
        return None
    try:
        return get_client()
    except ValueError:
        return None
