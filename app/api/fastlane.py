"""The upload routes' hot path in plain ASGI: `POST /predict`, `/predict/overlap` and `/predict/sum`
with a plain multipart body are answered here, without FastAPI's routing, exception and dependency
layers and without python-multipart's general parser. Those layers cost more than the prediction
itself at 32 clients (profiled: routing to the endpoint ~18% of a worker's samples, multipart
parsing ~13%); what the routes do is unchanged, and so is what they answer.

Only the plain case takes the lane: `multipart/form-data` with a simple boundary, one part per
field, each part's `Content-Disposition` as browsers, curl, httpx and requests write it, `file` with
a filename (and `number` without one, for sum), nothing else. Anything else (another content type, a
quoted or escaped name, a missing file, an extra field, a body that does not parse, a wrong API key)
goes to the FastAPI route with the body replayed, which answers it as before: one definition of
every error. The lane sits inside the service's own middleware (body limit, shedding, headers and
metrics), so those hold for it too.
"""

import re

from app.api.errors import REQUEST_ERRORS, problem_response
from app.api.routes import answer, digit_number, key_matches, router
from app.services.tasks import TASK_SPECS, UPLOAD_ROUTES

LANE = {path: task for path, task in UPLOAD_ROUTES.items() if not TASK_SPECS[task].reads_line}
ROUTES = {route.path: route for route in router.routes if route.path in LANE}  # for the metrics' route label
BOUNDARY = re.compile(rb"multipart/form-data;\s*boundary=([0-9A-Za-z'()+_,./:=?-]{1,70})", re.IGNORECASE)
DISPOSITION = re.compile(rb'content-disposition:\s*form-data;\s*name="([a-z]+)"(?:;\s*filename="([^"\\\r\n]+)")?',
                         re.IGNORECASE)
PART_HEADER = re.compile(rb"[A-Za-z-]+:[^\r\n]*")


def header(scope, name: bytes) -> bytes | None:
    """A request header's raw value (the first, as Starlette's `headers.get`)."""
    return next((value for key, value in scope["headers"] if key == name), None)


def boundary_of(scope) -> bytes | None:
    """The multipart boundary of a request whose content type is exactly a plain multipart form."""
    found = BOUNDARY.fullmatch(header(scope, b"content-type") or b"")
    return found.group(1) if found else None


def part_headers(head: bytes) -> tuple[bytes, bool] | None:
    """(field name, is a file) from one part's headers, or None unless they are the plain kind."""
    lines = head.split(b"\r\n")
    found = [d for d in map(DISPOSITION.fullmatch, lines) if d]
    if len(found) != 1 or not all(PART_HEADER.fullmatch(line) for line in lines):
        return None
    return found[0].group(1), found[0].group(2) is not None


def plain_form(body: bytes, boundary: bytes) -> dict[bytes, tuple[bytes, bool]] | None:
    """The fields of a plain multipart body (name -> (content, is a file)), or None: not plain.
    Each content is sliced once out of the body (a 12 MP photo is ~3 MB: no other copies)."""
    opening, between = b"--" + boundary + b"\r\n", b"\r\n--" + boundary
    end = body.rfind(between + b"--")
    if not body.startswith(opening) or end < 0 or body[end + len(between) + 2:] not in (b"", b"\r\n"):
        return None
    fields, start = {}, len(opening)
    while True:
        head_end, stop = body.find(b"\r\n\r\n", start, end), body.find(between, start, end + len(between))
        if not 0 <= head_end < stop:
            return None
        parsed = part_headers(body[start:head_end])
        if parsed is None or parsed[0] in fields:
            return None
        fields[parsed[0]] = body[head_end + 4:stop], parsed[1]
        if stop == end:
            return fields
        start = stop + len(between) + 2
        if body[start - 2:start] != b"\r\n":
            return None


def lane_inputs(fields: dict[bytes, tuple[bytes, bool]], task: str) -> tuple[bytes, str | None] | None:
    """(the file's bytes, the raw `number` or None) when the fields are exactly the route's, else None."""
    takes_number = TASK_SPECS[task].takes_number
    if set(fields) != ({b"file", b"number"} if takes_number else {b"file"}) or not fields[b"file"][1]:
        return None
    if not takes_number:
        return fields[b"file"][0], None
    raw, is_file = fields[b"number"]
    if is_file or not raw.isascii():
        return None
    return fields[b"file"][0], raw.decode()


def replayed(body: bytes, receive):
    """A receive that hands the already-read body to the FastAPI route."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def again():
        return pending.pop() if pending else await receive()

    return again


async def read_body(receive) -> bytes | None:
    """The whole request body (None: the client went away)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def key_allows(scope, expected: str) -> bool:
    """The request may take the lane by the routes' own key check (`routes.key_matches`); a missing or
    wrong key goes to the route, which answers 401 before it reads the body."""
    given = header(scope, b"x-api-key")
    return key_matches(None if given is None else given.decode("latin-1"), expected)


class FastLane:
    """ASGI middleware: answers the plain uploads of LANE's routes itself (see the module docstring)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        task = LANE.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        state = scope["app"].state if task else None
        predictor = getattr(state, "predictor", None)
        boundary = boundary_of(scope) if predictor else None
        if boundary is None or not key_allows(scope, state.settings.api_key):
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        if body is None:
            return
        form = plain_form(body, boundary)
        inputs = lane_inputs(form, task) if form is not None else None
        if inputs is None:
            return await self.app(scope, replayed(body, receive), send)
        del body, form  # the file is sliced out: the whole body need not live through the prediction
        scope["route"] = ROUTES[scope["path"]]
        await self.answer(scope, receive, send, predictor, task, *inputs)

    async def answer(self, scope, receive, send, predictor, task: str, data: bytes, raw_number: str | None) -> None:
        """The route's answer, or its error in the form the app's exception handlers give it."""
        try:
            number = digit_number(raw_number) if TASK_SPECS[task].takes_number else None
            result, _, model = await predictor.predict(task, data, number)
            response = answer(task, result, model)
        except REQUEST_ERRORS as exc:
            response = problem_response(exc, scope["path"], scope["app"].state.settings.retry_after_s)
        await response(scope, receive, send)
