"""The Open Inference Protocol (KServe v2 REST) beside the upload routes: server and model metadata,
health, and `POST /v2/models/{model}/infer` for digit, overlap, sum and number.

Inputs (exactly one of `image` or `pixels`; `sum` also needs `number`):
- `image` BYTES [N]: each element one encoded upload (PNG, JPEG, ...), prepared exactly as the upload
  routes prepare it (in JSON: a base64 string, `"parameters": {"content_type": "base64"}`);
- `pixels` FP32 [N,28,28] in 0-1 or UINT8 [N,28,28]: MNIST format (light ink on dark), used as is;
- `number` INT64 (or INT32) [N] in 0-9, for sum.
The N items go through the models' batchers as N items. Each model's outputs are named and typed in
its metadata (`OUTPUTS`); `rejected` holds, per item, why the upload route would have answered 422
(no_ink, not_a_digit, several_digits; empty when it answers), since one refused item must not fail a
batch. The other outputs still carry the model's reading where it made one (-1 and zeros where it
could not: an item without ink, or several digits for a gated task). A request whose `outputs` leave
out `rejected` skips the gate's forward passes (about half the work per image).
Errors answer {"error": "..."} with the upload routes' status codes (`app.main` maps them).
"""

import base64
import binascii

import numpy as np
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from app.api import oip
from app.api.routes import API_KEY_HEADER, check_api_key, serving
from app.api.schemas import (
    InferResponseBody,
    ModelMetadata,
    ModelReadiness,
    ProtocolErrorBody,
    ServerLiveness,
    ServerMetadata,
    ServerReadiness,
)
from app.ml.constants import DIGITS, IMAGE_SIZE
from app.ml.preprocess import mnist_format
from app.services.predictor import Predictor
from app.services.tasks import TASK_SPECS

router = APIRouter(prefix="/v2", tags=["open inference protocol (v2)"])
SERVED = ("digit", "overlap", "sum", "number")
EXTENSIONS = ["binary_tensor_data"]
IMAGE = {"name": "image", "datatype": "BYTES", "shape": [-1]}
PIXELS = {"name": "pixels", "datatype": "FP32", "shape": [-1, IMAGE_SIZE, IMAGE_SIZE]}
NUMBER = {"name": "number", "datatype": "INT64", "shape": [-1]}
REJECTED = {"name": "rejected", "datatype": "BYTES", "shape": [-1]}
PROBABILITIES = {"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}
CONFIDENCE = {"name": "confidence", "datatype": "FP32", "shape": [-1]}
DIGIT = {"name": "digit", "datatype": "INT64", "shape": [-1]}
INPUTS = {"digit": [IMAGE, PIXELS], "overlap": [IMAGE, PIXELS], "sum": [IMAGE, PIXELS, NUMBER], "number": [IMAGE]}
OUTPUTS = {
    "digit": [DIGIT, CONFIDENCE, PROBABILITIES, REJECTED],
    "overlap": [{"name": "present", "datatype": "BOOL", "shape": [-1, 10]}, PROBABILITIES, REJECTED],
    "sum": [DIGIT, {"name": "sum", "datatype": "INT64", "shape": [-1]}, CONFIDENCE, REJECTED],
    "number": [{"name": "number", "datatype": "BYTES", "shape": [-1]}, {"name": "text", "datatype": "BYTES", "shape": [-1]},
               CONFIDENCE, REJECTED],
}
ERRORS = {status: {"model": ProtocolErrorBody, "description": text} for status, text in {
    400: "malformed request: JSON, shape, datatype, unknown or missing input or output, truncated binary data",
    401: "missing or wrong API key (only when API_KEY is set)",
    404: "unknown model or version",
    413: "body larger than MAX_UPLOAD_BYTES, more than MAX_INFER_ITEMS items, or an image with too many pixels",
    415: "an `image` item that is not a decodable image",
    503: "model unavailable, or overloaded (see Retry-After)",
    504: "not answered within REQUEST_TIMEOUT_S",
}.items()}
INFER_BODY = {"parameters": [API_KEY_HEADER], "requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/InferRequestBody"}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"},
                                 "description": "binary tensor data extension: a JSON InferRequestBody of "
                                                "Inference-Header-Content-Length bytes, then the inputs' raw data"}}}}


def served(request: Request, model: str, version: str | None = None) -> Predictor:
    """The predictor, once `model` (and `version`, if given) names a model this server has loaded."""
    if model not in SERVED:
        raise oip.ProtocolError(404, f"unknown model {model!r}; this server has {', '.join(SERVED)}")
    predictor: Predictor = request.app.state.predictor
    predictor.check_available(TASK_SPECS[model])
    if version is not None and version != model_version(predictor, model):
        raise oip.ProtocolError(404, f"model {model!r} has no version {version!r}; it serves "
                                     f"{model_version(predictor, model)!r}")
    return predictor


def model_version(predictor: Predictor, model: str) -> str:
    return predictor.models[TASK_SPECS[model].model].version


@router.get("", response_model=ServerMetadata, summary="Server metadata")
async def server_metadata(request: Request):
    return {"name": "digitserve", "version": request.app.version, "extensions": EXTENSIONS}


@router.get("/health/live", response_model=ServerLiveness, summary="Liveness")
async def live():
    return {"live": True}


@router.get("/health/ready", response_model=ServerReadiness, responses={503: {"model": ServerReadiness}},
            summary="Readiness: 200 once every model is loaded, 503 again once SIGTERM arrived")
async def ready(request: Request):
    is_ready = serving(request.app.state)
    return JSONResponse({"ready": is_ready}, status_code=200 if is_ready else 503)


@router.get("/models/{model}", response_model=ModelMetadata, responses=ERRORS, summary="Model metadata")
@router.get("/models/{model}/versions/{version}", response_model=ModelMetadata, responses=ERRORS,
            summary="Model metadata (one version)")
async def model_metadata(request: Request, model: str = Path(description=f"one of {', '.join(SERVED)}"),
                         version: str | None = None):
    predictor = served(request, model, version)
    return {"name": model, "versions": [model_version(predictor, model)], "platform": "digitserve",
            "inputs": INPUTS[model], "outputs": OUTPUTS[model]}


@router.get("/models/{model}/ready", response_model=ModelReadiness, responses=ERRORS, summary="Model readiness")
@router.get("/models/{model}/versions/{version}/ready", response_model=ModelReadiness, responses=ERRORS,
            summary="Model readiness (one version)")
async def model_ready(request: Request, model: str, version: str | None = None):
    served(request, model, version)
    return {"name": model, "ready": True}


@router.post("/models/{model}/infer", response_model=InferResponseBody, responses=ERRORS, openapi_extra=INFER_BODY,
             summary="Inference (JSON or binary tensor data)")
@router.post("/models/{model}/versions/{version}/infer", response_model=InferResponseBody, responses=ERRORS,
             openapi_extra=INFER_BODY, summary="Inference (one version)")
async def infer(request: Request, model: str, version: str | None = None):
    check_api_key(request)
    predictor = served(request, model, version)
    req = oip.parse(await request.body(), request.headers.get(oip.HEADER_LENGTH))
    n = check_inputs(model, req, request.app.state.settings.max_infer_items)
    wanted = requested_outputs(model, req)
    outputs = await infer_outputs(predictor, model, req, n, gate="rejected" in wanted)
    body, headers = oip.encode(model, model_version(predictor, model), req.id,
                               [o for o in outputs if o.name in wanted], wanted)
    return Response(body, headers=headers)


def check_inputs(model: str, req: oip.InferRequest, max_items: int) -> int:
    """The number of items N, once the inputs are the model's, of the right types and shapes."""
    known = {i["name"] for i in INPUTS[model]}
    if unknown := set(req.inputs) - known:
        raise oip.bad(f"model {model!r} has no input {sorted(unknown)[0]!r}; its inputs: {', '.join(sorted(known))}")
    images = [name for name in ("image", "pixels") if name in req.inputs]
    if len(images) != 1:
        raise oip.bad(f"send exactly one of the inputs {' or '.join(n for n in ('image', 'pixels') if n in known)}")
    tensor = req.inputs[images[0]]
    if tensor.name == "image":
        expect(tensor, ("BYTES",), 1)
    else:
        expect(tensor, ("FP32", "UINT8"), 3)
        if tensor.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise oip.bad(f"input 'pixels' must have shape [N, {IMAGE_SIZE}, {IMAGE_SIZE}], not {list(tensor.shape)}")
    n = tensor.shape[0]
    if n == 0:
        raise oip.bad(f"input {tensor.name!r} holds no items")
    if n > max_items:
        raise oip.ProtocolError(413, f"{n} items in one request; at most {max_items} (MAX_INFER_ITEMS)")
    if model == "sum":
        if "number" not in req.inputs:
            raise oip.bad("model 'sum' needs the input 'number' (INT64 [N], 0-9)")
        expect(req.inputs["number"], ("INT64", "INT32"), 1)
        if req.inputs["number"].shape != (n,):
            raise oip.bad(f"input 'number' must have shape [{n}], one per image, not {list(req.inputs['number'].shape)}")
    return n


def expect(tensor: oip.Tensor, datatypes: tuple[str, ...], dims: int) -> None:
    if tensor.datatype not in datatypes:
        raise oip.bad(f"input {tensor.name!r} must be {' or '.join(datatypes)}, not {tensor.datatype}")
    if len(tensor.shape) != dims:
        raise oip.bad(f"input {tensor.name!r} must have {dims} dimension(s), not shape {list(tensor.shape)}")


def requested_outputs(model: str, req: oip.InferRequest) -> dict[str, bool]:
    names = [o["name"] for o in OUTPUTS[model]]
    if req.outputs is None:
        return dict.fromkeys(names, req.binary_output)
    if unknown := set(req.outputs) - set(names):
        raise oip.bad(f"model {model!r} has no output {sorted(unknown)[0]!r}; its outputs: {', '.join(names)}")
    return req.outputs


async def infer_outputs(predictor: Predictor, model: str, req: oip.InferRequest, n: int, gate: bool) -> list[oip.Output]:
    """Every output of `model` for the request's N items; the gate runs only when `rejected` is wanted."""
    if model == "number":
        return item_outputs(model, await predictor.read_numbers(uploads(req.inputs["image"])))
    numbers = None
    if model == "sum":
        numbers = np.asarray(req.inputs["number"].data, dtype=np.int64)
        if ((numbers < 0) | (numbers > 9)).any():
            raise oip.bad("input 'number' must hold integers 0-9")
    if "pixels" in req.inputs:
        prepared = [mnist_format(x, TASK_SPECS[model].pen) for x in pixels(req.inputs["pixels"])]
        present = list(range(n))
    else:
        prepared = await predictor.prepare_many(model, uploads(req.inputs["image"]))
        present = [i for i, p in enumerate(prepared) if p is not None]
        if not present:  # every item is blank
            return item_outputs(model, [(None, "no_ink")] * n)
    answered = await predictor.predict_many(model, [prepared[i] for i in present],
                                            None if numbers is None else numbers[present], gate)
    slots: list[tuple[dict | None, str]] = [(None, "no_ink")] * n
    for i, (result, reason) in zip(present, answered):
        slots[i] = (None if reason == "several_digits" else result, reason or "")
    return item_outputs(model, slots)


def uploads(tensor: oip.Tensor) -> list[bytes]:
    """The encoded images of an `image` input (base64 when they came as JSON strings)."""
    if not tensor.in_json:
        return list(tensor.data)
    if tensor.parameters.get("content_type", "base64") != "base64":
        raise oip.bad("input 'image' in JSON must be base64 strings (parameters.content_type 'base64')")
    try:
        return [base64.b64decode(item, validate=True) for item in tensor.data]
    except (binascii.Error, ValueError):
        raise oip.bad("input 'image': an item is not valid base64") from None


def pixels(tensor: oip.Tensor) -> np.ndarray:
    x = np.asarray(tensor.data)
    if tensor.datatype == "UINT8":
        return x.astype(np.float32) / np.float32(255.0)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise oip.bad("input 'pixels' (FP32) must hold values in 0-1")
    return np.ascontiguousarray(x, dtype=np.float32)


def item_outputs(model: str, slots: list[tuple[dict | None, str]]) -> list[oip.Output]:
    """Every output of `model` for N items: (the model's answer or None, why it was refused or "")."""
    results = [r for r, _ in slots]
    rejected = oip.Output("rejected", "BYTES", [reason for _, reason in slots])

    def column(name: str, datatype: str, key: str, missing) -> oip.Output:
        return oip.Output(name, datatype, np.array([r[key] if r else missing for r in results], oip.DTYPES[datatype]))

    if model == "number":
        return [oip.Output("number", "BYTES", [r["number"] if r else "" for r in results]),
                oip.Output("text", "BYTES", [r["text"] if r else "" for r in results]),
                column("confidence", "FP32", "confidence", 0.0), rejected]
    if model == "overlap":
        present = np.zeros((len(results), len(DIGITS)), np.bool_)
        for i, r in enumerate(results):
            if r:
                present[i, r["digits"]] = True
        return [oip.Output("present", "BOOL", present), column("probabilities", "FP32", "probabilities", [0.0] * 10),
                rejected]
    if model == "sum":
        return [column("digit", "INT64", "digit", -1), column("sum", "INT64", "sum", -1),
                column("confidence", "FP32", "confidence", 0.0), rejected]
    return [column("digit", "INT64", "digit", -1), column("confidence", "FP32", "confidence", 0.0),
            column("probabilities", "FP32", "probabilities", [0.0] * 10), rejected]
