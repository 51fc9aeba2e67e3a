"""Bounded memories of results between reconcile cycles, swept after each cycle.

Used by the incremental cycles of the agent (``engine.incremental``), which hands them to
``core.loading`` (a file's documents, a standalone manifest's resource), ``core.validation``
(a resource's findings and the keys of its objects) and ``core.planning`` (an object's
changes). ``Memo`` keys results by value: a file's path and content id, say. ``ByIdentity``
keys them by an object that is itself kept alive in the entry, so a result stays tied to the
very value it was computed from: resources are immutable and the loader hands out the same
resource for an unchanged manifest. Both hold at most ``limit`` entries (a new entry past it
is not kept) and ``sweep()`` drops what was not used since the previous sweep, so a memory
holds about one revision's results; a memory not consulted at all since then (a cycle that
stopped early, at an invalid revision) keeps everything.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


class Memo(Generic[K, V]):
    """Results by key, at most ``limit`` of them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[K, V] = {}
        self._used: set[K] = set()
        self._consulted = False
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        self._consulted = True
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._used.add(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._consulted = True
        if key in self._entries or len(self._entries) < self.limit:
            self._entries[key] = value
            self._used.add(key)

    def sweep(self) -> None:
        """Forget what was not used since the previous sweep (if it was consulted at all)."""
        if self._consulted and len(self._used) < len(self._entries):
            self._entries = {k: v for k, v in self._entries.items() if k in self._used}
        self._used = set()
        self._consulted = False

    def clear(self) -> None:
        self._entries.clear()
        self._used = set()
        self._consulted = False

    def __len__(self) -> int:
        return len(self._entries)


class ByIdentity(Generic[T, V]):
    """Results by the identity of the object they were computed from, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self._memo: Memo[int, tuple[T, V]] = Memo(limit)

    def get(self, owner: T) -> V | None:
        found = self._memo.get(id(owner))
        if found is None or found[0] is not owner:
            return None
        return found[1]

    def put(self, owner: T, value: V) -> None:
        self._memo.put(id(owner), (owner, value))

    def sweep(self) -> None:
        self._memo.sweep()

    def clear(self) -> None:
        self._memo.clear()

    def __len__(self) -> int:
        return len(self._memo)

    @property
    def hits(self) -> int:
        return self._memo.hits
