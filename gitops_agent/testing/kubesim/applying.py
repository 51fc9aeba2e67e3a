"""An apply request's body, checked in the order the API server checks it.

``read_config(rt, name, raw)`` parses the YAML or JSON of an apply patch and refuses what
``k8s.io/apimachinery/pkg/util/managedfields`` refuses before merging: a body of another kind
or version (400 ``invalid object type: <gvk>``, from ``versionCheckManager``), a body carrying
``metadata.managedFields`` (400), and a body structured-merge-diff cannot type (500 ``failed
to create typed patch object``: unknown fields whatever ``fieldValidation`` says, wrong types,
list-map items without keys or with duplicate keys; ``structuredMergeManager.Apply``). It
returns the configuration, its field set and the strict YAML decoder's complaint, which the
server only reports after merging. Called by ``objects.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import bodies, errors, typed
from gitops_agent.testing.kubesim.fieldsets import Path
from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.schema import Node, shared

Obj = dict[str, Any]


@dataclass(frozen=True)
class Config:
    """A checked apply configuration."""

    obj: Obj
    paths: set[Path]
    strict_yaml: str
    node: Node


def gvk_string(api_version: Any, kind: Any) -> str:
    """``apps/v1, Kind=Deployment`` as ``schema.GroupVersionKind`` prints itself."""
    text = api_version if isinstance(api_version, str) else ""
    parts = text.split("/")
    group, version = ("", text) if len(parts) == 1 else (parts[0], parts[1])
    if len(parts) > 2:
        group, version = "", ""
    return f"{group}/{version}, Kind={kind if isinstance(kind, str) else ''}"


def read_config(rt: ResourceType, raw: bytes) -> Config:
    """The configuration of an apply patch; raises the API server's refusals."""
    value, strict_yaml = bodies.parse_apply(raw)
    if not isinstance(value, dict):
        kind = "array" if isinstance(value, list) else type(value).__name__
        raise errors.bad_request(
            "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: "
            f"cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )
    gvk = gvk_string(value.get("apiVersion"), value.get("kind"))
    if gvk != gvk_string(rt.api_version, rt.kind):
        raise errors.bad_request(f"invalid object type: {gvk}")
    meta = value.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("managedFields"), list):
        raise errors.bad_request("metadata.managedFields must be nil")
    node = shared().root(rt.group, rt.version, rt.kind)
    found = typed.apply_findings(node, value)
    if found.errors:
        meta = meta if isinstance(meta, dict) else {}
        where = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; {gvk}"
        raise errors.ApiError(
            500,
            "",
            f"failed to create typed patch object ({where}): {typed.smd_message(found.errors)}",
        )
    return Config(value, found.paths, strict_yaml, node)
