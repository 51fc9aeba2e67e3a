"""Diffing: server noise is ignored, real changes (including removals) are reported."""

from __future__ import annotations

import copy
from typing import Any

from gitops_agent.core.diffing import ChangeKind, FieldChange, IgnoreRule, diff, normalize


def deployment(
    replicas: int = 1, image: str = "alpine:3.20", env: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
    }
    if env is not None:
        container["env"] = env
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "namespace": "public", "labels": {"a": "b"}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}},
    }


def as_live(obj: dict[str, Any], fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a server returns: defaults, status, server metadata, managedFields."""
    live = copy.deepcopy(obj)
    live["metadata"].update(
        uid="u1", resourceVersion="7", generation=2, creationTimestamp="2026-01-01T00:00:00Z"
    )
    live["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    if fields is not None:
        live["metadata"]["managedFields"] = [
            {"manager": "gitops-agent", "operation": "Apply", "fieldsV1": fields}
        ]
    live["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    live["spec"]["revisionHistoryLimit"] = 10
    container = live["spec"]["template"]["spec"]["containers"][0]
    container.update(terminationMessagePath="/dev/termination-log", imagePullPolicy="IfNotPresent")
    container["resources"]["requests"] = {"cpu": "0.5", "memory": "1024Mi"}
    live["status"] = {"replicas": 1, "readyReplicas": 1}
    return live


def test_server_defaults_status_and_quantity_forms_are_not_changes() -> None:
    desired = deployment()
    assert diff(desired, as_live(desired)) == ()


def test_a_changed_field_is_reported() -> None:
    changes = diff(deployment(replicas=2), as_live(deployment(replicas=1)))
    assert changes == (FieldChange("spec.replicas", ChangeKind.CHANGED, 1, 2),)
    assert changes[0].format() == "~ spec.replicas: 1 -> 2"


def test_added_list_item() -> None:
    live = as_live(deployment(env=[{"name": "A", "value": "1"}]))
    changes = diff(deployment(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]), live)
    assert [c.format() for c in changes] == [
        '+ spec.template.spec.containers[0].env[1]: {"name": "B", "value": "2"}'
    ]


def owned_env(*names: str) -> dict[str, Any]:
    return {
        "f:spec": {
            "f:replicas": {},
            "f:template": {
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"main"}': {
                            "f:name": {},
                            "f:image": {},
                            "f:resources": {"f:requests": {"f:cpu": {}, "f:memory": {}}},
                            "f:env": {
                                f'k:{{"name":"{n}"}}': {".": {}, "f:name": {}, "f:value": {}}
                                for n in names
                            },
                        }
                    }
                }
            },
        }
    }


def test_a_field_removed_from_git_is_reported_through_managed_fields() -> None:
    before = deployment(env=[{"name": "A", "value": "1"}])
    before["spec"]["template"]["spec"]["nodeSelector"] = {"pool": "x"}
    fields = owned_env("A")
    fields["f:spec"]["f:template"]["f:spec"]["f:nodeSelector"] = {}
    live = as_live(before, fields)
    changes = diff(deployment(env=[]), live)
    assert [c.format() for c in changes] == [
        '- spec.template.spec.containers[0].env[0]: {"name": "A", "value": "1"}',
        '- spec.template.spec.nodeSelector: {"pool": "x"}',
    ]


def test_fields_other_managers_own_are_not_reported() -> None:
    live = as_live(deployment(env=[{"name": "A", "value": "1"}]), owned_env("A"))
    live["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "INJECTED", "value": "x"}
    )
    live["metadata"]["labels"]["other"] = "label"
    assert diff(deployment(env=[{"name": "A", "value": "1"}]), live) == ()


def test_ignore_rules_by_json_pointer() -> None:
    rule = IgnoreRule(pointers=("/spec/replicas",), kind="Deployment")
    assert diff(deployment(replicas=3), as_live(deployment(replicas=1)), ignore=[rule]) == ()
    other = IgnoreRule(pointers=("/spec/replicas",), kind="StatefulSet")
    assert len(diff(deployment(replicas=3), as_live(deployment(replicas=1)), ignore=[other])) == 1


def test_secret_data_is_masked() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "bmV3"},
    }
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "b2xk"},
    }
    changes = diff(desired, live)
    assert [c.format() for c in changes] == ['~ data.password: "***" -> "***"']
    assert "bmV3" not in repr(changes) and "b2xk" not in repr(changes)


def test_normalize_does_not_touch_its_input() -> None:
    live = as_live(deployment())
    snapshot = copy.deepcopy(live)
    normalize(live)
    assert live == snapshot
