"""Shared by the deploy tests: the rendered overlays (``kubectl kustomize``), the agent
configuration they ship, and kubesim set up as the cluster they are installed in.

``rendered(overlay)`` runs the real kubectl; ``rbac_rules(objects, kind)`` collects the
rules of the Roles or ClusterRoles of a rendering.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import PROJECT

DEPLOY = PROJECT / "deploy"
OVERLAYS = ("cluster", "namespaced")
AGENT_NAMESPACE = "gitops-agent"
SERVICE_ACCOUNT = "gitops-agent"


def kubectl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@functools.cache
def rendered_text(path: str) -> str:
    done = kubectl("kustomize", str(DEPLOY / path))
    assert done.returncode == 0, done.stderr
    return done.stdout


def rendered(path: str) -> list[dict[str, Any]]:
    """Every object ``kubectl kustomize deploy/<path>`` renders."""
    return [doc for doc in yaml.safe_load_all(rendered_text(path)) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def agent_config_text(objects: list[dict[str, Any]]) -> str:
    """The ``gitops-agent.yaml`` the rendering's ConfigMap ships."""
    (config,) = [
        o
        for o in of_kind(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("gitops-agent-config")
    ]
    return str(config["data"]["gitops-agent.yaml"])


def write(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return path
