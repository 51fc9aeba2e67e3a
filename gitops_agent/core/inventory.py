"""The inventory: which resources (and objects) this agent instance owns, and from which
revision each came.

Pure: the targets store it (Kubernetes: ConfigMaps labelled with the owner; local: a file in
the state directory) as the string maps ``to_shards`` returns, and read it back with
``from_shards``. Entries are spread over shards of at most ``MAX_SHARD_BYTES`` each (a
ConfigMap holds 1 MiB), so that no stored object grows without bound; an entry keeps its
shard while it fits there, so a change rewrites one shard.
Called by the planner (what is ours, what to prune) and the engine, which records what a
plan is about to create (``with_pending``) and what it did (``next_inventory``).

What is ours: an object is the agent's when its resource's entry recorded its key with its
uid. An entry records a key *before* the object is created (``with_pending``, uid not yet
known), so that an object created just before a crash, or before a failed inventory write,
is still recognised on the next cycle: a live object carrying our owner label whose key the
entry recorded without a uid is ours, and its uid is recorded then. An object whose key is
not recorded, or whose uid differs from the recorded one, is not ours, whatever its labels
say: it is never written nor deleted (the planner reports it as a conflict or unmanaged).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gitops_agent.core.kinds import ObjectKey, key_of
from gitops_agent.core.labels import uid_of
from gitops_agent.core.manifests import ResourceId, ResourceType
from gitops_agent.core.planning import Action, Plan, ResourcePlan
from gitops_agent.core.results import Outcome, ResourceResult

MAX_SHARD_BYTES = 512 * 1024
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
    manifest: Mapping[str, Any] | None = field(default=None, compare=True, repr=False)
    uids: Mapping[ObjectKey, str] = field(default_factory=dict)

    def owns(self, obj: Mapping[str, Any], *, key: ObjectKey | None = None) -> bool:
        """True when ``obj`` (at ``key``, when the caller knows it) is the object this entry
        recorded (see the module docstring)."""
        key = key or key_of(obj)
        if key not in self.objects:
            return False
        recorded = self.uids.get(key, "")
        return not recorded or recorded == uid_of(obj)

    def encode(self) -> str:
        return json.dumps(
            {
                "v": FORMAT,
                "revision": self.revision,
                "file": self.file,
                "objects": [key.encode() for key in self.objects],
                "uids": {key.encode(): uid for key, uid in sorted(self.uids.items()) if uid},
                "depends": [rid.encode() for rid in self.depends],
                "manifest": self.manifest,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, rid: ResourceId, text: str) -> InventoryEntry:
        data = json.loads(text)
        uids = data.get("uids") or {}
        return cls(
            id=rid,
            revision=str(data.get("revision", "")),
            objects=tuple(ObjectKey.decode(k) for k in data.get("objects", ())),
            file=str(data.get("file", "")),
            depends=tuple(ResourceId.decode(d) for d in data.get("depends", ())),
            manifest=data.get("manifest"),
            uids={ObjectKey.decode(k): str(v) for k, v in uids.items() if v},
        )


@dataclass(frozen=True, slots=True)
class Inventory:
    """Entries by resource, and the shard each entry is stored in. ``texts`` holds, for the
    entries read from a store and not replaced since, the text they were stored as: what
    is written back for them, and what tells a re-read entry apart without decoding it."""

    entries: Mapping[ResourceId, InventoryEntry] = field(default_factory=dict)
    shards: Mapping[ResourceId, int] = field(default_factory=dict)
    texts: Mapping[ResourceId, str] = field(default_factory=dict, compare=False, repr=False)

    def owned(self) -> frozenset[ResourceId]:
        return frozenset(self.entries)

    def text(self, rid: ResourceId) -> str:
        """Entry ``rid`` as stored: its stored text when it was read, else its encoding."""
        known = self.texts.get(rid)
        return known if known is not None else self.entries[rid].encode()

    def with_entries(self, entries: Iterable[InventoryEntry]) -> Inventory:
        """This inventory with ``entries`` set (added or replaced), keeping shard places
        while the shard has room, else moving the entry to the first shard that has."""
        entries = list(entries)
        if not entries:
            return self
        merged = dict(self.entries)
        shards = dict(self.shards)
        texts = dict(self.texts)
        sizes = _sizes(self)
        for entry in entries:
            if entry.id in merged:
                sizes[shards[entry.id]] -= len(self.text(entry.id))
            merged[entry.id] = entry
            texts.pop(entry.id, None)
            size = len(entry.encode())
            place = shards.get(entry.id)
            if place is None or sizes.get(place, 0) + size > MAX_SHARD_BYTES:
                place = _free_shard(sizes, size)
            shards[entry.id] = place
            sizes[place] = sizes.get(place, 0) + size
        return Inventory(merged, shards, texts)

    def without(self, ids: Iterable[ResourceId]) -> Inventory:
        """This inventory without the given resources."""
        gone = set(ids)
        if not gone & set(self.entries):
            return self
        return Inventory(
            {rid: e for rid, e in self.entries.items() if rid not in gone},
            {rid: s for rid, s in self.shards.items() if rid not in gone},
            {rid: t for rid, t in self.texts.items() if rid not in gone},
        )

    def entry(self, rid: ResourceId) -> InventoryEntry | None:
        return self.entries.get(rid)


def _sizes(inventory: Inventory) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for rid in inventory.entries:
        shard = inventory.shards[rid]
        sizes[shard] = sizes.get(shard, 0) + len(inventory.text(rid))
    return sizes


def _free_shard(sizes: Mapping[int, int], size: int) -> int:
    shard = 0
    while sizes.get(shard, 0) and sizes[shard] + size > MAX_SHARD_BYTES:
        shard += 1
    return shard


def to_shards(inventory: Inventory) -> dict[int, dict[str, str]]:
    """Shard number -> string map (ConfigMap ``data``) holding that shard's entries."""
    result: dict[int, dict[str, str]] = {}
    for rid in sorted(inventory.entries):
        result.setdefault(inventory.shards[rid], {})[rid.encode()] = inventory.text(rid)
    return result


def from_shards(
    shards: Mapping[int, Mapping[str, str]], *, previous: Inventory | None = None
) -> Inventory:
    """The inventory stored as ``to_shards`` wrote it. Unreadable keys are skipped. An entry
    stored as the same text as in ``previous`` (an earlier read) is not decoded again."""
    entries: dict[ResourceId, InventoryEntry] = {}
    places: dict[ResourceId, int] = {}
    texts: dict[ResourceId, str] = {}
    earlier = previous or Inventory()
    for shard, data in sorted(shards.items()):
        for key, text in data.items():
            try:
                rid = ResourceId.decode(key)
                same = earlier.texts.get(rid) == text
                entries[rid] = earlier.entries[rid] if same else InventoryEntry.decode(rid, text)
            except (ValueError, KeyError, TypeError):
                continue
            places[rid] = shard
            texts[rid] = text
    return Inventory(entries, places, texts)


def changed_shards(old: Inventory, new: Inventory) -> set[int]:
    """The shards whose stored content differs between two inventories."""
    before, after = to_shards(old), to_shards(new)
    return {shard for shard in set(before) | set(after) if before.get(shard) != after.get(shard)}


def with_pending(previous: Inventory, plan: Plan, *, revision: str) -> Inventory:
    """The inventory with the keys a plan is about to create recorded (uid not yet known),
    before anything is created: the crash-safety record of the module docstring."""
    updated = []
    for resource in plan.resources:
        creating = {s.key for s in resource.steps if s.action is Action.CREATE}
        if not creating:
            continue
        old = previous.entry(resource.id)
        known = set(old.objects) if old else set()
        if creating <= known:
            continue
        entry = old or InventoryEntry(
            resource.id,
            revision,
            (),
            resource.file,
            tuple(sorted({d.id for d in resource.depends})),
        )
        updated.append(replace(entry, objects=tuple(sorted(known | creating))))
    return previous.with_entries(updated)


def next_inventory(
    previous: Inventory,
    plan: Plan,
    results: Sequence[ResourceResult],
    *,
    revision: str,
    manifests: Mapping[ResourceId, Mapping[str, Any]] | None = None,
    uids: Mapping[ObjectKey, str] | None = None,
) -> Inventory:
    """The inventory after a plan ran: what each resource holds recorded with its uid,
    pruned ones forgotten. An entry (and the revision in it) changes only when the
    resource's objects, their uids, file, dependencies or, for a Bundle, manifest change: a
    changed field of an object is recorded on the object itself (its revision and manifest
    annotations), so an update costs one write, not two. A resource whose delete failed
    stays, so it is retried; objects that are not ours (conflicts, look-alikes) are never
    recorded. ``uids`` are those the target answered writes with."""
    outcomes = {result.id: result for result in results}
    updated: list[InventoryEntry] = []
    forgotten = []
    for resource in plan.resources:
        result = outcomes.get(resource.id)
        old = previous.entry(resource.id)
        if resource.action is Action.DELETE:
            if result is not None and result.outcome is Outcome.DELETED:
                forgotten.append(resource.id)
            continue
        if result is None:
            continue
        entry = _entry_after(
            resource, result, old, revision=revision, manifests=manifests or {}, uids=uids or {}
        )
        if entry != old:
            updated.append(replace(entry, revision=revision))
    return previous.with_entries(updated).without(forgotten)


_HELD = frozenset({Action.CREATE, Action.UPDATE, Action.UNCHANGED})


def _entry_after(
    resource: ResourcePlan,
    result: ResourceResult,
    old: InventoryEntry | None,
    *,
    revision: str,
    manifests: Mapping[ResourceId, Mapping[str, Any]],
    uids: Mapping[ObjectKey, str],
) -> InventoryEntry:
    failed = result.outcome is Outcome.FAILED
    held = {s.key for s in resource.steps if s.action in _HELD}
    if failed:
        held |= {s.key for s in resource.steps if s.action is Action.DELETE}
        held |= set(old.objects) if old else set()
    known = {s.key: uid_of(s.live) for s in resource.steps if s.live is not None}
    recorded = {
        key: uids.get(key) or known.get(key) or (old.uids.get(key, "") if old else "")
        for key in held
    }
    return InventoryEntry(
        id=resource.id,
        revision=old.revision if old else revision,
        objects=tuple(sorted(held)),
        file=resource.file,
        depends=tuple(sorted({d.id for d in resource.depends})),
        manifest=manifests.get(resource.id) if resource.id.type is ResourceType.BUNDLE else None,
        uids={key: uid for key, uid in recorded.items() if uid},
    )
