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
