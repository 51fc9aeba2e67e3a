"""What to tell a person about a write: the fix for answers of a target that have a known
one, and who else still owns fields of an adopted object.

Pure text functions, called by ``engine.apply`` when a write fails or adopts. The answers
matched are the API server's own messages (their wording is stable across releases).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitops_agent.core import labels

ADOPT = (
    "it cannot be taken over in place (a field the API server keeps immutable differs): "
    "delete it, then apply again to let the agent create its own"
)

#: (a fragment of the server's message, what to do about it), the first match wins.
KNOWN_ANSWERS: tuple[tuple[str, str], ...] = (
    (
        "updates to statefulset spec for fields other than",
        "a StatefulSet's claim templates and selector cannot change in place: delete it with "
        "kubectl delete statefulset NAME --cascade=orphan (its pods and claims stay), then "
        "apply again",
    ),
    (
        "can not be less than",
        "a volume claim cannot shrink: restore the size, or give the disk a new claim",
    ),
    (
        "must support resize",
        "the claim's storage class does not allow expansion: use a class that does "
        "(target.storageClass), or keep the size",
    ),
    (
        "field is immutable",
        "the object cannot be changed in place: delete it, then apply again to create it anew",
    ),
)


def for_failure(message: str, *, adopting: bool) -> str:
    """``"; <what to do>"`` for a failed write whose fix is known, else ``""``."""
    if adopting and "immutable" in message:
        return f"; {ADOPT}"
    for fragment, fix in KNOWN_ANSWERS:
        if fragment in message:
            return f"; {fix}"
    return ""


def leftovers(written: Mapping[str, Any]) -> str:
    """Who else still owns fields of an adopted object: its fields outside the manifest stay
    as they were set (a takeover never deletes what it does not understand)."""
    others = [
        f"{entry.get('manager')} ({entry.get('operation')})"
        for entry in (written.get("metadata") or {}).get("managedFields") or []
        if entry.get("manager") != labels.FIELD_MANAGER and not entry.get("subresource")
    ]
    if not others:
        return ""
    return (
        f"; fields outside its manifest stay as {', '.join(others)} set them "
        "(remove them by hand if they are not wanted)"
    )
