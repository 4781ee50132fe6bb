"""``gaussmix.dask``: EM on a real ``distributed.LocalCluster`` (2 worker processes, one
thread each), started and stopped here.

What is checked: from the same start the Dask fit equals the in-memory fit (parameters,
lower bounds, n_iter, warning kinds) to 1e-10 for every covariance type, with and without
weights, from dask arrays and DataFrames; with the default initialisation and n_init
restarts (run in lockstep) it equals the in-memory estimator when the data fit the
initialisation sample, and is deterministic when they do not; a worker killed
mid-iteration changes nothing; predictions are lazy dask arrays equal to the in-memory
ones; bad input is refused with what and where; the statistics shipped per block do
not grow with its rows. The larger-than-memory fit is ``slow`` (run by
``GAUSSMIX_SLOW=1 scripts/test -k larger_than``).
"""

import os
import pickle
import re
import signal
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import dask
import dask.array as da
import dask.dataframe as dd
from distributed import Client, LocalCluster

import gaussmix
import gaussmix.dask as gdask
from gaussmix import _native
from conftest import REPO

KINDS = ("full", "tied", "diag", "spherical")


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        memory_limit="2GiB",
    )
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def blobs(n=3000, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -2.0], [-3.0, 6.0, 1.0]]) + offset
    labels = rng.integers(0, 3, size=n)
    X = centres[labels] + rng.normal(size=(n, 3)) @ np.array(
        [[1.0, 0.3, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 0.6]]
    )
    w = 0.25 + (np.arange(n) % 7) * 0.5
    return X, w


def start(kind):
    """A start some way off the truth, in scikit-learn's init parameters."""
    k, d = 3, 3
    prec = {
        "full": np.stack([np.eye(d) * 0.5] * k),
        "tied": np.eye(d) * 0.5 + 0.01,
        "diag": np.full((k, d), 0.5),
        "spherical": np.full(k, 0.5),
    }[kind]
    return dict(
        weights_init=np.array([0.4, 0.3, 0.3]),
        means_init=np.array([[1.0, 0.0, 0.0], [4.0, 2.0, -1.0], [-1.0, 5.0, 0.0]]),
        precisions_init=prec,
    )


def assert_same(dk, mem, rtol=1e-10):
    assert dk.n_iter_ == mem.n_iter_
    assert dk.converged_ == mem.converged_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        a, b = getattr(dk, name), getattr(mem, name)
        scale = np.max(np.abs(b))
        err = np.max(np.abs(a - b))
        assert err <= rtol * scale, f"{name}: {err:.2e} > {rtol} × {scale:.2e}"
    np.testing.assert_allclose(dk.lower_bounds_, mem.lower_bounds_, rtol=rtol, atol=0)
    assert abs(dk.lower_bound_ - mem.lower_bound_) <= rtol * abs(mem.lower_bound_)
    assert [w["kind"] for w in dk.fit_warnings_] == [w["kind"] for w in mem.fit_warnings_]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_array_fit_equals_in_memory_fit_from_the_same_start(client, kind, weighted):
    X, w = blobs()
    params = dict(n_components=3, covariance_type=kind, tol=1e-8, max_iter=500, **start(kind))
    mem = gaussmix.GaussianMixture(**params).fit(X, sample_weight=w if weighted else None)
    Xd = da.from_array(X, chunks=(700, 3))  # 5 blocks, the last of 200 rows
    wd = da.from_array(w, chunks=700) if weighted else None
    dk = gdask.GaussianMixture(**params).fit(Xd, sample_weight=wd)
    assert mem.n_iter_ > 5, "the comparison should span several iterations"
    assert dk.n_blocks_ == 5
    assert_same(dk, mem)


@pytest.mark.parametrize("kind", KINDS)
def test_dataframe_fit_equals_in_memory_fit_with_weights(client, kind):
    X, w = blobs(seed=1)
    pdf = pd.DataFrame(X, columns=["a", "b", "c"])
    ddf = dd.from_pandas(pdf, npartitions=4)
    ws = dd.from_pandas(pd.Series(w), npartitions=4)
    params = dict(n_components=3, covariance_type=kind, tol=1e-8, max_iter=500, **start(kind))
    mem = gaussmix.GaussianMixture(**params).fit(pdf, sample_weight=w)
    dk = gdask.GaussianMixture(**params).fit(ddf, sample_weight=ws)
    assert_same(dk, mem)
    assert list(dk.feature_names_in_) == ["a", "b", "c"]
    # A wrong-length numpy weight vector is named as such.
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(2999,\), expected \(3000,\)"):
        gdask.GaussianMixture(**params).fit(ddf, sample_weight=w[:-1])
    # Names are checked on use: other columns are refused, the same ones work.
    with pytest.raises(ValueError, match="feature names should match"):
        dk.predict(ddf.rename(columns={"a": "x"}))
    labels = dk.predict(ddf)
    # Lazy: not even the partitions' lengths were computed.
    assert all(np.isnan(c) for c in labels.chunks[0])
    np.testing.assert_array_equal(labels.compute(), mem.predict(pdf))


def test_default_init_and_restarts_equal_the_in_memory_estimator(client):
    # Fewer rows than init_sample: the initialisation sees all rows, in order, so
    # k-means and every restart's seed are the in-memory estimator's.
    X, _ = blobs(n=2000, seed=3)
    params = dict(n_components=3, n_init=3, random_state=7, tol=1e-6)
    mem = gaussmix.GaussianMixture(**params).fit(X)
    dk = gdask.GaussianMixture(**params).fit(da.from_array(X, chunks=600))
    assert_same(dk, mem)


def test_sampled_init_is_deterministic_and_lands_on_the_optimum(client):
    X, _ = blobs(n=4000, seed=4)
    Xd = da.from_array(X, chunks=1000)
    params = dict(n_components=3, random_state=11, init_sample=400, n_init=2, tol=1e-8)
    a = gdask.GaussianMixture(**params).fit(Xd)
    b = gdask.GaussianMixture(**params).fit(Xd)
    np.testing.assert_array_equal(a.means_, b.means_)
    assert a.lower_bounds_ == b.lower_bounds_
    # Another seed draws another sample (a different path to the same optimum).
    c = gdask.GaussianMixture(**dict(params, random_state=12)).fit(Xd)
    assert c.lower_bounds_ != a.lower_bounds_
    mem = gaussmix.GaussianMixture(n_components=3, random_state=0, tol=1e-8).fit(X)
    assert abs(a.lower_bound_ - mem.lower_bound_) < 1e-6


class KillsAWorker(gdask.GaussianMixture):
    """Kills one worker process right after the third pass is submitted."""

    passes = 0
    killed = None

    def _pass_submitted(self, client):
        type(self).passes += 1
        if type(self).passes == 3:
            pids = client.run(os.getpid)
            addr, pid = sorted(pids.items())[0]
            os.kill(pid, signal.SIGKILL)
            type(self).killed = addr


def test_a_worker_killed_mid_iteration_changes_nothing(client):
    X, w = blobs(n=6000, seed=5)
    Xd = da.from_array(X, chunks=500)
    wd = da.from_array(w, chunks=500)
    params = dict(n_components=3, tol=1e-10, max_iter=40, **start("full"))
    ref = gdask.GaussianMixture(**params).fit(Xd, sample_weight=wd)
    dk = KillsAWorker(**params).fit(Xd, sample_weight=wd)
    assert KillsAWorker.killed is not None and KillsAWorker.passes > 3
    # Block statistics are recomputed under the same keys and merged in block order:
    # the same numbers, bit for bit.
    np.testing.assert_array_equal(dk.means_, ref.means_)
    np.testing.assert_array_equal(dk.covariances_, ref.covariances_)
    assert dk.lower_bounds_ == ref.lower_bounds_
    # The cluster is whole again for the next tests.
    client.wait_for_workers(2, timeout=60)


class KillsAWorkerBetweenPasses(gdask.GaussianMixture):
    """Kills one worker after the second pass and waits until the scheduler has lost
    it: the third pass finds its persisted blocks gone (Dask recomputes them)."""

    passes = 0

    def _pass_submitted(self, client):
        type(self).passes += 1
        if type(self).passes == 2:
            client.gather(client.compute(dask.delayed(lambda: 0)()))
            pids = client.run(os.getpid)
            addr, pid = sorted(pids.items())[0]
            before = len(client.who_has())
            os.kill(pid, signal.SIGKILL)
            deadline = time.time() + 60
            while addr in client.nthreads() and time.time() < deadline:
                time.sleep(0.05)
            assert addr not in client.nthreads()
            type(self).lost = before


def test_blocks_lost_with_a_worker_are_recomputed(client):
    client.wait_for_workers(2, timeout=60)
    X, _ = blobs(n=4000, seed=13)
    Xd = da.from_array(X, chunks=400)
    params = dict(n_components=3, tol=1e-10, max_iter=30, covariance_type="diag", **start("diag"))
    ref = gdask.GaussianMixture(**params).fit(Xd)
    dk = KillsAWorkerBetweenPasses(**params).fit(Xd)
    assert KillsAWorkerBetweenPasses.passes > 3
    np.testing.assert_array_equal(dk.means_, ref.means_)
    assert dk.lower_bounds_ == ref.lower_bounds_
    client.wait_for_workers(2, timeout=60)


def test_a_pass_pinned_to_a_departed_worker_is_submitted_again(client, monkeypatch):
    # The first pass's placement names a worker that is not there (as when a worker
    # leaves between the placement and the pass): its tasks cannot run, the pass is
    # submitted again under the real placement, and the fit is unchanged.
    X, _ = blobs(n=2000, seed=14)
    Xd = da.from_array(X, chunks=500)
    params = dict(n_components=3, tol=1e-10, max_iter=20, **start("spherical"), covariance_type="spherical")
    ref = gdask.GaussianMixture(**params).fit(Xd)
    real = gdask._holders
    calls = []

    def stale(client, blocks, futures):
        calls.append(1)
        out = real(client, blocks, futures)
        if len(calls) == 1:
            out[0] = ["tcp://127.0.0.1:9"]
        return out

    monkeypatch.setattr(gdask, "_holders", stale)
    dk = gdask.GaussianMixture(**params).fit(Xd)
    assert len(calls) == dk.n_iter_ + 2  # one retry, the passes, the final pass
    np.testing.assert_array_equal(dk.means_, ref.means_)
    assert dk.lower_bounds_ == ref.lower_bounds_


def test_rows_stay_on_their_workers(client):
    # Each block's task runs where the block is persisted (pinned, so work stealing
    # cannot move rows); the workers send each other only statistics.
    from distributed import futures_of, get_task_stream, wait

    X, _ = blobs(n=20000, seed=15)
    Xd = da.from_array(X, chunks=500).persist()
    wait(Xd)
    who = client.who_has(futures_of(Xd))
    holder = {k[1]: set(v) for k, v in who.items()}

    def sent():
        return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())

    s0 = sent()
    with warnings.catch_warnings(), get_task_stream() as ts:
        warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)
        gm = gdask.GaussianMixture(n_components=3, max_iter=10, tol=0.0, **start("full")).fit(Xd)
    moved = sent() - s0
    ran = [(t["key"], t["worker"]) for t in ts.data if "gaussmix-stats" in str(t["key"])]
    assert gm.n_blocks_ == 40 and len(ran) == 40 * 11
    wrong = [(k, w) for k, w in ran if w not in holder[k[1]]]
    assert not wrong, wrong[:5]
    # 40 blocks × 11 passes of statistics (~0.5 kB), merged across workers at most.
    assert moved < 11 * 40 * 1000, moved


def test_predictions_are_lazy_dask_arrays_equal_to_in_memory(client):
    X, _ = blobs(n=2500, seed=6)
    Xd = da.from_array(X, chunks=800)
    dk = gdask.GaussianMixture(n_components=3, random_state=0, covariance_type="diag").fit(Xd)
    mem = gaussmix.GaussianMixture(n_components=3, random_state=0, covariance_type="diag").fit(X)
    assert_same(dk, mem)
    labels = dk.predict(Xd)
    proba = dk.predict_proba(Xd)
    dens = dk.score_samples(Xd)
    for a in (labels, proba, dens):
        assert isinstance(a, da.Array)
    assert labels.chunks[0] == Xd.chunks[0] and proba.shape == (2500, 3)
    np.testing.assert_array_equal(labels.compute(), mem.predict(X))
    np.testing.assert_allclose(proba.compute(), mem.predict_proba(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dens.compute(), mem.score_samples(X), rtol=1e-13)
    assert abs(dk.score(Xd) - mem.score(X)) < 1e-12
    assert abs(dk.bic(Xd) - mem.bic(X)) < 1e-8
    assert abs(dk.aic(Xd) - mem.aic(X)) < 1e-8
    fp = gdask.GaussianMixture(n_components=3, random_state=0, covariance_type="diag").fit_predict(Xd)
    np.testing.assert_array_equal(fp.compute(), mem.predict(X))
    # numpy in, numpy out (the in-memory estimator's methods).
    np.testing.assert_array_equal(dk.predict(X), mem.predict(X))


def test_float32_blocks_fit_like_the_in_memory_float32_fit(client):
    X, _ = blobs(n=3000, seed=8)
    X32 = X.astype(np.float32)
    params = dict(n_components=3, covariance_type="diag", tol=1e-6, **start("diag"))
    mem = gaussmix.GaussianMixture(**params).fit(X32)
    dk = gdask.GaussianMixture(**params).fit(da.from_array(X32, chunks=1000))
    assert dk.means_.dtype == np.float32
    assert dk.n_iter_ == mem.n_iter_
    np.testing.assert_allclose(dk.means_, mem.means_, rtol=1e-5)
    assert dk.predict_proba(da.from_array(X32, chunks=1000)).dtype == np.float32


def test_not_converged_and_warnings_are_the_in_memory_ones(client):
    X, _ = blobs(n=1500, seed=9)
    params = dict(n_components=3, max_iter=2, tol=1e-12, **start("full"))
    with pytest.warns(gaussmix.ConvergenceWarning):
        mem = gaussmix.GaussianMixture(**params).fit(X)
    with pytest.warns(gaussmix.ConvergenceWarning):
        dk = gdask.GaussianMixture(**params).fit(da.from_array(X, chunks=500))
    assert_same(dk, mem)
    assert dk.fit_warnings_[0]["kind"] == "not_converged"
    # A constant feature: the same DegenerateWarning.
    Xc = X.copy()
    Xc[:, 2] = 4.0
    p = dict(n_components=2, random_state=0, covariance_type="diag")
    with pytest.warns(gaussmix.DegenerateWarning):
        mem = gaussmix.GaussianMixture(**p).fit(Xc)
    with pytest.warns(gaussmix.DegenerateWarning):
        dk = gdask.GaussianMixture(**p).fit(da.from_array(Xc, chunks=400))
    assert [w["kind"] for w in dk.fit_warnings_] == [w["kind"] for w in mem.fit_warnings_]


def test_warm_start_continues_like_the_in_memory_estimator(client):
    X, _ = blobs(n=2000, seed=10)
    Xd = da.from_array(X, chunks=700)
    params = dict(n_components=3, warm_start=True, max_iter=3, tol=1e-10, **start("full"))
    mem = gaussmix.GaussianMixture(**params)
    dk = gdask.GaussianMixture(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)
        for _ in range(3):
            mem.fit(X)
            dk.fit(Xd)
            assert_same(dk, mem)


def test_bad_input_is_refused_with_what_and_where(client):
    X, w = blobs(n=1000)
    Xn = X.copy()
    Xn[612, 1] = np.nan
    gm = gdask.GaussianMixture(n_components=2)
    # Found when the initialisation sample is drawn, and by the E-step (a given
    # start needs no sample): both name the block and the data's row.
    where = r"block 1 \(rows from 500\): invalid data: non-finite value nan at row 612, column 1"
    with pytest.raises(ValueError, match=where):
        gm.fit(da.from_array(Xn, chunks=500))
    with pytest.raises(ValueError, match=where.replace("nan", "NaN")):
        gdask.GaussianMixture(n_components=3, **start("full")).fit(da.from_array(Xn, chunks=500))
    wn = w.copy()
    wn[10] = -1.0
    wn[700] = -2.0
    for est in (gm, gdask.GaussianMixture(n_components=3, **start("full"))):
        with pytest.raises(ValueError, match=r"block 1 \(rows from 500\): .*sample weight -2.0 at row 700"):
            est.fit(da.from_array(X, chunks=500), sample_weight=da.from_array(wn, chunks=500))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        gm.fit(da.from_array(X, chunks=500), sample_weight=da.ones(999, chunks=500))
    with pytest.raises(ValueError, match="recover"):
        gdask.GaussianMixture(n_components=2, recover=True).fit(da.from_array(X, chunks=500))
    with pytest.raises(ValueError, match="init_sample"):
        gdask.GaussianMixture(n_components=2, init_sample=1).fit(da.from_array(X, chunks=500))
    with pytest.raises(ValueError, match="not numeric"):
        df = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0, 3.0], "s": ["x", "y", "z"]}), npartitions=1)
        gm.fit(df)
    with pytest.raises(TypeError, match="partial_fit"):
        gm.partial_fit(da.from_array(X, chunks=500))
    fitted = gdask.GaussianMixture(n_components=2, random_state=0).fit(da.from_array(X, chunks=500))
    with pytest.raises(ValueError, match="expecting 3 features"):
        fitted.predict(da.zeros((10, 2), chunks=5))


def test_statistics_shipped_per_block_do_not_grow_with_its_rows():
    X, _ = blobs(n=20000)
    model = gaussmix.GaussianMixture(n_components=3, random_state=0).fit(X)._model
    small = _native.block_stats([model], np.ascontiguousarray(X[:10]))[0]
    big = _native.block_stats([model], np.ascontiguousarray(X))[0]
    a, b = pickle.dumps(small), pickle.dumps(big)
    assert len(a) == len(b) < 1000  # K = 3, D = 3: well under a kilobyte
    back = pickle.loads(b)
    assert back.n_samples == 20000 and back.log_likelihood == big.log_likelihood
    merged = _native.BlockStats.merge([small, big])
    assert merged.n_samples == 20010


def test_a_local_scheduler_gives_the_same_fit_locally(client):
    # dask.config's scheduler is respected even with a client alive: the passes run in
    # local threads, none on the cluster.
    from distributed import get_task_stream

    X, _ = blobs(n=1200, seed=12)
    params = dict(n_components=3, tol=1e-8, **start("tied"), covariance_type="tied")
    with get_task_stream() as ts, dask.config.set(scheduler="threads"):
        dk = gdask.GaussianMixture(**params).fit(da.from_array(X, chunks=500))
        labels = dk.predict(da.from_array(X, chunks=500)).compute()
    assert ts.data == []
    mem = gaussmix.GaussianMixture(**params).fit(X)
    assert_same(dk, mem)
    np.testing.assert_array_equal(labels, mem.predict(X))


def test_blocks_of_weight_zero_and_sparse_weights(client):
    X, w = blobs(n=4000, seed=16)
    w[1000:2000] = 0.0  # whole blocks of weight 0
    params = dict(n_components=3, random_state=0, tol=1e-8)
    mem = gaussmix.GaussianMixture(**params).fit(X, sample_weight=w)
    dk = gdask.GaussianMixture(**params).fit(
        da.from_array(X, chunks=500), sample_weight=da.from_array(w, chunks=500)
    )
    assert_same(dk, mem)
    # 0.5 % of the rows carry weight: the sampled initialisation draws among them.
    ws = np.zeros(4000)
    ws[::100] = 1.0
    gm = gdask.GaussianMixture(n_components=3, random_state=0, init_sample=10, covariance_type="spherical").fit(
        da.from_array(X, chunks=500), sample_weight=da.from_array(ws, chunks=500)
    )
    assert np.isfinite(gm.lower_bound_)
    zeros = da.zeros(4000, chunks=500)
    with pytest.raises(ValueError, match="all sample weights are zero"):
        gdask.GaussianMixture(n_components=2).fit(da.from_array(X, chunks=500), sample_weight=zeros)
    with pytest.raises(ValueError, match="0 samples .with positive weight. are fewer than"):
        gdask.GaussianMixture(n_components=3, **start("full")).fit(
            da.from_array(X, chunks=500), sample_weight=zeros
        )


def test_max_iter_zero_keeps_the_start_as_in_memory(client):
    X, _ = blobs(n=1000, seed=17)
    for extra in (dict(**start("diag")), dict(n_init=2, random_state=3),
                  dict(init_params="k-means++", random_state=1),
                  dict(init_params="random_from_data", random_state=2)):
        params = dict(n_components=3, covariance_type="diag", max_iter=0, **extra)
        mem = gaussmix.GaussianMixture(**params).fit(X)
        dk = gdask.GaussianMixture(**params).fit(da.from_array(X, chunks=300))
        assert dk.n_iter_ == 0 and not dk.converged_ and dk.lower_bound_ == -np.inf
        np.testing.assert_array_equal(dk.means_, mem.means_)
        np.testing.assert_array_equal(dk.covariances_, mem.covariances_)


def test_a_failed_restart_is_reported_and_the_others_kept(client):
    rng = np.random.default_rng(0)
    X = np.r_[np.repeat([[0.0, 0.0]], 20, 0), rng.normal(size=(200, 2)) + 1.5,
              rng.normal(size=(200, 2)) + [8, 0]]
    kw = dict(n_components=4, reg_covar=0.0, random_state=44, n_init=3, init_params="k-means++")
    with pytest.warns(UserWarning, match="not positive definite at initialisation") as mw:
        mem = gaussmix.GaussianMixture(**kw).fit(X)
    with pytest.warns(UserWarning, match="not positive definite at initialisation") as dw:
        dk = gdask.GaussianMixture(**kw).fit(da.from_array(X, chunks=100))
    def msgs(ws):
        return sorted(str(w.message) for w in ws if "initialization" in str(w.message))
    assert msgs(dw) == msgs(mw) and len(msgs(mw)) >= 1
    assert_same(dk, mem)


def test_dataframes_with_nullable_pyarrow_and_bool_columns(client):
    X, _ = blobs(n=1500, seed=18)
    pdf = pd.DataFrame({
        "a": X[:, 0],
        "b": pd.array(X[:, 1], dtype="Float64"),
        "c": pd.array(X[:, 2], dtype="double[pyarrow]"),
        "flag": X[:, 0] > 0,
    })
    params = dict(n_components=3, random_state=0, covariance_type="diag", reg_covar=1e-3)
    ddf = dd.from_pandas(pdf, npartitions=3)
    with warnings.catch_warnings():
        # A 0/1 feature: the same degenerate warnings from both (assert_same checks).
        warnings.simplefilter("ignore", gaussmix.DegenerateWarning)
        mem = gaussmix.GaussianMixture(**params).fit(pdf)
        dk = gdask.GaussianMixture(**params).fit(ddf)
    assert_same(dk, mem)
    np.testing.assert_array_equal(dk.predict(ddf).compute(), mem.predict(pdf))
    # A missing value is refused with its row.
    pdf.loc[1234, "b"] = pd.NA
    with pytest.raises(ValueError, match="at row 1234"):
        gdask.GaussianMixture(**params).fit(dd.from_pandas(pdf, npartitions=3))


def test_feature_names_are_checked_as_in_memory(client):
    X, _ = blobs(n=600, seed=19)
    with pytest.raises(TypeError, match="Feature names are only supported if all input features have string"):
        gdask.GaussianMixture(n_components=2).fit(
            dd.from_pandas(pd.DataFrame(X, columns=["a", 1, "c"]), npartitions=2)
        )
    gm = gdask.GaussianMixture(n_components=2, random_state=0).fit(
        dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=2)
    )
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        gm.predict(da.from_array(X, chunks=300))
    plain = gdask.GaussianMixture(n_components=2, random_state=0).fit(da.from_array(X, chunks=300))
    with pytest.warns(UserWarning, match="fitted without feature names"):
        plain.predict(dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=2))


def test_prediction_errors_name_the_block_and_row(client):
    X, _ = blobs(n=1500, seed=20)
    gm = gdask.GaussianMixture(n_components=2, random_state=0).fit(da.from_array(X, chunks=500))
    Xn = X.copy()
    Xn[1234, 1] = np.nan
    with pytest.raises(ValueError, match=r"block 2 \(rows from 1000\): .*at row 1234, column 1.*before predicting"):
        gm.predict(da.from_array(Xn, chunks=500)).compute()


def test_float32_score_is_the_in_memory_score(client):
    X, _ = blobs(n=2000, seed=21)
    X32 = X.astype(np.float32)
    params = dict(n_components=3, covariance_type="diag", random_state=0)
    mem = gaussmix.GaussianMixture(**params).fit(X32)
    dk = gdask.GaussianMixture(**params).fit(da.from_array(X32, chunks=700))
    Xd = da.from_array(X32, chunks=700)
    assert abs(dk.score(Xd) - mem.score(X32)) <= 1e-13 * abs(mem.score(X32))
    assert abs(dk.bic(Xd) - mem.bic(X32)) <= 1e-12 * abs(mem.bic(X32))


def test_the_per_block_pass_by_hand_equals_the_in_memory_fit():
    X, w = blobs(n=2000, seed=23)
    st = start("tied")
    gm = gaussmix.GaussianMixture(3, covariance_type="tied", tol=1e-8, **st).fit(X, sample_weight=w)
    cov = np.linalg.inv(st["precisions_init"])
    em = gdask.BlockEm("tied", st["weights_init"].tolist(), st["means_init"].tolist(), cov,
                       tol=1e-8)
    cuts = [0, 700, 1300, 2000]

    def stats():
        return gdask.BlockStats.merge([
            pickle.loads(pickle.dumps(gdask.block_stats(em.model, X[a:b], w[a:b])))
            for a, b in zip(cuts, cuts[1:])
        ])

    while not em.done:
        em.step(stats())
    with pytest.raises(ValueError, match="this EM run is done"):
        em.step(stats())
    assert em.n_iter == gm.n_iter_
    model = em.finish(stats())
    np.testing.assert_allclose(model.means, gm.means_, rtol=1e-10)
    np.testing.assert_allclose(model.covariances, gm.covariances_, rtol=1e-10)
    # Bad arguments are refused with what is wrong.
    with pytest.raises(gdask.RunFailed, match="not positive definite at initialisation"):
        gdask.BlockEm("full", [0.5, 0.5], [[0, 0], [1, 1]], np.zeros((2, 2, 2)), reg_covar=0.0)
    with pytest.raises(ValueError, match="n_threads"):
        gdask.block_stats(gm, X, n_threads=0)


def test_warm_start_on_other_features_is_refused(client):
    X, _ = blobs(n=600)
    gm = gdask.GaussianMixture(2, warm_start=True, random_state=0).fit(da.from_array(X, chunks=200))
    with pytest.raises(ValueError, match=r"starting means have shape \[2, 3\], expected \[2, 2\]"):
        gm.fit(da.from_array(X[:, :2], chunks=200))


def test_the_per_block_pass_is_public_and_exact():
    import doctest

    result = doctest.testmod(gdask)
    assert result.attempted > 0 and result.failed == 0
    X, w = blobs(n=3000, seed=22)
    gm = gaussmix.GaussianMixture(n_components=3, random_state=0).fit(X)
    st = gdask.BlockStats.merge([gdask.block_stats(gm, X[:1000], w[:1000]),
                                 gdask.block_stats(gm, X[1000:], w[1000:])])
    # Centred moments: the covariance an M-step on them gives is the weighted
    # covariance of the rows under the responsibilities, computed here directly.
    r = gm.predict_proba(X) * w[:, None]
    nk = r.sum(0)
    np.testing.assert_allclose(st.counts, nk, rtol=1e-12)
    mu = st.shift + st.first_moments / nk[:, None]
    np.testing.assert_allclose(mu, (r.T @ X) / nk[:, None], rtol=1e-12)
    for k in range(3):
        dx = X - mu[k]
        direct = (r[:, k, None] * dx).T @ dx
        sk = st.first_moments[k]
        via = st.second_moments[k] - np.outer(sk, sk) / nk[k]
        np.testing.assert_allclose(via, direct, rtol=1e-10, atol=1e-10 * np.abs(direct).max())


def test_verbose_prints_a_line_per_iteration(client, capsys):
    X, _ = blobs(n=1000)
    gdask.GaussianMixture(n_components=3, verbose=2, random_state=0, n_init=2).fit(
        da.from_array(X, chunks=500)
    )
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if "Iteration" in ln]
    assert lines and re.search(r"Iteration 1: init 0: lower bound -?\d+\.\d+ .*init 1:", lines[0])


def readme_dask_blocks():
    text = (REPO / "README.md").read_text()
    start = text.index("## Dask")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def test_readme_dask_example_runs():
    blocks = readme_dask_blocks()
    assert blocks
    ns = {"__name__": "__main__"}
    try:
        for b in blocks:
            exec(compile(b, "README.md", "exec"), ns)
        assert ns["gm"].converged_
    finally:
        if "client" in ns:
            ns["client"].close()
        if "cluster" in ns:
            ns["cluster"].close()


@pytest.mark.skipif(os.environ.get("GAUSSMIX_SLOW") != "1", reason="slow: GAUSSMIX_SLOW=1")
def test_larger_than_memory_data_fit_from_files(tmp_path):
    # 3 workers capped at 1 GB each; 1.5 GB of rows read from a .npy file by the
    # workers on every pass (persist=False): no worker ever holds the data.
    n, d = 11_750_000, 16
    path = tmp_path / "big.npy"
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    for s in range(0, n, 1_000_000):
        e = min(n, s + 1_000_000)
        lab = rng.integers(0, 4, size=e - s)
        out[s:e] = rng.normal(size=(e - s, d)) + lab[:, None] * 3.0
    out.flush()
    del out
    params = dict(
        n_components=4, covariance_type="diag", max_iter=3, tol=0.0,
        means_init=np.arange(4)[:, None] * np.full((4, d), 2.9),
        weights_init=np.full(4, 0.25), precisions_init=np.ones((4, d)),
    )
    cluster = LocalCluster(
        n_workers=3, threads_per_worker=1, memory_limit="1GB", dashboard_address=":0"
    )
    c = Client(cluster)
    try:
        X = gdask.read_npy(path, block_rows=250_000)
        assert X.nbytes > 1.4e9
        t = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)
            dk = gdask.GaussianMixture(**params, persist=False, n_threads=1).fit(X)
        print(f"dask fit of {X.nbytes / 1e9:.2f} GB: {time.time() - t:.1f} s")
    finally:
        c.close()
        cluster.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)
        mem = gaussmix.GaussianMixture(**params).fit(np.load(path, mmap_mode="r"))
    assert_same(dk, mem)
