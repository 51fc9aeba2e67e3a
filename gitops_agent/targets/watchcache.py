"""A watch-fed copy of one owner's objects, so that a running agent reads the cluster without
asking it.

``WatchCache(api, selector, kinds)`` keeps, per kind, one LIST and then one WATCH at a time
(bookmarks asked for, resumed from the last resourceVersion seen; a 410, the version being
gone, lists again). Pods are kept as the projection status needs (name, labels, owner
references, deletion time, phase, container states), not whole; other kinds whole, as the
diff needs them (managed fields included). ``objects(kind)`` answers from memory once the
kind has been listed; ``caught_up(kind, version)`` says whether the copy has seen a write
the agent made (a write answers with its resourceVersion: an observation made after a write
waits, briefly, for its event, so that a rollout is never judged on the object before it).
``changed`` is set on every event (a drift check may wake on it). Threads are daemons and
stop with ``stop()``. Used by ``targets.kubernetes`` when ``run`` serves; one-shot commands
read by LIST.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from gitops_agent.core import kinds
from gitops_agent.core.kinds import Kind, ObjectKey, key_of
from gitops_agent.errors import TargetError

log = logging.getLogger("gitops_agent.watch")

WATCH_SECONDS = 240  # a watch the server ends after this long is started again
RETRY_SECONDS = 2.0  # after a failed LIST or WATCH
POD_STATUS_KEYS = ("phase", "reason", "containerStatuses", "conditions")


class WatchApi(Protocol):
    """The calls of ``targets.kubeapi.KubeApi`` the cache makes."""

    def list_at(self, kind: Kind, *, selector: str = "") -> tuple[list[dict[str, Any]], str]: ...

    def watch(
        self, kind: Kind, *, selector: str, resource_version: str, seconds: int
    ) -> Iterator[dict[str, Any]]: ...


def project_pod(pod: Mapping[str, Any]) -> dict[str, Any]:
    """What status needs of a pod."""
    metadata = pod.get("metadata") or {}
    status = pod.get("status") or {}
    kept = ("name", "namespace", "labels", "ownerReferences", "deletionTimestamp", "uid")
    return {
        "apiVersion": pod.get("apiVersion", "v1"),
        "kind": pod.get("kind", kinds.POD.name),
        "metadata": {k: metadata[k] for k in kept if k in metadata}
        | {"resourceVersion": metadata.get("resourceVersion", "")},
        "status": {k: status[k] for k in POD_STATUS_KEYS if k in status},
    }


def version_of(obj: Mapping[str, Any]) -> int | None:
    """An object's resourceVersion as a number (None when it is not one)."""
    text = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None


class _KindCopy:
    """The objects of one kind, the newest version seen, whether it was listed."""

    def __init__(self, kind: Kind, project: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
        self.kind, self.project = kind, project
        self.objects: dict[ObjectKey, dict[str, Any]] = {}
        self.version = ""
        self.seen = 0
        self.listed = threading.Event()

    def replace(self, items: Sequence[Mapping[str, Any]], version: str) -> None:
        self.objects = {key_of(item): self.project(item) for item in items}
        self._saw(version)
        self.listed.set()

    def apply(self, event: Mapping[str, Any]) -> None:
        obj = event.get("object") or {}
        if not isinstance(obj, dict):
            return
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        kind = event.get("type")
        if kind == "BOOKMARK":
            self._saw(version)
            return
        obj.setdefault("apiVersion", self.kind.api_version)
        obj.setdefault("kind", self.kind.name)
        if kind == "DELETED":
            self.objects.pop(key_of(obj), None)
        elif kind in ("ADDED", "MODIFIED"):
            self.objects[key_of(obj)] = self.project(obj)
        self._saw(version)

    def _saw(self, version: str) -> None:
        if version:
            self.version = version
            number = version_of({"metadata": {"resourceVersion": version}})
            if number is not None:
                self.seen = max(self.seen, number)


class WatchCache:
    """One owner's objects of several kinds, kept by watches."""

    def __init__(
        self,
        api: WatchApi,
        *,
        selector: str,
        kinds: Sequence[Kind],
        pods: Kind | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api, self.selector, self.sleep = api, selector, sleep
        self.copies = {kind.name: _KindCopy(kind, dict) for kind in kinds}
        if pods is not None:
            self.copies[pods.name] = _KindCopy(pods, project_pod)
        self.changed = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for name, copy in self.copies.items():
            thread = threading.Thread(target=self._follow, args=(copy,), name=f"watch-{name}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()

    def ready(self, timeout: float = 0.0) -> bool:
        """Whether every kind has been listed (waiting up to ``timeout``)."""
        deadline = time.monotonic() + timeout
        return all(
            copy.listed.wait(max(deadline - time.monotonic(), 0.0)) for copy in self.copies.values()
        )

    def objects(self, kind: Kind) -> list[dict[str, Any]]:
        """The kept objects of ``kind`` (read-only: they are the cache's own)."""
        with self._lock:
            return list(self.copies[kind.name].objects.values())

    def caught_up(self, kind: Kind, version: int, *, timeout: float) -> bool:
        """Whether the copy of ``kind`` has seen ``version`` (waiting up to ``timeout``)."""
        deadline = time.monotonic() + timeout
        copy = self.copies.get(kind.name)
        while copy is not None:
            if copy.seen >= version:
                return True
            if time.monotonic() >= deadline or self._stop.is_set():
                return False
            self.sleep(0.01)
        return False

    def forgot(self, keys: set[ObjectKey], *, timeout: float) -> bool:
        """Whether none of ``keys`` is kept any more (waiting up to ``timeout``): the copy has
        seen the deletes the agent made."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                held = any(key in copy.objects for copy in self.copies.values() for key in keys)
            if not held:
                return True
            if time.monotonic() >= deadline or self._stop.is_set():
                return False
            self.sleep(0.01)

    def _follow(self, copy: _KindCopy) -> None:
        """LIST, then WATCH from the list's version, for as long as the cache runs."""
        while not self._stop.is_set():
            try:
                items, version = self.api.list_at(copy.kind, selector=self.selector)
                with self._lock:
                    copy.replace(items, version)
                self.changed.set()
                self._watch(copy)
            except TargetError as err:
                if err.status != 410:
                    log.warning("watch of %s interrupted: %s", copy.kind.name, err)
                    self.sleep(RETRY_SECONDS)
            except Exception:  # a bug must not leave the copy silently stale
                log.exception("watch of %s failed", copy.kind.name)
                copy.listed.clear()
                self.sleep(RETRY_SECONDS)

    def _watch(self, copy: _KindCopy) -> None:
        """Watches one after the other from the newest version seen, until one fails."""
        while not self._stop.is_set():
            events = self.api.watch(
                copy.kind,
                selector=self.selector,
                resource_version=copy.version,
                seconds=WATCH_SECONDS,
            )
            for event in events:
                with self._lock:
                    copy.apply(event)
                self.changed.set()
                if self._stop.is_set():
                    return
