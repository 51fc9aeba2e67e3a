"""OpenAPI v3 documents (``/openapi/v3`` and one per group-version) built from the schemas.

kubectl reads them to learn that the server validates fields (the ``fieldValidation`` query
parameter on PATCH operations) and, for client-side ``apply``, the strategic-merge metadata
(``x-kubernetes-patch-merge-key``...). Each document lists the paths of the served kinds and
the component schemas they reach, converted from the JSON Schema form kubernetes-validate
ships back to OpenAPI 3.0. Built once per process and cached as bytes.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from gitops_agent.testing.kubesim.kinds import GROUP_VERSIONS, RESOURCES, ResourceType
from gitops_agent.testing.kubesim.schema import shared
from gitops_agent.testing.kubesim.store import encode

Obj = dict[str, Any]
_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty")


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@functools.cache
def document(group: str, version: str) -> bytes:
    """The OpenAPI v3 document of one group-version, as JSON bytes."""
    served = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
    schemas = shared()
    names: set[str] = set()
    for rt in served:
        _reach(schemas.definition_name(rt.group, rt.version, rt.kind), schemas.defs, names)
    _reach("io.k8s.apimachinery.pkg.apis.meta.v1.Status", schemas.defs, names)
    components = {name: _convert(schemas.defs[name]) for name in sorted(names)}
    paths: Obj = {}
    for rt in served:
        paths.update(_paths(rt))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": components},
    }
    return encode(doc)


@functools.cache
def index() -> bytes:
    """``/openapi/v3``: the group-versions and where their documents are."""
    paths = {}
    for group, version in GROUP_VERSIONS:
        digest = hashlib.sha512(document(group, version)).hexdigest()[:128].upper()
        path = gv_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return encode({"paths": paths})


def _reach(name: str, defs: Obj, seen: set[str]) -> None:
    if name in seen or name not in defs:
        return
    seen.add(name)
    stack: list[Any] = [defs[name]]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and "#/$defs/" in ref:
                _reach(ref.split("#/$defs/", 1)[1], defs, seen)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _convert(schema: Any) -> Any:
    """JSON Schema (2020-12, nullable types, strict) back to the OpenAPI 3.0 form."""
    if isinstance(schema, list):
        return [_convert(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Obj = {}
    for key, value in schema.items():
        if key == "additionalProperties" and value is False:
            continue
        if key == "type" and isinstance(value, list):
            kinds = [v for v in value if v != "null"]
            out[key] = kinds[0] if kinds else "object"
        elif key == "oneOf":
            out.update(type="string", format="int-or-string") if any(
                "integer" in str(v) for v in value
            ) else out.update(type="string")
        elif key == "$ref":
            continue
        else:
            out[key] = _convert(value)
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = "#/components/schemas/" + ref.split("#/$defs/", 1)[1]
        if len(schema) == 1:
            return {"$ref": target}
        out["allOf"] = [{"$ref": target}]
    return out


def _operation(rt: ResourceType, action: str, *, body: bool) -> Obj:
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    names = _PARAMS + (("force",) if action == "patch" else ())
    op: Obj = {
        "operationId": f"{action}{rt.kind}",
        "parameters": [
            {"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for n in names
        ],
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {
                        "schema": {
                            "$ref": "#/components/schemas/"
                            + shared().definition_name(rt.group, rt.version, rt.kind)
                        }
                    }
                },
            }
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }
    if body:
        media = (
            (
                "application/apply-patch+yaml",
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
            )
            if action == "patch"
            else ("application/json",)
        )
        op["requestBody"] = {
            "content": {m: {"schema": {"type": "object"}} for m in media},
            "required": True,
        }
    return op


def _paths(rt: ResourceType) -> Obj:
    base = "/" + gv_path(rt.group, rt.version)
    scope = f"{base}/namespaces/{{namespace}}" if rt.namespaced else base
    collection = f"{scope}/{rt.plural}"
    item = f"{collection}/{{name}}"
    return {
        collection: {
            "get": _operation(rt, "list", body=False),
            "post": _operation(rt, "post", body=True),
            "delete": _operation(rt, "deletecollection", body=False),
        },
        item: {
            "get": _operation(rt, "get", body=False),
            "put": _operation(rt, "put", body=True),
            "patch": _operation(rt, "patch", body=True),
            "delete": _operation(rt, "delete", body=False),
        },
    }
