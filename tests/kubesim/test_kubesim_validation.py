"""The 422s (and 403s) of kube-apiserver 1.32's validation, through the typed client: pod
templates and specs, size limits and whole-string names, StatefulSet and PVC updates,
finalizers of objects being deleted, Services and their allocated addresses."""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubesim_calls import status_of
from kubesim_manifests import configmap, deployment, job

from gitops_agent.testing.kubesim import KubeSim

Obj = dict[str, Any]


def _refused(call: Callable[[], Any], code: int = 422) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == code, caught.value.body
    return status_of(caught.value)


def _causes(status: dict[str, Any]) -> list[str]:
    return [f"{c.get('field', '')}: {c['message']}" for c in status["details"]["causes"]]


def _pod(body: Obj) -> Obj:
    pod: Obj = body["spec"]["template"]["spec"]
    return pod


_TEMPLATE_CASES: list[tuple[str, Callable[[Obj], None], str]] = [
    (
        "mount of an undefined volume",
        lambda d: _pod(d)["containers"][0].update(
            volumeMounts=[{"name": "data", "mountPath": "/data"}]
        ),
        'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"',
    ),
    (
        "duplicate volume",
        lambda d: _pod(d).update(
            volumes=[{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]
        ),
        'spec.template.spec.volumes[1].name: Duplicate value: "data"',
    ),
    (
        "volume with two sources",
        lambda d: _pod(d).update(
            volumes=[{"name": "data", "emptyDir": {}, "configMap": {"name": "cfg"}}]
        ),
        "spec.template.spec.volumes[0].configMap: Forbidden: may not specify more than 1 "
        "volume type",
    ),
    (
        "probe without a handler",
        lambda d: _pod(d)["containers"][0].update(livenessProbe={"periodSeconds": 5}),
        "spec.template.spec.containers[0].livenessProbe: Required value: must specify a "
        "handler type",
    ),
    (
        "unknown pull policy",
        lambda d: _pod(d)["containers"][0].update(imagePullPolicy="Sometimes"),
        'spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "IfNotPresent", "Never"',
    ),
    (
        "env name with =",
        lambda d: _pod(d)["containers"][0].update(env=[{"name": "A=B", "value": "1"}]),
        'spec.template.spec.containers[0].env[0].name: Invalid value: "A=B": a valid '
        "environment variable name must consist only of printable ASCII characters other "
        "than '='",
    ),
    (
        "env value and valueFrom",
        lambda d: _pod(d)["containers"][0].update(
            env=[
                {
                    "name": "A",
                    "value": "1",
                    "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                }
            ]
        ),
        'spec.template.spec.containers[0].env[0].valueFrom: Invalid value: "": may not be '
        "specified when `value` is not empty",
    ),
    (
        "maxSurge neither int nor percent",
        lambda d: d["spec"].update(
            strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "1x"}}
        ),
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, "
        'IntVal:0, StrVal:"1x"}: a valid percent string must be a numeric string followed by '
        "an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ),
    (
        "negative revisionHistoryLimit",
        lambda d: d["spec"].update(revisionHistoryLimit=-1),
        "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
    ),
    (
        "negative minReadySeconds",
        lambda d: d["spec"].update(minReadySeconds=-1),
        "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0",
    ),
    (
        "resource name that is not qualified",
        lambda d: _pod(d)["containers"][0].update(resources={"limits": {"gpu": "1"}}),
        'spec.template.spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must '
        "be a standard resource type or fully qualified",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [(c[1], c[2]) for c in _TEMPLATE_CASES],
    ids=[c[0] for c in _TEMPLATE_CASES],
)
def test_pod_template_validation(
    apps: client.AppsV1Api, change: Callable[[Obj], None], expected: str
) -> None:
    body = deployment("checked")
    change(body)
    status = _refused(lambda: apps.create_namespaced_deployment("public", body))
    assert status["reason"] == "Invalid"
    assert expected in _causes(status), _causes(status)
    assert status["message"].startswith('Deployment.apps "checked" is invalid: ')


def test_sourceless_volume_is_defaulted_to_empty_dir(apps: client.AppsV1Api) -> None:
    body = deployment("scratch")
    _pod(body)["volumes"] = [{"name": "scratch"}]
    created = apps.create_namespaced_deployment("public", body)
    assert created.spec.template.spec.volumes[0].empty_dir is not None


def test_job_and_cronjob_validation(batch: client.BatchV1Api) -> None:
    name = "j" * 64
    status = _refused(lambda: batch.create_namespaced_job("public", job(name, command=["true"])))
    assert f'spec.template.labels: Invalid value: "{name}": must be no more than 63 characters' in (
        _causes(status)
    )
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "TZ=UTC 0 * * * *",
            "timeZone": "Mars/Olympus",
            "jobTemplate": {"spec": job("x", command=["true"])["spec"]},
        },
    }
    status = _refused(lambda: batch.create_namespaced_cron_job("public", cron))
    assert _causes(status) == [
        'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in '
        "schedule, use timeZone field instead",
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
    ]


def _claim(name: str, size: str = "1Gi", modes: list[str] | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "accessModes": modes or ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
        },
    }


def _statefulset(name: str) -> Obj:
    body = deployment(name)
    body["kind"] = "StatefulSet"
    body["spec"]["serviceName"] = name
    return body


def test_statefulset_and_claim_validation(apps: client.AppsV1Api, core: client.CoreV1Api) -> None:
    status = _refused(
        lambda: core.create_namespaced_persistent_volume_claim(
            "public", _claim("odd", modes=["ReadWriteSometimes"])
        )
    )
    assert _causes(status) == [
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: '
        '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'
    ]
    body = _statefulset("db")
    body["spec"]["podManagementPolicy"] = "Random"
    body["spec"]["updateStrategy"] = {"type": "Sometimes"}
    causes = _causes(_refused(lambda: apps.create_namespaced_stateful_set("public", body)))
    assert causes[0] == (
        "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"
    )
    assert causes[1].startswith(
        "spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy"
    )
    assert causes[1].endswith("must be 'RollingUpdate' or 'OnDelete'")


def test_statefulset_forbidden_updates(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_stateful_set("public", _statefulset("db"))
    changed = _statefulset("db")
    changed["spec"]["serviceName"] = "other"
    status = _refused(lambda: apps.patch_namespaced_stateful_set("db", "public", changed))
    assert status["message"] == (
        'StatefulSet.apps "db" is invalid: spec: Forbidden: updates to statefulset spec for '
        "fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    )
    scaled = apps.patch_namespaced_stateful_set("db", "public", {"spec": {"replicas": 3}})
    assert scaled.spec.replicas == 3


def _bound(kubesim: KubeSim, core: client.CoreV1Api, name: str) -> None:
    kubesim.wait_for(
        lambda: core.read_namespaced_persistent_volume_claim(name, "public").status.phase == "Bound"
    )


def test_claims_do_not_shrink_and_grow_only_where_the_class_allows(
    kubesim: KubeSim, core: client.CoreV1Api
) -> None:
    core.create_namespaced_persistent_volume_claim("public", _claim("data", "2Gi"))
    _bound(kubesim, core, "data")
    smaller = {"spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    status = _refused(
        lambda: core.patch_namespaced_persistent_volume_claim("data", "public", smaller)
    )
    assert _causes(status) == [
        "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
    ]
    larger = {"spec": {"resources": {"requests": {"storage": "5Gi"}}}}
    status = _refused(
        lambda: core.patch_namespaced_persistent_volume_claim("data", "public", larger), 403
    )
    assert (status["reason"], status["message"]) == (
        "Forbidden",
        'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be '
        "resized and the storageclass that provisions the pvc must support resize",
    )


def test_sizes_and_whole_string_names(core: client.CoreV1Api) -> None:
    big = configmap("big", {"a": "x" * (1024 * 1024), "b": "y"})
    status = _refused(lambda: core.create_namespaced_config_map("public", big))
    assert status["message"] == (
        'ConfigMap "big" is invalid: []: Too long: may not be more than 1048576 bytes'
    )
    secret = {"metadata": {"name": "big"}, "stringData": {"a": "x" * (1024 * 1024 + 1)}}
    status = _refused(lambda: core.create_namespaced_secret("public", secret))
    assert _causes(status) == ["data: Too long: may not be more than 1048576 bytes"]
    noted = configmap("noted", {})
    noted["metadata"]["annotations"] = {"a": "x" * 262144}
    status = _refused(lambda: core.create_namespaced_config_map("public", noted))
    assert _causes(status) == ["metadata.annotations: Too long: may not be more than 262144 bytes"]
    for field, body in (
        ("metadata.name", configmap("bad\n", {})),
        ("metadata.labels", configmap("labelled", {}, labels={"app": "web\n"})),
    ):
        status = _refused(lambda body=body: core.create_namespaced_config_map("public", body))
        assert [c["field"] for c in status["details"]["causes"]] == [field]


def test_no_new_finalizers_on_an_object_being_deleted(core: client.CoreV1Api) -> None:
    held = configmap("held", {})
    held["metadata"]["finalizers"] = ["example.com/keep"]
    core.create_namespaced_config_map("public", held)
    core.delete_namespaced_config_map("held", "public")
    more = {"metadata": {"finalizers": ["example.com/keep", "example.com/more"]}}
    status = _refused(lambda: core.patch_namespaced_config_map("held", "public", more))
    assert _causes(status) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is "
        'being deleted, found new finalizers []string{"example.com/more"}'
    ]
    core.patch_namespaced_config_map("held", "public", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("held", "public")


def _service(name: str, kind: str = "ClusterIP", **spec: Any) -> Obj:
    body: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"type": kind, "selector": {"app": name}, "ports": [{"port": 80}]},
    }
    body["spec"].update(spec)
    return body


def test_services_get_addresses_and_node_ports(core: client.CoreV1Api) -> None:
    plain = core.create_namespaced_service("public", _service("web"))
    address = plain.spec.cluster_ip
    assert ipaddress.ip_address(address) in ipaddress.ip_network("10.96.0.0/12")
    assert (plain.spec.cluster_ips, plain.spec.ip_families) == ([address], ["IPv4"])
    assert plain.spec.ip_family_policy == "SingleStack"
    exposed = core.create_namespaced_service("public", _service("edge", "NodePort"))
    assert 30000 <= exposed.spec.ports[0].node_port <= 32767
    assert exposed.spec.cluster_ip != address
    headless = core.create_namespaced_service("public", _service("peers", cluster_ip="None"))
    assert headless.spec.cluster_ips == ["None"] and headless.spec.ip_families == ["IPv4"]
    bare = core.create_namespaced_service(
        "public", _service("bare", cluster_ip="None", selector=None)
    )
    assert (bare.spec.ip_family_policy, bare.spec.ip_families) == (
        "RequireDualStack",
        ["IPv4", "IPv6"],
    )
    replaced = core.read_namespaced_service("web", "public")
    replaced.spec.cluster_ip, replaced.spec.cluster_ips = None, None
    assert core.replace_namespaced_service("web", "public", replaced).spec.cluster_ip == address
    moved = {"spec": {"clusterIP": "10.96.0.99", "clusterIPs": ["10.96.0.99"]}}
    status = _refused(lambda: core.patch_namespaced_service("web", "public", moved))
    assert _causes(status)[0].startswith("spec.clusterIPs[0]: Invalid value: []string{")


def test_service_validation(core: client.CoreV1Api) -> None:
    cases = [
        (
            _service("odd", "Magic"),
            'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", '
            '"ExternalName", "LoadBalancer", "NodePort"',
        ),
        (
            _service("odd", ports=[{"port": 80, "nodePort": 30080}]),
            "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
        ),
        (_service("odd", ports=[{"port": 80}, {"port": 81}]), "spec.ports[0].name: Required value"),
        (
            _service("odd", "NodePort", ports=[{"port": 80, "nodePort": 80}]),
            "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid "
            "range. The range of valid ports is 30000-32767",
        ),
    ]
    for body, expected in cases:
        status = _refused(
            lambda body=body: core.create_namespaced_service("public", copy.deepcopy(body))
        )
        assert expected in _causes(status), _causes(status)


def test_statefulset_pod_template_is_left_to_its_pods(apps: client.AppsV1Api) -> None:
    """``ValidatePodTemplateSpecForStatefulSet`` checks labels and annotations only: a mount
    may name a claim template, and a container the pods would refuse is not refused here."""
    body = _statefulset("claims")
    container = _pod(body)["containers"][0]
    container["volumeMounts"] = [{"name": "disk", "mountPath": "/disk"}]
    container["imagePullPolicy"] = "Sometimes"
    body["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "disk"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    ]
    created = apps.create_namespaced_stateful_set("public", body)
    assert created.spec.template.spec.containers[0].volume_mounts[0].name == "disk"
    assert created.spec.template.spec.containers[0].image_pull_policy == "Sometimes"
    _pod(body)["restartPolicy"] = "Never"
    body["metadata"]["name"] = "never"
    status = _refused(lambda: apps.create_namespaced_stateful_set("public", body))
    assert _causes(status) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    ]
