#!/usr/bin/env bash
# Train the three shipped models end to end (used by `make train`). Extra args go to every run.
set -euo pipefail
PY=${PYTHON:-python}
$PY -m training.train --task digit "$@"
$PY -m training.train --task sum --init-from models/digit.pt --epochs 4 --lr 1e-3 "$@"
$PY -m training.train --task overlap --epochs 16 "$@"
