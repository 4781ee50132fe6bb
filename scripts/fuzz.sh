#!/usr/bin/env bash
# Fuzz the CSV reader, the NPY reader and the model loader with libFuzzer (cargo-fuzz).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Installs cargo-fuzz if missing. The machine has only a stable toolchain, so
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the sanitizer flags it needs.
# Findings land in fuzz/artifacts/TARGET/; each one becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(csv_reader npy_reader model_loader)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzzing $t for ${secs}s"
  cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -max_len=4096 -print_final_stats=1
done
