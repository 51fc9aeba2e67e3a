"""Planning: desired resources + live objects + inventory -> a Plan of ordered changes.

Called by the engine for ``plan``, ``apply``, drift checks and previews. Pairs each desired
object with its live twin by ``ObjectKey`` (no desired = delete, no live = create), diffs
the pairs (``core.diffing``), groups steps by resource and orders resources in waves along
the Bundle graph; prunes (owned resources no longer declared) come last, in reverse
dependency order. Identity is the ``ResourceId``: a resource moved to another file or into a
bundle is an update. The prune guard refuses to delete more than a fraction of what is owned,
or all of it, unless explicitly allowed.

With a ``DiffMemo`` (the agent's incremental cycles) an object's changes are not computed
again while neither side changed: the desired object's content hash (everything but the
revision) and manifest annotation, the live object's uid and resourceVersion, and the
ignore rules are what they were.

Ownership decides what may be touched (``core.inventory`` says what is ours): a desired
object whose key is taken by an object that is not ours is a ``conflict``, never written
unless adoption is asked for (``--adopt``, or the adopt annotation on the live object); a
live object carrying our labels that is not ours is ``unmanaged``, never deleted; only what
the inventory recorded is pruned. Objects a controller made for one of ours (a CronJob's
Jobs, a StatefulSet's claims) are neither.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gitops_agent.core import graph, kinds, labels
from gitops_agent.core.config import SyncConfig
from gitops_agent.core.diffing import FieldChange, IgnoreRule, diff
from gitops_agent.core.kinds import ObjectKey, key_of
from gitops_agent.core.manifests import DependencyCondition, ResourceId, ResourceType
from gitops_agent.core.memo import Memo
from gitops_agent.core.rendering.objects import StepKeys

if TYPE_CHECKING:  # the inventory module builds on plans (next_inventory)
    from gitops_agent.core.inventory import Inventory, InventoryEntry


_SYNC = SyncConfig()  # the configuration's defaults are the planner's


class Action(enum.StrEnum):
    """What a plan will do to a resource or an object."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # the object exists and is not ours: never written
    UNMANAGED = "unmanaged"  # carries our labels, is not ours: never deleted


@dataclass(frozen=True, slots=True)
class Dependency:
    """An edge of the resource graph: wait for ``id`` to meet ``condition`` (None: active)."""

    id: ResourceId
    condition: DependencyCondition | None = None


@dataclass(frozen=True, slots=True)
class DesiredResource:
    """What the planner needs of one desired resource: its objects and its dependencies.

    ``steps`` is set for a one-off Workflow: its objects are created step by step.
    """

    id: ResourceId
    objects: tuple[Mapping[str, Any], ...]
    depends: tuple[Dependency, ...] = ()
    file: str = ""
    bundle: ResourceId | None = None
    steps: tuple[StepKeys, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectStep:
    """One object's change. ``desired`` is None for a delete, ``live`` None for a create."""

    key: ObjectKey
    action: Action
    desired: Mapping[str, Any] | None = field(default=None, repr=False)
    live: Mapping[str, Any] | None = field(default=None, repr=False)
    changes: tuple[FieldChange, ...] = ()
    adopt: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class ResourcePlan:
    """One resource's action, the wave it runs in, and its object steps."""

    id: ResourceId
    action: Action
    wave: int
    steps: tuple[ObjectStep, ...]
    depends: tuple[Dependency, ...] = ()
    file: str = ""
    bundle: ResourceId | None = None


@dataclass(frozen=True, slots=True)
class PruneGuard:
    """Why a prune was refused (None in a Plan when it was not), and what it would delete."""

    deleting: int
    owned: int
    limit: float
    resources: tuple[ResourceId, ...] = ()

    def message(self) -> str:
        share = self.deleting / self.owned if self.owned else 1.0
        what = "all" if self.deleting == self.owned else f"{share:.0%}"
        shown = ", ".join(str(rid) for rid in self.resources[:GUARD_LISTED])
        more = len(self.resources) - GUARD_LISTED
        listed = f": {shown}" + (f" and {more} more" if more > 0 else "") if shown else ""
        return (
            f"refusing to prune {self.deleting} of {self.owned} owned resources ({what}; the "
            f"limit is {self.limit:.0%} of them, set by sync.maxPruneFraction){listed}; check "
            "the source path and ref, then pass --allow-mass-prune if this is intended"
        )


#: How many of the resources a refused prune would delete its message names.
GUARD_LISTED = 10


@dataclass(frozen=True, slots=True)
class Plan:
    """The ordered changes of one reconcile, and whether the prune guard stopped prunes."""

    revision: str
    resources: tuple[ResourcePlan, ...]
    blocked_prune: PruneGuard | None = None

    @property
    def has_changes(self) -> bool:
        return any(r.action not in _QUIET for r in self.resources)

    def waves(self) -> list[list[ResourcePlan]]:
        """Resource plans grouped by wave, in order."""
        grouped: dict[int, list[ResourcePlan]] = {}
        for resource in self.resources:
            grouped.setdefault(resource.wave, []).append(resource)
        return [grouped[w] for w in sorted(grouped)]

    def counts(self) -> dict[str, int]:
        """How many resources each action touches."""
        result = {action.value: 0 for action in Action}
        for resource in self.resources:
            result[resource.action.value] += 1
        return result


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Secondary planning inputs: ignore rules and the prune policy."""

    ignore: tuple[IgnoreRule, ...] = ()
    prune: bool = _SYNC.prune
    max_prune_fraction: float = _SYNC.max_prune_fraction
    allow_mass_prune: bool = False
    adopt: bool = False


_QUIET = frozenset({Action.UNCHANGED, Action.UNMANAGED})

#: What an object's changes were computed from (see ``_fingerprint``).
Fingerprint = tuple[Any, ...]
#: Changes by object key and what they were computed from.
DiffMemo = Memo[tuple[ObjectKey, Fingerprint], tuple[FieldChange, ...]]
_REVISION_POINTER = "/metadata/annotations/" + labels.REVISION.replace("~", "~0").replace("/", "~1")


def plan(
    desired: Sequence[DesiredResource],
    live: Mapping[ResourceId, Sequence[Mapping[str, Any]]],
    inventory: Inventory,
    *,
    foreign: Mapping[ObjectKey, Mapping[str, Any]] | None = None,
    revision: str = "",
    options: PlanOptions = PlanOptions(),
    memo: DiffMemo | None = None,
) -> Plan:
    """The plan that makes ``live`` match ``desired``. ``live`` holds the objects that carry
    this owner's labels, by resource; ``foreign`` the objects found at desired keys that do
    not (another owner's, someone's by hand)."""
    waves = _waves(desired)
    others = foreign or {}
    compare = _Comparer(options, memo)
    planned = [
        _plan_resource(
            d, live.get(d.id, ()), inventory.entry(d.id), others, compare=compare, wave=waves[d.id]
        )
        for d in desired
    ]
    declared = {d.id for d in desired}
    owned = inventory.owned()
    gone = sorted(owned - declared)
    guard = _guard(gone, len(owned), options)
    last = max(waves.values(), default=-1) + 1
    if gone and options.prune and guard is None:
        planned.extend(_plan_prunes(gone, live, inventory, first_wave=last))
    strays = sorted(set(live) - declared - owned)
    planned.extend(r for r in (_unmanaged(rid, live[rid], last) for rid in strays) if r.steps)
    return Plan(revision, tuple(sorted(planned, key=lambda r: (r.wave, r.id))), guard)


def _waves(desired: Sequence[DesiredResource]) -> dict[ResourceId, int]:
    names = {str(d.id): d.id for d in desired}
    edges = {str(d.id): [str(dep.id) for dep in d.depends if str(dep.id) in names] for d in desired}
    return {names[name]: index for index, wave in enumerate(graph.waves(edges)) for name in wave}


def _plan_resource(
    want: DesiredResource,
    have: Sequence[Mapping[str, Any]],
    entry: InventoryEntry | None,
    foreign: Mapping[ObjectKey, Mapping[str, Any]],
    *,
    compare: _Comparer,
    wave: int,
) -> ResourcePlan:
    live_by_key = {key_of(obj): obj for obj in have}
    keys = [key_of(obj) for obj in want.objects]
    steps = [
        _pair(key, obj, live_by_key, entry, foreign=foreign, compare=compare)
        for key, obj in zip(keys, want.objects, strict=True)
    ]
    wanted = set(keys)
    for key, obj in sorted(live_by_key.items()):
        if key in wanted:
            continue
        if entry is not None and entry.owns(obj):
            steps.append(ObjectStep(key, Action.DELETE, live=obj))
        elif not _spawned(obj, have):
            steps.append(ObjectStep(key, Action.UNMANAGED, live=obj, note=UNMANAGED_HINT))
    action = _resource_action(steps, recorded=entry is not None)
    return ResourcePlan(want.id, action, wave, tuple(steps), want.depends, want.file, want.bundle)


def _resource_action(steps: Sequence[ObjectStep], *, recorded: bool) -> Action:
    acting = [s.action for s in steps if s.action is not Action.UNMANAGED]
    if Action.CONFLICT in acting:
        return Action.CONFLICT
    if (acting and all(action is Action.CREATE for action in acting)) or not (acting or recorded):
        return Action.CREATE
    if any(action is not Action.UNCHANGED for action in acting):
        return Action.UPDATE
    return Action.UNCHANGED


def _pair(
    key: ObjectKey,
    desired: Mapping[str, Any],
    live_by_key: Mapping[ObjectKey, Mapping[str, Any]],
    entry: InventoryEntry | None,
    *,
    foreign: Mapping[ObjectKey, Mapping[str, Any]],
    compare: _Comparer,
) -> ObjectStep:
    live = live_by_key.get(key)
    if live is not None and entry is not None and entry.owns(live, key=key):
        return compare(key, desired, live)
    taken = live if live is not None else foreign.get(key)
    if taken is None:
        return ObjectStep(key, Action.CREATE, desired=desired)
    if compare.options.adopt or labels.adoptable(taken):
        step = compare(key, desired, taken)
        return replace(step, action=Action.UPDATE, adopt=True)
    return ObjectStep(key, Action.CONFLICT, desired=desired, live=taken, note=_conflict(taken))


class _Comparer:
    """Diffs desired objects against live ones under one plan's options, remembering the
    changes in ``memo`` when one is given."""

    def __init__(self, options: PlanOptions, memo: DiffMemo | None) -> None:
        self.options = options
        self.memo = memo
        # a revision the ignore rules drop does not change a diff: it stays out of its memory
        self.revision_ignored = any(
            rule.kind is None and rule.name is None and _REVISION_POINTER in rule.pointers
            for rule in options.ignore
        )

    def __call__(
        self, key: ObjectKey, desired: Mapping[str, Any], live: Mapping[str, Any]
    ) -> ObjectStep:
        fingerprint = self._fingerprint(desired, live) if self.memo is not None else None
        changes = None
        if self.memo is not None and fingerprint is not None:
            changes = self.memo.get((key, fingerprint))
        if changes is None:
            changes = diff(desired, live, ignore=self.options.ignore)
            if self.memo is not None and fingerprint is not None:
                self.memo.put((key, fingerprint), changes)
        action = Action.UPDATE if changes else Action.UNCHANGED
        return ObjectStep(key, action, desired=desired, live=live, changes=changes)

    def _fingerprint(
        self, desired: Mapping[str, Any], live: Mapping[str, Any]
    ) -> Fingerprint | None:
        """What the changes between the two objects follow from, when it can be told
        without comparing them: None when one side has no content hash, uid or version."""
        wanted = labels.annotations_of(desired)
        content = wanted.get(labels.CONTENT_HASH)
        metadata = live.get("metadata") or {}
        uid, version = metadata.get("uid"), metadata.get("resourceVersion")
        if not (content and uid and version):
            return None
        revision = None if self.revision_ignored else wanted.get(labels.REVISION)
        manifest = wanted.get(labels.MANIFEST)
        return (content, manifest, revision, uid, version, self.options.ignore)


UNMANAGED_HINT = (
    "carries this agent's labels but was not created by it (not in its inventory, or "
    "replaced since): left alone; delete it, or remove the labels, by hand"
)


def _conflict(taken: Mapping[str, Any]) -> str:
    managers = ", ".join(labels.managers_of(taken)) or "no field manager recorded"
    owner = labels.labels_of(taken).get(labels.OWNER)
    whose = f"agent owner {owner!r}, " if owner else ""
    return (
        f"exists and was not created by this agent ({whose}managed by {managers}); to take "
        f"it over, apply with --adopt or annotate it {labels.ADOPT}=true"
    )


def _spawned(obj: Mapping[str, Any], siblings: Sequence[Mapping[str, Any]]) -> bool:
    """True for an object a controller made for one of ours: it has an owner reference, or
    it is a claim ``<template>-<statefulset>-<n>`` of a StatefulSet among its siblings."""
    if labels.is_controlled(obj):
        return True
    key = key_of(obj)
    if key.kind != kinds.PERSISTENT_VOLUME_CLAIM.name:
        return False
    sets = {key_of(s).name for s in siblings if key_of(s).kind == kinds.STATEFUL_SET.name}
    return any(re.fullmatch(rf".+-{re.escape(name)}-\d+", key.name) for name in sets)


def _unmanaged(rid: ResourceId, objects: Sequence[Mapping[str, Any]], wave: int) -> ResourcePlan:
    steps = tuple(
        ObjectStep(key_of(obj), Action.UNMANAGED, live=obj, note=UNMANAGED_HINT)
        for obj in sorted(objects, key=key_of)
        if not _spawned(obj, objects)
    )
    return ResourcePlan(rid, Action.UNMANAGED, wave, steps)


def _guard(gone: Sequence[ResourceId], owned: int, options: PlanOptions) -> PruneGuard | None:
    deleting = len(gone)
    if not deleting or not options.prune or options.allow_mass_prune:
        return None
    if deleting == owned or deleting > options.max_prune_fraction * owned:
        return PruneGuard(deleting, owned, options.max_prune_fraction, tuple(gone))
    return None


def deletion_plan(
    wanted: Iterable[ResourceId],
    live: Mapping[ResourceId, Sequence[Mapping[str, Any]]],
    inventory: Inventory,
) -> Plan:
    """The plan that deletes ``wanted`` (a Bundle with its members) as a prune would: every
    live object of each, dependents before what they depend on."""
    chosen: list[ResourceId] = []
    for rid in wanted:
        entry = inventory.entry(rid)
        members = entry.depends if rid.type is ResourceType.BUNDLE and entry else ()
        chosen.extend(member for member in (rid, *members) if member not in chosen)
    return Plan("", tuple(_plan_prunes(chosen, live, inventory, first_wave=0)))


def _plan_prunes(
    gone: Iterable[ResourceId],
    live: Mapping[ResourceId, Sequence[Mapping[str, Any]]],
    inventory: Inventory,
    *,
    first_wave: int,
) -> list[ResourcePlan]:
    """Deletes in reverse dependency order: dependents in earlier waves than what they need."""
    gone = list(gone)
    names = {str(rid): rid for rid in gone}
    needed_by: dict[str, list[str]] = {name: [] for name in names}
    for rid in gone:
        entry = inventory.entry(rid)
        for dependency in entry.depends if entry else ():
            if str(dependency) in needed_by:
                needed_by[str(dependency)].append(str(rid))
    result = []
    for offset, wave in enumerate(graph.waves(needed_by)):
        for name in wave:
            rid = names[name]
            entry = inventory.entry(rid)
            steps = _prune_steps(live.get(rid, ()), entry)
            result.append(
                ResourcePlan(
                    rid, Action.DELETE, first_wave + offset, steps, file=entry.file if entry else ""
                )
            )
    return result


def _prune_steps(
    objects: Sequence[Mapping[str, Any]], entry: InventoryEntry | None
) -> tuple[ObjectStep, ...]:
    """Deletes of the objects the inventory recorded; the others are left alone."""
    steps = []
    for obj in sorted(objects, key=key_of):
        if entry is not None and entry.owns(obj):
            steps.append(ObjectStep(key_of(obj), Action.DELETE, live=obj))
        elif not _spawned(obj, objects):
            steps.append(ObjectStep(key_of(obj), Action.UNMANAGED, live=obj, note=UNMANAGED_HINT))
    return tuple(steps)
