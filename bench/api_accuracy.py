"""Test-set accuracy through the HTTP API vs. the model's own, for the three single-image routes.

    python -m bench.api_accuracy [--limit N] [--device cpu]

Digits go as 8-bit 28x28 PNGs; overlap test pairs (the 10k fixed pairs of `training.evaluate`) as
16-bit PNGs, since an average of two uint8 digits has half-levels that 8 bits cannot hold. A 422
counts as wrong. `api_answers` is also what `bench.gpu` compares between DEVICE=cuda and the CPU path.
"""

import argparse
import logging

import numpy as np
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from support.images import png, png16
from training.data import load_mnist
from training.tasks import TEST_PAIR_SEED, fixed_split


def api_answers(client, mnist, limit: int) -> dict:
    """Per route: the answers (-1 / [] for a 422) and the truths on the first `limit` test images
    (and `limit` fixed test pairs)."""
    x, y = mnist.test_x[:limit], mnist.test_y[:limit]
    digit = [client.post("/predict", files={"file": ("d.png", png(img), "image/png")}).json().get("digit", -1)
             for img in x]
    split = fixed_split("sum", x, y, TEST_PAIR_SEED, 0)
    sums = [client.post("/predict/sum", files={"file": ("d.png", png(img), "image/png")},
                        data={"number": str(int(k))}).json().get("sum", -1) for img, k in zip(x, split["number"])]
    pairs = fixed_split("overlap", mnist.test_x, mnist.test_y, TEST_PAIR_SEED, min(limit, 10000))
    overlap = [client.post("/predict/overlap", files={"file": ("p.png", png16(img[0].numpy()), "image/png")}
                           ).json().get("digits", []) for img in pairs["x"]]
    return {"digit": {"answers": digit, "truth": y.tolist()},
            "sum": {"answers": sums, "truth": split["sum"].tolist()},
            "overlap": {"answers": overlap, "truth": [sorted(set(t)) for t in pairs["pair_labels"].tolist()]}}


def accuracy(route: dict) -> float:
    return float(np.mean([a == t for a, t in zip(route["answers"], route["truth"])]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=int, default=10000, help="test images (and pairs) to send")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    args = p.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with TestClient(create_app(Settings(device=args.device))) as client:
        listing = client.get("/models").json()
        cards = {m["task"]: m["test_metrics"] for m in listing["models"]}
        card = listing["digit_ensemble"] or {}
        ensemble = None if "error" in card else card.get("test", {}).get("combined")  # the served digit answer's
        answers = api_answers(client, load_mnist(), args.limit)
    refused = 100 * np.mean(np.array(answers["digit"]["answers"]) == -1)
    print(f"digit   API accuracy {100 * accuracy(answers['digit']):.2f}% counting a 422 as wrong; {refused:.2f}% "
          f"answered 422 (not one digit)  (model card, full test set: {100 * cards['digit']['accuracy']:.2f}%"
          + (f"; with the gate, as served: {100 * ensemble['accuracy']:.2f}%)" if ensemble else ")"))
    print(f"sum     API sum accuracy {100 * accuracy(answers['sum']):.2f}% counting a 422 as wrong  "
          f"(model card: {100 * cards['sum']['sum_accuracy']:.2f}%)")
    refused = 100 * np.mean([a == [] for a in answers["overlap"]["answers"]])
    print(f"overlap API exact-set accuracy {100 * accuracy(answers['overlap']):.2f}% counting a 422 as wrong; "
          f"{refused:.2f}% answered 422  (model card: {100 * cards['overlap']['exact_set_accuracy']:.2f}%)")


if __name__ == "__main__":
    main()
