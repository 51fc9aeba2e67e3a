"""Validation of each served kind's spec and of its updates: the dispatch to
``workloadrules.py`` (apps and batch) and ``corerules.py`` (core kinds).

``CHECKS[kind](obj, spec)`` returns the field errors of an object; ``update_errors(kind, obj,
old)`` those of an update (immutable fields, the StatefulSet spec fields that may change, PVC
size changes, cluster IPs); ``template_warnings`` the pod warnings of a write. Called by
``rules.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitops_agent.testing.kubesim import corerules, podrules, workloadrules
from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim.errors import Cause

Obj = dict[str, Any]
CHECKS: dict[str, Callable[[Obj, Obj], list[Cause]]] = {
    "Deployment": workloadrules.deployment,
    "ReplicaSet": workloadrules.replicaset,
    "StatefulSet": workloadrules.statefulset,
    "Job": workloadrules.job,
    "CronJob": workloadrules.cronjob,
    "Pod": corerules.pod,
    "PersistentVolumeClaim": corerules.pvc,
    "ConfigMap": corerules.configmap,
    "Secret": corerules.secret,
    "Service": corerules.service,
}
_TEMPLATES = {
    "Deployment": "spec.template",
    "ReplicaSet": "spec.template",
    "StatefulSet": "spec.template",
    "Job": "spec.template",
}


def template_warnings(kind: str, obj: Obj) -> list[str]:
    """The pod warnings of a write of this object (``GetWarningsForPodTemplate``...)."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if kind == "Pod":
        return podrules.pod_warnings("spec", spec or {})
    if kind == "CronJob":
        job = ((spec or {}).get("jobTemplate") or {}).get("spec") or {}
        return podrules.template_warnings(
            "spec.jobTemplate.spec.template", workloadrules.template_of(job)
        )
    if kind in _TEMPLATES:
        return podrules.template_warnings(_TEMPLATES[kind], workloadrules.template_of(spec or {}))
    return []


def update_errors(kind: str, obj: Obj, old: Obj) -> list[Cause]:
    """The fields an update may not change, per kind."""
    new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    causes: list[Cause] = []
    immutable = {
        "Deployment": ("selector",),
        "ReplicaSet": ("selector",),
        "Job": ("selector", "template", "completions", "completionMode"),
    }.get(kind, ())
    for key in immutable:
        if new_spec.get(key) != old_spec.get(key):
            causes.append(
                fe.invalid(
                    f"spec.{key}", fe.Raw(_struct(key, new_spec.get(key))), "field is immutable"
                )
            )
    if kind == "StatefulSet":
        causes += workloadrules.statefulset_update(new_spec, old_spec)
    elif kind == "PersistentVolumeClaim":
        causes += corerules.pvc_update(obj, old)
    elif kind == "Service":
        causes += corerules.service_update(new_spec, old_spec)
    return causes


def _struct(key: str, value: Any) -> str:
    """The new value as the immutability error prints it (a pod template abridged)."""
    if key == "selector":
        return fe.label_selector(value)
    return fe.go_value(value) if not isinstance(value, dict) else "core.PodTemplateSpec{...}"
