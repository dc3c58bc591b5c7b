"""The Kubernetes manifests (k8s/) and the KServe InferenceService: valid against the Kubernetes
schemas (`kubernetes-validate --strict`, offline), and consistent with the app and the image."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
VALIDATE = Path(sys.executable).parent / "kubernetes-validate"


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def deployments() -> list[dict]:
    return [d for p in MANIFESTS for d in docs(p) if d["kind"] == "Deployment"]


def app_paths() -> set[str]:
    return set(create_app().openapi()["paths"])


def test_every_manifest_passes_kubernetes_validate_strict():
    result = subprocess.run([str(VALIDATE), "--strict", *map(str, MANIFESTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(MANIFESTS)


def test_the_kustomization_lists_files_that_exist_and_the_folder_has_each_kind():
    kustomization = docs(K8S / "kustomization.yaml")[0]
    assert all((K8S / f).exists() for f in kustomization["resources"])
    kinds = {d["kind"] for p in MANIFESTS for d in docs(p)}
    assert kinds >= {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


@pytest.mark.parametrize("deployment", deployments(), ids=lambda d: d["metadata"]["name"])
def test_pods_run_non_root_read_only_with_resources_and_probes_on_routes_that_exist(deployment):
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and "memory" in container["resources"]["limits"]
    probes = [container[k]["httpGet"]["path"] for k in ("startupProbe", "readinessProbe", "livenessProbe")]
    assert set(probes) <= app_paths(), probes
    assert container["ports"][0]["containerPort"] == 8080
    assert deployment["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_the_gpu_deployment_asks_for_a_gpu_and_runs_cuda_and_the_cpu_one_does_not():
    by_name = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0] for d in deployments()}
    gpu, cpu = by_name["digitserve-gpu"], by_name["digitserve"]
    env = lambda c: {e["name"]: e["value"] for e in c["env"]}  # noqa: E731
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == "1" and env(gpu)["DEVICE"] == "cuda"
    assert "nvidia.com/gpu" not in cpu["resources"]["limits"] and env(cpu)["DEVICE"] == "cpu"
    assert gpu["image"].endswith(":cu130") and cpu["image"].endswith(":cpu")


def test_the_service_hpa_and_pdb_point_at_the_deployments_pods():
    objects = {d["kind"]: d for p in MANIFESTS for d in docs(p) if d["kind"] != "Deployment"}
    labels = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in deployments()}
    assert objects["Service"]["spec"]["selector"].items() <= labels["digitserve"].items()
    assert objects["Service"]["spec"]["selector"].items() <= labels["digitserve-gpu"].items()
    assert objects["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == "digitserve"
    assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels["digitserve"].items()


def test_the_kserve_inference_service_runs_the_image_as_a_v2_predictor():
    (isvc,) = docs(K8S / "kserve" / "inferenceservice.yaml")
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1" and isvc["kind"] == "InferenceService"
    (container,) = isvc["spec"]["predictor"]["containers"]
    assert container["name"] == "kserve-container" and container["ports"][0]["containerPort"] == 8080
    probes = {container[k]["httpGet"]["path"] for k in ("readinessProbe", "livenessProbe")}
    assert probes == {"/v2/health/ready", "/v2/health/live"} and probes <= app_paths()
    assert container["securityContext"]["runAsNonRoot"] is True
