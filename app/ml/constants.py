"""Constants that training and serving must agree on. Written once, imported everywhere."""

TASKS = ("digit", "overlap", "sum")
# The trained networks: one per task above, plus the gate that says whether an upload is one digit,
# all served through micro-batchers of 28x28 images; and the line model that reads a line of digits
# (a strip of any width, one line per call).
BATCHED = TASKS + ("gate",)
MODELS = BATCHED + ("line",)
# Also exported in 8 bits for CPU serving (`training.export.quantize`): the models every digit image
# passes through, where CPU per image bounds throughput.
INT8_TASKS = ("digit", "gate")

IMAGE_SIZE = 28
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

DIGITS = tuple(range(10))
SUMS = tuple(range(19))

# Overlap targets decoded jointly: every unordered set of one or two digits.
# (i, i) stands for the single-digit set {i}: both averaged digits were the same.
DIGIT_SETS = tuple((i, j) for i in range(10) for j in range(i, 10))

# The gate's classes: one digit (0-9), or why the image is not one digit (the API's `reason`).
REJECT_REASONS = ("not_a_digit", "several_digits")
GATE_CLASSES = tuple(str(d) for d in DIGITS) + REJECT_REASONS

# The served computation's interface (`app.ml.scorer.Scorer` and its ONNX export), by task.
SCORER_INPUTS = {"digit": ["images"], "overlap": ["images"], "sum": ["images", "numbers"], "gate": ["images"],
                 "line": ["images"]}
SCORER_OUTPUTS = {"digit": ["probabilities"], "overlap": ["probabilities"],
                  "sum": ["probabilities", "sum_probabilities"], "gate": ["probabilities"],
                  "line": ["log_probabilities"]}
# Axes of variable size in the exported graphs besides the batch: a line's width and its frames.
DYNAMIC_AXES = {"line": {"images": {2: "width"}, "log_probabilities": {1: "frames"}}}


def normalize(x01, mean: float = MNIST_MEAN, std: float = MNIST_STD):
    """Map images in [0, 1] (MNIST: white ink on black) to the network's input scale."""
    return (x01 - mean) / std
