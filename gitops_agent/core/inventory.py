"""The inventory: which resources (and objects) this agent instance owns, and from which
revision each came.

Pure: the targets store it (Kubernetes: ConfigMaps labelled with the owner; local: a file in
the state directory) as the string maps ``to_shards`` returns, and read it back with
``from_shards``. Entries are spread over shards of at most ``MAX_ENTRIES`` each, so that no
stored object grows without bound; an entry keeps its shard, so a change rewrites one shard.
Called by the planner (what to prune) and the engine (what was applied, what failed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.objects import ObjectKey

MAX_ENTRIES = 400
FORMAT = 1


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    """One owned resource: the revision it was last applied from, its file, its objects,
    and the resources it depends on (so that a prune can run in reverse order)."""

    id: ResourceId
    revision: str
    objects: tuple[ObjectKey, ...]
    file: str = ""
    depends: tuple[ResourceId, ...] = ()

    def encode(self) -> str:
        return json.dumps(
            {
                "v": FORMAT,
                "revision": self.revision,
                "file": self.file,
                "objects": [key.encode() for key in self.objects],
                "depends": [rid.encode() for rid in self.depends],
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, rid: ResourceId, text: str) -> InventoryEntry:
        data = json.loads(text)
        return cls(
            id=rid,
            revision=str(data.get("revision", "")),
            objects=tuple(ObjectKey.decode(k) for k in data.get("objects", ())),
            file=str(data.get("file", "")),
            depends=tuple(ResourceId.decode(d) for d in data.get("depends", ())),
        )


@dataclass(frozen=True, slots=True)
class Inventory:
    """Entries by resource, and the shard each entry is stored in."""

    entries: Mapping[ResourceId, InventoryEntry] = field(default_factory=dict)
    shards: Mapping[ResourceId, int] = field(default_factory=dict)

    def owned(self) -> frozenset[ResourceId]:
        return frozenset(self.entries)

    def with_entries(self, entries: Iterable[InventoryEntry]) -> Inventory:
        """This inventory with ``entries`` set (added or replaced), keeping shard places."""
        merged = dict(self.entries)
        shards = dict(self.shards)
        for entry in entries:
            merged[entry.id] = entry
            if entry.id not in shards:
                shards[entry.id] = _free_shard(shards)
        return Inventory(merged, shards)

    def without(self, ids: Iterable[ResourceId]) -> Inventory:
        """This inventory without the given resources."""
        gone = set(ids)
        return Inventory(
            {rid: e for rid, e in self.entries.items() if rid not in gone},
            {rid: s for rid, s in self.shards.items() if rid not in gone},
        )

    def entry(self, rid: ResourceId) -> InventoryEntry | None:
        return self.entries.get(rid)

    def retag(self, rid: ResourceId, **changes: object) -> Inventory:
        """This inventory with fields of one entry changed (e.g. ``objects`` after a failed prune)."""
        entry = self.entries.get(rid)
        if entry is None:
            return self
        return self.with_entries([replace(entry, **changes)])  # type: ignore[arg-type]


def _free_shard(shards: Mapping[ResourceId, int]) -> int:
    counts: dict[int, int] = {}
    for shard in shards.values():
        counts[shard] = counts.get(shard, 0) + 1
    shard = 0
    while counts.get(shard, 0) >= MAX_ENTRIES:
        shard += 1
    return shard


def to_shards(inventory: Inventory) -> dict[int, dict[str, str]]:
    """Shard number -> string map (ConfigMap ``data``) holding that shard's entries."""
    result: dict[int, dict[str, str]] = {}
    for rid, entry in sorted(inventory.entries.items()):
        result.setdefault(inventory.shards[rid], {})[rid.encode()] = entry.encode()
    return result


def from_shards(shards: Mapping[int, Mapping[str, str]]) -> Inventory:
    """The inventory stored as ``to_shards`` wrote it. Unreadable keys are skipped."""
    entries: dict[ResourceId, InventoryEntry] = {}
    places: dict[ResourceId, int] = {}
    for shard, data in sorted(shards.items()):
        for key, text in data.items():
            try:
                rid = ResourceId.decode(key)
                entries[rid] = InventoryEntry.decode(rid, text)
            except (ValueError, KeyError, TypeError):
                continue
            places[rid] = shard
    return Inventory(entries, places)


def changed_shards(old: Inventory, new: Inventory) -> set[int]:
    """The shards whose stored content differs between two inventories."""
    before, after = to_shards(old), to_shards(new)
    return {shard for shard in set(before) | set(after) if before.get(shard) != after.get(shard)}
