"""Where a model runs: its ONNX export in onnxruntime on CPU, or the torch `Scorer` (CUDA, or on request).

On CPU the ONNX path is the default: the same computation (exported from `app.ml.scorer.Scorer`)
runs ~4x faster per image than eager torch at the batch sizes served here, and a worker that never
imports torch starts in about a second with a fraction of the memory (the CUDA build of torch alone
is ~0.5 GB resident). torch is imported only when a model runs on it.

Where a card also records an 8-bit export (`onnx_int8`: the digit model and the gate, which every
digit image passes through), ONNX_PRECISION=int8 (the default) serves that one: ~2.3x less CPU per
image on this machine's AVX-512 VNNI cores, its answers checked against the 32-bit export's when it was
written (`training.export.quantize`). Integer kernels differ by CPU (AVX-512 VNNI, AVX2, ARM), so
before a worker serves an 8-bit export it runs the export's start check (`start_check` in its card
entry: 128 validation images and the outputs the export gave on them where the check was written) on its own
CPU; outputs further than INT8_START_MAX_DIFF from those, or top classes kept on fewer than
INT8_START_AGREEMENT of the images, and it serves the 32-bit export instead, with a warning
(~30 ms per model at start on a 2-core AVX2 EPYC).
"""

import glob
import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from app.ml.cards import CheckpointError, onnx_export, read_card, recorded_file
from app.ml.constants import SCORER_INPUTS

log = logging.getLogger("digitserve.runtimes")
# The 8-bit export's outputs on this CPU against those recorded where its start check was written (an
# export that was checked against the 32-bit one): kernels that compute the same integer products agree to ~1e-3; one that
# overflows (full-range int8 weights on AVX2 did) was off by up to 0.66 and changed top classes.
INT8_START_MAX_DIFF = 0.05
INT8_START_AGREEMENT = 0.99


class Runtime(Protocol):
    """Runs a model's Scorer: (images, numbers) -> its outputs as NumPy arrays."""

    name: str
    device: str
    precision: str  # 'fp32', or 'int8' for an 8-bit ONNX export
    fallback: str  # why this is not the runtime or precision asked for ('' when it is)

    def __call__(self, images: np.ndarray, numbers: np.ndarray | None = None) -> list[np.ndarray]: ...


class OnnxRuntime:
    name = "onnxruntime"
    device = "cpu"
    fallback = ""

    def __init__(self, path: Path, task: str, threads: int, precision: str = "fp32"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # No per-session memory arena: an arena keeps its high-water mark for good, and the overlap
        # model's batch of 32 shift-augmented copies alone grew it by ~66 MB per worker (measured);
        # plain allocations ran the digit and overlap batches of 32 just as fast.
        options.enable_cpu_mem_arena = False
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
            raise CheckpointError(f"{path}: onnxruntime cannot load it ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:200]})") from exc
        self.inputs, self.precision = SCORER_INPUTS[task], precision

    def __call__(self, images: np.ndarray, numbers: np.ndarray | None = None) -> list[np.ndarray]:
        return self.session.run(None, dict(zip(self.inputs, (images, numbers))))


class TorchRuntime:
    name = "torch"
    precision = "fp32"
    fallback = ""

    def __init__(self, path: Path, device: str, threads: int):
        import torch

        from app.ml.checkpoint import load_model
        from app.ml.scorer import Scorer

        if threads:
            torch.set_num_threads(threads)  # per calling thread: this is the inference thread
        net, self.card = load_model(path, device)
        self.scorer, self.device, self.torch = Scorer(net, self.card).eval(), device, torch

    def __call__(self, images: np.ndarray, numbers: np.ndarray | None = None) -> list[np.ndarray]:
        arrays = (images,) if numbers is None else (images, numbers)
        with self.torch.inference_mode():
            outputs = self.scorer(*(self.torch.from_numpy(a).to(self.device) for a in arrays))
        return [t.cpu().numpy() for t in outputs]


def resolve_device(device: str, choice: str) -> str:
    """'auto' -> CUDA when a usable NVIDIA GPU is present, else CPU. Without NVIDIA device files
    there is no GPU to find, so torch is not even imported to ask."""
    if choice == "onnx":
        if device == "cuda":
            raise RuntimeError("INFERENCE_RUNTIME=onnx runs on CPU; use DEVICE=cpu or INFERENCE_RUNTIME=torch")
        return "cpu"
    if device == "cpu" or (device == "auto" and not glob.glob("/dev/nvidia[0-9]*")):
        return "cpu"
    try:
        from app.ml.nets import pick_device
    except ImportError:  # the CPU image has no torch
        if device == "auto":
            return "cpu"
        raise RuntimeError("DEVICE=cuda needs torch, which this installation lacks (use a CUDA image)") from None
    return pick_device(device)


def open_model(path: Path, device: str, choice: str, threads: int, precision: str = "int8") -> tuple[Runtime, dict]:
    """(the runtime that runs checkpoint `path`, its card). `choice` is INFERENCE_RUNTIME: on CPU with
    'auto', a missing or stale ONNX export falls back to torch with a warning (an error where torch is
    not installed, as in the CPU image); with 'onnx' it is an error. `precision` is ONNX_PRECISION:
    'int8' serves the card's 8-bit export where it records one (else the 32-bit one; a stale or
    missing 8-bit file is logged and skipped), 'fp32' never does."""
    if choice == "torch" or device != "cpu":
        model = in_torch(path, device, threads)
        return model, model.card
    card = read_card(path)
    fallback = ""
    try:
        if precision == "int8" and "onnx_int8" in card:
            try:
                runtime = OnnxRuntime(onnx_export(path, card, "onnx_int8"), card["task"], threads, "int8")
                check_on_this_cpu(runtime, path, card["onnx_int8"])
                return runtime, card
            except CheckpointError as exc:
                log.warning("%s; serving %s with its 32-bit export instead", exc, path.name)
                fallback = f"{exc}; its 32-bit export is served instead"
        runtime = OnnxRuntime(onnx_export(path, card), card["task"], threads)
        runtime.fallback = fallback
        return runtime, card
    except CheckpointError as exc:
        if choice == "onnx":
            raise
        model = in_torch(path, device, threads, because=str(exc))
        log.warning("%s; serving %s with torch instead", exc, path.name)
        model.fallback = f"{exc}; it is served with torch instead"
        return model, model.card


def check_on_this_cpu(runtime: OnnxRuntime, path: Path, entry: dict) -> None:
    """Raise CheckpointError unless the 8-bit export computes on this CPU what its start check recorded
    (an entry without one, from before start checks, is served unchecked with a warning)."""
    if "start_check" not in entry:
        log.warning("%s: its 8-bit export has no start check (run `python -m training.export "
                    "--start-checks-only`); served unchecked", path.name)
        return
    check_path = recorded_file(path, entry["start_check"], "the 8-bit export's start check is missing",
                               "the card's start_check entry")
    with np.load(check_path, allow_pickle=False) as check:
        images, expected = check["images"], check["outputs"]
    # in batches of the size served: one batch of 512 would raise the worker's peak memory for good
    got = np.concatenate([runtime(images[i:i + 64] / np.float32(255))[0] for i in range(0, len(images), 64)])
    if got.shape != expected.shape:
        raise CheckpointError(f"{check_path}: outputs of shape {expected.shape}, the 8-bit export gives {got.shape}")
    agreement = float((got.argmax(1) == expected.argmax(1)).mean())
    diff = float(np.abs(got - expected).max())
    if agreement < INT8_START_AGREEMENT or diff > INT8_START_MAX_DIFF:
        raise CheckpointError(
            f"{path.name}: its 8-bit export computes other answers on this CPU than where its start check "
            f"was written ({entry['start_check'].get('cpu', 'unknown')}): top class kept on {100 * agreement:.1f}% of "
            f"{len(images)} images, outputs off by up to {diff:.3f} (limits {100 * INT8_START_AGREEMENT:.0f}%, "
            f"{INT8_START_MAX_DIFF})")
    log.debug("%s: 8-bit start check passed (max |diff| %.2g over %d images)", path.name, diff, len(images))


def in_torch(path: Path, device: str, threads: int, because: str = "") -> TorchRuntime:
    try:
        return TorchRuntime(path, device, threads)
    except ImportError as exc:  # the CPU image has no torch: ONNX exports only
        reason = f"{because}; " if because else ""
        raise CheckpointError(f"{reason}torch is not installed here to run {path.name} ({exc})") from exc
