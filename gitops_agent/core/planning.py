"""Planning: desired resources + live objects + inventory -> a Plan of ordered changes.

Called by the engine for ``plan``, ``apply``, drift checks and previews. Pairs each desired
object with its live twin by ``ObjectKey`` (no desired = delete, no live = create), diffs
the pairs (``core.diffing``), groups steps by resource and orders resources in waves along
the Bundle graph; prunes (owned resources no longer declared) come last, in reverse
dependency order. Identity is the ``ResourceId``: a resource moved to another file or into a
bundle is an update. The prune guard refuses to delete more than a fraction of what is owned,
or all of it, unless explicitly allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitops_agent.core import graph
from gitops_agent.core.config import SyncConfig
from gitops_agent.core.diffing import FieldChange, IgnoreRule, diff
from gitops_agent.core.kinds import ObjectKey, key_of
from gitops_agent.core.manifests import DependencyCondition, ResourceId, ResourceType
from gitops_agent.core.rendering.objects import StepKeys

if TYPE_CHECKING:  # the inventory module builds on plans (next_inventory)
    from gitops_agent.core.inventory import Inventory


_SYNC = SyncConfig()  # the configuration's defaults are the planner's


class Action(enum.StrEnum):
    """What a plan will do to a resource or an object."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


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
    """Why a prune was refused (None in a Plan when it was not)."""

    deleting: int
    owned: int
    limit: float

    def message(self) -> str:
        share = self.deleting / self.owned if self.owned else 1.0
        what = "all" if self.deleting == self.owned else f"{share:.0%}"
        return (
            f"refusing to prune {self.deleting} of {self.owned} owned resources ({what}; the "
            f"limit is {self.limit:.0%} of them, set by sync.maxPruneFraction); check the "
            "source path and ref, then pass --allow-mass-prune if this is intended"
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """The ordered changes of one reconcile, and whether the prune guard stopped prunes."""

    revision: str
    resources: tuple[ResourcePlan, ...]
    blocked_prune: PruneGuard | None = None

    @property
    def has_changes(self) -> bool:
        return any(r.action is not Action.UNCHANGED for r in self.resources)

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


def plan(
    desired: Sequence[DesiredResource],
    live: Mapping[ResourceId, Sequence[Mapping[str, Any]]],
    inventory: Inventory,
    *,
    revision: str = "",
    options: PlanOptions = PlanOptions(),
) -> Plan:
    """The plan that makes ``live`` match ``desired``; ``live`` is grouped by resource."""
    waves = _waves(desired)
    planned = [
        _plan_resource(d, live.get(d.id, ()), inventory, options, waves[d.id]) for d in desired
    ]
    declared = {d.id for d in desired}
    gone = sorted((set(inventory.owned()) | set(live)) - declared)
    guard = _guard(len(gone), len(set(inventory.owned()) | set(live)), options)
    if gone and options.prune and guard is None:
        last = max(waves.values(), default=-1) + 1
        planned.extend(_plan_prunes(gone, live, inventory, first_wave=last))
    return Plan(revision, tuple(sorted(planned, key=lambda r: (r.wave, r.id))), guard)


def _waves(desired: Sequence[DesiredResource]) -> dict[ResourceId, int]:
    names = {str(d.id): d.id for d in desired}
    edges = {str(d.id): [str(dep.id) for dep in d.depends if str(dep.id) in names] for d in desired}
    return {names[name]: index for index, wave in enumerate(graph.waves(edges)) for name in wave}


def _plan_resource(
    want: DesiredResource,
    have: Sequence[Mapping[str, Any]],
    inventory: Inventory,
    options: PlanOptions,
    wave: int,
) -> ResourcePlan:
    live_by_key = {key_of(obj): obj for obj in have}
    steps = [_pair(obj, live_by_key.get(key_of(obj)), options) for obj in want.objects]
    wanted = {key_of(obj) for obj in want.objects}
    steps.extend(
        ObjectStep(key, Action.DELETE, live=obj)
        for key, obj in sorted(live_by_key.items())
        if key not in wanted
    )
    if not have and inventory.entry(want.id) is None:
        action = Action.CREATE
    elif any(step.action is not Action.UNCHANGED for step in steps):
        action = Action.UPDATE
    else:
        action = Action.UNCHANGED
    return ResourcePlan(want.id, action, wave, tuple(steps), want.depends, want.file, want.bundle)


def _pair(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, options: PlanOptions
) -> ObjectStep:
    key = key_of(desired)
    if live is None:
        return ObjectStep(key, Action.CREATE, desired=desired)
    changes = diff(desired, live, ignore=options.ignore)
    action = Action.UPDATE if changes else Action.UNCHANGED
    return ObjectStep(key, action, desired=desired, live=live, changes=changes)


def _guard(deleting: int, owned: int, options: PlanOptions) -> PruneGuard | None:
    if not deleting or not options.prune or options.allow_mass_prune:
        return None
    if deleting == owned or deleting > options.max_prune_fraction * owned:
        return PruneGuard(deleting, owned, options.max_prune_fraction)
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
            objects = sorted(live.get(rid, ()), key=key_of)
            steps = tuple(ObjectStep(key_of(obj), Action.DELETE, live=obj) for obj in objects)
            entry = inventory.entry(rid)
            result.append(
                ResourcePlan(
                    rid, Action.DELETE, first_wave + offset, steps, file=entry.file if entry else ""
                )
            )
    return result
