"""Field sets of server-side apply: which fields of an object a manager owns.

A path is a tuple of FieldsV1 keys (``("f:spec", "f:template", "f:spec", "f:containers",
'k:{"name":"web"}', "f:image")``). ``item_key`` and ``set_element`` name list items,
``flatten`` lists every path of an object with its value (driven by the schema's list types
and map types; the field sets of Update operations), ``to_fields_v1`` / ``from_fields_v1``
convert sets to and from the ``managedFields[].fieldsV1`` JSON, and ``path_string`` prints a
path as conflict messages do. Used by ``apply.py``, ``smd.py`` and ``typed.py``.
"""

from __future__ import annotations

import json
from typing import Any

from gitops_agent.testing.kubesim.schema import Node, Shape

Obj = dict[str, Any]
Path = tuple[str, ...]
PRESENT = object()  # value of intermediate member paths (maps, list items)
_KEY_DEFAULTS = {"protocol": "TCP"}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def item_key(item: Any, node: Node) -> str:
    """The ``k:{...}`` element of a list-map item (missing keys take the schema default)."""
    keys = {}
    for name in node.list_keys:
        value = item.get(name) if isinstance(item, dict) else None
        if value is None:
            value = _KEY_DEFAULTS.get(name)
        if value is not None:
            keys[name] = value
    return "k:" + _dumps(keys)


def set_element(item: Any) -> str:
    """The ``v:...`` element of an item of a set-typed list."""
    return "v:" + _dumps(item)


def flatten(value: Any, node: Node | None, *, intermediates: bool = True) -> dict[Path, Any]:
    """Every path of ``value`` mapped to its leaf value (or PRESENT for member maps/items).

    With ``intermediates`` false (an applied configuration) non-empty maps are not members
    themselves, only their entries; list-map items always are.
    """
    out: dict[Path, Any] = {}
    _walk(value, node, (), out, intermediates)
    return out


def _walk(value: Any, node: Node | None, prefix: Path, out: dict[Path, Any], inter: bool) -> None:
    shape = node.shape if node is not None else Shape.ANY
    if isinstance(value, dict) and shape in (Shape.STRUCT, Shape.MAP) and node is not None:
        if node.atomic or not value:
            if prefix:
                out[prefix] = value
            return
        if inter and shape is Shape.MAP and prefix:
            out[prefix] = PRESENT
        for key, item in value.items():
            _walk(item, node.child(key), (*prefix, "f:" + key), out, inter)
    elif isinstance(value, list) and node is not None and node.is_list_map and node.elem:
        for item in value:
            path = (*prefix, item_key(item, node))
            out[path] = PRESENT
            if isinstance(item, dict):
                for key, sub in item.items():
                    _walk(sub, node.elem.child(key), (*path, "f:" + key), out, inter)
    elif isinstance(value, list) and node is not None and node.list_type == "set":
        for item in value:
            out[(*prefix, "v:" + _dumps(item))] = PRESENT
        if not value and prefix:
            out[prefix] = value
    elif prefix:
        out[prefix] = value


def changes(old: Any, new: Any, node: Node | None) -> tuple[set[Path], set[Path]]:
    """``changed_paths(flatten(old), flatten(new))``, walking only the parts that differ."""
    modified: set[Path] = set()
    removed: set[Path] = set()
    _diff(old, new, node, (), (modified, removed))
    return modified, removed


_ABSENT: Any = object()
Found = tuple[set[Path], set[Path]]


def _diff(old: Any, new: Any, node: Node | None, prefix: Path, found: Found) -> None:
    if old is new or (old == new and type(old) is type(new)):
        return
    if _both_maps(old, new, node):
        assert node is not None
        for key in [*old, *(k for k in new if k not in old)]:
            before, after = old.get(key, _ABSENT), new.get(key, _ABSENT)
            _diff(before, after, node.child(key), (*prefix, "f:" + key), found)
        return
    if node is not None and isinstance(old, list) and isinstance(new, list) and node.is_list_map:
        before_items = {item_key(i, node): i for i in old}
        after_items = {item_key(i, node): i for i in new}
        if len(before_items) == len(old) and len(after_items) == len(new):
            for key in [*before_items, *(k for k in after_items if k not in before_items)]:
                one, two = before_items.get(key, _ABSENT), after_items.get(key, _ABSENT)
                _diff_item(one, two, node.elem, (*prefix, key), found)
            return
    _compare(_flat(old, node, prefix), _flat(new, node, prefix), found)


def _both_maps(old: Any, new: Any, node: Node | None) -> bool:
    """Both sides are non-empty maps ``flatten`` walks into."""
    if node is None or node.atomic or node.shape not in (Shape.STRUCT, Shape.MAP):
        return False
    return isinstance(old, dict) and isinstance(new, dict) and bool(old) and bool(new)


def _diff_item(old: Any, new: Any, elem: Node | None, path: Path, found: Found) -> None:
    """One list-map item: its own path is present on both sides, its fields are compared."""
    if old == new and type(old) is type(new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            child = elem.child(key) if elem is not None else None
            _diff(old.get(key, _ABSENT), new.get(key, _ABSENT), child, (*path, "f:" + key), found)
        return
    _compare(_flat_item(old, elem, path), _flat_item(new, elem, path), found)


def _flat(value: Any, node: Node | None, prefix: Path) -> dict[Path, Any]:
    out: dict[Path, Any] = {}
    if value is not _ABSENT:
        _walk(value, node, prefix, out, True)
    return out


def _flat_item(item: Any, elem: Node | None, path: Path) -> dict[Path, Any]:
    """A list-map item as ``flatten`` lists it: the item path, then its fields."""
    if item is _ABSENT:
        return {}
    out: dict[Path, Any] = {path: PRESENT}
    if isinstance(item, dict):
        for key, sub in item.items():
            child = elem.child(key) if elem is not None else None
            _walk(sub, child, (*path, "f:" + key), out, True)
    return out


def _compare(before: dict[Path, Any], after: dict[Path, Any], found: Found) -> None:
    more, gone = changed_paths(before, after)
    found[0].update(more)
    found[1].update(gone)


def changed_paths(old: dict[Path, Any], new: dict[Path, Any]) -> tuple[set[Path], set[Path]]:
    """(added or modified, removed) between two flattened objects."""
    modified = {p for p, v in new.items() if p not in old or _differs(old[p], v)}
    removed = {p for p in old if p not in new}
    return modified, removed


def _differs(a: Any, b: Any) -> bool:
    if a is PRESENT or b is PRESENT:
        return a is not b
    return bool(a != b)


def to_fields_v1(paths: set[Path]) -> Obj:
    """The ``fieldsV1`` JSON of a set of paths."""
    trie: Obj = {}
    for path in paths:
        node = trie
        for part in path:
            node = node.setdefault(part, {})
        node["."] = True
    return _render(trie)


def _render(trie: Obj) -> Obj:
    children = {k: v for k, v in trie.items() if k != "."}
    out: Obj = {".": {}} if children and trie.get(".") else {}
    for key in sorted(children):
        out[key] = _render(children[key])
    return out


def from_fields_v1(fields: Any, prefix: Path = ()) -> set[Path]:
    """The set of paths a ``fieldsV1`` JSON names."""
    out: set[Path] = set()
    if not isinstance(fields, dict):
        return out
    for key, child in fields.items():
        if key == ".":
            out.add(prefix)
        elif isinstance(child, dict) and child:
            out |= from_fields_v1(child, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def path_string(path: Path) -> str:
    """``.spec.template.spec.containers[name="web"].image`` as conflict messages print it."""
    out = ""
    for element in path:
        kind, text = element[0], element[2:]
        if kind == "f":
            out += "." + text
        elif kind == "k":
            keys = json.loads(text)
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        elif kind == "v":
            out += f"[={text}]"
        else:
            out += f"[{text}]"
    return out
