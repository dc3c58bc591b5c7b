"""The service in-process, as the accuracy benches post to it (on CPU, logging warnings only), and their
command line."""

import argparse

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app


def service() -> TestClient:
    """A client of the app; enter it (`with service() as client:`) to run its lifespan (the models load)."""
    return TestClient(create_app(Settings(device="cpu", log_level="warning")))


def counts(doc: str, sizes: dict[str, tuple[int, str]], argv=None) -> argparse.Namespace:
    """An accuracy bench's command line: its docstring's first paragraph for --help, and how many uploads of
    each kind it measures (`sizes`: option -> (default, help))."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for option, (default, what) in sizes.items():
        p.add_argument(option, type=int, default=default, help=what)
    return p.parse_args(argv)
