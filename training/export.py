"""Export checkpoints to ONNX for the CPU service, and record each export in the model's card.

    python -m training.export                  # models/digit.pt, overlap.pt, sum.pt
    python -m training.export path/to/x.pt ...

What is exported is `app.ml.scorer.Scorer` (normalize -> network -> calibrated probabilities), the
same module the torch runtime serves. Each export is checked against torch in onnxruntime at several
batch sizes before it is recorded; the card then names the file, its sha256 and the checkpoint it
came from, so a retrained checkpoint (new card) never pairs with a stale export.
"""

import argparse
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from app.ml.cards import atomic_write, sha256_file, write_card
from app.ml.checkpoint import load_model
from app.ml.constants import DYNAMIC_AXES, SCORER_INPUTS, SCORER_OUTPUTS, TASKS
from app.ml.scorer import Scorer, example_inputs

log = logging.getLogger("export")
OPSET = 17
TOLERANCE = 1e-4  # max |onnxruntime - torch| over probabilities
CHECK_BATCHES = (1, 7, 32)


def to_onnx(scorer: Scorer, task: str) -> bytes:
    names = SCORER_INPUTS[task] + SCORER_OUTPUTS[task]
    axes = {n: {0: "batch", **DYNAMIC_AXES.get(task, {}).get(n, {})} for n in names}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated in favour of the torch.export one, which needs
        # onnxscript; for these static, small graphs the established one is exact and dependency-free.
        warnings.simplefilter("ignore")
        torch.onnx.export(scorer, example_inputs(task), buffer, input_names=SCORER_INPUTS[task],
                          output_names=SCORER_OUTPUTS[task], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
    return buffer.getvalue()


@torch.inference_mode()
def max_difference(scorer: Scorer, task: str, graph: bytes, seed: int = 0) -> float:
    """Largest |onnxruntime - torch| over all outputs, on random images at several batch sizes."""
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    torch.manual_seed(seed)
    worst = 0.0
    for batch in CHECK_BATCHES:
        inputs = example_inputs(task, batch)
        expected = scorer(*inputs)
        got = session.run(None, {n: t.numpy() for n, t in zip(SCORER_INPUTS[task], inputs)})
        worst = max(worst, *(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected)))
    return worst


def export(path: Path) -> dict:
    """Write <name>.onnx beside checkpoint `path`, check it, and record it in the card."""
    path = Path(path)
    net, card = load_model(path, "cpu")
    scorer = Scorer(net, card).eval()
    graph = to_onnx(scorer, card["task"])
    diff = max_difference(scorer, card["task"], graph)
    if diff > TOLERANCE:
        raise RuntimeError(f"{path}: ONNX export differs from torch by {diff:.2g} (> {TOLERANCE})")
    onnx_path = path.with_suffix(".onnx")
    atomic_write(onnx_path, lambda f: f.write(graph))
    card["onnx"] = {"file": onnx_path.name, "sha256": sha256_file(onnx_path), "bytes": onnx_path.stat().st_size,
                    "source_sha256": card["sha256"], "opset": OPSET, "max_abs_diff": diff,
                    "torch_version": str(torch.__version__), "onnxruntime_version": ort.__version__}
    write_card(path, card)
    log.info("wrote %s (%d bytes); max |onnxruntime - torch| = %.1e", onnx_path, len(graph), diff)
    return card


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoints", nargs="*", type=Path, default=[Path("models") / f"{t}.pt" for t in TASKS],
                   help="checkpoints to export")
    for path in p.parse_args(argv).checkpoints:
        export(path)


if __name__ == "__main__":
    main()
