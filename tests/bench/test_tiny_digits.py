"""bench.tiny_digits: its table of digits drawn 8-18 px tall, and of letters and scribbles as small."""

from bench import tiny_digits
from tests.utils import make_client


def test_the_table_prints_each_generator_and_reads_most_small_digits(capsys, mnist_fixture):
    class Mnist:  # the fixture's 300 MNIST test digits stand in for the split
        test_x, test_y = mnist_fixture

    with make_client() as client:
        rows = tiny_digits.table(client, Mnist, 12, 4)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" n=")[0].strip() for line in out] == list(rows) == [
        "MNIST redrawn along its skeleton", "MNIST redrawn, stylus", "stroke templates",
        "MNIST resized (a photo's small digit)", "letter (not a digit)", "scribble (not a digit)"]
    assert rows["MNIST resized (a photo's small digit)"] >= 0.75 and rows["stroke templates"] >= 0.6, rows
