"""The shared reference fixtures (scikit-learn 1.9.1 results), reproduced from Python to
1e-9 from the same start: parameters, iteration count, convergence, lower bounds,
score, BIC/AIC, score_samples, predict_proba, predict."""

import warnings

import numpy as np
import pytest

import gaussmix
from conftest import CASES, FIXTURES, assert_close, load_case

PARAMS = CASES or ["<fixtures missing>"]


def estimator(case, **kw):
    init = case["init"]
    params = dict(
        n_components=case["n_components"],
        covariance_type=case["covariance_type"],
        tol=case["tol"],
        reg_covar=case["reg_covar"],
        max_iter=case["max_iter"],
        weights_init=np.array(init["weights"]),
        means_init=np.array(init["means"]),
        precisions_init=np.array(init["precisions"]),
    )
    params.update(kw)
    return gaussmix.GaussianMixture(**params)


@pytest.mark.parametrize("name", PARAMS)
def test_fit_matches_fixture(name):
    assert (FIXTURES / name / "case.json").exists(), f"no fixture {name} in {FIXTURES}"
    case, X = load_case(name)
    fit = case["fit"]
    gm = estimator(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gm.fit(X)
    conv = [w for w in caught if issubclass(w.category, gaussmix.ConvergenceWarning)]
    assert bool(conv) == (not fit["converged"])
    assert gm.n_iter_ == fit["n_iter"]
    assert gm.converged_ == fit["converged"]
    assert_close(gm.weights_, fit["weights"], what="weights")
    assert_close(gm.means_, fit["means"], what="means")
    assert_close(gm.covariances_, fit["covariances"], what="covariances")
    assert_close(gm.lower_bound_, fit["lower_bound"], what="lower_bound")
    assert_close(gm.lower_bounds_, fit["lower_bounds"], what="lower_bounds")
    assert_close(gm.score(X), fit["score"], what="score")
    assert_close(gm.bic(X), fit["bic"], what="bic")
    assert_close(gm.aic(X), fit["aic"], what="aic")
    assert gm._n_parameters() == fit["n_parameters"]
    assert_close(gm.score_samples(X), case["score_samples"], what="score_samples")
    m = len(case["predict_proba"])
    assert_close(gm.predict_proba(X[:m]), case["predict_proba"], what="predict_proba")
    np.testing.assert_array_equal(gm.predict(X), case["predict"])
    np.testing.assert_array_equal(gm.fit_predict(X), case["predict"])
    # precisions_ and precisions_cholesky_ are consistent with the covariances.
    if gm.covariance_type in ("full", "tied"):
        cov = gm.covariances_.reshape(-1, X.shape[1], X.shape[1])
        prec = gm.precisions_.reshape(cov.shape)
        for c, p in zip(cov, prec):
            assert_close(c @ p, np.eye(X.shape[1]), rtol=1e-7, what="cov @ prec")
    else:
        assert_close(gm.precisions_ * gm.covariances_, np.ones_like(gm.covariances_), what="prec")


@pytest.mark.parametrize("name", PARAMS)
def test_one_step_matches_fixture(name):
    case, X = load_case(name)
    one = case["one_step"]
    gm = estimator(case, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)
        gm.fit(X)
    assert gm.n_iter_ == 1
    assert_close(gm.weights_, one["weights"], what="weights")
    assert_close(gm.means_, one["means"], what="means")
    assert_close(gm.covariances_, one["covariances"], what="covariances")
    assert_close(gm.lower_bound_, one["mean_log_likelihood_at_init"], what="L1")


@pytest.mark.parametrize("name", PARAMS)
def test_float32_input_follows_the_float64_fit(name):
    """f32 in: fitted in f32 by the engine, attributes come back as float32 and stay
    close to the f64 reference (f32 data are a rounding of the f64 data)."""
    case, X = load_case(name)
    gm = estimator(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)
        gm.fit(X.astype(np.float32))
    for attr in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(gm, attr).dtype == np.float32, attr
    assert gm.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert gm.score_samples(X.astype(np.float32)).dtype == np.float32
    assert_close(gm.means_, case["fit"]["means"], rtol=1e-3, what="means (f32)")
