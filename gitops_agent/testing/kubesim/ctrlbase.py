"""What every simulated controller shares: writing through the API rules as a named manager,
finding owned objects, owner references, and condition bookkeeping.

``ControllerBase`` wraps ``Objects`` (writes go through the same admission as client
writes, so managedFields, resourceVersions and watch events are real) and ``Deleter``.
Subclassed by ``workloads.py`` and ``jobs.py``; the pod side is in ``pods.py``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from gitops_agent.testing.kubesim.deletion import DeleteOptions, Deleter, Propagation
from gitops_agent.testing.kubesim.events import Recorder, Source
from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.objects import Objects, WriteOptions, timestamp
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.store import encode

Obj = dict[str, Any]
MANAGER = "kube-controller-manager"
_HASH_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Any) -> str:
    """A short stable hash of a pod template (the ``pod-template-hash`` label)."""
    digest = int(hashlib.sha256(encode(template)).hexdigest()[:16], 16)
    out = ""
    for _ in range(10):
        digest, index = divmod(digest, len(_HASH_CHARS))
        out += _HASH_CHARS[index]
    return out


def owner_reference(rt: ResourceType, owner: Obj) -> Obj:
    meta = owner["metadata"]
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def condition(
    kind: str,
    ok: bool,
    reason: str,
    message: str,
    *,
    now: str,
    previous: list[Obj] | None,
    update_time: bool = False,
) -> Obj:
    """A status condition that keeps its transition time while its status holds."""
    status = "True" if ok else "False"
    old = next((c for c in previous or [] if c.get("type") == kind), None)
    moved = old is None or old.get("status") != status
    same = old is not None and not moved and old.get("reason") == reason
    out: Obj = {"type": kind, "status": status}
    if update_time:
        out["lastUpdateTime"] = old.get("lastUpdateTime", now) if same and old else now
    if kind in ("Complete", "Failed", "SuccessCriteriaMet", "FailureTarget"):
        out["lastProbeTime"] = old.get("lastProbeTime", now) if old and not moved else now
    out["lastTransitionTime"] = old.get("lastTransitionTime", now) if old and not moved else now
    out["reason"] = reason
    out["message"] = message
    return out


class ControllerBase:
    """Reads and writes of one simulated controller, and the events it records."""

    manager = MANAGER
    source = Source("kube-controller-manager")

    def __init__(
        self,
        objects: Objects,
        deleter: Deleter,
        clock: Callable[[], float] = time.time,
        *,
        recorder: Recorder | None = None,
    ) -> None:
        self.objects = objects
        self.store = objects.store
        self.deleter = deleter
        self.clock = clock
        self.recorder = recorder or Recorder(objects, clock)

    def event(
        self, rt: ResourceType, obj: Obj, kind: str, reason: str, message: str, **extra: Any
    ) -> None:
        """Record an event about ``obj`` as this controller (``source``)."""
        source = extra.pop("source", self.source)
        self.recorder.event(rt, obj, kind, reason, message, source=source, **extra)

    def now(self) -> str:
        return timestamp(self.clock())

    def owned(self, owner: Obj, rt: ResourceType) -> list[Obj]:
        """Live objects of kind ``rt`` whose controller reference is ``owner``."""
        uid = owner["metadata"].get("uid", "")
        out = []
        for dep_rt, obj in self.store.dependents(uid):
            if dep_rt is not rt:
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == uid and r.get("controller") for r in refs):
                out.append(obj)
        return out

    def create(self, rt: ResourceType, namespace: str, obj: Obj) -> Obj:
        written = self.objects.create(rt, namespace, obj, WriteOptions(field_manager=self.manager))
        return written.obj

    def update(self, rt: ResourceType, obj: Obj, *, subresource: str = "") -> Obj:
        meta = obj["metadata"]
        written = self.objects.update(
            rt,
            meta.get("namespace", ""),
            meta["name"],
            obj,
            WriteOptions(field_manager=self.manager, subresource=subresource),
        )
        return written.obj

    def write_status(self, rt: ResourceType, obj: Obj, status: Obj) -> Obj:
        """Write ``status`` through the status subresource when it differs."""
        if obj.get("status") == status:
            return obj
        body = deep_copy(obj)
        body["status"] = status
        meta = obj["metadata"]
        written = self.objects.update(
            rt,
            meta.get("namespace", ""),
            meta["name"],
            body,
            WriteOptions(field_manager=self.manager, subresource="status"),
        )
        return written.obj

    def delete(self, rt: ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return
        self.deleter.delete(
            rt,
            meta.get("namespace", ""),
            meta["name"],
            DeleteOptions(propagation=Propagation.BACKGROUND),
        )
