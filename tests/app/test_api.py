"""Every route, and every client mistake answered with a 4xx JSON error that names it."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.drawing import draw
from support.images import encode, png
from tests.realistic import accuracy
from tests.utils import copy_models, fixture_photos, make_client, rewrite_start_check


@pytest.fixture(scope="module")
def seven(mnist_fixture):
    images, labels = mnist_fixture
    return png(images[int(np.flatnonzero(labels == 7)[0])])


def test_predict_returns_the_contract(client, seven):
    r = client.post("/predict", files={"file": ("7.png", seven, "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"digit", "confidence", "probabilities", "model"}
    assert body["digit"] == 7
    assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-4
    assert body["confidence"] == max(body["probabilities"])
    assert body["model"]["name"] == "digit" and len(body["model"]["version"]) == 12


def test_overlap_returns_sorted_digits_and_per_digit_probabilities(client, mnist_fixture):
    images, labels = mnist_fixture
    a, b = int(np.flatnonzero(labels == 3)[0]), int(np.flatnonzero(labels == 8)[0])
    pair = ((images[a].astype(np.float32) + images[b]) / 2).round().astype(np.uint8)
    r = client.post("/predict/overlap", files={"file": ("pair.png", png(pair), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"digits", "probabilities", "threshold", "model"}
    assert body["digits"] == sorted(body["digits"]) and 1 <= len(body["digits"]) <= 2
    assert body["digits"] == [3, 8]
    assert all(body["probabilities"][d] >= body["threshold"] for d in body["digits"])


def test_sum_adds_the_number(client, seven):
    r = client.post("/predict/sum", files={"file": ("7.png", seven, "image/png")}, data={"number": "5"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"digit", "number", "sum", "confidence", "model"}
    assert (body["digit"], body["number"], body["sum"]) == (7, 5, 12)


def test_health_ready_models_metrics(client, seven):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "draining": False,
                            "models": {t: "ready" for t in ("digit", "overlap", "sum", "gate", "line")}}
    cards = client.get("/models").json()
    assert {c["task"] for c in cards["models"]} == {"digit", "overlap", "sum", "gate", "line"} and cards["unavailable"] == {}
    reader = cards["number_reader"]
    assert reader["calibration"]["a"] > 0 and set(reader["checkpoints"]) == {"line", "gate", "digit"}
    for c in cards["models"]:
        assert len(c["sha256"]) == 64 and c["version"] == c["sha256"][:12] and c["test_metrics"]
        assert (c["runtime"], c["device"]) == ("onnxruntime", "cpu")
    client.post("/predict", files={"file": ("7.png", seven, "image/png")})
    text = client.get("/metrics").text
    assert 'digitserve_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'digitserve_predictions_total{answer="7",model="digit"}' in text
    assert "digitserve_request_duration_seconds_bucket" in text and "digitserve_batch_size_bucket" in text


def all_paths(routes) -> list[str]:
    paths = []
    for r in routes:
        if hasattr(r, "original_router"):
            paths += all_paths(r.original_router.routes)
        else:
            paths.append(r.path)
    return paths


def test_no_route_ends_in_z(client):
    paths = all_paths(client.app.routes)
    assert {"/predict", "/health", "/ready", "/metrics", "/"} <= set(paths)
    assert not [p for p in paths if p.endswith("z")]


def test_openapi_documents_the_three_predict_routes_with_their_models(client):
    spec = client.get("/openapi.json").json()
    for path, schema in (("/predict", "DigitPrediction"), ("/predict/overlap", "OverlapPrediction"),
                         ("/predict/sum", "SumPrediction")):
        ok = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"].endswith(schema)
        for status in ("413", "415", "422", "503"):
            assert status in spec["paths"][path]["post"]["responses"]


def error_of(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()["detail"]


def test_no_file_is_422(client):
    assert "file" in error_of(client.post("/predict", data={"x": "1"}), 422)


def test_not_an_image_is_415(client):
    assert "not a decodable image" in error_of(client.post("/predict", files={"file": ("a.txt", b"hello", "text/plain")}), 415)


def test_truncated_image_is_415(client, seven):
    assert "corrupt" in error_of(client.post("/predict", files={"file": ("t.png", seven[:60], "image/png")}), 415)


def test_too_large_is_413_before_reading_the_body():
    with make_client(max_upload_bytes=1000) as small:
        detail = error_of(small.post("/predict", files={"file": ("big.png", b"\0" * 5000, "image/png")}), 413)
        assert "1000-byte limit" in detail


def test_too_large_chunked_body_is_413():
    def chunks():
        for _ in range(50):
            yield b"x" * 1000

    with make_client(max_upload_bytes=10_000) as small:
        r = small.post("/predict", content=chunks(), headers={"content-type": "multipart/form-data; boundary=abc"})
        assert error_of(r, 413)


def test_too_many_pixels_is_413(client):
    bomb = encode(Image.new("1", (10_000, 10_000)), "PNG")
    assert len(bomb) < 100_000
    assert "pixels" in error_of(client.post("/predict", files={"file": ("bomb.png", bomb, "image/png")}), 413)


@pytest.mark.parametrize("number,fragment", [(None, "`number` is missing"), ("10", "not '10'"), ("-1", "not '-1'"),
                                             ("abc", "not 'abc'"), ("2.5", "not '2.5'"), ("", "not ''"),
                                             ("\u00b2", "not '\u00b2'"), ("\u0663", "not '\u0663'")])
def test_bad_number_is_422(client, seven, number, fragment):
    data = {} if number is None else {"number": number}
    detail = error_of(client.post("/predict/sum", files={"file": ("7.png", seven, "image/png")}, data=data), 422)
    assert fragment in detail


@pytest.mark.parametrize("color", [0, 255])
def test_image_without_ink_is_422_no_digit_found(client, color):
    blank = encode(Image.new("L", (200, 120), color), "PNG")
    assert "no digit found" in error_of(client.post("/predict", files={"file": ("blank.png", blank, "image/png")}), 422)


def test_two_files_are_refused(client, seven):
    files = [("file", ("a.png", seven, "image/png")), ("file", ("b.png", seven, "image/png"))]
    assert "exactly one file" in error_of(client.post("/predict", files=files), 422)


def test_api_key_guards_predict_routes_only(seven):
    with make_client(api_key="s3cret") as guarded:
        upload = {"file": ("7.png", seven, "image/png")}
        assert error_of(guarded.post("/predict", files=upload), 401)
        assert error_of(guarded.post("/predict", files=upload, headers={"X-API-Key": "wrong"}), 401)
        assert guarded.post("/predict", files=upload, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert guarded.get("/health").status_code == 200 and guarded.get("/").status_code == 200
        for route, data in (("/predict/overlap", None), ("/predict/sum", {"number": "4"}), ("/predict/number", None)):
            assert error_of(guarded.post(route, files=upload, data=data), 401)
            assert guarded.post(route, files=upload, data=data, headers={"X-API-Key": "s3cret"}).status_code == 200
        # the key is checked before the body is read: a malformed body without a key is a 401, not a 400
        assert error_of(guarded.post("/predict/sum", content=b"x", headers={"content-type": "multipart/form-data"}), 401)


def test_the_api_key_header_is_in_the_contract_of_every_predict_route(client):
    spec = client.get("/openapi.json").json()
    for path in ("/predict", "/predict/overlap", "/predict/sum", "/predict/number", "/v2/models/{model}/infer"):
        headers = [p["name"] for p in spec["paths"][path]["post"].get("parameters", []) if p["in"] == "header"]
        assert headers == ["X-API-Key"], path


def flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("fault,message", [("missing", "checkpoint file not found"),
                                           ("truncated", "sha256"), ("tampered", "sha256")])
def test_a_bad_checkpoint_is_reported_and_the_other_models_keep_serving(tmp_path, seven, caplog, fault, message):
    copy_models(tmp_path)
    broken = tmp_path / "overlap.pt"
    raw = broken.read_bytes()
    if fault == "missing":
        broken.unlink()
    elif fault == "truncated":
        broken.write_bytes(raw[: len(raw) // 2])
    else:
        flip_a_byte(broken)
    with make_client(model_dir=tmp_path) as partial:
        ready = partial.get("/ready")
        assert ready.status_code == 503
        assert message in ready.json()["models"]["overlap"]
        assert ready.json()["models"]["digit"] == "ready" and ready.json()["models"]["sum"] == "ready"
        assert partial.post("/predict", files={"file": ("7.png", seven, "image/png")}).status_code == 200
        r = partial.post("/predict/overlap", files={"file": ("7.png", seven, "image/png")})
        assert "unavailable" in error_of(r, 503) and r.headers["retry-after"]
    errors = [rec for rec in caplog.records if rec.levelname == "ERROR" and "overlap" in rec.getMessage()]
    assert len(errors) == 1 and "make train" in errors[0].getMessage() and "overlap.pt" in errors[0].getMessage()


def test_the_number_route_needs_the_digit_model_that_reads_its_separate_glyphs(tmp_path, seven):
    copy_models(tmp_path)
    (tmp_path / "digit.pt").unlink()
    with make_client(model_dir=tmp_path) as partial:
        line = draw("17", height=100, pen=10)
        r = partial.post("/predict/number", files={"file": ("17.png", line, "image/png")})
        assert "digit" in error_of(r, 503) and r.headers["retry-after"]
        assert partial.post("/predict/overlap", files={"file": ("7.png", seven, "image/png")}).status_code == 200


def test_the_overlap_route_needs_the_gate_that_judges_one_pens_ink(tmp_path, seven):
    copy_models(tmp_path)
    (tmp_path / "gate.pt").unlink()
    with make_client(model_dir=tmp_path) as partial:
        r = partial.post("/predict/overlap", files={"file": ("7.png", seven, "image/png")})
        assert "gate" in error_of(r, 503) and r.headers["retry-after"]


def test_a_tampered_onnx_export_is_never_run(tmp_path, seven, caplog):
    """By default the service falls back from the 8-bit export to the 32-bit one, and from that to the
    verified checkpoint in torch; with INFERENCE_RUNTIME=onnx the model is unavailable instead."""
    copy_models(tmp_path)
    flip_a_byte(tmp_path / "digit.onnx")
    flip_a_byte(tmp_path / "digit.int8.onnx")
    with make_client(model_dir=tmp_path) as fallback:
        assert fallback.get("/ready").status_code == 200
        assert fallback.app.state.store.models["digit"].runtime.name == "torch"
        assert fallback.post("/predict", files={"file": ("7.png", seven, "image/png")}).json()["digit"] == 7
    for name in ("digit.int8.onnx", "digit.onnx"):
        assert any(r.levelname == "WARNING" and name in r.getMessage() and "sha256" in r.getMessage()
                   for r in caplog.records)
    with make_client(model_dir=tmp_path, inference_runtime="onnx") as strict:
        ready = strict.get("/ready")
        assert ready.status_code == 503 and "sha256" in ready.json()["models"]["digit"]
        assert ready.json()["models"]["sum"] == "ready"


def test_a_gate_whose_8_bit_start_check_fails_on_this_cpu_serves_32_bits_and_models_says_why(tmp_path, seven):
    copy_models(tmp_path)
    rewrite_start_check(tmp_path, "gate", lambda images, outputs: (images, np.roll(outputs, 1, axis=1)))
    with make_client(model_dir=tmp_path) as client:
        cards = {m["name"]: m for m in client.get("/models").json()["models"]}
        assert (cards["gate"]["precision"], cards["digit"]["precision"]) == ("fp32", "int8")
        assert "other answers on this CPU" in cards["gate"]["fallback"] and cards["digit"]["fallback"] is None
        assert client.post("/predict", files={"file": ("7.png", seven, "image/png")}).json()["digit"] == 7


def test_page_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_form_upload_without_javascript_renders_the_answer_and_escapes_the_filename(client, seven):
    name = '<script>alert("x")</script>.png'
    r = client.post("/", files={"file": (name, seven, "image/png")}, data={"task": "digit"})
    assert r.status_code == 200
    assert "Digit <strong>7</strong>" in r.text
    assert "<script>alert" not in r.text and "&lt;script&gt;alert" in r.text
    assert 'src="data:image/png;base64,' in r.text


def test_form_sum_shows_the_equation(client, seven):
    r = client.post("/", files={"file": ("7.png", seven, "image/png")}, data={"task": "sum", "number": "2"})
    assert "7 + 2 = 9" in r.text
    assert 'digitserve_predictions_total{answer="9",model="sum"}' in client.get("/metrics").text, "page answers count too"


def test_shed_requests_are_counted(seven):
    import asyncio

    import httpx

    with make_client(max_queue=1) as small:
        async def burst():
            transport = httpx.ASGITransport(app=small.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return await asyncio.gather(*[c.post("/predict", files={"file": ("7.png", seven, "image/png")})
                                              for _ in range(64)])

        statuses = [r.status_code for r in small.portal.call(burst)]
        shed = statuses.count(503)
        assert shed > 0 and set(statuses) <= {200, 503}
        assert f'digitserve_shed_total{{model="digit+gate"}} {shed:.1f}' in small.get("/metrics").text


def test_form_errors_are_shown_on_the_page(client):
    r = client.post("/", files={"file": ("x.txt", b"nope", "text/plain")}, data={"task": "digit"})
    assert r.status_code == 415 and "not a decodable image" in r.text


def test_ui_predict_returns_preview_png(client, seven):
    r = client.post("/ui/predict", files={"file": ("7.png", seven, "image/png")}, data={"task": "digit"})
    body = r.json()
    assert body["result"]["digit"] == 7 and body["preview"].startswith("data:image/png;base64,")
    preview = Image.open(io.BytesIO(__import__("base64").b64decode(body["preview"].split(",")[1])))
    assert preview.size == (28, 28)


@pytest.mark.parametrize("failure,status", [("DeadlineExceeded", 504), ("Overloaded", 503), ("InferenceFailed", 503)])
def test_the_page_answers_server_trouble_with_the_apis_status_and_message(failure, status):
    from app.services import batcher

    with make_client() as c:
        async def fail(*args, **kwargs):
            raise getattr(batcher, failure)("test")

        c.app.state.predictor.predict = fail
        api = c.post("/predict", files={"file": ("7.png", png(np.zeros((28, 28), np.uint8)), "image/png")})
        page = c.post("/ui/predict", files={"file": ("7.png", png(np.zeros((28, 28), np.uint8)), "image/png")},
                      data={"task": "digit"})
    assert api.status_code == page.status_code == status
    assert page.json()["error"] == api.json()["detail"] and "retry-after" in api.headers


def test_the_page_and_the_api_refuse_a_missing_or_out_of_range_number_alike(client):
    data = png(np.zeros((28, 28), np.uint8))
    page = client.post("/ui/predict", files={"file": ("7.png", data, "image/png")}, data={"task": "sum", "number": "12"})
    api = client.post("/predict/sum", files={"file": ("7.png", data, "image/png")}, data={"number": "12"})
    assert page.status_code == api.status_code == 422 and "number" in page.json()["error"]


@pytest.mark.parametrize("content_type,body,status", [
    ("multipart/form-data", b"abc", 400),  # no boundary
    ("multipart/form-data; boundary=xyz", b"garbage", 400),
    ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nab', 422),
    ("application/json", b'{"file": 1}', 422),
    ("text/plain", b"hi", 422)])
def test_a_body_that_is_no_multipart_upload_gets_a_4xx_naming_it(client, seven, content_type, body, status):
    for route in ("/predict", "/predict/overlap", "/predict/sum", "/predict/number"):
        detail = error_of(client.post(route, content=body, headers={"content-type": content_type}), status)
        assert ("multipart" in detail) if status == 400 else ("`file`" in detail or "`number`" in detail)
    assert client.post("/predict", files={"file": ("7.png", seven, "image/png")}).json()["digit"] == 7


def test_the_upload_routes_document_the_multipart_body_they_read(client):
    spec = client.get("/openapi.json").json()
    for path, body in (("/predict", "UploadBody"), ("/predict/overlap", "UploadBody"), ("/predict/number", "UploadBody"),
                       ("/predict/sum", "SumUploadBody")):
        ref = spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{body}"
    schemas = spec["components"]["schemas"]
    assert schemas["UploadBody"]["required"] == ["file"]
    assert schemas["UploadBody"]["properties"]["file"]["contentMediaType"] == "application/octet-stream"
    assert schemas["SumUploadBody"]["required"] == ["file", "number"]
    assert (schemas["SumUploadBody"]["properties"]["number"]["minimum"],
            schemas["SumUploadBody"]["properties"]["number"]["maximum"]) == (0, 9)


def test_the_page_names_a_bad_sum_number_instead_of_failing(client, seven):
    """A superscript 2 passes str.isdigit but not int(): it used to be a 500 on the page."""
    r = client.post("/", data={"task": "sum", "number": "\u00b2"}, files={"file": ("7.png", seven, "image/png")})
    assert r.status_code == 422 and "must be an integer from 0 to 9" in r.text


@pytest.mark.parametrize("paper", ["ruled", "squared"])
def test_digits_photographed_on_notebook_paper_are_read(client, mnist_fixture, paper):
    """The page's printed lines are not ink (app.ml.rules): without that, every one was refused."""
    from support.images import notebook_photo

    images, labels = mnist_fixture
    right = 0
    for i in range(12):
        photo = notebook_photo(images[i], paper, tilt=3.0 * (i % 3 - 1), seed=i)
        r = client.post("/predict", files={"file": ("page.jpg", photo, "image/jpeg")})
        right += r.status_code == 200 and r.json()["digit"] == labels[i]
    assert right >= 10


def test_digits_photographed_under_a_lamp_whose_light_falls_off_towards_the_corners_are_read(client, mnist_fixture):
    """The flat-field's opening stayed under the paper where the light falls off into the corners; those
    corners were kept as ink and the digit shrank into a speck of the crop (refused)."""
    from support.images import lamp_photo

    assert accuracy(client, fixture_photos(mnist_fixture, lambda digit, i: lamp_photo(digit, 0.45, seed=i), 12)) >= 11 / 12


@pytest.mark.parametrize("size", [(1200, 900), (4032, 3024)])
def test_digits_on_a_sheet_photographed_on_a_desk_are_read(client, mnist_fixture, size):
    """The desk around the sheet was the background (the sheet then "ink"), or its edge stood around the
    digit as ink: 0 of 40 such photos were read, at either size."""
    from support.images import desk_photo

    assert accuracy(client, fixture_photos(mnist_fixture, lambda digit, i: desk_photo(digit, seed=i, size=size), 8)) >= 7 / 8


def test_digits_on_a_sticky_note_photographed_on_a_desk_are_read(client, mnist_fixture):
    """A note or a card covering 4-25% of the photo was too small to be taken for a sheet: its edges stood
    around the digit as ink, and 97% of such photos were refused."""
    from support.images import note_photo

    assert accuracy(client, fixture_photos(mnist_fixture, lambda digit, i: note_photo(digit, seed=i), 12)) >= 10 / 12


def test_digits_written_on_a_whiteboard_with_glare_are_read(client, mnist_fixture):
    """What the flat-field left of the board's blotches and glare, faint pieces far from the digit, widened
    the crop: the digit reached the model small in a corner and 16% of such photos were misread or refused."""
    from support.images import whiteboard_photo

    assert accuracy(client, fixture_photos(mnist_fixture, lambda digit, i: whiteboard_photo(digit, seed=i), 24)) >= 23 / 24


def test_a_small_digit_in_a_12_mp_photo_of_a_page_is_read(client, mnist_fixture):
    from support.images import phone_jpeg

    images, labels = mnist_fixture
    for i, (share, at) in enumerate([(0.04, (0.2, 0.3)), (0.05, (0.8, 0.6)), (0.08, (0.5, 0.85))]):
        r = client.post("/predict", files={"file": ("IMG.jpg", phone_jpeg(images[i], share=share, at=at), "image/jpeg")})
        assert r.status_code == 200 and r.json()["digit"] == labels[i], (share, r.text)


@pytest.mark.parametrize("k", [5, 6])
def test_a_digit_on_a_ruled_page_photographed_from_afar_in_12_mp_is_read(client, mnist_fixture, k):
    # Lines 50-90 px apart in 4032 x 3024, the digit 2-7% of the height: at 256 and 512 px the lines are
    # too thin and faint to find and the ink spans the page; a window is read at a finer scale instead.
    from support.images import notebook_photo

    images, labels = mnist_fixture
    photo = notebook_photo(images[k], "ruled", tilt=2.0, seed=k, size=(4032, 3024))
    r = client.post("/predict", files={"file": ("IMG.jpg", photo, "image/jpeg")})
    assert r.status_code == 200 and r.json()["digit"] == labels[k], r.text


def test_a_digit_on_a_plain_page_photographed_from_afar_in_12_mp_is_read_not_refused(client, mnist_fixture):
    # Faint haze around it made the digit look large at 256 px, where it was shrunk into a dot and refused.
    from support.images import notebook_photo

    images, labels = mnist_fixture
    for k, tilt in ((6, 2.5), (11, 3.5)):
        photo = notebook_photo(images[k], "plain", tilt=tilt, seed=k, size=(4032, 3024))
        r = client.post("/predict", files={"file": ("IMG.jpg", photo, "image/jpeg")})
        assert r.status_code == 200 and r.json()["digit"] == labels[k], r.text


def test_a_digit_on_a_ruled_page_whose_leftover_lines_spread_around_it_is_read_from_a_window(client, mnist_fixture):
    # At 512 px pieces of this page's lines were left beside the digit, over a box of 200-400 px
    # (a digit this small spans under 64 px there): the digit was cropped with them and shrunk.
    from support.images import notebook_photo

    images, labels = mnist_fixture
    for k in (0, 2, 4):
        photo = notebook_photo(images[k], "ruled", tilt=-2.85, seed=27, size=(4032, 3024))
        r = client.post("/predict", files={"file": ("IMG.jpg", photo, "image/jpeg")})
        assert r.status_code == 200 and r.json()["digit"] == labels[k], r.text


def test_a_digit_on_a_squared_page_photographed_from_afar_is_read(client, mnist_fixture):
    # Subtracting a grid's lines from writing this small cut this 8's strokes: it was read as 1.
    from support.images import notebook_photo

    images, labels = mnist_fixture
    photo = notebook_photo(images[5], "squared", tilt=2.0, seed=5, size=(4032, 3024))
    r = client.post("/predict", files={"file": ("IMG.jpg", photo, "image/jpeg")})
    assert r.status_code == 200 and r.json()["digit"] == labels[5] == 8, r.text


def test_digits_on_squared_pages_photographed_from_afar_are_read_with_the_grid_opened_away(client, mnist_fixture):
    # Where the window reading stood back from a grid, the crop at 512 px took the grid's crossings
    # with the digit and the gate refused it (4 of these 8 read right; 15 of 30 in bench.small_photos).
    from support.images import notebook_photo

    images, labels = mnist_fixture
    samples = [(notebook_photo(images[i], "squared", tilt=3.0 * (i % 3 - 1), seed=i, size=(4032, 3024)), int(labels[i]))
               for i in range(40, 48)]
    assert accuracy(client, samples) >= 7 / 8


def test_digits_written_small_with_a_thin_pen_on_a_page_photographed_at_12_mp_are_read(client):
    # Strokes 3-4 px wide in a digit ~100 px tall: a pixel wide at 512 px, they sank into the paper's
    # noise and each of these was answered no_ink; the page photo is looked at 1024 px then.
    from support.drawing import ink_image
    from support.images import pen_page_photo

    samples = []
    for digit, pen in (("3", 4), ("0", 3), ("2", 3), ("5", 3), ("7", 3)):
        mask = Image.fromarray(ink_image(digit, height=100, pen=pen, margin=10))
        samples.append((pen_page_photo(mask, "plain", np.random.default_rng(int(digit))), int(digit)))
    assert accuracy(client, samples) == 1.0


def test_digits_written_faintly_in_pencil_are_read(client, mnist_fixture):
    # Ink 22% darker than the paper stands ~0.12 over the noise floor: under INK_MIN (0.15) there, each
    # such photo was answered no_ink (none of these 20 read right before; 19 now).
    from support.images import pencil_photo

    images, labels = mnist_fixture
    samples = [(pencil_photo(images[i], contrast=0.22, seed=i), int(labels[i])) for i in range(60, 80)]
    assert accuracy(client, samples) >= 0.85


def test_digits_written_small_with_a_thin_pen_in_a_1200_px_photo_are_read(client):
    # Lines ~1.5 px wide in a digit 36-45 px tall on grainy paper: under a pixel at 512 px, within the
    # noise, and each of these was answered no_ink; an upload larger than 512 px is looked at 1024 px then.
    from support.drawing import ink_image
    from support.images import phone_jpeg

    samples = []
    for digit, share in (("0", 0.05), ("3", 0.05), ("5", 0.05), ("2", 0.04), ("7", 0.04), ("1", 0.04)):
        mask = ink_image(digit, height=100, pen=4, margin=10)
        small = np.asarray(Image.fromarray(mask).resize((28, 28), Image.BOX))
        samples.append((phone_jpeg(small, (1200, 900), share=share, at=(0.4, 0.6)), int(digit)))
    assert accuracy(client, samples) >= 5 / 6  # the 2 at 36 px is read as 7


def test_digits_in_photos_cropped_close_to_them_are_read(client, mnist_fixture):
    # With no paper around the digit (or a narrow crop, stretched to the flat-field's square copy),
    # the opening took its strokes for paper: 11 of these 16 were read right.
    from support.images import cropped_photo

    photos = fixture_photos(mnist_fixture, lambda digit, i: cropped_photo(digit, 0.02 * (i % 2), seed=i), 16)
    assert accuracy(client, photos) >= 15 / 16


def test_a_digit_written_in_a_forms_box_is_read_without_the_box(client, mnist_fixture):
    # The printed frame was ink like the digit's: cropped with it, the digit shrank inside a square
    # (9 of these 16 were read right).
    from support.images import form_box_photo

    assert accuracy(client, fixture_photos(mnist_fixture, lambda digit, i: form_box_photo(digit, seed=i), 16)) >= 15 / 16


@pytest.mark.parametrize("mark", ["underline", "circle", "box"])
def test_a_digit_underlined_circled_or_boxed_by_hand_is_read_without_the_mark(client, mnist_fixture, mark):
    # The pen's mark was ink like the digit's and was cropped with it: a 7 over its underline read as
    # a 2, a circled digit as a 0 (of these 16: underlined 1, circled 1, boxed 12 read right before).
    from support.images import marked_photo

    photos = fixture_photos(mnist_fixture, lambda digit, i: marked_photo(digit, mark, seed=i), 16)
    assert accuracy(client, photos) >= 15 / 16


def test_a_screenshot_of_a_drawing_app_is_read_as_the_digit_on_its_canvas(client, mnist_fixture):
    # The title bar and the toolbar's icons were ink around a speck of a digit: all 16 were refused.
    from support.images import app_screenshot

    shots = fixture_photos(mnist_fixture, lambda digit, i: app_screenshot(digit, seed=i), 16)
    assert accuracy(client, shots) >= 15 / 16


@pytest.mark.parametrize("style", ["bars", "flat", "floating", "tablet"])
def test_a_phone_screenshot_of_a_sketch_app_is_read_as_the_digit_on_its_canvas(client, mnist_fixture, style):
    # The status bar, app bar, a row of round tool buttons or a palette of coloured disks and the
    # navigation bar were ink beside the digit, a tablet's tool panel set the polarity (of 60 in
    # `bench.surroundings`: 26, 36, 29 and 0 read right before).
    from support.images import phone_screenshot

    shots = fixture_photos(mnist_fixture, lambda digit, i: phone_screenshot(digit, seed=i, style=style), 10)
    assert accuracy(client, shots) >= 9 / 10


def test_a_photo_of_a_monitor_showing_a_digit_is_read_without_the_screens_bezel(client, mnist_fixture):
    # The dark bezel around the bright screen read as strokes in a shadow: the room was not made screen,
    # the bezel stayed ink around the digit (21 of 60 read right in `bench.surroundings` before).
    from support.images import screen_photo

    assert accuracy(client, fixture_photos(mnist_fixture, lambda digit, i: screen_photo(digit, seed=i), 10)) >= 9 / 10


def test_an_mnist_digit_shown_on_a_white_page_and_screenshotted_with_the_page_around_it_is_read(client, mnist_fixture):
    # The page's margin was the background: the black picture one block of ink, the digit a hole in it
    # (1 of 60 read right in `bench.surroundings` before).
    from support.images import shown_on_page

    assert accuracy(client, fixture_photos(mnist_fixture, lambda digit, i: shown_on_page(digit, seed=i), 12)) >= 11 / 12


def test_a_digit_in_chalk_on_a_blackboard_on_a_light_wall_is_read(client, mnist_fixture):
    # The wall was the background, the board ink (1 of 60 read right in `bench.surroundings` before).
    from support.images import blackboard_photo

    assert accuracy(client, fixture_photos(mnist_fixture, lambda digit, i: blackboard_photo(digit, seed=i), 10)) >= 9 / 10


def test_a_digit_written_beside_a_school_pages_margin_line_is_read_without_the_line(client, mnist_fixture):
    # The page's red margin line (or header line) is one line where its blue rules are many: it stayed
    # ink, was cropped with the digit, and the digit shrank beside it (7 of these 16 were read right).
    from support.images import school_page_photo

    photos = fixture_photos(mnist_fixture, lambda digit, i: school_page_photo(digit, seed=i), 16)
    assert accuracy(client, photos) >= 15 / 16


def test_a_digit_on_a_page_that_nearly_fills_a_tilted_photo_on_a_light_desk_is_read(client, mnist_fixture):
    # The light desk's thin wedges along the photo's edges left faint lines there, cropped with the
    # digit (11 of these 16 were read right).
    from support.images import filling_page_photo

    photos = fixture_photos(mnist_fixture, lambda digit, i: filling_page_photo(digit, seed=i), 16)
    assert accuracy(client, photos) >= 15 / 16


@pytest.mark.parametrize("paper", ["ruled", "plain"])
def test_a_digit_written_small_on_a_notebook_page_lying_on_a_desk_is_read(client, mnist_fixture, paper):
    # Written a line tall on a page that fills the photo or nearly so: the desk's strips along the edges
    # turned the page's polarity or were cropped with the digit, a grey desk under uneven light was not
    # told from the page (of these 16: ruled 10, plain 11 read right before).
    from support.images import notebook_desk_photo

    photos = fixture_photos(mnist_fixture, lambda digit, i: notebook_desk_photo(digit, seed=i, paper=paper), 16)
    assert accuracy(client, photos) >= 14 / 16


def test_a_refused_camera_sized_photo_is_told_how_to_send_a_small_digit(client):
    from support.drawing import ink_image
    from support.images import phone_jpeg

    letter = ink_image("A", height=120, pen=12)
    r = client.post("/predict", files={"file": ("IMG.jpg", phone_jpeg(letter, share=0.1), "image/jpeg")})
    assert r.status_code == 422 and r.json()["reason"] == "not_a_digit", r.text
    assert "cropped close to it" in r.json()["detail"], "a camera-sized photo is told how to send a small digit"


def test_a_refused_drawing_is_not_told_to_crop_a_photo(client):
    r = client.post("/predict", files={"file": ("a.png", draw("A", height=200, pen=16), "image/png")})
    assert r.status_code == 422 and r.json()["reason"] == "not_a_digit" and "cropped" not in r.json()["detail"]


def test_iphone_heic_photos_are_read_as_their_digits_on_the_api_and_the_page(client, mnist_fixture):
    from support.images import phone_heic

    images, labels = mnist_fixture
    for i in range(3):
        photo = phone_heic(images[i], (1008, 756))
        r = client.post("/predict", files={"file": ("IMG_0001.HEIC", photo, "image/heic")})
        assert r.status_code == 200 and r.json()["digit"] == labels[i], r.text[:200]
    page = client.post("/ui/predict", data={"task": "digit"}, files={"file": ("IMG_0001.HEIC", photo, "image/heic")})
    assert page.status_code == 200 and page.json()["result"]["digit"] == labels[2], page.text[:200]
