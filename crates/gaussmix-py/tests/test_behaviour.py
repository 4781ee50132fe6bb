"""What the binding itself promises: sample weights, dtypes, no copies, the GIL
released, errors, n_init, verbose output, sampling."""

import sys
import threading
import tracemalloc
import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix import _native
from conftest import assert_close, blobs


def start_for(X, k, kind="full", seed=0):
    """A fixed, complete start (so that two fits are comparable run for run)."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=k, replace=False)
    d = X.shape[1]
    prec = {
        "full": np.tile(np.eye(d), (k, 1, 1)),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[kind]
    return dict(weights_init=np.full(k, 1.0 / k), means_init=X[rows].copy(), precisions_init=prec)


@pytest.mark.parametrize("kind", ["full", "tied", "diag", "spherical"])
def test_integer_sample_weights_equal_repeated_rows(kind):
    X = blobs(n=300, d=3, k=3, seed=10, spread=3.0)
    counts = np.random.default_rng(1).integers(0, 4, size=len(X))
    counts[:3] = 1
    Xr = np.repeat(X, counts, axis=0)
    kw = dict(n_components=3, covariance_type=kind, tol=1e-9, max_iter=300, **start_for(X, 3, kind))
    a = gaussmix.GaussianMixture(**kw).fit(X, sample_weight=counts.astype(float))
    b = gaussmix.GaussianMixture(**kw).fit(Xr)
    assert a.n_iter_ == b.n_iter_
    for attr in ("weights_", "means_", "covariances_"):
        assert_close(getattr(a, attr), getattr(b, attr), rtol=1e-9, what=attr)
    assert_close(a.lower_bounds_, b.lower_bounds_, rtol=1e-10, what="lower_bounds_")


def test_sample_weight_checks():
    X = blobs(n=60, k=2, seed=11)
    gm = gaussmix.GaussianMixture(n_components=2, random_state=0)
    with pytest.raises(ValueError, match="sample_weight"):
        gm.fit(X, sample_weight=np.ones(5))
    with pytest.raises(ValueError):
        gm.fit(X, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError):
        gm.fit(X, sample_weight=np.zeros(len(X)))
    w = np.ones(len(X))
    before = w.copy()
    gm.fit(X, sample_weight=w)
    np.testing.assert_array_equal(w, before)
    # A scalar weight is the same as none.
    a = gaussmix.GaussianMixture(n_components=2, random_state=0).fit(X, sample_weight=2.0)
    b = gaussmix.GaussianMixture(n_components=2, random_state=0).fit(X)
    assert_close(a.means_, b.means_, rtol=1e-12, what="means")


def test_float32_in_float32_out_and_dtype_option():
    X = blobs(n=500, d=4, k=3, seed=12)
    X32 = X.astype(np.float32)
    gm = gaussmix.GaussianMixture(n_components=3, random_state=0).fit(X32)
    assert gm.means_.dtype == np.float32 and gm.covariances_.dtype == np.float32
    assert gm.score_samples(X32).dtype == np.float32
    assert gm.predict(X32).dtype == np.int64
    # dtype='float32' computes in f32 but returns the input's dtype (float64 here).
    g2 = gaussmix.GaussianMixture(n_components=3, random_state=0, dtype="float32").fit(X)
    assert g2.means_.dtype == np.float64
    assert_close(g2.means_, gm.means_, rtol=1e-6, what="dtype=float32 equals f32 input")
    with pytest.raises(ValueError, match="dtype"):
        gaussmix.GaussianMixture(dtype="float16").fit(X)


def _peak_python_allocations(f):
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_c_contiguous_input_is_not_copied(dtype):
    """numpy reports its allocations to tracemalloc: fitting a C-contiguous f64 or f32
    array allocates far less than the array (the engine borrows it), while a Fortran
    array is converted once."""
    X = np.ascontiguousarray(blobs(n=200_000, d=8, k=2, seed=13), dtype=dtype)
    kw = dict(n_components=2, max_iter=2, tol=0.0, **start_for(X.astype(np.float64), 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peak_c = _peak_python_allocations(lambda: gaussmix.GaussianMixture(**kw).fit(X))
        peak_c_predict = _peak_python_allocations(lambda: gaussmix.GaussianMixture(**kw).fit(X).score(X))
        XF = np.asfortranarray(X)
        peak_f = _peak_python_allocations(lambda: gaussmix.GaussianMixture(**kw).fit(XF))
    assert peak_c < X.nbytes / 10, (peak_c, X.nbytes)
    assert peak_c_predict < X.nbytes / 2, (peak_c_predict, X.nbytes)
    assert peak_f >= X.nbytes, (peak_f, X.nbytes)


def test_gil_is_released_during_a_fit():
    """A Python thread keeps counting while the engine fits. With a huge switch
    interval the main thread never hands the GIL over by itself, so the counter can
    only move while the native call has released it."""
    X = blobs(n=200_000, d=8, k=8, seed=14)
    start = start_for(X, 8)
    state = {"running": False, "count": 0}
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            if state["running"]:
                state["count"] += 1
            stop.wait(0.0002)

    old = sys.getswitchinterval()
    t = threading.Thread(target=counter)
    t.start()
    try:
        sys.setswitchinterval(1000.0)
        state["running"] = True
        _native.fit(X, n_components=8, max_iter=30, tol=0.0, **start)
        state["running"] = False
        during_native = state["count"]
        sys.setswitchinterval(old)
        # The same through the estimator (its validation is cheap numpy).
        state["count"] = 0
        state["running"] = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gaussmix.GaussianMixture(n_components=8, max_iter=30, tol=0.0, **start).fit(X)
        state["running"] = False
        during_estimator = state["count"]
    finally:
        sys.setswitchinterval(old)
        stop.set()
        t.join()
    assert during_native > 0
    assert during_estimator > 0


def test_bad_input_raises_the_right_exceptions():
    X = blobs(n=100, d=3, k=2, seed=15)
    gm = gaussmix.GaussianMixture(n_components=2, random_state=0)
    with pytest.raises(gaussmix.NotFittedError):
        gm.predict(X)
    with pytest.raises(gaussmix.NotFittedError):
        gm.score_samples(X)
    with pytest.raises(gaussmix.NotFittedError):
        gm.sample(3)
    assert issubclass(gaussmix.NotFittedError, ValueError)
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gm.fit(bad)
    bad[5, 1] = np.inf
    with pytest.raises(ValueError, match="inf"):
        gm.fit(bad)
    with pytest.raises(ValueError, match="2D"):
        gm.fit(X[:, 0])
    with pytest.raises(ValueError):
        gm.fit(X[:1])
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        gaussmix.GaussianMixture(n_components=5).fit(X[:3])
    gm.fit(X)
    with pytest.raises(ValueError, match="3 features"):
        gm.predict(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        gm.predict(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="n_components"):
        gaussmix.GaussianMixture(n_components=0).fit(X)
    with pytest.raises(ValueError, match="covariance_type"):
        gaussmix.GaussianMixture(covariance_type="banana").fit(X)
    with pytest.raises(ValueError, match="init_params"):
        gaussmix.GaussianMixture(init_params="kmeans+++").fit(X)
    with pytest.raises(ValueError, match="'weights' should be normalized"):
        gaussmix.GaussianMixture(n_components=2, weights_init=[0.2, 0.2]).fit(X)
    with pytest.raises(ValueError, match="shape"):
        gaussmix.GaussianMixture(n_components=2, means_init=np.zeros((3, 3))).fit(X)
    with pytest.raises(ValueError, match="positive-definite"):
        gaussmix.GaussianMixture(n_components=2, precisions_init=-np.tile(np.eye(3), (2, 1, 1))).fit(X)
    with pytest.raises(ValueError):
        gm.sample(0)


def test_engine_errors_are_value_errors_with_the_engine_message():
    # Columns spanning more than 1e150: the engine refuses with its own message.
    X = np.array([[0.0, 1.0], [1e200, 2.0], [3.0, -1e200], [4.0, 5.0]])
    start = dict(weights_init=[1.0], means_init=[[0.0, 0.0]], precisions_init=np.eye(2)[None])
    with pytest.raises(ValueError, match="squared distances would overflow"):
        gaussmix.GaussianMixture(n_components=1, **start).fit(X)
    # Every initialisation collapses: the engine's not-positive-definite message.
    Y = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 10, axis=0)
    with pytest.raises(ValueError, match="not positive definite"):
        gaussmix.GaussianMixture(n_components=2, reg_covar=0.0, random_state=0).fit(Y)


def test_n_init_is_that_many_complete_runs(capsys):
    X = blobs(n=300, k=3, seed=16)
    gaussmix.GaussianMixture(n_components=3, n_init=4, verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert sum(line.startswith("Initialization ") and line[15:].strip().isdigit() for line in out.splitlines()) == 4
    assert out.count("Initialization converged.") == 4
    assert "Iteration" not in out or "  Iteration" in out


def test_verbose_2_prints_iterations(capsys):
    X = blobs(n=300, k=3, seed=17, spread=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gaussmix.GaussianMixture(n_components=3, verbose=2, verbose_interval=1, max_iter=5, tol=0, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert out.count("  Iteration ") == 5
    assert "ll change" in out and "lower bound" in out


def test_restarts_pick_the_best_lower_bound_and_are_reproducible():
    X = blobs(n=400, d=2, k=4, seed=18, spread=3.0)
    best = gaussmix.GaussianMixture(n_components=4, n_init=5, random_state=7).fit(X)
    again = gaussmix.GaussianMixture(n_components=4, n_init=5, random_state=7).fit(X)
    np.testing.assert_array_equal(best.means_, again.means_)
    singles = [
        gaussmix.GaussianMixture(n_components=4, n_init=1, random_state=s).fit(X).lower_bound_
        for s in range(3)
    ]
    assert best.lower_bound_ >= min(singles) - 1e-12


def test_convergence_warning_and_max_iter_zero():
    X = blobs(n=200, k=2, seed=19, spread=1.0)
    with pytest.warns(gaussmix.ConvergenceWarning):
        gaussmix.GaussianMixture(n_components=2, max_iter=1, tol=0, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gm = gaussmix.GaussianMixture(n_components=2, max_iter=0, random_state=0).fit(X)
    assert gm.n_iter_ == 0 and gm.lower_bound_ == -np.inf and not gm.converged_


def test_recover_reports_reseeding_as_warnings():
    # A component started far from every row loses its mass and is re-seeded.
    X = blobs(n=200, d=2, k=2, seed=20)
    start = dict(weights_init=[0.4, 0.4, 0.2], means_init=np.array([X[0], X[150], [500.0, 500.0]]),
                 precisions_init=np.tile(np.eye(2), (3, 1, 1)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gaussmix.GaussianMixture(n_components=3, reg_covar=0.0, recover=True, **start).fit(X)
    assert any("re-seeded" in str(w.message) for w in caught)


def test_sample():
    X = blobs(n=300, d=2, k=3, seed=21)
    gm = gaussmix.GaussianMixture(n_components=3, random_state=0).fit(X)
    Xs, ys = gm.sample(2000)
    assert Xs.shape == (2000, 2) and ys.shape == (2000,) and ys.dtype == np.int64
    assert np.all(np.diff(ys) >= 0)
    a, _ = gm.sample(5)
    b, _ = gm.sample(5)
    np.testing.assert_array_equal(a, b)  # int random_state: same draws
    for c in range(3):
        assert_close(Xs[ys == c].mean(axis=0), gm.means_[c], rtol=0.1, what="sample mean")


def test_threads_do_not_change_results():
    X = blobs(n=5000, d=3, k=3, seed=22)
    a = gaussmix.GaussianMixture(n_components=3, random_state=1, n_threads=1).fit(X)
    b = gaussmix.GaussianMixture(n_components=3, random_state=1, n_threads=2).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)


def test_without_scikit_learn_and_pandas(tmp_path):
    """numpy is the only hard dependency: with scikit-learn and pandas hidden the
    estimator works and the exception classes are same-named stand-ins."""
    import subprocess

    code = r"""
import sys, warnings
sys.modules['sklearn'] = None
sys.modules['pandas'] = None
import numpy as np, gaussmix
from gaussmix import _compat
assert not _compat.HAVE_SKLEARN and not _compat.HAVE_PANDAS
assert issubclass(gaussmix.NotFittedError, ValueError)
assert issubclass(gaussmix.ConvergenceWarning, UserWarning)
rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(9, 1, (100, 2))])
gm = gaussmix.GaussianMixture(n_components=2, random_state=0)
try:
    gm.predict(X)
    raise SystemExit('no NotFittedError')
except gaussmix.NotFittedError:
    pass
gm.fit(X)
assert gm.n_features_in_ == 2
assert gm.predict(X).shape == (200,)
assert sorted(np.round(gm.means_[:, 0]).tolist()) == [0.0, 9.0]
p = gm.get_params(); assert p['n_components'] == 2
gm.set_params(n_components=3); assert 'n_components=3' in repr(gm)
for bad, msg in ((X[:, 0], '2D'), (np.full((3, 2), np.nan), 'NaN')):
    try:
        gaussmix.GaussianMixture().fit(bad)
        raise SystemExit('no error for ' + msg)
    except ValueError as e:
        assert msg in str(e), e
try:
    gm.fit(X).predict(X[:, :1])
    raise SystemExit('no feature check')
except ValueError as e:
    assert '1 features' in str(e)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    gaussmix.GaussianMixture(n_components=2, max_iter=1, tol=0).fit(X)
assert any(issubclass(x.category, gaussmix.ConvergenceWarning) for x in w)
table, best = gaussmix.select(X, k=[1, 2, 3], covariance_types=['full'], random_state=0)
assert isinstance(table, list) and table[0]['k'] == 2 and best.n_components == 2
print('ok')
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr + r.stdout
    assert r.stdout.strip().endswith("ok")


def test_every_public_name_has_a_docstring():
    import inspect

    for name in gaussmix.__all__:
        obj = getattr(gaussmix, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), name
    for name, member in inspect.getmembers(gaussmix.GaussianMixture):
        if not name.startswith("_") and callable(member):
            assert (member.__doc__ or "").strip(), name
