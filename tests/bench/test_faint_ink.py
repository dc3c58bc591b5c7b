"""bench.faint_ink: its tables of faint digits and of empty photos."""

from bench import faint_ink
from tests.utils import make_client


def test_the_tables_print_each_band_and_each_empty_photo_and_blank_pages_are_refused(capsys, mnist_fixture):
    class Mnist:  # the fixture's 300 MNIST test digits stand in for the split
        test_x, test_y = mnist_fixture

    with make_client() as client:
        faint = faint_ink.faint_table(client, Mnist, 4)
        empty = faint_ink.empty_table(client, 1)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(faint_ink.BANDS) + len(empty) == 5 + 8
    assert faint["ink 20%-25% darker, noise 3"][0] >= 0.75, faint
    for name in ("blank grainy photo", "notebook page, plain", "sheet on a desk", "sticky note"):
        assert empty[name] == 1.0, (name, empty)
