"""StatefulSet revisions (issue 13, item 6): ControllerRevisions, ``currentRevision`` held
until every pod is updated, and ``kubectl rollout status/history/undo`` on them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from kubernetes import client
from kubesim_calls import kubectl, needs_kubectl, send
from kubesim_manifests import deployment

from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.testing.kubesim.pytest_plugin import FAST
from gitops_agent.testing.kubesim.statefulsets import revision_data, revision_hash
from gitops_agent.testing.waiting import wait_for

Obj = dict[str, Any]


@pytest.fixture
def kubesim_config() -> SimConfig:
    return dataclasses.replace(FAST, ready_delay=0.3)


def _statefulset(name: str, *, replicas: int = 3, image: str = "busybox:1.36") -> Obj:
    body = deployment(name, replicas=replicas, image=image)
    body["kind"] = "StatefulSet"
    body["spec"]["serviceName"] = name
    # an explicit RollingUpdate has no rollingUpdate.partition: kubectl compares revisions
    body["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    return body


def _ready(apps: client.AppsV1Api, name: str, replicas: int) -> Any:
    def settled() -> Any:
        status = apps.read_namespaced_stateful_set(name, "public").status
        done = status.ready_replicas == replicas and status.updated_replicas == replicas
        return status if done and status.current_revision == status.update_revision else None

    return wait_for(settled, timeout=20, message=f"{name} rolled out")


def test_current_revision_stays_until_every_pod_is_updated(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    body = _statefulset("db")
    created = apps.create_namespaced_stateful_set("public", body)
    assert created.spec.update_strategy.rolling_update is None
    first = _ready(apps, "db", 3).current_revision
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    apps.replace_namespaced_stateful_set("db", "public", body)
    seen: list[tuple[str, str, int]] = []

    def rolled() -> bool:
        status = apps.read_namespaced_stateful_set("db", "public").status
        seen.append((status.current_revision, status.update_revision, status.updated_replicas or 0))
        return status.current_revision != first

    wait_for(rolled, timeout=20, interval=0.01, message="the new revision current")
    second = seen[-1][1]
    assert second != first
    during = [s for s in seen if s[1] == second and s[0] == first]
    assert {updated for _, _, updated in during} >= {0, 1, 2}  # held while pods were updated
    assert seen[-1] == (second, second, 3)
    revisions = apps.list_namespaced_controller_revision("public").items
    assert sorted((r.revision, r.metadata.name) for r in revisions) == [(1, first), (2, second)]
    latest = next(r for r in revisions if r.metadata.name == second)
    assert latest.metadata.owner_references[0].kind == "StatefulSet"
    assert latest.data["spec"]["template"]["$patch"] == "replace"
    stored = send(apps.api_client, "GET", "/apis/apps/v1/namespaces/public/statefulsets/db", b"")
    expected = revision_hash(revision_data(stored.body), 0)  # FNV-1 of the served template
    assert latest.metadata.labels["controller.kubernetes.io/hash"] == expected
    assert second == f"db-{expected}"
    pods = core.list_namespaced_pod("public", label_selector="app=db").items
    assert {p.metadata.labels["controller-revision-hash"] for p in pods} == {second}


@needs_kubectl
def test_kubectl_rollout_status_history_and_undo(apps: client.AppsV1Api, kubesim: KubeSim) -> None:
    ns = ("-n", "public")
    apps.create_namespaced_stateful_set("public", _statefulset("web", replicas=2))
    kubectl(kubesim, *ns, "rollout", "status", "sts/web", "--timeout=30s")
    kubectl(kubesim, *ns, "set", "image", "sts/web", "main=busybox:1.37")
    rolled = kubectl(kubesim, *ns, "rollout", "status", "sts/web", "--timeout=30s").stdout
    update = apps.read_namespaced_stateful_set("web", "public").status.update_revision
    assert "waiting for statefulset rolling update to complete" in rolled
    assert f"statefulset rolling update complete 2 pods at revision {update}..." in rolled
    table = kubectl(kubesim, *ns, "get", "controllerrevisions").stdout.splitlines()
    assert table[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert [row.split()[1:3] for row in table[1:]] == [
        ["statefulset.apps/web", "1"],
        ["statefulset.apps/web", "2"],
    ] or [row.split()[1:3] for row in table[1:]] == [
        ["statefulset.apps/web", "2"],
        ["statefulset.apps/web", "1"],
    ]
    history = kubectl(kubesim, *ns, "rollout", "history", "sts/web").stdout.split()
    assert history[-4:] == ["1", "<none>", "2", "<none>"]
    kubectl(kubesim, *ns, "rollout", "undo", "sts/web")
    kubectl(kubesim, *ns, "rollout", "status", "sts/web", "--timeout=30s")
    live = apps.read_namespaced_stateful_set("web", "public")
    assert live.spec.template.spec.containers[0].image == "busybox:1.36"
    revisions = apps.list_namespaced_controller_revision("public").items
    # the undo reuses revision 1's data, renumbered 3
    assert sorted(r.revision for r in revisions) == [2, 3]
    assert live.status.current_revision == live.status.update_revision
