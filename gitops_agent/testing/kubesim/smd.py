"""The structured-merge-diff operations server-side apply is built from.

``merge(live, config, node)`` merges an applied configuration into the live object
(``typed/merge.go``: maps by key, associative lists by item key in the order structured-merge-
diff gives them, atomic values replaced); ``compare(old, new, node)`` gives the added, modified
and removed paths of a change (``typed/compare.go``); ``prune_paths`` is what ``merge/update.go``
removes when a manager stops applying fields (what it applied last time, not applied now and
owned by no one else, whole list items included); ``remove_items`` removes paths as
``typed/remove.go`` does (a container emptied by the removal goes too); ``ensure_named`` is
``fieldpath.Set.EnsureNamedFieldsAreMembers``. Called by ``apply.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitops_agent.testing.kubesim.fieldsets import Path, item_key, set_element
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.schema import Node, Shape

Obj = dict[str, Any]
MISSING: Any = object()
_MAPS = (Shape.STRUCT, Shape.MAP)


def _atomic(node: Node | None) -> bool:
    if node is None or node.shape is Shape.ANY:
        return True
    if node.shape is Shape.LIST:
        return node.list_type not in ("map", "set")
    return node.shape not in _MAPS or node.atomic


def _empty(value: Any) -> bool:
    return value is MISSING or value is None or value in ({}, [])


def merge(live: Any, config: Any, node: Node | None) -> Any:
    """``live`` with ``config`` merged in; neither is changed."""
    if config is MISSING:
        return live
    if live is MISSING or _atomic(node) or (_empty(live) and _empty(config)):
        return deep_copy(config)
    assert node is not None
    if node.shape in _MAPS:
        if not isinstance(live, dict) and not isinstance(config, dict):
            return deep_copy(config)
        return _merge_maps(live, config, node)
    if not isinstance(config, list) or not isinstance(live, list):
        return deep_copy(config)
    return _merge_lists(live, config, node)


def _merge_maps(live: Any, config: Any, node: Node) -> Any:
    left = live if isinstance(live, dict) else {}
    right = config if isinstance(config, dict) else {}
    out = {}
    for key in [*left, *(k for k in right if k not in left)]:
        out[key] = merge(left.get(key, MISSING), right.get(key, MISSING), node.child(key))
    return out


def element_of(item: Any, node: Node) -> str:
    """The path element of a list item: ``k:{...}`` in a list map, ``v:...`` in a set."""
    return item_key(item, node) if node.list_type == "map" else set_element(item)


def _merge_lists(live: list[Any], config: list[Any], node: Node) -> list[Any]:
    """The order of ``mergingWalker.visitListItems``: live items stay where they are, items
    both have follow the configuration's order, new items come where the configuration has
    them relative to the shared ones."""
    left = [element_of(i, node) for i in live]
    right = [element_of(i, node) for i in config]
    left_items: dict[str, Any] = {}
    for element, item in zip(left, live, strict=True):
        left_items[element] = None if element in left_items else item
    right_items = dict(zip(right, config, strict=True))
    shared = [e for e in right if e in left_items]
    out: list[Any] = []
    merged: set[str] = set()
    li = ri = 0
    while li < len(left) or ri < len(right):
        if li < len(left) and ri < len(right):
            element = left[li]
            if element == right[ri]:
                merged.add(element)
                out.append(merge(left_items[element], right_items[element], node.elem))
                li, ri = li + 1, ri + 1
                shared = shared[1:] if shared and shared[0] == element else shared
                continue
            if element in right_items and shared and shared[0] != element:
                li += 1
                continue
        if li < len(left):
            element = left[li]
            if element not in right_items:
                out.append(live[li])
                li += 1
                continue
            if element in merged:
                li += 1
        if ri < len(right):
            element = right[ri]
            merged.add(element)
            out.append(merge(left_items.get(element, MISSING), right_items[element], node.elem))
            ri += 1
            shared = shared[1:] if shared and shared[0] == element else shared
    return out


def compare(old: Any, new: Any, node: Node | None) -> tuple[set[Path], set[Path], set[Path]]:
    """(added, modified, removed) paths from ``old`` to ``new``."""
    found: tuple[set[Path], set[Path], set[Path]] = (set(), set(), set())
    _compare(old, new, node, (), found)
    return found


def _compare(
    old: Any, new: Any, node: Node | None, path: Path, found: tuple[set[Path], ...]
) -> None:
    if old is not MISSING and new is not MISSING and old == new:
        return
    added, modified, removed = found
    if _atomic(node) or (_empty(old) and _empty(new)):
        if old is MISSING:
            added.add(path)
        elif new is MISSING:
            removed.add(path)
        else:
            modified.add(path)
        return
    assert node is not None
    if node.shape in _MAPS:
        left = old if isinstance(old, dict) else {}
        right = new if isinstance(new, dict) else {}
        for key in {*left, *right}:
            inner = (*path, "f:" + key)
            child = node.child(key)
            _compare(left.get(key, MISSING), right.get(key, MISSING), child, inner, found)
    else:
        left_items = _items(old if isinstance(old, list) else [], node)
        right_items = _items(new if isinstance(new, list) else [], node)
        for element in {*left_items, *right_items}:
            before, after = left_items.get(element, MISSING), right_items.get(element, MISSING)
            _compare(before, after, node.elem, (*path, element), found)
    if path and old is MISSING:
        added.add(path)
    elif path and new is MISSING:
        removed.add(path)


def _items(items: list[Any], node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        out.setdefault(element_of(item, node), item)
    return out


def ensure_named(paths: Iterable[Path], node: Node) -> set[Path]:
    """The paths with every named (struct) field on their way made a member too."""
    out = set(paths)
    for path in list(out):
        current: Node | None = node
        for i, element in enumerate(path[:-1]):
            if current is None:
                break
            if element.startswith("f:") and current.shape is Shape.STRUCT:
                out.add(path[: i + 1])
                current = current.fields.get(element[2:])
            else:
                current = current.child(element[2:]) if element.startswith("f:") else current.elem
    return out


def prune_paths(last: set[Path], managed: set[Path], node: Node) -> set[Path]:
    """What ``Updater.prune`` removes: paths applied last time (their named fields included)
    with themselves, or a field on their way, owned by no one now (``managed`` holds every
    manager's fields, the applier's new ones included)."""
    owned = ensure_named(managed, node)
    return {
        path
        for path in ensure_named(last, node)
        if any(path[:i] not in owned for i in range(1, len(path) + 1))
    }


def trie(paths: Iterable[Path]) -> Obj:
    """Nested dicts of path elements; ``"."`` marks a member."""
    root: Obj = {}
    for path in paths:
        current = root
        for element in path:
            current = current.setdefault(element, {})
        current["."] = True
    return root


def remove_items(value: Any, members: Obj, node: Node | None) -> Any:
    """``value`` without the members of the ``trie`` (None when a container empties)."""
    if isinstance(value, dict) and node is not None and node.shape in (*_MAPS, Shape.ANY):
        if node.shape is not Shape.ANY and node.atomic:
            return None
        kept = {}
        for key, item in value.items():
            below = members.get("f:" + key)
            if below is None:
                kept[key] = item
            elif "." not in below:
                child = node.child(key) if node.shape is not Shape.ANY else node
                kept[key] = remove_items(item, below, child)
        if not kept:
            return None
        return {k: v for k, v in kept.items() if v is not None}
    if isinstance(value, list) and node is not None and not _atomic(node):
        out = []
        for item in value:
            below = members.get(element_of(item, node))
            if below is None:
                out.append(item)
            elif "." not in below:
                reduced = remove_items(item, below, node.elem)
                if reduced is not None:
                    out.append(reduced)
        return out or None
    return None if isinstance(value, dict | list) else value
