"""Drift: how the live objects differ from what the last applied revision declared, and who
changed them.

Pure; called by ``engine.drift`` for each object an inventory entry recorded, with the object
its resource renders to at the applied revision. An object no longer there is ``deleted``
(one the inventory recorded before creating it, and that was never created, is not drift);
one at its key whose uid is not the recorded one was ``replaced`` (deleted, then created again
by someone else: not the agent's to write). Otherwise its fields are compared the way a plan
compares them (``core.diffing``: ignore rules, server defaults and status left out) and each
drifted field names the managers that own it now (``core.ownership``): a value ``changed`` or
``removed``, a field ``added`` that git does not declare, or a field git declares that another
manager ``took over`` (same value, no longer the agent's). What controllers and the API server
write on every object (a Deployment's revision annotation, a claim's binding, kubectl's
last-applied annotation) is not drift, nor is a field another manager set to the value the
server defaults it to (``core.defaults``). A field commonly owned by a controller (replicas under
an autoscaler, injected sidecars and annotations) comes with a suggested ``sync.ignore`` rule.
Health is not drift: Workers not running their replicas are listed apart as ``degraded``.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.core import diffing, kinds, labels
from gitops_agent.core.defaults import is_default
from gitops_agent.core.diffing import ChangeKind, FieldChange, IgnoreRule
from gitops_agent.core.inventory import InventoryEntry
from gitops_agent.core.kinds import ObjectKey, key_of
from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.ownership import (
    Entry,
    Leaf,
    Manager,
    Path,
    entries_of,
    leaves,
    locate,
    owners_at,
)
from gitops_agent.core.ownership import holds as owns_path
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
    it in the live object (what a heal removes, for an added field)."""

    path: str
    kind: FieldDriftKind
    git: Any = None
    live: Any = None
    managers: tuple[Manager, ...] = ()
    suggestion: Suggestion | None = None
    where: tuple[str | int, ...] = field(default=(), compare=False)


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


#: Fields controllers and the API server write on objects the agent applies: not drift.
CONTROLLER_FIELDS: tuple[tuple[str, Path], ...] = (
    (kinds.PERSISTENT_VOLUME_CLAIM.name, ("spec", "volumeName")),
    *(
        (kinds.PERSISTENT_VOLUME_CLAIM.name, ("metadata", "annotations", name))
        for name in (
            "pv.kubernetes.io/bind-completed",
            "pv.kubernetes.io/bound-by-controller",
            "volume.beta.kubernetes.io/storage-provisioner",
            "volume.kubernetes.io/storage-provisioner",
            "volume.kubernetes.io/selected-node",
        )
    ),
)
#: Managers whose names say they are controllers, webhooks or operators.
_CONTROLLER_WORDS = ("controller", "operator", "webhook", "injector", "autoscaler", "manager")
#: Where injected fields land: a sidecar container, a volume, an annotation or a label.
_INJECTED = (
    ("spec", "template", "spec", "containers"),
    ("spec", "template", "spec", "initContainers"),
    ("spec", "template", "spec", "volumes"),
    ("spec", "template", "metadata", "annotations"),
    ("metadata", "annotations"),
    ("metadata", "labels"),
)
_RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def compare_object(
    rid: ResourceId,
    desired: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    entry: InventoryEntry,
    *,
    revision: str,
    ignore: Sequence[IgnoreRule] = (),
) -> ObjectDrift | None:
    """How ``live`` drifted from ``desired`` (None when it did not)."""
    key = key_of(desired)
    if live is None:
        if not entry.uids.get(key):
            return None  # recorded before a creation that never happened: not applied
        return ObjectDrift(rid, key, ObjectDriftKind.DELETED, revision, desired=desired)
    if not entry.owns(live):
        managers = ", ".join(labels.managers_of(live)) or "no field manager recorded"
        note = (
            f"deleted and created again out of band (uid {labels.uid_of(live) or '?'}, "
            f"recorded {entry.uids.get(key, '?')}; managed by {managers}): not this agent's "
            f"object, left alone; delete it, or annotate it {labels.ADOPT}=true to let a heal "
            "take it over"
        )
        kind = ObjectDriftKind.REPLACED
        return ObjectDrift(rid, key, kind, revision, note=note, desired=desired, live=live)
    fields = field_drift(desired, live, ignore=ignore)
    if not fields:
        return None
    taken = all(f.kind is FieldDriftKind.TAKEN for f in fields)
    kind = ObjectDriftKind.TAKEN if taken else ObjectDriftKind.CHANGED
    return ObjectDrift(rid, key, kind, revision, fields, desired=desired, live=live)


def field_drift(
    desired: Mapping[str, Any], live: Mapping[str, Any], *, ignore: Sequence[IgnoreRule] = ()
) -> tuple[FieldDrift, ...]:
    """The drifted fields of an object the agent owns, each with its managers."""
    entries = entries_of(live)
    changes, view = diffing.compared(desired, live, ignore=ignore)
    kind, name = str(desired.get("kind", "")), str((desired.get("metadata") or {}).get("name", ""))
    found = [_changed(change, entries, view, kind, name) for change in changes]
    reported = {tuple(map(str, f.where)) for f in found}
    skipped = _skipped(desired, ignore)
    for drift in _foreign(desired, live, entries, skipped):
        if tuple(map(str, drift.where)) not in reported:
            found.append(drift)
    return tuple(sorted(found, key=lambda f: f.path))


_KINDS = {
    ChangeKind.CHANGED: FieldDriftKind.CHANGED,
    ChangeKind.ADDED: FieldDriftKind.REMOVED,  # applying git would add it back
    ChangeKind.REMOVED: FieldDriftKind.ADDED,  # applying git would remove it
}


def _changed(
    change: FieldChange, entries: Sequence[Entry], view: Any, kind: str, name: str
) -> FieldDrift:
    managers = tuple(m for m in owners_at(entries, view, change.parts) if not m.is_agent)
    drift_kind = _KINDS[change.kind]
    suggestion = _suggest(kind, name, change.parts, managers, drift_kind)
    return FieldDrift(
        change.path, drift_kind, change.after, change.before, managers, suggestion, change.parts
    )


def _skipped(desired: Mapping[str, Any], ignore: Sequence[IgnoreRule]) -> list[Path]:
    """Paths not looked at for other managers' fields: ignore rules of this object, what
    controllers write, status and server metadata."""
    kind = str(desired.get("kind", ""))
    found: list[Path] = [("status",), *(("metadata", k) for k in diffing.SERVER_METADATA)]
    found += [("metadata", "annotations", name) for name in diffing.NOISE_ANNOTATIONS]
    found += [path for owner_kind, path in CONTROLLER_FIELDS if owner_kind in ("", kind)]
    for rule in ignore:
        if rule.applies(desired):
            found += [pointer_path(p) for p in rule.pointers]
    return found


def _foreign(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    entries: Sequence[Entry],
    skipped: Sequence[Path],
) -> Iterator[FieldDrift]:
    """Fields other managers own: added where git declares nothing, or taken over."""
    candidates = [
        (entry.manager, leaf)
        for entry in entries
        if not entry.manager.is_agent and entry.manager.subresource != "status"
        for leaf in leaves(entry.fields, live)
        if not _under(leaf.path, skipped)
    ]
    if not candidates:
        return
    want, have = diffing.normalize(desired), diffing.normalize(live)
    mine = [e.fields for e in entries if e.manager.is_agent]
    kind, name = str(desired.get("kind", "")), str((desired.get("metadata") or {}).get("name", ""))
    additions: dict[Path, list[Manager]] = {}
    taken: dict[Path, list[Manager]] = {}
    for manager, leaf in candidates:
        if locate(have, leaf.steps) is None:
            continue
        if is_default(live, leaf.path, _value_at(live, leaf.path)):
            continue
        top = _missing_prefix(want, leaf.steps)
        if top is not None:
            additions.setdefault(leaf.path[:top], []).append(manager)
        elif not any(owns_path(tree, live, leaf.path) for tree in mine) and _same(want, have, leaf):
            taken.setdefault(leaf.path, []).append(manager)
    for path, managers in sorted(additions.items(), key=lambda item: _sort_key(item[0])):
        unique = tuple(dict.fromkeys(managers))
        suggestion = _suggest(kind, name, path, unique, FieldDriftKind.ADDED)
        value = _value_at(live, path)
        yield FieldDrift(
            diffing.render_path(path), FieldDriftKind.ADDED, None, value, unique, suggestion, path
        )
    for path, managers in sorted(taken.items(), key=lambda item: _sort_key(item[0])):
        unique = tuple(dict.fromkeys(managers))
        suggestion = _suggest(kind, name, path, unique, FieldDriftKind.TAKEN)
        value = _value_at(live, path)
        yield FieldDrift(
            diffing.render_path(path), FieldDriftKind.TAKEN, value, value, unique, suggestion, path
        )


def _same(want: Any, have: Any, leaf: Leaf) -> bool:
    """True when git and live agree on the value of ``leaf``."""
    where = locate(want, leaf.steps)
    return where is not None and _value_at(want, where) == _value_at(have, leaf.path)


def _missing_prefix(want: Any, steps: Sequence[Any]) -> int | None:
    """How many steps lead to the first field ``want`` does not hold (None: it holds all)."""
    for length in range(1, len(steps) + 1):
        if locate(want, steps[:length]) is None:
            return length
    return None


def _under(path: Path, prefixes: Iterable[Path]) -> bool:
    text = tuple(map(str, path))
    return any(text[: len(p)] == tuple(map(str, p)) for p in prefixes)


def _sort_key(path: Path) -> tuple[str, ...]:
    return tuple(f"{part:08d}" if isinstance(part, int) else part for part in path)


def _value_at(obj: Any, path: Path) -> Any:
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


def pointer_path(pointer: str) -> Path:
    """The path a JSON pointer names (``/spec/replicas`` -> ``("spec", "replicas")``);
    numeric parts are list indexes."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    return tuple(int(p) if p.isdigit() else p for p in parts if p != "")


def pointer_of(path: Path) -> str:
    """The JSON pointer of a path (``("metadata", "labels", "a/b")`` -> ``/metadata/labels/a~1b``)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def is_controller(manager: Manager) -> bool:
    """True for a manager whose name says it is a controller, webhook or operator (never
    kubectl, never the agent)."""
    name = manager.name.lower()
    if manager.is_agent or name.startswith("kubectl"):
        return False
    return any(word in name for word in _CONTROLLER_WORDS)


def _suggest(
    kind: str, name: str, path: Path, managers: Sequence[Manager], drift: FieldDriftKind
) -> Suggestion | None:
    if not path or drift is FieldDriftKind.REMOVED:
        return None
    pointer = pointer_of(path)
    if tuple(path) == ("spec", "replicas") and kind in kinds.WORKLOADS:
        reason = (
            "replicas are commonly owned by an autoscaler (an HPA writes them as "
            "kube-controller-manager through the scale subresource)"
        )
        return Suggestion(kind, name, pointer, reason)
    if path[-1] == _RESTARTED_AT:
        return Suggestion(kind, name, pointer, "set by kubectl rollout restart")
    controllers = [m.name for m in managers if is_controller(m)]
    if controllers:
        return Suggestion(kind, name, pointer, f"written by the controller {controllers[0]}")
    injected = drift is FieldDriftKind.ADDED and _under(path, _INJECTED)
    others = [m.name for m in managers if not m.name.lower().startswith("kubectl")]
    if injected and others:
        return Suggestion(kind, name, pointer, f"injected by {others[0]}")
    return None


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


def without_fields(
    obj: Mapping[str, Any], fields: Sequence[tuple[Path, Any]]
) -> dict[str, Any] | None:
    """A copy of ``obj`` without ``fields`` (paths, deepest list items first, with the value
    each was seen with); None when one of them no longer has that value."""
    result: dict[str, Any] = copy.deepcopy(dict(obj))
    for path, value in fields:
        parent = _value_at(result, path[:-1]) if len(path) > 1 else result
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
