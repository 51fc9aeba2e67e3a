"""Server-side apply and ``metadata.managedFields`` bookkeeping.

``record_update`` gives the managedFields after a create, update or patch (the writer takes
the fields it changed from everyone else); ``server_side_apply`` is structured-merge-diff's
``Updater.Apply`` (``sigs.k8s.io/structured-merge-diff/v4/merge/update.go``): it merges an
applied configuration into the live object, prunes what the manager stopped applying and no
one else owns (whole list items included), raises the 409 field-manager conflict unless
``force`` is set, and takes removed and forced fields from the other managers. Called by
``objects.py``.

Writes through the ``scale`` subresource are recorded as kube-apiserver's ``ScaleHandler``
records them: an entry with ``subresource: scale`` owning ``spec.replicas`` in the parent's
apiVersion, whose ``time`` is taken from the parent's entry of the same manager, which has
none (``ToParent`` in ``k8s.io/apimachinery/pkg/util/managedfields/scalehandler.go``): a
``kubectl scale`` or an HPA entry carries no time.
"""

from __future__ import annotations

from typing import Any

from gitops_agent.testing.kubesim import errors, smd
from gitops_agent.testing.kubesim.errors import Cause
from gitops_agent.testing.kubesim.fieldsets import (
    Path,
    changes,
    from_fields_v1,
    path_string,
    to_fields_v1,
)
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.schema import Node

Obj = dict[str, Any]
_SERVER_META = (
    "name",
    "namespace",
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
#: Subresources whose writes keep the time of the parent's entry (none for a new manager).
TIMELESS_SUBRESOURCES = frozenset({"scale"})
# What fieldmanager's stripMeta leaves out of every recorded set (exact paths only).
_STRIPPED = frozenset(
    {("f:apiVersion",), ("f:kind",), ("f:metadata",)}
    | {
        ("f:metadata", "f:" + name)
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    }
)


class Entry:
    """One ``managedFields`` entry. Its path set is parsed from the stored ``fieldsV1`` only
    when a write could touch it (a path under one of its top-level fields), and written back
    as stored while unchanged."""

    def __init__(
        self,
        manager: str,
        operation: str,
        api_version: str,
        time: str,
        *,
        subresource: str = "",
        paths: set[Path] | None = None,
        stored: Obj | None = None,
    ) -> None:
        self.manager, self.operation, self.subresource = manager, operation, subresource
        self.api_version, self.time = api_version, time
        self._paths = paths if paths is not None or stored is not None else set()
        self._stored = stored

    @property
    def paths(self) -> set[Path]:
        if self._paths is None:
            self._paths = from_fields_v1(self._stored)
        return self._paths

    @paths.setter
    def paths(self, value: set[Path]) -> None:
        self._paths, self._stored = value, None

    def _may_own(self, paths: set[Path]) -> bool:
        if self._paths is not None or self._stored is None:
            return bool(paths)
        return any(p[:1] and p[0] in self._stored for p in paths)

    def owned(self, paths: set[Path]) -> set[Path]:
        """The members of ``paths`` this entry owns."""
        return self.paths & paths if self._may_own(paths) else set()

    def drop(self, paths: set[Path]) -> None:
        """Give up ``paths`` (another writer took or removed them)."""
        if self._may_own(paths) and self.paths & paths:
            self.paths = self.paths - paths

    @property
    def empty(self) -> bool:
        return not self._stored if self._paths is None else not self._paths

    def same_owner(self, manager: str, operation: str, subresource: str) -> bool:
        return (self.manager, self.operation, self.subresource) == (manager, operation, subresource)

    def to_json(self) -> Obj:
        fields = self._stored if self._stored is not None else to_fields_v1(self.paths)
        out: Obj = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
        if self.time:
            out["time"] = self.time
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def load(obj: Obj, *, trusted: bool = True) -> list[Entry]:
    """The managedFields entries of an object; ``trusted`` ones (stored by kubesim) keep their
    ``fieldsV1`` as written until a change needs the paths."""
    out = []
    for raw in (obj.get("metadata") or {}).get("managedFields") or []:
        if isinstance(raw, dict):
            fields = raw.get("fieldsV1")
            keep = trusted and isinstance(fields, dict)
            out.append(
                Entry(
                    str(raw.get("manager", "")),
                    str(raw.get("operation", "")),
                    str(raw.get("apiVersion", "")),
                    str(raw.get("time", "")),
                    subresource=str(raw.get("subresource", "")),
                    paths=None if keep else from_fields_v1(fields),
                    stored=fields if keep else None,
                )
            )
    return out


def dump(entries: list[Entry]) -> list[Obj]:
    return [e.to_json() for e in entries if not e.empty]


def owned_view(obj: Obj, *, subresource: str, has_status: bool) -> Obj:
    """The part of an object field ownership is tracked on (no server-set metadata)."""
    view = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in (view.get("metadata") or {}).items() if k not in _SERVER_META}
    view["metadata"] = meta
    if subresource == "status":
        return {"status": view.get("status")} if "status" in view else {}
    if has_status:
        view.pop("status", None)
    return view


def record_update(
    old: Obj | None,
    new: Obj,
    node: Node,
    *,
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
    has_status: bool = False,
) -> list[Obj]:
    """managedFields of ``new`` after ``manager`` wrote it over ``old`` with an Update."""
    entries = load(new, trusted=False) if _resets(old, new) else load(old or {})
    modified, removed = changes(
        owned_view(old or {}, subresource=subresource, has_status=has_status),
        owned_view(new, subresource=subresource, has_status=has_status),
        node,
    )
    mine = next((e for e in entries if e.same_owner(manager, "Update", subresource)), None)
    for entry in entries:
        if entry is not mine:
            entry.drop(modified | removed)
    stamp = "" if subresource in TIMELESS_SUBRESOURCES else now
    if mine is None and modified:
        mine = Entry(manager, "Update", api_version, stamp, subresource=subresource)
        entries.append(mine)
    if mine is not None:
        updated = (mine.paths | modified) - removed
        if updated != mine.paths:
            mine.paths, mine.api_version = updated, api_version
            mine.time = stamp or mine.time
    return dump(entries)


def _resets(old: Obj | None, new: Obj) -> bool:
    """True when the writer sent its own managedFields (which then replace the stored ones)."""
    sent = (new.get("metadata") or {}).get("managedFields")
    stored = ((old or {}).get("metadata") or {}).get("managedFields")
    return sent is not None and sent != stored


def applied_set(paths: set[Path], *, subresource: str, has_status: bool) -> set[Path]:
    """An applied configuration's fields the manager gets: without the fields the endpoint
    resets (``status`` on the main resource, all but ``status`` on the status subresource)."""
    if subresource == "status":
        return {p for p in paths if p[:1] == ("f:status",)}
    if has_status:
        return {p for p in paths if p[:1] != ("f:status",)}
    return set(paths)


def _ignored(path: Path, *, subresource: str, has_status: bool) -> bool:
    if subresource == "status":
        return path[:1] != ("f:status",)
    return has_status and path[:1] == ("f:status",)


def server_side_apply(
    live: Obj | None,
    config: Obj,
    node: Node,
    *,
    applied: set[Path],
    manager: str,
    force: bool,
    api_version: str,
    now: str,
    subresource: str = "",
    has_status: bool = False,
) -> tuple[Obj, list[Obj]]:
    """The merged object and its managedFields; raises 409 on conflicts without force.

    ``applied`` is the configuration's field set (``applied_set`` of its paths)."""
    base = deep_copy(live) if live is not None else {}
    entries = load(base)
    mine = next((e for e in entries if e.same_owner(manager, "Apply", subresource)), None)
    others = [e for e in entries if e is not mine]
    recorded = applied - _STRIPPED
    merged = smd.merge(base, config, node) if live is not None else deep_copy(config)
    if mine is not None and not mine.paths <= recorded:
        owned = set(applied).union(*(e.paths for e in others))
        removal = smd.prune_paths(mine.paths, owned, node)
        if removal:
            merged = smd.remove_items(merged, smd.trie(removal), node) or {}
    changed = live is None or merged != base
    if changed and live is not None:
        _take_from_others(
            base, merged, node, others, force=force, subresource=subresource, has_status=has_status
        )
    if mine is None:
        mine = Entry(manager, "Apply", api_version, now, subresource=subresource)
        entries.append(mine)
    if mine.paths != recorded:
        mine.paths = recorded
    if changed:
        mine.time, mine.api_version = now, api_version
    return merged, dump(entries)


def _take_from_others(
    base: Obj,
    merged: Obj,
    node: Node,
    others: list[Entry],
    *,
    force: bool,
    subresource: str,
    has_status: bool,
) -> None:
    """Conflicts (fields others own that the apply added or changed) and removed fields."""
    added, modified, removed = smd.compare(base, merged, node)
    changed = {
        p
        for p in added | modified
        if not _ignored(p, subresource=subresource, has_status=has_status)
    }
    conflicts = [(e, p) for e in others for p in sorted(e.owned(changed))]
    if conflicts and not force:
        raise conflict_error(conflicts)
    for entry in others:
        entry.drop(changed | removed)


def _print_manager(entry: Entry) -> str:
    text = f'"{entry.manager}"'
    if entry.subresource:
        text += f' with subresource "{entry.subresource}"'
    if entry.operation == "Update":
        text += f" using {entry.api_version}" + (f" at {entry.time}" if entry.time else "")
    return text


def conflict_error(conflicts: list[tuple[Entry, Path]]) -> errors.ApiError:
    """The 409 of a server-side apply that would change fields other managers own."""
    causes = [
        Cause("FieldManagerConflict", f"conflict with {_print_manager(e)}", path_string(p))
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {_print_manager(entry)}: "
            f"{path_string(path)}"
        )
    else:
        lines: list[str] = []
        by_manager: dict[str, list[Path]] = {}
        printed: dict[str, str] = {}
        for entry, path in conflicts:
            by_manager.setdefault(entry.manager, []).append(path)
            printed[entry.manager] = _print_manager(entry)
        for name in sorted(by_manager):
            lines.append(f"conflicts with {printed[name]}:")
            lines.extend(f"- {path_string(p)}" for p in by_manager[name])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ApiError(409, "Conflict", message, {}, causes)
