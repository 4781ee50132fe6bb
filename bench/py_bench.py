"""The Python package against scikit-learn (same process, same data, same start) and
against the CLI (the binding's overhead and memory).

For each workload of bench/run.py (same data generation and start: equal weights, K
rows of the data as means, the data's covariance for every component; tol = 0, exactly
--iters iterations, reg_covar = 1e-6):

- `gaussmix.GaussianMixture.fit` and `sklearn.mixture.GaussianMixture.fit` timed in this
  process (median of --repeat / --sk-repeat runs), and whether their lower bounds agree
  to 1e-6 relative;
- `gaussmix fit --json` (the CLI) run --repeat times, alternating with the Python fits:
  the binding's overhead is median(Python fit) / median(CLI fit_seconds) − 1;
- peak memory (max RSS): a child process that loads the array and runs the Python fit,
  against the CLI's own peak plus the array's size.

Usage (release build of the CLI, the package installed in the Python running this):
    cargo build --release -p gaussmix-cli
    scripts/test   # or: pip install ./crates/gaussmix-py into any venv with scikit-learn
    target/py-venv/bin/python bench/py_bench.py [--only mid-full,big-full] [--repeat 5]

The machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE overrides slow current OpenBLAS, so
the script re-executes itself without them (as bench/run.py runs scikit-learn).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

_BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(k in os.environ for k in _BLAS_OVERRIDES) and __name__ == "__main__":
    env = {k: v for k, v in os.environ.items() if k not in _BLAS_OVERRIDES}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import numpy as np  # noqa: E402

from run import GAUSSMIX, WORKLOADS, make  # noqa: E402

# Linux carries a process's peak RSS across exec, so a child forked from this (large)
# process would report at least this process's size: measured commands are started
# by a small helper process instead, and their own peak is read there with wait4.
_HELPER = r"""
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stdout.flush()
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "maxrss_mb": usage.ru_maxrss / 1024.0}))
"""


def measured(cmd, env=None):
    """Runs a command; returns its stdout (without the helper's line) and its own
    peak RSS in MB."""
    p = subprocess.run([sys.executable, "-S", "-c", _HELPER, *map(str, cmd)],
                       capture_output=True, text=True, env=env)
    lines = p.stdout.rstrip("\n").split("\n")
    info = json.loads(lines[-1])
    if info["rc"] != 0 or p.returncode != 0:
        sys.exit(f"command failed: {' '.join(map(str, cmd))}\n{p.stderr}")
    return "\n".join(lines[:-1]), info["maxrss_mb"]


def start_params(init_path):
    init = json.loads(Path(init_path).read_text())
    kind = init["covariance_type"]
    cov = np.asarray(init["covariances"], dtype=float)
    prec = np.linalg.inv(cov) if kind in ("full", "tied") else 1.0 / cov
    return kind, dict(
        n_components=len(init["weights"]),
        weights_init=np.asarray(init["weights"]),
        means_init=np.asarray(init["means"]),
        precisions_init=prec,
    )


def gaussmix_fit(x, kind, start, iters, dtype=None):
    import gaussmix

    gm = gaussmix.GaussianMixture(
        covariance_type=kind, tol=0.0, max_iter=iters, reg_covar=1e-6, dtype=dtype, **start
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        gm.fit(x)
        secs = time.perf_counter() - t
    assert gm.n_iter_ == iters
    return secs, gm.lower_bound_


def sklearn_fit(x, kind, start, iters):
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(
        covariance_type=kind, tol=0.0, max_iter=iters, reg_covar=1e-6,
        init_params="random_from_data", **start,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        gm.fit(x)
        secs = time.perf_counter() - t
    return secs, gm.lower_bound_


def cli_fit(path, init, iters, dtype):
    cmd = [str(GAUSSMIX), "fit", str(path), "--init-model", str(init), "--tol", "0",
           "--max-iter", str(iters), "--quiet", "--json", "-o", os.devnull, "--dtype", dtype]
    out, mem = measured(cmd)
    v = json.loads(out)
    return v["fit_seconds"], mem, v["lower_bound"]


def child_peak(path, init, iters, dtype):
    """Peak RSS (MB) of a fresh Python process that loads the array and fits it, and
    its RSS after the imports (interpreter, numpy, gaussmix and the scikit-learn it
    imports) before the array is loaded."""
    code = (
        "import sys, json, resource, numpy as np; sys.path.insert(0, %r); import py_bench as b; "
        "import gaussmix; "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0; "
        "x = np.load(%r); kind, start = b.start_params(%r); "
        "b.gaussmix_fit(x if %r == 'f64' else x.astype(np.float32), kind, start, %d); "
        "print(json.dumps({'base': base, 'peak': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))"
    ) % (str(HERE), str(path), str(init), dtype, iters)
    env = {k: v for k, v in os.environ.items() if k not in _BLAS_OVERRIDES}
    out, mem = measured([sys.executable, "-c", code], env=env)
    v = json.loads(out)
    return v["peak"], v["base"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="mid-full,big-full")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sk-repeat", type=int, default=1)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--dtype", default="f64", choices=["f64", "f32"])
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    if not GAUSSMIX.exists():
        sys.exit("build the CLI first: cargo build --release -p gaussmix-cli")
    only = set(filter(None, a.only.split(",")))
    import gaussmix

    print(f"gaussmix {gaussmix.__version__} from {Path(gaussmix.__file__).parent}")
    print(f"{'workload':<10} {'py ms/it':>9} {'cli ms/it':>9} {'overhead':>8} {'sk ms/it':>9} "
          f"{'speed-up':>8} {'py MB':>6} {'imports':>7} {'cli MB':>6} {'data MB':>7}  lower bounds")
    rows = []
    for name, n, d, k, kind in WORKLOADS:
        if only and name not in only:
            continue
        path, init = make(name, n, d, k, kind)
        x = np.load(path)
        if a.dtype == "f32":
            x = x.astype(np.float32)
        kind, start = start_params(init)
        py, cli, cli_mem = [], [], []
        gaussmix_fit(x, kind, start, 1)  # warm-up: thread pool, page faults
        for _ in range(a.repeat):
            s, py_lb = gaussmix_fit(x, kind, start, a.iters)
            py.append(s)
            s, m, cli_lb = cli_fit(path, init, a.iters, a.dtype)
            cli.append(s)
            cli_mem.append(m)
        sk = []
        sk_lb = None
        if not a.skip_sklearn:
            for _ in range(a.sk_repeat):
                s, sk_lb = sklearn_fit(np.load(path), kind, start, a.iters)
                sk.append(s)
        py_mem, py_base = child_peak(path, init, a.iters, a.dtype)
        py_t = statistics.median(py) / a.iters * 1e3
        cli_t = statistics.median(cli) / a.iters * 1e3
        sk_t = statistics.median(sk) / a.iters * 1e3 if sk else float("nan")
        data_mb = x.nbytes / 2**20
        agree = "n/a" if sk_lb is None else (
            "agree" if abs(py_lb - sk_lb) <= 1e-6 * abs(sk_lb) else f"DIFFER {py_lb} vs {sk_lb}")
        same_cli = abs(py_lb - cli_lb) <= 1e-12 * abs(cli_lb)
        print(f"{name:<10} {py_t:>9.1f} {cli_t:>9.1f} {py_t / cli_t - 1:>+7.1%} {sk_t:>9.1f} "
              f"{sk_t / py_t:>7.1f}x {py_mem:>6.0f} {py_base:>7.0f} {max(cli_mem):>6.0f} {data_mb:>7.0f}  {agree}"
              f"{'' if same_cli else ' (CLI lower bound differs!)'}", flush=True)
        rows.append(dict(name=name, n=n, d=d, k=k, type=kind, dtype=a.dtype,
                         python_ms_per_iter=py_t, cli_ms_per_iter=cli_t, overhead=py_t / cli_t - 1,
                         python_fit_seconds=py, cli_fit_seconds=cli,
                         sklearn_ms_per_iter=sk_t, speedup=sk_t / py_t,
                         python_peak_mb=py_mem, python_imports_mb=py_base, cli_peak_mb=max(cli_mem), data_mb=data_mb,
                         python_lower_bound=py_lb, cli_lower_bound=cli_lb, sklearn_lower_bound=sk_lb))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
