"""Pydantic response models: what /docs promises is what the service answers."""

from typing import Literal

from pydantic import BaseModel, Field


class ModelRef(BaseModel):
    name: str = Field(description="model name (the task it serves)")
    task: str
    arch: str = Field(description="architecture name from the registry")
    version: str = Field(description="first 12 hex digits of the checkpoint's sha256")


class DigitPrediction(BaseModel):
    digit: int = Field(ge=0, le=9)
    confidence: float = Field(ge=0, le=1, description="calibrated probability of `digit`")
    probabilities: list[float] = Field(min_length=10, max_length=10, description="P(digit = 0..9)")
    model: ModelRef


class OverlapPrediction(BaseModel):
    digits: list[int] = Field(min_length=1, max_length=2, description="the digits present, sorted")
    probabilities: list[float] = Field(min_length=10, max_length=10, description="P(digit d is present), d = 0..9")
    threshold: float = Field(description="a digit is reported when its probability reaches this (one or two digits)")
    model: ModelRef


class SumPrediction(BaseModel):
    digit: int = Field(ge=0, le=9)
    number: int = Field(ge=0, le=9)
    sum: int = Field(ge=0, le=18)
    confidence: float = Field(ge=0, le=1, description="calibrated probability of `sum`")
    model: ModelRef


class NumberDigit(BaseModel):
    digit: int = Field(ge=0, le=9)
    confidence: float = Field(ge=0, le=1, description="calibrated probability of `digit`")
    box: list[int] = Field(min_length=4, max_length=4,
                           description="[x, y, w, h] in the upload's pixels (after EXIF orientation)")


class NumberPrediction(BaseModel):
    number: str = Field(description="the digits read left to right (leading zeros kept)", pattern=r"^[0-9]+$")
    digits: list[NumberDigit]
    confidence: float = Field(ge=0, le=1, description="calibrated probability that the whole string is right")
    model: ModelRef


class ErrorBody(BaseModel):
    detail: str = Field(description="what was wrong with the request")
    reason: Literal["no_ink", "not_a_digit", "several_digits"] | None = Field(
        None, description="only when the image is not one digit: why")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    models: dict[str, str] = Field(description="per task: 'ready' or why it is unavailable")


class ModelCard(BaseModel):
    name: str
    task: str
    arch: str
    version: str
    sha256: str
    temperature: float
    runtime: str = Field(description="what runs the model: 'onnxruntime' (its ONNX export, CPU) or 'torch'")
    device: str = Field(description="'cpu' or 'cuda'")
    test_metrics: dict
    card: dict = Field(description="the full model card stored beside the checkpoint")


class ModelsList(BaseModel):
    models: list[ModelCard]
    unavailable: dict[str, str]
    number_reader: dict | None = Field(None, description="the number reader's card (models/number.json): the "
                                       "checkpoints it reads with, its confidence calibration, its test figures")
