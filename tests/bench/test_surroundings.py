"""bench.surroundings: its table of uploads with something around the writing."""

from bench import surroundings
from support.images import digit_lines
from tests.utils import make_client


def test_the_table_counts_every_kind_on_both_routes_and_reads_them(capsys, mnist_fixture):
    images, labels = mnist_fixture
    samples = {"/predict": [(images[i], str(int(labels[i]))) for i in range(2)],
               "/predict/number": digit_lines(images[2:], labels[2:], 2)}
    with make_client() as client:
        surroundings.table(client, samples)
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert [(r[0].lstrip("| "), r[1]) for r in rows] == [
        (kind, route) for kind in surroundings.UPLOADS for route in ("`/predict`", "`/predict/number`")]
    assert sum(int(r[3]) for r in rows) >= 46, rows  # of 52: read right
