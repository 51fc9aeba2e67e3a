"""The three patch formats: JSON merge patch, JSON patch and strategic merge patch.

Each takes the stored object (never mutated) and returns a new one. The strategic merge
reads list semantics from the schema (``x-kubernetes-patch-merge-key``...), and understands
the ``$patch``, ``$retainKeys``, ``$setElementOrder`` and ``$deleteFromPrimitiveList``
directives kubectl sends. Called by ``objects.py`` (PATCH); server-side apply merges in
``smd.py``.
"""

from __future__ import annotations

import json
import marshal
from typing import Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.schema import Node, Shape

Obj = dict[str, Any]


def deep_copy(value: Any) -> Any:
    """A fast deep copy of JSON data (``marshal`` format 2 shares nothing between copies)."""
    try:
        return marshal.loads(marshal.dumps(value, 2))
    except ValueError:  # not plain JSON data
        return _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return deep_copy(patch)
    result = deep_copy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise errors.bad_request(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: Any, parts: list[str], op: str) -> Any:
    current = doc
    for part in parts:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise errors.ApiError(
                422,
                "Invalid",
                f"the server rejected our request due to an "
                f"error in our request: {op} operation does not apply: doc is "
                f"missing path: /{'/'.join(parts)}",
            )
    return current


def json_patch(target: Obj, operations: Any) -> Obj:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise errors.bad_request(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
        )
    doc = deep_copy(target)
    for op in operations:
        doc = _json_patch_op(doc, op)
    return dict(doc)


def _json_patch_op(doc: Any, op: Obj) -> Any:
    kind = op.get("op")
    parts = _pointer(str(op.get("path", "")))
    if kind == "test":
        if _container(doc, parts, "test") != op.get("value"):
            raise errors.ApiError(
                422,
                "Invalid",
                "the server rejected our request due to an "
                "error in our request: testing value "
                f"/{'/'.join(parts)} failed: test failed",
            )
        return doc
    if kind in ("move", "copy"):
        source = _pointer(str(op.get("from", "")))
        value = deep_copy(_container(doc, source, kind))
        if kind == "move":
            doc = _remove(doc, source)
        return _add(doc, parts, value)
    if kind == "remove":
        return _remove(doc, parts)
    if kind == "replace":
        _container(doc, parts, "replace")
        return _add(_remove(doc, parts), parts, deep_copy(op.get("value")))
    if kind == "add":
        return _add(doc, parts, deep_copy(op.get("value")))
    raise errors.bad_request(f"Unexpected kind: {kind}")


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _container(doc, parts[:-1], "add")
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
        if not 0 <= index <= len(parent):
            raise errors.ApiError(
                422,
                "Invalid",
                "the server rejected our request due to an "
                "error in our request: add operation does not apply: index "
                "out of bounds",
            )
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    parent = _container(doc, parts[:-1], "remove")
    _container(doc, parts, "remove")
    last = parts[-1]
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]
    return doc


def strategic_merge(target: Any, patch: Any, node: Node | None) -> Any:
    """Strategic merge patch of ``patch`` onto ``target`` under schema ``node``."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return _strip_directives(deep_copy(patch))
    if patch.get("$patch") == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if patch.get("$patch") == "delete":
        return None
    result = deep_copy(target)
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            _directive(result, key, value, node)
            continue
        child = node.child(key) if node is not None else None
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and child is not None and child.shape is Shape.LIST:
            result[key] = _merge_list(result.get(key), value, child)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key, {}), value, child)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = deep_copy(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _directive(result: Obj, key: str, value: Any, node: Node | None) -> None:
    if key.startswith("$setElementOrder/"):
        field = key.split("/", 1)[1]
        child = node.child(field) if node is not None else None
        if isinstance(result.get(field), list) and isinstance(value, list):
            result[field] = _reorder(result[field], value, child)
    elif key.startswith("$deleteFromPrimitiveList/"):
        field = key.split("/", 1)[1]
        if isinstance(result.get(field), list) and isinstance(value, list):
            result[field] = [v for v in result[field] if v not in value]


def _reorder(items: list[Any], order: list[Any], node: Node | None) -> list[Any]:
    if node is None or not node.merge_key:
        ranked = [v for v in order if v in items]
        return ranked + [v for v in items if v not in ranked]
    key = node.merge_key
    position = {o.get(key): i for i, o in enumerate(order) if isinstance(o, dict)}
    return sorted(
        items,
        key=lambda item: position.get(
            item.get(key) if isinstance(item, dict) else None, len(position)
        ),
    )


def _merge_list(current: Any, patch: list[Any], node: Node) -> list[Any]:
    if "merge" not in node.patch_strategy:
        return [_strip_directives(deep_copy(v)) for v in patch]
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [
            _strip_directives(deep_copy(v))
            for v in patch
            if not (isinstance(v, dict) and v.get("$patch") == "replace")
        ]
    result = list(deep_copy(current)) if isinstance(current, list) else []
    if not node.merge_key:
        return result + [deep_copy(v) for v in patch if v not in result]
    key = node.merge_key
    for item in patch:
        if not isinstance(item, dict):
            continue
        index = next(
            (
                i
                for i, v in enumerate(result)
                if isinstance(v, dict) and v.get(key) == item.get(key)
            ),
            -1,
        )
        if item.get("$patch") == "delete":
            if index >= 0:
                del result[index]
        elif index >= 0:
            result[index] = strategic_merge(result[index], item, node.elem)
        else:
            result.append(_strip_directives(deep_copy(item)))
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def parse_json(body: bytes) -> Any:
    """A request body as JSON; 400 with the decoder's message when it is not."""
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
