"""The web page: GET / shows it; POST / answers a plain form upload (no JavaScript needed);
POST /ui/predict is what the page's JavaScript calls for live results (JSON plus the 28x28 preview)."""

import base64
import io
import math
from pathlib import Path

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from PIL import Image, ImageOps

from app.api.errors import REQUEST_ERRORS, problem
from app.api.routes import digit_number, one_file
from app.ml.preprocess import InputError, decode, is_heic, to_gray, to_png
from app.services.predictor import Predictor
from app.services.tasks import TASK_SPECS

router = APIRouter(include_in_schema=False)
# The example uploads under static/examples/ that the page offers (written, with the README's, by
# `python -m support.examples`): (file name, the task it is read with, the link's text).
PAGE_EXAMPLES = (("photo.jpg", "digit", "a photo of a 3"), ("pair.png", "overlap", "two overlapped digits"),
                 ("number.jpg", "number", "a number on ruled paper"), ("letter-A.png", "digit", "a letter"))
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")  # autoescape on for .html
CANVAS_PEN = 20  # the drawing area's pen, in canvas pixels (the canvas is 280 px tall)
UPLOAD_PEN_SHARE = 0.12  # a drawing is uploaded redrawn with a pen this share of its size (`upload_pen`)
FIGURE_ZOOM = 0.6  # the boxes figure zooms to the writing when that, with its margin, is under this share of a side
FIGURE_ASPECT = 3  # ... keeping the zoomed region at most this many times wider than tall


def upload_pen(extent: float) -> int:
    """The pen (px) the page redraws a drawing with before it uploads it: 12% of the drawing's extent
    (its larger side; in Number mode its height, a line being many digits wide), as MNIST's strokes are
    ~2.7 of its 20-px box, at least 2 px, never wider than the canvas pen. A small digit drawn with the
    canvas pen is a blob whose loops have filled up, which no processing of the image can open again;
    the page knows the strokes, so it sends them redrawn. app.js computes the same from the two numbers
    the page hands it (`data-pen`, `data-pen-share`)."""
    return min(CANVAS_PEN, max(2, math.floor(UPLOAD_PEN_SHARE * extent + 0.5)))  # JavaScript's Math.round


def figure_region(boxes: list[list[int]], width: int, height: int) -> list[int]:
    """The part of the image (x, y, w, h) that the Number mode's figure of boxes shows: the writing with a
    margin of its height (at least 5% of the image's larger side) around it, when that is under
    FIGURE_ZOOM of both sides (a number written small on a 12 MP photo: boxes and labels at full-image
    scale would be a few screen pixels tall and run into each other); else the whole image."""
    if not boxes:
        return [0, 0, width, height]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    margin = max(y1 - y0, 0.05 * max(width, height))
    rise = max(0.0, ((x1 - x0 + 2 * margin) / FIGURE_ASPECT - (y1 - y0 + 2 * margin)) / 2)
    left, right = max(0, x0 - margin), min(width, x1 + margin)
    top, bottom = max(0, y0 - margin - rise), min(height, y1 + margin + rise)
    if right - left >= FIGURE_ZOOM * width or bottom - top >= FIGURE_ZOOM * height:
        return [0, 0, width, height]
    return [int(left), int(top), math.ceil(right - left), math.ceil(bottom - top)]


def page_context(view: dict) -> dict:
    return {"view": view, "tasks": TASK_SPECS, "examples": PAGE_EXAMPLES,
            "pen": {"width": CANVAS_PEN, "share": UPLOAD_PEN_SHARE}}


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def thumbnail(data: bytes, max_pixels: int) -> str:
    """The upload as the page shows it: 280 px at most, EXIF-oriented."""
    decoded = decode(data, max_pixels)
    try:
        img = ImageOps.exif_transpose(decoded)
        img.thumbnail((280, 280))
    except ValueError:  # a mode Pillow cannot resize (16- and 32-bit gray, LAB): shown in gray, as the model's input is made
        img = Image.fromarray(np.round(to_gray(decoded) * 255).astype(np.uint8))
        img.thumbnail((280, 280))
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = img.convert("RGBA")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return data_uri(buf.getvalue())


async def form_prediction(request: Request, with_thumbnail: bool) -> tuple[int, dict]:
    """Parse task/file/number from the form and predict. Returns (status, view)."""
    form = await request.form()
    task = str(form.get("task", "digit"))
    view = {"task": task if task in TASK_SPECS else "digit", "number": form.get("number", "")}
    if task not in TASK_SPECS:
        return 422, {**view, "error": f"unknown task {task!r}"}
    try:
        upload = one_file(form)
        number = digit_number(form.get("number")) if TASK_SPECS[task].takes_number else None
    except InputError as exc:
        return exc.status, {**view, "error": exc.message}
    data = await upload.read()
    view["filename"] = upload.filename or "upload"
    predictor: Predictor = request.app.state.predictor
    try:
        if TASK_SPECS[task].reads_line:
            result, line, model = await predictor.read_number(data)
        else:
            result, line, model = await predictor.predict(task, data, number)
    except REQUEST_ERRORS as exc:  # the API's mapping: the same status and message as /predict would give
        p = problem(exc)
        return p.status, {**view, "error": p.message, "reason": p.extra.get("reason")}
    inputs = result.pop("inputs", None)
    previews = [data_uri(to_png(x)) for x in inputs] if inputs is not None else [data_uri(to_png(line.image))]
    boxes = [d["box"] for d in result["digits"]] if TASK_SPECS[task].reads_line else []  # overlap's digits are ints
    view.update(result=result, model=model.ref, preview=previews[0], previews=previews, width=line.width,
                height=line.height, upload_size=f"{line.width}x{line.height}", inverted=line.inverted,
                figure=figure_region(boxes, line.width, line.height))
    # The server-rendered page shows a thumbnail; the live page shows the file itself, except HEIC, which
    # most browsers cannot display (Chrome, Firefox). Decoding a large upload stays off the loop.
    if with_thumbnail or is_heic(data):
        view["uploaded"] = await predictor.in_pool(thumbnail, data, predictor.max_pixels)
    return 200, view


@router.get("/", response_class=HTMLResponse)
async def page(request: Request):
    return templates.TemplateResponse(request, "index.html", page_context({"task": "digit"}))


@router.post("/", response_class=HTMLResponse)
async def page_upload(request: Request):
    status, view = await form_prediction(request, with_thumbnail=True)
    return templates.TemplateResponse(request, "index.html", page_context(view), status_code=status)


@router.post("/ui/predict")
async def ui_predict(request: Request):
    status, view = await form_prediction(request, with_thumbnail=False)
    return JSONResponse(view, status_code=status)
