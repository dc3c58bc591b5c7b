# syntax=docker/dockerfile:1
# digitserve image. Build flavours (TORCH_FLAVOUR):
#   cu130 (default)  torch 2.14.1 from PyPI, CUDA 13.0 runtime inside the wheels: NVIDIA driver >= 580
#   cu126            torch 2.14.1+cu126 from the PyTorch index: driver >= 525 (Cloud Run's L4 runs 535)
#   cpu              no torch: the models' ONNX exports in ONNX Runtime only; CPU hosts and CPU Cloud
#                    Run, a far smaller image
# Every flavour serves on CPU with ONNX Runtime; the CUDA ones run the models in torch on a GPU. The
# CUDA runtime, cuDNN and cuBLAS come inside the torch wheels, so the base is a slim Python; the
# host only needs the NVIDIA driver and the NVIDIA Container Toolkit.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_FLAVOUR=cu130
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# binutils for `strip` below, in this stage only (whichever the base's Debian release has: nothing of it
# reaches the runtime stage)
# hadolint ignore=DL3008
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils >/dev/null \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements-serve.txt requirements-torch.txt /tmp/
RUN case "$TORCH_FLAVOUR" in \
        cpu) ;; \
        cu130) pip install -r /tmp/requirements-torch.txt ;; \
        *) pip install -r /tmp/requirements-torch.txt --index-url "https://download.pytorch.org/whl/${TORCH_FLAVOUR}" ;; \
    esac \
    && pip install -r /tmp/requirements-serve.txt \
    && site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
    # Leave out what the service never imports (~140 MB of what would be a CPU image's ~370 MB): the installers,
    # test suites, the SciPy subpackages but ndimage (and special and fft, which it loads), and ONNX
    # Runtime's C library for C/C++ callers (35 MB; the Python module carries its own copy) and its
    # offline tools (quantization and transformer optimizers). The image tests
    # (tests/deploy/test_image.py) run every route in the built image.
    && rm -rf "$site/pip" "$site/setuptools" "$site/pkg_resources" "$site/_distutils_hack" "$site/distutils-precedence.pth" \
    && rm -rf "$site"/onnxruntime/capi/libonnxruntime.so* "$site/onnxruntime/quantization" "$site/onnxruntime/tools" \
       "$site/onnxruntime/transformers" \
    && find "$site/scipy" -mindepth 1 -maxdepth 1 -type d ! -name _lib ! -name ndimage ! -name special ! -name fft \
         -exec rm -rf {} + \
    && find "$site" -path "$site/torch" -prune -o -type d -name tests -prune -exec rm -rf {} + \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
    # Debug symbols out of the Python extension modules that wheels ship unstripped (uvloop's 13 MB
    # loop module is 1.6 MB stripped, Pillow's 3.3 MB is 0.8 MB). Only the modules: the libraries that
    # auditwheel vendored into *.libs/ were rewritten by patchelf, and strip breaks those (numpy's
    # OpenBLAS then fails to load); torch's are left as they come.
    && find "$site" -path "$site/torch" -prune -o -path "$site/nvidia" -prune -o -type f -name '*.cpython-*.so' \
         -exec strip --strip-unneeded {} +

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="digitserve" \
      org.opencontainers.image.description="Handwritten-digit inference service (FastAPI; ONNX Runtime on CPU, PyTorch on CUDA)"
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home app
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
COPY --chown=app:app app/ app/
COPY --chown=app:app models/ models/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080 \
    MODEL_DIR=/srv/models \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2)"]
CMD ["python", "-m", "app"]
