"""Export checkpoints to ONNX for the CPU service, and record each export in the model's card.

    python -m training.export                  # every model in models/
    python -m training.export path/to/x.pt ...

What is exported is `app.ml.scorer.Scorer` (normalize -> network -> calibrated probabilities), the
same module the torch runtime serves. Each export is checked against torch in onnxruntime at several
batch sizes before it is recorded; the card then names the file, its sha256 and the checkpoint it
came from, so a retrained checkpoint (new card) never pairs with a stale export.

The models in `INT8_TASKS` also get an 8-bit export `<name>.int8.onnx` (static quantization: weights
per channel, activation ranges measured on images of the model's own training split), recorded as the
card's `onnx_int8` only if its answers agree with the 32-bit export's on the validation split
(`MIN_INT8_AGREEMENT`). The CPU service serves it by default (ONNX_PRECISION). Integer kernels
differ by CPU, so the export also writes `<name>.int8-check.npz`: START_CHECK_IMAGES validation images
and the 8-bit export's outputs on them here, recorded as the entry's `start_check`; a worker compares
its own CPU's outputs against them before it serves the 8-bit export (`app.services.runtimes`).

    python -m training.export --start-checks-only   # (re)write only the start checks of the shipped 8-bit exports
"""

import argparse
import io
import logging
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from app.ml.cards import atomic_write, onnx_export, read_card, sha256_file, write_card
from app.ml.checkpoint import load_model
from app.ml.constants import DYNAMIC_AXES, INT8_TASKS, MODELS, SCORER_INPUTS, SCORER_OUTPUTS
from app.ml.scorer import Scorer, example_inputs

log = logging.getLogger("export")
OPSET = 17
TOLERANCE = 1e-4  # max |onnxruntime - torch| over probabilities
CHECK_BATCHES = (1, 7, 32)
MIN_INT8_AGREEMENT = 0.998  # share of validation images whose top class the 8-bit export keeps
CALIBRATION_IMAGES = 2048
START_CHECK_IMAGES = 128  # validation images whose 8-bit outputs a worker checks its CPU against at start (~30 ms a model)
# The convolutional trunk runs in 8 bits; the head (linear layer, temperature, softmax) stays in 32:
# quantizing the softmax's output to 256 levels tripled the digit model's ECE (0.2% -> 0.6%) for no speed.
INT8_OPS = ("Conv", "Relu", "MaxPool", "GlobalAveragePool")


@dataclass(frozen=True)
class QuantizationImages:
    """float32 (N, 28, 28) images in [0, 1] in the model's input format (MNIST: light ink on dark)."""

    calibration: np.ndarray  # activation ranges are measured on these (from the training split)
    check: np.ndarray  # the 8-bit answers must agree with the 32-bit ones on these (validation split)
    source: str  # where they come from, for the card


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


def export(path: Path, images: QuantizationImages | None = None) -> dict:
    """Write <name>.onnx beside checkpoint `path`, check it, and record it in the card; with `images`,
    a model in INT8_TASKS also gets its 8-bit export (`quantize`)."""
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
    card.pop("onnx_int8", None)
    if images is not None and card["task"] in INT8_TASKS:
        int8 = quantize(onnx_path, SCORER_INPUTS[card["task"]][0], images)
        if int8:
            card["onnx_int8"] = {**int8, "source_sha256": card["sha256"]}
    write_card(path, card)
    log.info("wrote %s (%d bytes); max |onnxruntime - torch| = %.1e", onnx_path, len(graph), diff)
    return card


def quantize(onnx_path: Path, input_name: str, images: QuantizationImages) -> dict | None:
    """Write <name>.int8.onnx from the 32-bit export (whose image input is `input_name`): QDQ static
    quantization of the INT8_OPS, int8 weights per output channel, uint8 activations with MinMax
    ranges on `images.calibration` (deterministic). The weights use 7 of the 8 bits (reduce_range):
    x86 CPUs without AVX-512 VNNI multiply uint8 by int8 in pairs summed into int16, which overflows
    with full-range weights; measured on an AVX2-only AMD EPYC, the full-range gate refused 0.58% of
    MNIST test digits instead of the 32-bit export's 0.13% (its top class differed on 0.68%), while
    the 7-bit one refuses 0.14%. Returns its card entry, or None (and writes
    nothing) when its top class differs from the 32-bit export's on more than 1 - MIN_INT8_AGREEMENT
    of `images.check`."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self, x: np.ndarray, name: str):
            self.batches = iter([{name: x[i:i + 64]} for i in range(0, len(x), 64)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared, quantized = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(onnx_path), str(prepared))
        quantize_static(str(prepared), str(quantized), Batches(images.calibration, input_name),
                        quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, reduce_range=True, op_types_to_quantize=list(INT8_OPS))
        agreement, diff = compare(onnx_path, quantized, input_name, images.check)
        if agreement < MIN_INT8_AGREEMENT:
            log.warning("%s: the 8-bit export keeps the top class of only %.2f%% of %d validation images "
                        "(< %.1f%%); not recorded, the 32-bit export is served", onnx_path, 100 * agreement,
                        len(images.check), 100 * MIN_INT8_AGREEMENT)
            return None
        int8_path = onnx_path.with_suffix(".int8.onnx")
        atomic_write(int8_path, lambda f: f.write(quantized.read_bytes()))
    start_check = write_start_check(int8_path, input_name, images.check)
    log.info("wrote %s; top class kept on %.3f%% of %d validation images, max |int8 - fp32| = %.3f", int8_path,
             100 * agreement, len(images.check), diff)
    return {"file": int8_path.name, "sha256": sha256_file(int8_path), "bytes": int8_path.stat().st_size,
            "agreement": agreement, "max_abs_diff": diff, "check_images": len(images.check),
            "calibration_images": len(images.calibration), "images": images.source, "method": "static QDQ of "
            f"{', '.join(INT8_OPS)}; 7-bit (reduce_range) int8 weights per channel, uint8 activations, MinMax",
            "onnxruntime_version": ort.__version__, "start_check": start_check}


def write_start_check(int8_path: Path, input_name: str, check: np.ndarray) -> dict:
    """<name>.int8-check.npz beside the 8-bit export: START_CHECK_IMAGES of the validation images
    `check` (a fixed choice, stored as uint8) and the export's first output on them on this machine's
    CPU; returns the card's `start_check` entry."""
    pick = np.sort(np.random.default_rng(0).choice(len(check), min(START_CHECK_IMAGES, len(check)), replace=False))
    images = np.round(np.clip(check[pick], 0, 1) * 255).astype(np.uint8)
    outputs = first_output(int8_path, input_name, images / np.float32(255), batch=64)  # the worker's batches
    path = int8_path.with_name(int8_path.name.removesuffix(".onnx") + "-check.npz")
    atomic_write(path, lambda f: np.savez_compressed(f, images=images, outputs=outputs))
    return {"file": path.name, "sha256": sha256_file(path), "images": len(images), "cpu": cpu_name()}


def cpu_name() -> str:
    """The CPU's model name (Linux), for the card: where the start check's outputs were computed."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def add_start_check(path: Path, images: QuantizationImages, card: dict | None = None) -> dict:
    """Write the start check of checkpoint `path`'s recorded 8-bit export and record it in the card
    (`card`: the one already read, else it is read), leaving the export itself as it is (for exports
    made before start checks existed)."""
    card = card or read_card(path)
    int8_path = onnx_export(path, card, "onnx_int8")
    card["onnx_int8"]["start_check"] = write_start_check(int8_path, SCORER_INPUTS[card["task"]][0], images.check)
    write_card(path, card)
    return card


def compare(fp32_path: Path, int8_path: Path, input_name: str, images: np.ndarray) -> tuple[float, float]:
    """(share of images whose top class both exports agree on, max |difference| of their first output)."""
    fp32, int8 = first_output(fp32_path, input_name, images), first_output(int8_path, input_name, images)
    return float((fp32.argmax(1) == int8.argmax(1)).mean()), float(np.abs(fp32 - int8).max())


def first_output(path: Path, input_name: str, images: np.ndarray, batch: int = 512) -> np.ndarray:
    """The first output of ONNX file `path` on `images`, run in batches of `batch`."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {input_name: images[i:i + batch]})[0] for i in range(0, len(images), batch)])


def training_images(card: dict, data_dir: Path) -> QuantizationImages:
    """The quantization images of a trained checkpoint: its own training and validation split (the
    split its card's train_config names), with the rendered uploads for the gate."""
    from training.data import load_mnist
    from training.train import build_splits, parse_args

    defaults = vars(parse_args(["--task", card["task"]]))  # options newer than the card's take their defaults
    config = argparse.Namespace(**{**defaults, **card["train_config"], "data_dir": Path(data_dir)})
    return split_images(build_splits(config, load_mnist(config.data_dir)), config.seed, config.val_size)


def split_images(splits: dict, seed: int, val_size: int) -> QuantizationImages:
    """QuantizationImages from `training.train.build_splits`'s splits: CALIBRATION_IMAGES training
    images (a fixed choice) and the whole validation split."""
    train_x = splits["train"][0]
    pick = np.sort(np.random.default_rng(0).choice(len(train_x), min(CALIBRATION_IMAGES, len(train_x)), replace=False))
    return QuantizationImages(train_x[pick].astype(np.float32) / 255, splits["val"]["x"][:, 0].numpy(),
                              f"{len(pick)} images of the training split; the validation split (seed {seed}, "
                              f"val_size {val_size})")


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoints", nargs="*", type=Path,
                   default=[Path("models") / f"{m}.pt" for m in MODELS], help="checkpoints to export")
    p.add_argument("--data-dir", type=Path, default=Path("data"),
                   help="MNIST (and the gate's rendered uploads) for the 8-bit exports' calibration")
    p.add_argument("--start-checks-only", action="store_true",
                   help="only (re)write the start checks of the recorded 8-bit exports, keeping the exports")
    args = p.parse_args(argv)
    for path in args.checkpoints:
        card = read_card(path)
        if args.start_checks_only:
            if "onnx_int8" in card:
                add_start_check(path, training_images(card, args.data_dir), card)
        else:
            export(path, training_images(card, args.data_dir) if card["task"] in INT8_TASKS else None)


if __name__ == "__main__":
    main()
