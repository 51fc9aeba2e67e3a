"""What the API server's decoders find in a body, walking the compiled schema once.

``decode_findings(node, obj, old=...)`` is the JSON decoder's view of an object written by
create, update or patch: unknown fields (strict decoding errors, in document order), the first
wrong JSON type (``json: cannot unmarshal ...``) and the fields the schema requires. Subtrees equal to the stored object's are not walked again: they
were checked when they were written. ``apply_findings(node, config)`` is structured-merge-diff's
view of an apply configuration (``sigs.k8s.io/structured-merge-diff/v4/typed``,
``validate.go`` and ``tofieldset.go``): its errors (``field not declared in schema``, wrong
scalar types, list-map items without keys or with duplicate keys) and the configuration's
field set. Called by ``validation.py`` and ``objects.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.testing.kubesim.fieldsets import Path, item_key, set_element
from gitops_agent.testing.kubesim.schema import Node, Shape

Obj = dict[str, Any]
JsonPath = tuple[str | int, ...]
_CONTAINERS = (Shape.STRUCT, Shape.MAP)


def json_kind(value: Any) -> str:
    """The JSON type Go's decoder names: string, number, bool, object, array."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", dict: "object", list: "array"}
    return names.get(type(value), "null")


def field_path(path: JsonPath) -> str:
    """``spec.template.spec.containers[0].image`` from a JSON path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


@dataclass
class DecodeFindings:
    """What the decoder found: strict errors, unknown fields to drop, a type error, required."""

    strict: list[str] = field(default_factory=list)
    unknown: list[tuple[JsonPath, str]] = field(default_factory=list)
    type_error: str = ""
    required: list[str] = field(default_factory=list)


class _Decoder:
    def __init__(self, *, integral_floats: bool) -> None:
        self.integral_floats = integral_floats
        self.found = DecodeFindings()

    def walk(self, value: Any, node: Node | None, old: Any, path: JsonPath, owner: Node) -> None:
        if value is None or node is None or (old is not None and value == old):
            return
        shape = node.shape
        if shape in _CONTAINERS and isinstance(value, dict):
            inner = node if shape is Shape.STRUCT else owner
            self._map(value, node, old if isinstance(old, dict) else None, path, inner)
        elif shape is Shape.LIST and isinstance(value, list):
            stored = old if isinstance(old, list) else []
            for i, item in enumerate(value):
                before = stored[i] if i < len(stored) else None
                self.walk(item, node.elem, before, (*path, i), owner)
        elif not _fits(value, node, integral_floats=self.integral_floats):
            self._type_error(value, node, path, owner)

    def _map(self, value: Obj, node: Node, old: Obj | None, path: JsonPath, owner: Node) -> None:
        for key, item in value.items():
            child = node.child(key)
            if child is None and node.shape is Shape.STRUCT:
                self.found.unknown.append((path, key))
                self.found.strict.append(f'unknown field "{field_path((*path, key))}"')
                continue
            before = old.get(key) if old is not None else None
            self.walk(item, child, before, (*path, key), owner)
        for name in node.required:
            if name not in value:
                self.found.required.append(field_path((*path, name)))

    def _type_error(self, value: Any, node: Node, path: JsonPath, owner: Node) -> None:
        if self.found.type_error:
            return
        kind = json_kind(value)
        if kind == "number" and node.scalar_type == "integer" and isinstance(value, float):
            kind = f"number {json.dumps(value)}"
        where = ".".join(p for p in path if isinstance(p, str))
        self.found.type_error = (
            f"json: cannot unmarshal {kind} into Go struct field "
            f"{owner.struct_name}.{where} of type {node.go_type}"
        )


def _fits(value: Any, node: Node, *, integral_floats: bool) -> bool:
    """True when a JSON value decodes into a field of this node's type (JSON decoding refuses
    ``1.0`` for an integer; the converter of applied objects takes it)."""
    shape = node.shape
    if shape is Shape.ANY:
        return True
    if shape in _CONTAINERS:
        return isinstance(value, dict)
    if shape is Shape.LIST:
        return isinstance(value, list)
    if shape is Shape.QUANTITY:
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if shape is Shape.INT_OR_STRING:
        return isinstance(value, str | int) and not isinstance(value, bool)
    wanted = node.scalar_type
    if wanted == "boolean":
        return isinstance(value, bool)
    if wanted in ("integer", "number") and isinstance(value, bool):
        return False
    if wanted == "integer":
        integral = integral_floats and isinstance(value, float) and value.is_integer()
        return isinstance(value, int) or integral
    if wanted == "number":
        return isinstance(value, int | float)
    return isinstance(value, str) if wanted == "string" else True


def decode_findings(
    node: Node,
    obj: Obj,
    *,
    old: Obj | None = None,
    integral_floats: bool = False,
) -> DecodeFindings:
    """The decoder's findings in ``obj`` (of the kind whose schema is ``node``)."""
    decoder = _Decoder(integral_floats=integral_floats)
    decoder.walk(obj, node, old, (), node)
    return decoder.found


@dataclass
class ApplyFindings:
    """An apply configuration's structured-merge-diff errors and field set."""

    errors: list[str] = field(default_factory=list)
    paths: set[Path] = field(default_factory=set)


def smd_element(element: str) -> str:
    """A field-set path element as structured-merge-diff prints it (``.spec``, ``[name="a"]``)."""
    kind, text = element[0], element[2:]
    if kind == "f":
        return "." + text
    if kind == "k":
        keys = json.loads(text)
        return "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(keys.items())) + "]"
    if kind == "v":
        return f"[={text}]"
    return f"[{text}]"


def go_map(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_map(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_map(v) for v in value) + "]"
    return "<nil>" if value is None else str(value)


def _go_type(value: Any) -> str:
    """Go's ``%T`` of a decoded JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    names = {float: "float64", str: "string", dict: "map[string]interface {}"}
    return names.get(type(value), "[]interface {}")


class _ApplyChecker:
    def __init__(self) -> None:
        self.found = ApplyFindings()

    def error(self, where: str, message: str) -> None:
        self.found.errors.append(f"{where}: {message}" if where else message)

    def walk(self, value: Any, node: Node | None, path: Path, where: str) -> None:
        shape = node.shape if node is not None else Shape.ANY
        if value is None:
            return
        if node is None or shape is Shape.ANY:
            self._untyped(value, path, where)
        elif shape in _CONTAINERS:
            self._map(value, node, path, where)
        elif shape is Shape.LIST:
            self._list(value, node, path, where)
        else:
            self._scalar(value, node, path, where)

    def _scalar(self, value: Any, node: Node, path: Path, where: str) -> None:
        wanted = node.scalar_type if node.shape is Shape.SCALAR else ""
        if isinstance(value, dict | list) and not wanted:
            self.error(where, f"expected any scalar, got &{{{go_map(value)}}}")
        elif wanted in ("integer", "number") and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            self.error(where, f"expected numeric (int or float), got {_go_type(value)}")
        elif wanted == "string" and not isinstance(value, str):
            self.error(where, f"expected string, got &value.valueUnstructured{{Value:{value!r}}}")
        elif wanted == "boolean" and not isinstance(value, bool):
            self.error(where, f"expected boolean, got &{{{go_map(value)}}}")
        if path:
            self.found.paths.add(path)

    def _untyped(self, value: Any, path: Path, where: str) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                self.found.paths.add((*path, "f:" + key))
                self._untyped(item, (*path, "f:" + key), f"{where}.{key}")
        elif path:
            self.found.paths.add(path)

    def _map(self, value: Any, node: Node, path: Path, where: str) -> None:
        if not isinstance(value, dict):
            self.error(where, f"expected map, got &{{{go_map(value)}}}")
            return
        if node.atomic:
            if path:
                self.found.paths.add(path)
            return
        for key, item in value.items():
            child = node.child(key)
            if child is None and node.shape is Shape.STRUCT:
                self.error(f"{where}.{key}", "field not declared in schema")
                return
            inner = (*path, "f:" + key)
            self.walk(item, child, inner, f"{where}.{key}")
            if item is None or item == {} or node.shape is Shape.MAP:
                self.found.paths.add(inner)

    def _list(self, value: Any, node: Node, path: Path, where: str) -> None:
        if not isinstance(value, list):
            self.error(where, f"expected list, got &{{{go_map(value)}}}")
            return
        if node.list_type not in ("map", "set"):
            items = _ApplyChecker()
            for i, item in enumerate(value):
                items.walk(item, node.elem, (), f"{where}[{i}]")
            self.found.errors.extend(items.found.errors)
            if path:
                self.found.paths.add(path)
            return
        seen: set[str] = set()
        for i, item in enumerate(value):
            element = self._element(i, item, node, where)
            if element is None:
                return
            if element in seen:
                self.error(where, f"duplicate entries for key {smd_element(element)}")
            seen.add(element)
            inner = (*path, element)
            if node.list_type == "map":
                self.walk(item, node.elem, inner, where + smd_element(element))
            self.found.paths.add(inner)

    def _element(self, i: int, item: Any, node: Node, where: str) -> str | None:
        if node.list_type == "set":
            if isinstance(item, dict | list) or item is None:
                kinds: dict[type, str] = {dict: "that's a map type", list: "that's a list"}
                what = kinds.get(type(item))
                self.error(
                    where,
                    f"element {i}: associative list without keys has an element "
                    f"{what or 'that is an explicit null'}",
                )
                return None
            return set_element(item)
        if not isinstance(item, dict):
            kind = "a null element" if item is None else "non-map elements"
            self.error(where, f"element {i}: associative list with keys may not have {kind}")
            return None
        element = item_key(item, node)
        if element == "k:{}":
            keys = "[" + " ".join(json.dumps(k) for k in node.list_keys) + "]"
            self.error(
                where,
                f"element {i}: associative list with keys has an element that omits all key "
                f"fields {keys} (and doesn't have default values for any key fields)",
            )
            return None
        return element


def apply_findings(node: Node, config: Obj) -> ApplyFindings:
    """structured-merge-diff's errors and field set of an apply configuration."""
    checker = _ApplyChecker()
    checker.walk(config, node, (), "")
    return checker.found


def smd_message(errors: list[str]) -> str:
    """``ValidationErrors.Error()``: one error as it is, several under ``errors:``."""
    if len(errors) == 1:
        return errors[0]
    return "\n  ".join(["errors:", *errors])
