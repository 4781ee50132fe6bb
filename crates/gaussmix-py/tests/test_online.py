"""Online EM from Python: ``partial_fit`` / ``end_pass`` on the estimator."""

import numpy as np
import pytest

import gaussmix


def mixture(n, seed):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 3, n)
    centres = np.array([[0.0, 0.0], [6.0, 1.0], [-3.0, 7.0]]) + 1e3
    return centres[lab] + rng.normal(size=(n, 2)) * np.array([1.0, 0.5])


def test_partial_fit_reaches_the_batch_fit_and_records_passes():
    X = mixture(30_000, 1)
    batch = gaussmix.GaussianMixture(3, random_state=0, tol=1e-8, max_iter=500).fit(X)
    gm = gaussmix.GaussianMixture(3, random_state=0, average_from=15)
    for p in range(3):
        for b in range(15):
            gm.partial_fit(X[b * 2000:(b + 1) * 2000])
        assert gm.end_pass() is not None
    assert gm.end_pass() is None
    assert gm.n_batches_ == 45 and gm.n_iter_ == 3 and len(gm.lower_bounds_) == 3
    best = batch.score(X)
    assert abs(gm.score(X) - best) < 1e-4 * abs(best), (gm.score(X), best)
    assert not gm.converged_


def test_a_saved_model_continues_exactly(tmp_path):
    X = mixture(8000, 2)
    a = gaussmix.GaussianMixture(3, random_state=1, covariance_type="diag", step_exponent=0.7)
    b = gaussmix.GaussianMixture(3, random_state=1, covariance_type="diag", step_exponent=0.7)
    for i in range(4):
        a.partial_fit(X[i * 1000:(i + 1) * 1000])
        b.partial_fit(X[i * 1000:(i + 1) * 1000])
    b.save(tmp_path / "ckpt.json")
    c = gaussmix.load(tmp_path / "ckpt.json")
    assert c.step_exponent == 0.7 and c.n_batches_ == 4
    for i in range(4, 8):
        a.partial_fit(X[i * 1000:(i + 1) * 1000])
        c.partial_fit(X[i * 1000:(i + 1) * 1000])
    np.testing.assert_array_equal(a.means_, c.means_)
    np.testing.assert_array_equal(a.covariances_, c.covariances_)


def test_weights_and_thread_count():
    X = mixture(4000, 3)
    w = np.arange(4000) % 3 + 1.0
    runs = []
    for threads in (1, 2):
        gm = gaussmix.GaussianMixture(3, random_state=2, n_threads=threads)
        for i in range(4):
            s = slice(i * 1000, (i + 1) * 1000)
            gm.partial_fit(X[s], sample_weight=w[s])
        runs.append(gm.means_)
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("name,value", [("step_exponent", 0.5), ("step_exponent", 1.5), ("average_from", 0)])
def test_bad_online_parameters_are_refused(name, value):
    gm = gaussmix.GaussianMixture(2, **{name: value})
    with pytest.raises(ValueError, match=name):
        gm.partial_fit(mixture(100, 4))


def test_a_batch_with_other_columns_is_refused():
    gm = gaussmix.GaussianMixture(2, random_state=0).partial_fit(mixture(500, 5))
    with pytest.raises(ValueError):
        gm.partial_fit(np.ones((10, 3)))


def test_changing_the_model_mid_stream_is_refused_and_fit_starts_again():
    X = mixture(3000, 6)
    gm = gaussmix.GaussianMixture(3, random_state=0).partial_fit(X[:1000])
    gm.set_params(n_components=2)
    with pytest.raises(ValueError, match="fitted online"):
        gm.partial_fit(X[1000:2000])
    gm.fit(X)
    assert not hasattr(gm, "n_batches_") and gm.means_.shape == (2, 2)
    gm.partial_fit(X[:1000])
    assert gm.n_batches_ == 1


def test_partial_fit_file_equals_feeding_the_batches(tmp_path):
    X = mixture(5000, 7)
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", fmt="%.17g", header="a,b", comments="")
    by_hand = gaussmix.GaussianMixture(3, random_state=3)
    for p in range(2):
        for i in range(0, 5000, 700):
            by_hand.partial_fit(X[i:i + 700])
        if p == 0:
            by_hand._average_from_next = by_hand.n_batches_
        by_hand.end_pass()
    for name in ("x.npy", "x.csv"):
        gm = gaussmix.GaussianMixture(3, random_state=3).partial_fit_file(
            tmp_path / name, batch_size=700, passes=2
        )
        np.testing.assert_array_equal(gm.means_, by_hand.means_)
        assert gm.n_iter_ == 2 and gm.n_batches_ == 16
    # Columns and a weight column, from the header.
    np.savetxt(tmp_path / "w.csv", np.c_[X, np.full(5000, 2.0)], delimiter=",", fmt="%.17g",
               header="a,b,w", comments="")
    gm = gaussmix.GaussianMixture(3, random_state=3).partial_fit_file(
        tmp_path / "w.csv", batch_size=700, weight_column="w")
    assert gm.means_.shape == (3, 2)
    with pytest.raises(ValueError, match="batch_size"):
        gaussmix.GaussianMixture(3).partial_fit_file(tmp_path / "x.npy", batch_size=0)
    with pytest.raises(ValueError, match="no column"):
        gaussmix.GaussianMixture(3).partial_fit_file(tmp_path / "x.csv", columns=["zz"])


def test_end_pass_reports_warnings():
    X = np.c_[mixture(3000, 8), np.full(3000, 2.5)]
    gm = gaussmix.GaussianMixture(3, random_state=0)
    with pytest.warns(gaussmix.DegenerateWarning):
        gm.partial_fit(X[:1000])
        gm.partial_fit(X[1000:])
        gm.end_pass()
    assert any(w["kind"] == "constant_feature" for w in gm.fit_warnings_)
