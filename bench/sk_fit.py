"""Fit scikit-learn's GaussianMixture from a given start; print timing and results as JSON.

Usage: sk_fit.py DATA.npy INIT.json MAX_ITER
"""
import json
import sys
import time

import numpy as np
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_info


def main():
    x = np.load(sys.argv[1])
    init = json.load(open(sys.argv[2]))
    max_iter = int(sys.argv[3])
    kind = init["covariance_type"]
    cov = np.asarray(init["covariances"], dtype=float)
    if kind in ("full", "tied"):
        prec = np.linalg.inv(cov)
    else:
        prec = 1.0 / cov
    gm = GaussianMixture(
        n_components=len(init["weights"]),
        covariance_type=kind,
        tol=0.0,
        max_iter=max_iter,
        reg_covar=1e-6,
        # Cheapest init: every parameter is given, so the method only costs a row pick.
        init_params="random_from_data",
        weights_init=np.asarray(init["weights"]),
        means_init=np.asarray(init["means"]),
        precisions_init=prec,
    )
    t = time.perf_counter()
    gm.fit(x)
    secs = time.perf_counter() - t
    blas = [
        {k: i.get(k) for k in ("internal_api", "num_threads", "architecture", "version")}
        for i in threadpool_info()
    ]
    print(json.dumps({"fit_seconds": secs, "n_iter": int(gm.n_iter_), "lower_bound": float(gm.lower_bound_), "blas": blas}))


if __name__ == "__main__":
    main()
