"""Events (issue 13, item 15): what the controllers, the scheduler and the kubelet record, as
core/v1 Events and through events.k8s.io/v1, shown by ``kubectl describe``, ``kubectl get
events`` and ``kubectl events``."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubesim_calls import kubectl, needs_kubectl, send
from kubesim_manifests import deployment, job

from gitops_agent.testing.kubesim import KubeSim
from gitops_agent.testing.waiting import wait_for

Obj = dict[str, Any]


def _events(core: client.CoreV1Api, selector: str) -> list[Any]:
    return list(core.list_namespaced_event("public", field_selector=selector).items)


def _reasons(core: client.CoreV1Api, selector: str, *wanted: str) -> dict[str, Any]:
    def found() -> dict[str, Any]:
        events = {e.reason: e for e in _events(core, selector)}
        return events if set(wanted) <= set(events) else {}

    return wait_for(found, timeout=10, message=f"events {wanted} of {selector}")


def test_deployment_replicaset_and_kubelet_events(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    created = apps.create_namespaced_deployment("public", deployment("web", replicas=2))
    uid = created.metadata.uid
    selector = f"involvedObject.kind=Deployment,involvedObject.name=web,involvedObject.uid={uid}"
    scaled = _reasons(core, selector, "ScalingReplicaSet")["ScalingReplicaSet"]
    assert scaled.type == "Normal" and scaled.message.startswith("Scaled up replica set web-")
    assert scaled.message.endswith(" from 0 to 2")
    assert scaled.source.component == "deployment-controller"
    assert scaled.reporting_component == "deployment-controller" and scaled.count == 1
    assert scaled.first_timestamp and scaled.first_timestamp == scaled.last_timestamp
    assert scaled.involved_object.api_version == "apps/v1" and scaled.event_time is None
    assert scaled.metadata.name.startswith("web.")
    rs = _reasons(core, "involvedObject.kind=ReplicaSet", "SuccessfulCreate")["SuccessfulCreate"]
    assert (
        rs.message.startswith("Created pod: web-")
        and rs.source.component == "replicaset-controller"
    )
    pod = rs.message.removeprefix("Created pod: ")
    kubelet = _reasons(
        core, f"involvedObject.name={pod}", "Scheduled", "Pulled", "Created", "Started"
    )
    assert kubelet["Scheduled"].message == f"Successfully assigned public/{pod} to kubesim-node"
    assert kubelet["Scheduled"].source.component == "default-scheduler"
    started = kubelet["Started"]
    assert (started.message, started.involved_object.field_path) == (
        "Started container main",
        "spec.containers{main}",
    )
    assert (started.source.component, started.source.host) == ("kubelet", "kubesim-node")


def test_backoff_and_failed_pulls_are_warnings_that_count_up(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    apps.create_namespaced_deployment("public", deployment("crash", image="acme/crashloop:1"))
    apps.create_namespaced_deployment("public", deployment("nopull", image="acme/does-not-exist:1"))
    backoff = _reasons(core, "reason=BackOff,type=Warning", "BackOff")["BackOff"]
    assert backoff.message.startswith("Back-off restarting failed container main in pod crash-")
    wait_for(
        lambda: max(e.count for e in _events(core, "reason=BackOff,type=Warning")) > 1,
        timeout=10,
        message="a repeated BackOff counted",
    )
    failed = [e.message for e in _events(core, "reason=Failed")]
    assert "Error: ErrImagePull" in failed and "Error: ImagePullBackOff" in failed
    assert any(m.startswith('Failed to pull image "acme/does-not-exist:1": ') for m in failed)


def test_job_events_and_the_events_api_version(
    batch: client.BatchV1Api, core: client.CoreV1Api, api_client: client.ApiClient
) -> None:
    batch.create_namespaced_job("public", job("ok", command=["sh", "-c", "echo done"]))
    batch.create_namespaced_job("public", job("ko", command=["sh", "-c", "exit 3"]))
    done = _reasons(core, "involvedObject.kind=Job,involvedObject.name=ok", "Completed")
    assert done["Completed"].message == "Job completed"
    failed = _reasons(
        core, "involvedObject.kind=Job,involvedObject.name=ko", "BackoffLimitExceeded"
    )
    assert failed["BackoffLimitExceeded"].type == "Warning"
    assert failed["BackoffLimitExceeded"].message == "Job has reached the specified backoff limit"
    listed = send(
        api_client,
        "GET",
        "/apis/events.k8s.io/v1/namespaces/public/events",
        b"",
        query=[("fieldSelector", "regarding.name=ok,reason=Completed")],
    )
    item = listed.body["items"][0]
    assert listed.body["apiVersion"] == "events.k8s.io/v1"
    assert (item["note"], item["regarding"]["kind"], item["deprecatedCount"]) == (
        "Job completed",
        "Job",
        1,
    )
    assert item["reportingController"] == "job-controller"
    refused = send(
        api_client,
        "POST",
        "/apis/events.k8s.io/v1/namespaces/public/events",
        {"metadata": {"name": "mine"}, "regarding": {"kind": "Job", "name": "ok"}, "note": "x"},
    )
    assert refused.status == 422 and "eventTime: Required value" in refused.body["message"]


@needs_kubectl
def test_kubectl_describe_get_events_and_events(apps: client.AppsV1Api, kubesim: KubeSim) -> None:
    ns = ("-n", "public")
    apps.create_namespaced_deployment("public", deployment("web"))
    kubectl(kubesim, *ns, "create", "job", "once", "--image=busybox:1.36", "--", "echo", "hi")
    kubectl(kubesim, *ns, "wait", "--for=condition=Complete", "job/once", "--timeout=20s")
    described = kubectl(kubesim, *ns, "describe", "deployment", "web").stdout
    events = described[described.index("Events:") :].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert "ScalingReplicaSet" in events[3] and "deployment-controller" in events[3]
    job_events = kubectl(kubesim, *ns, "describe", "job", "once").stdout
    assert "SuccessfulCreate" in job_events and "Job completed" in job_events
    table = kubectl(kubesim, *ns, "get", "events").stdout.splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(row.split()[2:4] == ["Completed", "job/once"] for row in table[1:])
    wide = kubectl(kubesim, *ns, "get", "events", "-o", "wide").stdout.splitlines()[0]
    assert wide.split()[5:7] == ["SUBOBJECT", "SOURCE"] and wide.split()[-2:] == ["COUNT", "NAME"]
    recent = kubectl(kubesim, *ns, "events", "--for", "job/once").stdout
    assert "Job completed" in recent
    new_api = kubectl(kubesim, *ns, "get", "events.events.k8s.io", "-o", "name").stdout
    assert "event.events.k8s.io/once." in new_api
