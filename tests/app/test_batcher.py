"""The micro-batcher on its own: batching, answers to the right caller, shedding, deadlines, failures."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.services.batcher import DeadlineExceeded, InferenceFailed, MicroBatcher, Overloaded


class Recorder:
    """A run_batch that answers each image with its own id and records the batch sizes."""

    def __init__(self, delay: float = 0.0, fail_ids: tuple = ()):
        self.sizes, self.delay, self.fail_ids = [], delay, fail_ids
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, images, numbers):
        self.gate.wait(5)
        time.sleep(self.delay)
        self.sizes.append(len(images))
        ids = images[:, 0, 0].astype(int).tolist()
        if set(ids) & set(self.fail_ids):
            raise RuntimeError("forward pass failed")
        return [{"id": i, "number": None if numbers is None else int(numbers[k])} for k, i in enumerate(ids)]


def image(i: int) -> np.ndarray:
    x = np.zeros((28, 28), np.float32)
    x[0, 0] = i
    return x


def run(coro):
    return asyncio.run(coro)


async def started(recorder, **kw) -> MicroBatcher:
    batcher = MicroBatcher(recorder, ThreadPoolExecutor(1), **kw)
    batcher.start()
    return batcher


def test_concurrent_requests_share_forward_passes_and_each_gets_its_own_answer():
    async def main():
        rec = Recorder(delay=0.01)
        batcher = await started(rec, max_batch=8)
        answers = await asyncio.gather(*[batcher.submit(image(i), i % 10) for i in range(40)])
        await batcher.stop()
        return rec, answers

    rec, answers = run(main())
    assert [a["id"] for a in answers] == list(range(40))
    assert [a["number"] for a in answers] == [i % 10 for i in range(40)]
    assert sum(rec.sizes) == 40 and max(rec.sizes) <= 8 and len(rec.sizes) < 40


def test_a_full_queue_sheds_at_once():
    async def main():
        rec = Recorder()
        rec.gate.clear()  # the forward pass hangs until released
        batcher = await started(rec, max_batch=1, max_queue=2)
        first = asyncio.ensure_future(batcher.submit(image(0)))
        await asyncio.sleep(0.05)  # taken by the worker, stuck in the forward pass
        queued = [asyncio.ensure_future(batcher.submit(image(i))) for i in (1, 2)]
        await asyncio.sleep(0.01)
        t0 = time.monotonic()
        with pytest.raises(Overloaded):
            await batcher.submit(image(3))
        shed_s = time.monotonic() - t0
        rec.gate.set()
        done = await asyncio.gather(first, *queued)
        await batcher.stop()
        return shed_s, done

    shed_s, done = run(main())
    assert shed_s < 0.05
    assert [d["id"] for d in done] == [0, 1, 2]


def test_a_request_past_its_deadline_gets_deadline_exceeded_and_the_batcher_goes_on():
    async def main():
        rec = Recorder(delay=0.3)
        batcher = await started(rec, max_batch=4, timeout_s=0.1)
        with pytest.raises(DeadlineExceeded):
            await batcher.submit(image(1))
        batcher.timeout_s = 5
        later = await batcher.submit(image(2))
        await batcher.stop()
        return later

    assert run(main())["id"] == 2


def test_a_failed_forward_pass_fails_only_its_batch():
    async def main():
        rec = Recorder(fail_ids=(7,))
        batcher = await started(rec, max_batch=1)
        results = await asyncio.gather(batcher.submit(image(7)), batcher.submit(image(8)), return_exceptions=True)
        await batcher.stop()
        return results

    failed, ok = run(main())
    assert isinstance(failed, InferenceFailed) and "forward pass failed" in str(failed) and ok["id"] == 8


def test_a_request_of_many_images_is_answered_in_order_and_shares_passes_with_single_requests():
    async def main():
        rec = Recorder(delay=0.005)
        batcher = await started(rec, max_batch=8)
        many = np.stack([image(100 + i) for i in range(20)])
        both = await asyncio.gather(batcher.submit_many(many, np.arange(20) % 10),
                                    *[batcher.submit(image(i), 3) for i in range(5)])
        await batcher.stop()
        return rec, both

    rec, (many_answers, *singles) = run(main())
    assert [a["id"] for a in many_answers] == list(range(100, 120))
    assert [a["number"] for a in many_answers] == [i % 10 for i in range(20)]
    assert [a["id"] for a in singles] == list(range(5)) and all(a["number"] == 3 for a in singles)
    assert sum(rec.sizes) == 25 and max(rec.sizes) <= 2 * 8 - 1


def test_a_request_of_many_images_that_does_not_fit_the_queue_is_shed_whole_and_nothing_of_it_runs():
    async def main():
        rec = Recorder()
        rec.gate.clear()  # hold the worker so the queue fills
        batcher = await started(rec, max_batch=4, max_queue=2)
        first = asyncio.ensure_future(batcher.submit(image(0)))
        await asyncio.sleep(0.05)  # the worker has taken it and waits at the gate
        with pytest.raises(Overloaded):
            await batcher.submit_many(np.stack([image(10 + i) for i in range(12)]))  # 3 chunks, room for 2
        rec.gate.set()
        await first
        later = await batcher.submit(image(1))
        await batcher.stop()
        return rec, later

    rec, later = run(main())
    assert later["id"] == 1 and sum(rec.sizes) == 2, "the shed request's queued chunks were dropped unrun"
