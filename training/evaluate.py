"""Score checkpoints on the MNIST test split and write metrics JSON and figures to reports/.

    python -m training.evaluate                       # every model in models/
    python -m training.evaluate models/baselines/*.pt # any checkpoints

For each checkpoint <name>: reports/<name>/metrics.json and curves.png, per_class.png,
reliability.png, samples.png (plus confusion.png for digit and sum). The line model is scored as the
number reader it serves, on lines of digits, by `python -m training.number_card` (reports/number/):
its row here is that card's test figures, taken only when the card was written for this very
checkpoint. reports/summary.json and reports/RESULTS.md collect the headline figures of every
checkpoint evaluated so far.
"""

import argparse
import json
import logging
from pathlib import Path

import torch

from app.ml.cards import Card
from app.ml.checkpoint import atomic_write, load_model
from app.ml.constants import BATCHED, MODELS
from app.ml.nets import pick_device
from app.ml.numbers import CARD as NUMBER_CARD
from training import data, figures, negatives
from training.scoring import REPORTED, collect, public, score
from training.tasks import TEST_PAIR_SEED, fixed_split, gate_split

log = logging.getLogger("evaluate")
DEFAULT_MODELS = [Path("models") / f"{name}.pt" for name in MODELS]


def evaluate(path: Path, mnist: data.Mnist, reports: Path, device: str, limit: int = 0,
             data_dir: Path = data.DATA_DIR) -> dict:
    model, card = load_model(path, device)
    task, head, temperature = card["task"], card["head"], card["temperature"]
    if task not in BATCHED:
        return number_reader(path, model, card)
    test_x, test_y = (mnist.test_x[:limit], mnist.test_y[:limit]) if limit else (mnist.test_x, mnist.test_y)
    if task == "gate":  # the rendered test uploads too (cached in data/ by training)
        train_idx, val_idx = data.split_indices(len(mnist.train_x), card["data"]["val_size"], card["train_config"]["seed"])
        rendered = negatives.gate_sets(mnist, train_idx, val_idx, data_dir, 0.02 if limit else 1.0)["test"]
        split = gate_split(test_x, test_y, rendered)
    else:
        split = fixed_split(task, test_x, test_y, TEST_PAIR_SEED, min(10000, limit or 10000))
    m = score(task, head, collect(model, task, split, device), split, temperature, Card.of(card).threshold)
    out = reports / path.stem
    out.mkdir(parents=True, exist_ok=True)
    result = {"name": path.stem, "task": task, "arch": card["arch"], "head": head, "sha256": card["sha256"],
              "params": card["metrics"].get("params"), "train_seconds": card["metrics"].get("train_seconds"),
              "temperature": temperature, "data_source": card["data"]["source"], "test": public(m)}
    atomic_write(out / "metrics.json", lambda f: f.write((json.dumps(result, indent=2) + "\n").encode()))
    figures.write_all(out, task, card, m, split)
    return result


def number_reader(path: Path, model: torch.nn.Module, card: dict) -> dict:
    """The line model's row: the test figures of the number reader's card beside it (written by
    `python -m training.number_card`, figures in reports/number/), if that card reads with this checkpoint."""
    reader_path = path.parent / NUMBER_CARD
    try:
        reader = json.loads(reader_path.read_text())
        matches = reader["checkpoints"]["line"] == card["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        matches = False
    if not matches:
        raise SystemExit(f"{path}: the line model is scored on lines of digits by `python -m training.number_card "
                         f"--model-dir {path.parent}`; {reader_path} is missing or was written for another checkpoint")
    return {"name": path.stem, "task": "number", "arch": card["arch"], "head": card["head"], "sha256": card["sha256"],
            "params": sum(p.numel() for p in model.parameters()), "train_seconds": card["metrics"].get("train_seconds"),
            "temperature": None, "data_source": card["data"]["source"], "test": reader["test"],
            "figures": "reports/number/ (python -m training.number_card)"}


def results_table(summary: dict) -> str:
    lines = ["| model | task | arch | params | train time (s) | headline (test) | ECE |", "|---|---|---|---|---|---|---|"]
    for name, r in sorted(summary.items(), key=lambda kv: (kv[1]["task"], kv[0])):
        heads = ", ".join(f"{label} {100 * r['test'][key]:.2f}%" for label, key in REPORTED[r["task"]])
        lines.append(f"| {name} | {r['task']} | {r['arch']} | {r['params']:,} | {r['train_seconds']} | {heads} | "
                     f"{100 * r['test']['ece']:.2f}% |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoints", nargs="*", type=Path, default=DEFAULT_MODELS)
    p.add_argument("--reports", type=Path, default=Path("reports"))
    p.add_argument("--data-dir", type=Path, default=data.DATA_DIR)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--limit", type=int, default=0, help="score only the first N test images (0: all)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    device = pick_device(args.device)
    mnist = data.load_mnist(args.data_dir)
    summary_path = args.reports / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for path in args.checkpoints:
        result = evaluate(path, mnist, args.reports, device, args.limit, args.data_dir)
        summary[result["name"]] = {k: v for k, v in result.items() if k != "test"} | {
            "test": {k: v for k, v in result["test"].items() if not isinstance(v, (dict, list))}}
        log.info("%s: %s", path, json.dumps(summary[result["name"]]["test"]))
    args.reports.mkdir(parents=True, exist_ok=True)
    atomic_write(summary_path, lambda f: f.write((json.dumps(summary, indent=2) + "\n").encode()))
    table = results_table(summary)
    atomic_write(args.reports / "RESULTS.md", lambda f: f.write(("# Test-set results\n\n" + table).encode()))
    print(table)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
