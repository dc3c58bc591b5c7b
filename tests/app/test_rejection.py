"""Not one digit: POST /predict and /predict/sum answer 422 with a reason, and the page says so; so does
POST /predict/overlap for ink of one pen that is not one digit (two digits averaged are what it reads)."""

import asyncio

import numpy as np
import pytest

from support.drawing import draw, typed
from support.images import png

REASONS = {"no_ink", "not_a_digit", "several_digits"}


def post(client, route, data, **form):
    return client.post(route, files={"file": ("x.png", data, "image/png")}, data=form)


ROUTES = [("/predict", {}), ("/predict/sum", {"number": "3"}), ("/predict/overlap", {})]


@pytest.mark.parametrize("route,form", ROUTES)
def test_a_blank_canvas_is_422_no_ink(client, route, form):
    r = post(client, route, png(np.full((200, 200), 255, np.uint8)), **form)
    assert r.status_code == 422 and r.json()["reason"] == "no_ink"
    assert "no digit" in r.json()["detail"]


@pytest.mark.parametrize("route,form", ROUTES)
@pytest.mark.parametrize("text", ["A", "X", "W"])
def test_a_letter_is_422_not_a_digit(client, route, form, text):
    r = post(client, route, draw(text, background="white"), **form)
    assert r.status_code == 422, r.text
    assert r.json()["reason"] == "not_a_digit" and "digit" in r.json()["detail"]


@pytest.mark.parametrize("route,form", ROUTES)
def test_a_number_is_422_several_digits_pointing_to_the_number_route(client, route, form):
    r = post(client, route, draw("2025", pen=10), **form)
    assert r.status_code == 422, r.text
    assert r.json()["reason"] == "several_digits" and "/predict/number" in r.json()["detail"]


@pytest.mark.parametrize(("word", "font"), [("Kevin", "DejaVuSans.ttf"), ("hello", "DejaVuSans-Oblique.ttf"),
                                            ("apple", "cmr10.ttf"), ("house", "STIXGeneral.ttf")])
def test_a_typed_word_is_422_not_a_digit_though_its_letters_stand_apart_like_a_numbers_digits(client, word, font):
    # Its letters alone are what the gate tells from digits (by the number route's rule); the answer
    # was several_digits, pointing to the number route.
    r = post(client, "/predict", typed(word, font))
    assert r.status_code == 422 and r.json()["reason"] == "not_a_digit", r.json()


@pytest.mark.parametrize(("number", "font"), [("2025", "STIXGeneral.ttf"), ("307", "STIXGeneral.ttf"),
                                              ("4096", "cmr10.ttf"), ("2025", "DejaVuSans-Oblique.ttf")])
def test_a_typed_number_whose_digits_nearly_touch_is_422_several_digits(client, number, font):
    # Too close for separate glyphs, so the gate judged the whole, and called it not a digit.
    r = post(client, "/predict", typed(number, font, spacing=0.0))
    assert r.status_code == 422 and r.json()["reason"] == "several_digits", r.json()
    assert "/predict/number" in r.json()["detail"]


@pytest.mark.parametrize("slope", [0.0, 0.4])
def test_a_hatch_is_not_called_several_digits_though_each_line_alone_is_a_1(slope):
    """Straight strokes side by side are no number the service reads, upright or slanted."""
    from PIL import Image, ImageDraw

    from app.ml.preprocess import prepare

    hatch = Image.new("L", (300, 200), 255)
    for i, x in enumerate((60, 74, 89, 103, 118)):
        ImageDraw.Draw(hatch).line([(x, 40 + 7 * (i % 3)), (x + slope * 110, 150 + 5 * (i % 2))], fill=0, width=6)
    prepared = prepare(png(np.asarray(hatch)))
    assert prepared.glyphs == 1 and len(prepared.pieces) == 5
    assert asyncio.run(settled_with_every_piece_a_digit(prepared)) == "not_a_digit"


async def settled_with_every_piece_a_digit(prepared):
    from app.services.predictor import Predictor
    from app.services.tasks import TASK_SPECS

    class Accepting:
        async def submit_many(self, queue, images):
            return [{"reason": None, "p_not_a_digit": 0.0} for _ in images]

    fake = Predictor.__new__(Predictor)
    fake.submit_many = Accepting().submit_many
    return await Predictor.settled(fake, TASK_SPECS["digit"], prepared, "not_a_digit")


@pytest.mark.parametrize("route,form", [("/predict", {}), ("/predict/sum", {"number": "3"})])
@pytest.mark.parametrize("pen", [3, 8, 16])
def test_a_dash_is_422_not_a_digit(client, route, form, pen):
    r = post(client, route, draw("-", pen=pen, background="white"), **form)  # the gate alone read thin ones as 2
    assert r.status_code == 422, r.text
    assert r.json()["reason"] == "not_a_digit"


@pytest.mark.parametrize("pen", [2, 3, 4])
def test_a_thin_dash_is_refused_by_the_flat_ink_rule_even_where_the_gate_accepts_it(pen):
    """The first round's gate read thin dashes as 2 (the rule refused them, the API's detail without a
    gate probability); the second round's refuses them itself, so the rule is checked on its own here."""
    from app.ml.preprocess import prepare
    from app.services.predictor import refusal
    from app.services.tasks import TASK_SPECS

    dash = prepare(draw("-", pen=pen, background="white")).image
    assert refusal(TASK_SPECS["digit"], 1, dash, {"reason": None}) == "not_a_digit"
    assert refusal(TASK_SPECS["digit"], 1, prepare(draw("7", pen=pen)).image, {"reason": None}) is None


def test_a_star_and_a_spiral_are_not_digits(client):
    from training.heldout import spiral, star

    rng = np.random.default_rng(0)
    for make in (star, spiral):
        buf = __import__("io").BytesIO()
        make(rng).save(buf, format="PNG")
        r = post(client, "/predict", buf.getvalue())
        assert r.status_code == 422 and r.json()["reason"] in REASONS


@pytest.mark.parametrize("pen,height", [(20, 60), (24, 90), (12, 40)])
def test_a_small_digit_drawn_with_a_fat_pen_is_read(client, pen, height):
    r = post(client, "/predict", draw("1", height=height, pen=pen, size=(280, 280), origin=(110, 100)))
    assert r.status_code == 200, r.text
    assert r.json()["digit"] == 1


@pytest.mark.parametrize("text,background", [("7", "transparent"), ("4", "white"), ("2", "black")])
def test_a_large_digit_drawn_with_a_hairline_is_read(client, text, background):
    r = post(client, "/predict", draw(text, height=700, pen=4, margin=150, background=background))
    assert r.status_code == 200, r.text
    assert r.json()["digit"] == int(text)


def test_most_digits_drawn_only_9_to_11_px_tall_are_read(client):
    """A digit a few pixels tall (a small canvas, a thumbnail): 7 digits x 3 heights x 2 pens x 3 canvases.
    Redrawn smooth before the models see it, 105 of 126 are read right; scaled up as they were, the
    staircase strokes left 81 (measured)."""
    right = 0
    for text in "0123457":
        for height in (9, 10, 11):
            for pen in (1, 2):
                for background in ("transparent", "white", "black"):
                    r = post(client, "/predict", draw(text, height=height, pen=pen, margin=20, background=background))
                    right += r.status_code == 200 and r.json()["digit"] == int(text)
    assert right >= 96, right


def test_on_the_overlap_route_a_letter_is_neither_a_digit_nor_two_averaged(client):
    r = post(client, "/predict/overlap", draw("W", background="white"))
    assert r.status_code == 422 and r.json()["reason"] == "not_a_digit", r.text
    assert "two digits averaged" in r.json()["detail"]


def test_averaged_pairs_and_single_digits_on_the_overlap_route_are_answered(client, mnist_fixture):
    """Two digits averaged are never put to the gate (it never saw such images and refuses many); one
    digit is, as on /predict, and is accepted as one."""
    from training.data import pair_images

    images, labels = mnist_fixture
    idx = np.arange(300).reshape(150, 2)
    pairs = np.round(pair_images(images, idx) * 255).astype(np.uint8)
    answered = [post(client, "/predict/overlap", png(p)) for p in pairs]
    refused = [r.json() for r in answered if r.status_code != 200]
    assert len(refused) <= 1, refused  # 3 of 2,000 validation pairs (README)
    right = [r.json()["digits"] == sorted({int(labels[a]), int(labels[b])}) for r, (a, b) in zip(answered, idx)]
    assert np.mean(right) >= 0.93
    singles = [post(client, "/predict/overlap", png(img)) for img in images]
    assert sum(r.status_code != 200 for r in singles) <= 2


def test_photos_of_nothing_on_the_overlap_route_are_often_refused_and_averaged_pair_photos_are_not(client, mnist_fixture):
    # Their blotches at many levels look averaged, so the gate never saw them: 6 of 200 held-out ones were
    # refused (README: 45% now); pieces apart that the gate holds no digit are refused
    from support.images import phone_jpeg
    from training.data import pair_images
    from training.heldout import nondigit

    rng = np.random.default_rng(3)
    photos = [nondigit("noise photo", rng, *mnist_fixture) for _ in range(30)]
    refused = [r.json()["reason"] for r in (post(client, "/predict/overlap", p) for p in photos) if r.status_code == 422]
    assert len(refused) >= 8 and set(refused) <= {"not_a_digit", "no_ink"}, refused
    pairs = np.round(pair_images(mnist_fixture[0], np.arange(80).reshape(40, 2)) * 255).astype(np.uint8)
    answered = [post(client, "/predict/overlap", phone_jpeg(p, (1200, 900))).status_code for p in pairs]
    assert answered.count(422) <= 1, answered


def test_a_letter_sent_as_pixels_to_the_overlap_model_is_rejected_over_v2(client):
    from app.ml.preprocess import prepare

    letter = np.round(prepare(draw("W", background="white")).image * 255).astype(np.uint8)
    body = {"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 28, 28], "data": letter.ravel().tolist()}]}
    outputs = {o["name"]: o["data"] for o in client.post("/v2/models/overlap/infer", json=body).json()["outputs"]}
    assert outputs["rejected"] == ["not_a_digit"]


def test_real_mnist_digits_are_accepted(client, mnist_fixture):
    images, labels = mnist_fixture
    answers = [post(client, "/predict", png(img)) for img in images]
    rejected = [r.json()["reason"] for r in answers if r.status_code == 422]
    assert len(rejected) <= 2, rejected  # <= 0.67% of 300 (0.13% on the full test split, README)


def test_rejections_are_counted_by_reason_in_metrics(client):
    post(client, "/predict", draw("X", background="white"))
    text = client.get("/metrics").text
    assert 'digitserve_predictions_total{answer="not_a_digit",model="digit"}' in text


@pytest.mark.parametrize("y0,y1", [(42, 238), (118, 162), (60, 200)])
def test_a_straight_vertical_stroke_is_read_as_1(client, y0, y1):
    """However the gate scores it, one upright stroke is how people draw a 1."""
    r = post(client, "/predict", draw("1", height=y1 - y0, pen=20, size=(280, 280), origin=(110, y0)))
    assert r.status_code == 200 and r.json()["digit"] == 1, r.text


@pytest.fixture(scope="module")
def held_out_signs():
    from training.heldout import sign_sets

    return sign_sets(per_kind=12, seed=11)


@pytest.mark.parametrize("name", ["checkmark", "lightning bolt", "tilde", "umbrella"])
def test_signs_people_draw_are_not_digits(client, held_out_signs, name):
    """A checkmark read as a 1, a lightning bolt as a 4, a tilde as a 2, an umbrella as an 8 or 9 before the
    gate's second round; these are held-out drawings (`training.heldout.sign`), not the training generator's."""
    answers = [post(client, "/predict", data) for data in held_out_signs[name]]
    refused = [r.json()["reason"] for r in answers if r.status_code == 422]
    assert len(refused) >= 11, [r.json() for r in answers]
    assert set(refused) <= REASONS


def test_a_photo_of_a_face_is_not_a_digit(client):
    # A head of hair over two eyes and a mouth, once the skin sank into the wall: a filled area no pen
    # draws, which the gate read as a 9 (11 of 20 ad-hoc faces answered "Digit 9" before).
    from support.images import face_photo

    reasons = [post(client, "/predict", face_photo(seed=i)).json().get("reason") for i in range(8)]
    assert reasons == ["not_a_digit"] * 8


def test_a_photo_of_a_face_is_refused_on_the_number_route(client):
    # The line was refused only when the gate doubted two glyphs or was certain of one: a face's eyes and
    # mouth passed for digits beside its hair (17 of 20 read as a number). A glyph holding a filled area
    # now counts as surely not a digit.
    from support.images import face_photo

    reasons = [post(client, "/predict/number", face_photo(seed=i)).json().get("reason") for i in range(20)]
    assert sum(r in ("not_a_digit", "several_lines") for r in reasons) >= 14, reasons  # 3 before, 16 now

