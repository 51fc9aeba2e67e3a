"""kubectl (v1.32) against kubesim, and the ``python -m`` entry point in a subprocess."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from kubesim_calls import kubectl, needs_kubectl
from kubesim_manifests import configmap, deployment

from gitops_agent.testing.kubesim import KubeSim

pytestmark = needs_kubectl
HEARTBEAT = [
    "sh",
    "-c",
    'while true; do echo "$(date -u +%FT%TZ) sleep-worker heartbeat"; sleep 30; done',
]


def _manifest(tmp_path: Path, name: str, *docs: dict[str, object]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs))
    return str(path)


def test_get_apply_wait_logs_delete(kubesim: KubeSim, tmp_path: Path) -> None:
    files = _manifest(
        tmp_path,
        "app.yaml",
        configmap("cfg", {"a": "1"}),
        deployment("web", replicas=2, command=HEARTBEAT),
    )
    out = kubectl(
        kubesim, "apply", "--server-side", "--field-manager", "gitops-agent", "-f", files
    ).stdout
    assert "deployment.apps/web serverside-applied" in out
    kubectl(
        kubesim,
        "-n",
        "public",
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=20s",
    )
    table = kubectl(kubesim, "-n", "public", "get", "deployments").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["web", "2/2", "2", "2"]
    logs = kubectl(kubesim, "-n", "public", "logs", "deployment/web").stdout
    assert logs.strip().endswith("sleep-worker heartbeat")
    listed = json.loads(
        kubectl(kubesim, "-n", "public", "get", "pods", "-l", "app=web", "-o", "json").stdout
    )
    assert len(listed["items"]) == 2
    kubectl(kubesim, "delete", "-f", files, "--timeout=20s")
    # the garbage collector deletes the pods afterwards; they terminate, then go
    kubectl(
        kubesim, "-n", "public", "wait", "--for=delete", "pod", "-l", "app=web", "--timeout=20s"
    )
    assert kubectl(kubesim, "-n", "public", "get", "pods", "-o", "name").stdout == ""


def test_server_side_apply_conflict_from_kubectl(kubesim: KubeSim, tmp_path: Path) -> None:
    kubectl(
        kubesim,
        "apply",
        "--server-side",
        "--field-manager",
        "gitops-agent",
        "-f",
        _manifest(tmp_path, "one.yaml", deployment("web", replicas=1)),
    )
    other = _manifest(tmp_path, "two.yaml", deployment("web", replicas=4))
    failed = kubectl(kubesim, "apply", "--server-side", "-f", other, check=False)
    assert failed.returncode != 0
    assert 'conflict with "gitops-agent": .spec.replicas' in failed.stderr
    kubectl(kubesim, "apply", "--server-side", "--force-conflicts", "-f", other)
    got = json.loads(kubectl(kubesim, "-n", "public", "get", "deploy", "web", "-o", "json").stdout)
    assert got["spec"]["replicas"] == 4


def test_client_side_apply_is_idempotent(kubesim: KubeSim, tmp_path: Path) -> None:
    path = _manifest(tmp_path, "cm.yaml", configmap("cfg", {"a": "1"}))
    assert "configmap/cfg created" in kubectl(kubesim, "apply", "-f", path).stdout
    assert "configmap/cfg unchanged" in kubectl(kubesim, "apply", "-f", path).stdout
    changed = _manifest(tmp_path, "cm2.yaml", configmap("cfg", {"b": "2"}))
    assert "configmap/cfg configured" in kubectl(kubesim, "apply", "-f", changed).stdout
    data = json.loads(kubectl(kubesim, "-n", "public", "get", "cm", "cfg", "-o", "json").stdout)[
        "data"
    ]
    assert data == {"b": "2"}  # the last-applied annotation made kubectl delete "a"
    invalid = _manifest(tmp_path, "bad.yaml", {**configmap("bad", {}), "bogus": 1})
    refused = kubectl(kubesim, "apply", "-f", invalid, check=False)
    assert refused.returncode != 0 and 'unknown field "bogus"' in refused.stderr


def test_python_module_serves_kubectl_get_ns(tmp_path: Path) -> None:
    config = tmp_path / "k"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gitops_agent.testing.kubesim",
            "--port",
            "0",
            "--kubeconfig",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "kubesim printed no URL within 20 seconds"
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        names = kubectl(str(config), "get", "ns", "-o", "name", timeout=20).stdout.split()
        assert names == [
            "namespace/default",
            "namespace/kube-node-lease",
            "namespace/kube-public",
            "namespace/kube-system",
        ]
        table = kubectl(str(config), "get", "ns", timeout=20).stdout
        assert "kube-node-lease" in table and "public" not in table.split()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
    assert process.returncode == 0
