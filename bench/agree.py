"""Do two gaussmix binaries compute the same fits? (issue 10: "results agree with
today's within 1e-12 relative").

Runs `gaussmix fit` with each binary on every bench workload (bench/data, made by
run.py), same start (the workload's init model), `--tol 0 --max-iter ITERS`, in f64 and
f32, plus the notebook demo data with default k-means++ starts, and prints the largest
relative difference of weights, means, covariances and the final score between the two.

Usage: bench/.venv/bin/python bench/agree.py OLD_BINARY [NEW_BINARY] [--iters N]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"


def flat(v):
    if isinstance(v, list):
        for x in v:
            yield from flat(x)
    else:
        yield float(v)


def fit(binary, args, out):
    subprocess.run([str(binary), "fit", *args, "--quiet", "-o", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return json.loads(Path(out).read_text())


def rel(a, b):
    a, b = list(flat(a)), list(flat(b))
    assert len(a) == len(b), (len(a), len(b))
    scale = max(1e-300, max(abs(x) for x in b))
    return max(abs(x - y) for x, y in zip(a, b)) / scale


def main():
    p = argparse.ArgumentParser()
    p.add_argument("old")
    p.add_argument("new", nargs="?", default=str(ROOT / "target" / "release" / "gaussmix"))
    p.add_argument("--iters", type=int, default=10)
    a = p.parse_args()
    cases = []
    for path in sorted(DATA.glob("*.npy")):
        init = path.with_suffix(".init.json")
        for dtype in ["f64", "f32"]:
            cases.append((f"{path.stem} {dtype}", [str(path), "--init-model", str(init), "--tol", "0",
                                                  "--max-iter", str(a.iters), "--dtype", dtype]))
    for name, k, cov in [("notebook_1d", 2, "full"), ("notebook_2d", 2, "full"), ("notebook_2d", 3, "diag")]:
        data = ROOT / "crates" / "gaussmix-cli" / "data" / f"{name}.csv"
        cases.append((f"{name} k={k} {cov}", [str(data), "-k", str(k), "--covariance", cov, "--n-init", "3"]))
    worst = 0.0
    print(f"{'case':30} {'weights':>9} {'means':>9} {'covs':>9} {'score':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in cases:
            old = fit(a.old, args, Path(tmp) / "old.json")
            new = fit(a.new, args, Path(tmp) / "new.json")
            r = [rel(new[f], old[f]) for f in ("weights", "means", "covariances")]
            r.append(rel(new["fit"]["score"], old["fit"]["score"]))
            worst = max(worst, *r)
            print(f"{name:30} " + " ".join(f"{x:9.1e}" for x in r))
    print(f"largest relative difference: {worst:.1e}")
    return 0 if worst <= 1e-12 else 1


if __name__ == "__main__":
    sys.exit(main())
