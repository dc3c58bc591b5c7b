"""The upload routes' plain-ASGI lane (app.api.fastlane): it takes the uploads that browsers, curl,
httpx and requests send, answers exactly what the FastAPI route answers, and hands everything else to
the route with the body replayed."""

import subprocess

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from starlette.formparsers import MultiPartParser

from app.api.fastlane import lane_inputs, plain_form
from support.images import png
from tests.utils import make_client

CURL_BOUNDARY = b"------------------------8f3b2c1d9e7a6b5c"


def body(parts: list[tuple[bytes, bytes]], boundary: bytes = CURL_BOUNDARY) -> bytes:
    """A multipart body of (part headers, content) pairs, as curl writes one."""
    out = b"".join(b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + content + b"\r\n" for head, content in parts)
    return out + b"--" + boundary + b"--\r\n"


def file_part(data: bytes, disposition: bytes = b'form-data; name="file"; filename="7.png"') -> tuple[bytes, bytes]:
    return b"Content-Disposition: " + disposition + b"\r\nContent-Type: image/png", data


def number_part(value: bytes) -> tuple[bytes, bytes]:
    return b'Content-Disposition: form-data; name="number"', value


def post(client, path: str, payload: bytes, boundary: bytes = CURL_BOUNDARY, **headers):
    return client.post(path, content=payload, headers={"content-type": f"multipart/form-data; boundary={boundary.decode()}",
                                                       **headers})


@pytest.fixture()
def parses(monkeypatch) -> list:
    """Counts the bodies python-multipart parses: those the lane handed to the FastAPI route."""
    calls, real = [], MultiPartParser.parse

    async def counting(self):
        calls.append(1)
        return await real(self)

    monkeypatch.setattr(MultiPartParser, "parse", counting)
    return calls


def test_a_curl_upload_takes_the_lane_and_gets_what_the_route_gives(client, parses, mnist_fixture):
    """The same image twice: as curl sends it (the lane) and with an unquoted field name, which
    Starlette's parser accepts and the lane leaves to the route; the answers are byte for byte equal."""
    image = png(mnist_fixture[0][0])
    fast = post(client, "/predict", body([file_part(image)]))
    assert parses == [], "the plain body was answered without the general parser"
    slow = post(client, "/predict", body([file_part(image, b"form-data; name=file; filename=7.png")]))
    assert parses == [1], "the unusual one went to the route"
    assert fast.status_code == slow.status_code == 200 and fast.content == slow.content
    assert fast.json()["digit"] == int(mnist_fixture[1][0])


@pytest.mark.parametrize("path, parts, status, reason", [
    ("/predict", [file_part(b"")], 422, None),
    ("/predict", [file_part(b"not an image")], 415, None),
    ("/predict", [file_part(png(np.zeros((28, 28), np.uint8)))], 422, "no_ink"),
    ("/predict/sum", [file_part(png(np.full((28, 28), 255, np.uint8))), number_part(b"12")], 422, None),
    ("/predict/sum", [file_part(b"not an image"), number_part(b"3")], 415, None),
])
def test_errors_from_the_lane_are_the_routes_errors(client, parses, path, parts, status, reason):
    fast = post(client, path, body(parts))
    assert parses == []
    unusual = [(head.replace(b'name="file"', b"name=file"), content) for head, content in parts]
    slow = post(client, path, body(unusual))
    assert parses == [1]
    assert fast.status_code == slow.status_code == status, fast.text
    assert fast.json() == slow.json() and fast.json().get("reason") == reason


def test_sum_and_overlap_take_the_lane_too(client, parses, mnist_fixture):
    image = png(mnist_fixture[0][1])
    s = post(client, "/predict/sum", body([number_part(b"4"), file_part(image)]))
    webkit = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"  # a browser's FormData
    o = post(client, "/predict/overlap", body([file_part(image)], webkit), webkit)
    assert parses == []
    assert s.status_code == 200 and s.json()["sum"] == s.json()["digit"] + 4
    assert o.status_code == 200 and int(mnist_fixture[1][1]) in o.json()["digits"]


@pytest.mark.parametrize("case, parts", [
    ("no file", [number_part(b"3")]),
    ("two files", [file_part(b"a"), file_part(b"b")]),
    ("the file as a text field", [(b'Content-Disposition: form-data; name="file"', b"x")]),
    ("a quoted name with an escape", [file_part(b"x", b'form-data; name="file"; filename="a\\"b.png"')]),
])
def test_what_the_lane_does_not_take_the_route_answers(client, parses, case, parts):
    r = post(client, "/predict", body(parts))
    assert parses == [1], case
    assert r.status_code == 422 or r.status_code == 415, (case, r.text)


def test_a_wrong_api_key_is_refused_by_the_route_before_the_body_is_read(parses, mnist_fixture):
    with make_client(api_key="s3cret") as c:
        payload = body([file_part(png(mnist_fixture[0][0]))])
        refused, allowed = post(c, "/predict", payload, **{"x-api-key": "wrong"}), post(c, "/predict", payload,
                                                                                         **{"x-api-key": "s3cret"})
    assert refused.status_code == 401 and allowed.status_code == 200
    assert parses == [], "401 before parsing; the right key takes the lane"


def test_the_lane_reads_only_exactly_formed_bodies():
    good = body([file_part(b"\x89PNG data with --boundary-like text")])
    assert lane_inputs(plain_form(good, CURL_BOUNDARY), "digit") == (b"\x89PNG data with --boundary-like text", None)
    assert plain_form(good[:-4], CURL_BOUNDARY) is None, "no closing delimiter"
    assert plain_form(b"preamble\r\n" + good, CURL_BOUNDARY) is None
    assert plain_form(good + b"epilogue", CURL_BOUNDARY) is None
    assert plain_form(good, b"other") is None
    sum_form = plain_form(body([file_part(b"img"), number_part(b" 7 ")]), CURL_BOUNDARY)
    assert lane_inputs(sum_form, "sum") == (b"img", " 7 ") and lane_inputs(sum_form, "digit") is None
    extra = plain_form(body([file_part(b"img"), (b'Content-Disposition: form-data; name="note"', b"hi")]), CURL_BOUNDARY)
    assert lane_inputs(extra, "digit") is None, "an extra field goes to the route"


def captured_request(command: list[str]) -> bytes:
    """The bytes an HTTP client (`command`, with {url} in it) sends, caught by a one-shot listener."""
    import socket
    import threading

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        got = []

        def serve():
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + int(
                        data.split(b"Content-Length: ")[1].split(b"\r\n")[0]):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                got.append(data)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

        thread = threading.Thread(target=serve)
        thread.start()
        url = f"http://127.0.0.1:{server.getsockname()[1]}/predict/sum"
        subprocess.run([part.replace("{url}", url) for part in command], capture_output=True, timeout=10)
        thread.join(10)
    return got[0]


def test_what_curl_and_httpx_send_takes_the_lane(client, parses, mnist_fixture, tmp_path):
    image = tmp_path / "7.png"
    image.write_bytes(png(mnist_fixture[0][0]))
    raw = captured_request(["curl", "-s", "-H", "Expect:", "-F", f"file=@{image}", "-F", "number=2", "{url}"])
    head, payload = raw.split(b"\r\n\r\n", 1)
    boundary = head.split(b"boundary=")[1].split(b"\r\n")[0]
    by_curl = post(client, "/predict/sum", payload, boundary)
    by_httpx = client.post("/predict/sum", files={"file": ("7.png", image.read_bytes(), "image/png")}, data={"number": "2"})
    assert parses == [], "neither needed the general parser"
    assert by_curl.status_code == by_httpx.status_code == 200 and by_curl.content == by_httpx.content


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=20), st.booleans())
def test_any_content_comes_back_exactly_as_sent(content, number, number_first):
    """Whatever bytes a file holds (CRLFs, dashes, blank lines), the lane's parser returns them whole."""
    assume(CURL_BOUNDARY not in content + number)
    parts = [file_part(content), number_part(number)]
    form = plain_form(body(parts[::-1] if number_first else parts), CURL_BOUNDARY)
    assert form == {b"file": (content, True), b"number": (number, False)}
