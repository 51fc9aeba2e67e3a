"""Who owns a field of a live object: ``metadata.managedFields`` read as the API server writes it.

Pure; called by ``core.fielddrift``, which names the manager behind every drifted field. Each
entry says who wrote (``manager``, ``operation`` Apply or Update, ``subresource`` such as
``scale`` or ``status``, ``time`` of that manager's last change, absent on some entries) and
which fields it owns: ``fieldsV1``, a tree whose keys are ``f:<name>`` (a field of a map or a
struct), ``k:<json>`` (a list item by its key fields), ``v:<json>`` (a set item by value),
``i:<n>`` (a list item by position) and ``.`` (the item or map itself). A tree is read against
the object it belongs to, so that ``k:{"name":"main"}`` becomes the index of that container.

Entries come from an API answer and are read as untrusted: anything not shaped as the server
writes it is skipped, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.core import labels

#: A location in an object: map keys and list indexes (``FieldChange.parts``).
Path = tuple[str | int, ...]
#: A location by meaning: (``f``, name), (``k``, key fields), (``v``, value) or (``i``, index).
Step = tuple[str, Any]


@dataclass(frozen=True, slots=True)
class Manager:
    """Who wrote a set of fields: one managedFields entry without its fields."""

    name: str
    operation: str
    subresource: str = ""
    time: str = ""
    api_version: str = ""

    @property
    def is_agent(self) -> bool:
        """True for the agent's own server-side applies."""
        return (
            self.name == labels.FIELD_MANAGER and self.operation == "Apply" and not self.subresource
        )

    def describe(self) -> str:
        """``kubectl (Update, subresource scale, time not recorded)``."""
        parts = [self.operation or "?"]
        if self.subresource:
            parts.append(f"subresource {self.subresource}")
        parts.append(f"last write {self.time}" if self.time else "time not recorded")
        return f"{self.name} ({', '.join(parts)})"

    def to_json(self) -> dict[str, str]:
        return {
            "manager": self.name,
            "operation": self.operation,
            "subresource": self.subresource,
            "time": self.time,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """A manager and the ``fieldsV1`` tree of the fields it owns."""

    manager: Manager
    fields: Mapping[str, Any] = field(repr=False)


def entries_of(obj: Mapping[str, Any]) -> tuple[Entry, ...]:
    """The managedFields entries of an object; malformed ones are left out."""
    metadata = obj.get("metadata")
    raw = metadata.get("managedFields") if isinstance(metadata, Mapping) else None
    found = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, Mapping) or not isinstance(item.get("fieldsV1"), Mapping):
            continue
        manager = Manager(
            _text(item.get("manager")) or "unknown",
            _text(item.get("operation")),
            _text(item.get("subresource")),
            _text(item.get("time")),
            _text(item.get("apiVersion")),
        )
        found.append(Entry(manager, item["fieldsV1"]))
    return tuple(found)


def _text(value: Any) -> str:
    return value[:200] if isinstance(value, str) else ""


def owners_at(entries: Sequence[Entry], obj: Any, path: Path) -> tuple[Manager, ...]:
    """The managers whose fields hold ``path`` of ``obj`` (or a field above it, when that
    field is owned whole, as an atomic list is)."""
    return tuple(e.manager for e in entries if holds(e.fields, obj, path))


def holds(tree: Mapping[str, Any], obj: Any, path: Path) -> bool:
    """True when the fields ``tree`` owns include ``path`` of ``obj``."""
    node: Any = tree
    value = obj
    for part in path:
        if not isinstance(node, Mapping):
            return False
        if not _children(node):
            return True
        if isinstance(part, int):
            items = value if isinstance(value, list) else []
            if not 0 <= part < len(items):
                return False
            key = _item_key(node, items[part], part)
            if key is None:
                return False
            node, value = node[key], items[part]
        else:
            node = node.get("f:" + part)
            value = value.get(part) if isinstance(value, Mapping) else None
            if node is None:
                return False
    return True


def _children(node: Mapping[str, Any]) -> bool:
    return any(key != "." for key in node)


def _item_key(node: Mapping[str, Any], item: Any, index: int) -> str | None:
    """The key of ``node`` that names list item ``item`` at ``index``. The item may be a
    projection of the live item (what a diff compared): its key fields that are present
    decide (a port projected without its defaulted ``protocol`` still matches)."""
    for key in node:
        kind, decoded = _decode(key)
        if kind == "k" and isinstance(item, Mapping) and isinstance(decoded, Mapping):
            shared = [name for name in decoded if name in item]
            if shared and all(item[name] == decoded[name] for name in shared):
                return str(key)
        elif (kind == "v" and decoded == item) or (kind == "i" and decoded == index):
            return str(key)
    return None


def _decode(key: Any) -> tuple[str, Any]:
    """``("k", {...})``, ``("v", value)``, ``("i", n)``, ``("f", name)``; ``("", None)`` else."""
    if not isinstance(key, str) or len(key) < 2 or key[1] != ":":
        return "", None
    kind, text = key[0], key[2:]
    if kind == "f":
        return "f", text
    if kind == "i":
        return ("i", int(text)) if text.isdigit() else ("", None)
    if kind in ("k", "v"):
        try:
            return kind, json.loads(text)
        except (ValueError, RecursionError):
            return "", None
    return "", None


@dataclass(frozen=True, slots=True)
class Leaf:
    """A field an entry owns: where it is in the object it was read against (``path``) and
    what it is (``steps``), so that the same field can be looked for in another object."""

    path: Path
    steps: tuple[Step, ...]


def leaves(tree: Mapping[str, Any], obj: Any, *, limit: int = 10_000) -> Iterator[Leaf]:
    """The fields ``tree`` owns that ``obj`` holds, as leaves (a list owned whole is one leaf);
    owned items no longer in ``obj`` are skipped. At most ``limit`` leaves."""
    stack: list[tuple[Mapping[str, Any], Any, Path, tuple[Step, ...]]] = [(tree, obj, (), ())]
    produced = 0
    while stack and produced < limit:
        node, value, path, steps = stack.pop()
        if path and not _children(node):
            produced += 1
            yield Leaf(path, steps)
            continue
        for key in sorted((k for k in node if k != "."), reverse=True):
            child = node[key]
            found = _child(key, value)
            if found is None or not isinstance(child, Mapping):
                continue
            part, step, sub = found
            stack.append((child, sub, (*path, part), (*steps, step)))


def _child(key: str, value: Any) -> tuple[str | int, Step, Any] | None:
    """Where ``key`` leads in ``value``: (path part, step, the value there)."""
    kind, decoded = _decode(key)
    if kind == "f" and isinstance(value, Mapping) and decoded in value:
        return decoded, ("f", decoded), value[decoded]
    if kind in ("k", "v", "i") and isinstance(value, list):
        for index, item in enumerate(value):
            if _matches(kind, decoded, item, index):
                return index, (kind, decoded), item
    return None


def _matches(kind: str, decoded: Any, item: Any, index: int) -> bool:
    if kind == "k":
        return (
            isinstance(decoded, Mapping)
            and bool(decoded)
            and isinstance(item, Mapping)
            and all(item.get(name) == wanted for name, wanted in decoded.items())
        )
    if kind == "v":
        return bool(decoded == item)
    return bool(decoded == index)


def locate(obj: Any, steps: Sequence[Step]) -> Path | None:
    """Where the field ``steps`` names is in ``obj``; None when ``obj`` does not hold it."""
    value = obj
    path: list[str | int] = []
    for kind, decoded in steps:
        if kind == "f":
            if not isinstance(value, Mapping) or decoded not in value:
                return None
            path.append(decoded)
            value = value[decoded]
            continue
        if not isinstance(value, list):
            return None
        index = next((i for i, item in enumerate(value) if _matches(kind, decoded, item, i)), None)
        if index is None:
            return None
        path.append(index)
        value = value[index]
    return tuple(path)
