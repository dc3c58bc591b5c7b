"""The Open Inference Protocol (KServe v2 REST) on the wire: a request's tensors from its JSON (and
binary tensor data extension) body, and a response's body from named output tensors. NumPy only; what
the tensors mean to each model is `app.api.v2`'s business.

Binary tensor data extension: the body is a JSON header of `Inference-Header-Content-Length` bytes
followed by the raw data of every input whose `parameters` hold a `binary_data_size`, in input order.
Raw layouts: little-endian, row-major; BOOL one byte per element; BYTES each element as a 4-byte
little-endian length and its bytes.
"""

import json
import math
import struct
from dataclasses import dataclass, field

import numpy as np

DTYPES = {"BOOL": np.dtype(np.bool_), "UINT8": np.dtype("<u1"), "UINT16": np.dtype("<u2"), "UINT32": np.dtype("<u4"),
          "UINT64": np.dtype("<u8"), "INT8": np.dtype("<i1"), "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"),
          "INT64": np.dtype("<i8"), "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8")}
HEADER_LENGTH = "inference-header-content-length"


class ProtocolError(Exception):
    """A request the protocol cannot accept: answered `status` with {"error": message}."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def bad(message: str) -> ProtocolError:
    return ProtocolError(400, message)


@dataclass
class Tensor:
    name: str
    datatype: str
    shape: tuple[int, ...]
    data: np.ndarray | list[bytes]  # BYTES: one bytes object per element, row-major
    parameters: dict = field(default_factory=dict)
    in_json: bool = False  # the data came as JSON (BYTES then hold the JSON strings' UTF-8 bytes)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass
class InferRequest:
    id: str | None
    inputs: dict[str, Tensor]
    outputs: dict[str, bool] | None  # the outputs asked for -> binary or not (None: every output)
    binary_output: bool  # the request's default for outputs (parameters.binary_data_output)


def parse(body: bytes, header_length: str | None) -> InferRequest:
    """A v2 inference request from its body (and its Inference-Header-Content-Length). Raises ProtocolError."""
    head, binary = split(body, header_length)
    if not isinstance(head, dict):
        raise bad("the request must be a JSON object")
    inputs, offset = {}, 0
    raw_inputs = head.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise bad("`inputs` must be a non-empty list")
    for item in raw_inputs:
        tensor, used = read_input(item, binary, offset)
        if tensor.name in inputs:
            raise bad(f"input {tensor.name!r} is given twice")
        inputs[tensor.name], offset = tensor, offset + used
    if offset != len(binary):
        raise bad(f"the binary data holds {len(binary) - offset} bytes that no input's binary_data_size claims")
    params = object_of(head.get("parameters"), "parameters")
    binary_output = bool(params.get("binary_data_output", False))
    return InferRequest(text_or_none(head.get("id"), "id"), inputs, read_outputs(head.get("outputs"), binary_output),
                        binary_output)


def split(body: bytes, header_length: str | None) -> tuple[object, bytes]:
    if header_length is None:
        return load_json(body), b""
    try:
        n = int(header_length)
    except ValueError:
        raise bad("Inference-Header-Content-Length must be an integer") from None
    if not 0 < n <= len(body):
        raise bad(f"Inference-Header-Content-Length is {n} but the body has {len(body)} bytes")
    return load_json(body[:n]), body[n:]


def load_json(data: bytes) -> object:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"the request's JSON is malformed: {exc}") from None


def object_of(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad(f"`{what}` must be an object")
    return value


def text_or_none(value, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise bad(f"`{what}` must be a string")
    return value


def read_input(item, binary: bytes, offset: int) -> tuple[Tensor, int]:
    """One input tensor and how many bytes of the binary data it took."""
    if not isinstance(item, dict):
        raise bad("each input must be an object with name, shape, datatype and data")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise bad("an input has no `name`")
    datatype, shape = item.get("datatype"), item.get("shape")
    if datatype != "BYTES" and datatype not in DTYPES:
        raise bad(f"input {name!r}: unknown datatype {datatype!r}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise bad(f"input {name!r}: `shape` must be a list of non-negative integers")
    params = object_of(item.get("parameters"), f"{name}.parameters")
    size = params.get("binary_data_size")
    tensor = Tensor(name, datatype, tuple(shape), [], params)
    if size is None:
        if "data" not in item:
            raise bad(f"input {name!r} has neither `data` nor parameters.binary_data_size")
        tensor.data, tensor.in_json = from_json(tensor, item["data"]), True
        return tensor, 0
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise bad(f"input {name!r}: binary_data_size must be a non-negative integer")
    if offset + size > len(binary):
        raise bad(f"input {name!r}: binary_data_size {size} runs past the end of the body (truncated binary data?)")
    tensor.data = from_raw(tensor, binary[offset:offset + size])
    return tensor, size


def flatten(data) -> list:
    if not isinstance(data, list):
        return [data]
    out = []
    for v in data:
        out.extend(flatten(v) if isinstance(v, list) else [v])
    return out


def from_json(t: Tensor, data) -> np.ndarray | list[bytes]:
    values = flatten(data)
    if len(values) != t.size:
        raise bad(f"input {t.name!r}: shape {list(t.shape)} needs {t.size} elements, `data` has {len(values)}")
    if t.datatype == "BYTES":
        if not all(isinstance(v, str) for v in values):
            raise bad(f"input {t.name!r}: BYTES data in JSON must be strings")
        return [v.encode() for v in values]
    kind = bool if t.datatype == "BOOL" else (float if t.datatype.startswith("FP") else int)
    if not all(type(v) is kind or (kind is float and type(v) is int) for v in values):
        raise bad(f"input {t.name!r}: {t.datatype} data must be JSON {'booleans' if kind is bool else 'numbers'}")
    try:
        return np.array(values, dtype=DTYPES[t.datatype]).reshape(t.shape)
    except (OverflowError, ValueError):
        raise bad(f"input {t.name!r}: a value does not fit {t.datatype}") from None


def from_raw(t: Tensor, raw: bytes) -> np.ndarray | list[bytes]:
    if t.datatype == "BYTES":
        return unpack_bytes(t, raw)
    dtype = DTYPES[t.datatype]
    if len(raw) != t.size * dtype.itemsize:
        raise bad(f"input {t.name!r}: shape {list(t.shape)} of {t.datatype} needs {t.size * dtype.itemsize} bytes, "
                  f"got {len(raw)}")
    return np.frombuffer(raw, dtype=dtype).reshape(t.shape)


def unpack_bytes(t: Tensor, raw: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(raw):
        if i + 4 > len(raw):
            raise bad(f"input {t.name!r}: truncated BYTES element length")
        (n,) = struct.unpack_from("<I", raw, i)
        if i + 4 + n > len(raw):
            raise bad(f"input {t.name!r}: a BYTES element of {n} bytes runs past its binary data")
        out.append(raw[i + 4:i + 4 + n])
        i += 4 + n
    if len(out) != t.size:
        raise bad(f"input {t.name!r}: shape {list(t.shape)} needs {t.size} elements, the binary data holds {len(out)}")
    return out


def read_outputs(raw, binary_default: bool) -> dict[str, bool] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise bad("`outputs` must be a list")
    wanted = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise bad("each requested output must be an object with a `name`")
        params = object_of(item.get("parameters"), f"{item['name']}.parameters")
        wanted[item["name"]] = bool(params.get("binary_data", binary_default))
    return wanted


@dataclass
class Output:
    name: str
    datatype: str
    value: np.ndarray | list[str]  # BYTES: a flat list of strings, shape (N,)

    @property
    def shape(self) -> list[int]:
        return [len(self.value)] if isinstance(self.value, list) else list(self.value.shape)

    def json_data(self) -> list:
        return list(self.value) if isinstance(self.value, list) else self.value.reshape(-1).tolist()

    def raw(self) -> bytes:
        if isinstance(self.value, list):
            return b"".join(struct.pack("<I", len(b)) + b for b in (v.encode() for v in self.value))
        return np.ascontiguousarray(self.value, dtype=DTYPES[self.datatype]).tobytes()


def encode(model: str, version: str, request_id: str | None, outputs: list[Output],
           binary: dict[str, bool]) -> tuple[bytes, dict[str, str]]:
    """A response body and its headers; outputs named in `binary` with True travel as raw data."""
    tensors, blobs = [], []
    for out in outputs:
        tensor = {"name": out.name, "datatype": out.datatype, "shape": out.shape}
        if binary.get(out.name):
            blobs.append(out.raw())
            tensor["parameters"] = {"binary_data_size": len(blobs[-1])}
        else:
            tensor["data"] = out.json_data()
        tensors.append(tensor)
    head = {"model_name": model, "model_version": version, **({"id": request_id} if request_id else {}),
            "outputs": tensors}
    header = json.dumps(head).encode()
    if not blobs:
        return header, {"content-type": "application/json"}
    return header + b"".join(blobs), {"content-type": "application/octet-stream",
                                      "inference-header-content-length": str(len(header))}
