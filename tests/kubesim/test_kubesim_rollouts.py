"""Deployment rollouts as the controller does them (issue 13, items 5 and 11): the progress
deadline on a timer, surge- and unavailability-bounded steps, old pods terminating for their
grace period, and paused Deployments; through the kubernetes client and kubectl."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from kubernetes import client
from kubesim_calls import kubectl, needs_kubectl
from kubesim_manifests import deployment

from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.testing.kubesim.pytest_plugin import FAST
from gitops_agent.testing.waiting import wait_for

Obj = dict[str, Any]


@pytest.fixture
def kubesim_config() -> SimConfig:
    # pods ready after 0.3 s, so that a rollout takes a few observable steps
    return dataclasses.replace(FAST, ready_delay=0.3)


def _condition(status: Any, kind: str) -> Any:
    return next((c for c in status.conditions or [] if c.type == kind), None)


def _stuck(name: str, deadline: int) -> Obj:
    body = deployment(name, replicas=2, image="acme/unschedulable:1")
    body["spec"]["progressDeadlineSeconds"] = deadline
    return body


def test_the_progress_deadline_fires_without_any_event(
    apps: client.AppsV1Api, kubesim: KubeSim
) -> None:
    started = time.monotonic()
    apps.create_namespaced_deployment("public", _stuck("stuck", 2))

    def timed_out() -> Any:
        cond = _condition(apps.read_namespaced_deployment("stuck", "public").status, "Progressing")
        return cond if cond is not None and cond.reason == "ProgressDeadlineExceeded" else None

    cond = wait_for(timed_out, timeout=6, message="ProgressDeadlineExceeded")
    # lastUpdateTime has whole seconds, as on a real server: the deadline falls within 1 s
    assert time.monotonic() - started > 1
    assert cond.status == "False"
    assert cond.message.startswith('ReplicaSet "stuck-') and cond.message.endswith(
        '" has timed out progressing.'
    )
    assert not kubesim.controller_errors()


@needs_kubectl
def test_kubectl_rollout_status_fails_past_the_deadline(
    apps: client.AppsV1Api, kubesim: KubeSim
) -> None:
    apps.create_namespaced_deployment("public", _stuck("late", 1))
    done = kubectl(
        kubesim, "-n", "public", "rollout", "status", "deploy/late", "--timeout=20s", check=False
    )
    assert done.returncode == 1
    assert done.stderr.strip() == 'error: deployment "late" exceeded its progress deadline'
    described = kubectl(kubesim, "-n", "public", "describe", "deploy", "late").stdout
    assert "Progressing    False   ProgressDeadlineExceeded" in described


def _rolling(name: str, *, surge: Any, unavailable: Any, replicas: int = 4) -> Obj:
    body = deployment(name, replicas=replicas)
    body["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }
    return body


def _watch_rollout(apps: client.AppsV1Api, name: str) -> tuple[list[int], int, int]:
    """Poll until the rollout completes: the updatedReplicas seen, the most replicas the
    sets asked for together, and the fewest available replicas."""
    updated: list[int] = []
    most, fewest = 0, 10**6

    def complete() -> bool:
        nonlocal most, fewest
        sets = apps.list_namespaced_replica_set("public", label_selector=f"app={name}").items
        most = max(most, sum(rs.spec.replicas for rs in sets))
        live = apps.read_namespaced_deployment(name, "public")
        status = live.status
        fewest = min(fewest, status.available_replicas or 0)
        if status.observed_generation != live.metadata.generation:
            return False
        if not updated or updated[-1] != (status.updated_replicas or 0):
            updated.append(status.updated_replicas or 0)
        cond = _condition(status, "Progressing")
        return bool(cond and cond.reason == "NewReplicaSetAvailable" and status.replicas == 4)

    wait_for(complete, timeout=20, interval=0.01, message=f"the rollout of {name}")
    return updated, most, fewest


def test_rolling_update_steps_within_surge_and_unavailability(
    apps: client.AppsV1Api, kubesim: KubeSim
) -> None:
    body = _rolling("steps", surge=1, unavailable=0)
    apps.create_namespaced_deployment("public", body)
    wait_for(
        lambda: apps.read_namespaced_deployment("steps", "public").status.available_replicas == 4,
        timeout=10,
        message="4 available",
    )
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    apps.replace_namespaced_deployment("steps", "public", body)
    updated, most, fewest = _watch_rollout(apps, "steps")
    assert most <= 5 and fewest >= 4  # replicas + maxSurge, replicas - maxUnavailable
    assert updated[-1] == 4 and len(set(updated)) >= 3  # one new pod at a time
    sets = apps.list_namespaced_replica_set("public", label_selector="app=steps").items
    revisions = sorted(rs.metadata.annotations["deployment.kubernetes.io/revision"] for rs in sets)
    assert revisions == ["1", "2"] and sorted(rs.spec.replicas for rs in sets) == [0, 4]
    annotations = {rs.metadata.annotations["deployment.kubernetes.io/max-replicas"] for rs in sets}
    assert annotations == {"5"}


def test_old_pods_terminate_for_their_grace_period(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    kubesim.controllers.pods.timing = dataclasses.replace(
        kubesim.controllers.pods.timing, termination_delay=None
    )  # the containers ignore SIGTERM: they stay until the grace period ends
    body = _rolling("graceful", surge="100%", unavailable=0, replicas=1)
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 2
    apps.create_namespaced_deployment("public", body)
    first = wait_for(
        lambda: [
            p for p in core.list_namespaced_pod("public").items if p.status.phase == "Running"
        ],
        timeout=10,
        message="a running pod",
    )[0]
    body["spec"]["template"]["metadata"]["annotations"] = {"change": "1"}
    apps.replace_namespaced_deployment("graceful", "public", body)
    going = wait_for(
        lambda: (
            core.read_namespaced_pod(first.metadata.name, "public").metadata.deletion_timestamp
            and core.read_namespaced_pod(first.metadata.name, "public")
        ),
        timeout=10,
        message="the old pod terminating",
    )
    marked = time.monotonic()
    assert going.metadata.deletion_grace_period_seconds == 2
    assert going.status.phase == "Running"  # still running: SIGTERM was ignored
    wait_for(
        lambda: (
            first.metadata.name
            not in {p.metadata.name for p in core.list_namespaced_pod("public").items}
        ),
        timeout=10,
        message="the old pod gone",
    )
    assert time.monotonic() - marked > 1.0
    status = apps.read_namespaced_deployment("graceful", "public").status
    assert status.replicas == 1 and status.updated_replicas == 1


def test_a_paused_deployment_makes_no_new_replica_set(
    apps: client.AppsV1Api, kubesim: KubeSim
) -> None:
    body = deployment("paused", replicas=2)
    apps.create_namespaced_deployment("public", body)
    wait_for(
        lambda: apps.read_namespaced_deployment("paused", "public").status.available_replicas == 2,
        timeout=10,
        message="2 available",
    )
    apps.patch_namespaced_deployment("paused", "public", {"spec": {"paused": True}})
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    body["spec"]["paused"] = True
    apps.replace_namespaced_deployment("paused", "public", body)
    cond = wait_for(
        lambda: _condition(
            apps.read_namespaced_deployment("paused", "public").status, "Progressing"
        ),
        timeout=5,
        message="a Progressing condition",
    )
    kubesim.step()
    cond = _condition(apps.read_namespaced_deployment("paused", "public").status, "Progressing")
    assert (cond.status, cond.reason, cond.message) == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )
    assert len(apps.list_namespaced_replica_set("public").items) == 1
    apps.patch_namespaced_deployment("paused", "public", {"spec": {"paused": False}})
    wait_for(
        lambda: len(apps.list_namespaced_replica_set("public").items) == 2,
        timeout=5,
        message="the new ReplicaSet after the resume",
    )


@needs_kubectl
def test_kubectl_pause_resume_and_rollout_history(apps: client.AppsV1Api, kubesim: KubeSim) -> None:
    body = _rolling("web", surge="25%", unavailable="25%")
    apps.create_namespaced_deployment("public", body)
    ns = ("-n", "public")
    kubectl(kubesim, *ns, "rollout", "status", "deploy/web", "--timeout=20s")
    kubectl(kubesim, *ns, "rollout", "pause", "deploy/web")
    kubectl(kubesim, *ns, "set", "image", "deploy/web", "main=busybox:1.37")
    wait_for(
        lambda: "DeploymentPaused" in kubectl(kubesim, *ns, "describe", "deploy", "web").stdout,
        timeout=5,
        message="DeploymentPaused",
    )
    assert len(json.loads(kubectl(kubesim, *ns, "get", "rs", "-o", "json").stdout)["items"]) == 1
    kubectl(kubesim, *ns, "rollout", "resume", "deploy/web")
    status = kubectl(kubesim, *ns, "rollout", "status", "deploy/web", "--timeout=20s").stdout
    assert 'deployment "web" successfully rolled out' in status
    history = kubectl(kubesim, *ns, "rollout", "history", "deploy/web").stdout.split()
    assert history[-2:] == ["2", "<none>"]
    kubectl(kubesim, *ns, "rollout", "undo", "deploy/web")
    kubectl(kubesim, *ns, "rollout", "status", "deploy/web", "--timeout=20s")
    live = apps.read_namespaced_deployment("web", "public")
    assert live.spec.template.spec.containers[0].image == "busybox:1.36"
    assert live.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    described = kubectl(kubesim, *ns, "describe", "deploy", "web").stdout
    assert "Scaled up replica set web-" in described and "from 0 to 1" in described
