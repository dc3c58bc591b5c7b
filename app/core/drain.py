"""SIGTERM's first phase: drain before the server stops accepting.

A server told to stop closes its listening socket at once, and uvicorn then closes every connection
whose request line it has not read yet. A request sent just before SIGTERM but still in the kernel's
accept queue, or read by nobody yet on a busy worker, is then cut off without an answer (seen in CI: 2
of 12 uploads sent 0.1 s before SIGTERM, on a loaded machine). And a load balancer keeps sending new
requests for a moment after it decided to stop (Kubernetes removes a pod's endpoints while SIGTERM is
already on its way).

So on the first SIGTERM the process keeps accepting and answering for `DRAIN_S` seconds while `/ready`
answers 503 and every response asks the client to close its connection (`Connection: close`), then
hands the signal to the server, which stops accepting and finishes what is in flight. A second SIGTERM
goes to the server at once.
"""

import asyncio
import logging
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger("digitserve")


@dataclass
class Drain:
    """Whether this process is draining (SIGTERM arrived, the server has not been told yet)."""
    started: bool = False


@contextmanager
def drain_on_sigterm(drain: Drain, seconds: float):
    """While the block runs, the first SIGTERM starts `drain` and reaches the handler that was installed
    before the block (the server's) `seconds` later. Nothing changes where there is no such handler to
    delay or no signal can be handled (not the main thread: e.g. a test client's lifespan), or with 0 s."""
    server_handler = signal.getsignal(signal.SIGTERM)
    if seconds <= 0 or not callable(server_handler) or threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()

    def start(signum, frame):
        signal.signal(signal.SIGTERM, server_handler)  # a second SIGTERM stops the server at once
        drain.started = True
        loop.call_soon_threadsafe(schedule_stop, signum)  # the rest on the loop, not in the signal handler

    def schedule_stop(signum):
        log.info("SIGTERM: draining for %g s (/ready answers 503), then stopping", seconds)
        loop.call_later(seconds, server_handler, signum, None)

    signal.signal(signal.SIGTERM, start)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is start:
            signal.signal(signal.SIGTERM, server_handler)
