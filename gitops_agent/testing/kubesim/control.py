"""Test controls: the request log, counters by verb and resource, and fault injection.

``Control.record`` is called by the HTTP server once per API request (control requests under
``/_kubesim`` are not recorded); ``Control.fault_for`` tells the server whether to delay,
fail or reset a request. Tests reach the same state through ``KubeSim`` methods in Python
or over HTTP under ``/_kubesim/`` (``handlers_control.py``).
"""

from __future__ import annotations

import collections
import fnmatch
import itertools
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the server saw it."""

    time: float
    method: str
    verb: str
    path: str
    group: str
    version: str
    resource: str
    subresource: str
    namespace: str
    name: str
    query: dict[str, str]
    dry_run: bool
    code: int
    field_manager: str = ""
    content_type: str = ""
    user_agent: str = ""
    duration: float = 0.0
    user: str = ""  # who the request acted as (with ``SimConfig.auth``; else empty)

    def to_json(self) -> Obj:
        return asdict(self)


@dataclass(frozen=True)
class Fault:
    """A rule that makes matching requests fail, wait or lose their connection.

    ``verb`` (``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``, ``delete``,
    ``deletecollection``), ``resource`` (plural, optionally ``plural/subresource``),
    ``namespace`` and ``name`` are glob patterns. ``code`` 0 lets the request through after
    ``latency`` seconds; ``reset`` closes the connection without an answer. ``rate`` is the
    chance a matching request is hit; ``times`` bounds how many are hit (None: unbounded).
    """

    verb: str = "*"
    resource: str = "*"
    namespace: str = "*"
    name: str = "*"
    code: int = 500
    reason: str = ""
    message: str = "injected fault"
    latency: float = 0.0
    reset: bool = False
    rate: float = 1.0
    times: int | None = None

    @classmethod
    def from_json(cls, data: Obj) -> Fault:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def matches(self, verb: str, resource: str, namespace: str, name: str) -> bool:
        return (
            fnmatch.fnmatchcase(verb, self.verb)
            and fnmatch.fnmatchcase(resource, self.resource)
            and fnmatch.fnmatchcase(namespace, self.namespace)
            and fnmatch.fnmatchcase(name, self.name)
        )


@dataclass
class _FaultState:
    fault: Fault
    id: int
    hits: int = 0


@dataclass
class Control:
    """Request log, counters and faults of one simulator; thread-safe."""

    seed: int = 0
    max_records: int = 100_000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _records: collections.deque[RequestRecord] = field(default_factory=collections.deque)
    _faults: list[_FaultState] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._records = collections.deque(maxlen=self.max_records)

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._records.append(entry)

    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear_requests(self) -> None:
        with self._lock:
            self._records.clear()

    def counters(self) -> Obj:
        """Counts by verb, by resource, by ``verb resource`` and by status code."""
        by_verb: collections.Counter[str] = collections.Counter()
        by_resource: collections.Counter[str] = collections.Counter()
        by_both: collections.Counter[str] = collections.Counter()
        by_code: collections.Counter[str] = collections.Counter()
        for entry in self.requests():
            resource = entry.resource + (f"/{entry.subresource}" if entry.subresource else "")
            by_verb[entry.verb] += 1
            by_resource[resource] += 1
            by_both[f"{entry.verb} {resource}"] += 1
            by_code[str(entry.code)] += 1
        return {
            "total": sum(by_verb.values()),
            "byVerb": dict(by_verb),
            "byResource": dict(by_resource),
            "byVerbResource": dict(by_both),
            "byCode": dict(by_code),
        }

    def add_fault(self, fault: Fault) -> int:
        with self._lock:
            state = _FaultState(fault, next(self._ids))
            self._faults.append(state)
            return state.id

    def remove_fault(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[Obj]:
        with self._lock:
            return [dict(asdict(f.fault), id=f.id, hits=f.hits) for f in self._faults]

    def fault_for(self, verb: str, resource: str, namespace: str, name: str) -> Fault | None:
        """The first fault that hits this request, counting the hit."""
        with self._lock:
            for state in self._faults:
                fault = state.fault
                if fault.times is not None and state.hits >= fault.times:
                    continue
                if not fault.matches(verb, resource, namespace, name):
                    continue
                if fault.rate < 1.0 and self._random.random() >= fault.rate:
                    continue
                state.hits += 1
                return fault
        return None

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._faults.clear()
