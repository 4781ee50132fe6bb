"""`gaussmix convert` and `fit --stream` on the three streamable formats (issue 14).

The big-full data of bench/run.py (1M rows x 16 features) as .npy, as CSV (written
here with numpy, %.17g, a header) and as Parquet (made from the CSV by `gaussmix
convert`), all in bench/data/ (git-ignored). Measures, in one run, with the files in
the page cache:

  - `gaussmix convert big-full.csv -o X.npy|X.parquet`: wall time and peak RSS;
  - `fit --stream --init-model big-full.init.json --tol 0` on each format, 2 and 5
    iterations: time per iteration ((t5 - t2) / 3) and peak RSS, and whether the three
    model files are identical but for the feature names (they must be: the same values,
    the same chunks).

Usage: target/py-venv/bin/python bench/stream_formats.py
Writes bench/results/stream-formats.json.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = ROOT / "target" / "release" / "gaussmix"
sys.path.insert(0, str(HERE))


def measured(*args):
    """Wall time and the child's own peak RSS (MB), from wait4."""
    t = time.perf_counter()
    p = subprocess.Popen([str(a) for a in args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(map(str, args))}\n{err.decode()}")
    return secs, usage.ru_maxrss / 1024.0


def main():
    import run as workloads

    npy, init = workloads.make("big-full", 1_000_000, 16, 32, "full")
    data = HERE / "data"
    csv = data / "big-full.csv"
    if not csv.exists():
        x = np.load(npy)
        tmp = data / "big-full.tmp.csv"
        np.savetxt(tmp, x, delimiter=",", fmt="%.17g", header=",".join(f"f{j}" for j in range(16)), comments="")
        os.replace(tmp, csv)
    result = {"rows": 1_000_000, "features": 16, "csv_mb": csv.stat().st_size / 1e6, "convert": {}, "stream": {}}
    # Into the page cache, by a child (a fit forked from this process would otherwise
    # count pages this process touched in its own peak RSS).
    for f in (npy, csv):
        subprocess.run(["cat", str(f)], stdout=subprocess.DEVNULL, check=True)
    for ext in ("npy", "parquet"):
        out = data / f"big-full.converted.{ext}"
        secs, rss = measured(BIN, "convert", csv, "-o", out, "-q")
        result["convert"][ext] = {"seconds": secs, "peak_rss_mb": rss, "mb": out.stat().st_size / 1e6}
        print(f"convert csv -> {ext}: {secs:.2f} s, peak RSS {rss:.0f} MB")
    sources = {"npy": data / "big-full.converted.npy", "csv": csv, "parquet": data / "big-full.converted.parquet"}
    models = {}
    for name, path in sources.items():
        times = {}
        for iters in (2, 5):
            model = data / f"stream-{name}-{iters}.json"
            secs, rss = measured(BIN, "fit", path, "--stream", "--init-model", init, "--tol", 0,
                                 "--max-iter", iters, "-q", "-o", model)
            times[iters] = (secs, rss)
        doc = json.loads((data / f"stream-{name}-5.json").read_text())
        doc.pop("feature_names", None)  # .npy has none; CSV and Parquet have f0..f15
        models[name] = json.dumps(doc, sort_keys=True)
        per_iter = (times[5][0] - times[2][0]) / 3
        result["stream"][name] = {"seconds_per_iteration": per_iter, "peak_rss_mb": max(times[2][1], times[5][1])}
        print(f"fit --stream {name}: {per_iter:.2f} s/iteration, peak RSS {max(times[2][1], times[5][1]):.0f} MB")
    same = len(set(models.values())) == 1
    result["identical_models"] = same
    print("model files identical across formats:", same)
    (HERE / "results" / "stream-formats.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
