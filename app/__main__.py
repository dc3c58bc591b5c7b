"""`python -m app`: serve on $HOST:$PORT with the settings from the environment (the image's CMD)."""

import os
import signal
import socket
import sys
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from app.core.config import Settings, get_settings

# After the drain (DRAIN_S), in-flight requests get this long to finish. With the supervisor's up to
# 0.5 s to pass SIGTERM on and the default 1 s drain, the process ends within Cloud Run's 10 s.
GRACEFUL_S = 7


def exit_cleanly(signum, frame):
    """Uvicorn drains in-flight requests on SIGTERM, then re-raises the signal with the handler that
    was there before it: this one, so the process ends with status 0 instead of 'killed by SIGTERM'."""
    sys.exit(0)


class StartupError(Exception):
    """A problem that stops the service before it serves: one line naming it and the fix."""


def check_model_dir(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise StartupError(f"MODEL_DIR={model_dir} is not a directory. Fix: point MODEL_DIR at the folder holding "
                           f"the checkpoints (the repository's models/)")
    try:
        names = [p.name for p in model_dir.iterdir()]
    except OSError as exc:
        raise StartupError(f"MODEL_DIR={model_dir} cannot be read ({exc.strerror}). Fix: make it readable by "
                           f"this user (uid {os.getuid()})") from exc
    if not any(name.endswith((".pt", ".onnx")) for name in names):
        raise StartupError(f"MODEL_DIR={model_dir} holds no checkpoints. Fix: restore models/ from git or run "
                           f"`make train`")


def check_device(s: Settings) -> None:
    from app.services.runtimes import resolve_device

    try:
        resolve_device(s.device, s.inference_runtime)
    except RuntimeError as exc:
        raise StartupError(f"DEVICE={s.device}: {exc}. Fix: run on a GPU host (docker run --gpus all) or set "
                           f"DEVICE=auto or DEVICE=cpu") from exc


def check_port(s: Settings) -> None:
    family = socket.AF_INET6 if ":" in s.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((s.host, s.port))
        except OSError as exc:
            raise StartupError(f"cannot listen on {s.host}:{s.port} ({exc.strerror}). Fix: stop what uses "
                               f"the port, or set PORT to a free one") from exc


def preflight() -> Settings:
    """Settings and the checks that would otherwise fail in every worker: an invalid setting, an
    unreadable MODEL_DIR, DEVICE=cuda without a GPU, a port in use."""
    try:
        s = get_settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise StartupError(f"invalid setting ({problems}). Fix: correct the environment variable") from exc
    check_model_dir(Path(s.model_dir))
    check_device(s)
    check_port(s)
    return s


def main() -> None:
    try:
        s = preflight()
    except StartupError as exc:
        print(f"ERROR digitserve cannot start: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    if s.inference_threads == 1:
        # When torch runs the models (CUDA, or INFERENCE_RUNTIME=torch) with one intra-op thread, an
        # idle-waiting OpenMP runtime adds ~2.5 ms to every small forward pass run from the inference
        # thread (measured: 3.5 ms vs 1.2 ms per batch of one). Spinning costs nothing here because
        # there are no other OpenMP threads. Must be set before torch loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "ACTIVE")
    signal.signal(signal.SIGTERM, exit_cleanly)
    uvicorn.run("app.main:app", host=s.host, port=s.port, workers=s.workers, log_level=s.log_level,
                loop="uvloop", http="httptools", timeout_graceful_shutdown=GRACEFUL_S, timeout_keep_alive=5,
                proxy_headers=True, forwarded_allow_ips="*", access_log=False)


if __name__ == "__main__":
    main()
