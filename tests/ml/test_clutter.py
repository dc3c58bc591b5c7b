"""What stands around the writing (a window's bars, icons, a ring, a box, an underline) is taken out of
the ink; the writing itself, and marks that are writing, stay."""

import numpy as np
from PIL import Image, ImageDraw

from app.ml.clutter import without_clutter
from support.drawing import ink_image


def canvas(size: tuple[int, int] = (256, 200)) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("L", size, 0)
    return img, ImageDraw.Draw(img)


def with_digit(img: Image.Image, text: str = "7", at: tuple[int, int] = (100, 50), height: int = 80) -> np.ndarray:
    digit = Image.fromarray(ink_image(text, height=height, pen=8, margin=0))
    img.paste(255, at, digit)
    return np.asarray(img, np.float32) / 255


def digit_only(text: str = "7", at: tuple[int, int] = (100, 50), height: int = 80) -> np.ndarray:
    return with_digit(canvas()[0], text, at, height)


def test_a_line_under_a_digit_is_taken_out():
    img, d = canvas()
    d.line([(85, 145), (175, 147)], fill=255, width=6)
    assert np.array_equal(without_clutter(with_digit(img)), digit_only())


def test_a_ring_and_a_box_drawn_around_a_digit_are_taken_out():
    for shape in ("ellipse", "rectangle"):
        img, d = canvas()
        getattr(d, shape)([60, 20, 200, 170], outline=255, width=6)
        assert np.array_equal(without_clutter(with_digit(img)), digit_only()), shape


def test_a_title_bar_and_far_icons_are_taken_out():
    img, d = canvas()
    d.rectangle([0, 0, 255, 8], fill=255)  # along the top edge
    for x in range(5, 80, 20):
        d.rectangle([x, 14, x + 10, 24], outline=255, width=2)  # small, far from the digit
    assert np.array_equal(without_clutter(with_digit(img, at=(120, 100))), digit_only(at=(120, 100)))


def test_the_writing_stays_as_it_is():
    img, d = canvas()
    d.line([(20, 120), (60, 120)], fill=255, width=6)  # "=": two bars as thick as each other
    d.line([(20, 140), (60, 140)], fill=255, width=6)
    equals = np.asarray(img, np.float32) / 255
    assert np.array_equal(without_clutter(equals), equals), "an = keeps its lower bar"
    number = np.asarray(Image.fromarray(ink_image("1,207", height=60, pen=6, margin=20)), np.float32) / 255
    assert np.array_equal(without_clutter(number), number), "digits far apart and a comma among them stay"
    target, d = canvas()
    d.ellipse([40, 20, 200, 180], outline=255, width=6)
    d.ellipse([90, 70, 150, 130], outline=255, width=6)
    target = np.asarray(target, np.float32) / 255
    assert np.array_equal(without_clutter(target), target), "a ring around a lone ring (a target) is kept"
    smear, d = canvas()
    d.ellipse([40, 20, 200, 180], outline=255, width=6)
    d.point([(120, 100)], fill=255)
    smear = np.asarray(smear, np.float32) / 255
    assert np.array_equal(without_clutter(smear), smear), "a ring around a speck is kept: nothing to read inside"


def test_a_digits_own_pieces_stay_where_they_look_like_clutter():
    dotted, d = canvas()
    d.ellipse([90, 40, 150, 160], outline=255, width=10)  # a printed 0 with a dot inside: no digit in a ring
    d.ellipse([114, 94, 126, 106], fill=255)
    dotted = np.asarray(dotted, np.float32) / 255
    assert np.array_equal(without_clutter(dotted), dotted), "a dotted 0 keeps its dot"
    nine, d = canvas()
    d.line([(150, 0), (150, 199)], fill=255, width=6)  # a 9's stem drawn from the top edge to the bottom
    d.ellipse([100, 20, 140, 70], outline=255, width=6)  # its loop, apart from it
    nine = np.asarray(nine, np.float32) / 255
    assert np.array_equal(without_clutter(nine), nine), "a stroke from edge to edge is no bar along an edge"
    five, d = canvas()
    d.line([(12, 170), (24, 170)], fill=255, width=3)  # a small 5 in the corner, its bar drawn apart
    d.arc([2, 172, 22, 196], 200, 140, fill=255, width=3)
    five = np.asarray(five, np.float32) / 255
    assert np.array_equal(without_clutter(five), five), "beside writing that reaches the edge, a small piece stays"


def test_ink_cut_by_the_images_edge_keeps_what_lies_along_the_edges():
    # Blocks of a colour-noise photo: dropping the one along the top edge left one block, read as a 1.
    blocks, d = canvas()
    d.rectangle([40, 150, 52, 199], fill=255)  # runs off the bottom edge
    d.rectangle([200, 5, 240, 15], fill=255)  # along the top edge
    blocks = np.asarray(blocks, np.float32) / 255
    assert np.array_equal(without_clutter(blocks), blocks)


def test_a_line_of_writing_along_the_edge_stays_for_the_line_count():
    # A second line as tall as the first is writing, not a toolbar: the number route refuses two lines.
    x = np.zeros((400, 300), np.float32)
    first, second = (np.asarray(Image.fromarray(ink_image("27", height=h, pen=6, margin=0)), np.float32) / 255
                     for h in (44, 40))
    x[180:180 + first.shape[0], 60:60 + first.shape[1]] = first
    x[5:5 + second.shape[0], 100:100 + second.shape[1]] = second  # within the top 15%
    assert np.array_equal(without_clutter(x), x)
