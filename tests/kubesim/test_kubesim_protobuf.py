"""Protobuf request bodies (issue 13, item 14): ``kubectl create`` sends the objects of its
typed clients as ``application/vnd.kubernetes.protobuf``; kubesim decodes them to the JSON of
the same object. Through kubectl (the five create commands) and raw requests of the client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubesim_calls import kubectl, needs_kubectl, send

from gitops_agent.testing.kubesim import KubeSim

Obj = dict[str, Any]
PROTOBUF = "application/vnd.kubernetes.protobuf"
CREATES = [
    ("namespace", ["create", "namespace", "team"]),
    ("configmap", ["-n", "public", "create", "configmap", "cfg", "--from-literal=a=1"]),
    ("secret", ["-n", "public", "create", "secret", "generic", "pw", "--from-literal=k=s3cr3t"]),
    (
        "deployment",
        [
            "-n",
            "public",
            "create",
            "deployment",
            "web",
            "--image=busybox:1.36",
            "--replicas=2",
            "--port=8080",
            "--",
            "sleep",
            "3600",
        ],
    ),
    ("job", ["-n", "public", "create", "job", "once", "--image=busybox:1.36", "--", "echo", "hi"]),
]


def _contains(whole: Any, part: Any, path: str = "") -> list[str]:
    """Where ``part`` (what kubectl built) is not in ``whole`` (what the server stored)."""
    if isinstance(part, dict):
        if not isinstance(whole, dict):
            return [path]
        return [m for k, v in part.items() for m in _contains(whole.get(k), v, f"{path}.{k}")]
    if isinstance(part, list):
        if not isinstance(whole, list) or len(whole) != len(part):
            return [path]
        return [
            m
            for i, (w, p) in enumerate(zip(whole, part, strict=True))
            for m in _contains(w, p, f"{path}[{i}]")
        ]
    return [] if whole == part else [f"{path}: {whole!r} != {part!r}"]


@needs_kubectl
@pytest.mark.parametrize(("kind", "args"), CREATES, ids=[c[0] for c in CREATES])
def test_kubectl_create_sends_protobuf_and_the_object_is_the_one_it_built(
    kubesim: KubeSim, kind: str, args: list[str]
) -> None:
    cut = args.index("--") if "--" in args else len(args)
    dry = [*args[:cut], "--dry-run=client", "-o", "json", *args[cut:]]
    built: Obj = json.loads(kubectl(kubesim, *dry).stdout)
    out = kubectl(kubesim, *args).stdout
    assert out.strip().endswith("created")
    request = kubesim.requests(verb="create")[-1]
    assert (request.content_type, request.code) == (PROTOBUF, 201)
    namespace = ("-n", "public") if kind != "namespace" else ()
    name = built["metadata"]["name"]
    stored: Obj = json.loads(kubectl(kubesim, *namespace, "get", kind, name, "-o", "json").stdout)
    for key in ("status", "metadata"):
        built.pop(key, None)
    assert _contains(stored, built) == []
    if kind == "secret":
        assert stored["data"] == {"k": "czNjcjN0"} and stored["type"] == "Opaque"
    if kind == "deployment":
        pod = stored["spec"]["template"]["spec"]
        assert pod["containers"][0]["command"] == ["sleep", "3600"]
        assert pod["containers"][0]["resources"] == {} and "overhead" not in pod


@needs_kubectl
def test_other_typed_commands_and_deletes(kubesim: KubeSim) -> None:
    ns = ("-n", "public")
    kubectl(
        kubesim, *ns, "create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=0 3 * * *"
    )
    kubectl(kubesim, *ns, "create", "job", "now", "--from=cronjob/nightly")
    kubectl(kubesim, *ns, "create", "deployment", "api", "--image=busybox:1.36")
    kubectl(kubesim, *ns, "expose", "deployment", "api", "--port=80", "--target-port=8080")
    service = json.loads(kubectl(kubesim, *ns, "get", "svc", "api", "-o", "json").stdout)
    assert service["spec"]["ports"][0]["targetPort"] == 8080
    job = json.loads(kubectl(kubesim, *ns, "get", "job", "now", "-o", "json").stdout)
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert kubectl(kubesim, *ns, "delete", "cronjob", "nightly").returncode == 0


def _varint(value: int) -> bytes:
    out = b""
    while True:
        low, value = value & 0x7F, value >> 7
        out += bytes([low | (0x80 if value else 0)])
        if not value:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _configmap(name: str, data: dict[str, str]) -> bytes:
    meta = _field(1, name.encode())
    entries = b"".join(
        _field(2, _field(1, key.encode()) + _field(2, value.encode()))
        for key, value in data.items()
    )
    obj = _field(1, meta) + entries
    type_meta = _field(1, b"v1") + _field(2, b"ConfigMap")
    return b"k8s\x00" + _field(1, type_meta) + _field(2, obj)


def test_the_client_sends_protobuf_bodies(api_client: client.ApiClient) -> None:
    path = "/api/v1/namespaces/public/configmaps"
    created = send(api_client, "POST", path, _configmap("raw", {"a": "1"}), content_type=PROTOBUF)
    assert created.status == 201
    assert created.body["data"] == {"a": "1"} and created.body["metadata"]["name"] == "raw"
    assert created.body["metadata"]["creationTimestamp"]
    bad = send(api_client, "POST", path, b'{"kind":"ConfigMap"}', content_type=PROTOBUF)
    assert bad.status == 400 and bad.body["message"] == (
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    )
    patched = send(
        api_client, "PATCH", f"{path}/raw", _configmap("raw", {"a": "2"}), content_type=PROTOBUF
    )
    assert patched.status == 415 and patched.body["reason"] == "UnsupportedMediaType"
    replaced = send(
        api_client, "PUT", f"{path}/raw", _configmap("raw", {"a": "3"}), content_type=PROTOBUF
    )
    assert replaced.status == 200 and replaced.body["data"] == {"a": "3"}
