"""CRUD semantics through the real kubernetes client: typed and dynamic."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException
from kubesim_manifests import OWNER, configmap, deployment

from gitops_agent.testing.kubesim import KubeSim


def _status(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def test_initial_namespaces(core: client.CoreV1Api) -> None:
    names = {ns.metadata.name for ns in core.list_namespace().items}
    # those of a new cluster, and the one the tests' fixture created
    assert names == {"default", "kube-node-lease", "kube-public", "kube-system", "public"}


def test_create_get_and_server_fields(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_config_map("public", configmap("cfg", {"a": "1"}))
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert int(created.metadata.resource_version) > 0
    read = core.read_namespaced_config_map("cfg", "public")
    assert read.data == {"a": "1"} and read.metadata.uid == created.metadata.uid


def test_not_found_is_a_404_status(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("missing", "public")
    status = _status(caught.value)
    assert caught.value.status == 404
    assert status["reason"] == "NotFound" and status["code"] == 404
    assert status["message"] == 'configmaps "missing" not found'
    assert status["details"] == {"name": "missing", "kind": "configmaps"}


def test_already_exists_and_missing_namespace(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("public", configmap("dup", {}))
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("public", configmap("dup", {}))
    assert caught.value.status == 409 and _status(caught.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("nowhere", configmap("x", {}, namespace="nowhere"))
    assert caught.value.status == 404
    assert _status(caught.value)["message"] == 'namespaces "nowhere" not found'


def test_stale_resource_version_is_a_409(core: client.CoreV1Api) -> None:
    first = core.create_namespaced_config_map("public", configmap("occ", {"v": "1"}))
    first.data = {"v": "2"}
    updated = core.replace_namespaced_config_map("occ", "public", first)
    assert int(updated.metadata.resource_version) > int(first.metadata.resource_version)
    first.data = {"v": "3"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("occ", "public", first)  # first's version is stale
    status = _status(caught.value)
    assert caught.value.status == 409 and status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]


def test_invalid_object_is_a_422_with_causes(apps: client.AppsV1Api) -> None:
    bad = deployment("bad")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = ""
    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("public", bad)
    status = _status(caught.value)
    assert caught.value.status == 422 and status["reason"] == "Invalid"
    fields = {c["field"]: c for c in status["details"]["causes"]}
    assert fields["spec.template.metadata.labels"]["reason"] == "FieldValueInvalid"
    assert fields["spec.template.spec.containers[0].image"]["reason"] == "FieldValueRequired"
    assert status["message"].startswith('Deployment.apps "bad" is invalid: [')


def raw(
    api: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
) -> tuple[int, Any, Any]:
    """A request through the client's transport: (status, JSON body, headers)."""
    url = api.configuration.host + path
    try:
        response = api.call_api(
            method, url, header_params={"Content-Type": content_type}, body=body
        )
    except ApiException as exc:
        return exc.status, json.loads(exc.body), exc.headers
    return response.status, json.loads(response.read()), response.headers


def test_unknown_field_strict_is_rejected_and_warn_drops_it(
    api_client: client.ApiClient, kubesim: KubeSim
) -> None:
    body = configmap("strict", {"a": "1"})
    body["extra"] = True
    path = "/api/v1/namespaces/public/configmaps"
    code, status, _ = raw(api_client, "POST", path + "?fieldValidation=Strict", body)
    assert code == 400 and status["reason"] == "BadRequest"
    assert 'strict decoding error: unknown field "extra"' in status["message"]
    code, created, headers = raw(api_client, "POST", path, body)
    assert code == 201 and headers["Warning"] == '299 - "unknown field \\"extra\\""'
    assert "extra" not in created


def test_generation_moves_on_spec_changes_only(apps: client.AppsV1Api) -> None:
    created = apps.create_namespaced_deployment("public", deployment("gen"))
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment(
        "gen", "public", {"metadata": {"labels": {"x": "y"}}}
    )
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("gen", "public", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_patch_formats(apps: client.AppsV1Api, api_client: client.ApiClient) -> None:
    apps.create_namespaced_deployment("public", deployment("p", image="nginx:1"))
    sidecar = {"name": "side", "image": "busybox:1.36"}
    smp = apps.patch_namespaced_deployment(
        "p", "public", {"spec": {"template": {"spec": {"containers": [sidecar]}}}}
    )
    assert [c.name for c in smp.spec.template.spec.containers] == ["main", "side"]
    path = "/apis/apps/v1/namespaces/public/deployments/p"
    json_patch = [
        {"op": "replace", "path": "/spec/replicas", "value": 4},
        {"op": "remove", "path": "/spec/template/spec/containers/1"},
    ]
    _, patched, _ = raw(api_client, "PATCH", path, json_patch, "application/json-patch+json")
    assert patched["spec"]["replicas"] == 4
    assert len(patched["spec"]["template"]["spec"]["containers"]) == 1
    _, merged, _ = raw(
        api_client,
        "PATCH",
        path,
        {"spec": {"template": {"spec": {"containers": [sidecar]}}}},
        "application/merge-patch+json",
    )
    assert [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]] == ["side"]


def test_selector_lists(apps: client.AppsV1Api) -> None:
    for name, owner in (("a", "prod"), ("b", "prod"), ("c", "dev")):
        apps.create_namespaced_deployment("public", deployment(name, owner=owner))
    prod = apps.list_namespaced_deployment("public", label_selector=f"{OWNER}=prod")
    assert sorted(d.metadata.name for d in prod.items) == ["a", "b"]
    either = apps.list_deployment_for_all_namespaces(label_selector=f"{OWNER} in (dev,test),app")
    assert [d.metadata.name for d in either.items] == ["c"]
    named = apps.list_namespaced_deployment("public", field_selector="metadata.name=b")
    assert [d.metadata.name for d in named.items] == ["b"]
    page = apps.list_namespaced_deployment("public", limit=2)
    assert len(page.items) == 2 and page.metadata._continue
    rest = apps.list_namespaced_deployment("public", limit=2, _continue=page.metadata._continue)
    assert [d.metadata.name for d in rest.items] == ["c"]


def test_dry_run_writes_nothing(core: client.CoreV1Api, kubesim: KubeSim) -> None:
    core.create_namespaced_config_map("public", configmap("dry", {}), dry_run="All")
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", "public")
    assert [r.dry_run for r in kubesim.requests(verb="create")] == [True]


def _apply(
    dyn: dynamic.DynamicClient, body: dict[str, Any], manager: str, force: bool = False
) -> dict[str, Any]:
    resource = dyn.resources.get(api_version=body["apiVersion"], kind=body["kind"])
    applied = resource.server_side_apply(
        body=body,
        field_manager=manager,
        force_conflicts=force,
        namespace=body["metadata"]["namespace"],
    )
    return applied.to_dict()


def test_server_side_apply_conflict_force_and_managed_fields(dyn: dynamic.DynamicClient) -> None:
    first = _apply(dyn, deployment("ssa", replicas=2), "gitops-agent")
    managers = {m["manager"]: m for m in first["metadata"]["managedFields"]}
    entry = managers["gitops-agent"]
    assert entry["operation"] == "Apply"
    assert "f:replicas" in entry["fieldsV1"]["f:spec"]
    other = deployment("ssa", replicas=5)
    with pytest.raises(ApiException) as caught:
        _apply(dyn, other, "someone-else")
    status = _status(caught.value)
    assert caught.value.status == 409 and status["reason"] == "Conflict"
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "gitops-agent": .spec.replicas'
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "gitops-agent"',
            "field": ".spec.replicas",
        }
    ]
    forced = _apply(dyn, other, "someone-else", force=True)
    assert forced["spec"]["replicas"] == 5
    owners = {m["manager"]: m["fieldsV1"] for m in forced["metadata"]["managedFields"]}
    assert "f:replicas" not in owners["gitops-agent"]["f:spec"]


def test_server_side_apply_removes_fields_the_manager_dropped(dyn: dynamic.DynamicClient) -> None:
    body = configmap("cfg", {"a": "1", "b": "2"})
    first = _apply(dyn, body, "gitops-agent")
    again = _apply(dyn, body, "gitops-agent")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]  # no-op
    body["data"] = {"a": "1"}
    applied = _apply(dyn, body, "gitops-agent")
    assert applied["data"] == {"a": "1"}


def test_dynamic_client_list_by_label(dyn: dynamic.DynamicClient) -> None:
    _apply(dyn, configmap("one", {}, labels={OWNER: "prod"}), "gitops-agent")
    _apply(dyn, configmap("two", {}, labels={OWNER: "dev"}), "gitops-agent")
    resource = dyn.resources.get(api_version="v1", kind="ConfigMap")
    found = resource.get(namespace="public", label_selector=f"{OWNER}=prod")
    assert [item.metadata.name for item in found.items] == ["one"]


def test_delete_options_must_be_an_object(kubesim: KubeSim) -> None:
    """The real server decodes DeleteOptions from the body; a JSON string is a 400."""
    url = urllib.parse.urlsplit(kubesim.url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        body = json.dumps(json.dumps({"propagationPolicy": "Background"}))
        connection.request(
            "DELETE",
            "/api/v1/namespaces/default/configmaps/missing",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        status = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400
    assert status["reason"] == "BadRequest"
    assert "cannot unmarshal string into Go value of type v1.DeleteOptions" in status["message"]
