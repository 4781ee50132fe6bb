"""Online (stepwise) EM against batch EM on the big-full workload (issue 14).

Same data (bench/run.py's big-full: 1M rows, 16 features, a 32-component mixture),
same start (its init.json: equal weights, 32 rows as means, the data's covariance),
same binary, same run:

  - batch EM: `fit --init-model init.json --tol TOL --max-iter 5000`, its converged mean
    log-likelihood (the final parameters scored on all rows) and time per iteration;
  - online EM: `fit --online --init-model init.json --batch-size B`, one pass at a time
    (--passes 1, then --resume with --passes 2, 3, ...), each model scored on all rows
    with `gaussmix score`; the relative gap to batch EM after every pass, and the time
    per pass (in-memory .npy in the page cache).

Writes bench/results/online.json and docs/online-curve.svg (the curve: mean
log-likelihood on all rows after each pass, against batch EM's per-iteration values,
both against the data passes they cost).

Usage: target/py-venv/bin/python bench/online.py [--passes 5] [--batch-size 10000]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = ROOT / "target" / "release" / "gaussmix"
sys.path.insert(0, str(HERE))


def sh(*args):
    t = time.perf_counter()
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, args))}\n{p.stderr}")
    return p.stdout, time.perf_counter() - t


def score(model, data):
    out, _ = sh(BIN, "score", model, data)
    return float(out.strip())


def svg(batch_curve, online_curve, best, path):
    """A line chart by hand (no plotting library in the bench environment): the gap
    below batch EM's converged value, log scale, against passes over the data."""
    import math

    w, h, left, right, top, bottom = 720, 420, 80, 20, 40, 50
    pts = [(x, y) for x, y in batch_curve + online_curve if best - y > 0]
    xmax = max(x for x, _ in batch_curve + online_curve)
    gaps = [best - y for _, y in pts]
    lo = math.floor(math.log10(min(gaps)))
    hi = math.ceil(math.log10(max(gaps)))

    def px(x):
        return left + (w - left - right) * x / xmax

    def py(gap):
        g = math.log10(max(gap, 10**lo))
        return top + (h - top - bottom) * (hi - g) / (hi - lo)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w/2}" y="22" text-anchor="middle" font-size="14">big-full (1M × 16, K = 32 full): gap to batch EM\'s converged mean log-likelihood</text>']
    for e in range(lo, hi + 1):
        y = py(10**e)
        out.append(f'<line x1="{left}" x2="{w-right}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{left-6}" y="{y+4}" text-anchor="end">1e{e}</text>')
    step = max(1, round(xmax / 10))
    for x in range(0, int(xmax) + 1, step):
        out.append(f'<line x1="{px(x)}" x2="{px(x)}" y1="{h-bottom}" y2="{h-bottom+5}" stroke="black"/>')
        out.append(f'<text x="{px(x)}" y="{h-bottom+18}" text-anchor="middle">{x}</text>')
    out.append(f'<text x="{(left+w-right)/2}" y="{h-8}" text-anchor="middle">passes over the data</text>')
    out.append(f'<text transform="translate(16,{(top+h-bottom)/2}) rotate(-90)" text-anchor="middle">nats per row below batch EM</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{h-bottom}" stroke="black"/>')
    out.append(f'<line x1="{left}" x2="{w-right}" y1="{h-bottom}" y2="{h-bottom}" stroke="black"/>')
    for curve, colour, name, dy in [(batch_curve, "#0072B2", "batch EM (one pass per iteration)", 0),
                                     (online_curve, "#D55E00", "online EM (batches of 10,000)", 18)]:
        c = [(x, best - y) for x, y in curve if best - y > 0]
        d = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(g):.1f}" for i, (x, g) in enumerate(c))
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, g in c:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(g):.1f}" r="3" fill="{colour}"/>')
        out.append(f'<line x1="{w-300}" x2="{w-280}" y1="{top+10+dy}" y2="{top+10+dy}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{w-274}" y="{top+14+dy}">{name}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--step-exponent", type=float, default=0.6)
    ap.add_argument("--average-from", type=int, default=None, help="updates (default: the CLI's, the second pass)")
    a = ap.parse_args()
    import run  # bench/run.py: the workloads

    data, init = run.make("big-full", 1_000_000, 16, 32, "full")
    tmp = HERE / "data"
    batch_model = tmp / "online-batch.json"
    out, secs = sh(BIN, "fit", data, "--init-model", init, "--tol", a.tol, "--max-iter", 5000,
                   "--json", "-o", batch_model)
    summary = json.loads(out)
    rec = json.loads(batch_model.read_text())["fit"]
    best = score(batch_model, data)
    n_iter = rec["n_iter"]
    # Batch EM's per-iteration values: lower_bounds[i] is the log-likelihood of the
    # parameters after i iterations, which cost i + 1 passes (the last pass evaluates).
    batch_curve = [(i + 1, v) for i, v in enumerate(rec["lower_bounds"])]
    per_iter = summary["fit_seconds"] / n_iter
    print(f"batch EM: {n_iter} iterations to tol {a.tol}, {per_iter*1000:.0f} ms/iteration, "
          f"converged mean log-likelihood {best:.8f}")

    model = tmp / "online.json"
    online = []
    for p in range(1, a.passes + 1):
        args = [BIN, "fit", data, "--online", "--batch-size", a.batch_size, "--passes", p, "-q", "-o", model]
        if p == 1:
            args += ["--init-model", init, "--step-exponent", a.step_exponent]
            # The CLI averages from the second pass by default when it knows there will
            # be one: the one-pass runs that are resumed need it said.
            args += ["--average-from", a.average_from if a.average_from is not None else -(-1_000_000 // a.batch_size)]
        else:
            args += ["--resume", model]
        _, secs = sh(*args)
        s = score(model, data)
        gap = (best - s) / abs(best)
        online.append({"pass": p, "score": s, "relative_gap": gap, "nats_per_row": best - s, "seconds": secs})
        print(f"online EM after {p} pass{'es' if p > 1 else ''}: {s:.8f} (gap {gap:.2e} relative, "
              f"{best - s:.5f} nats/row), pass {secs:.1f} s")
    online_curve = [(o["pass"], o["score"]) for o in online]
    result = {
        "workload": "big-full (1M x 16, K = 32, full), init.json start",
        "batch_size": a.batch_size,
        "step_exponent": a.step_exponent,
        "batch_em": {"tol": a.tol, "n_iter": n_iter, "ms_per_iteration": per_iter * 1000, "score": best},
        "online_em": online,
    }
    (HERE / "results" / "online.json").write_text(json.dumps(result, indent=2) + "\n")
    svg(batch_curve[: max(60, a.passes * 4)], online_curve, best, ROOT / "docs" / "online-curve.svg")
    print("wrote bench/results/online.json and docs/online-curve.svg")


if __name__ == "__main__":
    main()
