"""An apply request's body, checked in the order the API server checks it.

``read_config(rt, name, raw)`` parses the YAML or JSON of an apply patch and refuses what
``k8s.io/apimachinery/pkg/util/managedfields`` refuses before merging: a body of another kind
or version (400 ``invalid object type: <gvk>``, from ``versionCheckManager``), a body carrying
``metadata.managedFields`` (400), and a body structured-merge-diff cannot type (500 ``failed
to create typed patch object``: unknown fields whatever ``fieldValidation`` says, wrong types,
list-map items without keys or with duplicate keys; ``structuredMergeManager.Apply``). It
returns the configuration, its field set and the strict YAML decoder's complaint, which the
server only reports after merging. ``merge`` runs structured-merge-diff's apply on the live
object (``apply.py``) and ``strict_yaml`` turns that complaint into a 400 or warnings.
Called by ``objects.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import apply, bodies, defaults, errors, typed
from gitops_agent.testing.kubesim.fieldsets import Path
from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.schema import Node, shared
from gitops_agent.testing.kubesim.validation import FieldValidation

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


def missing_field_manager() -> errors.ApiError:
    """``ValidatePatchOptions``: an apply patch names its field manager."""
    return errors.ApiError(
        422,
        "Invalid",
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
        "for apply patch",
        {"group": "meta.k8s.io", "kind": "PatchOptions"},
        [
            errors.Cause(
                "FieldValueRequired", "Required value: is required for apply patch", "fieldManager"
            )
        ],
    )


def merge(
    rt: ResourceType,
    old: Obj | None,
    config: Config,
    *,
    manager: str,
    force: bool,
    subresource: str,
    now: str,
) -> tuple[Obj, list[Obj]]:
    """The merged object and its managedFields; 409 ``uid mismatch`` for a uid sent to create."""
    found = config.obj.get("metadata")
    meta: Obj = found if isinstance(found, dict) else {}
    if old is None and meta.get("uid"):
        raise errors.conflict(
            rt,
            str(meta.get("name") or ""),
            f"uid mismatch: the provided object specified uid {meta['uid']}, "
            "and no existing object was found",
        )
    has_status = "status" in rt.subresources
    return apply.server_side_apply(
        old,
        defaults.canonicalize(deep_copy(config.obj), config.node),
        config.node,
        applied=apply.applied_set(config.paths, subresource=subresource, has_status=has_status),
        manager=manager,
        force=force,
        api_version=rt.api_version,
        now=now,
        subresource=subresource,
        has_status=has_status,
    )


def strict_yaml(complaint: str, mode: FieldValidation) -> list[str]:
    """What the strict YAML decoder's complaint about an apply body becomes."""
    if not complaint or mode is FieldValidation.IGNORE:
        return []
    if mode is FieldValidation.STRICT:
        raise errors.bad_request(f"error strict decoding YAML: {complaint}")
    return bodies.strict_yaml_warnings(complaint)
