"""bench.shadows: its table of digits photographed with a shadow across the page."""

from bench import shadows
from support.images import shadow_photo
from tests.utils import make_client


def test_the_shadow_photo_says_where_the_digit_lies_and_is_darker_there(mnist_fixture):
    insides = [shadow_photo(mnist_fixture[0][k], 0.5, 2, seed=k)[1] for k in range(12)]
    assert any(insides) and not all(insides), insides  # digits fall in the shadow and in the light


def test_the_table_prints_each_row_and_reads_digits_in_the_light_of_a_mild_shadow(capsys, mnist_fixture):
    with make_client() as client:
        rows = shadows.table(client, mnist_fixture[0][:6], mnist_fixture[1][:6])
    assert len(capsys.readouterr().out.splitlines()) == len(rows) == len(shadows.ROWS)
    assert all(r["shadow"][1] + r["lit"][1] == 6 for r in rows.values()), rows
    mild = rows["shadow at 70% of the light, edge 12 px"]
    assert mild["lit"][0] == mild["lit"][1], mild  # in the light, a mild soft shadow costs nothing
