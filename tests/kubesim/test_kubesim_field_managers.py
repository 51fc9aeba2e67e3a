"""The field managers kubectl (v1.32) writes as, read back from managedFields: what the
drift check names as "who changed it" must be what a real API server records.

Each out-of-band edit a platform engineer makes is run with the real kubectl against a
Deployment first applied server-side as ``gitops-agent``: ``kubectl scale`` (the ``scale``
subresource, manager ``kubectl``, no time: kube-apiserver's ScaleHandler keeps the parent
entry's), ``kubectl set image|env`` (``kubectl-set``), ``kubectl label`` (``kubectl-label``),
``kubectl edit`` (``kubectl-edit``), client-side ``kubectl apply``
(``kubectl-client-side-apply``) and a forced server-side apply by another manager.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubesim_calls import kubectl, needs_kubectl
from kubesim_manifests import deployment

from gitops_agent.testing.kubesim import KubeSim

pytestmark = needs_kubectl


@pytest.fixture
def applied(kubesim: KubeSim, tmp_path: Path) -> Path:
    """Deployment ``web`` applied server-side by ``gitops-agent``; its manifest file."""
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(deployment("web", replicas=1)))
    kubectl(kubesim, "apply", "--server-side", "--field-manager", "gitops-agent", "-f", str(path))
    return path


def _entries(kubesim: KubeSim) -> list[dict[str, Any]]:
    """The entries of writes to the Deployment's spec and metadata (not the controller's
    status and revision annotation)."""
    out = kubectl(
        kubesim, "-n", "public", "get", "deploy/web", "-o", "json", "--show-managed-fields"
    ).stdout
    return [
        e
        for e in json.loads(out)["metadata"]["managedFields"]
        if e.get("subresource") != "status" and e["manager"] != "kube-controller-manager"
    ]


def _entry(kubesim: KubeSim, manager: str) -> dict[str, Any]:
    found = [e for e in _entries(kubesim) if e["manager"] == manager]
    assert len(found) == 1, f"{manager}: {_entries(kubesim)}"
    return found[0]


def _agent_owns(kubesim: KubeSim, *path: str) -> bool:
    node = _entry(kubesim, "gitops-agent")["fieldsV1"]
    for part in path:
        if part not in node:
            return False
        node = node[part]
    return True


def test_kubectl_scale_is_kubectl_on_the_scale_subresource_without_a_time(
    kubesim: KubeSim, applied: Path
) -> None:
    kubectl(kubesim, "-n", "public", "scale", "deploy/web", "--replicas=3")
    entry = _entry(kubesim, "kubectl")
    assert (entry["operation"], entry["subresource"], entry["apiVersion"]) == (
        "Update",
        "scale",
        "apps/v1",
    )
    assert entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "time" not in entry
    assert not _agent_owns(kubesim, "f:spec", "f:replicas")
    (request,) = kubesim.requests(verb="patch", resource="deployments")[-1:]
    assert request.subresource == "scale"


def test_scaling_to_the_same_value_takes_nothing(kubesim: KubeSim, applied: Path) -> None:
    kubectl(kubesim, "-n", "public", "scale", "deploy/web", "--replicas=1")
    assert [e["manager"] for e in _entries(kubesim)] == ["gitops-agent"]


def test_a_forced_apply_takes_replicas_back_from_the_scale_entry(
    kubesim: KubeSim, applied: Path
) -> None:
    kubectl(kubesim, "-n", "public", "scale", "deploy/web", "--replicas=3")
    refused = kubectl(
        kubesim,
        "apply",
        "--server-side",
        "--field-manager",
        "gitops-agent",
        "-f",
        str(applied),
        check=False,
    )
    expected = 'conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas'
    assert expected in refused.stderr
    kubectl(
        kubesim,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager",
        "gitops-agent",
        "-f",
        str(applied),
    )
    assert [e["manager"] for e in _entries(kubesim)] == ["gitops-agent"]
    assert _agent_owns(kubesim, "f:spec", "f:replicas")


def test_kubectl_set_and_label_managers(kubesim: KubeSim, applied: Path) -> None:
    kubectl(kubesim, "-n", "public", "set", "image", "deploy/web", "main=busybox:1.37")
    kubectl(kubesim, "-n", "public", "set", "env", "deploy/web", "MODE=debug")
    kubectl(kubesim, "-n", "public", "label", "--overwrite", "deploy/web", "app=other")
    container = 'k:{"name":"main"}'
    setter = _entry(kubesim, "kubectl-set")
    assert setter["operation"] == "Update" and setter["time"]
    owned = setter["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][container]
    assert set(owned) == {"f:image", "f:env"}
    assert 'k:{"name":"MODE"}' in owned["f:env"]
    label = _entry(kubesim, "kubectl-label")
    assert label["fieldsV1"] == {"f:metadata": {"f:labels": {"f:app": {}}}}
    assert not _agent_owns(kubesim, "f:metadata", "f:labels", "f:app")


def test_kubectl_edit_and_client_side_apply_managers(
    kubesim: KubeSim, applied: Path, tmp_path: Path
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/image: busybox:1.36/image: busybox:1.35/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    kubectl(kubesim, "-n", "public", "edit", "deploy/web", env={"KUBE_EDITOR": str(editor)})
    edit = _entry(kubesim, "kubectl-edit")
    assert edit["operation"] == "Update"
    csa = tmp_path / "csa.yaml"
    body = deployment("web", replicas=2)
    csa.write_text(yaml.safe_dump(body))
    kubectl(kubesim, "apply", "-f", str(csa))
    client_side = _entry(kubesim, "kubectl-client-side-apply")
    annotations = client_side["fieldsV1"]["f:metadata"]["f:annotations"]
    assert "f:kubectl.kubernetes.io/last-applied-configuration" in annotations
    assert client_side["fieldsV1"]["f:spec"]["f:replicas"] == {}


def test_a_forced_server_side_apply_by_another_manager(
    kubesim: KubeSim, applied: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(deployment("web", replicas=1, image="busybox:1.37")))
    kubectl(
        kubesim,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager",
        "platform-team",
        "-f",
        str(other),
    )
    entry = _entry(kubesim, "platform-team")
    assert entry["operation"] == "Apply" and entry["time"]
    container = 'k:{"name":"main"}'
    assert (
        "f:image" in entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][container]
    )
    assert not _agent_owns(
        kubesim, "f:spec", "f:template", "f:spec", "f:containers", container, "f:image"
    )
    assert _agent_owns(kubesim, "f:spec", "f:replicas"), "same value: shared, not taken"
