#!/usr/bin/env bash
# Output cost against compute cost, same binary, same run (issue 12: "writing must cost
# less than computing"): on 1M rows × 16 features (bench/data/big-full.npy, made by
# bench/run.py) with a 32-component model, time
#   compute  predict --proba -o p.npy   (the probabilities computed, written as binary)
#   csv      predict --proba -o p.csv   (the same plus 32M numbers formatted as text)
#   labels   predict -o l.csv           (labels only)
# median of 3 each; writing cost = csv − compute. Usage: bench/output.sh [diag|full]
set -euo pipefail
cd "$(dirname "$0")/.."
cov="${1:-diag}"
bin=target/release/gaussmix
data=bench/data/big-full.npy
[ -x "$bin" ] || cargo build --release -p gaussmix-cli
[ -f "$data" ] || { echo "run bench/run.py --only big-full first (makes $data)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bin" fit "$data" -k 32 --covariance "$cov" --max-iter 3 --quiet -o "$tmp/m.json" 2>/dev/null || true
time_of() { # median wall seconds of 3 runs of "$@"
  for _ in 1 2 3; do
    s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
    echo "$e - $s" | bc -l
  done | sort -n | sed -n 2p
}
c=$(time_of "$bin" predict "$tmp/m.json" "$data" --proba -o "$tmp/p.npy")
t=$(time_of "$bin" predict "$tmp/m.json" "$data" --proba -o "$tmp/p.csv")
l=$(time_of "$bin" predict "$tmp/m.json" "$data" -o "$tmp/l.csv")
printf "%s K=32: proba→npy %.2f s, proba→csv %.2f s (writing %.2f s, %d MB), labels→csv %.2f s\n" \
  "$cov" "$c" "$t" "$(echo "$t - $c" | bc -l)" "$(( $(stat -c %s "$tmp/p.csv") / 1000000 ))" "$l"
