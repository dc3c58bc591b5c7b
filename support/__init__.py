"""Code the tests and the benchmarks share: starting the service and waiting for it
(`support.server`), encoding uploads (`support.images`) and drawing digits with a round pen
(`support.drawing`). It imports neither `tests` nor `bench`."""
