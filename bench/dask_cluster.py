"""gaussmix.dask on a 2-worker LocalCluster against the in-memory fit (issue 15).

Workload: 10M rows × 16 features, K = 32 full covariances (a 32-component mixture,
generated block by block from seeds, so the workers make their own blocks and the
client makes the same rows for the in-memory fit). Same start for both (equal weights,
32 rows as means, unit precisions), tol = 0 so both run exactly the iterations asked.

  - in memory: gaussmix.GaussianMixture(n_threads=2) on the whole array;
  - Dask: gaussmix.dask.GaussianMixture(n_threads=1) on a LocalCluster of 2 worker
    processes with one thread each (the same 2 cores), blocks of 500k rows persisted.

Time per EM iteration = (time of a fit with M iterations − time with 1) / (M − 1), so
fixed costs (persisting, the final pass, process start) cancel. Bytes per iteration:
the merged statistics' encoded size per block, the parameters' pickle, and what the
workers sent each other (distributed's transfer_outgoing_bytes_total).

Writes bench/results/dask.json. Usage (after scripts/test has built target/py-venv):
  target/py-venv/bin/python bench/dask_cluster.py [--rows 10000000] [--iters 4]
"""

import argparse
import json
import pickle
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
K, D = 32, 16


def make_block(i: int, rows: int) -> np.ndarray:
    """Block i of the data: rows of a fixed 32-component mixture, seeded by i."""
    centres = np.random.default_rng(12345).normal(scale=6.0, size=(K, D))
    rng = np.random.default_rng([7, i])
    lab = rng.integers(0, K, size=rows)
    return centres[lab] + rng.normal(size=(rows, D))


def start(X0: np.ndarray) -> dict:
    return dict(
        weights_init=np.full(K, 1.0 / K),
        means_init=np.ascontiguousarray(X0[:K]),
        precisions_init=np.stack([np.eye(D)] * K),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--block-rows", type=int, default=500_000)
    ap.add_argument("--iters", type=int, default=4)
    args = ap.parse_args()

    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    import gaussmix
    import gaussmix.dask as gdask
    from gaussmix import _native


    n, br, M = args.rows, args.block_rows, args.iters
    sizes = [min(br, n - s) for s in range(0, n, br)]
    st = start(make_block(0, sizes[0]))
    common = dict(n_components=K, covariance_type="full", tol=0.0, **st)
    # One block alone in this process, one thread: the engine's own time.
    X0 = make_block(0, min(br, n))
    m0 = gaussmix.GaussianMixture(n_components=K, max_iter=0, **start(X0)).fit(X0)._model
    _native.block_stats([m0], X0, None, 1)
    t = time.perf_counter()
    _native.block_stats([m0], X0, None, 1)
    alone = time.perf_counter() - t
    out = dict(rows=n, features=D, components=K, block_rows=br, blocks=len(sizes))
    out["block_seconds_alone_one_thread"] = alone
    warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)

    # ---- in memory (2 threads on the 2 cores)
    t = time.perf_counter()
    X = np.concatenate([make_block(i, m) for i, m in enumerate(sizes)])
    out["generate_seconds"] = time.perf_counter() - t
    mem_times = {}
    for iters in (1, M):
        t = time.perf_counter()
        mem = gaussmix.GaussianMixture(max_iter=iters, n_threads=2, **common).fit(X)
        mem_times[iters] = time.perf_counter() - t
    out["memory_fit_seconds"] = mem_times
    out["memory_seconds_per_iteration"] = (mem_times[M] - mem_times[1]) / (M - 1)
    mem_lb = mem.lower_bounds_
    mem_means = mem.means_

    # The sizes of what travels.
    model = mem._model
    stats = _native.block_stats([model], np.ascontiguousarray(X[:1000]))[0]
    out["stats_bytes_per_block"] = len(pickle.dumps(stats))
    out["params_bytes"] = len(pickle.dumps([model]))
    del X

    # ---- Dask: 2 worker processes, 1 thread each
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    client = Client(cluster)
    try:
        blocks = [
            da.from_delayed(dask.delayed(make_block, pure=True)(i, m), shape=(m, D), dtype=np.float64)
            for i, m in enumerate(sizes)
        ]
        Xd = da.concatenate(blocks).persist()
        client.wait_for_workers(2)
        from distributed import wait

        wait(Xd)
        from distributed import futures_of

        per_worker = {}
        for ws in client.who_has(futures_of(Xd)).values():
            for w in ws:
                per_worker[w] = per_worker.get(w, 0) + 1
        out["blocks_per_worker"] = sorted(per_worker.values())

        def sent():
            return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())

        # Warm-up (the workers import gaussmix and load the engine), not timed.
        gdask.GaussianMixture(max_iter=1, n_threads=1, **common).fit(Xd)
        from distributed import get_task_stream

        dk_times, dk_sent = {}, {}
        for iters in (1, M):
            s0 = sent()
            t = time.perf_counter()
            with get_task_stream() as ts:
                dk = gdask.GaussianMixture(max_iter=iters, n_threads=1, **common).fit(Xd)
            dk_times[iters] = time.perf_counter() - t
            dk_sent[iters] = sent() - s0
        # Where the time goes: the block tasks' compute time (in the workers) against
        # the wall time per pass.
        comp = [
            sum(x["stop"] - x["start"] for x in t_["startstops"] if x["action"] == "compute")
            for t_ in ts.data
            if "gaussmix-stats" in str(t_["key"])
        ]
        passes = M + 1
        out["block_task_seconds_mean"] = float(np.mean(comp))
        out["block_compute_seconds_per_pass_per_worker"] = float(sum(comp) / passes / 2)
        out["dask_fit_seconds"] = dk_times
        out["dask_seconds_per_iteration"] = (dk_times[M] - dk_times[1]) / (M - 1)
        out["worker_bytes_sent_per_iteration"] = (dk_sent[M] - dk_sent[1]) / (M - 1)
        out["lower_bound_max_rel_diff"] = float(
            np.max(np.abs(np.array(dk.lower_bounds_) - mem_lb) / np.abs(mem_lb))
        )
        out["means_max_abs_diff"] = float(np.max(np.abs(dk.means_ - mem_means)))
        out["same_n_iter"] = dk.n_iter_ == mem.n_iter_
    finally:
        client.close()
        cluster.close()
    out["dask_over_memory"] = out["dask_seconds_per_iteration"] / out["memory_seconds_per_iteration"]
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "dask.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
