"""Typed settings from the environment (and an optional .env file). Cloud Run sets PORT."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)
    model_dir: Path = Path("models")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    max_upload_bytes: int = Field(10 * MiB, gt=0, description="uploads larger than this get 413")
    body_timeout_s: float = Field(10.0, gt=0, description="an upload not fully received by then gets 408")
    max_image_pixels: int = Field(40_000_000, gt=0, description="decoded images larger than this get 413")

    max_batch_size: int = Field(32, ge=1, description="requests run together in one forward pass")
    max_batch_wait_ms: float = Field(0.0, ge=0, description="how long a batch waits to fill up")
    max_queue: int = Field(512, ge=1, description="waiting requests per queue (a model, or a gated task's model+gate) before 503")
    request_timeout_s: float = Field(10.0, gt=0, description="a prediction not done by then gets 504")
    max_infer_items: int = Field(256, ge=1, description="images in one OIP v2 infer request before 413")
    retry_after_s: int = Field(1, ge=1)
    drain_s: float = Field(1.0, ge=0, le=30, description=(
        "after SIGTERM: keep accepting and answering this long while /ready answers 503, then stop accepting "
        "and finish in-flight requests (at most 7 s more)"))
    preprocess_threads: int = Field(2, ge=1)
    inference_runtime: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="auto: the ONNX export in onnxruntime on CPU, torch on CUDA")
    onnx_precision: Literal["int8", "fp32"] = Field(
        "int8", description="int8: on CPU, the 8-bit ONNX export where a card records one (digit, gate)")
    inference_threads: int = Field(1, ge=0, description="intra-op threads per worker (0: the runtime's default)")

    api_key: str | None = Field(None, description="when set, the predict routes require X-API-Key")
    workers: int = Field(2, ge=1, description="server processes; one per core with INFERENCE_THREADS=1 measured best")


@lru_cache
def get_settings() -> Settings:
    return Settings()
