"""Dynamic micro-batching: concurrent requests for one model share a single forward pass.

Requests wait in a bounded queue. A worker task takes whatever is queued (up to `max_batch` images,
waiting at most `max_wait_s` for more), runs the batch in a thread so the event loop stays free, and
answers each request individually. A request of several images (`submit_many`, the OIP v2 route)
queues them in chunks of at most `max_batch`, which share forward passes with everyone else's.
A full queue answers at once (Overloaded -> 503 + Retry-After)
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


class InferenceFailed(Exception):
    """The model failed on a batch (e.g. CUDA out of memory, a lost device): the server's fault,
    answered 503 + Retry-After; the batch's requests fail, the worker goes on."""


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
        """One 28x28 image (and its number, for sum) -> its answer."""
        (result,) = await self.wait(self.enqueue(image[None], None if number is None else np.array([number], np.int64)))
        return result

    async def submit_many(self, images: np.ndarray, numbers: np.ndarray | None = None) -> list[dict]:
        """N 28x28 images (and N numbers) -> their N answers; all queued, or none (Overloaded)."""
        futures = []
        try:
            for start in range(0, len(images), self.max_batch):
                end = start + self.max_batch
                futures.append(self.enqueue(images[start:end], None if numbers is None else numbers[start:end]))
        except Overloaded:
            for future in futures:
                future.cancel()  # the worker drops cancelled entries unrun
            raise
        chunks = await asyncio.gather(*(self.wait(f) for f in futures))
        return [result for chunk in chunks for result in chunk]

    def enqueue(self, images: np.ndarray, numbers: np.ndarray | None) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait((images, numbers, future))
        except asyncio.QueueFull:
            raise Overloaded from None
        return future

    async def wait(self, future: asyncio.Future) -> list[dict]:
        # One timer per queued entry (cheaper than asyncio.wait_for's extra future and callbacks).
        deadline = asyncio.get_running_loop().call_later(self.timeout_s, expire, future)
        try:
            return await future
        finally:
            deadline.cancel()

    async def collect(self) -> list:
        batch = [await self.queue.get()]
        size = len(batch[0][0])
        deadline = time.monotonic() + self.max_wait_s
        while size < self.max_batch:
            try:
                batch.append(self.queue.get_nowait())
                size += len(batch[-1][0])
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), remaining))
                size += len(batch[-1][0])
            except TimeoutError:
                break
        return [item for item in batch if not item[2].done()]  # drop requests that gave up

    async def worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self.collect()
            if not batch:
                continue
            images = np.concatenate([item[0] for item in batch])
            numbers = None if batch[0][1] is None else np.concatenate([item[1] for item in batch])
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self.executor, self.run_batch, images, numbers)
            except Exception as exc:  # a failed forward pass fails only this batch, loudly
                log.exception("batch of %d images failed", len(images))
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(InferenceFailed(f"{type(exc).__name__}: {exc}"))
                continue
            if self.on_batch:
                self.on_batch(len(images), time.perf_counter() - started)
            start = 0
            for chunk, _, future in batch:
                if not future.done():
                    future.set_result(results[start:start + len(chunk)])
                start += len(chunk)
