"""Train the line model (`app.ml.nets.LineNet`, CTC) that reads a line of digits; write models/line.pt.

    python -m training.train_line                       # ~50k rendered lines, init from models/digit.pt
    python -m training.train_line --dry-run             # a smoke run

Lines are rendered from the MNIST training split's training digits (`training.line_data`); validation
lines from its validation digits pick the best epoch. The number reader's test figures (MNIST test
digits) come from `python -m training.number_card`, which also calibrates the string confidence.
"""

import argparse
import copy
import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from app.ml.checkpoint import load_model, make_checkpoint, save_checkpoint
from app.ml.constants import DIGITS, MNIST_MEAN, MNIST_STD, normalize
from app.ml.lines import BLANK, FRAME, best_path
from app.ml.nets import build_model, model_kwargs, pick_device
from training import data, line_data, metrics
from training.export import export
from training.train import init_from, run_arguments, schedule_arguments, seed_everything

log = logging.getLogger("train_line")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train the line model (reads a line of digits, CTC).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    schedule_arguments(p, epochs=(8, "epochs over the rendered training lines"),
                       batch_size=(32, "lines per batch (grouped by width)"), lr=2e-3, weight_decay=1e-4)
    p.add_argument("--n-train", type=int, default=48000, help="rendered training lines")
    p.add_argument("--n-val", type=int, default=2000, help="rendered validation lines")
    p.add_argument("--more-train-seeds", type=lambda s: [int(v) for v in s.split(",") if v], default=[],
                   help="comma-separated seeds of further sets of --n-train lines each (more data, no repeats)")
    p.add_argument("--n-test", type=int, default=1000, help="fixed test strings scored after training (training.strings)")
    p.add_argument("--init-from", type=Path, default=Path("models/digit.pt"),
                   help="checkpoint whose matching tensors start the line model (a digit model's convolutions)")
    run_arguments(p)
    p.add_argument("--workers", type=int, default=os.cpu_count(), help="processes rendering lines")
    p.add_argument("--time-budget", type=float, default=0,
                   help="stop after the epoch that passes this many seconds of fitting (0: none)")
    p.add_argument("--dry-run", action="store_true", help="smoke run: 1 epoch of 64 lines")
    args = p.parse_args(argv)
    if args.dry_run:
        args.epochs, args.n_train, args.n_val, args.n_test = 1, 64, 32, 20
    return args


def batches(samples: list, batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """Indices grouped by width (little padding), the groups in random order."""
    order = sorted(rng.permutation(len(samples)), key=lambda i: samples[i][0].shape[1])
    groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [groups[i] for i in rng.permutation(len(groups))]


def collate(samples: list, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images N x 1 x 28 x W in [0, 1], frames per line, concatenated targets, target lengths)."""
    strips = [samples[i][0] for i in idx]
    width = max(s.shape[1] for s in strips)
    x = np.zeros((len(idx), 1, strips[0].shape[0], width), np.float32)
    for j, s in enumerate(strips):
        x[j, 0, :, :s.shape[1]] = s / 255.0
    texts = [samples[i][1] for i in idx]
    targets = torch.tensor([int(c) for t in texts for c in t], dtype=torch.long)
    return (torch.from_numpy(x), torch.tensor([s.shape[1] // FRAME for s in strips]), targets,
            torch.tensor([len(t) for t in texts]))


def ctc_loss(model, batch, device: str) -> torch.Tensor:
    x, frames, targets, lengths = batch
    log_probs = F.log_softmax(model(normalize(x.to(device))).float(), -1)
    return F.ctc_loss(log_probs.transpose(0, 1), targets.to(device), frames.to(device), lengths.to(device),
                      blank=BLANK, zero_infinity=True)


def train_epoch(model, samples, args, optimizer, scheduler, rng, device, epoch) -> float:
    model.train()
    losses = []
    bar = tqdm(batches(samples, args.batch_size, rng), desc=f"epoch {epoch}/{args.epochs}", leave=False, mininterval=5)
    for idx in bar:
        loss = ctc_loss(model, collate(samples, idx), device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", refresh=False)
    return float(np.mean(losses))


def test_lines(mnist, n: int) -> list:
    """The number reader's fixed test strings (MNIST test digits), as the line model sees them."""
    from app.ml.numbers import line_strip
    from training.strings import fixed_strings

    strips = [(line_strip(s.data, line_data.MAX_PIXELS), s.text) for s in fixed_strings(mnist.test_x, mnist.test_y, n)]
    return [(np.round(strip.image * 255).astype(np.uint8), text) for strip, text in strips]


@torch.no_grad()
def evaluate(model, samples, device: str) -> dict:
    """Exact string accuracy and per-digit accuracy (edit distance) of best-path decoding."""
    model.eval()
    exact, errors, digits = 0, 0, 0
    for strip, text in samples:
        x = torch.from_numpy(strip[None, None] / np.float32(255.0))
        log_probs = F.log_softmax(model(normalize(x.to(device))).float(), -1)[0].cpu().numpy()
        read = "".join(str(d) for d, _ in best_path(log_probs))
        exact += read == text
        errors += metrics.edit_distance(text, read)
        digits += len(text)
    return {"exact_string_accuracy": exact / len(samples), "per_digit_accuracy": 1 - errors / digits}


def build_data(args, mnist):
    train_idx, val_idx = data.split_indices(len(mnist.train_x), args.val_size, 0)
    train = line_data.lines(mnist.train_x[train_idx], mnist.train_y[train_idx], args.n_train, args.seed + 1,
                            args.data_dir, "train", args.workers)
    for seed in args.more_train_seeds:
        train += line_data.lines(mnist.train_x[train_idx], mnist.train_y[train_idx], args.n_train, seed, args.data_dir,
                                 "train", args.workers)
    val = line_data.lines(mnist.train_x[val_idx], mnist.train_y[val_idx], args.n_val, args.seed + 2,
                          args.data_dir, "val", args.workers)
    return train, val, len(train_idx), len(val_idx)


def fit(model, train, val, args, device) -> tuple[list[dict], float]:
    rng, _ = seed_everything(args.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * len(batches(train, args.batch_size, np.random.default_rng(0)))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(steps, 2), pct_start=0.15)
    history, best, best_state, started = [], -1.0, None, time.time()
    for epoch in range(1, args.epochs + 1):
        loss = train_epoch(model, train, args, optimizer, scheduler, rng, device, epoch)
        row = {"epoch": epoch, "train_loss": loss, **evaluate(model, val, device), "seconds": round(time.time() - started, 1)}
        history.append(row)
        log.info("epoch %d: loss %.4f val exact %.4f per-digit %.4f (%.0fs)", epoch, loss,
                 row["exact_string_accuracy"], row["per_digit_accuracy"], row["seconds"])
        if row["exact_string_accuracy"] > best:
            best, best_state = row["exact_string_accuracy"], copy.deepcopy(model.state_dict())
        if args.time_budget and time.time() - started > args.time_budget and epoch < args.epochs:
            log.info("time budget of %.0fs spent: stopping after epoch %d", args.time_budget, epoch)
            break
    model.load_state_dict(best_state)
    return history, round(time.time() - started, 1)


def main(argv=None) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    device = pick_device(args.device)
    torch.set_num_threads(max(1, args.threads))
    seed_everything(args.seed)
    mnist = data.load_mnist(args.data_dir)
    train, val, n_train_digits, n_val_digits = build_data(args, mnist)
    kwargs = model_kwargs("line", "crnn")
    model = build_model("line", "crnn", **kwargs).to(device)
    if args.init_from and args.init_from.exists():
        donor, _ = load_model(args.init_from, device)
        log.info("initialized from %s (%d tensors not found there)", args.init_from, len(init_from(model, donor)))
    log.info("line model: %d params, %d training lines, %d validation lines, device %s",
             sum(p.numel() for p in model.parameters()), len(train), len(val), device)
    history, seconds = fit(model, train, val, args, device)
    val_metrics = evaluate(model, val, device)
    test_metrics = evaluate(model, test_lines(mnist, args.n_test), device)
    log.info("test strings (best path, no gate): %s", test_metrics)
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    ckpt = make_checkpoint(
        model.cpu(), task="line", arch="crnn", arch_kwargs=kwargs, head="ctc",
        normalization={"mean": MNIST_MEAN, "std": MNIST_STD}, classes=[*map(str, DIGITS), "blank"], temperature=1.0,
        metrics={"validation": val_metrics, "test": test_metrics, "train_seconds": seconds, "epochs_run": len(history)},
        history=history, train_config={**config, "device": device},
        data={"source": mnist.source, "train_sha256": data.TRAIN_SHA256, "lines": f"training.line_data v{line_data.VERSION}",
              "train_lines": len(train), "val_lines": len(val), "train_digits": n_train_digits, "val_digits": n_val_digits})
    path = args.out_dir / "line.pt"
    card = save_checkpoint(ckpt, path)
    log.info("wrote %s: validation %s", path, val_metrics)
    return export(path) if args.export else card


if __name__ == "__main__":
    main()
