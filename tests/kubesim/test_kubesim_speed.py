"""kubesim stays off the critical path: a no-op re-apply costs the server well under 3 ms,
through the kubernetes client and through kubectl, with the controllers running; a reconcile
waits while a request is being answered. (``bench/kubesim_bench.py`` has the figures.)"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import yaml
from kubernetes import client
from kubesim_calls import APPLY, kubectl, needs_kubectl
from kubesim_manifests import deployment

from gitops_agent.testing.kubesim import KubeSim
from gitops_agent.testing.kubesim.traffic import Traffic

COUNT = 60
BUDGET = 0.003  # seconds of server time per no-op apply (the figure)


def _server_median(sim: KubeSim) -> float:
    durations = [r.duration for r in sim.requests(verb="patch", resource="deployments")]
    sim.clear_requests()
    return statistics.median(durations)


def test_noop_reapply_through_the_client_is_cheap(kubesim: KubeSim, apps: client.AppsV1Api) -> None:
    bodies = [deployment(f"fast-{i:03d}", replicas=2) for i in range(COUNT)]
    for _ in range(2):
        for body in bodies:
            apps.patch_namespaced_deployment(
                body["metadata"]["name"],
                "public",
                body,
                field_manager="gitops-agent",
                field_validation="Strict",
                force=True,
                _content_type=APPLY,
            )
        median = _server_median(kubesim)
    assert median < BUDGET, f"no-op apply took {median * 1000:.2f} ms of server time"


@needs_kubectl
def test_noop_reapply_through_kubectl_is_cheap(kubesim: KubeSim, tmp_path: Path) -> None:
    manifest = tmp_path / "many.yaml"
    manifest.write_text(
        yaml.safe_dump_all([deployment(f"kfast-{i:03d}", replicas=2) for i in range(COUNT)])
    )
    for _ in range(2):
        kubectl(kubesim, "apply", "--server-side", "-f", str(manifest), timeout=120)
        median = _server_median(kubesim)
    assert median < BUDGET, f"no-op apply took {median * 1000:.2f} ms of server time"


def test_a_reconcile_waits_while_a_request_is_answered() -> None:
    traffic = Traffic(patience=5.0)
    paused = threading.Event()

    def reconcile() -> None:
        traffic.pause()
        paused.set()

    with traffic.busy():
        worker = threading.Thread(target=reconcile)
        worker.start()
        assert not paused.wait(0.2)  # still answering: the controller waits
    assert paused.wait(5.0)
    worker.join(5.0)
    started = time.monotonic()
    traffic.pause()  # nothing in flight: no wait
    assert time.monotonic() - started < 1.0
