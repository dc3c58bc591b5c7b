"""Test-set accuracy through the HTTP API vs. the model's own, for the three shipped models.

    python -m bench.api_accuracy [--limit N]

Digits go as 8-bit 28x28 PNGs; overlap test pairs (the 10k fixed pairs of `training.evaluate`) as
16-bit PNGs, since an average of two uint8 digits has half-levels that 8 bits cannot hold.
"""

import argparse
import logging

import numpy as np
import torch
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.images import png, png16
from training.data import load_mnist
from training.evaluate import TEST_PAIR_SEED
from training.tasks import fixed_split


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=int, default=10000, help="test images (and pairs) to send")
    args = p.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    mnist = load_mnist()
    x, y = mnist.test_x[:args.limit], mnist.test_y[:args.limit]
    with TestClient(create_app(Settings(device="cpu"))) as client:
        cards = {m["task"]: m["test_metrics"] for m in client.get("/models").json()["models"]}
        digit = [client.post("/predict", files={"file": ("d.png", png(img), "image/png")}).json().get("digit", -1)
                 for img in x]
        print(f"digit   API accuracy {100 * np.mean(np.array(digit) == y):.2f}% counting a 422 as wrong; "
              f"{100 * np.mean(np.array(digit) == -1):.2f}% answered 422 (not one digit)  "
              f"(model card, full test set: {100 * cards['digit']['accuracy']:.2f}%)")
        split = fixed_split("sum", x, y, TEST_PAIR_SEED, 0)
        sums = [client.post("/predict/sum", files={"file": ("d.png", png(img), "image/png")},
                            data={"number": str(int(k))}).json().get("sum", -1) for img, k in zip(x, split["number"])]
        print(f"sum     API sum accuracy {100 * np.mean(np.array(sums) == split['sum'].numpy()):.2f}% counting a 422 "
              f"as wrong; {100 * np.mean(np.array(sums) == -1):.2f}% answered 422  "
              f"(model card: {100 * cards['sum']['sum_accuracy']:.2f}%)")
        pairs = fixed_split("overlap", mnist.test_x, mnist.test_y, TEST_PAIR_SEED, min(args.limit, 10000))
        truth = [sorted(set(t)) for t in pairs["pair_labels"].tolist()]
        got = [client.post("/predict/overlap", files={"file": ("p.png", png16(img[0].numpy()), "image/png")}).json()["digits"]
               for img in pairs["x"]]
        print(f"overlap API exact-set accuracy {100 * np.mean([g == t for g, t in zip(got, truth)]):.2f}%  "
              f"(model card: {100 * cards['overlap']['exact_set_accuracy']:.2f}%)")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
