"""Diffing desired against live objects, after removing the noise a real cluster adds.

Called by ``core.planning`` for every object that exists on both sides, and by drift checks.
The live object is *projected* onto what the agent manages: the fields the desired object
sets, plus the fields the agent's field manager owns in ``managedFields`` (so that a field
removed from git shows up as a removal), never server defaults, status or server-managed
metadata. Quantities are compared in canonical form, ignore rules drop JSON pointers, and
Secret data is masked in every change. Equality is checked first; deepdiff only describes
objects that differ.
"""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gitops_agent.core import kinds, labels, quantities

SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
)
MASK = "***"
_QUANTITY_PARENTS = ("requests", "limits", "capacity", "hard")


class ChangeKind(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs; ``before`` is live, ``after`` is desired. ``parts`` locates the
    field in the live object as compared (keys and list indexes; for a change inside the
    manifest annotation, the annotation)."""

    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None
    parts: tuple[str | int, ...] = field(default=(), compare=False)

    def format(self) -> str:
        if self.kind is ChangeKind.ADDED:
            return f"+ {self.path}: {short_value(self.after)}"
        if self.kind is ChangeKind.REMOVED:
            return f"- {self.path}: {short_value(self.before)}"
        return f"~ {self.path}: {short_value(self.before)} -> {short_value(self.after)}"


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """Drop the fields at ``pointers`` (JSON pointers) from objects of a kind (and name)."""

    pointers: tuple[str, ...]
    kind: str | None = None
    name: str | None = None

    def applies(self, obj: Mapping[str, Any]) -> bool:
        metadata = obj.get("metadata") or {}
        return (self.kind is None or obj.get("kind") == self.kind) and (
            self.name is None or metadata.get("name") == self.name
        )


def diff(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    ignore: Sequence[IgnoreRule] = (),
    manager: str = labels.FIELD_MANAGER,
) -> tuple[FieldChange, ...]:
    """The changes that applying ``desired`` would make to ``live``; empty when none."""
    return compared(desired, live, ignore=ignore, manager=manager)[0]


def compared(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    ignore: Sequence[IgnoreRule] = (),
    manager: str = labels.FIELD_MANAGER,
) -> tuple[tuple[FieldChange, ...], Any]:
    """``diff``, and the live object as compared (normalized and projected), which the
    changes' ``parts`` point into."""
    want = normalize(desired, ignore)
    owned = owned_paths(live, manager)
    have = project(normalize(live, ignore), want, owned)
    if want == have:
        return (), have
    shown = copy.deepcopy(have)
    manifest_changes = _manifest_changes(have, want)
    secret = desired.get("kind") == kinds.SECRET.name
    changes = [*_changes(have, want, secret=secret), *manifest_changes]
    return tuple(sorted(changes, key=lambda c: c.path)), shown


def _manifest_changes(have: dict[str, Any], want: dict[str, Any]) -> list[FieldChange]:
    """The manifest annotation compared as the manifest it holds, field by field (``manifest.
    spec.replicas``), not as one long text; taken out of both objects here."""
    texts = [_pop_annotation(obj, labels.MANIFEST) for obj in (have, want)]
    if texts[0] == texts[1]:
        return []
    before, after = (_loaded(text) for text in texts)
    where = ("metadata", "annotations", labels.MANIFEST)
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [FieldChange("manifest", ChangeKind.CHANGED, texts[0], texts[1], where)]
    return [
        replace(c, path=f"manifest.{c.path}", parts=where)
        for c in _changes(before, after, secret=False)
    ]


def _pop_annotation(obj: dict[str, Any], name: str) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations")
    if not isinstance(annotations, dict):
        return None
    text = annotations.pop(name, None)
    if not annotations:
        obj["metadata"].pop("annotations", None)
    return None if text is None else str(text)


def _loaded(text: str | None) -> Any:
    if text is None:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return None


#: Annotations that tools and controllers write on every object: never compared.
NOISE_ANNOTATIONS = frozenset(
    {"kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision"}
)


def normalize(obj: Mapping[str, Any], ignore: Sequence[IgnoreRule] = ()) -> dict[str, Any]:
    """A copy without status and server-managed metadata, quantities canonical, ignores dropped."""
    trimmed = {key: value for key, value in obj.items() if key != "status"}
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        kept = {k: v for k, v in metadata.items() if k not in SERVER_METADATA}
        annotations = kept.pop("annotations", None)
        if isinstance(annotations, Mapping):
            annotations = {k: v for k, v in annotations.items() if k not in NOISE_ANNOTATIONS}
        if annotations:
            kept["annotations"] = annotations
        trimmed["metadata"] = kept
    result: dict[str, Any] = _canonical(trimmed, None, False)
    for rule in ignore:
        if rule.applies(obj):
            for pointer in rule.pointers:
                _drop(result, pointer)
    return result


def _canonical(value: Any, key: str | None, quantity: bool) -> Any:
    """A copy with quantities canonical: ``key`` is the value's own key, ``quantity`` says
    a scalar here is one (its mapping sits under a key such as ``requests``; the items of a
    list are judged as the list is)."""
    if type(value) is dict or (type(value) is not list and isinstance(value, Mapping)):
        below = key in _QUANTITY_PARENTS
        return {k: _canonical(item, str(k), below) for k, item in value.items()}
    if type(value) is list:
        return [_canonical(item, key, quantity) for item in value]
    if quantity and isinstance(value, str | int | float):
        try:
            return quantities.canonical(value)
        except quantities.QuantityError:
            return value
    return value


def _drop(obj: dict[str, Any], pointer: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    node: Any = obj
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else _index(node, part)
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)
    elif isinstance(node, list) and parts[-1].isdigit() and int(parts[-1]) < len(node):
        node.pop(int(parts[-1]))


def _index(node: Any, part: str) -> Any:
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def owned_paths(live: Mapping[str, Any], manager: str = labels.FIELD_MANAGER) -> dict[str, Any]:
    """The ``fieldsV1`` tree of ``manager``'s Apply entries, merged (empty when none)."""
    merged: dict[str, Any] = {}
    metadata = live.get("metadata")
    entries = metadata.get("managedFields") if isinstance(metadata, Mapping) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("fieldsV1"), Mapping):
            continue  # an API answer is read as untrusted: a malformed entry owns nothing
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            _merge(merged, entry["fieldsV1"])
    return merged


def _merge(into: dict[str, Any], tree: Mapping[str, Any]) -> None:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            _merge(into.setdefault(key, {}), value)
        else:
            into.setdefault(key, {})


def project(live: Any, want: Any, owned: Mapping[str, Any] | None) -> Any:
    """``live`` reduced to the shape of ``want`` plus the fields in the ``owned`` tree."""
    if isinstance(live, dict) and isinstance(want, dict):
        owned_keys = {key[2:] for key in (owned or {}) if key.startswith("f:")}
        result = {}
        for key in sorted(set(want) | owned_keys):
            if key in live:
                sub_owned = (owned or {}).get(f"f:{key}")
                result[key] = project(live[key], want.get(key), sub_owned)
        return result
    if isinstance(live, list) and isinstance(want, list):
        return _project_list(live, want, owned)
    return live


def _project_list(live: list[Any], want: list[Any], owned: Mapping[str, Any] | None) -> list[Any]:
    """An associative list the agent owns items of (``k:`` keys in its managedFields): the
    items it owns, each paired with the desired item of the same key, so that items other
    managers added (an adopted object's own container) are not reported. Other lists (atomic,
    or ownership unknown): items by position."""
    keys = _keyed_items(owned)
    if not keys:
        return [
            project(item, want[index] if index < len(want) else None, None)
            for index, item in enumerate(live)
        ]
    result = []
    for item in live:
        key = _item_key(item, keys) if isinstance(item, dict) else None
        if key is None:
            continue
        target = next((w for w in want if isinstance(w, dict) and _has_key(w, key)), None)
        sub = (owned or {}).get("k:" + json.dumps(key, separators=(",", ":")))
        result.append(project(item, target, sub))
    return result


def _has_key(item: Mapping[str, Any], key: Mapping[str, Any]) -> bool:
    return all(item.get(name) == value for name, value in key.items())


def _keyed_items(owned: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    keys = []
    for key in owned or {}:
        if key.startswith("k:"):
            try:
                keys.append(json.loads(key[2:]))
            except ValueError:
                continue
    return keys


def _item_key(
    item: Mapping[str, Any], keyed: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    for key in keyed:
        if _has_key(item, key):
            return key
    return None


def _changes(have: Any, want: Any, *, secret: bool) -> Iterable[FieldChange]:
    # deepdiff loads on the first object that differs: `validate` and a plan without
    # changes never pay for its import
    from deepdiff import DeepDiff  # noqa: PLC0415

    tree = DeepDiff(have, want, view="tree", verbose_level=2)
    kinds = {
        "values_changed": ChangeKind.CHANGED,
        "type_changes": ChangeKind.CHANGED,
        "dictionary_item_added": ChangeKind.ADDED,
        "iterable_item_added": ChangeKind.ADDED,
        "dictionary_item_removed": ChangeKind.REMOVED,
        "iterable_item_removed": ChangeKind.REMOVED,
    }
    for report, kind in kinds.items():
        for level in tree.get(report, ()):
            parts = level.path(output_format="list")
            before = None if kind is ChangeKind.ADDED else level.t1
            after = None if kind is ChangeKind.REMOVED else level.t2
            if secret and parts[:1] in (["data"], ["stringData"]):
                before, after = (
                    (MASK if before is not None else None),
                    (MASK if after is not None else None),
                )
            yield FieldChange(render_path(parts), kind, before, after, tuple(parts))


def render_path(parts: Sequence[Any]) -> str:
    """``spec.template.spec.containers[0].image`` for a list of keys and indexes."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def short_value(value: Any) -> str:
    """A value on one line, at most 120 characters (JSON)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
