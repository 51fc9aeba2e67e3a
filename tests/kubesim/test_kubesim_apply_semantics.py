"""Server-side apply and decoding as kube-apiserver does them, through the kubernetes client:
list items a manager stops applying go whole, apply bodies are typed strictly, uid
preconditions, duplicate fields. (The same behaviours through kubectl are in
``test_kubesim_conformance_kubectl.py``.)"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException
from kubesim_calls import APPLY, send, status_of, warnings_of
from kubesim_manifests import configmap, deployment

DEPLOYMENTS = "/apis/apps/v1/namespaces/public/deployments"


def _apply(dyn: dynamic.DynamicClient, body: dict[str, Any], manager: str) -> dict[str, Any]:
    resource = dyn.resources.get(api_version=body["apiVersion"], kind=body["kind"])
    applied = resource.server_side_apply(
        body=body, field_manager=manager, force_conflicts=True, namespace="public"
    )
    result: dict[str, Any] = applied.to_dict()
    return result


def _rich(name: str) -> dict[str, Any]:
    """A Deployment using every list map the agent renders: env, ports, mounts, volumes."""
    body = deployment(name)
    pod = body["spec"]["template"]["spec"]
    pod["containers"] = [
        {
            "name": "main",
            "image": "busybox:1.36",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 81}],
            "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "cache", "mountPath": "/cache"},
            ],
        },
        {"name": "sidecar", "image": "busybox:1.36"},
    ]
    pod["volumes"] = [{"name": "data", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]
    return body


def _trimmed(body: dict[str, Any]) -> dict[str, Any]:
    smaller = copy.deepcopy(body)
    pod = smaller["spec"]["template"]["spec"]
    main = pod["containers"][0]
    main["env"], main["ports"] = main["env"][:1], main["ports"][:1]
    main["volumeMounts"] = main["volumeMounts"][:1]
    pod["containers"], pod["volumes"] = [main], pod["volumes"][:1]
    return smaller


def test_apply_removes_whole_list_items_the_manager_dropped(dyn: dynamic.DynamicClient) -> None:
    body = _rich("lists")
    _apply(dyn, body, "gitops-agent")
    applied = _apply(dyn, _trimmed(body), "gitops-agent")
    pod = applied["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["main"]
    main = pod["containers"][0]
    assert main["env"] == [{"name": "A", "value": "1"}]
    assert main["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
    assert main["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert pod["volumes"] == [{"name": "data", "emptyDir": {}}]
    fields = json.dumps(applied["metadata"]["managedFields"])
    assert '\\"name\\":\\"B\\"' not in fields and "sidecar" not in fields and "cache" not in fields


def test_dropped_items_other_managers_own_stay(
    dyn: dynamic.DynamicClient, apps: client.AppsV1Api
) -> None:
    body = _rich("shared")
    _apply(dyn, body, "gitops-agent")
    _apply(dyn, body, "another-applier")  # co-owns every item
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "main", "env": [{"name": "C", "value": "3"}]}]}
            }
        }
    }
    apps.patch_namespaced_deployment("shared", "public", patch, field_manager="kubectl-edit")
    applied = _apply(dyn, _trimmed(body), "gitops-agent")
    pod = applied["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["main", "sidecar"]
    assert [e["name"] for e in pod["containers"][0]["env"]] == ["A", "B", "C"]
    assert len(pod["volumes"]) == 2


@pytest.mark.parametrize("validation", [None, "Strict", "Warn", "Ignore"])
def test_apply_with_an_unknown_field_is_a_500_whatever_field_validation(
    apps: client.AppsV1Api, validation: str | None
) -> None:
    body = deployment("bogus")
    body["spec"]["bogus"] = 1
    for _ in range(2):  # a create, then (after a clean apply) an update
        with pytest.raises(ApiException) as caught:
            apps.patch_namespaced_deployment(
                "bogus",
                "public",
                body,
                field_manager="gitops-agent",
                field_validation=validation,
                force=True,
                _content_type=APPLY,
            )
        assert caught.value.status == 500
        assert status_of(caught.value)["message"] == (
            "failed to create typed patch object (public/bogus; apps/v1, Kind=Deployment): "
            ".spec.bogus: field not declared in schema"
        )
        clean = deployment("bogus")
        apps.patch_namespaced_deployment(
            "bogus", "public", clean, field_manager="gitops-agent", _content_type=APPLY
        )
    assert apps.read_namespaced_deployment("bogus", "public").spec.replicas == 1


def test_apply_with_duplicate_list_keys_is_a_500(apps: client.AppsV1Api) -> None:
    body = deployment("dups")
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "value": "1"},
        {"name": "A", "value": "2"},
    ]
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment(
            "dups", "public", body, field_manager="gitops-agent", _content_type=APPLY
        )
    assert caught.value.status == 500
    assert status_of(caught.value)["message"].endswith(
        '.spec.template.spec.containers[name="main"].env: duplicate entries for key [name="A"]'
    )
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["env"] = []
    container["ports"] = [{"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}]
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment(
            "dups", "public", body, field_manager="gitops-agent", _content_type=APPLY
        )
    assert status_of(caught.value)["message"].endswith(
        'duplicate entries for key [containerPort=80,protocol="TCP"]'
    )


def test_create_and_update_with_duplicate_env_names_warn(apps: client.AppsV1Api) -> None:
    body = deployment("envdup")
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "value": "1"},
        {"name": "A", "value": "2"},
    ]
    live, code, headers = apps.create_namespaced_deployment_with_http_info("public", body)
    expected = (
        'spec.template.spec.containers[0].env[1]: hides previous definition of "A", '
        "which may be dropped when using apply"
    )
    assert code == 201 and warnings_of(headers) == [expected]
    live.spec.template.spec.containers[0].env[1].value = "3"
    _, code, headers = apps.replace_namespaced_deployment_with_http_info("envdup", "public", live)
    assert code == 200 and warnings_of(headers) == [expected]


def test_apply_without_api_version_or_kind_is_a_400(api_client: client.ApiClient) -> None:
    body = deployment("typeless")
    del body["apiVersion"], body["kind"]
    reply = send(
        api_client,
        "PATCH",
        f"{DEPLOYMENTS}/typeless",
        body,
        content_type=APPLY,
        query=[("fieldManager", "gitops-agent")],
    )
    assert (reply.status, reply.body["reason"]) == (400, "BadRequest")
    assert reply.body["message"] == "invalid object type: /, Kind="
    body["apiVersion"], body["kind"] = "apps/v1", "StatefulSet"
    reply = send(
        api_client,
        "PATCH",
        f"{DEPLOYMENTS}/typeless",
        body,
        content_type=APPLY,
        query=[("fieldManager", "gitops-agent")],
    )
    assert reply.body["message"] == "invalid object type: apps/v1, Kind=StatefulSet"


def test_apply_without_a_field_manager_is_invalid_patch_options(
    api_client: client.ApiClient,
) -> None:
    reply = send(api_client, "PATCH", f"{DEPLOYMENTS}/anon", deployment("anon"), content_type=APPLY)
    assert (reply.status, reply.body["reason"]) == (422, "Invalid")
    assert reply.body["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for '
        "apply patch"
    )


def test_apply_with_managed_fields_is_a_400(dyn: dynamic.DynamicClient) -> None:
    body = configmap("carried", {"a": "1"})
    applied = _apply(dyn, body, "gitops-agent")
    body["metadata"]["managedFields"] = applied["metadata"]["managedFields"]
    with pytest.raises(ApiException) as caught:
        _apply(dyn, body, "gitops-agent")
    assert caught.value.status == 400
    assert status_of(caught.value)["message"] == "metadata.managedFields must be nil"


def test_uid_preconditions(core: client.CoreV1Api, dyn: dynamic.DynamicClient) -> None:
    created = core.create_namespaced_config_map("public", configmap("uids", {"a": "1"}))
    uid = created.metadata.uid
    created.metadata.uid = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("uids", "public", created)
    assert caught.value.status == 409 and status_of(caught.value)["message"] == (
        'Operation cannot be fulfilled on configmaps "uids": Precondition failed: UID in '
        f"precondition: 00000000-0000-0000-0000-000000000000, UID in object meta: {uid}"
    )
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map("uids", "public", {"metadata": {"uid": "other"}})
    assert caught.value.status == 422
    assert status_of(caught.value)["details"]["causes"][0] == {
        "reason": "FieldValueInvalid",
        "message": 'Invalid value: "other": field is immutable',
        "field": "metadata.uid",
    }
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_config_map(
            "uids", "public", body=client.V1DeleteOptions(preconditions={"uid": "other"})
        )
    assert caught.value.status == 409 and "UID in precondition: other" in caught.value.body
    missing = configmap("ghost", {})
    missing["metadata"]["uid"] = "1234"
    with pytest.raises(ApiException) as caught:
        _apply(dyn, missing, "gitops-agent")
    assert caught.value.status == 409 and status_of(caught.value)["message"] == (
        'Operation cannot be fulfilled on configmaps "ghost": uid mismatch: the provided '
        "object specified uid 1234, and no existing object was found"
    )


_DUPLICATE = (
    b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"twice"},"data":{"a":"1","a":"2"}}'
)


def test_duplicate_json_fields_strict_and_warn(api_client: client.ApiClient) -> None:
    path = "/api/v1/namespaces/public/configmaps"
    strict = send(api_client, "POST", path, _DUPLICATE, query=[("fieldValidation", "Strict")])
    assert (strict.status, strict.body["reason"]) == (400, "BadRequest")
    assert strict.body["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'duplicate field "data.a"'
    )
    warned = send(api_client, "POST", path, _DUPLICATE, query=[("fieldValidation", "Warn")])
    assert warned.status == 201 and warned.warnings == ['duplicate field "data.a"']
    assert warned.body["data"] == {"a": "2"}
    patch = b'{"data":{"b":"1","b":"2"}}'
    merge = send(
        api_client,
        "PATCH",
        f"{path}/twice",
        patch,
        content_type="application/merge-patch+json",
        query=[("fieldValidation", "Strict")],
    )
    assert merge.status == 422 and merge.body["details"]["causes"][0]["field"] == "patch"
    assert merge.body["message"].endswith('strict decoding error: duplicate field "data.b"')
    applied = send(
        api_client,
        "PATCH",
        f"{path}/twice",
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"twice"},"data":{"c":"1","c":"2"}}',
        content_type=APPLY,
        query=[("fieldManager", "m"), ("fieldValidation", "Strict")],
    )
    assert applied.status == 400 and applied.body["message"] == (
        "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 1: key "c" already set in map'
    )
