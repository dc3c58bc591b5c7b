import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("DIGITSERVE_TEST_MODEL_DIR", ROOT / "models"))


def make_client(**overrides) -> TestClient:
    settings = Settings(model_dir=overrides.pop("model_dir", MODEL_DIR), device="cpu", **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="session")
def client():
    with make_client() as c:
        yield c
