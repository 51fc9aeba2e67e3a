"""Observing many objects in bounded memory, with the same answers (issue 18, item 5).

A LIST is read in pages (the first up to 1,000 objects, then smaller ones), starts again
when its continue token is refused (410), and keeps of each object what the caller asks;
the Kubernetes target keeps of pods only their failures, of statuses what the status model
reads, and shares identical managed-field entries and short texts between objects. These
tests hold each reduction to the answer of the whole objects: worker states, job phases,
values. The inventory reads back entries it already holds without decoding them again.
Over real HTTP to kubesim where a server is involved.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from gitops_agent.core import inventory as inventories
from gitops_agent.core import kubestate
from gitops_agent.core.inventory import Inventory, InventoryEntry
from gitops_agent.core.kinds import CONFIG_MAP, DEPLOYMENT, JOB, ObjectKey
from gitops_agent.core.labels import TEMPLATE
from gitops_agent.core.manifests import ResourceId, ResourceType
from gitops_agent.core.rendering import output
from gitops_agent.core.rendering.objects import KubeObject
from gitops_agent.targets.kubeapi import KubeApi, connect
from gitops_agent.targets.kubernetes import _SharedFields
from gitops_agent.testing.kubesim.simulator import KubeSim


@pytest.fixture
def api(kubesim: KubeSim) -> Iterator[KubeApi]:
    client = connect(kubeconfig=str(kubesim.kubeconfig), context=None, in_cluster=False)
    paged = KubeApi(client, pages=(3, 2))
    yield paged
    paged.close()


def config_maps(api: KubeApi, count: int) -> None:
    for index in range(count):
        labels = {"team": "a" if index % 2 == 0 else "b"}
        body = {"metadata": {"name": f"cm-{index}", "namespace": "default", "labels": labels}}
        api.apply({"apiVersion": "v1", "kind": "ConfigMap", **body, "data": {"i": str(index)}})


def test_a_list_is_read_in_pages_and_kept_as_asked(api: KubeApi, kubesim: KubeSim) -> None:
    config_maps(api, 9)
    before = len(kubesim.requests(verb="list"))
    names = api.list(CONFIG_MAP, selector="team=a", keep=lambda o: o["metadata"]["name"])
    assert sorted(names) == [f"cm-{i}" for i in (0, 2, 4, 6, 8)]
    lists = kubesim.requests(verb="list")[before:]
    assert [r.query.get("limit") for r in lists] == ["3", "2"]
    assert "continue" not in lists[0].query and lists[1].query.get("continue")


def test_a_list_whose_continue_is_refused_starts_again(api: KubeApi, kubesim: KubeSim) -> None:
    config_maps(api, 5)
    kubesim.add_fault(verb="list", resource="configmaps", code=410, reason="Expired", times=1)
    found = api.list(CONFIG_MAP, selector="team")
    assert sorted(o["metadata"]["name"] for o in found) == [f"cm-{i}" for i in range(5)]


def pod(
    name: str,
    *,
    phase: str = "Running",
    waiting: str = "",
    restarts: int = 0,
    template: str = "t1",
    deleting: bool = False,
) -> dict[str, Any]:
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": "t"}}
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "public",
        "labels": {
            "gitops-agent.dataos.info/resource-type": "worker",
            "gitops-agent.dataos.info/resource-name": "w",
            "gitops-agent.dataos.info/workspace": "public",
            TEMPLATE: template,
        },
    }
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [{"name": "main", "image": "a"}]},
        "status": {
            "phase": phase,
            "reason": "Evicted" if phase == "Failed" else None,
            "containerStatuses": [{"name": "main", "state": state, "restartCount": restarts}],
        },
    }


DEPLOYMENT_BODY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "w", "namespace": "public", "generation": 3},
    "spec": {"replicas": 2, "template": {"metadata": {"labels": {TEMPLATE: "t1"}}}},
    "status": {
        "replicas": 2,
        "readyReplicas": 1,
        "updatedReplicas": 2,
        "availableReplicas": 1,
        "observedGeneration": 3,
        "unavailableReplicas": 1,
        "conditions": [
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": "stalled",
                "lastUpdateTime": "t1",
                "lastTransitionTime": "t2",
            }
        ],
    },
}


@pytest.mark.parametrize(
    "pods",
    [
        [],
        [pod("w-b"), pod("w-a")],
        [pod("w-b", waiting="CrashLoopBackOff", restarts=3), pod("w-a", waiting="ErrImagePull")],
        [pod("w-c", phase="Failed"), pod("w-a")],
        # an old template's crash loop and a terminating pod's failure tell nothing
        [pod("w-old", waiting="CrashLoopBackOff", restarts=5, template="t0"), pod("w-a")],
        [pod("w-d", phase="Failed", deleting=True), pod("w-a")],
    ],
)
def test_the_failures_kept_of_pods_give_the_state_the_whole_pods_give(
    pods: list[dict[str, Any]],
) -> None:
    rid = ResourceId(ResourceType.WORKER, "public", "w")
    failures = kubestate.PodFailures()
    for one in copy.deepcopy(pods):
        failures.keep(one)
    ordered = kubestate.group(pods).get(rid, [])
    whole = kubestate.worker_state([DEPLOYMENT_BODY], ordered)
    healthy = {**DEPLOYMENT_BODY, "status": {**DEPLOYMENT_BODY["status"], "conditions": []}}
    assert kubestate.worker_state([healthy], failures.of(rid)) == (
        kubestate.worker_state([healthy], ordered)
    )
    kept = kubestate.worker_state([DEPLOYMENT_BODY], failures.of(rid))
    assert kept == whole


def test_kept_failures_of_the_current_template_fail_the_worker_and_no_others() -> None:
    rid = ResourceId(ResourceType.WORKER, "public", "w")
    healthy = {**DEPLOYMENT_BODY, "status": {**DEPLOYMENT_BODY["status"], "conditions": []}}
    for pods, failure in [
        ([pod("w-new", waiting="CrashLoopBackOff", restarts=5)], "CrashLoopBackOff"),
        ([pod("w-old", waiting="CrashLoopBackOff", restarts=5, template="t0")], None),
        ([pod("w-d", phase="Failed", deleting=True)], None),
    ]:
        failures = kubestate.PodFailures()
        for one in pods:
            failures.keep(one)
        state = kubestate.worker_state([healthy], failures.of(rid))
        assert (failure is None) == (state.failure is None), (pods, state)
        assert failure is None or failure in str(state.failure)


def test_a_status_summary_keeps_what_the_status_model_reads() -> None:
    summary = kubestate.status_summary(DEPLOYMENT.name, DEPLOYMENT_BODY["status"])
    assert "unavailableReplicas" not in summary
    assert "lastUpdateTime" not in summary["conditions"][0]
    assert kubestate.worker_state([{**DEPLOYMENT_BODY, "status": summary}]) == (
        kubestate.worker_state([DEPLOYMENT_BODY])
    )
    job = {
        "conditions": [
            {"type": "Failed", "status": "True", "message": "boom", "lastProbeTime": "t"}
        ],
        "active": 0,
        "startTime": "t",
        "failed": 1,
    }
    summarized = {"kind": "Job", "status": kubestate.status_summary(JOB.name, job)}
    assert kubestate.job_phase(summarized) == kubestate.job_phase({"kind": "Job", "status": job})
    other = {"phase": "Bound", "capacity": {"storage": "1Gi"}}
    assert kubestate.status_summary("PersistentVolumeClaim", other) is other


def deployment_with(manager_time: str, name: str) -> dict[str, Any]:
    tree = {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {}}}}}
    body = copy.deepcopy(DEPLOYMENT_BODY)
    body["metadata"] |= {
        "name": name,
        "uid": f"uid-{name}",
        "resourceVersion": "7",
        "labels": {"team": "platform"},
        "managedFields": [
            {
                "manager": "gitops-agent",
                "operation": "Apply",
                "apiVersion": "apps/v1",
                "time": manager_time,
                "fieldsType": "FieldsV1",
                "fieldsV1": tree,
            },
            {
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "apps/v1",
                "time": manager_time,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {}},
                "subresource": "scale",
            },
        ],
    }
    return body


def test_objects_kept_share_their_alike_parts_and_keep_their_values() -> None:
    first, second = deployment_with("t1", "a"), deployment_with("t1", "b")
    shared = _SharedFields({})
    kept = [shared.keep(copy.deepcopy(first)), shared.keep(copy.deepcopy(second))]
    for before, after in zip([first, second], kept, strict=True):
        expected = {**before, "status": kubestate.status_summary("Deployment", before["status"])}
        assert after == expected
    assert kept[0]["metadata"]["managedFields"][0] is kept[1]["metadata"]["managedFields"][0]
    assert kept[0]["metadata"]["labels"]["team"] is kept[1]["metadata"]["labels"]["team"]
    again = _SharedFields(shared.kept)
    assert again.keep(copy.deepcopy(first)) is kept[0], "same uid and version: kept before"


def test_an_inventory_read_again_reuses_its_entries_and_writes_back_what_it_read() -> None:
    rid = ResourceId(ResourceType.WORKER, "public", "w")
    entry = InventoryEntry(rid, "r1", (ObjectKey("apps/v1", "Deployment", "public", "w"),))
    stored = inventories.to_shards(Inventory().with_entries([entry]))
    first = inventories.from_shards(stored)
    again = inventories.from_shards(stored, previous=first)
    assert again == first and again.entries[rid] is first.entries[rid]
    assert inventories.to_shards(again) == stored
    assert first.with_entries([]) is first and first.without([]) is first
    changed = inventories.from_shards({0: {rid.encode(): entry.encode().replace("r1", "r2")}})
    assert changed.entries[rid].revision == "r2"


def test_streamed_output_is_the_text_of_the_whole() -> None:
    key = ObjectKey("v1", "ConfigMap", "a", "n")
    objects = [
        KubeObject(key, {"b": [1, {"c": "x\ny"}], "a": {"z": [], "y": {}}}) for _ in range(3)
    ]
    import json

    assert (
        output.to_json(objects)
        == json.dumps([o.body for o in objects], indent=2, sort_keys=True) + "\n"
    )
    assert output.to_json([]) == "[]\n"
