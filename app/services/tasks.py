"""The task registry: what each predict route needs, written once and read by the predictor, the
routes, the page and /ready. Adding a task is one entry here plus its route and model."""

import re
from dataclasses import dataclass

LINE_GLYPHS = "digit"  # the model that reads each separate glyph of a line of digits, with the gate


@dataclass(frozen=True)
class TaskSpec:
    name: str
    model: str  # the network that answers it (see MODELS in app.ml.constants)
    title: str  # how the page names it
    pen: bool = True  # bring strokes to MNIST's width in preprocessing (not for averaged overlap pairs)
    gated: bool = False  # answer 422 (with a reason) unless the gate sees exactly one digit
    takes_number: bool = False  # needs the form field `number` (0-9)
    reads_line: bool = False  # a line of digits, read whole by `model`; each glyph also goes to the digit task's
    # unit (the digit model with the gate): whether it is a digit at all, and which (`app.ml.numbers.glyph_reading`)
    with_gate: bool = False  # answer with `model` and the gate's digits together (app.ml.ensemble), when fitted
    judges_one_pen: bool = False  # not gated, but an upload whose ink is one pen's (`Prepared.one_pen`: not two
    # digits averaged) is judged by the gate as the digit task judges one, and refused as it would be there

    @property
    def queue(self) -> str:
        """The batcher its 28x28 images queue in: a gated task's model runs with the gate as one unit
        (`app.services.models.GatedModel`), named "<model>+gate"; the number task's glyphs go to the digit
        task's."""
        if self.reads_line:
            return f"{LINE_GLYPHS}+gate"
        return f"{self.model}+gate" if self.gated else self.model


TASK_SPECS = {spec.name: spec for spec in (
    TaskSpec("digit", "digit", "Digit", gated=True, with_gate=True),
    TaskSpec("overlap", "overlap", "Overlap", pen=False, judges_one_pen=True),
    TaskSpec("sum", "sum", "Sum", gated=True, takes_number=True),
    TaskSpec("number", "line", "Number", reads_line=True),
)}


def models_needed(spec: TaskSpec) -> tuple[str, ...]:
    """The served models a task cannot answer without."""
    if spec.reads_line:
        return spec.model, "gate", LINE_GLYPHS
    return (spec.model, "gate") if spec.gated or spec.judges_one_pen else (spec.model,)


UPLOAD_ROUTES = {"/predict": "digit", "/predict/overlap": "overlap", "/predict/sum": "sum", "/predict/number": "number"}
V2_INFER = re.compile(r"^/v2/models/([^/]+)(?:/versions/[^/]+)?/infer$")


def queued_models(path: str) -> tuple[str, ...] | None:
    """The batchers a predict route's request queues in (None: not a predict route). An OIP v2 request
    that leaves out the gate's output queues in its model's own batcher instead (`v2.infer_outputs`)."""
    upload = UPLOAD_ROUTES.get(path)
    spec = TASK_SPECS[upload] if upload else TASK_SPECS.get(match.group(1)) if (match := V2_INFER.match(path)) else None
    if spec is None:
        return None
    if spec.judges_one_pen:
        return spec.queue, "gate"
    return (spec.queue, spec.model) if spec.gated and not upload else (spec.queue,)
