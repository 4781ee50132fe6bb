#!/usr/bin/env bash
# Creates bench/.venv with the Python reference (numpy + scikit-learn, pinned to the
# versions the fixtures were made with) and builds gaussmix in release mode.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check \
  "numpy==2.4.*" "scikit-learn==1.9.1" "threadpoolctl>=3"
(cd "$here/.." && cargo build --release -p gaussmix-cli --features kernel-override)
