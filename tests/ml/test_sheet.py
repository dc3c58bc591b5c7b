"""A sheet of paper photographed on a darker desk: the desk is made paper before anything else
(`app.ml.preprocess.on_page`), and nothing else is taken for a sheet; a dark board or picture in a
light surround has the surround made board (`on_sheet`, `without_matte`), and nothing else is taken
for one."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from app.ml.preprocess import (
    PAGE_GRID,
    decode,
    edge_step,
    find_sheet,
    on_page,
    on_sheet,
    prepare,
    tightest_rectangle,
    to_gray,
    without_edge_slivers,
    without_matte,
)
from support.drawing import STROKES, draw
from support.images import blackboard_photo, desk_photo, encode, lamp_photo, note_photo, phone_jpeg, png, shown_on_page


def gray(data: bytes, side: int = 256) -> np.ndarray:
    return to_gray(decode(data, 40_000_000, side))


def coarse(x: np.ndarray) -> np.ndarray:
    h, w = x.shape
    f = PAGE_GRID / max(h, w)
    return np.asarray(Image.fromarray(x, mode="F").resize((round(w * f), round(h * f)), Image.BOX))


@pytest.mark.parametrize("seed", range(6))
def test_a_sheet_on_a_desk_is_found_and_the_desk_becomes_paper(mnist_fixture, seed):
    x = gray(desk_photo(mnist_fixture[0][seed], seed=seed))
    sheet = find_sheet(coarse(x))
    assert sheet is not None and 0.3 <= sheet.mean() <= 0.97
    flat = on_page(x)
    assert flat.min() < 0.4, "the ink stays"
    border = np.concatenate([flat[0], flat[-1], flat[:, 0], flat[:, -1]])
    assert border.min() > 0.6, "the desk along the photo's edge is paper now"


def test_photos_without_a_sheet_on_a_desk_are_left_as_they_are(mnist_fixture):
    digit = mnist_fixture[0][0]
    ring = Image.new("L", (300, 300), 0)
    ImageDraw.Draw(ring).ellipse([20, 20, 280, 280], outline=255, width=40)  # a big 0, white on black
    uploads = [lamp_photo(digit, 0.5, seed=1), phone_jpeg(digit, (1200, 900)), png(np.asarray(ring)),
               png(np.asarray(Image.fromarray(digit).resize((280, 280))))]
    for data in uploads:
        x = gray(data)
        assert find_sheet(coarse(x)) is None and on_page(x) is x


@pytest.mark.parametrize("seed", range(4))
def test_a_sticky_note_on_a_desk_is_a_small_sheet(mnist_fixture, seed):
    x = gray(note_photo(mnist_fixture[0][seed], seed=seed))
    sheet = find_sheet(coarse(x))
    assert sheet is not None and 0.04 <= sheet.mean() < 0.3
    border = np.concatenate([on_page(x)[0], on_page(x)[-1]])
    assert border.min() > 0.6, "the desk is paper now"


def test_the_tightest_rectangle_is_found_turned_and_a_disk_fills_less_of_it():
    square, disk = np.zeros((40, 40), bool), np.zeros((40, 40), bool)
    square[5:30, 8:36] = True
    yy, xx = np.mgrid[0:40, 0:40]
    disk[(yy - 20) ** 2 + (xx - 20) ** 2 <= 15 ** 2] = True
    turned = np.asarray(Image.fromarray(square.astype(np.uint8) * 255).rotate(20, resample=Image.NEAREST)) > 0
    assert tightest_rectangle(square) == (1.0, 25 / 28)
    fill, aspect = tightest_rectangle(turned)
    assert fill > 0.9 and abs(aspect - 25 / 28) < 0.1
    assert 0.75 < tightest_rectangle(disk)[0] < 0.82


@pytest.mark.parametrize("tilt", [0, 10, 20])
def test_a_fat_white_bar_on_a_black_canvas_is_never_taken_for_a_sheet(tilt):
    # A 1 drawn with a fat pen is a rectangle without writing: the canvas would be painted over.
    for height in (0.5, 0.7, 0.9):
        for pen in (0.1, 0.16, 0.25, 0.35):
            img = Image.new("L", (400, 400), 0)
            h, w = height * 400, max(2, pen * height * 400)
            ImageDraw.Draw(img).rectangle([200 - w / 2, 200 - h / 2, 200 + w / 2, 200 + h / 2], fill=255)
            x = np.asarray(img.rotate(tilt, resample=Image.BILINEAR), np.float32) / 255
            assert find_sheet(coarse(x)) is None, (height, pen)


@pytest.mark.parametrize("digit", [c for c in STROKES if c.isdigit()])
def test_a_fat_white_digit_on_a_black_canvas_is_never_taken_for_a_sheet(digit):
    # A filled 0 or 9 looks like a sheet with writing on it: the surroundings would be painted over.
    for height in (96, 160, 224, 288):
        for pen in (0.08, 0.12, 0.16):
            data = draw(digit, height=height, pen=int(pen * height), background="black", margin=(400 - height) // 2)
            x = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float32) / 255
            assert find_sheet(coarse(x)) is None, (height, pen)


def test_writing_in_a_shadow_with_a_sharp_edge_is_not_taken_for_a_desk():
    # A phone's shadow over a quarter of the page looks like a desk around a sheet; the digit in it
    # would have been painted over with paper.
    x = np.full((300, 400), 0.9, np.float32)
    x[150:, 200:] = 0.45
    x[190:270, 280:290] = 0.08  # a 1 written in the shadow
    assert find_sheet(coarse(x)) is not None, "the shadow's quarter looks like a desk"
    assert on_page(x) is x


def test_writing_in_a_shadow_close_to_its_edge_is_not_taken_for_a_screens_bezel():
    # The surface is judged again further out (a screen's bezel): a 1 starting just inside the shadow's
    # edge runs on beyond that band, and the shadow still holds dark strokes.
    x = np.full((300, 400), 0.9, np.float32)
    x[150:, 200:] = 0.45
    x[156:205, 280:290] = 0.08
    assert on_page(x) is x


def test_a_photo_of_a_monitor_has_its_dark_bezel_and_the_room_made_screen():
    # A bright screen in a dark bezel in a mid-grey room: the bezel, a coarse pixel beyond the screen,
    # read as dark strokes in a shadow, and stayed ink around the digit (21 of 60 read in
    # `bench.surroundings` before).
    x = np.full((600, 800), 0.45, np.float32)
    x[60:540, 80:720] = 0.06  # the bezel, 20 px wide
    x[80:520, 100:700] = 0.92  # the screen
    x[200:400, 395:410] = 0.1  # a 1 on it
    flat = on_page(x)
    assert flat is not x and flat[:60].min() > 0.8 and flat[60:80, 80:720].min() > 0.8
    assert np.array_equal(flat[200:400, 380:420], x[200:400, 380:420]), "the 1 is as it was"


def test_a_digit_on_a_sheet_on_a_desk_is_read_as_on_a_plain_page(mnist_fixture):
    digit = mnist_fixture[0][3]
    on_desk, plain = prepare(desk_photo(digit, seed=3)), prepare(phone_jpeg(digit, (1200, 900)))
    assert on_desk.glyphs == 1 and np.abs(on_desk.image - plain.image).mean() < 0.05


def test_a_desk_photo_is_decoded_at_its_reduced_scale_without_a_second_decode(mnist_fixture):
    data = desk_photo(mnist_fixture[0][0], seed=0, size=(4032, 3024))
    assert decode(data, 40_000_000, 256).size == (504, 378)
    assert Image.open(io.BytesIO(data)).size == (4032, 3024)


def ink_with_a_ring(*bands: tuple[slice, slice, float], lines: tuple = ()) -> np.ndarray:
    """A 192x256 ink image (white on black): a bright 0 in the middle, faint or bright bands (rows, cols,
    level) and lines ((x0, y0, x1, y1), width, level)."""
    img = Image.new("L", (256, 192), 0)
    draw = ImageDraw.Draw(img)
    draw.ellipse([110, 60, 150, 130], outline=255, width=5)
    for ends, width, level in lines:
        draw.line(ends, fill=round(255 * level), width=width)
    x = np.asarray(img, np.float32) / 255
    for rows, cols, level in bands:
        x[rows, cols] = level
    return x


def test_a_light_desks_faint_slivers_along_the_photos_edges_go_and_the_digit_stays():
    # A page nearly filling a tilted photo on a light desk: the desk's thin wedges along the edges left
    # faint lines there after the flat-field, cropped with the digit (which shrank to a speck).
    x = ink_with_a_ring((slice(40, 190), slice(254, 256), 0.6), lines=[((0, 8, 120, 0), 2, 0.4)])
    out = without_edge_slivers(x)
    assert out[:12].max() == 0 and out[:, 250:].max() == 0
    assert np.array_equal(out[50:140, 100:160], x[50:140, 100:160]), "the 0 is as it was"


@pytest.mark.parametrize("x", [
    ink_with_a_ring((slice(20, 170), slice(0, 8), 1.0)),  # a pen's stroke along the edge of a close crop
    ink_with_a_ring(lines=[((0, 30, 120, 0), 2, 0.4)]),  # faint, but deep into the photo
    ink_with_a_ring((slice(180, 192), slice(0, 60), 0.4)),  # a solid block of colour along the edge
    ink_with_a_ring(lines=[((0, 8, 120, 0), 2, 0.4), ((200, 4, 250, 0), 2, 0.3)])[:20],  # nothing else
], ids=["pen stroke", "deep", "block", "alone"])
def test_ink_along_the_edges_that_is_no_desks_sliver_stays(x):
    assert without_edge_slivers(x) is x


def page_with_strips(strip: int, desk: float = 0.15) -> np.ndarray:
    """A 900x1200 gray photo of a page filling it but for strips of desk `strip` px wide along its top and
    left edges, a dark 1 written in the middle."""
    x = np.full((900, 1200), 0.9, np.float32)
    x[:strip], x[:, :strip] = desk, desk
    x[420:480, 600:606] = 0.1
    return x


def test_a_page_that_nearly_fills_the_photo_leaves_a_desk_strip_that_becomes_paper():
    # Strips thinner than the 64-px copy's pixel: the band a coarse pixel beyond the sheet, where the
    # surface is judged, was mostly paper, and the desk read as dark strokes in a shadow (the photo was
    # left as it was; the strips' ink along the border turned the page's polarity or was cropped with the digit).
    x = page_with_strips(12)
    flat = on_page(x)
    assert flat is not x and flat[:12].min() > 0.8 and flat[:, :12].min() > 0.8
    assert np.array_equal(flat[400:500, 580:620], x[400:500, 580:620]), "the 1 is as it was"


def test_a_sheet_on_a_mid_grey_desk_under_uneven_light_is_found_by_the_step_at_its_edge():
    # Paper 0.9 on a desk of 0.67, the light falling off by 25% towards a corner: many pixels lie between the
    # two levels (the shaded paper, the lit desk), but the sheet's edge is a step; a lamp's falloff has none.
    yy, xx = np.mgrid[0:48, 0:64] / 48.0
    light = 1 - 0.25 * ((xx - 0.1) ** 2 + (yy - 0.1) ** 2) / 2
    x = np.full((48, 64), 0.67, np.float32)
    x[5:43, 6:58] = 0.9
    x[20:28, 30:31] = 0.1
    assert find_sheet((x * light).astype(np.float32)) is not None
    lamp = (0.9 * (1 - 0.5 * ((xx - 0.1) ** 2 + (yy - 0.1) ** 2))).astype(np.float32)
    assert find_sheet(lamp) is None


def test_a_dark_desks_strip_a_pixel_or_two_in_from_the_edge_goes_when_the_writing_has_a_margin():
    # A dark desk's strip beside a page is as bright as the pen's ink after the flat-field, and the
    # flat-field may leave a dark pixel or two between it and the border.
    x = ink_with_a_ring((slice(0, 120), slice(251, 253), 1.0), lines=[((150, 188, 256, 186), 2, 0.9)])
    out = without_edge_slivers(x)
    assert out[:, 240:].max() == 0 and out[180:].max() == 0
    # and a short one, a desk's wedge in a corner (a tenth of the edge)
    x = ink_with_a_ring((slice(0, 18), slice(0, 3), 1.0), lines=[((0, 4, 20, 0), 2, 0.4)])
    out = without_edge_slivers(x)
    assert out[:20, :25].max() == 0
    assert np.array_equal(out[50:140, 100:160], x[50:140, 100:160]), "the 0 is as it was"


def test_a_bright_stroke_along_the_edge_stays_when_the_writing_reaches_an_edge():
    # A close crop: the writing touches the border, and a stroke along the edge may be the pen's.
    x = ink_with_a_ring((slice(0, 120), slice(251, 253), 1.0), lines=[((60, 0, 60, 100), 5, 1.0)])
    assert without_edge_slivers(x) is x


def test_a_bright_patch_among_patches_of_other_levels_is_no_sheet_on_a_desk():
    # A colour-noise photo: its brightest rectangle has a step at its edge too, but what lies around it is
    # a patchwork of levels, not one surface under a falloff of light (one was read as a digit).
    patches = np.random.default_rng(0).uniform(0.2, 0.7, (6, 8)).astype(np.float32)
    x = np.kron(patches, np.ones((8, 8), np.float32))
    x[8:40, 12:52] = 0.9
    x[20:28, 30:31] = 0.1
    sheet = np.zeros(x.shape, bool)
    sheet[8:40, 12:52] = True
    assert edge_step(x, sheet) > 0.3, "a step at the patch's edge"
    assert find_sheet(x) is None


def test_a_pens_stroke_near_an_edge_that_does_not_run_along_it_stays():
    # A 1 written near the photo's edge, slanted, beside writing with a margin: thin and long, but most of
    # it lies away from the edge (a desk's strip lies along it).
    x = ink_with_a_ring(lines=[((254, 20, 238, 120), 3, 1.0)])
    assert without_edge_slivers(x) is x


@pytest.mark.parametrize("seed", range(4))
def test_a_blackboard_on_a_light_wall_has_the_wall_made_board(mnist_fixture, seed):
    # The wall was the background: the board one block of "ink", the chalk digit a hole in it.
    x = gray(blackboard_photo(mnist_fixture[0][seed], seed=seed))
    out = on_sheet(x)
    assert out is not x
    corners = np.concatenate([out[:8, :8].ravel(), out[-8:, -8:].ravel(), out[:8, -8:].ravel(), out[-8:, :8].ravel()])
    assert corners.max() < 0.35, "the wall takes the board's dark level"
    assert out.max() > 0.7, "the chalk stays"


@pytest.mark.parametrize("digit", [c for c in STROKES if c.isdigit()])
def test_a_fat_dark_digit_on_a_white_canvas_is_never_taken_for_a_dark_sheet(digit):
    # Its negative is a fat white digit on black: a filled 0 is a ring around a hole, a 1 a bar (no board).
    for height in (96, 160, 224, 288):
        for pen in (0.08, 0.12, 0.16, 0.25):
            data = draw(digit, height=height, pen=int(pen * height), background="white", margin=(400 - height) // 2)
            x = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float32) / 255
            assert on_sheet(x) is x, (height, pen)


def test_no_mnist_digit_written_dark_on_white_is_taken_for_a_dark_sheet(mnist_fixture):
    # A fat 1's negative is a bar whose blurred edges are darker than its middle: not writing on a board.
    for i, digit in enumerate(mnist_fixture[0]):
        img = Image.fromarray(255 - digit).resize((400, 400), Image.BICUBIC if i % 2 else Image.NEAREST)
        x = gray(png(np.asarray(img)) if i % 3 else encode(img.convert("RGB"), "JPEG", quality=80))
        assert on_sheet(x) is x, i


@pytest.mark.parametrize(("top", "bottom"), [(6, 4), (7, 5)])
def test_a_fat_tapering_1_drawn_dark_on_white_is_no_dark_sheet(top, bottom):
    # Its negative is a bar, a rectangle, whose thinner end is dimmer in the coarse copy than its middle:
    # "writing" by level, but no hole in it and too narrow for a board.
    img = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(img).polygon([(14 - top / 2, 3), (14 + top / 2, 3), (14 + bottom / 2, 25), (14 - bottom / 2, 25)], fill=255)
    img = Image.eval(img.filter(ImageFilter.GaussianBlur(0.7)), lambda v: 255 - v).resize((400, 400), Image.BICUBIC)
    x = np.asarray(img, np.float32) / 255
    assert on_sheet(x) is x


@pytest.mark.parametrize(("first", "second", "pen"), [("0", "3", 14), ("0", "7", 20)])
def test_an_overlapped_pair_drawn_dark_and_blurred_is_no_dark_sheet(first, second, pen):
    # Its negative is a rounded blob with holes: "writing" on a "board", but the blob has no flat level of
    # its own (two digits' strokes at two levels, blurred); an overlap test image was taken so.
    from support.drawing import ink_of

    pair = sum(ink_of(draw(d, height=70, pen=pen, margin=20, background="black")) for d in (first, second)) / 2
    img = Image.fromarray((255 * (1 - pair)).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))
    page = Image.new("L", (287, 127), 255)
    page.paste(img, (60, 0))
    x = np.asarray(page, np.float32) / 255
    assert on_sheet(x) is x


def test_a_dark_shape_in_a_corner_of_a_colour_photo_is_no_board():
    # A board stands inside its surround. This colour-noise render (one of the gate's training textures,
    # `training.negatives.texture`) has a dark blue ellipse in its top left corner, crossed by a light
    # line: taken for a board on a light surround, its render changed (the gate's renders must not).
    x = gray((Path(__file__).resolve().parents[1] / "fixtures" / "colour_texture.jpg").read_bytes())
    assert on_sheet(x) is x


def test_a_black_square_on_a_white_page_is_no_board():
    img = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(img).rectangle([80, 60, 320, 240], fill=20)
    x = np.asarray(img, np.float32) / 255
    assert on_sheet(x) is x


@pytest.mark.parametrize("seed", range(6))
def test_an_mnist_digit_shown_on_a_white_page_has_the_page_margin_made_its_black(mnist_fixture, seed):
    # A margin of 1-40% of the picture, too thin for the coarse copy at its low end.
    x = gray(shown_on_page(mnist_fixture[0][seed], seed=seed))
    out = on_sheet(without_matte(x))
    assert np.concatenate([out[0], out[-1], out[:, 0], out[:, -1]]).max() < 0.2, "the page's margin is black"
    assert out.max() > 0.9


def test_a_box_drawn_around_a_digit_or_a_canvas_without_margin_is_no_matte(mnist_fixture):
    img = Image.new("L", (300, 300), 255)
    d = ImageDraw.Draw(img)
    d.rectangle([30, 30, 270, 270], outline=0, width=4)  # a form's printed box: thinner than the band
    img.paste(Image.new("L", (168, 168), 0), (66, 66), Image.fromarray(mnist_fixture[0][0]).resize((168, 168)))
    boxed = np.asarray(img, np.float32) / 255
    assert without_matte(boxed) is boxed
    ImageDraw.Draw(img).rectangle([30, 30, 270, 270], outline=0, width=24)  # a fat pen's: the band is the pen
    boxed = np.asarray(img, np.float32) / 255
    assert without_matte(boxed) is boxed
    plain = gray(draw("4", height=200, pen=16, background="white"))
    assert without_matte(plain) is plain


def test_a_28x28_upload_is_never_given_a_matte(mnist_fixture):
    # It is in model format, untouched; the same picture at 32x32 has its margin made black.
    for side in (28, 32):
        digit = np.asarray(Image.fromarray(mnist_fixture[0][0]).resize((side - 4, side - 4), Image.BICUBIC))
        framed = np.pad(digit, 2, constant_values=255).astype(np.float32) / 255
        assert (without_matte(framed) is framed) == (side == 28)
