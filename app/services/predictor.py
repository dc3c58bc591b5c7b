"""The path of one prediction: upload bytes -> preprocessing (in a thread) -> the model's batcher."""

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass

from app.ml.preprocess import InputError, Prepared, prepare
from app.services.batcher import MicroBatcher
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

    async def prepare(self, data: bytes) -> Prepared:
        """Small PNGs (the common API case, e.g. 28x28) are prepared inline: that takes tens of
        microseconds, less than a hop to the thread pool. Anything else runs in the pool."""
        if is_small_png(data):
            return prepare(data, self.max_pixels)
        return await asyncio.get_running_loop().run_in_executor(self.executor, prepare, data, self.max_pixels)

    async def predict(self, task: str, data: bytes, number: int | None = None) -> tuple[dict, Prepared, ServedModel]:
        if task not in self.models:
            raise ModelUnavailable(task, self.errors.get(task, "not loaded"))
        prepared = await self.prepare(data)
        result = await self.batchers[task].submit(prepared.image, number)
        return result, prepared, self.models[task]


__all__ = ["InputError", "ModelUnavailable", "Predictor"]
