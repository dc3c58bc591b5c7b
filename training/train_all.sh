#!/usr/bin/env bash
# Train the shipped models end to end (used by `make train`). Extra args go to every run.
set -euo pipefail
PY=${PYTHON:-python}
$PY -m training.train --task digit "$@"
# sum: the digit CNN with the structured sum head, fine-tuned from the digit model
$PY -m training.train --task sum --init-from models/digit.pt --epochs 4 --lr 1e-3 "$@"
# overlap: 16 epochs with the default augmentation, then 10 more from there with milder augmentation
# (the test pairs are two centred digits; heavy shifts of each digit make training harder than the task)
# and test-time augmentation (logits averaged over the input and its four 1-pixel shifts)
$PY -m training.train --task overlap --epochs 16 --name overlap-stage1 "$@"
$PY -m training.train --task overlap --init-from models/overlap-stage1.pt --epochs 10 --lr 1e-3 --tta \
    --aug-degrees 8 --aug-translate 0.03 --aug-scale 0.05 "$@"
rm -f models/overlap-stage1.pt models/overlap-stage1.json
# gate: is the upload one digit? The digit CNN's features, fine-tuned on MNIST plus rendered uploads
# (pen-drawn and printed digits, letters, scribbles, shapes, photos of nothing, numbers); its
# rejection threshold is chosen on validation. Then 3 epochs more from there at a lower rate with the
# second round of uploads added (signs such as a checkmark or a lightning bolt, scratched scribbles, and as
# many pen-drawn digits again); the threshold is chosen again.
$PY -m training.train --task gate --init-from models/digit.pt --epochs 8 --name gate-stage1 --no-export "$@"
$PY -m training.train --task gate --init-from models/gate-stage1.pt --more-negatives --epochs 3 --lr 5e-4 "$@"
rm -f models/gate-stage1.pt models/gate-stage1.json
# the digit route answers with the digit model and the gate together: fit their combination on validation
$PY -m training.ensemble
# line model: reads a whole line of digits (CTC), its convolutions started from the digit model's;
# then more lines at a lower rate (the shipped model was trained so on an H100: --workers renders
# lines in parallel, ~2 hours on a 2-core CPU)
$PY -m training.train_line --init-from models/digit.pt --seed 5 --n-train 64000 --epochs 10 --batch-size 64 --lr 2e-3
$PY -m training.train_line --init-from models/line.pt --seed 5 --n-train 64000 --more-train-seeds 9 --epochs 8 \
    --batch-size 64 --lr 1e-3
# number reader: calibrate its string confidence on validation strings, score it on the test strings
$PY -m training.number_card
