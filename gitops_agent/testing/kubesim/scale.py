"""The ``/scale`` subresource of Deployments, StatefulSets and ReplicaSets (``autoscaling/v1``).

``get_scale`` builds the ``Scale`` object from the workload; ``update_scale`` writes its
``spec.replicas`` back through the normal update path, recorded in managedFields as a write
of the ``scale`` subresource (``apply.record_update``). Called by ``handlers.py``.
"""

from __future__ import annotations

from typing import Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.objects import Objects, WriteOptions
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.selectors import selector_string
from gitops_agent.testing.kubesim.wire import Target

Obj = dict[str, Any]


def get_scale(objects: Objects, target: Target) -> Obj:
    obj = objects.get(target.rt, target.namespace, target.name)
    meta, spec = obj["metadata"], obj.get("spec") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": selector_string(spec.get("selector") or {}),
        },
    }


def update_scale(objects: Objects, target: Target, body: Any, opts: WriteOptions) -> Obj:
    if not isinstance(body, dict):
        raise errors.bad_request("the body is not a Scale object")
    replicas = (body.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid(
            target.rt,
            target.name,
            [
                errors.Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {replicas}: must be greater than or equal to 0",
                    "spec.replicas",
                )
            ],
        )
    with objects.store.lock:
        obj = deep_copy(objects.get(target.rt, target.namespace, target.name))
        sent = (body.get("metadata") or {}).get("resourceVersion")
        if sent and sent != obj["metadata"]["resourceVersion"]:
            raise errors.stale(target.rt, target.name)
        obj["spec"]["replicas"] = replicas
        plain = WriteOptions(
            field_manager=opts.field_manager, dry_run=opts.dry_run, subresource="scale"
        )
        objects.update(target.rt, target.namespace, target.name, obj, plain)
    return get_scale(objects, target)
