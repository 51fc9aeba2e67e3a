"""``run --once`` with leader election on (issue 17): the one cycle runs only while this
process holds the Lease, which it releases after; a lease left by a replica that died is
taken over; a lease a live replica renews is waited on (two lease durations and 5 s) and
then nothing is written: exit 1, naming the lease. Against kubesim, in process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from gitops_agent.cli import main
from gitops_agent.testing.kubesim.kinds import LEASES
from gitops_agent.testing.kubesim.simulator import KubeSim

LEASE = "gitops-agent-elected"
CONFIG = """\
name: elected
sync: {waitTimeout: 30s, pollInterval: 0.1s}
leaderElection:
  enabled: true
  namespace: gitops-agent
  leaseDuration: 1s
  renewDeadline: 0.8s
  retryPeriod: 0.2s
"""
WORKER = """\
version: v2alpha
name: elected-worker
type: worker
spec:
  compute: runnable-default
  replicas: 1
  stack: container
  stackSpec: {image: docker.io/library/alpine:3.20, command: [sleep, infinity]}
"""


@pytest.fixture
def repo(tmp_path: Path, kubesim: KubeSim) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-agent.yaml").write_text(CONFIG)
    (root / "worker.yaml").write_text(WORKER)
    with client(kubesim) as api:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gitops-agent"}}
        kubernetes.client.CoreV1Api(api).create_namespace(namespace)
    kubesim.clear_requests()
    return root


def client(sim: KubeSim) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(config_file=str(sim.kubeconfig))


def run_once(capsys: pytest.CaptureFixture[str], sim: KubeSim, repo: Path) -> tuple[int, str]:
    args = ["run", "--once", str(repo), "--target", "kubernetes"]
    code = main([*args, "--kubeconfig", str(sim.kubeconfig), "--cache-dir", str(repo.parent)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hold(sim: KubeSim, holder: str, renewed: datetime) -> None:
    """The Lease, as another replica writes it."""
    body: dict[str, Any] = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": "gitops-agent"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 1,
            "acquireTime": stamp(renewed),
            "renewTime": stamp(renewed),
            "leaseTransitions": 0,
        },
    }
    with client(sim) as api:
        leases = kubernetes.client.CoordinationV1Api(api)
        current = sim.store.get(LEASES, "gitops-agent", LEASE)
        if current is None:
            leases.create_namespaced_lease("gitops-agent", body)
        else:
            leases.replace_namespaced_lease(LEASE, "gitops-agent", body)


def holder(sim: KubeSim) -> str:
    lease = sim.store.get(LEASES, "gitops-agent", LEASE) or {}
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


def writes(sim: KubeSim) -> list[str]:
    return [
        f"{r.verb} {r.resource}"
        for r in sim.requests()
        if r.verb in ("create", "patch", "update", "delete") and r.resource != "leases"
    ]


def test_run_once_elected_applies_and_releases_the_lease(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, repo: Path
) -> None:
    code, output = run_once(capsys, kubesim, repo)
    assert code == 0, output
    assert "became the leader" in output and "applied" in output
    assert "patch deployments" in writes(kubesim)
    lease = kubesim.store.get(LEASES, "gitops-agent", LEASE)
    assert lease is not None and holder(kubesim) == ""  # released for the next one


def test_run_once_takes_over_a_lease_left_by_a_replica_that_died(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, repo: Path
) -> None:
    hold(kubesim, "dead-pod_0001", datetime.now(UTC) - timedelta(hours=1))
    code, output = run_once(capsys, kubesim, repo)
    assert code == 0, output
    assert "patch deployments" in writes(kubesim)


@pytest.fixture
def live_holder(kubesim: KubeSim) -> Iterator[None]:
    """Another replica renewing the Lease every 0.2 s."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.is_set():
            hold(kubesim, "live-pod_0002", datetime.now(UTC))
            stop.wait(0.2)

    thread = threading.Thread(target=renew, daemon=True)
    hold(kubesim, "live-pod_0002", datetime.now(UTC))
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


def test_run_once_writes_nothing_while_a_live_replica_holds_the_lease(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, repo: Path, live_holder: None
) -> None:
    code, output = run_once(capsys, kubesim, repo)
    assert code == 1, output
    assert f"another replica holds the lease gitops-agent/{LEASE}: not run" in output
    assert writes(kubesim) == []
    assert holder(kubesim) == "live-pod_0002"
