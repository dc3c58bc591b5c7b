"""bench.small_photos: its table of 12 MP photos that hold no digit."""

from bench import small_photos
from tests.utils import make_client


def test_the_table_of_photos_without_a_digit_prints_each_kind_and_empty_pages_are_refused(capsys):
    with make_client() as client:
        small_photos.nondigit_table(client, 3)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [
        "no digit, empty notebook page, plain", "no digit, empty notebook page, ruled",
        "no digit, empty notebook page, squared", "no digit, blank grainy photo",
        "no digit, letter on a notebook page", "no digit, scribble on a notebook page"]
    for line in out[:4]:
        assert "right" not in line and "wrong" not in line and "no_ink" in line, line
