"""The path of one prediction: upload bytes -> preprocessing (in a thread) -> the models' batchers.

What a task needs comes from its entry in the task registry (`app.services.tasks.TASK_SPECS`): gated
tasks ask the gate whether the image is one digit in the same batch as their own model (one queue,
`app.services.models.GatedModel`, which also combines the digit model with the gate); the overlap task
asks it only about an upload whose ink is one pen's, not two digits averaged, or looks averaged but lies in
pieces apart (`Predictor.judged`); the
number task reads a line of digits whole with the line model (in the pool), while the gate scores each glyph.
"""

import asyncio
import dataclasses
import logging
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from app.core.telemetry import Telemetry
from app.ml import lines, numbers
from app.ml.ink import filled_shape, flat_stroke, straight_stroke, upright_stroke
from app.ml.preprocess import InputError, Prepared, is_page_photo, prepare
from app.services.batcher import InferenceFailed, MicroBatcher, Overloaded
from app.services.models import ServedModel
from app.services.tasks import TASK_SPECS, TaskSpec, models_needed

log = logging.getLogger("digitserve.predictor")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INLINE_MAX_SIDE = 64
NUMBER_ROUTE = "POST /predict/number (or the page's Number mode)"
SCATTERED_NOT = 0.95  # an overlap upload that looks averaged but lies in pieces apart (`Prepared.scattered`) is
# refused at this P(not one digit) of the gate on it whole. The lowest of 0.5-0.99 refusing at most 1 of 300
# (or 0.5%) of each set of MNIST validation pairs (1,000 as 28x28 PNGs, 300 each as a phone photo, two canvases
# and a scan: 0 / 1 / 0 / 0 / 0; 0.9 refused 2 photos); training.negatives' photos of nothing: 94 of 358 that
# looked averaged (0.9: 155)


def is_small_png(data: bytes) -> bool:
    """A PNG whose header declares at most 64x64 pixels (bounded work whatever the rest holds)."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return False
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 0 < width <= INLINE_MAX_SIDE and 0 < height <= INLINE_MAX_SIDE


class ModelUnavailable(Exception):
    def __init__(self, model: str, reason: str):
        super().__init__(f"model {model!r} is unavailable: {reason}")


def not_one_digit(reason: str, p_reject: float | None = None, page_photo: bool = False) -> InputError:
    """The 422 for an image that is not one digit, naming why and what to do instead. `page_photo`: the
    upload is a camera-sized photo (`preprocess.is_page_photo`), where a digit written small on a page
    photographed from afar may be what was refused: the detail says how to send it."""
    if reason == "several_digits":
        return InputError(422, f"the image holds several digits; to read a whole number use {NUMBER_ROUTE}", reason)
    sure = f" (P = {p_reject:.2f})" if p_reject is not None else ""
    crop = "; a digit written small on a page photographed from afar is read best from a photo cropped close to it"
    return InputError(422, f"the image does not look like a handwritten digit{sure}; send one digit 0-9"
                           f"{crop if page_photo else ''}", reason)


def not_overlapped_digits(reason: str, p_reject: float | None = None) -> InputError:
    """The overlap route's 422 for an upload of one pen's ink that is not one digit (`Predictor.judged`)."""
    if reason == "several_digits":
        return InputError(422, "the image holds several digits side by side; this route reads two digits averaged "
                               f"into one image (overlapped); to read a whole number use {NUMBER_ROUTE}", reason)
    sure = f" (P = {p_reject:.2f})" if p_reject is not None else ""
    return InputError(422, f"the image does not look like a handwritten digit, nor like two digits averaged into one "
                           f"image{sure}; send one digit, or two digits averaged pixel-wise (two drawn over each other "
                           "with one pen are not what this route reads)", reason)


def judges(spec: TaskSpec, prepared: Prepared) -> bool:
    """Whether the gate judges an upload to a task that judges one pen's ink (`Predictor.judged`)."""
    return spec.judges_one_pen and (prepared.one_pen is not None or prepared.scattered)


def refusal(spec: TaskSpec, glyphs: int, image: np.ndarray, verdict: dict | None, filled: bool = False) -> str | None:
    """Why a gated task refuses an image (None: it answers): several pieces of ink, or the gate's
    verdict (when it was asked), except that a lone upright stroke is a 1 whatever the gate says and
    ink flatter than any digit (a dash) or holding a filled area after the pen's normalization
    (`filled`: a face, a dark object) is not one whatever it says."""
    if not spec.gated:
        return None
    if glyphs > 1:
        return "several_digits"
    if verdict is None:
        return None
    if filled:
        return "not_a_digit"
    reason = verdict["reason"]
    if reason is None and flat_stroke(image):
        return "not_a_digit"
    if reason == "not_a_digit" and upright_stroke(image):
        return None
    return reason


@dataclass
class Predictor:
    models: dict[str, ServedModel]
    errors: dict[str, str]
    batchers: dict[str, MicroBatcher]
    executor: Executor
    max_pixels: int
    telemetry: Telemetry
    number_card: dict | None = None  # models/number.json, see app.ml.numbers.read_number_card
    number_calibration: numbers.Calibration = numbers.Calibration()  # the string confidence's, from that card
    ensemble_card: dict | None = None  # models/ensemble.json (read_ensemble_card); the ensemble runs in GatedModel

    async def prepare(self, data: bytes, pen: bool = True) -> Prepared:
        """Small PNGs (the common API case, e.g. 28x28) are prepared inline: that takes tens of
        microseconds, less than a hop to the thread pool. Anything else runs in the pool."""
        if is_small_png(data):
            return prepare(data, self.max_pixels, pen)
        return await self.in_pool(prepare, data, self.max_pixels, pen)

    def check_available(self, spec: TaskSpec) -> None:
        for name in models_needed(spec):
            if name not in self.models:
                raise ModelUnavailable(name, self.errors.get(name, "not loaded"))

    async def submit(self, queue: str, image: np.ndarray, number: int | None = None):
        """One image through batcher `queue` (a model's, or a gated task's "<model>+gate")."""
        try:
            return await self.batchers[queue].submit(image, number)
        except Overloaded:
            self.telemetry.shed.labels(queue).inc()
            raise

    async def submit_many(self, queue: str, images: np.ndarray, numbers: np.ndarray | None = None) -> list:
        try:
            return await self.batchers[queue].submit_many(images, numbers)
        except Overloaded:
            self.telemetry.shed.labels(queue).inc()
            raise

    async def predict(self, task: str, data: bytes, number: int | None = None) -> tuple[dict, Prepared, ServedModel]:
        """Prepare, ask the task's model (and the gate), count the answer or the refusal."""
        spec = TASK_SPECS[task]
        self.check_available(spec)
        prepared = await self.prepare(data, spec.pen)
        if spec.gated and prepared.glyphs > 1:
            reason = await self.settled(spec, prepared, "several_digits")
            self.count(task, None, reason)
            raise not_one_digit(reason)
        if judges(spec, prepared):  # the model and the gate side by side
            answer, (judged, p_judged) = await asyncio.gather(self.submit(spec.queue, prepared.image, number),
                                                             self.judged(spec, prepared))
        else:
            answer, judged, p_judged = await self.submit(spec.queue, prepared.image, number), None, None
        result, verdict = answer if spec.gated else (answer, None)
        reason = refusal(spec, prepared.glyphs, prepared.image, verdict, prepared.filled)
        reason = await self.settled(spec, prepared, reason)
        self.count(task, result, reason or judged)
        if reason:
            raise not_one_digit(reason, verdict["p_reject"] if verdict["reason"] == reason else None,
                                is_page_photo(prepared.width, prepared.height))
        if judged:
            raise not_overlapped_digits(judged, p_judged)
        return result, prepared, self.models[spec.model]

    async def prepare_many(self, task: str, uploads: list[bytes]) -> list[Prepared | None]:
        """Each upload prepared as `predict` prepares one; None for one without ink. Any other
        problem (not an image, too many pixels) fails the request, naming the item."""
        spec = TASK_SPECS[task]

        async def one(i: int, data: bytes) -> Prepared | None:
            try:
                return await self.prepare(data, spec.pen)
            except InputError as exc:
                if exc.reason == "no_ink":
                    return None
                raise InputError(exc.status, f"item {i}: {exc.message}") from None

        return list(await asyncio.gather(*(one(i, d) for i, d in enumerate(uploads))))

    async def predict_many(self, task: str, prepared: list[Prepared], numbers: np.ndarray | None = None,
                           gate: bool = True) -> list[tuple[dict, str | None]]:
        """N prepared uploads through the task's model (and the gate) as N items of its batcher: per
        upload, the model's answer and why the service refuses to vouch for it (None: it does), by the
        rule `predict` applies. `gate=False` (a caller that does not want the refusals) skips the gate's
        forward passes: refusals are then only ever "several_digits"."""
        spec = TASK_SPECS[task]
        self.check_available(spec)
        images = np.stack([p.image for p in prepared])
        if spec.gated and gate:
            pairs = await self.submit_many(spec.queue, images, numbers)
            results, verdicts = [result for result, _ in pairs], [verdict for _, verdict in pairs]
        else:
            results = await self.submit_many(spec.model, images, numbers)
            verdicts = [None] * len(results)
        reasons = [refusal(spec, p.glyphs, p.image, v, p.filled) for p, v in zip(prepared, verdicts)]
        if spec.gated and gate:
            reasons = await asyncio.gather(*(self.settled(spec, p, r) for p, r in zip(prepared, reasons)))
        if spec.judges_one_pen and gate:
            reasons = [judged for judged, _ in await asyncio.gather(*(self.judged(spec, p) for p in prepared))]
        for result, reason in zip(results, reasons):
            self.count(task, result, reason)
        return list(zip(results, reasons))

    async def settled(self, spec: TaskSpec, prepared: Prepared, reason: str | None) -> str | None:
        """Why a gated task refuses an upload of several pieces of writing side by side (`Prepared.pieces`),
        from the gate's verdict on each piece alone; `reason` (`refusal`'s) for any other upload.

        Several glyphs (pieces apart): "several_digits" (a number: the detail names the number route),
        unless the gate holds the pieces to be writing that is not digits by the number route's rule
        (`numbers.refused_line`: a word). One glyph of pieces close together, which the gate refused
        whole as not a digit: "several_digits" when each piece alone is one digit (a typed number) and
        not every one a straight stroke (a hatch's lines)."""
        pieces = prepared.pieces
        if not spec.gated or not pieces or not (prepared.glyphs > 1 or reason == "not_a_digit"):
            return reason
        verdicts = await self.submit_many("gate", np.stack(pieces))
        filled = [filled_shape(x) for x in pieces]
        if prepared.glyphs > 1:
            words = numbers.refused_line([v["p_not_a_digit"] for v in verdicts], filled)
            return "several_digits" if words is None else "not_a_digit"
        alone = [refusal(spec, 1, x, v, f) for x, v, f in zip(pieces, verdicts, filled)]
        strokes = all(straight_stroke(x) for x in pieces)  # a hatch's or a barcode's lines, each a 1 alone
        return "several_digits" if not any(alone) and not strokes else reason

    async def judged(self, spec: TaskSpec, prepared: Prepared) -> tuple[str | None, float | None]:
        """For a task that judges one pen's ink (`TaskSpec.judges_one_pen`: the overlap task), why it refuses
        an upload whose ink is one pen's (`Prepared.one_pen`, not two digits averaged): what /predict would
        refuse that input for (`refusal`, `settled`: not a digit, several digits side by side), with the
        gate's P(not one digit) when its verdict is why; or one that looks averaged but lies in pieces apart
        (`Prepared.scattered`): "not_a_digit" when the gate holds it whole not a digit at SCATTERED_NOT.
        (None, None): not judged, or one digit (or two overlapped)."""
        if not judges(spec, prepared):
            return None, None
        if prepared.one_pen is None:
            p_reject = (await self.submit("gate", prepared.image))["p_reject"]
            return ("not_a_digit", p_reject) if p_reject >= SCATTERED_NOT else (None, None)
        digit = TASK_SPECS["digit"]
        one_pen = dataclasses.replace(prepared, image=prepared.one_pen, filled=filled_shape(prepared.one_pen))
        if prepared.glyphs > 1:
            return await self.settled(digit, one_pen, "several_digits"), None
        verdict = await self.submit("gate", one_pen.image)
        reason = await self.settled(digit, one_pen, refusal(digit, 1, one_pen.image, verdict, one_pen.filled))
        return reason, verdict["p_reject"] if reason and verdict["reason"] == reason else None

    async def read_number(self, data: bytes) -> tuple[dict, numbers.Line, ServedModel]:
        """A line of digits: the line model reads it (in the pool) while the digit model and the gate
        read each glyph. `result["inputs"]`: a 28x28 picture of each digit read, as the line model saw it."""
        spec = TASK_SPECS["number"]
        self.check_available(spec)
        model = self.models[spec.model]
        try:
            line, images, filled, barred = await self.in_pool(self.line_and_glyphs, data)
        except numbers.SeveralLines as exc:
            pairs = await self.submit_many(spec.queue, np.stack(exc.pieces)) if exc.pieces else []
            if numbers.no_digit_in([verdict["p_not_a_digit"] for _, verdict in pairs]):
                raise numbers.no_digit() from None
            raise
        log_probs, pairs = await asyncio.gather(self.in_pool(self.read_strips, model, line.views),
                                                asyncio.gather(*(self.submit(spec.queue, x) for x in images)))
        result = numbers.assemble(line, log_probs, [verdict["p_not_a_digit"] for _, verdict in pairs],
                                  self.number_calibration, filled, barred,
                                  [np.asarray(glyph["probabilities"]) for glyph, _ in pairs])
        self.telemetry.predictions.labels("number", str(len(result["digits"]))).inc()
        return result, line, model

    async def read_numbers(self, uploads: list[bytes]) -> list[tuple[dict | None, str]]:
        """Several lines, each read as `read_number` reads one: (its answer, "") or (None, why it has no
        digit to read). Any other problem fails the request, naming the item."""
        async def one(i: int, data: bytes) -> tuple[dict | None, str]:
            try:
                return (await self.read_number(data))[0], ""
            except InputError as exc:
                if exc.reason:
                    return None, exc.reason
                raise InputError(exc.status, f"item {i}: {exc.message}") from None

        return list(await asyncio.gather(*(one(i, d) for i, d in enumerate(uploads))))

    @staticmethod
    def read_strips(model: ServedModel, strips: list[lines.Strip]) -> list[np.ndarray]:
        try:
            return [model.read_strip(strip.image) for strip in strips]
        except Exception as exc:  # the runtime failed (out of memory, a lost device): the server's fault
            log.exception("the line model failed on strips of %s", [s.image.shape for s in strips])
            raise InferenceFailed(f"{type(exc).__name__}: {exc}") from exc

    def line_and_glyphs(self, data: bytes) -> tuple[numbers.Line, list[np.ndarray], list[bool], bool]:
        """The line, each glyph as the gate's input, whether that input holds a filled area, and whether
        the glyphs are a barcode's bars (`numbers.bars`)."""
        line = numbers.read_line(data, self.max_pixels)
        images = numbers.glyph_inputs(line)
        return line, images, [filled_shape(x) for x in images], numbers.bars(line, images)

    def count(self, task: str, result: dict | None, reason: str | None) -> None:
        """One answer in the predictions counter: its refusal's reason, or what it answered."""
        if reason:
            answer = reason
        elif task == "overlap":
            answer = "+".join(map(str, result["digits"]))
        else:
            answer = result.get("sum", result.get("digit"))
        self.telemetry.predictions.labels(task, str(answer)).inc()

    async def in_pool(self, fn, *args):
        """CPU-bound work for a request (preprocessing, a page thumbnail) in the preprocessing pool."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


__all__ = ["InputError", "ModelUnavailable", "Predictor"]
