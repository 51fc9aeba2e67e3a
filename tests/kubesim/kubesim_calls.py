"""Calls the kubesim tests share: the Status body of a failure, the warnings of an answer,
raw requests through the kubernetes client's own transport (for bodies no model carries:
repeated keys, apply patches without apiVersion), and kubectl in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from gitops_agent.testing.kubesim import KubeSim

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
needs_kubectl = pytest.mark.skipif(
    not os.path.exists(KUBECTL), reason="kubectl is not installed on this machine"
)
_WARNING = re.compile(r'299 - "((?:[^"\\]|\\.)*)"')
APPLY = "application/apply-patch+yaml"


def status_of(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def warnings_of(headers: Any) -> list[str]:
    """The texts of the ``Warning: 299 - "..."`` headers of an answer."""
    values = headers.getlist("Warning") if hasattr(headers, "getlist") else []
    if not values and headers:
        values = [v for k, v in dict(headers).items() if k.lower() == "warning"]
    return [json.loads(f'"{text}"') for value in values for text in _WARNING.findall(str(value))]


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    warnings: list[str]


def send(
    api: client.ApiClient,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any],
    *,
    content_type: str = "application/json",
    query: list[tuple[str, str]] | None = None,
) -> Reply:
    """One request through the client's connection pool, the body sent exactly as given
    (the client's own serialiser would re-encode a JSON body and lose repeated keys)."""
    payload = json.dumps(body) if isinstance(body, dict) else body
    _, url, headers, _, _ = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params={"Accept": "application/json", "Content-Type": content_type},
        auth_settings=["BearerToken"],
    )
    response = api.rest_client.pool_manager.request(method, url, body=payload, headers=headers)
    data = response.data
    return Reply(response.status, json.loads(data) if data else {}, warnings_of(response.headers))


def kubectl(
    sim_or_config: KubeSim | str,
    *args: str,
    stdin: str | None = None,
    timeout: float = 30,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    config = sim_or_config if isinstance(sim_or_config, str) else sim_or_config.kubeconfig
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", config, *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        check=False,
        env={**os.environ, **env} if env else None,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result
