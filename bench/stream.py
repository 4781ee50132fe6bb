"""fit --stream against the in-memory fit, same binary, same run (issue 14).

Writes two .npy files of 16 features drawn from a 32-component mixture, chunk by chunk
(never the whole matrix in memory): 0.6 GB (4.7M rows) and 6 GB (47M rows), under
bench/data/ (git-ignored; the large one is made here, never committed). Then, with the
files in the page cache:

  - the small file: `fit -k 32 --init-sample 100000 --tol 0` in memory and with
    --stream, 2 and 12 iterations each; the model files must be byte-identical, the time
    per iteration is (t12 - t2) / 10, peak RSS is each process's own (wait4);
  - the large file: --stream only (it does not fit the in-memory comparison's budget
    here), 1 and 3 iterations: peak RSS and time per iteration.

Usage: target/py-venv/bin/python bench/stream.py [--small-rows N] [--big-rows N]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "gaussmix"
D, K = 16, 32


def make(path, n, seed=1):
    """n rows of a seeded 32-component, 16-feature mixture, written in 1M-row chunks."""
    if path.exists() and npformat.read_magic(open(path, "rb")) and np.load(path, mmap_mode="r").shape == (n, D):
        return
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(K, D))
    factors = [rng.normal(size=(D, D)) * 0.3 + np.eye(D) for _ in range(K)]
    tmp = path.with_suffix(".tmp.npy")
    out = npformat.open_memmap(tmp, mode="w+", dtype="<f8", shape=(n, D))
    chunk = 1_000_000
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        lab = rng.integers(0, K, size=e - s)
        z = rng.normal(size=(e - s, D))
        x = np.empty((e - s, D))
        for c in range(K):
            m = lab == c
            x[m] = centres[c] + z[m] @ factors[c].T
        out[s:e] = x
        out.flush()
    del out
    os.replace(tmp, path)


def warm(path):
    """Reads the file once so that it sits in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def fit(path, iters, stream, out):
    cmd = [str(BIN), "fit", str(path), "-k", str(K), "--init-sample", "100000", "--tol", "0",
           "--max-iter", str(iters), "--seed", "1", "--json", "-o", str(out)]
    if stream:
        cmd.append("--stream")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.perf_counter()
    o, e = p.stdout.read(), p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{e.decode()}")
    summary = json.loads(o)
    return {"fit_seconds": summary["fit_seconds"], "wall": wall, "rss_mb": usage.ru_maxrss / 1024.0,
            "n_iter": summary["fit"]["n_iter"] if "fit" in summary else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small-rows", type=int, default=4_700_000)
    ap.add_argument("--big-rows", type=int, default=47_000_000)
    ap.add_argument("--json", default="")
    ap.add_argument("--make", nargs=2, metavar=("PATH", "ROWS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make:
        make(Path(a.make[0]), int(a.make[1]))
        return
    data = ROOT / "bench" / "data"
    data.mkdir(parents=True, exist_ok=True)
    small, big = data / "stream-small.npy", data / "stream-big.npy"
    print(f"writing {small.name} ({a.small_rows} rows) and {big.name} ({a.big_rows} rows) ...", flush=True)
    # In a child process: a child forked from this one would count this process's pages
    # (the memory map the writing sweeps) in its own peak RSS.
    for path, n in ((small, a.small_rows), (big, a.big_rows)):
        subprocess.run([sys.executable, __file__, "--make", str(path), str(n)], check=True)
    tmp = data / "stream-out"
    tmp.mkdir(exist_ok=True)
    res = {"small_rows": a.small_rows, "big_rows": a.big_rows,
           "small_gb": small.stat().st_size / 1e9, "big_gb": big.stat().st_size / 1e9}
    warm(small)
    for stream in (False, True):
        tag = "stream" if stream else "memory"
        r2 = fit(small, 2, stream, tmp / f"{tag}2.json")
        r12 = fit(small, 12, stream, tmp / f"{tag}12.json")
        res[f"small_{tag}"] = {"t2": r2["fit_seconds"], "t12": r12["fit_seconds"],
                               "per_iter": (r12["fit_seconds"] - r2["fit_seconds"]) / 10,
                               "rss_mb": max(r2["rss_mb"], r12["rss_mb"])}
        print(tag, res[f"small_{tag}"], flush=True)
    same = (tmp / "memory12.json").read_bytes() == (tmp / "stream12.json").read_bytes() and \
        (tmp / "memory2.json").read_bytes() == (tmp / "stream2.json").read_bytes()
    res["small_identical"] = same
    warm(big)
    r1 = fit(big, 1, True, tmp / "big1.json")
    r3 = fit(big, 3, True, tmp / "big3.json")
    res["big_stream"] = {"t1": r1["fit_seconds"], "t3": r3["fit_seconds"],
                         "per_iter": (r3["fit_seconds"] - r1["fit_seconds"]) / 2,
                         "rss_mb": max(r1["rss_mb"], r3["rss_mb"])}
    print("big stream", res["big_stream"], flush=True)
    sm, ss, bs = res["small_memory"], res["small_stream"], res["big_stream"]
    print(f"small ({res['small_gb']:.2f} GB): memory {sm['per_iter']:.3f} s/iter, RSS {sm['rss_mb']:.0f} MB; "
          f"stream {ss['per_iter']:.3f} s/iter ({ss['per_iter'] / sm['per_iter']:.2f}x), RSS {ss['rss_mb']:.0f} MB; "
          f"models identical: {same}")
    print(f"big ({res['big_gb']:.2f} GB): stream {bs['per_iter']:.3f} s/iter, RSS {bs['rss_mb']:.0f} MB "
          f"(RSS big/small {bs['rss_mb'] / ss['rss_mb']:.2f})")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
