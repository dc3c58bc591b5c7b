"""Train one digitserve model and write its checkpoint to models/.

    python -m training.train --task digit
    python -m training.train --task overlap --epochs 16
    python -m training.train --task sum --init-from models/digit.pt
    python -m training.train --task digit --arch mlp --name digit-mlp

Validation is carved from the 60k training images; the 10k test images are scored once, after
training, for the report stored in the checkpoint (never for selection or early stopping).
"""

import argparse
import copy
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from app.ml.answers import reject_reasons
from app.ml.cards import DEFAULT_THRESHOLD
from app.ml.checkpoint import load_model, make_checkpoint, save_checkpoint
from app.ml.constants import DIGIT_SETS, DIGITS, GATE_CLASSES, MNIST_MEAN, MNIST_STD, MODELS, SUMS
from app.ml.nets import HEADS, build_model, model_kwargs, pick_device
from training import data, negatives
from training.export import export, split_images
from training.scoring import REPORTED, collect, headline, public, score
from training.tasks import TEST_PAIR_SEED, fixed_split, forward, gate_split, loss_fn, targets_for_temperature, train_batches
from training.temperature import fit_temperature

log = logging.getLogger("training")

VAL_SEED_OFFSET = 1
TTA_SHIFTS = [[0, 0], [0, 1], [0, -1], [1, 0], [-1, 0]]  # fixed for every run, so test pairs (and sum numbers) never change


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train a digitserve model.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--task", choices=MODELS, required=True, help="which model to train")
    p.add_argument("--arch", default="cnn", help="architecture name (see app/ml/nets.py HEADS)")
    p.add_argument("--arch-kwargs", type=json.loads, default={}, help="JSON overrides, e.g. '{\"channels\": [16,32,64]}'")
    schedule_arguments(p, epochs=(15, "maximum epochs (early stopping may end sooner)"),
                       batch_size=(128, "training batch size"), lr=3e-3, weight_decay=5e-4)
    p.add_argument("--patience", type=int, default=5, help="early stopping: epochs without validation gain")
    p.add_argument("--pairs-per-epoch", type=int, default=60000, help="overlap: fresh training pairs per epoch")
    p.add_argument("--no-augment", action="store_true", help="disable random affine augmentation")
    p.add_argument("--aug-degrees", type=float, default=12.0, help="augmentation: max rotation")
    p.add_argument("--aug-translate", type=float, default=0.1, help="augmentation: max shift, fraction of the side")
    p.add_argument("--aug-scale", type=float, default=0.1, help="augmentation: max relative zoom")
    p.add_argument("--tta", action="store_true",
                   help="CNN: average logits over the input and its 1-pixel shifts at evaluation and serving")
    p.add_argument("--rendered-digits", action="store_true",
                   help="digit: also train on the gate's rendered digits (pen drawings at any size and width, printed "
                        "digits), prepared as uploads are; validation and test stay MNIST's")
    p.add_argument("--more-negatives", action="store_true",
                   help="gate: add the second round's rendered uploads (training.negatives.make_more: checkmarks, "
                        "lightning bolts, tildes, umbrellas, scratched scribbles, and as many pen-drawn digits again)")
    p.add_argument("--init-from", type=Path, default=None, help="start from a checkpoint's weights (sum: a digit model)")
    run_arguments(p)
    p.add_argument("--name", default=None, help="checkpoint name (default: the task)")
    p.add_argument("--limit", type=int, default=0, help="use only this many train/val/test images (0: all)")
    p.add_argument("--dry-run", action="store_true", help="smoke run: 1 epoch, 3 batches, 500 images")
    args = p.parse_args(argv)
    if args.dry_run:
        args.epochs, args.limit = 1, args.limit or 500
    if (args.task, args.arch) not in HEADS:
        p.error(f"--arch {args.arch} is not available for --task {args.task}")
    return args


def schedule_arguments(p: argparse.ArgumentParser, epochs: tuple[int, str], batch_size: tuple[int, str], lr: float,
                       weight_decay: float) -> None:
    """The optimization options both trainers have (their defaults differ): epochs, batch size, the
    one-cycle schedule's peak rate, AdamW's weight decay."""
    p.add_argument("--epochs", type=int, default=epochs[0], help=epochs[1])
    p.add_argument("--batch-size", type=int, default=batch_size[0], help=batch_size[1])
    p.add_argument("--lr", type=float, default=lr, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=weight_decay, help="AdamW weight decay")


def run_arguments(p: argparse.ArgumentParser) -> None:
    """The options every training run shares (here and `training.train_line`), written once."""
    p.add_argument("--val-size", type=int, default=5000, help="validation images carved from the 60k")
    p.add_argument("--seed", type=int, default=0, help="seeds weights, batches, augmentation, rendered data")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CUDA when present (training.train adds AMP there)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads on CPU")
    p.add_argument("--data-dir", type=Path, default=data.DATA_DIR, help="local MNIST folder (git-ignored)")
    p.add_argument("--out-dir", type=Path, default=Path("models"), help="where the checkpoint and card go")
    p.add_argument("--no-export", dest="export", action="store_false",
                   help="skip the ONNX export the CPU service runs (see training/export.py)")


def seed_everything(seed: int) -> tuple[np.random.Generator, torch.Generator]:
    torch.manual_seed(seed)
    return np.random.default_rng(seed), torch.Generator().manual_seed(seed)


def build_splits(args, mnist: data.Mnist) -> dict:
    train_idx, val_idx = data.split_indices(len(mnist.train_x), args.val_size, args.seed)
    test_x, test_y = mnist.test_x, mnist.test_y
    if args.limit:
        train_idx, val_idx = train_idx[:args.limit], val_idx[:args.limit]
        test_x, test_y = test_x[:args.limit], test_y[:args.limit]
    n_pairs = min(10000, args.limit or 10000)  # fixed validation and test pairs (overlap)
    train_x, train_y, val_x, val_y = (mnist.train_x[train_idx], mnist.train_y[train_idx], mnist.train_x[val_idx],
                                      mnist.train_y[val_idx])
    if args.task == "digit" and args.rendered_digits:  # plus the gate's rendered digits (pen drawings, print)
        rendered = negatives.gate_sets(mnist, train_idx, val_idx, args.data_dir, 0.02 if args.limit else 1.0)["train"]
        digits = rendered[1] < 10
        train_x = np.concatenate([train_x, rendered[0][digits]])
        train_y = np.concatenate([train_y.astype(np.int64), rendered[1][digits]])
    if args.task == "gate":  # MNIST digits plus rendered uploads: pen-drawn digits, non-digits, numbers
        rendered = negatives.gate_sets(mnist, train_idx, val_idx, args.data_dir, 0.02 if args.limit else 1.0,
                                       more=args.more_negatives)
        train = (np.concatenate([train_x, rendered["train"][0]]),
                 np.concatenate([train_y.astype(np.int64), rendered["train"][1]]))
        return {"train": train,
                "val": gate_split(val_x, val_y, rendered["val"]), "test": gate_split(test_x, test_y, rendered["test"]),
                "train_idx": train_idx, "val_idx": val_idx}
    return {
        "train": (train_x, train_y),
        "val": fixed_split(args.task, val_x, val_y, args.seed + VAL_SEED_OFFSET, n_pairs),
        "test": fixed_split(args.task, test_x, test_y, TEST_PAIR_SEED, n_pairs),
        "train_idx": train_idx, "val_idx": val_idx,
    }


def classes_of(task: str):
    return {"digit": list(DIGITS), "overlap": [list(s) for s in DIGIT_SETS],
            "sum": {"digit": list(DIGITS), "sum": list(SUMS)}, "gate": list(GATE_CLASSES)}[task]


@dataclass
class Run:
    """What one training run works on, built once by `setup`."""

    args: argparse.Namespace
    device: str
    mnist: data.Mnist
    splits: dict
    head: str
    kwargs: dict
    model: torch.nn.Module
    rng: np.random.Generator
    gen: torch.Generator

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


@dataclass
class Optimization:
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.OneCycleLR
    scaler: torch.amp.GradScaler


def epoch_size(args, n_train: int) -> int:
    """Training examples per epoch: fresh pairs for overlap, every training image otherwise."""
    return min(args.pairs_per_epoch, args.limit or args.pairs_per_epoch) if args.task == "overlap" else n_train


def steps_per_epoch(args, n_train: int) -> int:
    """Batches per epoch (the last one may be short), as `training.tasks.train_batches` yields them."""
    return (epoch_size(args, n_train) + args.batch_size - 1) // args.batch_size


def train_epoch(run: Run, opt: Optimization, epoch: int) -> dict:
    args = run.args
    run.model.train()
    images, labels = run.splits["train"]
    augment = None if args.no_augment else {"degrees": args.aug_degrees, "translate": args.aug_translate,
                                            "scale": (1 - args.aug_scale, 1 + args.aug_scale)}
    batches = train_batches(args.task, images, labels, args.batch_size, epoch_size(args, len(images)), run.rng, run.gen,
                            augment)
    losses = []
    bar = tqdm(batches, total=steps_per_epoch(args, len(images)), desc=f"epoch {epoch}/{args.epochs}", leave=False,
               mininterval=2)
    for step, batch in enumerate(bar):
        with torch.autocast("cuda", enabled=run.device == "cuda"):
            out = forward(run.model, args.task, batch, run.device)
            loss = loss_fn(args.task, run.head, out, batch, run.device)
        opt.optimizer.zero_grad(set_to_none=True)
        opt.scaler.scale(loss).backward()
        opt.scaler.step(opt.optimizer)
        opt.scaler.update()
        if step < opt.scheduler.total_steps - 1:
            opt.scheduler.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", refresh=False)
        if args.dry_run and step >= 2:
            break
    return {"train_loss": float(np.mean(losses))}


@torch.no_grad()
def validation_loss(run: Run) -> float:
    split = run.splits["val"]
    return float(loss_fn(run.args.task, run.head, forward(run.model, run.args.task, split, run.device), split, run.device))


def train(args) -> dict:
    """fit -> calibrate -> package: the checkpoint's card (with its ONNX export unless --no-export)."""
    run = setup(args)
    history, train_seconds = fit(run)
    calibration = calibrate(run)
    return package(run, history, train_seconds, calibration)


def setup(args) -> Run:
    device = pick_device(args.device)
    torch.set_num_threads(max(1, args.threads))
    rng, gen = seed_everything(args.seed)
    mnist = data.load_mnist(args.data_dir)
    splits = build_splits(args, mnist)
    head = HEADS[(args.task, args.arch)]
    kwargs = model_kwargs(args.task, args.arch, **args.arch_kwargs, **({"tta_shifts": TTA_SHIFTS} if args.tta else {}))
    model = build_model(args.task, args.arch, **kwargs).to(device)
    if args.init_from:
        donor, _ = load_model(args.init_from, device)
        missing = init_from(model, donor)
        log.info("initialized from %s (%d tensors not found there)", args.init_from, len(missing))
    run = Run(args, device, mnist, splits, head, kwargs, model, rng, gen)
    log.info("task=%s arch=%s head=%s params=%d device=%s train=%d val=%d data=%s", args.task, args.arch,
             head, run.n_params, device, len(splits["train"][0]), len(splits["val"]["x"]), mnist.source)
    return run


def fit(run: Run) -> tuple[list[dict], float]:
    """Epochs until --epochs or early stopping; the model keeps its best validation epoch's weights.
    Returns the history and the seconds it took."""
    args = run.args
    optimizer = torch.optim.AdamW(run.model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * steps_per_epoch(args, len(run.splits["train"][0]))
    opt = Optimization(optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(steps, 2)),
                       torch.amp.GradScaler("cuda", enabled=run.device == "cuda"))
    history, best, best_state, stale = [], -1.0, None, 0
    started = time.time()
    for epoch in range(1, args.epochs + 1):
        row = {"epoch": epoch, **train_epoch(run, opt, epoch)}
        val = score(args.task, run.head, collect(run.model, args.task, run.splits["val"], run.device), run.splits["val"])
        row.update(val_loss=validation_loss(run), val_metric=headline(args.task, val),
                   lr=opt.scheduler.get_last_lr()[0], seconds=round(time.time() - started, 1))
        history.append(row)
        log.info("epoch %d: train_loss %.4f val_loss %.4f val %.4f (%.0fs)", epoch, row["train_loss"],
                 row["val_loss"], row["val_metric"], row["seconds"])
        if row["val_metric"] > best:
            best, best_state, stale = row["val_metric"], copy.deepcopy(run.model.state_dict()), 0
        else:
            stale += 1
            if stale >= args.patience:
                log.info("early stopping: no validation gain for %d epochs", stale)
                break
    run.model.load_state_dict(best_state)
    return history, round(time.time() - started, 1)


@dataclass
class Calibration:
    temperature: float
    threshold: float
    val: dict  # metrics on the validation split, calibrated
    test: dict  # metrics on the test split (reported, never used for a choice)


def calibrate(run: Run) -> Calibration:
    """The temperature (and the decision threshold, for overlap and the gate) fitted on validation;
    validation and test scored with them."""
    task, head, splits = run.args.task, run.head, run.splits
    val_out = collect(run.model, task, splits["val"], run.device)
    temperature = fit_temperature(val_out["logits"], targets_for_temperature(task, head, splits["val"]), head)
    threshold = {"overlap": pick_threshold, "gate": pick_gate_threshold}.get(task, lambda *a: DEFAULT_THRESHOLD)(
        head, val_out, splits["val"], temperature)
    val = public(score(task, head, val_out, splits["val"], temperature, threshold))
    test_out = collect(run.model, task, splits["test"], run.device)
    test = public(score(task, head, test_out, splits["test"], temperature, threshold))
    log.info("temperature %.3f; validation %s; test %s", temperature, summary(task, val), summary(task, test))
    return Calibration(temperature, threshold, val, test)


def package(run: Run, history: list[dict], train_seconds: float, cal: Calibration) -> dict:
    """The self-describing checkpoint written atomically (and exported to ONNX); returns its card."""
    args, mnist = run.args, run.mnist
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    ckpt = make_checkpoint(
        run.model.cpu(), task=args.task, arch=args.arch, arch_kwargs=run.kwargs, head=run.head,
        normalization={"mean": MNIST_MEAN, "std": MNIST_STD}, classes=classes_of(args.task),
        temperature=cal.temperature, threshold=cal.threshold,
        metrics={"validation": cal.val, "test": cal.test, "train_seconds": train_seconds, "epochs_run": len(history),
                 "params": run.n_params},
        history=history, train_config={**config, "device": run.device},
        data={"source": mnist.source, "train_sha256": data.TRAIN_SHA256, "test_sha256": data.TEST_SHA256,
              "val_size": len(run.splits["val_idx"]), "train_size": len(run.splits["train_idx"]),
              "test_pair_seed": TEST_PAIR_SEED},
    )
    path = args.out_dir / f"{args.name or args.task}.pt"
    card = save_checkpoint(ckpt, path)
    log.info("wrote %s (%d bytes, sha256 %s) in %.0fs of training", path, card["bytes"], card["sha256"][:12], train_seconds)
    return export(path, split_images(run.splits, args.seed, args.val_size)) if args.export else card


def pick_threshold(head: str, val_out: dict, split: dict, temperature: float) -> float:
    """The per-digit probability threshold with the best validation exact-set accuracy."""
    grid = [round(t, 2) for t in np.arange(0.2, 0.81, 0.05)]
    scores = [score("overlap", head, val_out, split, temperature, t)["exact_set_accuracy"] for t in grid]
    return grid[int(np.argmax(scores))]


def pick_gate_threshold(head: str, val_out: dict, split: dict, temperature: float,
                        max_false_rejection=(0.002, 0.01)) -> float:
    """The lowest rejection threshold (most non-digits rejected) that rejects at most 0.2% of the
    MNIST validation digits and 1% of the rendered ones (pen drawings, printed digits, photos): the
    service may refuse at most 0.5% of real digits, and may lose at most 0.24 points of MNIST accuracy
    (99.64% -> 99.4%) to refusals; this leaves a margin for both."""
    p = torch.softmax(val_out["logits"] / temperature, 1).numpy()
    y = split["y"].numpy()
    digit = y < 10
    mnist = ~split["rendered"].numpy()
    for t in [round(t, 3) for t in [*np.arange(0.05, 0.951, 0.025), 0.97, 0.98, 0.99]]:
        rejected = np.array([r is not None for r in reject_reasons(p, t)])
        if all(rejected[digit & part].mean() <= most
               for part, most in zip((mnist, ~mnist), max_false_rejection) if (digit & part).any()):
            return t
    return 0.99


def init_from(model, donor) -> list[str]:
    """Copy every tensor whose name and shape match, also from a digit CNN into the sum model's backbone."""
    donor_state = {**donor.state_dict(), **{f"digit.{k}": v for k, v in donor.state_dict().items()}}
    own = model.state_dict()
    matched = {k: v for k, v in donor_state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(matched, strict=False)
    return [k for k in own if k not in matched]


def summary(task: str, m: dict) -> str:
    return " ".join(f"{k}={m[k]:.4f}" for k in [key for _, key in REPORTED[task]] + ["ece"])


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    train(parse_args(argv))


if __name__ == "__main__":
    main()
