"""bench.empty_pages: its table of empty pages on the three upload routes."""

from bench import empty_pages
from tests.utils import make_client


def test_the_table_prints_each_kind_on_each_route_and_the_digit_route_answers_none(capsys):
    with make_client() as client:
        rows = empty_pages.table(client, 2)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(rows) * len(empty_pages.ROUTES) == 9 * 3
    # the first school page was read as a 1 (its margin line), and so were the lamp's corners of others
    assert all(row["/predict"] == 0 for kind, row in rows.items() if kind != "notebook page on a desk"), rows
    assert rows["school page"]["/predict/number"] == 0 and rows["under a lamp"]["/predict/overlap"] == 0, rows
    # what a squared page's lines leave was read as two averaged digits
    assert rows["notebook page, squared"]["/predict/overlap"] == 0, rows


def test_the_pair_table_counts_pairs_read_right_and_refused_on_each_lined_page(capsys, mnist_fixture):
    with make_client() as client:
        rows = empty_pages.pair_table(client, *mnist_fixture, 3)
    assert list(rows) == list(empty_pages.PAIR_PAGES) and len(capsys.readouterr().out.splitlines()) == 4
    assert all(right + refused <= 3 for right, refused in rows.values()), rows
    assert sum(right for right, _ in rows.values()) >= 6, rows  # pairs on pages are read: not all refused
