"""Deletion: propagation policies, finalizers, ownerReference garbage collection, namespaces.

``Deleter.delete`` removes an object with ``Background`` (dependents collected right after),
``Foreground`` (the owner waits, with ``deletionTimestamp`` and the ``foregroundDeletion``
finalizer, until its dependents are gone) or ``Orphan`` (dependents lose the owner
reference) propagation; Jobs default to orphaning with the real server's warning.
``collect`` is the garbage collector and namespace finalizer: it runs after each delete and on
controller ticks while work is pending. Called by ``handlers.py`` and the simulator loop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.kinds import JOBS, NAMESPACES, RESOURCES, ResourceType
from gitops_agent.testing.kubesim.objects import Objects
from gitops_agent.testing.kubesim.patching import deep_copy

Obj = dict[str, Any]
GC_MANAGER = "kube-controller-manager"
_RETURNS_OBJECT = ("Pod", "Namespace")
_JOB_WARNING = ("child pods are preserved by default when jobs are deleted; set "
                "propagationPolicy=Background to remove them or set propagationPolicy=Orphan "
                "to suppress this warning")


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

    def delete(self, rt: ResourceType, namespace: str, name: str,
               opts: DeleteOptions) -> Deleted:
        with self.store.lock:
            obj = self.objects.get(rt, namespace, name)
            self._preconditions(rt, obj, opts)
            policy, warnings = opts.propagation, ()
            if policy is None:
                policy = Propagation.ORPHAN if rt is JOBS else Propagation.BACKGROUND
                warnings = (_JOB_WARNING,) if rt is JOBS else ()
            if opts.dry_run:
                return Deleted(self._answer(rt, obj, gone=True), warnings)
            body = self._delete_now(rt, obj, policy)
        self.collect()
        return Deleted(body, warnings)

    def _preconditions(self, rt: ResourceType, obj: Obj, opts: DeleteOptions) -> None:
        meta = obj["metadata"]
        if opts.uid and opts.uid != meta.get("uid"):
            raise errors.conflict(rt, meta["name"], f"Precondition failed: UID in precondition: "
                                  f"{opts.uid}, UID in object meta: {meta.get('uid')}")
        if opts.resource_version and opts.resource_version != meta.get("resourceVersion"):
            raise errors.conflict(rt, meta["name"], "Precondition failed: ResourceVersion in "
                                  f"precondition: {opts.resource_version}, ResourceVersion in "
                                  f"object meta: {meta.get('resourceVersion')}")

    def _delete_now(self, rt: ResourceType, obj: Obj, policy: Propagation) -> Obj:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return obj
        if rt is NAMESPACES:
            marked = self._mark(rt, obj, [])
            marked["status"] = dict(marked.get("status") or {}, phase="Terminating")
            self.pending = True
            return self.store.put(rt, marked)
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

    def _mark(self, rt: ResourceType, obj: Obj, finalizers: list[str]) -> Obj:
        marked = deep_copy(obj)
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
        details: Obj = {"name": obj["metadata"]["name"], "group": rt.group, "kind": rt.plural,
                        "uid": obj["metadata"].get("uid", "")}
        if not rt.group:
            del details["group"]
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": details}

    def _orphan_dependents(self, uid: str) -> None:
        for rt, obj in self._everything():
            refs = obj["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == uid for r in refs):
                self._set_owners(rt, obj, [r for r in refs if r.get("uid") != uid])

    def _set_owners(self, rt: ResourceType, obj: Obj, refs: list[Obj]) -> None:
        updated = deep_copy(obj)
        if refs:
            updated["metadata"]["ownerReferences"] = refs
        else:
            updated["metadata"].pop("ownerReferences", None)
        self.store.put(rt, updated)

    def _everything(self) -> list[tuple[ResourceType, Obj]]:
        return [(rt, s.obj) for rt in RESOURCES for s in self.store.items(rt)]

    def collect(self) -> int:
        """Run the garbage collector and namespace finalizer until nothing changes."""
        changes = 0
        with self.store.lock:
            for _ in range(50):
                step = self._sweep()
                changes += step
                if not step:
                    break
            self.pending = any(self._unfinished(obj) for _, obj in self._everything())
        return changes

    def _unfinished(self, obj: Obj) -> bool:
        return bool(obj["metadata"].get("deletionTimestamp"))

    def _sweep(self) -> int:
        everything = self._everything()
        alive = {obj["metadata"].get("uid"): obj for _, obj in everything}
        terminating = {obj["metadata"]["name"] for rt, obj in everything if rt is NAMESPACES
                       and obj["metadata"].get("deletionTimestamp")}
        changes = 0
        for rt, obj in everything:
            changes += self._collect_one(rt, obj, alive, terminating)
        return changes

    def _collect_one(self, rt: ResourceType, obj: Obj, alive: dict[Any, Obj],
                     terminating: set[str]) -> int:
        meta = obj["metadata"]
        namespace = meta.get("namespace", "")
        if namespace in terminating and not meta.get("deletionTimestamp"):
            self._delete_now(rt, obj, Propagation.BACKGROUND)
            return 1
        refs = meta.get("ownerReferences") or []
        if refs:
            living = [r for r in refs if r.get("uid") in alive]
            doomed = [r for r in living if _foreground(alive[r.get("uid")])]
            if not living or (doomed and len(doomed) == len(living)):
                self._delete_now(rt, obj, Propagation.BACKGROUND)
                return 1
            if len(living) != len(refs):
                self._set_owners(rt, obj, living)
                return 1
        if meta.get("deletionTimestamp"):
            return self._finish(rt, obj, alive)
        return 0

    def _finish(self, rt: ResourceType, obj: Obj, alive: dict[Any, Obj]) -> int:
        meta = obj["metadata"]
        uid = meta.get("uid")
        has_dependents = any(r.get("uid") == uid for o in alive.values()
                             for r in o["metadata"].get("ownerReferences") or [])
        finalizers = list(meta.get("finalizers") or [])
        if rt is NAMESPACES:
            if has_dependents or any(o["metadata"].get("namespace") == meta["name"]
                                     for o in alive.values()):
                return 0
            self.store.remove(rt, "", meta["name"])
            return 1
        if "foregroundDeletion" in finalizers and not has_dependents:
            finalizers.remove("foregroundDeletion")
            if finalizers:
                updated = deep_copy(obj)
                updated["metadata"]["finalizers"] = finalizers
                self.store.put(rt, updated)
                return 1
        if not finalizers:
            self.store.remove(rt, meta.get("namespace", ""), meta["name"])
            return 1
        return 0


def _foreground(owner: Obj) -> bool:
    meta = owner["metadata"]
    return bool(meta.get("deletionTimestamp")) and "foregroundDeletion" in (
        meta.get("finalizers") or [])
