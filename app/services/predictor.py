"""The path of one prediction: upload bytes -> preprocessing (in a thread) -> the model's batcher."""

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass

from app.ml.preprocess import InputError, Prepared, prepare
from app.services.batcher import MicroBatcher
from app.services.models import ServedModel


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
        return await asyncio.get_running_loop().run_in_executor(self.executor, prepare, data, self.max_pixels)

    async def predict(self, task: str, data: bytes, number: int | None = None) -> tuple[dict, Prepared, ServedModel]:
        if task not in self.models:
            raise ModelUnavailable(task, self.errors.get(task, "not loaded"))
        prepared = await self.prepare(data)
        result = await self.batchers[task].submit(prepared.image, number)
        return result, prepared, self.models[task]


__all__ = ["InputError", "ModelUnavailable", "Predictor"]
