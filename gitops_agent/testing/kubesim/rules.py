"""Semantic validation of written objects: the 422 ``Invalid`` errors and the warnings of the
real server.

``check(rt, obj, old, status_only=...)`` returns the field errors (``Cause``) the API server's
validation reports: object metadata (``ValidateObjectMeta``: the kind's name rule, labels,
annotation keys and total size), each kind's spec (``kindrules.py``, ``podrules.py``) and the
immutable fields of updates; a status write is only checked for its metadata, as the status
strategies do. ``check_update_meta(obj, old)`` is ``ValidateObjectMetaAccessorUpdate``'s part
that the server's stamping would otherwise hide (a changed uid, new finalizers on an object
being deleted); ``warnings`` the warnings of a write. Called by ``objects.py`` after
defaulting; an empty list means valid.
"""

from __future__ import annotations

from typing import Any

from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim import kindrules, podrules
from gitops_agent.testing.kubesim.errors import Cause
from gitops_agent.testing.kubesim.kinds import ResourceType

Obj = dict[str, Any]
_LABEL_NAMED = ("Namespace", "StatefulSet")
# RBAC objects are named by ``path.ValidatePathSegmentName`` (``system:discovery`` is valid)
_PATH_SEGMENT_NAMED = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")


def check(rt: ResourceType, obj: Obj, old: Obj | None, *, status_only: bool = False) -> list[Cause]:
    """All field errors of ``obj``; ``old`` is the stored object on updates."""
    causes = check_meta(rt, obj.get("metadata") or {})
    if status_only:
        return causes
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    checker = kindrules.CHECKS.get(rt.kind)
    if checker is not None:
        causes.extend(checker(obj, spec or {}))
    if old is not None:
        causes.extend(kindrules.update_errors(rt.kind, obj, old))
    return causes


# Parts of an object the server does not validate (``ValidatePodTemplateSpecForStatefulSet``
# leaves the pod spec to the pods the controller creates).
_UNVALIDATED = {"StatefulSet": "spec.template.spec."}


def validated(rt: ResourceType, causes: list[Cause]) -> list[Cause]:
    """``causes`` without those about parts the server does not validate for this kind."""
    skipped = _UNVALIDATED.get(rt.kind)
    if skipped is None:
        return causes
    return [c for c in causes if not c.field.startswith(skipped)]


def check_meta(rt: ResourceType, meta: Obj) -> list[Cause]:
    """``ValidateObjectMeta``: the name (by the kind's rule), labels and annotations."""
    causes: list[Cause] = []
    name = str(meta.get("name") or "")
    if not name:
        causes.append(fe.required("metadata.name", "name or generateName is required"))
    else:
        causes += fe.each("metadata.name", name, name_errors(rt.kind, name))
    causes += podrules.check_labels("metadata.labels", meta.get("labels") or {})
    causes += podrules.check_annotations("metadata.annotations", meta.get("annotations") or {})
    return causes


def name_errors(kind: str, name: str) -> list[str]:
    """The messages of the kind's name rule (``NameIsDNSSubdomain``, ``NameIsDNSLabel``...)."""
    if kind == "Service":
        return fe.is_dns1035_label(name)
    if kind in _PATH_SEGMENT_NAMED:
        return path_segment_errors(name)
    if kind in _LABEL_NAMED:
        return fe.is_dns1123_label(name)
    return fe.is_dns1123_subdomain(name)


def path_segment_errors(name: str) -> list[str]:
    """``path.IsValidPathSegmentName``: not ``.`` or ``..``, no ``/`` nor ``%``."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def check_update_meta(obj: Obj, old: Obj | None) -> list[Cause]:
    """A uid that is not the stored one's; finalizers added while the object is deleted."""
    if old is None:
        return []
    meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
    causes: list[Cause] = []
    uid = meta.get("uid")
    if uid and uid != old_meta.get("uid"):
        causes.append(fe.invalid("metadata.uid", uid, "field is immutable"))
    if old_meta.get("deletionTimestamp"):
        added = sorted(set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
        if added:
            causes.append(
                fe.forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers {fe.go_value(added)}",
                )
            )
    return causes


def warnings(rt: ResourceType, obj: Obj, old: Obj | None) -> list[str]:
    """The pod template warnings of a create, or of an update that changes the spec (the
    strategies' ``WarningsOnCreate`` / ``WarningsOnUpdate``)."""
    if old is not None and obj.get("spec") == old.get("spec"):
        return []
    return kindrules.template_warnings(rt.kind, obj)
