"""Load benchmark: the HTTP floor, a demo-style baseline and the service, one after another.

    python -m bench                      # or: make bench
    python -m bench --duration 20 --warmup 3 --rounds 3 --servers floor baseline service

Each server starts on a free loopback port; we time process start -> /ready, warm it up, then load
it with Debian's `hey` (one 28x28 PNG multipart upload per request) at 1 and 32 clients. Peak RSS
is the process's VmHWM. The servers run one after another, and that sequence is repeated `--rounds`
times: on a small shared machine one 20 s run swings by +-25%, so the table gives each figure's
median over the rounds, and every round's throughput is listed too. Results go to stdout and
bench/RESULTS.md.
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from support.images import phone_jpeg, png
from support.server import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
STACK = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
SERVERS = {
    # The floor is the reference the service is held to: the same stack with 2 worker processes, as the
    # service runs by default. The demo-style baseline runs as such a demo does: one process.
    "floor": [sys.executable, "-m", "uvicorn", "bench.floor:app", *STACK, "--workers", "2"],
    "baseline": [sys.executable, "-m", "uvicorn", "bench.baseline:app", *STACK],
    "service": [sys.executable, "-m", "app"],
}
BOUNDARY = "digitservebenchboundary"
# (images per OIP v2 request, clients, the outputs asked for: None for all, which runs the gate too)
V2_LOADS = ((1, 32, None), (64, 8, None), (64, 8, ("digit", "confidence")))


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's name and whether it has AVX-512 VNNI (8-bit inference runs ~4x faster with it than on
    an AVX2-only CPU), from /proc/cpuinfo; 'unknown CPU' where there is none."""
    try:
        info = cpuinfo.read_text()
    except OSError:
        return "unknown CPU"
    name = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
    found = re.search(r"^flags\s*:\s*(.+)$", info, re.MULTILINE)
    flags = set(found.group(1).split()) if found else set()
    isa = "AVX-512 VNNI" if "avx512_vnni" in flags else "AVX2, no AVX-512 VNNI" if "avx2" in flags else None
    return ", ".join(filter(None, [name.group(1).strip() if name else "unknown CPU", isa]))


def multipart(data: bytes, fields: dict | None = None) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in (fields or {}).items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="d.png"\r\n'
                 f"Content-Type: image/png\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def start(name: str, port: int, extra_env: dict | None = None) -> tuple[subprocess.Popen, float]:
    cmd = SERVERS[name] + (["--host", "127.0.0.1", "--port", str(port)] if name != "service" else [])
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "DEVICE": "cpu", "LOG_LEVEL": "warning",
           **(extra_env if name == "service" else {})}
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, lambda: None if proc.poll() is None else f"status {proc.returncode}", 60)
    except AssertionError:
        proc.kill()
        raise
    return proc, time.monotonic() - t0


def peak_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of the process, or of its largest child (uvicorn worker processes)."""
    def hwm(p: int) -> float:
        return int(re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{p}/status").read_text()).group(1)) / 1024

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return max([hwm(pid)] + [hwm(int(c)) for c in children])


def hey_command(url: str, body: Path, clients: int, seconds: float) -> list[str]:
    """`hey` posting `body`: a multipart upload, or (a .v2 file) an OIP v2 binary request whose JSON
    header length is in the file's name (`<name>-<length>.v2`)."""
    if body.suffix == ".v2":
        header = int(body.stem.rsplit("-", 1)[1])
        kind = ["-T", "application/octet-stream", "-H", f"Inference-Header-Content-Length: {header}"]
    else:
        kind = ["-T", f"multipart/form-data; boundary={BOUNDARY}"]
    return ["hey", "-z", f"{seconds}s", "-c", str(clients), "-m", "POST", "-D", str(body), *kind, url]


def parse_hey(out: str) -> dict:
    """req/s, p50/p99 (ms), 200s and everything else (other statuses and transport errors) from hey's summary."""
    codes = {int(c): int(n) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out)}
    errors = re.search(r"Error distribution:(.*)", out, re.S)
    n_errors = sum(int(n) for n in re.findall(r"\[(\d+)\]", errors.group(1))) if errors else 0
    pct = dict(re.findall(r"(\d+)% in ([\d.]+) secs", out))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": 1000 * float(pct.get("50", "nan")), "p99": 1000 * float(pct.get("99", "nan")),
            "ok": codes.get(200, 0), "shed": codes.get(503, 0),
            "errors": n_errors + sum(n for c, n in codes.items() if c != 200)}


def hey(url: str, body: Path, clients: int, seconds: float) -> dict:
    return parse_hey(subprocess.run(hey_command(url, body, clients, seconds), capture_output=True, text=True,
                                    check=True).stdout)


def mixed_run(port: int, bodies: dict, seconds: float) -> dict:
    """32 clients over the three endpoints at once (16 digit, 8 overlap, 8 sum), summed."""
    loads = (("/predict", 16, "digit"), ("/predict/overlap", 8, "overlap"), ("/predict/sum", 8, "sum"))
    procs = [subprocess.Popen(hey_command(f"http://127.0.0.1:{port}{path}", bodies[key], clients, seconds),
                              stdout=subprocess.PIPE, text=True) for path, clients, key in loads]
    parts = [parse_hey(p.communicate()[0]) for p in procs]
    return {"rps": sum(r["rps"] for r in parts), "ok": sum(r["ok"] for r in parts),
            "errors": sum(r["errors"] for r in parts), "p50": max(r["p50"] for r in parts),
            "p99": max(r["p99"] for r in parts)}


def run_server(name: str, bodies: dict, args) -> list[dict]:
    port = free_port()
    proc, ready_s = start(name, port, dict(kv.split("=", 1) for kv in args.env))
    rows = []
    try:
        url = f"http://127.0.0.1:{port}/predict"
        hey(url, bodies["digit"], 8, args.warmup)
        for clients in args.clients:
            r = hey(url, bodies["digit"], clients, args.duration)
            rows.append({"server": name, "load": f"/predict x{clients}", **r})
        if name == "service" and args.number:
            for clients in args.clients:
                r = hey(f"http://127.0.0.1:{port}/predict/number", bodies["number"], clients, args.duration)
                rows.append({"server": name, "load": f"/predict/number (5 digits, 1000x300 PNG) x{clients}", **r})
        if name == "service" and args.photo:
            for clients in (1, 8):
                r = hey(url, bodies["photo"], clients, args.duration)
                rows.append({"server": name, "load": f"/predict 12 MP phone JPEG x{clients}", **r})
        if name == "service" and args.v2:
            for n, clients, outputs in V2_LOADS:
                r = hey(f"http://127.0.0.1:{port}/v2/models/digit/infer", bodies[v2_key(n, outputs)], clients,
                        args.duration)
                only = f", only {' and '.join(outputs)}" if outputs else ""
                rows.append({"server": name, "load": f"/v2 infer, {n} image(s) per request (binary BYTES{only}) x{clients}",
                             **r, "images_per_s": n * r["rps"]})
        if name == "service" and args.mixed:
            rows.append({"server": name, "load": "mixed x32 (16 digit, 8 overlap, 8 sum)",
                         **mixed_run(port, bodies, args.duration)})
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(15)
    for row in rows:
        row.update(rss=rss, ready=ready_s)
    if name == "service" and args.overload:
        rows.append(overload_run(bodies, args))
    return rows


def overload_run(bodies: dict, args) -> dict:
    """512 clients against a service with MAX_QUEUE=64: `rps` counts only the 200s per second (the
    goodput), `errors` everything that is neither a 200 nor a 503 (with Retry-After, by design)."""
    port = free_port()
    proc, ready_s = start("service", port, {**dict(kv.split("=", 1) for kv in args.env), "MAX_QUEUE": "64"})
    try:
        out = subprocess.run(hey_command(f"http://127.0.0.1:{port}/predict", bodies["digit"], 512, args.duration),
                             capture_output=True, text=True, check=True).stdout
        r = parse_hey(out)
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(15)
    seconds = float(re.search(r"Total:\s+([\d.]+) secs", out).group(1))
    return {"server": "service", "load": "/predict x512, MAX_QUEUE=64: 200s per second", **r,
            "rps": r["ok"] / seconds, "errors": r["errors"] - r["shed"], "rss": rss, "ready": ready_s}


def table(rows: list[dict]) -> str:
    lines = ["| server | load | req/s | p50 ms | p99 ms | errors | peak RSS MB | ready s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['server']} | {r['load']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} | "
                     f"{r['rss']:.0f} | {r['ready']:.2f} |")
    return "\n".join(lines)


def medians(rows: list[dict]) -> list[dict]:
    """One row per (server, load): the median of each figure over the rounds (errors: the total)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["server"], r["load"]), []).append(r)
    return [{"server": server, "load": load, "errors": sum(r["errors"] for r in runs),
             **{k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99", "rss", "ready", "images_per_s")
                if k in runs[0]}}
            for (server, load), runs in groups.items()]


def every_round(rows: list[dict]) -> str:
    rounds = sorted({r["round"] for r in rows})
    lines = ["| server | load | " + " | ".join(f"round {i + 1} req/s" for i in rounds) + " |",
             "|---|---|" + "---|" * len(rounds)]
    for server, load in dict.fromkeys((r["server"], r["load"]) for r in rows):
        by_round = {r["round"]: r["rps"] for r in rows if (r["server"], r["load"]) == (server, load)}
        lines.append(f"| {server} | {load} | " + " | ".join(f"{by_round[i]:.0f}" for i in rounds) + " |")
    return "\n".join(lines)


def ratios(rows: list[dict], clients: int) -> str:
    by = {r["server"]: r["rps"] for r in rows if r["load"] == f"/predict x{clients}"}
    out = []
    goodput = next((r["rps"] for r in rows if r["load"].startswith("/predict x512")), None)
    if clients == 32 and goodput and "service" in by:
        out.append(f"service goodput at 512 clients (MAX_QUEUE=64) / its throughput at 32 clients: {goodput / by['service']:.2f}")
    if "service" in by and "floor" in by:
        out.append(f"service/floor at {clients} clients: {by['service'] / by['floor']:.2f}")
    if "service" in by and "baseline" in by:
        out.append(f"service/baseline at {clients} clients: {by['service'] / by['baseline']:.2f}")
    return "\n".join(out)


def round_ratios(rows: list[dict], clients: int) -> str:
    """service/floor within each round (both measured minutes apart on the same machine): the median
    and min-max of those paired ratios, which a slow or busy moment of the machine moves less than the
    ratio of the two medians."""
    load = f"/predict x{clients}"
    by = {(r["server"], r["round"]): r["rps"] for r in rows if r["load"] == load}
    paired = [by["service", i] / by["floor", i] for s, i in by if s == "floor" and ("service", i) in by]
    if not paired:
        return ""
    return (f"service/floor at {clients} clients, paired by round: median {statistics.median(paired):.2f}, "
            f"min {min(paired):.2f}, max {max(paired):.2f} ({len(paired)} rounds)")


def v2_ratio(rows: list[dict]) -> str:
    """Images per second through the v2 route against single uploads to /predict at 32 clients."""
    upload = next((r["rps"] for r in rows if r["server"] == "service" and r["load"] == "/predict x32"), None)
    out = []
    for r in rows:
        if "images_per_s" in r:
            ratio = f" = {r['images_per_s'] / upload:.2f}x the upload route's /predict x32" if upload else ""
            out.append(f"{r['load']}: {r['images_per_s']:.0f} images/s{ratio}")
    return "\n".join(out)


def v2_key(n: int, outputs: tuple | None) -> str:
    return f"v2x{n}" + ("-" + "+".join(outputs) if outputs else "")


def v2_body(images: list[bytes], outputs: tuple | None = None) -> tuple[bytes, int]:
    """An OIP v2 binary request for the digit model: `images` as one BYTES input; the outputs asked
    for (all by default) as binary data."""
    raw = b"".join(struct.pack("<I", len(b)) + b for b in images)
    head = {"inputs": [{"name": "image", "shape": [len(images)], "datatype": "BYTES",
                        "parameters": {"binary_data_size": len(raw)}}], "parameters": {"binary_data_output": True}}
    if outputs:
        head["outputs"] = [{"name": o, "parameters": {"binary_data": True}} for o in outputs]
    header = json.dumps(head).encode()
    return header + raw, len(header)


def number_line(digits: np.ndarray) -> bytes:
    """A 1000x300 PNG of MNIST digits written dark on white, 150 px tall, side by side."""
    from PIL import Image

    canvas = Image.new("L", (1000, 300), 255)
    for i, d in enumerate(digits):
        ink = Image.fromarray(d).resize((150, 150), Image.BICUBIC)
        canvas.paste(Image.new("L", (150, 150), 20), (150 + i * 140, 75), ink)
    return png(np.asarray(canvas))


def bodies_for(tmp: Path) -> dict:
    with np.load(ROOT / "tests" / "fixtures" / "mnist_test_300.npz") as f:
        images, labels = f["images"], f["labels"]
    seven, three = images[int(np.flatnonzero(labels == 7)[0])], images[int(np.flatnonzero(labels == 3)[0])]
    pair = ((seven.astype(np.float32) + three) / 2).round().astype(np.uint8)
    files = {"digit": multipart(png(seven)), "overlap": multipart(png(pair)), "sum": multipart(png(seven), {"number": 4}),
             "number": multipart(number_line(images[:5])), "photo": multipart(phone_jpeg(seven))}
    paths = {}
    for key, body in files.items():
        paths[key] = tmp / f"{key}.body"
        paths[key].write_bytes(body)
    for n, _, outputs in V2_LOADS:
        body, header = v2_body([png(x) for x in images[:n]], outputs)
        key = v2_key(n, outputs)
        paths[key] = tmp / f"{key}-{header}.v2"
        paths[key].write_bytes(body)
    return paths


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    p.add_argument("--clients", nargs="+", type=int, default=[1, 32])
    p.add_argument("--duration", type=float, default=20, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up load at 8 clients")
    p.add_argument("--rounds", type=int, default=3, help="times the whole sequence of servers runs")
    p.add_argument("--no-mixed", dest="mixed", action="store_false", help="skip the mixed three-endpoint run")
    p.add_argument("--no-number", dest="number", action="store_false", help="skip the /predict/number runs")
    p.add_argument("--no-photo", dest="photo", action="store_false", help="skip the 12 MP phone JPEG runs")
    p.add_argument("--no-overload", dest="overload", action="store_false",
                   help="skip the 512-client run against MAX_QUEUE=64")
    p.add_argument("--no-v2", dest="v2", action="store_false", help="skip the OIP v2 runs (1 and 64 images per request)")
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="settings for the service, e.g. WORKERS=2")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = p.parse_args()
    if not shutil.which("hey"):
        sys.exit("the load generator `hey` is missing: apt-get install hey")
    with tempfile.TemporaryDirectory() as tmp:
        bodies = bodies_for(Path(tmp))
        rows = []
        for i in range(args.rounds):
            for name in args.servers:
                rows += [{**row, "round": i} for row in run_server(name, bodies, args)]
                print(f"round {i + 1}/{args.rounds}: {name} done", flush=True)
    summary = medians(rows)
    machine = (f"{platform.machine()} ({cpu_model()}), {os.cpu_count()} cores, {platform.python_implementation()} "
               f"{platform.python_version()}")
    report = (f"# Benchmark results\n\n{dt.date.today()} on {machine}; `hey`, one 28x28 PNG multipart upload per "
              f"request, {args.duration:.0f} s per run after {args.warmup:.0f} s of warm-up; service settings: "
              f"{' '.join(args.env) or 'defaults'}. Peak RSS is per process (largest worker). "
              f"Medians over {args.rounds} rounds (errors: total over all rounds).\n\n{table(summary)}\n\n"
              + "\n".join(filter(None, [*(ratios(summary, c) for c in args.clients),
                                             *(round_ratios(rows, c) for c in args.clients), v2_ratio(summary)]))
              + f"\n\nEvery round (servers run one after another in each round):\n\n{every_round(rows)}\n")
    print(report)
    args.out.write_text(report)


if __name__ == "__main__":
    main()
