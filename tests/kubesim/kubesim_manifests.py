"""Manifests the kubesim tests write."""

from __future__ import annotations

from typing import Any

OWNER = "gitops-agent.dataos.info/owner"


def deployment(
    name: str,
    *,
    replicas: int = 1,
    image: str = "busybox:1.36",
    command: list[str] | None = None,
    owner: str = "prod",
    namespace: str = "public",
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image}
    if command:
        container["command"] = command
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {OWNER: owner, "app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }


def job(
    name: str, *, command: list[str], backoff: int = 0, namespace: str = "public"
) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": {OWNER: "prod"}},
        "spec": {
            "backoffLimit": backoff,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox:1.36", "command": command}],
                }
            },
        },
    }


def configmap(
    name: str,
    data: dict[str, str],
    *,
    namespace: str = "public",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "data": data,
    }
