"""Comparing one live object with its rendering from the applied revision, field by field, and
naming who changed each field.

Pure; called by ``engine.drift`` for each object an inventory entry recorded. An object no
longer there is ``deleted`` (one the inventory recorded before creating it, and that was never
created, is not drift); one at its key whose uid is not the recorded one was ``replaced``.
Otherwise its fields are compared the way a plan compares them (``core.diffing``: ignore
rules, server defaults and status left out) and each drifted field names the managers that
own it now (``core.ownership``); the fields other managers own are read too, for fields
``added`` that git does not declare and fields git declares that another manager ``took
over``. What controllers and the API server write on every object (a Deployment's revision
annotation, a claim's binding, kubectl's last-applied annotation) is not drift, nor is a field
another manager set to the value the server defaults it to (``core.defaults``). A field
commonly owned by a controller (replicas under an autoscaler, injected sidecars and
annotations) comes with a suggested ``sync.ignore`` rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from gitops_agent.core import diffing, kinds, labels
from gitops_agent.core.defaults import is_default
from gitops_agent.core.diffing import ChangeKind, FieldChange, IgnoreRule
from gitops_agent.core.drift import (
    FieldDrift,
    FieldDriftKind,
    ObjectDrift,
    ObjectDriftKind,
    Suggestion,
    pointer_of,
    pointer_path,
    shown,
    value_at,
)
from gitops_agent.core.inventory import InventoryEntry
from gitops_agent.core.kinds import key_of
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
    where = change.parts
    return FieldDrift(
        change.path,
        drift_kind,
        shown(view, where, change.after),
        shown(view, where, change.before),
        managers,
        suggestion,
        where,
        change.before,
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
        if is_default(live, leaf.path, value_at(live, leaf.path)):
            continue
        top = _missing_prefix(want, leaf.steps)
        if top is not None:
            additions.setdefault(leaf.path[:top], []).append(manager)
        elif not any(owns_path(tree, live, leaf.path) for tree in mine) and _same(want, have, leaf):
            taken.setdefault(leaf.path, []).append(manager)
    for path, managers in sorted(additions.items(), key=lambda item: _sort_key(item[0])):
        unique = tuple(dict.fromkeys(managers))
        suggestion = _suggest(kind, name, path, unique, FieldDriftKind.ADDED)
        value = value_at(live, path)
        yield FieldDrift(
            diffing.render_path(path),
            FieldDriftKind.ADDED,
            None,
            shown(live, path, value),
            unique,
            suggestion,
            path,
            value,
        )
    for path, managers in sorted(taken.items(), key=lambda item: _sort_key(item[0])):
        unique = tuple(dict.fromkeys(managers))
        suggestion = _suggest(kind, name, path, unique, FieldDriftKind.TAKEN)
        value = shown(live, path, value_at(live, path))
        yield FieldDrift(
            diffing.render_path(path), FieldDriftKind.TAKEN, value, value, unique, suggestion, path
        )


def _same(want: Any, have: Any, leaf: Leaf) -> bool:
    """True when git and live agree on the value of ``leaf``."""
    where = locate(want, leaf.steps)
    return where is not None and value_at(want, where) == value_at(have, leaf.path)


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
