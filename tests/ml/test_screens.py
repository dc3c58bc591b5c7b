"""A screenshot's bars (`app.ml.screens`): taken out of digital images, nothing taken out of anything else."""

import numpy as np

from app.ml.screens import without_chrome

WHITE, GREY, PEN = 1.0, 0.93, 0.1


def screen(h: int = 1200, w: int = 540) -> np.ndarray:
    """A blank phone screen (white canvas) with a digit-like mark (a ring and a stem) in its middle."""
    x = np.full((h, w), WHITE, dtype=np.float32)
    x[500:520, 220:320] = PEN
    x[500:700, 300:320] = PEN
    return x


def writing(x: np.ndarray) -> np.ndarray:
    return x[480:720, 200:340]


def status_items(x: np.ndarray, colour: float = PEN) -> None:
    """The time at the left, a battery at the right, in the top 3%."""
    x[12:30, 25:80] = colour
    x[12:30, 470:515] = colour


def test_a_phone_screenshots_coloured_bars_take_the_canvas_colour():
    x = screen()
    x[:110] = GREY  # status bar and app bar, with what they hold
    status_items(x)
    x[70:90, 20:60] = PEN
    x[1060:] = GREY  # toolbar and navigation bar: a palette of disks
    for cx in range(60, 540, 100):
        x[1100:1150, cx - 25:cx + 25] = 0.3
    out = without_chrome(x)
    assert (out[:480] == WHITE).all() and (out[720:] == WHITE).all()
    assert np.array_equal(writing(out), writing(x))


def test_a_flat_apps_bars_in_the_canvas_colour_go_with_what_they_hold():
    # No bar has a colour of its own: the status bar's items, the app bar's arrow and icons and a row of
    # round tool buttons near the bottom show alone on the white canvas.
    x = screen()
    status_items(x)
    x[60:100, 20:60] = PEN  # back arrow
    x[60:100, 480:520] = PEN  # an icon
    for cx in range(60, 540, 100):  # tool buttons
        x[1080:1130, cx - 25:cx + 25] = PEN
        x[1090:1120, cx - 15:cx + 15] = WHITE
    out = without_chrome(x)
    assert (out[:480] == WHITE).all() and (out[720:] == WHITE).all()
    assert np.array_equal(writing(out), writing(x))


def test_a_tablets_tool_panel_down_the_side_takes_the_canvas_colour():
    x = screen(900, 1400)
    x[600:620, 600:700] = PEN
    x[600:800, 680:700] = PEN
    x[40:, :130] = GREY  # the panel, below the status bar
    for cy in range(100, 900, 120):
        x[cy:cy + 50, 40:90] = PEN
    out = without_chrome(x)
    assert (out[:, :130] == WHITE).all()
    assert np.array_equal(out[580:820, 580:720], x[580:820, 580:720])


def test_writing_above_a_toolbar_near_the_bottom_stays():
    # Only the band nearest the bottom edge is a toolbar: a number written just above it is writing.
    x = screen()
    status_items(x)
    x[920:990, 60:480] = PEN  # a wide line of writing in the bottom quarter
    for cx in range(60, 540, 100):
        x[1080:1130, cx - 25:cx + 25] = PEN
    out = without_chrome(x)
    assert np.array_equal(out[900:1000], x[900:1000])
    assert (out[1060:] == WHITE).all()


def test_a_number_written_low_on_a_screen_without_a_toolbar_stays():
    # The band nearest the bottom edge is no toolbar when nothing else would be left: it is the writing.
    x = screen()
    x[500:700] = WHITE
    status_items(x)
    x[950:1050, 60:480] = PEN
    out = without_chrome(x)
    assert np.array_equal(out[900:], x[900:])
    assert (out[:100] == WHITE).all()


def test_lines_of_writing_on_a_tall_canvas_without_a_status_bar_stay():
    # A tall canvas with a line at its top and one at its bottom (several lines: the number route
    # refuses them) is no screenshot: nothing is taken out.
    x = screen()
    x[30:120, 40:500] = PEN
    x[1050:1150, 40:500] = PEN
    assert without_chrome(x) is x


def test_a_seven_cropped_close_keeps_its_bar_in_the_pens_colour():
    # The bar runs along the top edge across the image, one colour like a screenshot's bar; it is the
    # writing's colour, so it stays.
    x = np.full((400, 300), WHITE, dtype=np.float32)
    x[:40] = PEN
    for row in range(40, 400):
        col = 280 - (row - 40) * 150 // 360
        x[row, col - 20:col + 20] = PEN
    assert np.array_equal(without_chrome(x), x)


def test_a_photo_is_returned_as_it_is():
    rng = np.random.default_rng(0)
    # A clean photo (little noise) of paper with a dark strip along the top (a desk): as even as a bar,
    # but no colour in it is exactly one level.
    x = np.clip(rng.normal(0.8, 0.005, (900, 1200)), 0, 1).astype(np.float32)
    x[:100] = np.clip(rng.normal(0.4, 0.005, (100, 1200)), 0, 1)
    assert without_chrome(x) is x
