"""Shared test helpers: where the reference fixtures and the CLI binary are."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
FIXTURES = Path(os.environ.get("GAUSSMIX_FIXTURES", REPO.parent / "shared" / "fixtures"))
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "case.json").exists()) if FIXTURES.is_dir() else []


def load_case(name):
    case = json.loads((FIXTURES / name / "case.json").read_text())
    X = np.load(FIXTURES / name / "X.npy")
    return case, X


def assert_close(actual, expected, rtol=1e-9, what=""):
    """Norm-wise comparison, as the fixtures' README prescribes:
    max|a − b| ≤ rtol · max|b|."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    err = np.max(np.abs(a - b)) if a.size else 0.0
    scale = np.max(np.abs(b)) if b.size else 0.0
    assert err <= rtol * scale, f"{what}: max error {err:.3e} > {rtol:g} × {scale:.3e}"


@pytest.fixture(scope="session")
def fixture_cases():
    if not CASES:
        pytest.fail(f"reference fixtures not found at {FIXTURES} (../shared/fixtures beside the repo)")
    return CASES


def cli_binary():
    """The gaussmix CLI for interop tests: $GAUSSMIX_BIN, else the newer of
    target/{release,debug} (a stale release binary must not test an old format)."""
    env = os.environ.get("GAUSSMIX_BIN")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    built = [p for p in (target / "release" / "gaussmix", target / "debug" / "gaussmix") if p.exists()]
    return max(built, key=lambda p: p.stat().st_mtime) if built else None


def blobs(n=600, d=2, k=3, seed=0, spread=8.0, sizes=None):
    """Well-separated Gaussian blobs (deterministic)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, spread, size=(k, d))
    if sizes is None:
        sizes = [n // k] * k
    X = np.concatenate([c + rng.normal(size=(s, d)) for c, s in zip(centers, sizes)])
    return np.ascontiguousarray(X)
