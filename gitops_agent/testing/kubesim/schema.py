"""The OpenAPI structure of the served kinds, read from kubernetes-validate's strict schemas.

``Schemas`` loads the Kubernetes 1.32 definitions that ship with kubernetes-validate once and
compiles them lazily into ``Node`` trees (struct, map, list, quantity...) carrying the types,
required fields, patch and list-merge extensions; each node is compiled once per process and
shared by every request. Callers: ``typed.py`` (decoding and apply checks), ``defaults.py``
(quantities), ``patching.py`` (strategic merge), ``smd.py`` and ``fieldsets.py`` (server-side
apply) and ``openapi.py``.
"""

from __future__ import annotations

import enum
import functools
import json
from importlib import resources
from typing import Any

Obj = dict[str, Any]
SCHEMA_VERSION = "v1.32.0"
_DEFS_PREFIX = "#/$defs/"


class Shape(enum.Enum):
    """What a schema node holds, as the merge algorithms see it."""

    STRUCT = "struct"
    MAP = "map"
    LIST = "list"
    SCALAR = "scalar"
    QUANTITY = "quantity"
    INT_OR_STRING = "int-or-string"
    ANY = "any"


_SPECIAL = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": Shape.QUANTITY,
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": Shape.INT_OR_STRING,
}


class Node:
    """One compiled schema node; children are compiled on first use."""

    def __init__(self, schemas: Schemas, raw: Obj, ext: Obj, ref: str = "") -> None:
        self._schemas = schemas
        self.raw = raw
        self.ref = ref
        self.patch_strategy: str = ext.get("x-kubernetes-patch-strategy", "")
        self.merge_key: str = ext.get("x-kubernetes-patch-merge-key", "")
        self.list_type: str = ext.get("x-kubernetes-list-type", "atomic")
        self.list_keys: tuple[str, ...] = tuple(ext.get("x-kubernetes-list-map-keys", ()))
        self.atomic: bool = (
            ext.get("x-kubernetes-map-type") == "atomic"
            or raw.get("x-kubernetes-map-type") == "atomic"
        )
        self.required: tuple[str, ...] = tuple(raw.get("required", ()))
        self.shape = self._shape()
        self.scalar_type = self._scalar_type()

    def _shape(self) -> Shape:
        if self.ref in _SPECIAL:
            return _SPECIAL[self.ref]
        types = self.raw.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "array" in types:
            return Shape.LIST
        if "properties" in self.raw:
            return Shape.STRUCT
        if isinstance(self.raw.get("additionalProperties"), dict):
            return Shape.MAP
        if "object" in types or not types:
            return Shape.ANY
        return Shape.SCALAR

    def _scalar_type(self) -> str:
        """``string``, ``integer``, ``number`` or ``boolean`` for scalars, else empty."""
        types = self.raw.get("type", [])
        types = [types] if isinstance(types, str) else types
        found = [t for t in types if t in ("string", "integer", "number", "boolean")]
        return found[0] if self.shape is Shape.SCALAR and found else ""

    @functools.cached_property
    def go_type(self) -> str:
        """The Go type a decoding error names (``int32``, ``v1.PodSpec``, ``[]v1.Container``)."""
        if self.ref:
            if self.shape in (Shape.QUANTITY, Shape.INT_OR_STRING):
                return self.ref.rsplit(".", 2)[-2] + "." + self.ref.rsplit(".", 1)[-1]
            if self.shape is Shape.STRUCT:
                return self.ref.rsplit(".", 2)[-2] + "." + self.ref.rsplit(".", 1)[-1]
        if self.shape is Shape.LIST and self.elem is not None:
            return "[]" + self.elem.go_type
        if self.shape is Shape.MAP and self.elem is not None:
            return "map[string]" + self.elem.go_type
        formats = {"int32": "int32", "int64": "int64", "double": "float64", "byte": "[]uint8"}
        if self.raw.get("format") in formats:
            return formats[str(self.raw["format"])]
        return {"boolean": "bool", "number": "float64", "integer": "int64"}.get(
            self.scalar_type, "string" if self.scalar_type else "interface {}"
        )

    @property
    def struct_name(self) -> str:
        """The Go struct's name without its package (``DeploymentSpec``)."""
        return self.ref.rsplit(".", 1)[-1] if self.ref else ""

    @functools.cached_property
    def fields(self) -> dict[str, Node]:
        props: Obj = self.raw.get("properties", {})
        return {name: self._schemas.compile(prop) for name, prop in props.items()}

    @functools.cached_property
    def elem(self) -> Node | None:
        """Item node of a list, value node of a map."""
        if self.shape is Shape.LIST:
            return self._schemas.compile(self.raw.get("items", {}))
        if self.shape is Shape.MAP:
            return self._schemas.compile(self.raw["additionalProperties"])
        return None

    def child(self, name: str) -> Node | None:
        """The node of field ``name`` of a struct, or the value node of a map."""
        if self.shape is Shape.STRUCT:
            return self.fields.get(name)
        if self.shape is Shape.MAP:
            return self.elem
        return None

    @property
    def is_list_map(self) -> bool:
        return self.shape is Shape.LIST and self.list_type == "map" and bool(self.list_keys)


class Schemas:
    """The definitions of one Kubernetes version, compiled on demand; thread-safe."""

    def __init__(self, version: str = SCHEMA_VERSION) -> None:
        base = resources.files("kubernetes_validate") / "kubernetes-json-schema"
        self._dir = base / f"{version}-local-strict"
        self.definitions: Obj = json.loads((self._dir / "_definitions.json").read_text())
        self.defs: Obj = self.definitions["$defs"]
        self._nodes: dict[int, Node] = {}
        self._roots: dict[str, Node] = {}

    def compile(self, raw: Obj) -> Node:
        """The node of an inline schema (following a ``$ref`` and keeping its extensions)."""
        key = id(raw)
        node = self._nodes.get(key)
        if node is None:
            ref = raw.get("$ref", "")
            name = ref.split(_DEFS_PREFIX, 1)[1] if _DEFS_PREFIX in ref else ""
            target = self.defs[name] if name else raw
            node = Node(self, target, raw, name)
            self._nodes[key] = node
        return node

    def definition_name(self, group: str, version: str, kind: str) -> str:
        """Definition key of a top-level kind, e.g. ``io.k8s.api.apps.v1.Deployment``."""
        prefix = group.split(".", maxsplit=1)[0] if group else "core"
        return f"io.k8s.api.{prefix}.{version}.{kind}"

    def root(self, group: str, version: str, kind: str) -> Node:
        """The node of a whole object of this kind."""
        name = self.definition_name(group, version, kind)
        node = self._roots.get(name)
        if node is None:
            node = Node(self, self.defs[name], {}, name)
            self._roots[name] = node
        return node


@functools.cache
def shared() -> Schemas:
    """The process-wide schema set; loading it takes a fraction of a second once."""
    return Schemas()
