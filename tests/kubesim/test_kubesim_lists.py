"""LIST and WATCH at a resourceVersion, continue tokens, reset and the initial namespaces,
through the kubernetes client and through kubectl (issue 13, item 16)."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from kubesim_calls import kubectl, needs_kubectl, send, status_of
from kubesim_manifests import configmap, deployment

from gitops_agent.testing.kubesim import KubeSim
from gitops_agent.testing.kubesim.pytest_plugin import FAST

TOO_OLD = "The resourceVersion for the provided list is too old."


def _names(items: list[client.V1ConfigMap]) -> list[str]:
    return [c.metadata.name for c in items]


def _fill(core: client.CoreV1Api, *names: str) -> str:
    for name in names:
        core.create_namespaced_config_map("public", configmap(name, {"v": "1"}))
    return str(core.list_namespaced_config_map("public").metadata.resource_version)


def test_continue_pages_read_the_first_pages_snapshot(core: client.CoreV1Api) -> None:
    _fill(core, "a", "b", "c", "d", "e")
    first = core.list_namespaced_config_map("public", limit=2)
    assert _names(first.items) == ["a", "b"] and first.metadata.remaining_item_count == 3
    core.delete_namespaced_config_map("c", "public")
    core.patch_namespaced_config_map("d", "public", {"data": {"v": "2"}})
    core.create_namespaced_config_map("public", configmap("bb", {"v": "1"}))
    rest = core.list_namespaced_config_map("public", limit=2, _continue=first.metadata._continue)
    assert _names(rest.items) == ["c", "d"]  # as they were: c not yet deleted, no bb
    assert rest.items[1].data == {"v": "1"}
    assert rest.metadata.resource_version == first.metadata.resource_version
    last = core.list_namespaced_config_map("public", limit=2, _continue=rest.metadata._continue)
    assert _names(last.items) == ["e"] and not last.metadata._continue
    assert _names(core.list_namespaced_config_map("public").items) == ["a", "b", "bb", "d", "e"]


def test_a_compacted_continue_is_410_with_a_token_for_the_rest(
    core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    _fill(core, "a", "b", "c")
    first = core.list_namespaced_config_map("public", limit=1)
    core.create_namespaced_config_map("public", configmap("aa", {}))
    kubesim.compact()
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map("public", limit=1, _continue=first.metadata._continue)
    status = status_of(caught.value)
    assert caught.value.status == 410 and status["reason"] == "Expired"
    assert status["message"].startswith("The provided continue parameter is too old")
    newest = core.list_namespaced_config_map(
        "public", _continue=status["metadata"]["continue"]
    )  # the token of the 410 continues at the newest version: aa shows up
    assert _names(newest.items) == ["aa", "b", "c"]


def test_exact_reads_a_past_version_410_once_compacted_504_in_the_future(
    core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    before = _fill(core, "a")
    core.patch_namespaced_config_map("a", "public", {"data": {"v": "2"}})
    core.create_namespaced_config_map("public", configmap("b", {}))
    past = core.list_namespaced_config_map(
        "public", resource_version=before, resource_version_match="Exact"
    )
    assert _names(past.items) == ["a"] and past.items[0].data == {"v": "1"}
    assert past.metadata.resource_version == before
    future = str(int(core.list_namespaced_config_map("public").metadata.resource_version) + 5)
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map(
            "public", resource_version=future, resource_version_match="Exact"
        )
    status = status_of(caught.value)
    assert caught.value.status == 504 and status["reason"] == "Timeout"
    assert status["message"].startswith(f"Timeout: Too large resource version: {future}, current:")
    assert status["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]
    kubesim.compact()
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map(
            "public", resource_version=before, resource_version_match="Exact"
        )
    assert caught.value.status == 410 and status_of(caught.value)["message"] == TOO_OLD


def test_not_older_than_a_future_version_waits_then_504(
    api_client: client.ApiClient, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    future = str(int(_fill(core, "a")) + 100)
    reply = send(
        api_client,
        "GET",
        "/api/v1/namespaces/public/configmaps",
        b"",
        query=[("resourceVersion", future), ("resourceVersionMatch", "NotOlderThan")],
    )
    assert reply.status == 504 and reply.body["details"]["retryAfterSeconds"] == 1
    assert kubesim.requests(verb="list")[-1].duration >= kubesim.config.fresh_wait


def test_malformed_versions_and_list_options(api_client: client.ApiClient) -> None:
    path = "/api/v1/namespaces/public/configmaps"
    watched = send(api_client, "GET", path, b"", query=[("watch", "1"), ("resourceVersion", "x")])
    # kube-apiserver lets the parse error of the watch cache through: 500 without a reason
    assert watched.status == 500 and "reason" not in watched.body
    assert watched.body["message"] == (
        'resourceVersion: Invalid value: "x": strconv.ParseUint: parsing "x": invalid syntax'
    )
    exact = send(
        api_client,
        "GET",
        path,
        b"",
        query=[("resourceVersion", "x"), ("resourceVersionMatch", "Exact")],
    )
    assert exact.status == 400 and exact.body["message"].startswith("invalid resource version: ")
    orphan = send(api_client, "GET", path, b"", query=[("resourceVersionMatch", "Exact")])
    assert orphan.status == 422 and orphan.body["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden unless resourceVersion is provided"
    )
    token = send(api_client, "GET", path, b"", query=[("limit", "1"), ("continue", "!!")])
    assert token.status == 400 and token.body["message"].startswith(
        "invalid continue token: continue key is not valid"
    )


def test_watch_resumes_from_a_listed_version(core: client.CoreV1Api) -> None:
    start = _fill(core, "a")
    core.create_namespaced_config_map("public", configmap("b", {}))
    seen = []
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_config_map, "public", resource_version=start, timeout_seconds=2
    ):
        seen.append((event["type"], event["object"].metadata.name))
        stream.stop()
    assert seen == [("ADDED", "b")]


def test_a_new_cluster_has_the_system_namespaces_and_no_public() -> None:
    with KubeSim(FAST) as sim:
        api = client.ApiClient(client.Configuration(host=sim.url))
        names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
        api.close()
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_reset_keeps_the_controllers_running(apps: client.AppsV1Api, kubesim: KubeSim) -> None:
    apps.create_namespaced_deployment("public", deployment("before"))
    kubesim.reset()
    client.CoreV1Api(apps.api_client).create_namespace({"metadata": {"name": "public"}})
    apps.create_namespaced_deployment("public", deployment("after", replicas=2))
    ready = kubesim.wait_for(
        lambda: apps.read_namespaced_deployment("after", "public").status.ready_replicas == 2,
        timeout=5,
    )
    assert ready and [d.metadata.name for d in apps.list_namespaced_deployment("public").items] == [
        "after"
    ]


@needs_kubectl
def test_kubectl_pages_exact_reads_and_namespaces(core: client.CoreV1Api, kubesim: KubeSim) -> None:
    before = _fill(core, "a", "b", "c")
    paged = kubectl(kubesim, "-n", "public", "get", "cm", "--chunk-size=1", "-o", "name", "-v=6")
    assert paged.stdout.split() == ["configmap/a", "configmap/b", "configmap/c"]
    assert paged.stderr.count("continue=") == 2
    core.delete_namespaced_config_map("b", "public")
    raw = (
        f"/api/v1/namespaces/public/configmaps?resourceVersion={before}&resourceVersionMatch=Exact"
    )
    listed = json.loads(kubectl(kubesim, "get", "--raw", raw).stdout)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b", "c"]
    kubesim.compact()
    gone = kubectl(kubesim, "get", "--raw", raw, check=False)
    assert gone.returncode == 1 and f"(Expired): {TOO_OLD}" in gone.stderr
    future = raw.replace(f"resourceVersion={before}", "resourceVersion=99999")
    late = kubectl(kubesim, "get", "--raw", future, check=False)
    assert "Too large resource version: 99999" in late.stderr
    watch_x = "/api/v1/namespaces/public/configmaps?watch=1&resourceVersion=x"
    bad = kubectl(kubesim, "get", "--raw", watch_x, check=False)
    assert bad.returncode == 1 and bad.stderr == (
        'Error from server: resourceVersion: Invalid value: "x": strconv.ParseUint: '
        'parsing "x": invalid syntax\n'
    )
    namespaces = kubectl(kubesim, "get", "ns", "-o", "name").stdout.split()
    assert "namespace/kube-public" in namespaces and "namespace/kube-node-lease" in namespaces
