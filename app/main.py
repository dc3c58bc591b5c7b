"""The ASGI app: `app.main:app`, built by `create_app()`.

The lifespan loads the checkpoints once (`app.ml.constants.MODELS`), warms them up and starts one
micro-batcher per 28x28 model and one per gated task (its model and the gate as one unit; the line
model runs one line per call); requests only ever touch what it built (in `app.state`). The upload
routes' plain requests are answered by `app.api.fastlane` before FastAPI's routing.
"""

import asyncio
import gc
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser

from app.api.errors import REQUEST_ERRORS, error_response, problem_response
from app.api.fastlane import FastLane
from app.api.routes import UPLOAD_BODIES
from app.api.routes import router as api_router
from app.api.schemas import InferRequestBody
from app.api.v2 import router as v2_router
from app.core.config import Settings, get_settings
from app.core.drain import Drain, drain_on_sigterm
from app.core.middleware import BodyLimitMiddleware, HeadersAndMetricsMiddleware, ShedMiddleware, error_key
from app.core.telemetry import Telemetry
from app.ml.ensemble import Ensemble, read_ensemble_card
from app.ml.numbers import read_number_card
from app.services.batcher import MicroBatcher
from app.services.models import GatedModel, ModelStore, ServedModel, load_all, served_shas, warm_up
from app.services.predictor import Predictor
from app.services.runtimes import resolve_device
from app.services.tasks import TASK_SPECS, queued_models
from app.web.pages import router as web_router

log = logging.getLogger("digitserve")
STATIC = Path(__file__).parent / "web" / "static"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("digitserve").setLevel(level.upper())


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: Settings = app.state.settings
    configure_logging(settings.log_level)
    device = resolve_device(settings.device, settings.inference_runtime)
    loop = asyncio.get_running_loop()
    # Models are loaded and run on this one thread: torch's thread count is per calling thread.
    inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
    store = await loop.run_in_executor(inference, load_all, settings.model_dir, device, settings.inference_runtime,
                                       settings.inference_threads, settings.onnx_precision)
    await loop.run_in_executor(inference, warm_up, store, settings.max_batch_size)
    preprocess = ThreadPoolExecutor(max_workers=settings.preprocess_threads, thread_name_prefix="preprocess")
    telemetry: Telemetry = app.state.telemetry
    for task in store.models:
        telemetry.models_loaded.labels(task).set(1)
    for task in store.errors:
        telemetry.models_loaded.labels(task).set(0)
    shas = served_shas(store)
    ensemble_card, ensemble = read_ensemble_card(settings.model_dir, shas)
    runs = units(store, ensemble)
    batchers = start_batchers(runs, inference, settings, telemetry)
    app.state.store, app.state.units, app.state.batchers = store, runs, batchers
    app.state.predictor = Predictor(store.models, store.errors, batchers, preprocess, settings.max_image_pixels,
                                    telemetry, *read_number_card(settings.model_dir, shas), ensemble_card)
    # Everything built so far (modules, app, sessions) lives as long as the process. Moving it out of
    # the collector's reach makes each full collection scan only per-request garbage: measured at 32
    # clients, p99 70-76 ms -> 33-37 ms and +7-17% req/s.
    gc.collect()
    gc.freeze()
    log.info("ready: %s on %s%s", ", ".join(f"{t} ({m.runtime.name})" for t, m in store.models.items()) or "no models",
             device,
             f"; unavailable: {', '.join(store.errors)}" if store.errors else "")
    try:
        with drain_on_sigterm(app.state.drain, settings.drain_s):
            yield
    finally:
        for batcher in batchers.values():
            await batcher.stop()
        inference.shutdown(wait=False, cancel_futures=True)
        preprocess.shutdown(wait=False, cancel_futures=True)


def units(store: ModelStore, ensemble: Ensemble | None) -> dict[str, ServedModel | GatedModel]:
    """What each batcher runs, by queue name: every 28x28 model alone, and each gated task's model with
    the gate (`TaskSpec.queue`; the digit task's with the fitted ensemble)."""
    models = {name: model for name, model in store.models.items() if model.batched}
    paired = {spec.queue: GatedModel(models[spec.model], models["gate"], ensemble if spec.with_gate else None)
              for spec in TASK_SPECS.values() if spec.gated and spec.model in models and "gate" in models}
    return models | paired


def start_batchers(runs: dict, executor: ThreadPoolExecutor, settings: Settings,
                   telemetry: Telemetry) -> dict[str, MicroBatcher]:
    """One started micro-batcher per unit, its batches run on `executor` and timed in `telemetry`."""
    batchers = {}
    for queue, unit in runs.items():
        def record(size, seconds, queue=queue):
            telemetry.batch_size.labels(queue).observe(size)
            telemetry.batch_seconds.labels(queue).observe(seconds)

        batchers[queue] = MicroBatcher(unit.predict, executor, settings.max_batch_size, settings.max_batch_wait_ms / 1000,
                                       settings.max_queue, settings.request_timeout_s, record)
        batchers[queue].start()
    return batchers


def install_error_handlers(app: FastAPI) -> None:
    async def request_error(request: Request, exc: Exception):
        return problem_response(exc, request.url.path, app.state.settings.retry_after_s)

    for kind in REQUEST_ERRORS:
        app.add_exception_handler(kind, request_error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()]
        return error_response(request.url.path, 422, "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if error_key(request.url.path) == "error":
            return error_response(request.url.path, exc.status_code, str(exc.detail), exc.headers)
        return await http_exception_handler(request, exc)


def install_openapi(app: FastAPI) -> None:
    """/openapi.json with the schemas of the bodies routes read themselves rather than through
    parameters: the v2 infer request (JSON or the binary tensor data extension) and the uploads."""
    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            bodies = [(body, "validation") for body in (InferRequestBody, *UPLOAD_BODIES)]
            _, defs = models_json_schema(bodies, ref_template="#/components/schemas/{model}")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Keep multipart uploads in memory (bounded by the body limit): never written to disk.
    MultiPartParser.spool_max_size = settings.max_upload_bytes + 1024 * 1024
    app = FastAPI(title="digitserve", version="1.0.0", lifespan=lifespan,
                  description="Handwritten-digit recognition: one digit, two overlapped digits, digit + number, "
                              "a whole number; upload routes and the Open Inference Protocol (v2).")
    app.state.settings, app.state.telemetry, app.state.drain = settings, Telemetry(), Drain()
    app.state.store, app.state.units, app.state.batchers = None, {}, {}
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(v2_router)
    install_openapi(app)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(FastLane)  # innermost of ours: the body limit, shedding and metrics hold for it too
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(ShedMiddleware, models_for=queued_models, retry_after_s=settings.retry_after_s,
                       telemetry=app.state.telemetry)
    app.add_middleware(HeadersAndMetricsMiddleware, telemetry=app.state.telemetry, drain=app.state.drain)
    return app


app = create_app()
