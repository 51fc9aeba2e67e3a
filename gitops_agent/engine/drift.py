"""Drift checks and heals: the live objects against the rendering of the last applied revision.

``applied_revision(observation, revisions)`` is the revision an owner last applied: the newest
of those its live objects record (the revision annotation of every object, the inventory's
entries for resources whose objects are all gone); unapplied commits are never among them.
``check(desired, target, observation, ...)`` compares each object the inventory recorded
with its rendering from that revision (``core.fielddrift``). An object whose own recorded revision
is another one (its resource was last written by an older revision, or a later one failed
midway) and that differs is compared with its own revision's rendering before it is called
drift. Objects missing from the listing are looked up (a GET each) to tell deleted from
relabelled; when nothing drifted the check costs the observation alone (one LIST per kind on
Kubernetes). ``heal(report, target, ...)`` re-applies only the drifted objects (one forced
server-side apply each), removes the fields other managers added (one JSON patch guarded by
the observed values), creates deleted objects again and records their new uids in the
inventory. It never prunes, never writes an object that is not the agent's (unless its owner
annotated it for adoption) and leaves fields under ignore rules as they are live.

Pure of edges: reading revisions is the caller's (``Revisions``). Called by the ``drift``
command and the drift job of ``run``.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from gitops_agent.core import drift as drifting
from gitops_agent.core import fielddrift, labels
from gitops_agent.core.diffing import IgnoreRule
from gitops_agent.core.drift import (
    DriftReport,
    Healing,
    HealOutcome,
    ObjectDrift,
    ObjectDriftKind,
)
from gitops_agent.core.inventory import Inventory, InventoryEntry
from gitops_agent.core.kinds import ObjectKey, apply_order, key_of
from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.ownership import Path
from gitops_agent.core.planning import DesiredResource
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.engine.desired import Desired, assemble
from gitops_agent.engine.ports import Observation, Target
from gitops_agent.engine.reconcile import DERIVED_POINTERS
from gitops_agent.errors import ConfigError, GitOpsError, TargetError


class Revisions(Protocol):
    """Where the revisions an owner applied are read from."""

    def newest(self, revisions: Collection[str]) -> str:
        """The newest of ``revisions`` by the source's history."""
        ...

    def desired(self, revision: str) -> Desired:
        """The manifests of ``revision``, loaded and validated; SourceError when it cannot
        be read."""
        ...


def config_rules(desired: Desired) -> tuple[IgnoreRule, ...]:
    """The ``sync.ignore`` rules of the configuration a revision is read under."""
    return tuple(
        IgnoreRule(tuple(rule["pointers"]), rule.get("kind"), rule.get("name"))
        for rule in desired.config.sync.ignore
    )


def recorded_revisions(observation: Observation) -> set[str]:
    """The revisions the owner's objects record; the inventory's for resources whose objects
    are all gone."""
    inventory = observation.inventory
    found: set[str] = set()
    for rid, entry in inventory.entries.items():
        revisions = {
            labels.annotations_of(obj).get(labels.REVISION, "")
            for obj in observation.live.get(rid, ())
            if entry.owns(obj)
        }
        found |= revisions or {entry.revision}
    return found


def applied_revision(observation: Observation, revisions: Revisions) -> str | None:
    """The revision the owner last applied; None when it holds nothing."""
    if not observation.inventory.entries:
        return None
    recorded = recorded_revisions(observation)
    return next(iter(recorded)) if len(recorded) == 1 else revisions.newest(recorded)


@dataclass(frozen=True, slots=True)
class _Wanted:
    """An object the inventory recorded, with its rendering at the compared revision."""

    id: ResourceId
    entry: InventoryEntry
    desired: Mapping[str, Any]


def check(
    desired: Desired,
    target: Target,
    observation: Observation,
    *,
    revision: str,
    revisions: Revisions,
) -> DriftReport:
    """How the objects the inventory recorded drifted from ``revision`` (``desired``)."""
    rendered = _render(desired, target, revision)
    wanted = _wanted(rendered, observation.inventory)
    live = {key_of(obj): obj for objects in observation.live.values() for obj in objects}
    missing = [key for key in wanted if key not in live]
    found = target.lookup(missing) if missing else {}
    rules = (IgnoreRule(DERIVED_POINTERS), *config_rules(desired))
    others = _Renderings(target, revisions, {revision: rendered})
    drifted = []
    for key, item in wanted.items():
        current = live.get(key) or found.get(key)
        result = fielddrift.compare_object(
            item.id, item.desired, current, item.entry, revision=revision, ignore=rules
        )
        if result is not None and current is not None:
            result = _against_own_revision(result, current, item, others, rules)
        if result is not None:
            drifted.append(result)
    notes = tuple(others.notes)
    return DriftReport(
        revision,
        tuple(sorted(drifted, key=lambda d: (d.id, apply_order(d.key)))),
        drifting.degraded(observation.inventory.owned(), observation.statuses),
        checked=len(wanted),
        requests=observation.requests,
        lookups=len(missing),
        notes=notes,
    )


def _render(desired: Desired, target: Target, revision: str) -> dict[ResourceId, DesiredResource]:
    if desired.violations:
        first = desired.violations[0].format()
        raise ConfigError(
            f"revision {revision[:12]} does not validate under this configuration "
            f"({len(desired.violations)} violation(s), first: {first}); no drift check"
        )
    try:
        objects = target.render(desired.resources, revision=revision)
    except RenderError as err:
        raise ConfigError(f"revision {revision[:12]} does not render: {err}") from None
    return {d.id: d for d in assemble(desired.resources, objects)}


def _wanted(
    rendered: Mapping[ResourceId, DesiredResource], inventory: Inventory
) -> dict[ObjectKey, _Wanted]:
    """The recorded objects of the resources the revision declares."""
    found: dict[ObjectKey, _Wanted] = {}
    for rid, entry in sorted(inventory.entries.items()):
        resource = rendered.get(rid)
        recorded = set(entry.objects)
        for obj in resource.objects if resource else ():
            if key_of(obj) in recorded:
                found[key_of(obj)] = _Wanted(rid, entry, obj)
    return found


class _Renderings:
    """The renderings of other revisions, read once each, when an object recorded one."""

    def __init__(
        self,
        target: Target,
        revisions: Revisions,
        known: dict[str, Mapping[ResourceId, DesiredResource]],
    ) -> None:
        self.target, self.revisions, self.known = target, revisions, known
        self.failed: set[str] = set()
        self.notes: list[str] = []

    def object(self, revision: str, rid: ResourceId, key: ObjectKey) -> Mapping[str, Any] | None:
        if revision in self.failed:
            return None
        if revision not in self.known:
            try:
                self.known[revision] = _render(
                    self.revisions.desired(revision), self.target, revision
                )
            except GitOpsError as err:
                self.failed.add(revision)
                self.notes.append(f"revision {revision[:12]} recorded on objects: not read ({err})")
                return None
        resource = self.known[revision].get(rid)
        return next((o for o in resource.objects if key_of(o) == key), None) if resource else None


def _against_own_revision(
    result: ObjectDrift,
    live: Mapping[str, Any],
    item: _Wanted,
    others: _Renderings,
    rules: Sequence[IgnoreRule],
) -> ObjectDrift | None:
    """A drifted object whose own recorded revision differs is compared with that one."""
    own = labels.annotations_of(live).get(labels.REVISION, "")
    if result.kind not in (ObjectDriftKind.CHANGED, ObjectDriftKind.TAKEN) or not own:
        return result
    if own == result.revision:
        return result
    rendering = others.object(own, item.id, result.key)
    if rendering is None:
        return result
    return fielddrift.compare_object(
        item.id, rendering, live, item.entry, revision=own, ignore=rules
    )


# ----- heal


def heal(
    report: DriftReport,
    target: Target,
    inventory: Inventory,
    *,
    ignore: Sequence[IgnoreRule] = (),
) -> tuple[tuple[Healing, ...], Inventory]:
    """Heal every drifted object in apply order; the inventory with the uids of objects
    created again (the caller stores it). ``ignore`` are the configuration's rules: their
    fields keep their live values."""
    outcomes = []
    uids: dict[ObjectKey, str] = {}
    for item in sorted(report.objects, key=lambda d: apply_order(d.key)):
        healing, uid = _heal_one(item, target, ignore)
        outcomes.append(healing)
        if uid:
            uids[item.key] = uid
    return tuple(outcomes), _recorded(inventory, report.objects, uids)


def _heal_one(
    item: ObjectDrift, target: Target, ignore: Sequence[IgnoreRule]
) -> tuple[Healing, str]:
    if item.kind is ObjectDriftKind.REPLACED and not labels.adoptable(item.live or {}):
        return Healing(item.id, item.key, HealOutcome.SKIPPED, "not this agent's object"), ""
    body = keeping_ignored(item.desired, item.live, ignore)
    try:
        if item.kind is ObjectDriftKind.DELETED:
            written = target.apply(body, create=True)
            return Healing(item.id, item.key, HealOutcome.RECREATED), labels.uid_of(written)
        written = target.apply(body)
        removed = _removals(item)
        if removed:
            target.remove_fields(written, removed)
    except TargetError as err:
        return Healing(item.id, item.key, HealOutcome.FAILED, str(err)), ""
    message = f"{len(removed)} field(s) others added removed" if removed else ""
    adopted = item.kind is ObjectDriftKind.REPLACED
    return Healing(item.id, item.key, HealOutcome.HEALED, message), (
        labels.uid_of(written) if adopted else ""
    )


def _removals(item: ObjectDrift) -> list[tuple[Path, Any]]:
    """The fields other managers added, deepest list items first, with their observed values."""
    found = [(f.where, f.observed) for f in item.added if f.managers and f.where]
    return sorted(found, key=lambda pair: _order(pair[0]), reverse=True)


def _order(path: Path) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, part) if isinstance(part, int) else (1, part) for part in path)


def keeping_ignored(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, ignore: Sequence[IgnoreRule]
) -> dict[str, Any]:
    """``desired`` with each field under an ignore rule set to its live value (dropped when
    it has none live): a heal leaves those fields as they are."""
    body: dict[str, Any] = copy.deepcopy(dict(desired))
    for rule in ignore:
        if not rule.applies(desired):
            continue
        for pointer in rule.pointers:
            path = drifting.pointer_path(pointer)
            if path:
                _set_or_drop(body, path, _lookup(live, path))
    return body


_ABSENT = object()


def _lookup(obj: Any, path: Path) -> Any:
    value = obj
    for part in path:
        value = _child(value, part)
        if value is _ABSENT:
            return _ABSENT
    return copy.deepcopy(value)


def _child(value: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return value[part] if isinstance(value, list) and part < len(value) else _ABSENT
    return value[part] if isinstance(value, Mapping) and part in value else _ABSENT


def _set_or_drop(body: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = body
    for part in path[:-1]:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        elif isinstance(node, dict):
            node = node.setdefault(part, {}) if value is not _ABSENT else node.get(part)
        else:
            node = None
        if node is None:
            return
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if value is _ABSENT:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if value is _ABSENT:
            node.pop(last)
        else:
            node[last] = value


def _recorded(
    inventory: Inventory, objects: Iterable[ObjectDrift], uids: Mapping[ObjectKey, str]
) -> Inventory:
    """The inventory with the new uids of the objects a heal created or took over."""
    changed: dict[ResourceId, InventoryEntry] = {}
    for item in objects:
        uid = uids.get(item.key)
        entry = changed.get(item.id) or inventory.entry(item.id)
        if uid and entry is not None:
            changed[item.id] = replace(entry, uids={**entry.uids, item.key: uid})
    return inventory.with_entries(changed.values()) if changed else inventory
