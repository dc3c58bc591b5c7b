"""Image-making helpers for the tests: MNIST arrays to upload bytes in various formats."""

import io

import numpy as np
from PIL import Image


def png(array_u8: np.ndarray, mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array_u8, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def png16(array01: np.ndarray) -> bytes:
    """A 16-bit grayscale PNG: keeps float inputs such as averaged overlap pairs nearly exact."""
    buf = io.BytesIO()
    Image.fromarray(np.round(array01 * 65535).astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()
