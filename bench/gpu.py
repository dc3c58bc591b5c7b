"""The CUDA path proved on a GPU machine (issue #16): `make bench-gpu`, or

    python -m bench.gpu                      # on a CUDA machine: every figure -> reports/gpu.json
    python -m bench.gpu --quick --device cpu # a smoke run of the same code on any machine

1. API answers: the MNIST test split through the API with DEVICE=<device> (torch) and with the CPU
   path (ONNX Runtime): per-route accuracy and the share of identical answers.
2. The digit model alone: images/s at batch 1, 32, 256, 1024, 4096 in fp32, bf16 autocast and
   channels_last, and with a CUDA graph (CUDA only); bf16's agreement with fp32.
3. HTTP: the service on this machine with DEVICE=<device> beside DEVICE=cpu, loaded by `hey` with a
   28x28 PNG and a 12 MP phone JPEG at 1, 32 and 128 clients.
4. Training: one epoch of each model, and a full digit-model run to its bar, timed.
Each section's failure is recorded in the JSON, and the others still run.
"""

import argparse
import contextlib
import copy
import datetime as dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BATCHES = (1, 32, 256, 1024, 4096)
CLIENTS = (1, 32, 128)
log = logging.getLogger("bench.gpu")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help="the device under test")
    p.add_argument("--out", type=Path, default=ROOT / "reports" / "gpu.json")
    p.add_argument("--sections", nargs="+", default=["api", "model", "http", "training"],
                   choices=["api", "model", "http", "training"])
    p.add_argument("--limit", type=int, default=10000, help="MNIST test images through the API")
    p.add_argument("--duration", type=float, default=10, help="seconds per HTTP load")
    p.add_argument("--quick", action="store_true", help="a smoke run: few images, short loads, dry-run training")
    args = p.parse_args(argv)
    if args.quick:
        args.limit, args.duration = 100, 1
    return args


def environment(device: str) -> dict:
    import torch

    env = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": platform.machine(),
           "cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
           "cuda": torch.version.cuda, "device": device}
    if device == "cuda":
        env["gpu"] = torch.cuda.get_device_name(0)
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            env["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                           capture_output=True, text=True, check=True).stdout.strip()
    return env


def api_section(args) -> dict:
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app
    from bench.api_accuracy import accuracy, api_answers
    from training.data import load_mnist

    mnist = load_mnist()
    runs = {}
    for label, settings in ((args.device, Settings(device=args.device, inference_runtime="torch")),
                            ("cpu-onnx", Settings(device="cpu", inference_runtime="onnx"))):
        with TestClient(create_app(settings)) as client:
            runs[label] = api_answers(client, mnist, args.limit)
    out = {"n": args.limit}
    for route in ("digit", "overlap", "sum"):
        a, b = runs[args.device][route], runs["cpu-onnx"][route]
        out[route] = {"accuracy": accuracy(a), "accuracy_cpu_onnx": accuracy(b),
                      "identical_to_cpu": float(np.mean([x == y for x, y in zip(a["answers"], b["answers"])]))}
    return out


def timed(fn, iters: int, sync) -> float:
    fn()
    sync()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - t) / iters


def model_section(args) -> dict:
    import torch

    from app.ml.checkpoint import load_model
    from app.ml.scorer import Scorer
    from training.data import load_mnist

    device = args.device
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    net, card = load_model(ROOT / "models" / "digit.pt", device)
    scorer = Scorer(net, card).eval()
    x_all = torch.from_numpy(load_mnist().test_x.astype(np.float32) / 255)
    batches = BATCHES[:2] if args.quick else BATCHES
    rows = []
    with torch.inference_mode():
        reference = scorer(x_all[:1024].to(device))[0].argmax(1)
        for variant in ("fp32", "bf16", "channels_last", "cuda_graph"):
            if variant == "cuda_graph" and device != "cuda":
                continue
            for bs in batches:
                x = x_all[np.arange(bs) % len(x_all)].to(device)
                run = variant_runner(variant, scorer, x, torch)
                seconds = timed(run, 3 if args.quick else max(5, 20000 // bs), sync)
                rows.append({"variant": variant, "batch": bs, "images_per_s": bs / seconds, "ms_per_batch": 1000 * seconds})
        bf16 = variant_runner("bf16", scorer, x_all[:1024].to(device), torch)()[0].argmax(1)
    best = max(rows, key=lambda r: r["images_per_s"])
    return {"rows": rows, "best": best, "bf16_agreement_with_fp32": float((bf16 == reference).float().mean())}


def variant_runner(variant: str, scorer, x, torch):
    """A no-argument function running one forward pass of `scorer` on `x` as `variant` runs it."""
    if variant == "bf16":
        def run():
            with torch.autocast("cuda" if x.is_cuda else "cpu", torch.bfloat16):
                return scorer(x)
        return run
    if variant == "channels_last":
        converted = copy.deepcopy(scorer).to(memory_format=torch.channels_last)
        return lambda: converted(x)
    if variant == "cuda_graph":
        static = x.clone()
        graph = torch.cuda.CUDAGraph()
        for _ in range(3):  # warm up on a side stream, as CUDA graphs require
            scorer(static)
        with torch.cuda.graph(graph):
            outputs = scorer(static)
        return lambda: (graph.replay(), outputs)[1]
    return lambda: scorer(x)


def http_section(args) -> dict:
    from bench.__main__ import free_port, hey, multipart, peak_rss_mb, start
    from support.images import phone_jpeg, png
    from training.data import load_mnist

    if not shutil.which("hey"):
        raise RuntimeError("the load generator `hey` is missing (carry Debian's /usr/bin/hey)")
    digit = load_mnist().test_x[0]
    bodies = {"28x28 PNG": multipart(png(digit)), "12 MP phone JPEG": multipart(phone_jpeg(digit))}
    clients = CLIENTS[:2] if args.quick else CLIENTS
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, body in bodies.items():
            paths[name] = Path(tmp) / f"{len(paths)}.body"
            paths[name].write_bytes(body)
        for device in dict.fromkeys((args.device, "cpu")):
            port = free_port()
            proc, ready_s = start("service", port, {"DEVICE": device})
            try:
                url = f"http://127.0.0.1:{port}/predict"
                hey(url, paths["28x28 PNG"], 8, 1)
                for name, path in paths.items():
                    for c in clients:
                        rows.append({"device": device, "upload": name, "clients": c, "ready_s": ready_s,
                                     **hey(url, path, c, args.duration)})
                rss = peak_rss_mb(proc.pid)
            finally:
                proc.terminate()
                proc.wait(15)
            for row in rows:
                row.setdefault("peak_rss_mb", rss)
    return {"rows": rows}


def training_section(args) -> dict:
    """One epoch of each model, and a full digit-model run, each timed as a user runs them."""
    runs = {f"{task} (1 epoch)": ["-m", "training.train", "--task", task, "--epochs", "1"]
            for task in ("digit", "overlap", "sum", "gate")}
    runs["line (1 epoch, 8,000 lines)"] = ["-m", "training.train_line", "--epochs", "1", "--n-train", "8000",
                                          "--n-test", "200"]
    runs["digit (full run)"] = ["-m", "training.train", "--task", "digit"]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cmd in runs.items():
            extra = ["--dry-run"] if args.quick else []
            t = time.perf_counter()
            done = subprocess.run([sys.executable, *cmd, *extra, "--device", args.device, "--out-dir", tmp,
                                   "--no-export"], cwd=ROOT, capture_output=True, text=True)
            out[name] = {"seconds": round(time.perf_counter() - t, 1), "exit": done.returncode}
            card = Path(tmp) / f"{cmd[cmd.index('--task') + 1] if '--task' in cmd else 'line'}.json"
            if done.returncode == 0 and card.exists():
                test = json.loads(card.read_text())["metrics"].get("test") or {}
                out[name]["test_metrics"] = {k: v for k, v in test.items() if isinstance(v, int | float)}
            else:
                out[name]["stderr_tail"] = done.stderr[-1500:]
    return out


def finite(value):
    """The report with NaN and infinities as null (JSON has no NaN; hey reports NaN for a percentile
    it did not reach)."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


SECTIONS = {"api": api_section, "model": model_section, "http": http_section, "training": training_section}


def main(argv=None) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args(argv)
    report = {"environment": environment(args.device), "quick": args.quick}
    for name in args.sections:
        log.info("section %s on %s", name, args.device)
        t = time.perf_counter()
        try:
            report[name] = SECTIONS[name](args)
        except Exception as exc:  # a broken section is a finding to record, not a reason to lose the others
            report[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
        report[name]["seconds"] = round(time.perf_counter() - t, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(finite(report), indent=2) + "\n")
    log.info("wrote %s", args.out)
    return report


if __name__ == "__main__":
    main()
