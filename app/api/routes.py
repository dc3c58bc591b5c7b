"""The JSON API: three predict routes and the operational routes."""

import hmac
import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import UploadFile

from app.api.schemas import (
    DigitPrediction,
    ErrorBody,
    Health,
    ModelCard,
    ModelsList,
    NumberPrediction,
    OverlapPrediction,
    Readiness,
    SumPrediction,
    SumUploadBody,
    UploadBody,
)
from app.ml.constants import MODELS
from app.ml.preprocess import InputError
from app.services.predictor import Predictor
from app.services.tasks import UPLOAD_ROUTES

router = APIRouter()
# The answer fields each route sends: its response model's fields (the model reference added last).
RESPONSES = {"digit": DigitPrediction, "overlap": OverlapPrediction, "sum": SumPrediction, "number": NumberPrediction}
FIELDS = {task: tuple(f for f in schema.model_fields if f != "model") for task, schema in RESPONSES.items()}

ERRORS = {status: {"model": ErrorBody, "description": text} for status, text in {
    401: "missing or wrong API key (only when API_KEY is set)",
    413: "file larger than MAX_UPLOAD_BYTES, or image with too many pixels",
    415: "not a decodable image",
    422: "no file, two files, bad `number`, or not one digit in the image (`reason`: no_ink, not_a_digit, "
         "several_digits; /predict/overlap: the same, for ink of one pen's level, not two digits averaged; "
         "/predict/number: no_ink, not_a_digit, several_lines)",
    503: "model unavailable, or overloaded (see Retry-After)",
    504: "not answered within REQUEST_TIMEOUT_S",
}.items()}


API_KEY_HEADER = {"name": "X-API-Key", "in": "header", "required": False, "schema": {"type": "string"},
                  "description": "needed when API_KEY is set"}


def upload_contract(body: type) -> dict:
    """openapi_extra of an upload route, which reads its multipart body and the API key itself:
    FastAPI solving `file: UploadFile = File()` parameters cost /predict ~16% of its throughput at
    32 clients (A/B, medians of 7 rounds: 2,434 vs 2,900 req/s). /docs shows what FastAPI would."""
    ref = {"$ref": f"#/components/schemas/{body.__name__}"}
    return {"parameters": [API_KEY_HEADER],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": ref}}}}


def upload_route(path: str, summary: str, body: type = UploadBody):
    """The decorator of an upload route: the response model of the task it serves (UPLOAD_ROUTES),
    the upload routes' errors and tag, and the contract of the body it reads itself."""
    return router.post(path, response_model=RESPONSES[UPLOAD_ROUTES[path]], responses=ERRORS, tags=["predict"],
                       summary=summary, openapi_extra=upload_contract(body))


UPLOAD_BODIES = (UploadBody, SumUploadBody)  # their schemas go into /openapi.json's components (main.install_openapi)


def key_matches(given: str | None, expected: str) -> bool:
    """No API key is set (`expected` empty), or `given` is it (compared in constant time)."""
    return not expected or bool(given and hmac.compare_digest(given.encode(), expected.encode()))


def check_api_key(request: Request) -> None:
    """401 unless the X-API-Key header matches API_KEY (when one is set). The predict routes call it
    first, before reading the body; as a FastAPI dependency with a Header parameter it cost ~0.1 ms
    of parameter solving per request (profiled), a tenth of what a 28x28 upload costs in all."""
    if not key_matches(request.headers.get("x-api-key"), request.app.state.settings.api_key):
        raise HTTPException(401, "missing or wrong X-API-Key header")


def one_file(form) -> UploadFile:
    """The one upload in a form's `file` field: none, two or a plain text field are refused (422)
    rather than guessed between. The page checks its form with this too."""
    files = form.getlist("file")
    if len(files) != 1 or not isinstance(files[0], UploadFile):
        raise InputError(422, "send exactly one file (an image) in the `file` field")
    return files[0]


def digit_number(raw) -> int:
    """A form's `number` for sum: an integer 0-9 (422 naming what came instead). /docs declares the
    same bounds (`schemas.SumUploadBody`); the API route and the page's form both come through here."""
    if raw is None:
        raise InputError(422, "`number` is missing: send an integer from 0 to 9 in the `number` form field")
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit() and 0 <= int(text) <= 9):
        raise InputError(422, f"`number` must be an integer from 0 to 9, not {text[:20]!r}")
    return int(text)


async def single_upload(request: Request) -> bytes:
    """The one uploaded file's bytes (Starlette answers a malformed multipart body 400 itself)."""
    form = await request.form()
    try:
        return await one_file(form).read()
    finally:
        await form.close()


def answer(task: str, result: dict, model) -> Response:
    return Response(json.dumps({**{k: result[k] for k in FIELDS[task]}, "model": model.ref}), media_type="application/json")


async def predict_and_answer(request: Request, task: str, number: int | None = None) -> Response:
    """Predict and answer. The dict is built to match the route's response model exactly (the API
    tests check every field), and sent as JSON directly: that skips re-validating our own output on
    the hot path while /docs still documents the model."""
    predictor: Predictor = request.app.state.predictor
    result, _, model = await predictor.predict(task, await single_upload(request), number)
    return answer(task, result, model)


@upload_route("/predict", "Which digit is in the image?")
async def predict_digit(request: Request):
    check_api_key(request)
    return await predict_and_answer(request, "digit")


@upload_route("/predict/overlap", "Which digits (one or two) are overlapped in the image?")
async def predict_overlap(request: Request):
    check_api_key(request)
    return await predict_and_answer(request, "overlap")


@upload_route("/predict/sum", "The digit in the image plus a number 0-9", SumUploadBody)
async def predict_sum(request: Request):
    check_api_key(request)  # before the form is read for `number`
    number = digit_number((await request.form()).get("number"))  # the form is parsed once, then cached
    return await predict_and_answer(request, "sum", number)


@upload_route("/predict/number", "The whole number in a line of handwritten digits, each digit boxed")
async def predict_number(request: Request):
    check_api_key(request)
    predictor: Predictor = request.app.state.predictor
    result, _, model = await predictor.read_number(await single_upload(request))
    return answer("number", result, model)


@router.get("/health", response_model=Health, tags=["ops"], summary="Liveness: 200 while the process lives")
async def health():
    return {"status": "ok"}


def serving(state) -> bool:
    """Ready for traffic: every model loaded, and the process is not draining (`app.core.drain`).
    Both protocols' readiness routes answer by it."""
    return bool(state.store and state.store.ready()) and not state.drain.started


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}}, tags=["ops"],
            summary="Readiness: 200 once every model is loaded, 503 again once SIGTERM arrived")
async def ready(request: Request):
    state = request.app.state
    if state.store is None:
        return JSONResponse({"ready": False, "models": {t: "loading" for t in MODELS}}, status_code=503)
    models = {t: "ready" if t in state.store.models else state.store.errors.get(t, "not loaded") for t in MODELS}
    is_ready = serving(state)
    body = {"ready": is_ready, "draining": state.drain.started, "models": models}
    return body if is_ready else JSONResponse(body, status_code=503)


@router.get("/models", response_model=ModelsList, tags=["ops"], summary="The model cards of the loaded models")
async def models(request: Request):
    store = request.app.state.store
    cards = [ModelCard(name=m.name, task=m.task, arch=m.card.arch, version=m.version, sha256=m.card.sha256,
                       temperature=m.card.temperature, runtime=m.runtime.name, precision=m.runtime.precision,
                       device=m.runtime.device, fallback=m.runtime.fallback or None,
                       test_metrics=m.card.test_metrics, card=m.card.data)
             for m in store.models.values()] if store else []
    predictor = getattr(request.app.state, "predictor", None)
    return {"models": cards, "unavailable": dict(store.errors) if store else {},
            "number_reader": predictor.number_card if predictor else None,
            "digit_ensemble": predictor.ensemble_card if predictor else None}


@router.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
async def metrics(request: Request):
    telemetry = request.app.state.telemetry
    for task, batcher in request.app.state.batchers.items():
        telemetry.queue_depth.labels(task).set(batcher.queue.qsize())
    return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)
