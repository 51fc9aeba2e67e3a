"""Objects a target holds: their identity (``ObjectKey``) and label/annotation access.

Used by planning, diffing, inventory and the targets. An object is a plain mapping shaped
like a Kubernetes object (``apiVersion``, ``kind``, ``metadata``); the local target's
process groups have the same shape. Identity has no version (Argo CD and Flux agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The kinds the agent writes, in apply order: what an object mounts comes first.
KIND_ORDER = (
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Service",
    "StatefulSet",
    "Deployment",
    "Job",
    "CronJob",
)


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """``apiVersion``, ``kind``, ``namespace`` and ``name`` of an object. The agent writes
    one version of each kind, so the API version stands in for the group."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    @property
    def rank(self) -> int:
        """The position of this object's kind in apply order."""
        return KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)

    def encode(self) -> str:
        """A compact form for inventories: ``apiVersion|kind|namespace|name``."""
        return "|".join((self.api_version, self.kind, self.namespace, self.name))

    @classmethod
    def decode(cls, text: str) -> ObjectKey:
        api_version, kind, namespace, name = text.split("|")
        return cls(api_version, kind, namespace, name)


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    """The identity of an object."""
    metadata = obj.get("metadata") or {}
    return ObjectKey(
        str(obj.get("apiVersion", "")),
        str(obj.get("kind", "")),
        str(metadata.get("namespace", "")),
        str(metadata.get("name", "")),
    )


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}
