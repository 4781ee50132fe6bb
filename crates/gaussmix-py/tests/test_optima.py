"""The spurious-optimum rule from Python (any fitted mixture, scikit-learn's too) and
the library's start strategies through select."""
import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gaussmix


def far_point_data():
    rng = np.random.default_rng(0)
    return np.r_[rng.normal(0.0, 1.0, 60), rng.normal(8.0, 1.0, 60), [40.0]][:, None]


def test_spurious_components_flags_a_scikit_learn_spike():
    X = far_point_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkGaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    spurious = gaussmix.spurious_components(sk, X)
    # scikit-learn's k-means start gives the single far row its own component, whose
    # variance is reg_covar alone.
    assert len(spurious) == 1
    assert abs(sk.means_[spurious[0], 0] - 40.0) < 1e-9
    # A sound fit has none (the far row dropped).
    sound = SkGaussianMixture(2, covariance_type="diag", random_state=0).fit(X[:-1])
    assert gaussmix.spurious_components(sound, X[:-1]) == []


def test_spurious_components_on_gaussmix_models_and_errors():
    X = far_point_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = gaussmix.GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    assert gaussmix.spurious_components(m, X) == gaussmix.spurious_components(m.to_sklearn(), X)
    with pytest.raises(Exception):
        gaussmix.spurious_components(gaussmix.GaussianMixture(2), X)
    with pytest.raises(ValueError):
        gaussmix.spurious_components(m, X.ravel())
    with pytest.raises(ValueError):
        gaussmix.spurious_components(m, np.c_[X, X])


@pytest.mark.parametrize("init", ["em-em", "hierarchical", "k-means++", "kmeans"])
def test_select_takes_every_start(init):
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0, 1, (80, 2)), rng.normal(6, 1, (80, 2))]
    a = gaussmix.select(X, k=[1, 2, 3], covariance_types=["full"], init_params=init,
                        random_state=0)
    b = gaussmix.select(X, k=[1, 2, 3], covariance_types=["full"], init_params=init,
                        random_state=0)
    (table_a, best_a), (table_b, best_b) = a, b
    assert best_a.n_components == 2
    np.testing.assert_array_equal(best_a.means_, best_b.means_)


def test_select_table_reports_spurious_and_warm_starts():
    # Four separated clusters, one random start per candidate: plain fits miss some
    # clusters, and the warm start from k - 1 (its widest component split) finds them.
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [12, 0], [24, 12], [36, 12]], dtype=float)
    X = np.concatenate([rng.normal(c, 1.0, (200, 2)) for c in centres])
    rows, best = gaussmix.select(X, k=range(1, 6), covariance_types=["full", "diag"],
                                 init_params="random", random_state=2)
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert all({"spurious", "warm_start"} <= set(r) for r in rows)
    assert any(r["warm_start"] for r in rows)
    assert not any(r["warm_start"] and r["k"] == 1 for r in rows)
    assert best.n_components == 4
    for kind in ("full", "diag"):
        ll = {r["k"]: r["log_likelihood"] for r in rows if r["covariance_type"] == kind}
        assert ll[1] < ll[2] < ll[3] < ll[4], ll
