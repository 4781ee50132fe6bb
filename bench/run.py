"""gaussmix vs scikit-learn, same start, same data, same machine, same run.

Generates each workload deterministically (cached in bench/data/), starts both from
equal weights, K rows of the data as means and the data's covariance for every
component, runs exactly MAX_ITER iterations (tol = 0) and prints ms/iteration, the
ratio, peak memory and whether the final lower bounds agree to 1e-6 relative.

Usage: bench/setup.sh once, then
    bench/.venv/bin/python bench/run.py [--only NAME,...] [--repeat R] [--iters N]
    bench/.venv/bin/python bench/run.py --compare-dtypes [--only NAME,...]
    bench/.venv/bin/python bench/run.py --ab OTHER/target/release/gaussmix --repeat 5

--compare-dtypes runs gaussmix on each workload in f64 and in f32 (`--dtype f32`),
alternating, and prints both medians, the f32 speed-up, both peak memories and how far
the f32 lower bound is from the f64 one (relative).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
GAUSSMIX = ROOT / "target" / "release" / "gaussmix"

WORKLOADS = [
    # name, N, D, K, covariance type
    ("mid-full", 100_000, 8, 16, "full"),
    ("big-full", 1_000_000, 16, 32, "full"),
    ("big-diag", 1_000_000, 64, 64, "diag"),
    ("tall-2d", 2_000_000, 2, 8, "full"),
    ("mid-tied", 200_000, 16, 16, "tied"),
    ("mid-spherical", 200_000, 16, 16, "spherical"),
]


def make(name, n, d, k, kind):
    """Data from a K-component mixture with random means and covariances (seeded)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"{name}.npy"
    init_path = DATA / f"{name}.init.json"
    if path.exists() and init_path.exists():
        return path, init_path
    rng = np.random.default_rng(20261129)
    centers = rng.normal(0.0, 4.0, size=(k, d))
    labels = rng.integers(0, k, size=n)
    x = np.empty((n, d))
    for c in range(k):
        idx = np.nonzero(labels == c)[0]
        a = rng.normal(0.0, 1.0, size=(d, d)) / np.sqrt(d)
        x[idx] = centers[c] + rng.normal(size=(len(idx), d)) @ (a + 0.5 * np.eye(d))
    np.save(path, x)
    start_rows = rng.choice(n, size=k, replace=False)
    cov = np.atleast_2d(np.cov(x.T))
    covs = {
        "full": [cov.tolist()] * k,
        "tied": cov.tolist(),
        "diag": [np.diag(cov).tolist()] * k,
        "spherical": [float(np.mean(np.diag(cov)))] * k,
    }[kind]
    init = {
        "covariance_type": kind,
        "weights": [1.0 / k] * k,
        "means": x[start_rows].tolist(),
        "covariances": covs,
    }
    init_path.write_text(json.dumps(init))
    return path, init_path


def measured(cmd, env=None):
    """Runs a command, returning its stdout and its own peak RSS (MB) from wait4."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # Read the pipes ourselves, then reap with wait4 to get this child's rusage.
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"command failed: {' '.join(map(str, cmd))}\n{err.decode()}")
    return out.decode(), usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--repeat", type=int, default=3, help="gaussmix runs per workload; the median is reported")
    ap.add_argument("--sk-repeat", type=int, default=1, help="scikit-learn runs per workload (slow: big-full is ~4 min a run)")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--threads", default="", help="gaussmix --threads (default: all cores)")
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--dtype", default="f64", help="gaussmix --dtype (f32: half the memory)")
    ap.add_argument("--json", default="", help="also write the results here")
    ap.add_argument("--compare-dtypes", action="store_true", help="gaussmix f64 vs f32, same run")
    ap.add_argument("--ab", default="", help="another gaussmix binary (e.g. an older commit's): "
                    "this build vs that one, alternating runs, f64 and f32")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    if not GAUSSMIX.exists():
        sys.exit("build first: cargo build --release -p gaussmix-cli (bench/setup.sh does)")
    # The machine sets OPENBLAS_CORETYPE/L2_SIZE for old OpenBLAS builds; they slow the
    # current one, so the reference runs without them (and reports its BLAS).
    sk_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if a.compare_dtypes:
        return compare_dtypes(a, set(filter(None, a.only.split(","))))
    if a.ab:
        return ab_compare(a, only, Path(a.ab))
    rows = []
    print(f"{'workload':<14} {'N':>9} {'D':>3} {'K':>3} {'type':<9} {'gaussmix ms/it':>14} {'sklearn ms/it':>13} {'speed-up':>8} {'gm MB':>7} {'sk MB':>7} {'data MB':>7}  lower bounds")
    for name, n, d, k, kind in WORKLOADS:
        if only and name not in only:
            continue
        path, init = make(name, n, d, k, kind)
        gm_times, sk_times, gm_mem, sk_mem = [], [], [], []
        gm_lb = sk_lb = None
        blas = None
        for _ in range(a.repeat):
            cmd = [str(GAUSSMIX), "fit", str(path), "--init-model", str(init), "--tol", "0",
                   "--max-iter", str(a.iters), "--quiet", "--json", "-o", os.devnull]
            if a.threads:
                cmd += ["--threads", a.threads]
            cmd += ["--dtype", a.dtype]
            out, mem = measured(cmd)
            v = json.loads(out)
            assert v["n_iter"] == a.iters, v["n_iter"]
            gm_times.append(v["fit_seconds"] / a.iters * 1e3)
            gm_mem.append(mem)
            gm_lb = v["lower_bound"]
            if not a.skip_sklearn and len(sk_times) < a.sk_repeat:
                out, mem = measured([sys.executable, str(HERE / "sk_fit.py"), str(path), str(init), str(a.iters)], env=sk_env)
                s = json.loads(out)
                sk_times.append(s["fit_seconds"] / a.iters * 1e3)
                sk_mem.append(mem)
                sk_lb = s["lower_bound"]
                blas = s["blas"]
        med = lambda xs: sorted(xs)[len(xs) // 2] if xs else float("nan")
        gm_t, sk_t = med(gm_times), med(sk_times)
        agree = "n/a" if sk_lb is None else ("agree" if abs(gm_lb - sk_lb) <= 1e-6 * abs(sk_lb) else f"DIFFER {gm_lb} vs {sk_lb}")
        data_mb = n * d * 8 / 2**20
        print(f"{name:<14} {n:>9} {d:>3} {k:>3} {kind:<9} {gm_t:>14.1f} {sk_t:>13.1f} {sk_t / gm_t:>7.1f}x {max(gm_mem):>7.0f} {max(sk_mem) if sk_mem else float('nan'):>7.0f} {data_mb:>7.0f}  {agree}", flush=True)
        rows.append({"name": name, "n": n, "d": d, "k": k, "type": kind, "gaussmix_ms_per_iter": gm_t,
                     "sklearn_ms_per_iter": sk_t, "speedup": sk_t / gm_t, "gaussmix_peak_mb": max(gm_mem),
                     "sklearn_peak_mb": max(sk_mem) if sk_mem else None, "data_mb": data_mb,
                     "gaussmix_lower_bound": gm_lb, "sklearn_lower_bound": sk_lb, "blas": blas})
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


def gaussmix_run(path, init, iters, dtype, threads="", binary=None):
    """One `gaussmix fit` run: (ms per iteration, peak MB, final lower bound)."""
    cmd = [str(binary or GAUSSMIX), "fit", str(path), "--init-model", str(init), "--tol", "0",
           "--max-iter", str(iters), "--quiet", "--json", "-o", os.devnull, "--dtype", dtype]
    if threads:
        cmd += ["--threads", threads]
    out, mem = measured(cmd)
    v = json.loads(out)
    assert v["n_iter"] == iters, v["n_iter"]
    return v["fit_seconds"] / iters * 1e3, mem, v["lower_bound"]


def compare_dtypes(a, only):
    med = lambda xs: sorted(xs)[len(xs) // 2]
    print(f"{'workload':<14} {'N':>9} {'D':>3} {'K':>3} {'type':<9} {'f64 ms/it':>9} {'f32 ms/it':>9} {'f32 speed-up':>12} {'f64 MB':>7} {'f32 MB':>7}  f32 vs f64 lower bound")
    rows = []
    for name, n, d, k, kind in WORKLOADS:
        if only and name not in only:
            continue
        path, init = make(name, n, d, k, kind)
        t = {"f64": [], "f32": []}
        mem = {"f64": 0.0, "f32": 0.0}
        lb = {}
        for _ in range(a.repeat):
            for dt in ("f64", "f32"):
                ms, mb, l = gaussmix_run(path, init, a.iters, dt, a.threads)
                t[dt].append(ms)
                mem[dt] = max(mem[dt], mb)
                lb[dt] = l
        t64, t32 = med(t["f64"]), med(t["f32"])
        rel = abs(lb["f32"] - lb["f64"]) / abs(lb["f64"])
        print(f"{name:<14} {n:>9} {d:>3} {k:>3} {kind:<9} {t64:>9.1f} {t32:>9.1f} {t64 / t32:>11.2f}x {mem['f64']:>7.0f} {mem['f32']:>7.0f}  {rel:.1e}", flush=True)
        rows.append({"name": name, "n": n, "d": d, "k": k, "type": kind, "f64_ms_per_iter": t64,
                     "f32_ms_per_iter": t32, "f32_speedup": t64 / t32, "f64_peak_mb": mem["f64"],
                     "f32_peak_mb": mem["f32"], "f64_lower_bound": lb["f64"], "f32_lower_bound": lb["f32"],
                     "lower_bound_rel_diff": rel, "f64_runs": t["f64"], "f32_runs": t["f32"]})
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


def ab_compare(a, only, other):
    """This build (A) against another binary (B), run alternately (A, B, A, B, ...) so
    that drifts of the machine's speed hit both; medians, their ratio, and how far the
    final lower bounds are apart."""
    med = lambda xs: sorted(xs)[len(xs) // 2]
    dtypes = a.dtype.split(",") if a.dtype != "f64" else ["f64", "f32"]
    print(f"{'workload':<14} {'dtype':<5} {'A ms/it':>8} {'B ms/it':>8} {'A/B':>6}  lower bound A vs B")
    rows = []
    for name, n, d, k, kind in WORKLOADS:
        if only and name not in only:
            continue
        path, init = make(name, n, d, k, kind)
        for dt in dtypes:
            t = {"A": [], "B": []}
            lb = {}
            for _ in range(a.repeat):
                for tag, binary in (("A", GAUSSMIX), ("B", other)):
                    ms, _, l = gaussmix_run(path, init, a.iters, dt, a.threads, binary)
                    t[tag].append(ms)
                    lb[tag] = l
            ta, tb = med(t["A"]), med(t["B"])
            rel = abs(lb["A"] - lb["B"]) / abs(lb["B"])
            print(f"{name:<14} {dt:<5} {ta:>8.1f} {tb:>8.1f} {ta / tb:>6.3f}  {rel:.1e}", flush=True)
            rows.append({"name": name, "dtype": dt, "a_ms_per_iter": ta, "b_ms_per_iter": tb, "ratio": ta / tb,
                         "a_runs": t["A"], "b_runs": t["B"], "a_lower_bound": lb["A"], "b_lower_bound": lb["B"]})
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
