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
    probabilities: list[float] = Field(min_length=10, max_length=10,
                                       description="P(digit = 0..9): on POST /predict, the digit model's and the "
                                                   "gate's combined (GET /models: `digit_ensemble`)")
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
    confidence: float = Field(ge=0, le=1, description="probability of `digit`: the line model's share of it over the "
                                                      "columns it spans, or where the digit model's reading of its "
                                                      "own glyph changed it, that model's (calibrated) probability")
    box: list[int] = Field(min_length=4, max_length=4,
                           description="[x, y, w, h] in the upload's pixels (after EXIF orientation)")


class NumberMark(BaseModel):
    mark: Literal[",", ".", "-", ":", "+", "=", "(", ")"] = Field(
        description="',' or '.' written low between the digits, '-' a dash across their middle, ':' two dots "
                    "one over the other (a time), '+' and '=' across their middle, '(' and ')' a pair of "
                    "brackets")
    box: list[int] = Field(min_length=4, max_length=4,
                           description="[x, y, w, h] in the upload's pixels (after EXIF orientation)")


class NumberPrediction(BaseModel):
    number: str = Field(description="the digits read left to right (leading zeros kept), without any mark "
                                    "written among them", pattern=r"^[0-9]+$")
    text: str = Field(description="the line as written: `number` with each mark in `marks` where it stands "
                                  "among the digits (\"1,234\", \"3.14\", \"-5\", \"12:30\", \"+44\", \"(555)123\"); "
                                  "equal to `number` when there is none", pattern=r"^[0-9,.\-:+=()]+$")
    digits: list[NumberDigit]
    marks: list[NumberMark] = Field(description="marks written among the digits, left to right: not read "
                                                "as digits")
    confidence: float = Field(ge=0, le=1, description="calibrated probability that the whole string is right")
    model: ModelRef


class ErrorBody(BaseModel):
    detail: str = Field(description="what was wrong with the request")
    reason: Literal["no_ink", "not_a_digit", "several_digits", "several_lines"] | None = Field(
        None, description="only when the image is not what the route reads (one digit; for /predict/number, one "
                          "line of digits): why")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    draining: bool = Field(False, description="SIGTERM arrived: requests are still answered for DRAIN_S seconds, "
                                              "but the instance asks to be taken out of rotation")
    models: dict[str, str] = Field(description="per task: 'ready' or why it is unavailable")


class ModelCard(BaseModel):
    name: str
    task: str
    arch: str
    version: str
    sha256: str
    temperature: float
    runtime: str = Field(description="what runs the model: 'onnxruntime' (its ONNX export, CPU) or 'torch'")
    precision: str = Field(description="'int8' (an 8-bit ONNX export) or 'fp32'")
    device: str = Field(description="'cpu' or 'cuda'")
    fallback: str | None = Field(None, description="why the model runs on another runtime or precision than the "
                                 "one configured (an 8-bit export that failed its start check on this CPU, a "
                                 "stale or tampered export); null when it runs as configured")
    test_metrics: dict
    card: dict = Field(description="the full model card stored beside the checkpoint")


class ModelsList(BaseModel):
    models: list[ModelCard]
    unavailable: dict[str, str]
    number_reader: dict | None = Field(None, description="the number reader's card (models/number.json): the "
                                       "checkpoints it reads with, its confidence calibration, its test figures")
    digit_ensemble: dict | None = Field(None, description="the card of the digit route's combination of the digit "
                                        "model and the gate (models/ensemble.json): the checkpoints it was fitted "
                                        "for, its temperature, its figures; `error` says why it is not used")


# The Open Inference Protocol (KServe v2 REST): what app.api.v2 answers.
class ProtocolErrorBody(BaseModel):
    error: str = Field(description="what was wrong with the request")


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class ServerLiveness(BaseModel):
    live: bool


class ServerReadiness(BaseModel):
    ready: bool


class ModelReadiness(BaseModel):
    name: str
    ready: bool


class TensorMetadata(BaseModel):
    name: str
    datatype: str = Field(description="BOOL, INT64, FP32, BYTES, ...")
    shape: list[int] = Field(description="-1: any size (the number of items)")


class ModelMetadata(BaseModel):
    name: str
    versions: list[str] = Field(description="the version served: the checkpoint's sha256, first 12 hex digits")
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class RequestInput(BaseModel):
    name: str = Field(description="image (BYTES), pixels (FP32 or UINT8), number (INT64, sum only)")
    shape: list[int]
    datatype: str
    parameters: dict | None = Field(None, description='{"binary_data_size": n} for binary data; '
                                    '{"content_type": "base64"} for images in JSON')
    data: list | None = Field(None, description="row-major values (images: base64 strings); absent with binary data")


class RequestOutput(BaseModel):
    name: str
    parameters: dict | None = Field(None, description='{"binary_data": true} for raw output data')


IMAGE_FILE = {"contentMediaType": "application/octet-stream"}


class UploadBody(BaseModel):
    """multipart/form-data of the upload routes (read by the routes themselves, documented here)."""

    file: str = Field(description="the image: PNG, JPEG, HEIC, GIF, BMP, WebP, AVIF or TIFF", json_schema_extra=IMAGE_FILE)


class SumUploadBody(UploadBody):
    """multipart/form-data of POST /predict/sum."""

    number: int = Field(ge=0, le=9, description="an integer 0-9 to add to the digit")


class InferRequestBody(BaseModel):
    id: str | None = None
    parameters: dict | None = Field(None, description='{"binary_data_output": true}: every output as raw data')
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = Field(None, description="the outputs wanted (default: all)")


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict | None = Field(None, description='{"binary_data_size": n} when the data is raw, after the JSON')
    data: list | None = None


class InferResponseBody(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[ResponseOutput]
