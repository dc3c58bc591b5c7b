"""Dynamic micro-batching: concurrent requests for one model share a single forward pass.

Requests wait in a bounded queue. A worker task takes whatever is queued (up to `max_batch`,
waiting at most `max_wait_s` for more), runs the batch in a thread so the event loop stays free, and
answers each request individually. A full queue answers at once (Overloaded -> 503 + Retry-After)
instead of piling up latency and memory; a request not answered by its deadline gets a 504.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

log = logging.getLogger("digitserve.batcher")


class Overloaded(Exception):
    """The queue is full: shed the request."""


class DeadlineExceeded(Exception):
    """The request was not answered within its deadline."""


def expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(DeadlineExceeded())


class MicroBatcher:
    def __init__(self, run_batch: Callable[[np.ndarray, np.ndarray | None], list[dict]], executor: Executor,
                 max_batch: int = 32, max_wait_s: float = 0.0, max_queue: int = 512, timeout_s: float = 10.0,
                 on_batch: Callable[[int, float], None] | None = None):
        self.run_batch = run_batch
        self.executor = executor
        self.max_batch, self.max_wait_s, self.timeout_s = max_batch, max_wait_s, timeout_s
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=max_queue)
        self.on_batch = on_batch
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.worker())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    async def submit(self, image: np.ndarray, number: int | None = None) -> dict:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        try:
            self.queue.put_nowait((image, number, future))
        except asyncio.QueueFull:
            raise Overloaded from None
        # One timer per request (cheaper than asyncio.wait_for's extra future and callbacks).
        deadline = loop.call_later(self.timeout_s, expire, future)
        try:
            return await future
        finally:
            deadline.cancel()

    async def collect(self) -> list:
        batch = [await self.queue.get()]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                batch.append(self.queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), remaining))
            except TimeoutError:
                break
        return [item for item in batch if not item[2].done()]  # drop requests that gave up

    async def worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self.collect()
            if not batch:
                continue
            images = np.stack([item[0] for item in batch])
            numbers = None if batch[0][1] is None else np.array([item[1] for item in batch], dtype=np.int64)
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self.executor, self.run_batch, images, numbers)
            except Exception as exc:  # a failed forward pass fails only this batch, loudly
                log.exception("batch of %d failed", len(batch))
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            if self.on_batch:
                self.on_batch(len(batch), time.perf_counter() - started)
            for (*_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)
