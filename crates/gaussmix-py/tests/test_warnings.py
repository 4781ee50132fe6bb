"""The fit's warnings (raised from ``fit`` and kept as ``fit_warnings_``) and feature
names through model file version 2."""

import json
import warnings

import numpy as np
import pytest

import gaussmix
from conftest import blobs


def fit_catching(gm, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gm.fit(X)
    return caught


def test_an_ordinary_fit_warns_nothing():
    X = blobs()
    caught = fit_catching(gaussmix.GaussianMixture(3, random_state=0), X)
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]


def test_degenerate_warning_is_a_user_warning_and_exported():
    assert issubclass(gaussmix.DegenerateWarning, UserWarning)
    assert not issubclass(gaussmix.DegenerateWarning, gaussmix.ConvergenceWarning)
    assert "DegenerateWarning" in gaussmix.__all__


def test_a_constant_column_raises_a_degenerate_warning_naming_the_column():
    pd = pytest.importorskip("pandas")
    X = blobs()
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": np.full(len(X), 3.0)})
    gm = gaussmix.GaussianMixture(2, random_state=0)
    with pytest.warns(gaussmix.DegenerateWarning, match='feature "c" is constant'):
        gm.fit(df)
    kinds = [w["kind"] for w in gm.fit_warnings_]
    assert "constant_feature" in kinds
    w = next(w for w in gm.fit_warnings_ if w["kind"] == "constant_feature")
    assert (w["component"], w["feature"]) == (None, 2)


def test_reg_covar_large_on_tiny_scale_data():
    X = blobs()
    gm = gaussmix.GaussianMixture(2, covariance_type="diag", random_state=0)
    with pytest.warns(gaussmix.DegenerateWarning, match="reg_covar = 1e-6 is larger than"):
        gm.fit(X * 1e-5)
    assert {w["kind"] for w in gm.fit_warnings_} >= {"reg_covar_large"}


def test_not_converged_is_a_convergence_warning_only():
    X = blobs()
    gm = gaussmix.GaussianMixture(3, max_iter=1, random_state=0)
    caught = fit_catching(gm, X)
    conv = [w for w in caught if issubclass(w.category, gaussmix.ConvergenceWarning)]
    assert len(conv) == 1
    assert not [w for w in caught if issubclass(w.category, gaussmix.DegenerateWarning)]
    assert [w["kind"] for w in gm.fit_warnings_] == ["not_converged"]


def test_k_equal_to_n_collapses():
    X = np.array([[0.0, 1.0], [3.0, 0.5], [1.0, 4.0], [5.0, 5.0]])
    gm = gaussmix.GaussianMixture(4, covariance_type="diag", random_state=0)
    caught = fit_catching(gm, X)
    kinds = [w["kind"] for w in gm.fit_warnings_]
    assert kinds[0] == "too_many_parameters"
    assert kinds.count("collapsed_variance") == 4
    degenerate = [w for w in caught if issubclass(w.category, gaussmix.DegenerateWarning)]
    assert len(degenerate) == len(kinds)


def test_feature_names_and_warnings_survive_version_2_files(tmp_path):
    pd = pytest.importorskip("pandas")
    X = blobs()
    df = pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "k": np.ones(len(X))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = gaussmix.GaussianMixture(2, random_state=0).fit(df)
    gm.save(tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["version"] == 3 == gaussmix.MODEL_VERSION
    assert doc["feature_names"] == ["x", "y", "k"]
    assert [w["kind"] for w in doc["fit"]["warnings"]] == [w["kind"] for w in gm.fit_warnings_]
    back = gaussmix.load(tmp_path / "m.json")
    assert list(back.feature_names_in_) == ["x", "y", "k"]
    assert back.fit_warnings_ == gm.fit_warnings_
    assert (back.predict(df) == gm.predict(df)).all()


def test_a_version_1_file_still_loads(tmp_path):
    p = tmp_path / "v1.json"
    p.write_text(json.dumps({
        "format": "gaussmix-model", "version": 1, "covariance_type": "spherical",
        "weights": [1.0], "means": [[0.0, 0.0]], "covariances": [1.0],
        "feature_names": ["a", "b"],
    }))
    m = gaussmix.load(p)
    assert list(m.feature_names_in_) == ["a", "b"]
    p.write_text(p.read_text().replace('"version": 1', '"version": 2').replace('["a", "b"]', '["a", "a"]'))
    with pytest.raises(ValueError, match="unique"):
        gaussmix.load(p)


def test_select_warns_when_its_winner_did_not_converge():
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (100, 2))])
    with pytest.warns(gaussmix.ConvergenceWarning, match="the selected model did not converge"):
        _, best = gaussmix.select(X, k=[2], covariance_types=["full"], max_iter=1, tol=0.0, random_state=0)
    assert [w["kind"] for w in best.fit_warnings_] == ["not_converged"]
