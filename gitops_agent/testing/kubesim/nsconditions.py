"""The status conditions of a namespace being deleted, as the namespace controller keeps them
(``pkg/controller/namespace/deletion/status_condition_utils.go``).

``conditions(previous, remaining, now)`` gives the five condition types, each either its "ok"
variant (status False) or, for content still there, ``NamespaceContentRemaining`` /
``NamespaceFinalizersRemaining`` True with the counts per resource and per finalizer. A
condition keeps its transition time while its status holds. Called by ``deletion.py``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from gitops_agent.testing.kubesim.kinds import ResourceType

Obj = dict[str, Any]
_OK = {
    "NamespaceDeletionDiscoveryFailure": (
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    "NamespaceDeletionGroupVersionParsingFailure": (
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    "NamespaceDeletionContentFailure": (
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": (
        "ContentHasNoFinalizers",
        "All content-preserving finalizers finished",
    ),
}


def _remaining(remaining: list[tuple[ResourceType, Obj]]) -> dict[str, tuple[str, str]]:
    """The True conditions of ``ProcessContentTotals``."""
    out: dict[str, tuple[str, str]] = {}
    by_resource = Counter(f"{rt.plural}.{rt.group}" for rt, _ in remaining)
    if by_resource:
        listed = sorted(
            f"{name} has {count} resource instances" for name, count in by_resource.items()
        )
        out["NamespaceContentRemaining"] = (
            "SomeResourcesRemain",
            f"Some resources are remaining: {', '.join(listed)}",
        )
    finalizers = Counter(f for _, obj in remaining for f in obj["metadata"].get("finalizers") or [])
    if finalizers:
        listed = sorted(
            f"{name} in {count} resource instances" for name, count in finalizers.items()
        )
        out["NamespaceFinalizersRemaining"] = (
            "SomeFinalizersRemain",
            f"Some content in the namespace has finalizers remaining: {', '.join(listed)}",
        )
    return out


def conditions(
    previous: list[Obj], remaining: list[tuple[ResourceType, Obj]], now: str
) -> list[Obj]:
    """``updateConditions``: every condition type, in order, the old ones updated in place."""
    failing = _remaining(remaining)
    out = [dict(c) for c in previous]
    for kind, (ok_reason, ok_message) in _OK.items():
        status, (reason, message) = (
            ("True", failing[kind]) if kind in failing else ("False", (ok_reason, ok_message))
        )
        old = next((c for c in out if c.get("type") == kind), None)
        if old is None:
            out.append(
                {
                    "type": kind,
                    "status": status,
                    "lastTransitionTime": now,
                    "reason": reason,
                    "message": message,
                }
            )
        elif (old.get("status"), old.get("reason"), old.get("message")) != (
            status,
            reason,
            message,
        ):
            if old.get("status") != status:
                old["lastTransitionTime"] = now
            old.update(status=status, reason=reason, message=message)
    return out
