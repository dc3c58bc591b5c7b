"""Pure ASGI middleware: body size limit, security headers, request metrics.

Pure ASGI (not BaseHTTPMiddleware) keeps the per-request cost low and lets the body limit act on
the byte stream itself: a body over the limit is refused from its Content-Length at once, and a
chunked body is cut off as soon as it passes the limit, so an unbounded body is never read.
"""

import asyncio
import json
import time

from app.core.drain import Drain
from app.core.telemetry import Telemetry

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
PAGE_CSP = (b"content-security-policy",
            b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
            b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


def error_key(path: str) -> str:
    """The key an error's message goes under: "error" on the Open Inference Protocol's routes (/v2),
    "detail" elsewhere (FastAPI's form)."""
    return "error" if path == "/v2" or path.startswith("/v2/") else "detail"


async def send_json(send, status: int, body: dict, headers: list | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes` (413) and bodies not fully received within `timeout_s` (408):
    a client trickling its upload cannot hold a connection and its buffers for long."""

    def __init__(self, app, max_bytes: int, timeout_s: float = 10.0):
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        key = error_key(scope["path"])
        limit_msg = {key: f"request body is larger than the {self.max_bytes}-byte limit"}
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await send_json(send, 400, {key: "invalid Content-Length header"})
                if declared > self.max_bytes:
                    return await send_json(send, 413, limit_msg, [(b"connection", b"close")])
        received = 0
        started = exceeded = False
        error: tuple[int, dict] = (413, limit_msg)
        deadline = asyncio.get_running_loop().time() + self.timeout_s

        async def limited_receive():
            nonlocal received, exceeded, error
            try:
                async with asyncio.timeout_at(deadline):  # no extra task per chunk, unlike wait_for
                    message = await receive()
            except TimeoutError:
                exceeded, error = True, (408, {key: f"request body not received within {self.timeout_s:g} s"})
                raise BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message):
            # Once the body overflowed or stalled, whatever the app answers (frameworks turn the error
            # into a 400) is replaced by one 413 or 408.
            nonlocal started
            if exceeded:
                if not started:
                    started = True
                    await send_json(send, *error, [(b"connection", b"close")])
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except (BodyTooLarge, BodyTooSlow):
            pass
        if exceeded and not started:
            await send_json(send, *error, [(b"connection", b"close")])


class ShedMiddleware:
    """Sheds a predict request with 503 + Retry-After before its body is read or parsed when a queue
    that it needs is already full: a shed request then costs a path match and a queue-length check,
    not an upload's worth of reading and multipart parsing. The connection is closed after the 503
    (the unread body cannot be left on it). `models_for(path)` names the batchers a path needs (None:
    not a predict route); the batchers are the app's, from `scope["app"].state.batchers`."""

    def __init__(self, app, models_for, retry_after_s: int, telemetry: Telemetry):
        self.app, self.models_for, self.telemetry = app, models_for, telemetry
        self.headers = [(b"retry-after", str(retry_after_s).encode()), (b"connection", b"close")]

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            models = self.models_for(scope["path"])
            if models:
                batchers = scope["app"].state.batchers
                full = [name for name in models if name in batchers and batchers[name].queue.full()]
                if full:
                    self.telemetry.shed.labels(full[0]).inc()
                    return await send_json(send, 503, {error_key(scope["path"]): "server is at capacity; retry shortly"},
                                           self.headers)
        return await self.app(scope, receive, send)


class HeadersAndMetricsMiddleware:
    """Adds security headers (CSP on HTML; `Connection: close` while the process drains, so clients
    reconnect to another instance) and records count, latency and errors per route."""

    def __init__(self, app, telemetry: Telemetry, drain: Drain):
        self.app, self.telemetry, self.drain = app, telemetry, drain

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status_holder = {}

        async def wrapped_send(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers.append(PAGE_CSP)
                if self.drain.started and not any(k == b"connection" for k, _ in headers):
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            status = status_holder.get("status", 500)
            self.telemetry.requests.labels(scope["method"], path, str(status)).inc()
            self.telemetry.latency.labels(path).observe(time.perf_counter() - started)
            if status >= 400:
                self.telemetry.errors.labels(path, str(status)).inc()
