"""Events as the controllers and the kubelet record them (client-go's ``tools/record``).

``Recorder.event(rt, obj, type, reason, message, source=...)`` writes a core/v1 ``Event``
about ``obj`` in its namespace (``default`` for cluster-scoped objects), named
``<object name>.<hex nanoseconds>``, with ``source``, ``reportingComponent``/``Instance``,
``firstTimestamp``/``lastTimestamp`` and ``count: 1``; a repeat of the same event (same object,
source, type, reason and message) bumps ``count`` and ``lastTimestamp`` instead, as the event
correlator's deduplication does. Writes that fail (a namespace being deleted) are dropped, as
the recorder drops them. Used by the simulated controllers (``ctrlbase.py``) and kubelet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim.errors import ApiError
from gitops_agent.testing.kubesim.kinds import EVENTS, ResourceType
from gitops_agent.testing.kubesim.objects import Objects, WriteOptions, timestamp
from gitops_agent.testing.kubesim.patching import deep_copy

Obj = dict[str, Any]
NORMAL, WARNING = "Normal", "Warning"


@dataclass(frozen=True)
class Source:
    """Who records: ``deployment-controller``; the kubelet also names its node."""

    component: str
    host: str = ""
    manager: str = "kube-controller-manager"  # the field manager of its API writes


def reference(rt: ResourceType, obj: Obj, field_path: str = "") -> Obj:
    """The ``ObjectReference`` of ``reference.GetReference`` (and a container's fieldPath)."""
    meta = obj["metadata"]
    ref: Obj = {"kind": rt.kind}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    ref.update(name=meta["name"], uid=meta.get("uid", ""), apiVersion=rt.api_version)
    ref["resourceVersion"] = meta.get("resourceVersion", "")
    if field_path:
        ref["fieldPath"] = field_path
    return ref


class Recorder:
    """Records events through the same admission as any client write."""

    def __init__(self, objects: Objects, clock: Callable[[], float]) -> None:
        self.objects = objects
        self.store = objects.store
        self.clock = clock
        self._last_nanos = 0
        self._names: dict[tuple[Any, ...], tuple[str, str]] = {}

    def event(
        self,
        rt: ResourceType,
        obj: Obj,
        kind: str,
        reason: str,
        message: str,
        *,
        source: Source,
        field_path: str = "",
    ) -> None:
        ref = reference(rt, obj, field_path)
        namespace = ref.get("namespace") or "default"
        key = (namespace, ref["uid"], field_path, source, kind, reason, message)
        body: Obj = {
            "metadata": {"namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": {"component": source.component},
            "count": 1,
            "type": kind,
            "eventTime": None,
            "reportingComponent": source.component,
            "reportingInstance": source.host,
        }
        if source.host:
            body["source"]["host"] = source.host
        with self.store.lock:
            try:
                if not self._repeat(key, source.manager):
                    self._create(key, body, source.manager)
            except ApiError:
                return  # the recorder drops what it could not write

    def _repeat(self, key: tuple[Any, ...], manager: str) -> bool:
        found = self._names.get(key)
        if found is None:
            return False
        stored = self.store.get(EVENTS, *found)
        if stored is None:
            return False
        body = deep_copy(stored)
        body["count"] = int(body.get("count") or 1) + 1
        body["lastTimestamp"] = timestamp(self.clock())
        self.objects.update(EVENTS, found[0], found[1], body, WriteOptions(field_manager=manager))
        return True

    def _create(self, key: tuple[Any, ...], body: Obj, manager: str) -> None:
        now = self.clock()
        nanos = max(int(now * 1e9), self._last_nanos + 1)
        self._last_nanos = nanos
        meta = body["metadata"]
        meta["name"] = f"{body['involvedObject']['name']}.{nanos:x}"
        body["firstTimestamp"] = body["lastTimestamp"] = timestamp(now)
        self.objects.create(EVENTS, meta["namespace"], body, WriteOptions(field_manager=manager))
        self._names[key] = (meta["namespace"], meta["name"])
        if len(self._names) > 4096:  # the correlator's LRU cache
            self._names.pop(next(iter(self._names)))

    def reset(self) -> None:
        self._names.clear()
