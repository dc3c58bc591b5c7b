"""One mapping from what can go wrong with a request to its answer (status, message, extra fields,
Retry-After or not), used by the API's exception handlers (both protocols), the upload routes' fast
lane and the page; and the JSON error response in each protocol's form."""

from dataclasses import dataclass, field

from fastapi.responses import JSONResponse

from app.api.oip import ProtocolError
from app.core.middleware import error_key
from app.ml.preprocess import InputError
from app.services.batcher import DeadlineExceeded, InferenceFailed, Overloaded
from app.services.predictor import ModelUnavailable

REQUEST_ERRORS = (InputError, ProtocolError, Overloaded, DeadlineExceeded, InferenceFailed, ModelUnavailable)


@dataclass
class Problem:
    status: int
    message: str
    extra: dict = field(default_factory=dict)  # e.g. {"reason": "not_a_digit"}
    retry: bool = False  # the server's state, not the request, is at fault: answer Retry-After


def problem(exc: Exception) -> Problem:
    if isinstance(exc, InputError):
        return Problem(exc.status, exc.message, {"reason": exc.reason} if exc.reason else {})
    if isinstance(exc, ProtocolError):
        return Problem(exc.status, exc.message)
    if isinstance(exc, Overloaded):
        return Problem(503, "server is at capacity; retry shortly", retry=True)
    if isinstance(exc, DeadlineExceeded):
        return Problem(504, "prediction not ready within the deadline; retry shortly", retry=True)
    if isinstance(exc, InferenceFailed):
        return Problem(503, "the model failed on this request's batch (logged on the server); retry shortly", retry=True)
    if isinstance(exc, ModelUnavailable):
        return Problem(503, str(exc), retry=True)
    raise TypeError(f"not a request error: {exc!r}")


def error_response(path: str, status: int, detail: str, headers: dict | None = None, **extra) -> JSONResponse:
    """An error in the form of the route's protocol: {"error": ...} under /v2 (the Open Inference
    Protocol's), {"detail": ..., "reason": ...} elsewhere."""
    key = error_key(path)
    body = {key: detail} if key == "error" else {key: detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def problem_response(exc: Exception, path: str, retry_after_s: int) -> JSONResponse:
    """The answer to a request error (one of REQUEST_ERRORS) on `path`."""
    p = problem(exc)
    return error_response(path, p.status, p.message, {"Retry-After": str(retry_after_s)} if p.retry else None, **p.extra)
