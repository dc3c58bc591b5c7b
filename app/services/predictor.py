"""The path of one prediction: upload bytes -> preprocessing (in a thread) -> the model's batcher."""

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass

from app.core.telemetry import Telemetry
from app.ml.preprocess import InputError, Prepared, prepare
from app.services.batcher import MicroBatcher, Overloaded
from app.services.models import ServedModel

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INLINE_MAX_SIDE = 64


def is_small_png(data: bytes) -> bool:
    """A PNG whose header declares at most 64x64 pixels (bounded work whatever the rest holds)."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return False
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 0 < width <= INLINE_MAX_SIDE and 0 < height <= INLINE_MAX_SIDE


class ModelUnavailable(Exception):
    def __init__(self, task: str, reason: str):
        super().__init__(f"model {task!r} is unavailable: {reason}")
        self.task, self.reason = task, reason


@dataclass
class Predictor:
    models: dict[str, ServedModel]
    errors: dict[str, str]
    batchers: dict[str, MicroBatcher]
    executor: Executor
    max_pixels: int
    telemetry: Telemetry

    async def prepare(self, data: bytes) -> Prepared:
        """Small PNGs (the common API case, e.g. 28x28) are prepared inline: that takes tens of
        microseconds, less than a hop to the thread pool. Anything else runs in the pool."""
        if is_small_png(data):
            return prepare(data, self.max_pixels)
        return await self.run(prepare, data, self.max_pixels)

    async def predict(self, task: str, data: bytes, number: int | None = None) -> tuple[dict, Prepared, ServedModel]:
        """Prepare, queue for the model's batcher, count the answer (or the shed request)."""
        if task not in self.models:
            raise ModelUnavailable(task, self.errors.get(task, "not loaded"))
        prepared = await self.prepare(data)
        try:
            result = await self.batchers[task].submit(prepared.image, number)
        except Overloaded:
            self.telemetry.shed.labels(task).inc()
            raise
        answer = "+".join(map(str, result["digits"])) if task == "overlap" else result.get("sum", result.get("digit"))
        self.telemetry.predictions.labels(task, str(answer)).inc()
        return result, prepared, self.models[task]

    async def run(self, fn, *args):
        """CPU-bound work for a request (e.g. a page thumbnail) in the preprocessing pool."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


__all__ = ["InputError", "ModelUnavailable", "Predictor"]
