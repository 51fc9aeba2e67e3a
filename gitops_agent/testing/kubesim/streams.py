"""Streaming answers: watch event streams and pod logs (plain and ``follow``).

``watch_stream`` yields newline-delimited JSON events from a ``Store`` subscription: the
current objects first when no resourceVersion is given (or ``sendInitialEvents``), then
ADDED / MODIFIED / DELETED as they happen (an object leaving the selector is a DELETED),
BOOKMARK events when asked for, and an ERROR event with a 410 ``Expired`` Status when the
requested version is older than the kept history. ``log_stream`` yields log lines as the
simulated container prints them. Both stop at their time bound or on server shutdown.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors, logs
from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.store import Event, Store, encode

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]


@dataclass(frozen=True)
class WatchSpec:
    """What a watch asked for."""

    rt: ResourceType
    namespace: str
    matches: Predicate
    since: int | None
    bookmarks: bool
    timeout: float
    bookmark_interval: float
    initial_events: bool = False
    transform: Callable[[Obj], Obj] | None = None


def _line(kind: str, obj: Obj, spec: WatchSpec) -> bytes:
    body = spec.transform(obj) if spec.transform is not None else obj
    return encode({"type": kind, "object": body}) + b"\n"


def _bookmark(spec: WatchSpec, rv: int, *, initial_end: bool = False) -> bytes:
    meta: Obj = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return (
        encode(
            {
                "type": "BOOKMARK",
                "object": {
                    "kind": spec.rt.kind,
                    "apiVersion": spec.rt.api_version,
                    "metadata": meta,
                },
            }
        )
        + b"\n"
    )


def _translate(event: Event, spec: WatchSpec) -> str:
    """The event type a filtered watch sees (or "" when it sees nothing)."""
    now = spec.matches(event.obj)
    before = event.prev is not None and spec.matches(event.prev)
    if event.type == "DELETED":
        return "DELETED" if before or now else ""
    if event.type == "ADDED":
        return "ADDED" if now else ""
    if now and before:
        return "MODIFIED"
    if now:
        return "ADDED"
    return "DELETED" if before else ""


def watch_stream(store: Store, spec: WatchSpec, stop: threading.Event) -> Iterator[bytes]:
    """The body of a watch response."""
    with store.lock:
        replay = spec.since is None or spec.initial_events
        try:
            watcher = store.subscribe(spec.rt, spec.namespace, None if replay else spec.since)
        except ValueError as exc:
            status = errors.gone(str(exc)).status()
            yield encode({"type": "ERROR", "object": status}) + b"\n"
            return
        initial = store.items(spec.rt, spec.namespace, spec.matches) if replay else []
        start_rv = store.rv
    try:
        yield from (_line("ADDED", s.obj, spec) for s in initial)
        if spec.initial_events and spec.bookmarks:
            yield _bookmark(spec, start_rv, initial_end=True)
        yield from _follow(store, watcher, spec, stop)
    finally:
        store.unsubscribe(watcher)


def _follow(store: Store, watcher: Any, spec: WatchSpec, stop: threading.Event) -> Iterator[bytes]:
    deadline = time.monotonic() + spec.timeout
    next_bookmark = time.monotonic() + spec.bookmark_interval
    while not stop.is_set():
        now = time.monotonic()
        if now >= deadline:
            return
        wait = min(deadline, next_bookmark if spec.bookmarks else deadline, now + 0.5) - now
        try:
            event = watcher.events.get(timeout=max(wait, 0.0))
        except queue.Empty:
            if spec.bookmarks and time.monotonic() >= next_bookmark:
                next_bookmark = time.monotonic() + spec.bookmark_interval
                yield _bookmark(spec, store.rv)
            continue
        if event is None:
            return
        kind = _translate(event, spec)
        if kind:
            yield _line(kind, event.obj, spec)


@dataclass(frozen=True)
class LogSpec:
    """A pod log request after its parameters were checked."""

    script: logs.LogScript
    start: float
    end: float | None  # when the container stopped printing (None: still running)
    pod_name: str
    tail: int | None
    since: float | None
    timestamps: bool
    limit_bytes: int | None


def _format(spec: LogSpec, items: list[tuple[float, str]]) -> bytes:
    out = b"".join(
        (f"{logs.rfc3339_nano(t)} {line}\n" if spec.timestamps else f"{line}\n").encode()
        for t, line in items
    )
    return out


def log_text(spec: LogSpec, now: float) -> bytes:
    """Everything the container printed until ``now``, with the query's filters."""
    end = now if spec.end is None else min(now, spec.end)
    items = logs.lines(spec.script, spec.start, end, spec.pod_name)
    if spec.since is not None:
        items = [(t, line) for t, line in items if t >= now - spec.since]
    if spec.tail is not None:
        items = items[-spec.tail :] if spec.tail > 0 else []
    body = _format(spec, items)
    return body[: spec.limit_bytes] if spec.limit_bytes is not None else body


def log_stream(
    spec: LogSpec, stop: threading.Event, limit: float, clock: Callable[[], float] = time.time
) -> Iterator[bytes]:
    """``follow=true``: the current text, then new lines until the container stops."""
    now = clock()
    first = log_text(spec, now)
    if first:
        yield first
    sent_until = now
    deadline = time.monotonic() + limit
    while not stop.is_set() and time.monotonic() < deadline:
        due = logs.next_time(spec.script, spec.start, sent_until)
        if due is None or (spec.end is not None and due > spec.end):
            return
        if stop.wait(max(0.0, min(due - clock(), deadline - time.monotonic()))):
            return
        current = clock()
        fresh = [
            (t, line)
            for t, line in logs.lines(spec.script, spec.start, current, spec.pod_name)
            if sent_until < t <= current
        ]
        sent_until = current
        if fresh:
            yield _format(spec, fresh)
