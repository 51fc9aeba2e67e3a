"""Drift explained, on objects shaped as kube-apiserver returns them (managedFields as the
managers kubectl v1.32 writes record them, see tests/kubesim/test_kubesim_field_managers.py):
which fields drifted, git's and the live value, who owns them now, what is not drift
(server defaults, controller fields, status), suggested ignore rules, hostile managedFields,
masked Secret data, and the views of a report."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from gitops_agent.core import driftviews, ownership
from gitops_agent.core.diffing import IgnoreRule
from gitops_agent.core.drift import (
    DriftReport,
    FieldDriftKind,
    ObjectDriftKind,
    degraded,
    pointer_of,
    pointer_path,
    without_fields,
)
from gitops_agent.core.fielddrift import compare_object, field_drift
from gitops_agent.core.inventory import InventoryEntry
from gitops_agent.core.kinds import key_of
from gitops_agent.core.manifests import ResourceId, ResourceType
from gitops_agent.core.status import ResourceStatus

RID = ResourceId(ResourceType.WORKER, "public", "web")
MAIN = 'k:{"name":"main"}'
TIME = "2026-01-02T03:04:05Z"


def desired() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "public",
            "labels": {"gitops-agent.dataos.info/owner": "prod", "app": "web"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox:1.36",
                            "env": [{"name": "A", "value": "1"}],
                        }
                    ]
                },
            },
        },
    }


def agent_fields() -> dict[str, Any]:
    return {
        "f:metadata": {"f:labels": {"f:gitops-agent.dataos.info/owner": {}, "f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        MAIN: {
                            ".": {},
                            "f:name": {},
                            "f:image": {},
                            "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                        }
                    }
                },
            },
        },
    }


def entry(manager: str, operation: str, fields: dict[str, Any], **extra: str) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        **extra,
    }


def live(*others: dict[str, Any], agent: dict[str, Any] | None = None) -> dict[str, Any]:
    """The desired Deployment as the server stores it: defaults, status, uid, managers."""
    obj = desired()
    obj["metadata"].update(uid="u-1", resourceVersion="7", generation=1)
    spec = obj["spec"]
    spec.update(progressDeadlineSeconds=600, revisionHistoryLimit=10)
    spec["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    pod = spec["template"]["spec"]
    pod.update(restartPolicy="Always", dnsPolicy="ClusterFirst", securityContext={})
    pod["containers"][0].update(
        imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log"
    )
    obj["status"] = {"replicas": 1, "readyReplicas": 1}
    status = entry(
        "kube-controller-manager", "Update", {"f:status": {"f:replicas": {}}}, subresource="status"
    )
    revision = entry(
        "kube-controller-manager",
        "Update",
        {"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}},
        time=TIME,
    )
    obj["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    mine = entry("gitops-agent", "Apply", agent if agent is not None else agent_fields(), time=TIME)
    obj["metadata"]["managedFields"] = [mine, revision, status, *others]
    return obj


def recorded(obj: dict[str, Any], uid: str = "u-1") -> InventoryEntry:
    return InventoryEntry(RID, "r1", (key_of(obj),), uids={key_of(obj): uid})


def scaled(replicas: int) -> dict[str, Any]:
    """What ``kubectl scale`` leaves: the scale entry owns replicas, the agent lost it."""
    mine = agent_fields()
    del mine["f:spec"]["f:replicas"]
    obj = live(
        entry("kubectl", "Update", {"f:spec": {"f:replicas": {}}}, subresource="scale"), agent=mine
    )
    obj["spec"]["replicas"] = replicas
    return obj


def test_no_drift_on_an_object_as_the_server_keeps_it() -> None:
    assert field_drift(desired(), live()) == ()


def test_kubectl_scale_is_replicas_1_to_3_by_kubectl_on_the_scale_subresource() -> None:
    (found,) = field_drift(desired(), scaled(3))
    assert (found.path, found.kind, found.git, found.live) == ("spec.replicas", "changed", 1, 3)
    (manager,) = found.managers
    assert (manager.name, manager.operation, manager.subresource, manager.time) == (
        "kubectl",
        "Update",
        "scale",
        "",
    )
    assert manager.describe() == "kubectl (Update, subresource scale, time not recorded)"
    assert found.suggestion is not None and found.suggestion.pointer == "/spec/replicas"
    assert "autoscaler" in found.suggestion.reason
    assert driftviews.field_line(found) == "~ spec.replicas: 1 -> 3"


def test_an_env_var_added_by_kubectl_set_is_an_added_field_to_remove() -> None:
    env_b = {'k:{"name":"B"}': {".": {}, "f:name": {}, "f:value": {}}}
    setter = {"f:spec": {"f:template": {"f:spec": {"f:containers": {MAIN: {"f:env": env_b}}}}}}
    obj = live(entry("kubectl-set", "Update", setter, time=TIME))
    obj["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "B", "value": "2"})
    (found,) = field_drift(desired(), obj)
    assert (found.kind, found.path, found.live) == (
        FieldDriftKind.ADDED,
        "spec.template.spec.containers[0].env[1]",
        {"name": "B", "value": "2"},
    )
    assert found.where == ("spec", "template", "spec", "containers", 0, "env", 1)
    assert [m.name for m in found.managers] == ["kubectl-set"]
    assert found.suggestion is None, "a person's edit gets no ignore suggestion"


def test_a_field_taken_over_with_the_same_value_by_a_forced_apply() -> None:
    mine = agent_fields()
    del mine["f:spec"]["f:template"]["f:spec"]["f:containers"][MAIN]["f:image"]
    image = {"f:spec": {"f:template": {"f:spec": {"f:containers": {MAIN: {"f:image": {}}}}}}}
    obj = live(entry("platform-team", "Apply", image, time=TIME), agent=mine)
    (found,) = field_drift(desired(), obj)
    assert (found.kind, found.git, found.live) == (
        FieldDriftKind.TAKEN,
        "busybox:1.36",
        "busybox:1.36",
    )
    report = DriftReport("r1", (compare_object(RID, desired(), obj, recorded(obj), revision="r1"),))
    assert report.objects[0].kind is ObjectDriftKind.TAKEN


def test_shared_ownership_with_the_same_value_is_not_drift() -> None:
    image = {"f:spec": {"f:template": {"f:spec": {"f:containers": {MAIN: {"f:image": {}}}}}}}
    assert field_drift(desired(), live(entry("platform-team", "Apply", image, time=TIME))) == ()


def test_server_defaults_set_by_another_manager_are_not_drift() -> None:
    exported = {
        "f:spec": {
            "f:progressDeadlineSeconds": {},
            "f:revisionHistoryLimit": {},
            "f:strategy": {
                "f:type": {},
                "f:rollingUpdate": {"f:maxSurge": {}, "f:maxUnavailable": {}},
            },
            "f:template": {
                "f:spec": {
                    "f:restartPolicy": {},
                    "f:securityContext": {},
                    "f:containers": {
                        MAIN: {"f:imagePullPolicy": {}, "f:terminationMessagePath": {}}
                    },
                }
            },
        }
    }
    assert field_drift(desired(), live(entry("platform-team", "Apply", exported, time=TIME))) == ()
    obj = live(entry("platform-team", "Apply", exported, time=TIME))
    obj["spec"]["revisionHistoryLimit"] = 3
    (found,) = field_drift(desired(), obj)
    assert (found.path, found.kind, found.live) == ("spec.revisionHistoryLimit", "added", 3)


def test_controller_fields_status_and_kubectl_bookkeeping_are_not_drift() -> None:
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "d", "namespace": "public"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    bound = copy.deepcopy(claim)
    bound["metadata"].update(uid="u-1", annotations={"pv.kubernetes.io/bind-completed": "yes"})
    bound["spec"].update(volumeName="pv-1", volumeMode="Filesystem")
    controller = {
        "f:metadata": {"f:annotations": {"f:pv.kubernetes.io/bind-completed": {}}},
        "f:spec": {"f:volumeName": {}},
    }
    bound["metadata"]["managedFields"] = [entry("kube-controller-manager", "Update", controller)]
    assert field_drift(claim, bound) == ()


def test_a_label_overwritten_and_a_field_removed() -> None:
    mine = agent_fields()
    del mine["f:metadata"]["f:labels"]["f:app"]
    labelled = {"f:metadata": {"f:labels": {"f:app": {}}}}
    obj = live(entry("kubectl-label", "Update", labelled, time=TIME), agent=mine)
    obj["metadata"]["labels"]["app"] = "other"
    del obj["spec"]["template"]["spec"]["containers"][0]["env"]
    del mine["f:spec"]["f:template"]["f:spec"]["f:containers"][MAIN]["f:env"]
    found = {f.path: f for f in field_drift(desired(), obj)}
    assert found["metadata.labels.app"].kind is FieldDriftKind.CHANGED
    assert [m.name for m in found["metadata.labels.app"].managers] == ["kubectl-label"]
    removed = found["spec.template.spec.containers[0].env"]
    assert (removed.kind, removed.git, removed.live, removed.managers) == (
        FieldDriftKind.REMOVED,
        [{"name": "A", "value": "1"}],
        None,
        (),
    )
    assert "no field manager owns it now" in driftviews.who(removed)


def test_ignore_rules_silence_a_field_everywhere() -> None:
    rule = IgnoreRule(("/spec/replicas",), "Deployment", "web")
    assert field_drift(desired(), scaled(3), ignore=[rule]) == ()
    other = IgnoreRule(("/spec/replicas",), "Deployment", "not-web")
    assert len(field_drift(desired(), scaled(3), ignore=[other])) == 1


def test_a_sidecar_injected_by_a_webhook_gets_a_suggestion() -> None:
    sidecar = {
        "f:spec": {
            "f:template": {
                "f:spec": {
                    "f:containers": {'k:{"name":"proxy"}': {".": {}, "f:name": {}, "f:image": {}}}
                }
            }
        }
    }
    obj = live(entry("istio-sidecar-injector", "Update", sidecar, time=TIME))
    obj["spec"]["template"]["spec"]["containers"].append({"name": "proxy", "image": "envoy:1"})
    (found,) = field_drift(desired(), obj)
    assert found.kind is FieldDriftKind.ADDED
    assert found.suggestion is not None
    assert found.suggestion.pointer == "/spec/template/spec/containers/1"
    assert "istio-sidecar-injector" in found.suggestion.reason


def test_deleted_replaced_and_never_created() -> None:
    obj = live()
    deleted = compare_object(RID, desired(), None, recorded(obj), revision="r1")
    assert deleted is not None and deleted.kind is ObjectDriftKind.DELETED
    pending = InventoryEntry(RID, "r1", (key_of(obj),))
    assert compare_object(RID, desired(), None, pending, revision="r1") is None
    replaced = compare_object(RID, desired(), obj, recorded(obj, uid="u-0"), revision="r1")
    assert replaced is not None and replaced.kind is ObjectDriftKind.REPLACED
    assert "created again out of band" in replaced.note


@pytest.mark.parametrize(
    "managed",
    [
        "not a list",
        [None, 3, "x", {"manager": 5, "fieldsV1": "text"}],
        [
            {
                "manager": "m",
                "operation": "Update",
                "fieldsV1": {"f:spec": "x", "k:{bad": {}, "v:[": {}},
            }
        ],
        [
            {
                "manager": "m",
                "operation": "Update",
                "fieldsV1": {"f:spec": {"f:replicas": {"f:deeper": {}}}},
            }
        ],
        [{"manager": "m" * 10_000, "operation": "Update", "fieldsV1": {"i:99": {}, "k:{}": {}}}],
    ],
)
def test_hostile_managed_fields_are_read_without_an_exception(managed: Any) -> None:
    obj = scaled(3)
    obj["metadata"]["managedFields"] = managed
    found = field_drift(desired(), obj)
    assert [f.path for f in found if f.kind is FieldDriftKind.CHANGED] == ["spec.replicas"]
    assert all(len(m.name) <= 200 for f in found for m in f.managers)


def test_secret_data_never_shows() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "p"},
        "data": {"k": "c2VjcmV0"},
    }
    changed = copy.deepcopy(secret)
    changed["metadata"]["uid"] = "u"
    changed["data"]["k"] = "b3RoZXI="
    changed["data"]["added"] = "aGlkZGVu"
    added = {"f:data": {"f:added": {}, "f:k": {}}}
    changed["metadata"]["managedFields"] = [entry("kubectl-edit", "Update", added, time=TIME)]
    found = field_drift(secret, changed)
    text = json.dumps([driftviews.field_line(f) for f in found])
    assert found and "c2VjcmV0" not in text and "b3RoZXI=" not in text and "aGlkZGVu" not in text


def test_the_views_of_a_report() -> None:
    obj = scaled(3)
    drift = compare_object(RID, desired(), obj, recorded(obj), revision="a" * 40)
    config_map = {**desired(), "apiVersion": "v1", "kind": "ConfigMap"}
    gone = compare_object(RID, config_map, None, recorded(config_map), revision="a" * 40)
    assert drift is not None and gone is not None
    report = DriftReport("a" * 40, (drift, gone), checked=2, requests=8)
    assert driftviews.status_description(report) == "drift: 2 objects (1 field, 1 deleted)"
    assert driftviews.status_description(DriftReport("r")) == "no drift"
    text = driftviews.drift_text(report)
    assert "~ spec.replicas: 1 -> 3" in text and "by kubectl (Update, subresource scale" in text
    snippet = yaml.safe_load(driftviews.ignore_snippet(report))
    assert snippet == {
        "sync": {"ignore": [{"kind": "Deployment", "name": "web", "pointers": ["/spec/replicas"]}]}
    }
    data = driftviews.drift_json(report)
    assert data["counts"] == {"fields": 1, "deleted": 1, "replaced": 0}
    assert data["objects"][0]["fields"][0]["managers"][0]["subresource"] == "scale"
    markdown = driftviews.drift_markdown(report)
    assert "| `worker/public/web` | `Deployment/public/web` | changed | 1 |" in markdown
    assert "```yaml" in markdown


def test_degraded_is_health_not_drift() -> None:
    statuses = {
        RID: ResourceStatus("active", "pending", "0/1 replicas ready"),
        ResourceId(ResourceType.WORKER, "public", "rolling"): ResourceStatus(
            "active", "running:1", "", settling=True
        ),
        ResourceId(ResourceType.WORKER, "public", "fine"): ResourceStatus(
            "active", "running:1", "", converged=True
        ),
        ResourceId(ResourceType.WORKER, "public", "local"): ResourceStatus(
            "pending", "unsupported"
        ),
    }
    (found,) = degraded(statuses, statuses)
    assert (found.id, found.runtime) == (RID, "pending")


def test_pointers_paths_and_removals() -> None:
    path = ("metadata", "annotations", "a/b~c")
    assert pointer_of(path) == "/metadata/annotations/a~1b~0c"
    assert pointer_path(pointer_of(path)) == path
    assert pointer_path("/spec/template/spec/containers/1") == (
        "spec",
        "template",
        "spec",
        "containers",
        1,
    )
    obj = {"spec": {"env": [{"name": "A"}, {"name": "B"}], "x": 1}}
    assert without_fields(obj, [(("spec", "env", 1), {"name": "B"}), (("spec", "x"), 1)]) == {
        "spec": {"env": [{"name": "A"}]}
    }
    assert without_fields(obj, [(("spec", "x"), 2)]) is None, "a value that changed is kept"


def test_leaves_and_locate_read_keys_against_the_object() -> None:
    tree = agent_fields()
    obj = live()
    found = {leaf.path for leaf in ownership.leaves(tree, obj)}
    assert ("spec", "template", "spec", "containers", 0, "image") in found
    leaf = next(leaf for leaf in ownership.leaves(tree, obj) if leaf.path[-1] == "value")
    assert ownership.locate(desired(), leaf.steps) == (
        "spec",
        "template",
        "spec",
        "containers",
        0,
        "env",
        0,
        "value",
    )
    assert ownership.holds(tree, obj, ("spec", "selector", "matchLabels", "app")), "an atomic map"


def test_an_environment_variable_named_like_a_secret_never_shows() -> None:
    env = {
        'k:{"name":"DB_PASSWORD"}': {".": {}, "f:name": {}, "f:value": {}},
        'k:{"name":"MODE"}': {".": {}, "f:name": {}, "f:value": {}},
    }
    setter = {"f:spec": {"f:template": {"f:spec": {"f:containers": {MAIN: {"f:env": env}}}}}}
    obj = live(entry("kubectl-set", "Update", setter, time=TIME))
    obj["spec"]["template"]["spec"]["containers"][0]["env"] += [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "MODE", "value": "debug"},
    ]
    found = field_drift(desired(), obj)
    shown = json.dumps([(f.git, f.live) for f in found])
    assert "hunter2" not in shown and "debug" in shown
    assert {f.path: f.live for f in found}["spec.template.spec.containers[0].env[1]"] == {
        "name": "DB_PASSWORD",
        "value": "***",
    }
    assert any(f.observed == {"name": "DB_PASSWORD", "value": "hunter2"} for f in found), (
        "a heal tests the value it removes as it is live"
    )
    changed = desired()
    changed["spec"]["template"]["spec"]["containers"][0]["env"][0]["name"] = "API_TOKEN"
    edited = live(agent=agent_fields())
    container = edited["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "API_TOKEN", "value": "2"}]
    tree = edited["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]
    tree["f:containers"][MAIN]["f:env"] = {
        'k:{"name":"API_TOKEN"}': {".": {}, "f:name": {}, "f:value": {}}
    }
    changed["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "1"
    (token,) = field_drift(changed, edited)
    assert (token.path, token.git, token.live) == (
        "spec.template.spec.containers[0].env[0].value",
        "***",
        "***",
    )
