"""What the server sets on a written object, whatever the client sent.

``split_status`` keeps the stored status on writes to the main resource and the stored rest on
writes to the ``status`` subresource; ``stamp`` sets uid, creationTimestamp and generation on
creation and carries them (and the deletion fields) over on updates, moving the generation on
spec changes only; ``same`` tells a write that changes nothing (it keeps the resourceVersion).
Called by ``objects.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.patching import deep_copy

Obj = dict[str, Any]
_SET_BY_SERVER = (
    "uid",
    "creationTimestamp",
    "resourceVersion",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def split_status(rt: ResourceType, obj: Obj, old: Obj | None, sub: str) -> None:
    """Writes to the main resource keep the stored status; status writes keep the rest."""
    if "status" not in rt.subresources:
        return
    if sub == "status" and old is not None:
        status = obj.get("status")
        annotations = (obj.get("metadata") or {}).get("annotations")
        obj.clear()
        obj.update(deep_copy(old))
        if status is not None:
            obj["status"] = status
        # the status strategies reset the spec, not the annotations (the Deployment
        # controller writes its revision annotation with the status)
        obj["metadata"].pop("annotations", None)
        if annotations:
            obj["metadata"]["annotations"] = deep_copy(annotations)
    elif old is None:
        obj.pop("status", None)
    elif "status" in old:
        obj["status"] = deep_copy(old["status"])
    else:
        obj.pop("status", None)


def stamp(rt: ResourceType, obj: Obj, old: Obj | None, *, now: str) -> None:
    """The server-set metadata of a create (new) or an update (carried over)."""
    meta = obj["metadata"]
    for key in _SET_BY_SERVER:
        meta.pop(key, None)
    if old is None:
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now
        if rt.has_generation:
            meta["generation"] = 1
        return
    old_meta = old["metadata"]
    for key in _SET_BY_SERVER:
        if key in old_meta and key != "generation":
            meta[key] = old_meta[key]
    if rt.has_generation:
        bump = obj.get("spec") != old.get("spec")
        meta["generation"] = int(old_meta.get("generation", 1)) + (1 if bump else 0)


def same(old: Obj, new: Obj) -> bool:
    """True when a write changed nothing but managedFields timestamps."""

    def strip(obj: Obj) -> Obj:
        meta = dict(obj["metadata"])
        meta.pop("resourceVersion", None)
        meta["managedFields"] = [
            {k: v for k, v in e.items() if k != "time"} for e in meta.get("managedFields") or []
        ]
        return dict(obj, metadata=meta)

    return strip(old) == strip(new)
