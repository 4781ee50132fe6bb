"""select, model files (shared with the CLI) and their feature names."""

import json
import os
import subprocess

import numpy as np
import pytest

import gaussmix
from conftest import assert_close, blobs, cli_binary


def test_select_ranks_candidates_and_returns_the_best_fitted():
    X = blobs(n=600, d=2, k=3, seed=30)
    table, best = gaussmix.select(X, k=range(1, 6), covariance_types=("full", "diag"), random_state=0)
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert len(rows) == 10
    assert [r["rank"] for r in rows] == list(range(1, 11))
    values = [r["criterion"] for r in rows]
    assert values == sorted(values)
    assert rows[0]["k"] == 3 and best.n_components == 3
    assert best.covariance_type == rows[0]["covariance_type"]
    assert_close(best.bic(X), rows[0]["bic"], rtol=1e-9, what="bic")
    assert best.predict(X).shape == (600,)
    aic_table, _ = gaussmix.select(X, k=[2, 3], covariance_types=["full"], criterion="aic", random_state=0)
    aic_rows = aic_table.to_dict("records") if hasattr(aic_table, "to_dict") else aic_table
    assert aic_rows[0]["criterion"] == aic_rows[0]["aic"]


def test_select_returns_a_dataframe_with_pandas():
    pd = pytest.importorskip("pandas")
    X = blobs(n=200, d=2, k=2, seed=31)
    table, best = gaussmix.select(pd.DataFrame(X, columns=["x", "y"]), k=[1, 2], covariance_types=["full"], random_state=0)
    assert isinstance(table, pd.DataFrame)
    assert list(best.feature_names_in_) == ["x", "y"]


@pytest.mark.parametrize("kind", ["full", "tied", "diag", "spherical"])
def test_save_and_load_round_trip(tmp_path, kind):
    X = blobs(n=300, d=3, k=3, seed=32)
    gm = gaussmix.GaussianMixture(n_components=3, covariance_type=kind, random_state=0, tol=1e-5).fit(X)
    path = tmp_path / "m.json"
    gm.save(path)
    back = gaussmix.load(path)
    assert back.covariance_type == kind and back.n_components == 3 and back.tol == 1e-5
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(back, attr), getattr(gm, attr))
    assert back.n_iter_ == gm.n_iter_ and back.converged_ == gm.converged_
    assert back.lower_bounds_ == gm.lower_bounds_
    np.testing.assert_array_equal(back.score_samples(X), gm.score_samples(X))
    doc = json.loads(path.read_text())
    assert doc["format"] == "gaussmix-model" and doc["version"] == gaussmix.MODEL_VERSION


def test_feature_names_are_kept_in_the_file(tmp_path):
    pd = pytest.importorskip("pandas")
    X = blobs(n=200, d=2, k=2, seed=33)
    gm = gaussmix.GaussianMixture(n_components=2, random_state=0).fit(pd.DataFrame(X, columns=["a", "b"]))
    gm.save(tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["feature_names"] == ["a", "b"]
    back = gaussmix.load(tmp_path / "m.json")
    assert list(back.feature_names_in_) == ["a", "b"]


def test_load_refuses_bad_files(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"covariance_type": "full", "weights": [0.5, 0.6], "means": [[0], [1]], "covariances": [[[1]], [[1]]]}')
    with pytest.raises(ValueError, match="weights"):
        gaussmix.load(p)
    p.write_text('{"format": "gaussmix-model", "version": 99, "covariance_type": "full", "weights": [1], "means": [[0]], "covariances": [[[1]]]}')
    with pytest.raises(ValueError, match="version"):
        gaussmix.load(p)


def test_cli_uses_python_models_and_back(tmp_path):
    """A model saved from Python drives `gaussmix predict`, and a model fitted by
    `gaussmix fit` loads in Python with the same predictions."""
    exe = cli_binary()
    if exe is None or not exe.exists():
        if os.environ.get("GAUSSMIX_BIN"):
            pytest.fail(f"GAUSSMIX_BIN={os.environ['GAUSSMIX_BIN']} does not exist")
        pytest.skip("the gaussmix CLI is not built (cargo build -p gaussmix-cli)")
    X = blobs(n=300, d=2, k=3, seed=34)
    data = tmp_path / "x.csv"
    np.savetxt(data, X, delimiter=",", fmt="%.17g")
    gm = gaussmix.GaussianMixture(n_components=3, random_state=0).fit(X)
    model = tmp_path / "py.json"
    gm.save(model)
    out = subprocess.run([str(exe), "predict", str(model), str(data)], capture_output=True, text=True, check=True).stdout
    labels = [int(v) for v in out.split()[-len(X):]]
    np.testing.assert_array_equal(labels, gm.predict(X))
    cli_model = tmp_path / "cli.json"
    subprocess.run([str(exe), "fit", str(data), "-k", "3", "--seed", "1", "--quiet", "-o", str(cli_model)], check=True)
    back = gaussmix.load(cli_model)
    assert back.n_components == 3 and back.converged_
    out = subprocess.run([str(exe), "score", str(cli_model), str(data), "--per-sample"], capture_output=True, text=True, check=True).stdout
    per_row = [float(v) for v in out.split()[-len(X):]]
    assert_close(back.score_samples(X), per_row, rtol=1e-12, what="score_samples vs CLI")
