"""The request-path behaviours of issue 13 through kubectl (v1.32): what kubectl sends and
prints against kubesim is what it sends and prints against kube-apiserver. (The same
behaviours through the kubernetes client are in ``test_kubesim_apply_semantics.py`` and
``test_kubesim_validation.py``.)"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from kubesim_calls import kubectl, needs_kubectl
from kubesim_manifests import configmap, deployment

from gitops_agent.testing.kubesim import KubeSim

pytestmark = needs_kubectl
Obj = dict[str, Any]


def _yaml(*docs: Obj) -> str:
    return yaml.safe_dump_all(docs)


def _apply(sim: KubeSim, *docs: Obj, check: bool = True, extra: tuple[str, ...] = ()) -> Any:
    return kubectl(
        sim, "apply", "--server-side", *extra, "-f", "-", stdin=_yaml(*docs), check=check
    )


def _get(sim: KubeSim, kind: str, name: str) -> Obj:
    got: Obj = json.loads(kubectl(sim, "-n", "public", "get", kind, name, "-o", "json").stdout)
    return got


def _rich() -> Obj:
    body = deployment("lists")
    body["spec"]["template"]["spec"] = {
        "containers": [
            {
                "name": "main",
                "image": "busybox:1.36",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 80}, {"containerPort": 81}],
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data"},
                    {"name": "cache", "mountPath": "/cache"},
                ],
            },
            {"name": "sidecar", "image": "busybox:1.36"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}],
    }
    return body


def test_apply_removes_whole_list_items(kubesim: KubeSim) -> None:
    body = _rich()
    _apply(kubesim, body)
    pod = body["spec"]["template"]["spec"]
    main = pod["containers"][0]
    main["env"], main["ports"], main["volumeMounts"] = (
        main["env"][:1],
        main["ports"][:1],
        main["volumeMounts"][:1],
    )
    pod["containers"], pod["volumes"] = [main], pod["volumes"][:1]
    _apply(kubesim, body)
    live = _get(kubesim, "deployment", "lists")["spec"]["template"]["spec"]
    assert [c["name"] for c in live["containers"]] == ["main"]
    assert live["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    assert [p["containerPort"] for p in live["containers"][0]["ports"]] == [80]
    assert [m["name"] for m in live["containers"][0]["volumeMounts"]] == ["data"]
    assert [v["name"] for v in live["volumes"]] == ["data"]


def test_apply_with_unknown_fields_or_duplicate_keys_is_a_500(kubesim: KubeSim) -> None:
    bogus = deployment("bogus")
    bogus["spec"]["bogus"] = 1
    for extra in ((), ("--validate=false",)):
        failed = _apply(kubesim, bogus, check=False, extra=extra)
        assert failed.returncode != 0
        assert (
            "Error from server: failed to create typed patch object (public/bogus; apps/v1, "
            "Kind=Deployment): .spec.bogus: field not declared in schema"
        ) in failed.stderr
    dups = deployment("dups")
    dups["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "value": "1"},
        {"name": "A", "value": "2"},
    ]
    failed = _apply(kubesim, dups, check=False)
    assert failed.returncode != 0
    assert 'env: duplicate entries for key [name="A"]' in failed.stderr
    created = kubectl(kubesim, "create", "-f", "-", stdin=_yaml(dups))
    assert "deployment.apps/dups created" in created.stdout
    assert (
        'Warning: spec.template.spec.containers[0].env[1]: hides previous definition of "A", '
        "which may be dropped when using apply"
    ) in created.stderr


def test_apply_with_managed_fields_is_refused(kubesim: KubeSim) -> None:
    body = configmap("carried", {"a": "1"})
    body["metadata"]["managedFields"] = [{"manager": "someone", "operation": "Apply"}]
    failed = _apply(kubesim, body, check=False)
    assert "Error from server (BadRequest): metadata.managedFields must be nil" in failed.stderr


def test_pod_template_validation(kubesim: KubeSim) -> None:
    body = deployment("checked")
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    container["livenessProbe"] = {"periodSeconds": 5}
    body["spec"]["revisionHistoryLimit"] = -1
    failed = _apply(kubesim, body, check=False)
    assert 'The Deployment "checked" is invalid:' in failed.stderr
    for expected in (
        'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"',
        "spec.template.spec.containers[0].livenessProbe: Required value: must specify a "
        "handler type",
        "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
    ):
        assert expected in failed.stderr


def test_size_limits_and_trailing_newlines(kubesim: KubeSim) -> None:
    big = configmap("big", {"a": "x" * (1024 * 1024 + 1)})
    failed = _apply(kubesim, big, check=False)
    assert (
        'The ConfigMap "big" is invalid: []: Too long: may not be more than 1048576 bytes'
        in failed.stderr
    )
    newline = configmap("newline", {}, labels={"app": "web\n"})
    failed = _apply(kubesim, newline, check=False)
    assert 'The ConfigMap "newline" is invalid: metadata.labels: Invalid value: "web\\n"' in (
        failed.stderr
    )


def test_uid_preconditions(kubesim: KubeSim) -> None:
    _apply(kubesim, configmap("uids", {"a": "1"}))
    live = _get(kubesim, "configmap", "uids")
    uid = live["metadata"]["uid"]
    live["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000"
    failed = kubectl(kubesim, "replace", "-f", "-", stdin=json.dumps(live), check=False)
    assert (
        'Operation cannot be fulfilled on configmaps "uids": Precondition failed: UID in '
        f"precondition: 00000000-0000-0000-0000-000000000000, UID in object meta: {uid}"
    ) in failed.stderr
    ghost = configmap("ghost", {})
    ghost["metadata"]["uid"] = "1234"
    failed = _apply(kubesim, ghost, check=False)
    assert (
        'Operation cannot be fulfilled on configmaps "ghost": uid mismatch: the provided '
        "object specified uid 1234, and no existing object was found"
    ) in failed.stderr


def _statefulset() -> Obj:
    body = deployment("db")
    body["kind"] = "StatefulSet"
    body["spec"]["serviceName"] = "db"
    return body


def test_statefulset_and_claim_updates(kubesim: KubeSim) -> None:
    _apply(kubesim, _statefulset())
    changed = _statefulset()
    changed["spec"]["serviceName"] = "other"
    failed = _apply(kubesim, changed, check=False)
    assert (
        'The StatefulSet "db" is invalid: spec: Forbidden: updates to statefulset spec for '
        "fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    ) in failed.stderr
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "public"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
    }
    _apply(kubesim, claim)
    kubectl(
        kubesim,
        "-n",
        "public",
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "pvc/data",
        "--timeout=20s",
    )
    for size, expected in (
        ("1Gi", "field can not be less than status.capacity"),
        ("5Gi", "only dynamically provisioned pvc can be resized"),
    ):
        resized = copy.deepcopy(claim)
        resized["spec"]["resources"]["requests"]["storage"] = size
        failed = _apply(kubesim, resized, check=False)
        assert expected in failed.stderr


def test_no_new_finalizers_while_deleting_and_services(kubesim: KubeSim) -> None:
    held = configmap("held", {})
    held["metadata"]["finalizers"] = ["example.com/keep"]
    _apply(kubesim, held)
    kubectl(kubesim, "-n", "public", "delete", "configmap", "held", "--wait=false")
    failed = kubectl(
        kubesim,
        "-n",
        "public",
        "patch",
        "configmap",
        "held",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":["example.com/keep","example.com/more"]}}',
        check=False,
    )
    assert (
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is "
        'being deleted, found new finalizers []string{"example.com/more"}'
    ) in failed.stderr
    services = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "public"},
            "spec": {"type": kind, "selector": {"app": name}, "ports": [{"port": 80}]},
        }
        for name, kind in (("web", "ClusterIP"), ("edge", "NodePort"))
    ]
    _apply(kubesim, *services)
    rows = kubectl(kubesim, "-n", "public", "get", "svc", "--no-headers").stdout.splitlines()
    table = {row.split()[0]: row.split() for row in rows}
    assert table["web"][2].startswith("10.") and table["web"][4] == "80/TCP"
    assert table["edge"][2].startswith("10.") and table["edge"][4].startswith("80:3")
    bad = copy.deepcopy(services[0])
    bad["spec"]["type"] = "Magic"
    failed = _apply(kubesim, bad, check=False)
    assert 'spec.type: Unsupported value: "Magic"' in failed.stderr


def test_duplicate_json_fields(kubesim: KubeSim, tmp_path: Any) -> None:
    body = tmp_path / "twice.json"
    body.write_text(
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"twice"},'
        '"data":{"a":"1","a":"2"}}'
    )
    path = "/api/v1/namespaces/public/configmaps"
    failed = kubectl(
        kubesim, "create", "--raw", f"{path}?fieldValidation=Strict", "-f", str(body), check=False
    )
    assert (
        'Error from server (BadRequest): ConfigMap in version "v1" cannot be handled as a '
        'ConfigMap: strict decoding error: duplicate field "data.a"'
    ) in failed.stderr
    warned = kubectl(kubesim, "create", "--raw", f"{path}?fieldValidation=Warn", "-f", str(body))
    assert 'Warning: duplicate field "data.a"' in warned.stderr
    assert json.loads(warned.stdout)["data"] == {"a": "2"}
