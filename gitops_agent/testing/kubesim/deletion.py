"""Deletion: propagation policies, finalizers, ownerReference garbage collection, namespaces.

``Deleter.delete`` removes an object with ``Background`` (dependents collected afterwards),
``Foreground`` (the owner waits, with ``deletionTimestamp`` and the ``foregroundDeletion``
finalizer, until its dependents are gone) or ``Orphan`` (dependents lose the owner
reference) propagation; Jobs default to orphaning with the real server's warning.
Pods are deleted gracefully (``deletionTimestamp`` in ``gracePeriodSeconds``, the pod's
``terminationGracePeriodSeconds`` by default; the kubelet removes them once stopped).
``collect`` is the garbage collector and the namespace controller: it runs on the controller
ticks while work is pending, never inside a request, as the real collector works from its
watches. Called by ``handlers.py`` and the simulator loop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors, nsconditions
from gitops_agent.testing.kubesim.kinds import JOBS, NAMESPACES, PODS, RESOURCES, ResourceType
from gitops_agent.testing.kubesim.objects import Objects, timestamp
from gitops_agent.testing.kubesim.patching import deep_copy

Obj = dict[str, Any]
GC_MANAGER = "kube-controller-manager"
_RETURNS_OBJECT = ("Pod", "Namespace")
_JOB_WARNING = (
    "child pods are preserved by default when jobs are deleted; set "
    "propagationPolicy=Background to remove them or set propagationPolicy=Orphan "
    "to suppress this warning"
)


def pod_grace(pod: Obj, asked: int | None) -> int:
    """``podStrategy.CheckGracefulDelete``: the asked period, else the pod's
    ``terminationGracePeriodSeconds``; 0 for a pod never scheduled or already finished."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    period = asked if asked is not None else int(spec.get("terminationGracePeriodSeconds") or 0)
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        period = 0
    return 1 if period < 0 else period


class Propagation(enum.Enum):
    """``propagationPolicy`` of a delete."""

    ORPHAN = "Orphan"
    BACKGROUND = "Background"
    FOREGROUND = "Foreground"


@dataclass(frozen=True)
class DeleteOptions:
    """Query parameters and body of a delete."""

    propagation: Propagation | None = None
    dry_run: bool = False
    uid: str = ""
    resource_version: str = ""
    grace: int | None = None  # gracePeriodSeconds (pods)


@dataclass(frozen=True)
class Deleted:
    """What a delete answers: a body (the object or a success Status) and warnings."""

    body: Obj
    warnings: tuple[str, ...] = ()


class Deleter:
    """Deletes objects and collects garbage over an ``Objects``."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects
        self.store = objects.store
        self.pending = False
        self._suspects: set[str] = set()

    def reset(self) -> None:
        """Nothing left to collect (the store was emptied)."""
        self.pending = False
        self._suspects.clear()

    def delete(self, rt: ResourceType, namespace: str, name: str, opts: DeleteOptions) -> Deleted:
        with self.store.lock:
            obj = self.objects.get(rt, namespace, name)
            self._preconditions(rt, obj, opts)
            policy, warnings = opts.propagation, tuple[str, ...]()
            if policy is None:
                policy = Propagation.ORPHAN if rt is JOBS else Propagation.BACKGROUND
                warnings = (_JOB_WARNING,) if rt is JOBS else ()
            if opts.dry_run:
                return Deleted(self._answer(rt, obj, gone=True), warnings)
            body = self._delete_now(rt, obj, policy, opts.grace)
        return Deleted(body, warnings)

    def _preconditions(self, rt: ResourceType, obj: Obj, opts: DeleteOptions) -> None:
        meta = obj["metadata"]
        if opts.uid and opts.uid != meta.get("uid"):
            raise errors.conflict(
                rt,
                meta["name"],
                f"Precondition failed: UID in precondition: "
                f"{opts.uid}, UID in object meta: {meta.get('uid')}",
            )
        if opts.resource_version and opts.resource_version != meta.get("resourceVersion"):
            raise errors.conflict(
                rt,
                meta["name"],
                "Precondition failed: ResourceVersion in "
                f"precondition: {opts.resource_version}, ResourceVersion in "
                f"object meta: {meta.get('resourceVersion')}",
            )

    def _delete_now(
        self, rt: ResourceType, obj: Obj, policy: Propagation, grace: int | None = None
    ) -> Obj:
        """Delete (or mark) ``obj``; pods get their grace period (None: the pod's own)."""
        meta = obj["metadata"]
        if rt is PODS:
            marked = self._graceful(obj, pod_grace(obj, grace))
            if marked is not None:
                return marked
        elif meta.get("deletionTimestamp"):
            return obj
        if rt is NAMESPACES:
            marked = self._mark(rt, obj, [])
            marked["status"] = dict(marked.get("status") or {}, phase="Terminating")
            self.pending = True
            return self.store.put(rt, marked)
        self.suspect(meta.get("uid", ""))
        if policy is Propagation.ORPHAN:
            self._orphan_dependents(meta.get("uid", ""))
        finalizers = list(meta.get("finalizers") or [])
        if policy is Propagation.FOREGROUND and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        self.pending = True
        if finalizers:
            return self.store.put(rt, self._mark(rt, obj, finalizers))
        removed = self.store.remove(rt, meta.get("namespace", ""), meta["name"])
        return self._answer(rt, removed or obj, gone=True)

    def _graceful(self, pod: Obj, grace: int) -> Obj | None:
        """``BeforeDelete`` of a graceful delete: the pod stays, Terminating until the kubelet
        removes it; a later delete may only shorten the period. None: delete it now."""
        meta = pod["metadata"]
        current = meta.get("deletionGracePeriodSeconds")
        if meta.get("deletionTimestamp") and (current is not None and grace >= int(current)):
            return pod
        if grace <= 0:
            return None
        marked: Obj = deep_copy(pod)
        marked["metadata"]["deletionTimestamp"] = timestamp(self.objects.clock() + grace)
        marked["metadata"]["deletionGracePeriodSeconds"] = grace
        return self.store.put(PODS, marked)

    def _mark(self, rt: ResourceType, obj: Obj, finalizers: list[str]) -> Obj:
        marked: Obj = deep_copy(obj)
        meta = marked["metadata"]
        meta["deletionTimestamp"] = self.objects.now()
        meta["deletionGracePeriodSeconds"] = 0
        if finalizers:
            meta["finalizers"] = finalizers
        if rt.has_generation:
            meta["generation"] = int(meta.get("generation", 1)) + 1
        return marked

    def _answer(self, rt: ResourceType, obj: Obj, *, gone: bool) -> Obj:
        if rt.kind in _RETURNS_OBJECT or not gone:
            return obj
        details: Obj = {
            "name": obj["metadata"]["name"],
            "group": rt.group,
            "kind": rt.plural,
            "uid": obj["metadata"].get("uid", ""),
        }
        if not rt.group:
            del details["group"]
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }

    def _orphan_dependents(self, uid: str) -> None:
        for rt, obj in self.store.dependents(uid):
            refs = obj["metadata"].get("ownerReferences") or []
            self._set_owners(rt, obj, [r for r in refs if r.get("uid") != uid])

    def _set_owners(self, rt: ResourceType, obj: Obj, refs: list[Obj]) -> None:
        updated = deep_copy(obj)
        if refs:
            updated["metadata"]["ownerReferences"] = refs
        else:
            updated["metadata"].pop("ownerReferences", None)
        self.store.put(rt, updated)

    def collect(self) -> int:
        """Collect garbage and finish deletions until nothing changes; returns the changes."""
        changes = 0
        with self.store.lock:
            for _ in range(100):
                step = self._namespaces() + self._sweep_suspects()
                changes += step
                if not step:
                    break
            self.pending = bool(self._suspects) or bool(self._terminating())
        return changes

    def suspect(self, uid: str) -> None:
        """Mark an object whose dependents (or own deletion) need a look."""
        if uid:
            self._suspects.add(uid)

    def _terminating(self) -> list[Obj]:
        return [
            s.obj
            for s in self.store.items(NAMESPACES)
            if s.obj["metadata"].get("deletionTimestamp")
        ]

    def _namespaces(self) -> int:
        """The namespace controller: delete what a terminating namespace holds, report what
        remains in its conditions, and remove it once empty."""
        changes = 0
        for ns in self._terminating():
            name = ns["metadata"]["name"]
            contents = [
                (rt, s.obj) for rt in RESOURCES if rt.namespaced for s in self.store.items(rt, name)
            ]
            for rt, obj in contents:
                if not obj["metadata"].get("deletionTimestamp"):
                    self._delete_now(rt, obj, Propagation.BACKGROUND)
                    changes += 1
                else:
                    changes += self._finish(rt, obj)
            remaining = [
                (rt, s.obj) for rt in RESOURCES if rt.namespaced for s in self.store.items(rt, name)
            ]
            if not remaining:
                self.store.remove(NAMESPACES, "", name)
                changes += 1
                continue
            status = dict(ns.get("status") or {})
            status["conditions"] = nsconditions.conditions(
                list(status.get("conditions") or []), remaining, self.objects.now()
            )
            if status != ns.get("status"):
                self.store.put(NAMESPACES, dict(ns, status=status))
        return changes

    def _sweep_suspects(self) -> int:
        changes = 0
        while self._suspects:
            uid = self._suspects.pop()
            for rt, obj in self.store.dependents(uid):
                changes += self._collect_one(rt, obj)
            found = self.store.by_uid(uid)
            if found is not None and found[1]["metadata"].get("deletionTimestamp"):
                changes += self._finish(*found)
        return changes

    def _collect_one(self, rt: ResourceType, obj: Obj) -> int:
        refs = obj["metadata"].get("ownerReferences") or []
        owners = [(r, self.store.by_uid(str(r.get("uid")))) for r in refs]
        living = [(r, o) for r, o in owners if o is not None]
        doomed = [r for r, o in living if o is not None and _foreground(o[1])]
        if not living or len(doomed) == len(living):
            if obj["metadata"].get("deletionTimestamp"):
                return self._finish(rt, obj)
            self._delete_now(rt, obj, Propagation.BACKGROUND)
            return 1
        if len(living) != len(refs):
            self._set_owners(rt, obj, [r for r, _ in living])
            return 1
        return 0

    def _finish(self, rt: ResourceType, obj: Obj) -> int:
        meta = obj["metadata"]
        if rt is PODS and meta.get("deletionGracePeriodSeconds"):
            return 0  # terminating gracefully: the kubelet removes it
        finalizers = list(meta.get("finalizers") or [])
        if "foregroundDeletion" in finalizers:
            if self.store.dependents(meta.get("uid", "")):
                return 0
            finalizers.remove("foregroundDeletion")
            if finalizers:
                updated = deep_copy(obj)
                updated["metadata"]["finalizers"] = finalizers
                self.store.put(rt, updated)
                return 1
        if finalizers:
            return 0
        self.store.remove(rt, meta.get("namespace", ""), meta["name"])
        self.suspect(meta.get("uid", ""))
        return 1


def _foreground(owner: Obj) -> bool:
    meta = owner["metadata"]
    return bool(meta.get("deletionTimestamp")) and "foregroundDeletion" in (
        meta.get("finalizers") or []
    )
