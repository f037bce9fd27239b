"""deploy/kubernetes/: every manifest valid (`kubernetes-validate --strict`) and wired right.

The wiring is what a typo breaks silently on a cluster: the worker's master
host must name the Service, the ports must agree from the flags to the
container ports to the Service to the scrape annotations, the secret must come
from the one Secret the docs tell you to create, and every container's
arguments must be flags horde accepts.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from horde.cli.config import Config, load_config
from horde.cli.loader import load_scripts

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "kubernetes"
MANIFESTS = sorted(DEPLOY.rglob("*.yaml"))
SECRET_NAME, SECRET_KEY = "horde-secret", "secret"


def _docs() -> list[dict[str, Any]]:
    out = []
    for path in MANIFESTS:
        out.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return out


DOCS = _docs()


def _one(kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    [container] = workload["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _config(container: dict[str, Any]) -> Config:
    # The very flags the pod runs with, read by horde's own option parser.
    return load_config(container["args"], environ={}, cwd=REPO / "deploy")


MASTER = _one("Deployment", "horde-master")
WORKER = _one("Deployment", "horde-worker")
SERVICE = _one("Service", "horde-master")
JOB = _one("Job", "horde-master-run")
SCRIPT = _one("ConfigMap", "horde-script")
MASTERS = [MASTER, JOB]


def test_the_manifests_are_there() -> None:
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in DOCS)
    assert kinds == [("ConfigMap", "horde-script"), ("Deployment", "horde-master"),
                     ("Deployment", "horde-worker"), ("Job", "horde-master-run"),
                     ("Service", "horde-master")]


def test_every_manifest_passes_kubernetes_validate_strict() -> None:
    proc = subprocess.run([sys.executable, "-m", "kubernetes_validate", "--strict",
                           *map(str, MANIFESTS)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("passed") == len(DOCS)


def test_strict_validation_would_catch_a_misplaced_field() -> None:
    broken = copy.deepcopy(WORKER)
    _container(broken)  # the shape the test relies on
    broken["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # typo of resources
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


def test_workers_find_the_master_through_the_service() -> None:
    worker = _config(_container(WORKER))
    assert worker.worker and worker.master_host == SERVICE["metadata"]["name"]
    ports = {p["name"]: p for p in SERVICE["spec"]["ports"]}
    assert worker.master_port == ports["master"]["port"]
    selector = SERVICE["spec"]["selector"]
    for master in MASTERS:
        labels = master["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), master["metadata"]["name"]
    worker_labels = WORKER["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= worker_labels.items()  # workers are not the master


@pytest.mark.parametrize("workload", MASTERS, ids=lambda w: w["kind"])
def test_master_ports_agree_from_flags_to_service_and_annotations(
        workload: dict[str, Any]) -> None:
    container = _container(workload)
    config = _config(container)
    assert config.master
    declared = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert declared["master"] == config.master_bind_port
    assert declared["metrics"] == config.metrics_port
    assert config.metrics_host == "0.0.0.0" and config.master_bind_host in ("*", "0.0.0.0")
    if not config.headless:
        assert declared["web"] == config.web_port and config.web_host == "0.0.0.0"
    for p in SERVICE["spec"]["ports"]:
        if p["targetPort"] in declared:
            assert p["port"] == declared[p["targetPort"]], p
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == config.metrics_port
    assert annotations["prometheus.io/path"] == "/metrics"
    # Probes point at ports the container declares.
    assert container["readinessProbe"]["tcpSocket"]["port"] in declared
    assert container["livenessProbe"]["httpGet"]["port"] in declared


def test_the_service_exposes_worker_port_web_ui_and_metrics() -> None:
    assert {p["name"] for p in SERVICE["spec"]["ports"]} == {"master", "web", "metrics"}


@pytest.mark.parametrize("workload", [MASTER, WORKER, JOB], ids=lambda w: w["metadata"]["name"])
def test_the_secret_comes_from_the_one_secret(workload: dict[str, Any]) -> None:
    env = {e["name"]: e for e in _container(workload)["env"]}
    ref = env["HORDE_SECRET"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == (SECRET_NAME, SECRET_KEY)
    assert "value" not in env["HORDE_SECRET"]  # never the secret itself in a manifest
    assert not [d for d in DOCS if d["kind"] == "Secret"]  # made by the reader, not shipped


def test_the_docs_create_that_secret() -> None:
    text = (REPO / "docs" / "kubernetes.md").read_text()
    assert re.search(rf"kubectl create secret generic {SECRET_NAME} \\?\s*--from-\w+={SECRET_KEY}=",
                     text)


@pytest.mark.parametrize("workload", MASTERS, ids=lambda w: w["kind"])
def test_the_master_runs_the_script_of_the_configmap(workload: dict[str, Any]) -> None:
    spec = workload["spec"]["template"]["spec"]
    container = _container(workload)
    [volume] = [v for v in spec["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == SCRIPT["metadata"]["name"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    script = Path(str(_config(container).hordefile))
    assert script.parent == Path(mount["mountPath"]) and script.name in SCRIPT["data"]


def test_the_configmap_script_loads(tmp_path: Path) -> None:
    for name, source in SCRIPT["data"].items():
        path = tmp_path / name
        path.write_text(source)
        loaded = load_scripts(path)
        assert [c.__name__ for c in loaded.user_classes] == ["Visitor"]


@pytest.mark.parametrize("workload", [MASTER, WORKER, JOB], ids=lambda w: w["metadata"]["name"])
def test_resources_security_and_image(workload: dict[str, Any]) -> None:
    container = _container(workload)
    resources = container["resources"]
    for what in ("cpu", "memory"):
        assert what in resources["requests"] and what in resources["limits"]
    pod = workload["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    dockerfile_user = re.search(r"^USER (\d+)", (REPO / "Dockerfile").read_text(), re.M)
    assert dockerfile_user and pod["runAsUser"] == int(dockerfile_user.group(1))
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["image"] == _container(MASTER)["image"]
    # A read-only root needs a writable /tmp (worker bundles, temporary files).
    if container["securityContext"].get("readOnlyRootFilesystem"):
        assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])


@pytest.mark.parametrize("workload", MASTERS, ids=lambda w: w["kind"])
def test_masters_have_readiness_and_liveness_probes(workload: dict[str, Any]) -> None:
    container = _container(workload)
    assert "readinessProbe" in container and "livenessProbe" in container
    # Slow is not dead: a liveness probe gives a busy master a minute.
    probe = container["livenessProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 60
