# digitserve: `make serve` serves the shipped checkpoints, `make test` runs every test.
# Both create .venv on first use. Python 3.11+ is expected as python3.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-serve.txt requirements-torch.txt requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
SERVE_STAMP := $(VENV)/.serve-$(shell cat requirements-serve.txt | cksum | cut -d' ' -f1)
PORT ?= 8080

.PHONY: venv serve-venv system-deps test lint serve train onnx evaluate bench bench-gpu image-test image-test-cuda clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Serving on CPU needs only requirements-serve.txt (ONNX Runtime, no torch): `make serve` installs
# just that; the tests and training add the rest (torch, the test tools) to the same .venv.
$(SERVE_STAMP): requirements-serve.txt | $(PY)
	test -e $(STAMP) || $(PY) -m pip install --quiet -r requirements-serve.txt
	rm -f $(VENV)/.serve-*
	touch $@

$(STAMP): requirements-serve.txt requirements-torch.txt requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

serve-venv: $(SERVE_STAMP)
venv: $(STAMP)

# Tests drive Debian's Chromium (browser tests) and `hey` (load tests); install them when missing.
system-deps:
	@command -v chromium >/dev/null 2>&1 && command -v hey >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium hey; \
	  else echo "missing: run 'sudo apt-get install chromium hey' (Debian/Ubuntu)"; exit 1; fi; }

test: venv system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check .

serve: serve-venv
	PORT=$(PORT) $(PY) -m app

train: venv
	PYTHON=$(PY) bash training/train_all.sh
	$(PY) -m training.evaluate

# ONNX exports of the shipped checkpoints, which the service runs on CPU (train.py writes them too).
onnx: venv
	$(PY) -m training.export

evaluate: venv
	$(PY) -m training.evaluate

bench: venv system-deps
	$(PY) -m bench

# On a CUDA machine: DEVICE=cuda's answers against the CPU path, the model alone, HTTP, training
# times -> reports/gpu.json (issue #16). `python -m bench.gpu --quick --device cpu` smoke-tests it anywhere.
bench-gpu: venv system-deps
	$(PY) -m bench.gpu

# The image tests alone (they also run in `make test` when a Docker daemon answers): the cpu flavour,
# or the cu130 one (a ~6 GB image; it serves on CPU here the same way).
image-test: venv
	$(PY) -m pytest -s tests/deploy/test_image.py

image-test-cuda: venv
	IMAGE_FLAVOUR=cu130 $(PY) -m pytest -s tests/deploy/test_image.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
