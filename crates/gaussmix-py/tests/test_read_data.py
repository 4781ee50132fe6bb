"""gaussmix.read_data: the CLI's data readers (gaussmix-io) from Python."""

import pathlib

import numpy as np
import pytest

import gaussmix


def test_csv_with_header(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("height, weight\n1.8,80\n\n1.6, 55.5\n1.7,70\n")
    X, names = gaussmix.read_data(str(p))
    assert names == ["height", "weight"]
    assert X.dtype == np.float64 and X.shape == (3, 2) and X.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(X, [[1.8, 80.0], [1.6, 55.5], [1.7, 70.0]])


def test_text_without_header_has_no_names(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("1\t2\n3\t4\n")
    X, names = gaussmix.read_data(p)  # a pathlib.Path works too
    assert names is None
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.0, 4.0]])
    q = tmp_path / "d.txt"
    q.write_text("1  2\n3 4\n")
    X, _ = gaussmix.read_data(q, delimiter=" ")
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, ">f8"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_npy(tmp_path, dtype, order):
    rng = np.random.default_rng(7)
    A = np.asarray(rng.normal(size=(37, 3)), dtype=dtype, order=order)
    p = tmp_path / "x.npy"
    np.save(p, A)
    X, names = gaussmix.read_data(p)
    assert names is None
    assert X.dtype == np.float64 and X.shape == (37, 3)
    np.testing.assert_array_equal(X, A.astype(np.float64))


def test_npy_1d_is_one_column(tmp_path):
    p = tmp_path / "v.npy"
    np.save(p, np.array([0.5, 1.5, 2.5]))
    X, _ = gaussmix.read_data(p)
    assert X.shape == (3, 1)


def test_read_data_feeds_a_fit(tmp_path):
    rng = np.random.default_rng(3)
    A = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2))])
    p = tmp_path / "blobs.csv"
    np.savetxt(p, A, delimiter=",", header="x,y", comments="")
    X, names = gaussmix.read_data(p)
    assert names == ["x", "y"]
    np.testing.assert_allclose(X, A, rtol=1e-15)
    gm = gaussmix.GaussianMixture(n_components=2, random_state=0).fit(X)
    assert gm.converged_


def test_errors_say_what_and_where(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,x7\n")
    with pytest.raises(ValueError, match=r'bad.csv: line 3, column 2 \(b\): "x7" is not a number'):
        gaussmix.read_data(bad)
    nan = tmp_path / "nan.npy"
    np.save(nan, np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match=r"row 1, column 2 \(1\): missing value \(NaN\)"):
        gaussmix.read_data(nan)
    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="3 dimensions"):
        gaussmix.read_data(cube)
    ints = tmp_path / "ints.npy"
    np.save(ints, np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="unsupported dtype"):
        gaussmix.read_data(ints)
    with pytest.raises(FileNotFoundError, match="cannot read data file"):
        gaussmix.read_data(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundError):
        gaussmix.read_data(pathlib.Path(tmp_path / "missing.npy"))
    with pytest.raises(OSError):
        gaussmix.read_data(tmp_path)  # a directory
    with pytest.raises((TypeError, ValueError)):
        gaussmix.read_data(bad, delimiter="ab")
