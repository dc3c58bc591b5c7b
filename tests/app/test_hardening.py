"""Bad input: a 4xx JSON error or a correct prediction, never a 500, never a dead process."""

import socket
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.ml.preprocess import InputError, prepare
from support.images import encode, heic, lamp_photo, notebook_photo, png, school_page_photo
from support.server import running_service

THREE = 3


@pytest.fixture(scope="module")
def three(mnist_fixture) -> np.ndarray:
    images, labels = mnist_fixture
    return images[int(np.flatnonzero(labels == THREE)[1])]


def on_white(digit: np.ndarray, size: int = 140) -> Image.Image:
    return Image.fromarray(255 - digit).resize((size, size), Image.BICUBIC)


def with_bad_crc(data: bytes) -> bytes:
    raw = bytearray(data)
    idat = raw.index(b"IDAT")
    length = int.from_bytes(raw[idat - 4:idat], "big")
    raw[idat + 4 + length] ^= 0xFF  # first byte of the IDAT chunk's CRC
    return bytes(raw)


def exif_rotated(digit: np.ndarray, fmt: str = "JPEG") -> bytes:
    """The digit stored rotated 90 degrees, with EXIF orientation 6 telling viewers to rotate it back."""
    img = on_white(digit).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(img, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))


def animated_gif(digit: np.ndarray) -> bytes:
    first = on_white(digit).convert("P")
    second = Image.new("P", first.size, 0)
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def rgba_transparent(digit: np.ndarray) -> bytes:
    alpha = Image.fromarray(digit).resize((200, 200), Image.BICUBIC)
    return encode(Image.merge("RGBA", [Image.new("L", (200, 200), 0)] * 3 + [alpha]), "PNG")


def tall_one() -> np.ndarray:
    """A 16-bit 64x4000 image of one dark bar on white: Pillow cannot reduce an image of that mode."""
    one = np.full((4000, 64), 65535, np.uint16)
    one[1000:3000, 28:36] = 0
    return one


def corpus(digit: np.ndarray) -> list[tuple[str, bytes, set]]:
    """(name, file bytes, accepted statuses); 200 must also be the right digit."""
    good = png(digit)
    white = on_white(digit)
    line_wide = np.full((1, 20000), 255, np.uint8)
    line_wide[0, 9000:11000] = 0
    return [
        ("text file", b"just some text\n", {415}),
        ("html", b"<html><body><script>alert(1)</script></body></html>", {415}),
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><text>3</text></svg>', {415}),
        ("truncated png", good[: len(good) // 2], {415}),
        ("png with bad crc", with_bad_crc(good), {415, 200}),
        ("0-byte file", b"", {422}),
        ("1x1 image", encode(Image.new("L", (1, 1), 0), "PNG"), {422}),
        ("1x1 white", encode(Image.new("L", (1, 1), 255), "PNG"), {422}),
        ("1x20000", encode(Image.fromarray(line_wide), "PNG"), {200, 422}),
        ("20000x1", encode(Image.fromarray(line_wide.T.copy()), "PNG"), {200, 422}),
        ("decompression bomb", encode(Image.new("1", (20000, 20000)), "PNG"), {413}),
        ("16-bit grayscale png", encode(Image.fromarray(digit.astype(np.uint16) * 257), "PNG"), {200}),
        ("tall 16-bit grayscale png of a 1", encode(Image.fromarray(tall_one()), "PNG"), {200, 422}),
        ("cmyk jpeg", encode(white.convert("CMYK"), "JPEG", quality=95), {200}),
        ("palette gif", encode(white.convert("P"), "GIF"), {200}),
        ("animated gif", animated_gif(digit), {200}),
        ("tiff", encode(white, "TIFF"), {200}),
        ("lab tiff", encode(white.convert("LAB"), "TIFF"), {200}),
        ("bmp", encode(white, "BMP"), {200}),
        ("webp", encode(white, "WEBP", quality=95), {200}),
        ("avif", encode(white.convert("RGB"), "AVIF", quality=90), {200}),
        ("heic", heic(white.convert("RGB"), quality=90), {200}),
        ("truncated heic", heic(white.convert("RGB"), quality=90)[:400], {415}),
        ("exif-rotated jpeg", exif_rotated(digit), {200}),
        ("exif-rotated png", exif_rotated(digit, "PNG"), {200}),
        ("rgba transparent background", rgba_transparent(digit), {200}),
        ("all white", encode(Image.new("L", (100, 100), 255), "PNG"), {422}),
        ("all black", encode(Image.new("L", (100, 100), 0), "PNG"), {422}),
        ("all gray noise-free", encode(Image.new("RGB", (64, 64), (120, 120, 120)), "JPEG"), {422}),
        # empty notebook pages: nothing is left once their lines are taken out (a 500 on /predict and
        # /predict/overlap before 2026-12-07)
        ("empty ruled page", notebook_photo(np.zeros((28, 28), np.uint8), "ruled", seed=2, size=(800, 600)), {422}),
        ("empty squared page", notebook_photo(np.zeros((28, 28), np.uint8), "squared", seed=3, size=(1600, 1200)), {422}),
    ]


def test_every_corpus_input_gets_a_4xx_or_the_right_digit(client, three):
    for name, data, accepted in corpus(three):
        r = client.post("/predict", files={"file": ("upload", data, "application/octet-stream")})
        assert r.status_code in accepted, f"{name}: {r.status_code} {r.text[:200]}"
        body = r.json()
        if r.status_code == 200:
            if accepted == {200}:
                assert body["digit"] == THREE, f"{name}: read as {body['digit']}"
        else:
            assert isinstance(body["detail"], str) and body["detail"], name
    r = client.post("/predict", files={"file": ("3.png", png(three), "image/png")})
    assert r.status_code == 200 and r.json()["digit"] == THREE, "still alive and right after the corpus"


def test_every_corpus_input_gets_a_4xx_or_an_answer_on_every_upload_route(client, three):
    for route in ("/predict/overlap", "/predict/sum", "/predict/number"):
        for name, data, accepted in corpus(three):
            r = client.post(route, data={"number": "4"}, files={"file": ("upload", data, "application/octet-stream")})
            assert r.status_code < 500, f"{route}, {name}: {r.status_code} {r.text[:200]}"
            if r.status_code != 200:
                assert r.status_code in accepted | {422}, f"{route}, {name}: {r.status_code} {r.text[:200]}"
                assert isinstance(r.json()["detail"], str) and r.json()["detail"], (route, name)


def test_every_corpus_input_gets_a_page_or_a_4xx_from_the_page_with_and_without_javascript(client, three):
    for route in ("/", "/ui/predict"):  # "/" also draws the upload's thumbnail
        for name, data, accepted in corpus(three):
            r = client.post(route, data={"task": "digit"}, files={"file": ("upload", data, "application/octet-stream")})
            assert r.status_code in accepted | {422}, f"{route}, {name}: {r.status_code} {r.text[:200]}"


@pytest.mark.parametrize("paper,seed", [("ruled", 2), ("ruled", 8), ("squared", 3)])
def test_an_empty_notebook_page_is_422_no_ink_on_the_digit_and_overlap_routes(client, paper, seed):
    page = notebook_photo(np.zeros((28, 28), np.uint8), paper, seed=seed, size=(1600, 1200))
    for route in ("/predict", "/predict/overlap"):
        r = client.post(route, files={"file": ("page.jpg", page, "image/jpeg")})
        assert r.status_code == 422 and r.json()["reason"] == "no_ink", (route, r.status_code, r.text[:200])


@pytest.mark.parametrize("seed", [0, 2, 4, 6, 8])
def test_an_empty_school_page_is_not_read_as_a_digit(client, seed):
    # Its red margin line, alone beside nothing, stayed ink (or, cut into pieces by the page's rules
    # when the shading left on the page was taken for a grid's lines) and was read as a 1.
    page = school_page_photo(np.zeros((28, 28), np.uint8), seed=seed)
    r = client.post("/predict", files={"file": ("page.jpg", page, "image/jpeg")})
    assert r.status_code == 422 and r.json()["reason"] in ("no_ink", "not_a_digit"), r.text[:200]


@pytest.mark.parametrize("falloff,seed", [(0.35, 0), (0.5, 1)])
def test_an_empty_page_under_a_lamp_is_422_no_ink_on_the_digit_and_overlap_routes(client, falloff, seed):
    page = lamp_photo(np.zeros((28, 28), np.uint8), falloff, seed=seed)
    for route in ("/predict", "/predict/overlap"):
        r = client.post(route, files={"file": ("page.jpg", page, "image/jpeg")})
        assert r.status_code == 422 and r.json()["reason"] == "no_ink", (route, r.status_code, r.text[:200])


@pytest.mark.parametrize("paper,seed", [("squared", 0), ("squared", 5), ("ruled", 1), ("ruled", 13)])
def test_an_empty_notebook_page_is_not_two_averaged_digits_on_the_overlap_route(client, paper, seed):
    # What the page's lines leave lay at several faint levels, like two averaged digits' ink: answered with digits.
    page = notebook_photo(np.zeros((28, 28), np.uint8), paper, seed=seed)
    r = client.post("/predict/overlap", files={"file": ("page.jpg", page, "image/jpeg")})
    assert r.status_code == 422 and r.json()["reason"] == "no_ink", r.text[:200]


def test_the_overlap_route_answers_ink_in_several_pieces_side_by_side(client, mnist_fixture):
    images, labels = mnist_fixture
    side_by_side = np.hstack([images[0], images[1]])
    r = client.post("/predict/overlap", files={"file": ("two.png", png(side_by_side), "image/png")})
    assert r.status_code in (200, 422), r.text[:200]
    assert r.status_code == 200 or r.json()["reason"] == "several_digits", r.text[:200]


def test_request_level_mistakes_are_4xx(client, three):
    assert client.post("/predict").status_code == 422
    empty_multipart = {"content-type": "multipart/form-data; boundary=x"}
    assert client.post("/predict", content=b"", headers=empty_multipart).status_code in (400, 422)
    assert client.post("/predict", content=b"garbage", headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/predict", data={"file": "not a file"}).status_code == 422


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_preprocessing_random_bytes_raises_only_the_typed_error(data):
    try:
        prepare(data)
    except InputError as exc:
        assert 400 <= exc.status < 500


@st.composite
def random_images(draw):
    w, h = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "LA", "P", "1", "I;16", "I", "F", "CMYK"]))
    fmt = draw(st.sampled_from(["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["noise", "blank", "blob"]))
    base = np.zeros((h, w), np.uint8) if kind != "noise" else rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == "blob":
        base[h // 4: 3 * h // 4 + 1, w // 3: w // 3 + max(1, w // 6)] = 255
    img = Image.fromarray(base).convert(mode) if mode not in ("I;16",) else Image.fromarray(base.astype(np.uint16) * 257)
    try:
        return encode(img, fmt)
    except (OSError, ValueError, KeyError):
        return encode(img.convert("L"), "PNG")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_images())
def test_preprocessing_random_images_gives_a_28x28_input_or_the_typed_error(data):
    try:
        out = prepare(data)
    except InputError as exc:
        assert 400 <= exc.status < 500
        return
    assert out.image.shape == (28, 28) and out.image.dtype == np.float32
    assert np.isfinite(out.image).all() and out.image.min() >= 0 and out.image.max() <= 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_images())
def test_line_preparation_of_random_images_gives_a_strip_and_glyphs_or_the_typed_error(data):
    """The number reader's preprocessing on anything: a 28-px strip and 28x28 glyphs in [0, 1], or a 4xx."""
    from app.ml import numbers

    try:
        line = numbers.read_line(data, 40_000_000)
    except InputError as exc:
        assert 400 <= exc.status < 500
        return
    strip = line.strip.image
    assert strip.shape[0] == 28 and 16 <= strip.shape[1] <= 1280
    for x in [strip, *numbers.glyph_inputs(line)]:
        assert np.isfinite(x).all() and 0 <= x.min() and x.max() <= 1
    assert all(x.shape == (28, 28) for x in numbers.glyph_inputs(line))


def test_a_slow_client_trickling_its_upload_gets_408_and_the_service_keeps_answering(three):
    body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n\r\n" + png(three) + b"\r\n--b--\r\n"
    with running_service(body_timeout_s=1.5) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                      + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:20])
            started = time.monotonic()
            s.settimeout(10)
            answer = s.recv(4096)
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408") and waited < 5
        import httpx

        r = httpx.post(base + "/predict", files={"file": ("3.png", png(three), "image/png")})
        assert r.status_code == 200 and r.json()["digit"] == THREE


def test_uploads_are_never_written_to_disk(monkeypatch, three):
    """Any temporary file, or a spooled upload rolling over to disk, fails the request loudly; an
    upload just under MAX_UPLOAD_BYTES (as a multipart field and as a v2 body) must not need one."""
    import tempfile

    from tests.utils import make_client

    writes = []

    def refuse(what):
        def write_attempt(*args, **kwargs):
            writes.append(what)
            raise AssertionError(f"an upload touched the disk: {what}")
        return write_attempt

    big = png(three) + bytes(9 * 1024 * 1024)  # a valid PNG with 9 MiB of trailing bytes
    with make_client() as c:
        for name in ("mkstemp", "TemporaryFile", "NamedTemporaryFile", "mkdtemp"):
            monkeypatch.setattr(tempfile, name, refuse(name))
        monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", refuse("SpooledTemporaryFile.rollover"))
        upload = c.post("/predict", files={"file": ("big.png", big, "image/png")})
        v2 = c.post("/v2/models/digit/infer", content=big, headers={"content-type": "application/octet-stream"})
    assert writes == [], writes
    assert upload.status_code == 200 and upload.json()["digit"] == THREE
    assert v2.status_code == 400, "read whole from memory, then refused as not a v2 request"


def test_logs_never_contain_image_bytes(client, three, caplog):
    """At DEBUG, from every logger (the app's, uvicorn's, the multipart parser's, httpx's)."""
    import logging

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="digitserve")  # the app sets its own logger's level at startup
    marker = png(three)
    client.post("/predict", files={"file": ("3.png", marker, "image/png")})
    client.post("/predict", files={"file": ("bad.png", marker[:50], "image/png")})
    assert any("POST" in r.getMessage() for r in caplog.records), "the capture sees the requests' log lines"
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records).encode(errors="ignore")
    # Pillow names the PNG chunks it reads at DEBUG ("STREAM b'IHDR'"): names, not the image's bytes
    windows = [marker[i:i + 12] for i in range(16, len(marker) - 12)]
    forms = [w for w in windows if w.strip(b"\x00")] + [repr(w)[2:-1].encode() for w in windows if w.strip(b"\x00")]
    assert not [f for f in forms if f in logged], "a piece of the upload was logged (raw or as a repr)"


def test_a_model_that_fails_like_cuda_out_of_memory_answers_503_and_the_next_request_is_served(three):
    """The runtime raises once (as torch does on CUDA OOM or a lost device): that request gets 503 +
    Retry-After in the route's own error form, it is logged, and the worker goes on serving."""
    from tests.utils import make_client

    data = png(three)
    with make_client() as c:
        digit, line = c.app.state.store.models["digit"], c.app.state.store.models["line"]
        real_digit, real_line = digit.runtime, line.runtime
        failures = []

        def out_of_memory(real):
            def run(*args):
                if not failures or failures[-1] != "done":
                    failures.append("done")
                    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
                return real(*args)
            return run

        digit.runtime = out_of_memory(real_digit)
        first = c.post("/predict", files={"file": ("d.png", data)})
        second = c.post("/predict", files={"file": ("d.png", data)})
        failures.clear()
        line.runtime = out_of_memory(real_line)
        number = c.post("/predict/number", files={"file": ("d.png", data)})
        v2 = c.post("/v2/models/digit/infer", json={"inputs": [{"name": "pixels", "shape": [1, 28, 28],
                                                                  "datatype": "FP32", "data": [0.0] * 784}]})
        digit.runtime, line.runtime = real_digit, real_line
    assert first.status_code == 503, first.text
    assert first.headers["retry-after"] and "failed" in first.json()["detail"]
    assert second.status_code == 200 and second.json()["digit"] == 3
    assert number.status_code == 503 and "retry-after" in number.headers
    assert v2.status_code == 200


def test_a_full_queue_sheds_before_the_body_is_read_on_every_predict_route(three):
    """With the digit queue full, uploads to the routes that need it get 503 + Retry-After and a closed
    connection at once: even a body over the size limit gets the 503, not the 413 that reading it would
    give. Routes whose queues have room still answer."""
    from tests.utils import make_client

    with make_client(max_queue=2) as c:
        batcher = c.app.state.batchers["digit+gate"]
        c.portal.call(batcher.stop)  # no worker: what is queued stays queued
        while not batcher.queue.full():
            batcher.queue.put_nowait((np.zeros((1, 28, 28), np.float32), None, None))
        oversize = {"content-length": str(c.app.state.settings.max_upload_bytes + 1)}
        shed = [c.post("/predict", files={"file": ("d.png", png(three))}),
                c.post("/predict", content=b"x" * 16, headers=oversize),
                c.post("/v2/models/digit/infer", content=b"{}")]
        overlap = c.post("/predict/overlap", files={"file": ("d.png", png(three))})
        counted = c.get("/metrics").text
    for r in shed:
        assert r.status_code == 503 and r.headers["retry-after"] and r.headers["connection"] == "close", r.text
    assert "detail" in shed[0].json() and "error" in shed[2].json(), "each protocol's error form"
    assert overlap.status_code == 200
    assert 'digitserve_shed_total{model="digit+gate"} 3.0' in counted
