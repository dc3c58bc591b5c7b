"""The Open Inference Protocol (v2) routes, spoken by a client nobody here wrote (`tritonclient`,
binary and JSON, sync and asyncio) against a real server, and by hand for what clients never send."""

import asyncio
import base64
import json
import struct

import numpy as np
import pytest
import tritonclient.http as httpclient
import tritonclient.http.aio as aioclient
from tritonclient.utils import InferenceServerException

from support.drawing import draw, draw_lines, typed
from support.images import face_photo, png
from support.server import running_service
from tests.realistic import handwriting_sets, printed_set


@pytest.fixture(scope="module")
def server():
    with running_service(workers=1, max_infer_items=300) as (base, _):
        yield base


@pytest.fixture(scope="module")
def triton(server):
    return httpclient.InferenceServerClient(server.removeprefix("http://"))


def images_input(uploads: list[bytes], binary: bool = True) -> httpclient.InferInput:
    inp = httpclient.InferInput("image", [len(uploads)], "BYTES")
    if binary:
        return inp.set_data_from_numpy(np.array(uploads, dtype=np.object_))
    inp.set_data_from_numpy(np.array([base64.b64encode(u) for u in uploads], dtype=np.object_), binary_data=False)
    inp._parameters["content_type"] = "base64"  # MLServer's convention; tritonclient has no public setter
    return inp


def pixels_input(x: np.ndarray, binary: bool = True) -> httpclient.InferInput:
    datatype = "UINT8" if x.dtype == np.uint8 else "FP32"
    return httpclient.InferInput("pixels", list(x.shape), datatype).set_data_from_numpy(x, binary_data=binary)


def held_out_uploads(mnist_fixture) -> list[tuple[bytes, int | None]]:
    """A few of each kind a user sends: photos, canvases, scans, printed digits, and things that are
    not one digit (a letter, a number, a blank canvas, a photo of a face)."""
    images, labels = mnist_fixture
    sets = handwriting_sets(images[:6], labels[:6], seed=3)
    samples = [s for group in sets.values() for s in group] + printed_set(per_font_digit=1)[:8]
    return samples + [(draw("A", background="white"), None), (draw("12", background="black"), None),
                      (png(np.full((64, 64), 255, np.uint8)), None), (face_photo(seed=1), None),
                      (typed("Kevin"), None), (typed("2025", "STIXGeneral.ttf", spacing=0.0), None)]


def upload_answer(server: str, route: str, data: bytes, **form) -> tuple[int, dict]:
    import httpx

    r = httpx.post(server + route, files={"file": ("x", data)}, data=form, timeout=30)
    return r.status_code, r.json()


def test_triton_client_sees_the_server_live_ready_and_each_models_metadata(triton):
    assert triton.is_server_live() and triton.is_server_ready()
    assert "binary_tensor_data" in triton.get_server_metadata()["extensions"]
    for model in ("digit", "overlap", "sum", "number"):
        assert triton.is_model_ready(model)
        meta = triton.get_model_metadata(model)
        assert meta["name"] == model and len(meta["versions"]) == 1
        assert {o["name"] for o in meta["outputs"]} >= {"confidence", "rejected"} or model == "overlap"
        assert triton.is_model_ready(model, model_version=meta["versions"][0])
    assert {i["name"] for i in triton.get_model_metadata("sum")["inputs"]} == {"image", "pixels", "number"}
    with pytest.raises(InferenceServerException):
        triton.get_model_metadata("nope")


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_every_digit_answer_equals_the_upload_routes_answer(server, triton, mnist_fixture, binary):
    samples = held_out_uploads(mnist_fixture)
    result = triton.infer("digit", [images_input([d for d, _ in samples], binary)])
    digits, rejected = result.as_numpy("digit"), result.as_numpy("rejected")
    confidence = result.as_numpy("confidence")
    assert digits.shape == (len(samples),) and result.as_numpy("probabilities").shape == (len(samples), 10)
    for i, (data, _) in enumerate(samples):
        status, body = upload_answer(server, "/predict", data)
        reason = rejected[i].decode() if isinstance(rejected[i], bytes) else rejected[i]
        if status == 200:
            assert reason == "" and digits[i] == body["digit"], i
            assert confidence[i] == pytest.approx(body["confidence"], abs=1e-6)
        else:
            assert status == 422 and reason == body["reason"], (i, body)
    assert sum(1 for r in rejected if r not in (b"", "")) >= 6, "the letter, the numbers, the blank, the face, the word"


def test_sum_overlap_and_number_answers_equal_their_upload_routes(server, triton, mnist_fixture):
    images, labels = mnist_fixture
    uploads = [png(images[i]) for i in range(8)]
    numbers = np.arange(8, dtype=np.int64) % 10
    number_input = httpclient.InferInput("number", [8], "INT64").set_data_from_numpy(numbers)
    summed = triton.infer("sum", [images_input(uploads), number_input])
    overlap = triton.infer("overlap", [images_input(uploads)])
    for i, data in enumerate(uploads):
        _, body = upload_answer(server, "/predict/sum", data, number=str(numbers[i]))
        assert summed.as_numpy("sum")[i] == body["sum"] and summed.as_numpy("digit")[i] == body["digit"]
        _, body = upload_answer(server, "/predict/overlap", data)
        assert list(np.flatnonzero(overlap.as_numpy("present")[i])) == body["digits"]
    lines = [draw("2025", background="white"), draw("1,7", background="black"), draw("AXW", background="white"),
             draw_lines(["12", "345"])]
    read = triton.infer("number", [images_input(lines)])
    reasons = []
    for i, data in enumerate(lines):
        status, body = upload_answer(server, "/predict/number", data)
        got = read.as_numpy("number")[i].decode(), read.as_numpy("text")[i].decode()
        reason = read.as_numpy("rejected")[i].decode()
        assert (got, reason) == (((body["number"], body["text"]), "") if status == 200 else (("", ""), body["reason"]))
        reasons.append(reason)
    assert read.as_numpy("text")[1].decode() == "1,7" and reasons[2:] == ["not_a_digit", "several_lines"]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_mnist_pixels_are_read_as_they_are(triton, mnist_fixture, binary):
    images, labels = mnist_fixture
    as_float = triton.infer("digit", [pixels_input(images.astype(np.float32) / 255, binary)],
                            outputs=[httpclient.InferRequestedOutput("digit", binary_data=binary)])
    as_bytes = triton.infer("digit", [pixels_input(images[:64], binary)])
    accuracy = float(np.mean(as_float.as_numpy("digit") == labels))
    assert accuracy >= 0.99, accuracy
    assert as_float.as_numpy("confidence") is None, "only the requested output comes back"
    assert (as_bytes.as_numpy("digit") == as_float.as_numpy("digit")[:64]).all()


def test_the_asyncio_client_reads_a_batch(server, mnist_fixture):
    images, labels = mnist_fixture

    async def main():
        client = aioclient.InferenceServerClient(server.removeprefix("http://"))
        try:
            inp = aioclient.InferInput("image", [16], "BYTES")
            inp.set_data_from_numpy(np.array([png(x) for x in images[:16]], dtype=np.object_))
            result = await client.infer("digit", [inp])
            return await client.is_server_ready(), result.as_numpy("digit")
        finally:
            await client.close()

    ready, digits = asyncio.run(main())
    assert ready and float(np.mean(digits == labels[:16])) >= 0.9


def post(server: str, path: str, body: bytes | dict, headers: dict | None = None):
    import httpx

    data = json.dumps(body).encode() if isinstance(body, dict) else body
    return httpx.post(server + path, content=data, headers=headers or {}, timeout=30)


def pixels_json(shape, datatype="FP32", data=None) -> dict:
    n = int(np.prod(shape))
    return {"inputs": [{"name": "pixels", "shape": shape, "datatype": datatype, "data": data or [0.0] * n}]}


@pytest.mark.parametrize("path,body,status", [
    ("/v2/models/digit/infer", b"{not json", 400),
    ("/v2/models/digit/infer", {"inputs": []}, 400),
    ("/v2/models/digit/infer", pixels_json([1, 28, 27]), 400),
    ("/v2/models/digit/infer", pixels_json([1, 28, 28], "FP64"), 400),
    ("/v2/models/digit/infer", pixels_json([1, 28, 28], data=[0.0] * 10), 400),
    ("/v2/models/digit/infer", pixels_json([1, 28, 28], data=[2.0] * 784), 400),
    ("/v2/models/digit/infer", pixels_json([301, 28, 28]), 413),
    ("/v2/models/digit/infer", {"inputs": [{"name": "photo", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}, 400),
    ("/v2/models/digit/infer", {**pixels_json([1, 28, 28]), "outputs": [{"name": "sum"}]}, 400),
    ("/v2/models/digit/infer", {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": ["@@"]}]}, 400),
    ("/v2/models/digit/infer", {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                                            "data": [base64.b64encode(b"not an image").decode()]}]}, 415),
    ("/v2/models/sum/infer", pixels_json([1, 28, 28]), 400),
    ("/v2/models/nope/infer", pixels_json([1, 28, 28]), 404),
    ("/v2/models/digit/versions/000000000000/infer", pixels_json([1, 28, 28]), 404),
])
def test_malformed_requests_answer_4xx_in_the_protocols_error_form(server, path, body, status):
    r = post(server, path, body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]


def binary_request(x: np.ndarray, claimed: int | None = None, cut: int = 0) -> tuple[bytes, dict]:
    raw = x.tobytes()
    head = json.dumps({"inputs": [{"name": "pixels", "shape": list(x.shape), "datatype": "FP32",
                                   "parameters": {"binary_data_size": claimed or len(raw)}}]}).encode()
    return head + raw[:len(raw) - cut], {"Inference-Header-Content-Length": str(len(head))}


def test_truncated_or_overlong_binary_data_is_400_and_the_server_still_answers(server, mnist_fixture):
    x = mnist_fixture[0][:2].astype(np.float32) / 255
    for body, headers in (binary_request(x, cut=100), binary_request(x, claimed=10),
                          (binary_request(x)[0], {"Inference-Header-Content-Length": "999999"}),
                          (binary_request(x)[0] + b"extra", binary_request(x)[1])):
        r = post(server, "/v2/models/digit/infer", body, headers)
        assert r.status_code == 400 and "error" in r.json(), r.text
    body, headers = binary_request(x)
    r = post(server, "/v2/models/digit/infer", body, headers)
    assert r.status_code == 200 and [o["name"] for o in r.json()["outputs"]][0] == "digit"


def test_binary_outputs_follow_the_extension_byte_for_byte(server, mnist_fixture):
    x = mnist_fixture[0][:3].astype(np.float32) / 255
    body, headers = binary_request(x)
    head = json.loads(body[:int(headers["Inference-Header-Content-Length"])])
    head["outputs"] = [{"name": "digit", "parameters": {"binary_data": True}}, {"name": "rejected"}]
    head_bytes = json.dumps(head).encode()
    r = post(server, "/v2/models/digit/infer", head_bytes + x.tobytes(),
             {"Inference-Header-Content-Length": str(len(head_bytes))})
    n = int(r.headers["Inference-Header-Content-Length"])
    reply = json.loads(r.content[:n])
    digit, rejected = reply["outputs"]
    assert digit["parameters"]["binary_data_size"] == 3 * 8 and len(r.content) == n + 24
    assert list(struct.unpack("<3q", r.content[n:])) == list(np.argmax(
        np.array(post(server, "/v2/models/digit/infer", pixels_json([3, 28, 28], data=x.reshape(-1).tolist()))
                 .json()["outputs"][2]["data"]).reshape(3, 10), 1))
    assert rejected["data"] == ["", "", ""] and rejected["shape"] == [3]


def test_the_api_key_applies_to_inference_and_its_refusal_is_in_the_protocols_form():
    with running_service(workers=1, api_key="sesame") as (base, _):
        body = pixels_json([1, 28, 28])
        refused = post(base, "/v2/models/digit/infer", body)
        allowed = post(base, "/v2/models/digit/infer", body, {"X-API-Key": "sesame"})
        metadata = post(base, "/v2/models/digit/infer", body, {"X-API-Key": "wrong"})
    assert refused.status_code == 401 and set(refused.json()) == {"error"}
    assert allowed.status_code == 200 and metadata.status_code == 401


def test_a_body_over_the_upload_limit_is_413_in_the_protocols_form():
    with running_service(workers=1, max_upload_bytes=4096) as (base, _):
        r = post(base, "/v2/models/digit/infer", pixels_json([2, 28, 28]))
    assert r.status_code == 413 and set(r.json()) == {"error"}


def test_a_request_that_leaves_out_rejected_skips_the_gate_and_reads_with_the_digit_model_alone(client, mnist_fixture):
    images = mnist_fixture[0][:40].astype(np.float32) / 255
    body = pixels_json([40, 28, 28], data=images.reshape(-1).tolist())
    gate_items = []
    predictor = client.app.state.predictor
    real = predictor.submit_many

    async def counting(queue, x, numbers=None):
        if "gate" in queue:
            gate_items.append(len(x))
        return await real(queue, x, numbers)

    predictor.submit_many = counting
    try:
        full = client.post("/v2/models/digit/infer", json=body).json()["outputs"]
        counted = sum(gate_items)
        lean = client.post("/v2/models/digit/infer", json={**body, "outputs": [{"name": "digit"}]}).json()["outputs"]
    finally:
        predictor.submit_many = real
    assert counted == 40 and sum(gate_items) == 40, "the lean request sent nothing to the gate"
    alone = client.app.state.store.models["digit"].runtime(images)[0].argmax(1).tolist()
    assert [o["name"] for o in lean] == ["digit"] and lean[0]["data"] == alone
    assert sum(a != b for a, b in zip(full[0]["data"], alone)) <= 2, "the combination rarely changes an MNIST digit"


def test_a_batch_of_blank_images_is_answered_item_by_item_as_no_ink(client):
    blank = base64.b64encode(png(np.zeros((28, 28), np.uint8))).decode()
    r = client.post("/v2/models/sum/infer", json={"inputs": [
        {"name": "image", "shape": [2], "datatype": "BYTES", "data": [blank, blank]},
        {"name": "number", "shape": [2], "datatype": "INT64", "data": [3, 4]}]})
    outputs = {o["name"]: o["data"] for o in r.json()["outputs"]}
    assert r.status_code == 200 and outputs["rejected"] == ["no_ink", "no_ink"] and outputs["sum"] == [-1, -1]


def test_a_typed_word_and_a_typed_number_are_refused_item_by_item_as_the_upload_route_refuses_them(client):
    items = [base64.b64encode(typed("Kevin")).decode(), base64.b64encode(typed("2025", "STIXGeneral.ttf", spacing=0.0)).decode()]
    body = {"inputs": [{"name": "image", "shape": [2], "datatype": "BYTES", "data": items}]}
    r = client.post("/v2/models/digit/infer", json=body)
    outputs = {o["name"]: o["data"] for o in r.json()["outputs"]}
    assert r.status_code == 200 and outputs["rejected"] == ["not_a_digit", "several_digits"], outputs["rejected"]
    assert outputs["digit"][1] == -1, "several digits have no one digit to answer with"
