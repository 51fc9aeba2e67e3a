"""Drift: how the live objects differ from what the last applied revision declared, as values.

Pure. ``ObjectDrift`` is one drifted object: ``deleted`` out of band, ``replaced`` (deleted,
then created again by someone else: not the agent's to write), ``changed`` or ``taken over``,
with its ``FieldDrift``s: a value ``changed`` or ``removed``, a field ``added`` that git does not
declare, a field git declares that another manager ``took over``, each with the managers that
own it now and, for fields commonly owned by controllers, a suggested ``sync.ignore`` rule.
``DriftReport`` is one check; ``Degraded`` a health change listed apart (not drift);
``Healing`` what a heal did to one object. How a live object is compared with its rendering
is ``core.fielddrift``; the check and the heal are ``engine.drift``; the views
``core.driftviews``.
"""

from __future__ import annotations

import copy
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.core import diffing, kinds
from gitops_agent.core.kinds import ObjectKey
from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.ownership import Manager, Path
from gitops_agent.core.status import UNSUPPORTED, ResourceStatus


class ObjectDriftKind(enum.StrEnum):
    """What happened to an object."""

    CHANGED = "changed"
    TAKEN = "taken over"
    DELETED = "deleted"
    REPLACED = "replaced"


class FieldDriftKind(enum.StrEnum):
    """What happened to a field, from git's side."""

    CHANGED = "changed"  # another value live
    REMOVED = "removed"  # git declares it, live has none
    ADDED = "added"  # live has it, git does not declare it
    TAKEN = "taken over"  # same value, owned by another manager now


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A ``sync.ignore`` rule that would stop reporting a field, and why it is suggested."""

    kind: str
    name: str
    pointer: str
    reason: str


@dataclass(frozen=True, slots=True)
class FieldDrift:
    """One drifted field: git's value, the live value, who owns it now. ``where`` locates
    it in the live object and ``observed`` is its live value unmasked (what a heal removes,
    for an added field, tested against); ``git`` and ``live`` are fit to show: an environment
    variable named like a secret has its value masked."""

    path: str
    kind: FieldDriftKind
    git: Any = None
    live: Any = None
    managers: tuple[Manager, ...] = ()
    suggestion: Suggestion | None = None
    where: tuple[str | int, ...] = field(default=(), compare=False)
    observed: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ObjectDrift:
    """One drifted object of a resource, compared with ``revision``'s rendering (``desired``,
    what a heal applies); ``live`` is the object as observed (None when deleted)."""

    id: ResourceId
    key: ObjectKey
    kind: ObjectDriftKind
    revision: str
    fields: tuple[FieldDrift, ...] = ()
    note: str = ""
    desired: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    live: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def added(self) -> tuple[FieldDrift, ...]:
        """Fields another manager added that git does not declare (a heal removes them)."""
        return tuple(f for f in self.fields if f.kind is FieldDriftKind.ADDED)


@dataclass(frozen=True, slots=True)
class Degraded:
    """A resource whose health changed (not drift): its status, runtime and why."""

    id: ResourceId
    status: str
    runtime: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class DriftReport:
    """One drift check: the revision compared against, what drifted, what is degraded, how
    many objects were checked, the API requests observing took and how many objects missing
    from the listing were looked up one by one."""

    revision: str
    objects: tuple[ObjectDrift, ...] = ()
    degraded: tuple[Degraded, ...] = ()
    checked: int = 0
    requests: int = 0
    lookups: int = 0
    notes: tuple[str, ...] = ()

    @property
    def has_drift(self) -> bool:
        return bool(self.objects)

    def counts(self) -> dict[str, int]:
        """What drifted: ``fields`` of objects changed or taken over, objects ``deleted`` and
        objects ``replaced``."""
        found = {"fields": 0, "deleted": 0, "replaced": 0}
        for item in self.objects:
            if item.kind is ObjectDriftKind.DELETED:
                found["deleted"] += 1
            elif item.kind is ObjectDriftKind.REPLACED:
                found["replaced"] += 1
            else:
                found["fields"] += len(item.fields)
        return found


def pointer_path(pointer: str) -> Path:
    """The path a JSON pointer names (``/spec/replicas`` -> ``("spec", "replicas")``);
    numeric parts are list indexes."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    return tuple(int(p) if p.isdigit() else p for p in parts if p != "")


def pointer_of(path: Path) -> str:
    """The JSON pointer of a path (``("metadata", "labels", "a/b")`` -> ``/metadata/labels/a~1b``)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def degraded(
    owned: Iterable[ResourceId], statuses: Mapping[ResourceId, ResourceStatus]
) -> tuple[Degraded, ...]:
    """Owned Workers not running what they should, and failed Workflows: health, not drift.
    A Worker rolling out is settling, not degraded; one that cannot run on its target
    (``unsupported``) never was healthy there."""
    found = []
    for rid in sorted(owned):
        status = statuses.get(rid)
        if status is None or rid.type.value == "bundle" or status.runtime == UNSUPPORTED:
            continue
        unhealthy = status.failed or (
            rid.type.value == "worker" and not status.converged and not status.settling
        )
        if unhealthy:
            found.append(Degraded(rid, status.status, status.runtime, status.message))
    return tuple(found)


class HealOutcome(enum.StrEnum):
    """What a heal did to one drifted object."""

    HEALED = "healed"  # re-applied (and fields others added removed)
    RECREATED = "recreated"  # deleted out of band, created again
    SKIPPED = "skipped"  # not the agent's to write, or nothing left to do
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Healing:
    """The outcome of healing one object, and why (for a skip or a failure)."""

    id: ResourceId
    key: ObjectKey
    outcome: HealOutcome
    message: str = ""


def value_at(obj: Any, path: Path) -> Any:
    """The value at ``path`` (a Secret's data masked)."""
    if (
        isinstance(obj, Mapping)
        and obj.get("kind") == kinds.SECRET.name
        and path[:1]
        in (
            ("data",),
            ("stringData",),
        )
    ):
        return diffing.MASK
    value = obj
    for part in path:
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    return value


def without_fields(
    obj: Mapping[str, Any], fields: Sequence[tuple[Path, Any]]
) -> dict[str, Any] | None:
    """A copy of ``obj`` without ``fields`` (paths, deepest list items first, with the value
    each was seen with); None when one of them no longer has that value."""
    result: dict[str, Any] = copy.deepcopy(dict(obj))
    for path, value in fields:
        parent = value_at(result, path[:-1]) if len(path) > 1 else result
        if not path or not _delete(parent, path[-1], value):
            return None
    return result


def _delete(parent: Any, last: str | int, value: Any) -> bool:
    """Delete ``parent[last]`` when it holds ``value``; False when it does not."""
    if isinstance(parent, dict) and isinstance(last, str):
        if parent.get(last, _GONE) != value:
            return False
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int):
        if last >= len(parent) or parent[last] != value:
            return False
        del parent[last]
        return True
    return False


_GONE = object()


_SECRET_NAME = re.compile(r"pass|secret|token|key|credential|private|auth|cert", re.IGNORECASE)


def shown(root: Any, path: Path, value: Any) -> Any:
    """``value`` (at ``path`` of ``root``) fit to show: the value of an environment variable
    whose name says it is a secret masked, in an item, a list of them or on its own."""
    for index in range(len(path) - 1, -1, -1):
        if path[index] != "env":
            continue
        rest = path[index + 1 :]
        if not rest:
            return [_masked_item(item) for item in value] if isinstance(value, list) else value
        item = value_at(root, path[: index + 2])
        if not _secret_item(item):
            return value
        if len(rest) == 1:
            return _masked_item(value)
        return diffing.MASK if rest[1:] == ("value",) else value
    return value


def _secret_item(item: Any) -> bool:
    return isinstance(item, Mapping) and bool(_SECRET_NAME.search(str(item.get("name", ""))))


def _masked_item(item: Any) -> Any:
    if _secret_item(item) and "value" in item:
        return {**item, "value": diffing.MASK}
    return item
