"""Watches (events, bookmarks, 410 Gone), the request log, counters and fault injection."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from kubesim_manifests import configmap

from gitops_agent.testing.kubesim import Fault, KubeSim


def test_watch_sees_added_modified_deleted(core: client.CoreV1Api) -> None:
    start = core.list_namespaced_config_map("public").metadata.resource_version
    core.create_namespaced_config_map("public", configmap("w", {"a": "1"}))
    core.patch_namespaced_config_map("w", "public", {"data": {"a": "2"}})
    core.delete_namespaced_config_map("w", "public")
    events = []
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_config_map, "public", resource_version=start, timeout_seconds=2
    ):
        events.append((event["type"], event["object"].data))
        if len(events) == 3:
            stream.stop()
    assert [e[0] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1][1] == {"a": "2"}


def test_watch_with_label_selector_and_bookmarks(core: client.CoreV1Api) -> None:
    stream = watch.Watch()
    seen: list[str] = []

    def later() -> None:
        core.create_namespaced_config_map("public", configmap("x", {}, labels={"pick": "no"}))
        core.create_namespaced_config_map("public", configmap("y", {}, labels={"pick": "yes"}))

    timer = threading.Timer(0.2, later)
    timer.start()
    try:
        for event in stream.stream(
            core.list_namespaced_config_map,
            "public",
            label_selector="pick=yes",
            allow_watch_bookmarks=True,
            timeout_seconds=3,
        ):
            seen.append(event["type"])
            if "ADDED" in seen and "BOOKMARK" in seen:
                stream.stop()
    finally:
        timer.join()
    assert seen.count("ADDED") == 1 and "BOOKMARK" in seen


def test_too_old_resource_version_is_410_gone(core: client.CoreV1Api, kubesim: KubeSim) -> None:
    old = core.list_namespaced_config_map("public").metadata.resource_version
    core.create_namespaced_config_map("public", configmap("c", {}))
    kubesim.compact()
    with pytest.raises(ApiException) as caught:
        for _ in watch.Watch().stream(
            core.list_namespaced_config_map, "public", resource_version=old, timeout_seconds=2
        ):
            pass
    assert caught.value.status == 410


def test_request_log_and_counters(core: client.CoreV1Api, kubesim: KubeSim) -> None:
    kubesim.clear_requests()
    core.create_namespaced_config_map("public", configmap("r", {}), dry_run="All")
    core.create_namespaced_config_map("public", configmap("r", {}))
    core.list_namespaced_config_map("public", label_selector="a=b")
    core.read_namespaced_config_map("r", "public")
    log = kubesim.requests()
    assert [(r.verb, r.resource, r.code, r.dry_run) for r in log] == [
        ("create", "configmaps", 201, True),
        ("create", "configmaps", 201, False),
        ("list", "configmaps", 200, False),
        ("get", "configmaps", 200, False),
    ]
    assert log[2].query == {"labelSelector": "a=b"} and log[3].name == "r"
    assert log[0].namespace == "public" and log[0].group == "" and log[0].version == "v1"
    counters = kubesim.counters()
    assert counters["byVerb"] == {"create": 2, "list": 1, "get": 1}
    assert counters["byVerbResource"]["create configmaps"] == 2


def test_faults_status_latency_reset_and_rate(core: client.CoreV1Api, kubesim: KubeSim) -> None:
    kubesim.add_fault(verb="create", resource="configmaps", code=503, times=1)
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("public", configmap("f", {}))
    assert caught.value.status == 503
    assert json.loads(caught.value.body)["reason"] == "ServiceUnavailable"
    core.create_namespaced_config_map("public", configmap("f", {}))  # only once
    kubesim.add_fault(Fault(verb="get", resource="configmaps", code=0, latency=0.3, times=1))
    before = kubesim.requests()[-1].time
    core.read_namespaced_config_map("f", "public")
    assert kubesim.requests()[-1].duration >= 0.3 and kubesim.requests()[-1].time > before
    reset = kubesim.add_fault(verb="list", resource="configmaps", reset=True)
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.list_namespaced_config_map("public", _request_timeout=5)
    assert kubesim.requests(verb="list")[-1].code == 0  # no answer was sent
    assert kubesim.control.remove_fault(reset)
    kubesim.add_fault(verb="get", resource="configmaps", code=500, rate=0.5)
    codes = []
    for _ in range(40):
        try:
            core.read_namespaced_config_map("f", "public")
            codes.append(200)
        except ApiException as exc:
            codes.append(exc.status)
    assert 0 < codes.count(500) < 40 and codes.count(200) > 0


def _control(sim: KubeSim, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        sim.url + "/_kubesim/" + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_http_control_api(core: client.CoreV1Api, kubesim: KubeSim) -> None:
    fault = _control(
        kubesim,
        "POST",
        "faults",
        {"verb": "get", "resource": "configmaps", "code": 500, "times": 1},
    )
    assert fault["id"] >= 1
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("none", "public")
    assert caught.value.status == 500
    counters = _control(kubesim, "GET", "counters")
    assert counters["byCode"] == {"500": 1}
    entries = _control(kubesim, "GET", "requests?verb=get")["items"]
    assert entries[0]["resource"] == "configmaps" and entries[0]["code"] == 500
    rules = _control(kubesim, "PUT", "rules", [{"outcome": "fail", "image": "*x*"}])
    assert rules["items"][0]["outcome"] == "fail"
    core.create_namespaced_config_map("public", configmap("keep", {}))
    _control(kubesim, "POST", "reset")
    assert _control(kubesim, "GET", "requests")["items"] == []
    assert _control(kubesim, "GET", "rules")["items"] == []
    names = [c.metadata.name for c in core.list_namespaced_config_map("public").items]
    assert names == []
    assert {n.metadata.name for n in core.list_namespace().items} == {
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    }
