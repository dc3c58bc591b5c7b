#!/usr/bin/env bash
# The seeds' MLP baseline for every task, for the README's MLP-vs-CNN table (models/baselines/).
set -euo pipefail
PY=${PYTHON:-python}
for task in digit overlap sum; do
  $PY -m training.train --task "$task" --arch mlp --epochs 10 --lr 1e-3 --out-dir models/baselines --name "$task-mlp" --no-export "$@"
done
