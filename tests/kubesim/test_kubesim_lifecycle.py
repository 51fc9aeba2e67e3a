"""Deletion and suspension as the controllers do them (issue 13, item 11): graceful pod
termination, the garbage collector and the namespace controller off the request path (a
namespace is Terminating while its objects go), suspended Jobs; client and kubectl."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubesim_calls import kubectl, needs_kubectl, status_of
from kubesim_manifests import configmap, deployment, job

from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.testing.kubesim.kinds import NAMESPACES
from gitops_agent.testing.kubesim.objects import WriteOptions
from gitops_agent.testing.kubesim.pytest_plugin import FAST
from gitops_agent.testing.waiting import wait_for

Obj = dict[str, Any]


@pytest.fixture
def kubesim_config() -> SimConfig:
    # containers ignore SIGTERM: a deleted pod stays Terminating for its whole grace period
    return dataclasses.replace(FAST, termination_delay=None)


def _grace(body: Obj, seconds: int) -> Obj:
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = seconds
    return body


def _running(core: client.CoreV1Api, namespace: str, count: int) -> list[Any]:
    def found() -> list[Any]:
        pods = core.list_namespaced_pod(namespace).items
        running = [p for p in pods if p.status.phase == "Running"]
        return running if len(running) == count else []

    return wait_for(found, timeout=10, message=f"{count} running pods in {namespace}")


def test_a_deleted_pod_terminates_for_its_grace_period(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    apps.create_namespaced_deployment("public", _grace(deployment("web"), 1))
    pod = _running(core, "public", 1)[0]
    answered = core.delete_namespaced_pod(pod.metadata.name, "public")
    assert (
        answered.metadata.deletion_timestamp
        and answered.metadata.deletion_grace_period_seconds == 1
    )
    assert core.read_namespaced_pod(pod.metadata.name, "public").status.phase == "Running"
    shorter = core.delete_namespaced_pod(pod.metadata.name, "public", grace_period_seconds=5)
    assert shorter.metadata.deletion_grace_period_seconds == 1  # a delete may only shorten it
    wait_for(
        lambda: (
            pod.metadata.name
            not in {p.metadata.name for p in core.list_namespaced_pod("public").items}
        ),
        timeout=10,
        message="the pod removed by the kubelet",
    )
    _running(core, "public", 1)  # the ReplicaSet replaced it
    events = core.list_namespaced_event(
        "public", field_selector=f"involvedObject.name={pod.metadata.name},reason=Killing"
    ).items
    assert [e.message for e in events] == ["Stopping container main"]


def test_garbage_collection_runs_after_the_delete_not_in_it(
    kubesim_config: SimConfig,
) -> None:
    with KubeSim(kubesim_config, run_controllers=False) as sim:
        sim.objects.create(NAMESPACES, "", {"metadata": {"name": "gc"}}, WriteOptions())
        api = client.ApiClient(client.Configuration(host=sim.url))
        apps = client.AppsV1Api(api)
        apps.create_namespaced_deployment("gc", deployment("web", namespace="gc"))
        sim.step()
        assert len(apps.list_namespaced_replica_set("gc").items) == 1
        apps.delete_namespaced_deployment("web", "gc")
        assert len(apps.list_namespaced_replica_set("gc").items) == 1  # not collected yet
        sim.step()
        assert apps.list_namespaced_replica_set("gc").items == []
        api.close()


def test_a_namespace_is_terminating_while_its_objects_go(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    apps.create_namespaced_deployment(
        "doomed", _grace(deployment("web", replicas=2, namespace="doomed"), 2)
    )
    _running(core, "doomed", 2)
    core.delete_namespace("doomed")
    assert core.read_namespace("doomed").status.phase == "Terminating"

    def conditions() -> dict[str, Any]:
        found = core.read_namespace("doomed").status.conditions or []
        return {
            c.type: c for c in found if c.type == "NamespaceContentRemaining" and c.status == "True"
        }

    remaining = wait_for(conditions, timeout=5, message="content remaining")
    assert remaining["NamespaceContentRemaining"].message.startswith(
        "Some resources are remaining: "
    )
    assert "pods. has 2 resource instances" in remaining["NamespaceContentRemaining"].message
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("doomed", configmap("late", {}, namespace="doomed"))
    assert caught.value.status == 403
    assert "because it is being terminated" in status_of(caught.value)["message"]
    assert apps.list_namespaced_deployment("doomed").items == []
    wait_for(
        lambda: "doomed" not in {n.metadata.name for n in core.list_namespace().items},
        timeout=10,
        message="the namespace removed",
    )


def test_a_suspended_job_runs_nothing_until_resumed(
    batch: client.BatchV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    body = job("later", command=["sh", "-c", "echo done"])
    body["spec"]["suspend"] = True
    batch.create_namespaced_job("public", body)

    def suspended() -> Any:
        found = batch.read_namespaced_job("later", "public")
        conds = {c.type: c for c in found.status.conditions or []}
        return found if "Suspended" in conds else None

    found = wait_for(suspended, timeout=5, message="the Suspended condition")
    cond = found.status.conditions[0]
    assert (cond.type, cond.status, cond.reason, cond.message) == (
        "Suspended",
        "True",
        "JobSuspended",
        "Job suspended",
    )
    assert found.status.start_time is None and not found.status.active
    kubesim.step()
    assert core.list_namespaced_pod("public").items == []
    batch.patch_namespaced_job("later", "public", {"spec": {"suspend": False}})

    def complete() -> Any:
        found = batch.read_namespaced_job("later", "public")
        conds = {c.type: c for c in found.status.conditions or []}
        return conds if conds.get("Complete") else None

    conds = wait_for(complete, timeout=10, message="the job complete")
    assert (conds["Suspended"].status, conds["Suspended"].reason) == ("False", "JobResumed")
    reasons = [
        e.reason
        for e in core.list_namespaced_event(
            "public", field_selector="involvedObject.kind=Job"
        ).items
    ]
    assert reasons[:2] == ["Suspended", "Resumed"] or {"Suspended", "Resumed"} <= set(reasons)


@needs_kubectl
def test_kubectl_suspends_a_running_job_and_deletes_a_namespace(
    batch: client.BatchV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    ns = ("-n", "public")
    body = _grace(job("slow", command=["sh", "-c", "sleep 60"]), 1)
    body["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    kubesim.set_rules([])
    batch.create_namespaced_job("public", body)
    _running(core, "public", 1)
    kubectl(kubesim, *ns, "patch", "job", "slow", "-p", '{"spec":{"suspend":true}}')
    table = wait_for(
        lambda: (
            "Suspended" in kubectl(kubesim, *ns, "get", "job", "slow").stdout
            and kubectl(kubesim, *ns, "get", "job", "slow").stdout
        ),
        timeout=5,
        message="the job Suspended",
    )
    assert table.splitlines()[1].split()[:2] == ["slow", "Suspended"]
    pods = json.loads(kubectl(kubesim, *ns, "get", "pods", "-o", "json").stdout)["items"]
    assert all(p["metadata"].get("deletionTimestamp") for p in pods)
    kubectl(kubesim, *ns, "wait", "--for=delete", "pod", "--all", "--timeout=20s")
    kubectl(kubesim, *ns, "create", "deployment", "web", "--image=busybox:1.36")
    _running(core, "public", 1)
    kubectl(kubesim, "delete", "namespace", "public", "--wait=false")
    phase = kubectl(kubesim, "get", "ns", "public", "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Terminating"  # its pod has 30 s to stop
    described = kubectl(kubesim, "describe", "ns", "public").stdout
    assert "NamespaceContentRemaining" in described and "SomeResourcesRemain" in described
    force = ("delete", "pod", "--all", "--grace-period=0", "--force")
    assert "force deleted" in kubectl(kubesim, *ns, *force).stdout
    kubectl(kubesim, "wait", "--for=delete", "namespace/public", "--timeout=20s")
