"""Dockerfile, compose, App Engine and Cloud Run files: linted, parsed by real parsers, consistent with the app."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APP_PATHS = {"/health", "/ready", "/predict", "/predict/overlap", "/predict/sum", "/models", "/metrics", "/"}


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_passes_hadolint_without_warnings():
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    result = subprocess.run([hadolint, "--format", "json", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert json.loads(result.stdout or "[]") == [] and result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_with_port_healthcheck_and_exec_command():
    text = dockerfile()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^EXPOSE 8080$", text, re.M)
    assert re.search(r"PORT=8080", text)
    assert re.search(r"^HEALTHCHECK .*", text, re.M) and "/health" in text
    cmd = re.findall(r"^CMD (.*)$", text, re.M)[-1]
    assert json.loads(cmd) == ["python", "-m", "app"], "exec form, so SIGTERM reaches the server"
    assert "ARG TORCH_FLAVOUR" in text and "cpu" in text


def test_port_defaults_to_8080_and_follows_the_environment(monkeypatch):
    from app.core.config import Settings

    monkeypatch.delenv("PORT", raising=False)
    assert Settings().port == 8080
    monkeypatch.setenv("PORT", "9123")
    assert Settings().port == 9123


def test_dockerignore_keeps_data_tests_and_training_out():
    lines = (ROOT / ".dockerignore").read_text().split()
    shipped = {"!app/", "!models/", "!requirements-serve.txt", "!requirements-torch.txt"}
    assert lines[lines.index("*")] == "*" and shipped <= set(lines)
    assert not any(line.startswith("!") and line.strip("!/") in ("data", "tests", "training", "reports") for line in lines)


def check_compose(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True)


def test_compose_file_validates_against_the_compose_specification(tmp_path):
    result = check_compose(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    broken["services"]["digitserve"]["deploy"]["resources"]["reservations"]["devices"] = "all the gpus"
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    assert check_compose(tmp_path / "broken.yml").returncode != 0, "the validator must catch a wrong type"


def test_compose_has_gpu_reservation_healthcheck_readonly_models_and_a_cpu_variant():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    gpu = compose["services"]["digitserve"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "/ready" in " ".join(gpu["healthcheck"]["test"]) or "/health" in " ".join(gpu["healthcheck"]["test"])
    assert "./models:/srv/models:ro" in gpu["volumes"]
    assert gpu["restart"] == "unless-stopped" and gpu["ports"] == ["${HOST_PORT:-8080}:${CONTAINER_PORT:-8080}"]
    cpu = compose["services"]["digitserve-cpu"]
    assert cpu["profiles"] == ["cpu"] and "deploy" not in cpu and cpu["build"]["args"]["TORCH_FLAVOUR"] == "cpu"


def test_app_engine_file_uses_the_custom_runtime_and_real_health_routes():
    app_yaml = yaml.safe_load((ROOT / "app.yaml").read_text())
    assert app_yaml["runtime"] == "custom" and app_yaml["env"] == "flex"
    assert app_yaml["liveness_check"]["path"] in APP_PATHS and app_yaml["readiness_check"]["path"] == "/ready"
    assert app_yaml["resources"]["cpu"] >= 1 and app_yaml["resources"]["memory_gb"] >= 2


@pytest.mark.parametrize("name", ["service.yaml", "service-gpu.yaml"])
def test_cloud_run_files_have_probes_on_real_routes(name):
    svc = yaml.safe_load((ROOT / name).read_text())
    assert svc["apiVersion"] == "serving.knative.dev/v1" and svc["kind"] == "Service"
    spec = svc["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["ports"][0]["containerPort"] == 8080
    assert container["startupProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert spec["containerConcurrency"] >= 1
    if name == "service-gpu.yaml":
        limits = container["resources"]["limits"]
        assert spec["nodeSelector"]["run.googleapis.com/accelerator"] == "nvidia-l4"
        assert limits["nvidia.com/gpu"] == "1" and int(limits["cpu"]) >= 4 and int(limits["memory"].rstrip("Gi")) >= 16
        assert svc["spec"]["template"]["metadata"]["annotations"]["run.googleapis.com/cpu-throttling"] == "false"


def test_probe_paths_exist_in_the_app():
    from app.main import create_app

    paths = set(create_app().openapi()["paths"])
    assert {"/health", "/ready"} <= paths
