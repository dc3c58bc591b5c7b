"""Code the tests and the benchmarks share: starting the service and waiting for it
(`support.server`), and encoding uploads (`support.images`). It imports neither `tests` nor `bench`."""
