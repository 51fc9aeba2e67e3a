"""The object store: objects by resource, namespace and name; resourceVersions; watch events.

``Store`` holds every object as an immutable dict (never mutated once stored), stamps each
write with the next resourceVersion, keeps a bounded history of events for watches that
resume from a version (older versions are answered with 410 Gone), and fans events out to
``Watcher`` queues. One re-entrant lock guards it all; ``objects.py`` takes it around each
read-modify-write. JSON encodings of stored objects are cached so that a LIST of thousands
of objects costs little more than joining bytes.
"""

from __future__ import annotations

import collections
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim.kinds import ResourceType

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]


def encode(obj: Any) -> bytes:
    """Compact JSON, as the API server writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class CompactedError(Exception):
    """A read at a resourceVersion older than the kept history (etcd's ErrCompacted)."""

    def __init__(self, oldest: int) -> None:
        super().__init__(f"required revision has been compacted ({oldest})")
        self.oldest = oldest


class FutureVersionError(Exception):
    """A read at a resourceVersion the store has not reached (etcd's ErrFutureRev)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"required revision is a future revision ({current})")
        self.current = current


def etcd_key(key: tuple[str, str]) -> str:
    """The part of an object's etcd key after the resource prefix: ``ns/name`` or ``name``."""
    return f"{key[0]}/{key[1]}" if key[0] else key[1]


def _select(table: dict[tuple[str, str], Stored], namespace: str) -> list[Stored]:
    keys = table if not namespace else [k for k in table if k[0] == namespace]
    return [table[k] for k in sorted(keys, key=etcd_key)]


def _filter(found: list[Stored], predicate: Predicate | None) -> list[Stored]:
    return found if predicate is None else [s for s in found if predicate(s.obj)]


class Stored:
    """One stored object and its cached encodings."""

    __slots__ = ("_full", "_item", "obj")

    def __init__(self, obj: Obj) -> None:
        self.obj = obj
        self._full: bytes | None = None
        self._item: bytes | None = None

    @property
    def full_json(self) -> bytes:
        if self._full is None:
            self._full = encode(self.obj)
        return self._full

    @property
    def item_json(self) -> bytes:
        """The encoding inside a list: typed lists carry no kind or apiVersion per item."""
        if self._item is None:
            self._item = encode(
                {k: v for k, v in self.obj.items() if k not in ("kind", "apiVersion")}
            )
        return self._item


@dataclass(frozen=True)
class Event:
    """One change: ``ADDED``, ``MODIFIED`` or ``DELETED`` of ``obj`` at ``rv``."""

    type: str
    rt: ResourceType
    obj: Obj
    prev: Obj | None
    rv: int


class Watcher:
    """A subscription: events for one resource (all when None) and namespace."""

    def __init__(self, rt: ResourceType | None, namespace: str) -> None:
        self.rt = rt
        self.namespace = namespace
        self.events: queue.Queue[Event | None] = queue.Queue()

    def wants(self, event: Event) -> bool:
        if self.rt is not None and event.rt.key != self.rt.key:
            return False
        ns = (event.obj.get("metadata") or {}).get("namespace", "")
        return not self.namespace or ns == self.namespace


class Store:
    """All objects of the simulated cluster."""

    def __init__(self, *, history: int = 20000) -> None:
        self.lock = threading.RLock()
        self.rv = 1
        self._objects: dict[str, dict[tuple[str, str], Stored]] = collections.defaultdict(dict)
        self._history: collections.deque[Event] = collections.deque(maxlen=history)
        self._oldest = 1
        self._watchers: list[Watcher] = []
        self._by_uid: dict[str, tuple[ResourceType, str, str]] = {}
        self._dependents: dict[str, set[tuple[ResourceType, str, str]]] = collections.defaultdict(
            set
        )

    def next_rv(self) -> int:
        with self.lock:
            self.rv += 1
            return self.rv

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        found = self._objects[rt.key].get((namespace, name))
        return found.obj if found is not None else None

    def get_stored(self, rt: ResourceType, namespace: str, name: str) -> Stored | None:
        return self._objects[rt.key].get((namespace, name))

    def items(
        self, rt: ResourceType, namespace: str = "", predicate: Predicate | None = None
    ) -> list[Stored]:
        """Stored objects of ``rt`` in ``namespace`` (all when empty), in etcd's key order."""
        with self.lock:
            found = _select(self._objects[rt.key], namespace)
        return _filter(found, predicate)

    def items_at(
        self, rt: ResourceType, namespace: str, rv: int, predicate: Predicate | None = None
    ) -> list[Stored]:
        """The objects as they were at resourceVersion ``rv`` (etcd's read at a revision):
        the current ones with the later events undone. Raises ``CompactedError`` when the history
        no longer reaches back to ``rv`` and ``FutureVersionError`` when ``rv`` is not reached."""
        with self.lock:
            if rv > self.rv:
                raise FutureVersionError(self.rv)
            if rv + 1 < self._oldest and rv < self.rv:
                raise CompactedError(self._oldest - 1)
            table = dict(self._objects[rt.key])
            for event in reversed(self._history):
                if event.rv <= rv:
                    break
                if event.rt.key != rt.key:
                    continue
                meta = event.obj["metadata"]
                key = (meta.get("namespace", ""), meta["name"])
                if event.type == "ADDED" or event.prev is None:
                    table.pop(key, None)
                else:
                    table[key] = Stored(event.prev)
            found = _select(table, namespace)
        return _filter(found, predicate)

    def count(self) -> int:
        with self.lock:
            return sum(len(t) for t in self._objects.values())

    def put(self, rt: ResourceType, obj: Obj, *, rv: int | None = None) -> Obj:
        """Store ``obj`` (created or replaced), stamping a new resourceVersion."""
        with self.lock:
            meta = obj["metadata"]
            version = rv if rv is not None else self.next_rv()
            meta["resourceVersion"] = str(version)
            key = (meta.get("namespace", ""), meta["name"])
            previous = self._objects[rt.key].get(key)
            self._objects[rt.key][key] = Stored(obj)
            if previous is not None:
                self._unindex(rt, previous.obj)
            self._index(rt, obj)
            kind = "MODIFIED" if previous is not None else "ADDED"
            self._emit(Event(kind, rt, obj, previous.obj if previous else None, version))
            return obj

    def remove(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        """Delete an object; its DELETED event carries a fresh resourceVersion."""
        with self.lock:
            found = self._objects[rt.key].pop((namespace, name), None)
            if found is None:
                return None
            self._unindex(rt, found.obj)
            obj = dict(found.obj)
            obj["metadata"] = dict(obj["metadata"], resourceVersion=str(self.next_rv()))
            self._emit(Event("DELETED", rt, obj, found.obj, self.rv))
            return obj

    def _index(self, rt: ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        key = (rt, meta.get("namespace", ""), meta["name"])
        if meta.get("uid"):
            self._by_uid[meta["uid"]] = key
        for ref in meta.get("ownerReferences") or []:
            self._dependents[str(ref.get("uid"))].add(key)

    def _unindex(self, rt: ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        key = (rt, meta.get("namespace", ""), meta["name"])
        self._by_uid.pop(meta.get("uid", ""), None)
        for ref in meta.get("ownerReferences") or []:
            found = self._dependents.get(str(ref.get("uid")))
            if found is not None:
                found.discard(key)
                if not found:
                    del self._dependents[str(ref.get("uid"))]

    def by_uid(self, uid: str) -> tuple[ResourceType, Obj] | None:
        """The resource and object with this uid, if stored."""
        with self.lock:
            key = self._by_uid.get(uid)
            if key is None:
                return None
            found = self._objects[key[0].key].get((key[1], key[2]))
            return (key[0], found.obj) if found is not None else None

    def dependents(self, uid: str) -> list[tuple[ResourceType, Obj]]:
        """Objects with an ownerReference to ``uid``."""
        with self.lock:
            out = []
            for rt, namespace, name in sorted(
                self._dependents.get(uid, ()), key=lambda k: (k[0].key, k[1], k[2])
            ):
                found = self._objects[rt.key].get((namespace, name))
                if found is not None:
                    out.append((rt, found.obj))
            return out

    def _emit(self, event: Event) -> None:
        if len(self._history) == self._history.maxlen and self._history:
            self._oldest = self._history[0].rv + 1
        self._history.append(event)
        for watcher in list(self._watchers):
            if watcher.wants(event):
                watcher.events.put(event)

    def compact(self) -> int:
        """Forget the event history (as etcd compaction does); returns the oldest version."""
        with self.lock:
            self._history.clear()
            self._oldest = self.rv + 1
            return self._oldest

    def subscribe(self, rt: ResourceType | None, namespace: str, since: int | None) -> Watcher:
        """Register a watcher; with ``since``, replay the history after that version.

        Raises ``ValueError`` when ``since`` is older than the kept history.
        """
        with self.lock:
            if since is not None and since + 1 < self._oldest and since < self.rv:
                raise ValueError(f"too old resource version: {since} ({self._oldest - 1})")
            watcher = Watcher(rt, namespace)
            if since is not None:
                for event in self._history:
                    if event.rv > since and watcher.wants(event):
                        watcher.events.put(event)
            self._watchers.append(watcher)
            return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        with self.lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)
        watcher.events.put(None)

    def close_watchers(self, *, keep: Watcher | None = None) -> None:
        """Wake every watcher (but ``keep``) with an end marker: server shutdown, reset."""
        with self.lock:
            watchers = [w for w in self._watchers if w is not keep]
            self._watchers = [w for w in self._watchers if w is keep]
        for watcher in watchers:
            watcher.events.put(None)

    def all_stored(self) -> Iterator[tuple[str, Stored]]:
        with self.lock:
            snapshot = [(key, s) for key, table in self._objects.items() for s in table.values()]
        yield from snapshot

    def clear(self) -> None:
        with self.lock:
            self._objects.clear()
            self._by_uid.clear()
            self._dependents.clear()
            self._history.clear()
            self._oldest = self.rv + 1
