"""Object metadata: the owner labels, the annotations and the content hash (DESIGN §4.3).

Called by the renderers: ``stamp`` gives a resource's labels and where it came from, and
``Stamp.object`` turns a kind, a name and the object's fields into a finished
``KubeObject`` whose ``content-hash`` annotation covers everything but the revision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gitops_agent.core import labels
from gitops_agent.core.kinds import Kind, ObjectKey
from gitops_agent.core.manifests import ResourceId, Worker, Workflow
from gitops_agent.core.rendering.objects import KubeObject


def canonical_json(data: Any) -> str:
    """The one JSON text of ``data``: sorted keys, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(data: Any) -> str:
    """The SHA-256 of ``data``'s canonical JSON, in hex."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def selector(rid: ResourceId, *, step: str | None = None) -> dict[str, str]:
    """The labels that select a resource's pods (never changed once written)."""
    found = {labels.RESOURCE_TYPE: rid.type.value, labels.RESOURCE_NAME: rid.name}
    if step is not None:
        found[labels.STEP] = step
    return found


@dataclass(frozen=True, slots=True)
class Stamp:
    """What every object of one resource (or one step) carries."""

    namespace: str
    labels: Mapping[str, str]
    source_file: str
    revision: str

    @property
    def pod_labels(self) -> dict[str, str]:
        """The labels of pod templates and claim templates: all but ``bundle``. Templates are
        immutable in Jobs and StatefulSet claims, and a change would restart Worker pods, so
        moving a resource into or out of a Bundle must not touch them."""
        return {key: value for key, value in self.labels.items() if key != labels.BUNDLE}

    def for_step(self, step: str) -> Stamp:
        """This stamp with the ``step`` label of a Workflow step."""
        return replace(self, labels={**self.labels, labels.STEP: step})

    def object(
        self,
        kind: Kind,
        name: str,
        fields: Mapping[str, Any],
        *,
        annotations: Mapping[str, str] | None = None,
    ) -> KubeObject:
        """A finished object: metadata, ``fields`` (spec, data, ...) and the content hash."""
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": self.namespace,
            "labels": dict(self.labels),
            "annotations": {**(annotations or {}), labels.SOURCE_FILE: self.source_file},
        }
        body: dict[str, Any] = {
            "apiVersion": kind.api_version,
            "kind": kind.name,
            "metadata": metadata,
            **fields,
        }
        content_hash = digest(body)
        metadata["annotations"] = {
            **metadata["annotations"],
            labels.REVISION: self.revision,
            labels.CONTENT_HASH: content_hash,
        }
        key = ObjectKey(kind.api_version, kind.name, self.namespace, name)
        return KubeObject(key, body, content_hash)


def stamp(resource: Worker | Workflow, *, owner: str, namespace: str, revision: str) -> Stamp:
    """The stamp of a Worker's or Workflow's objects."""
    rid = resource.id
    found = {
        labels.MANAGED_BY: labels.MANAGER,
        labels.OWNER: owner,
        **selector(rid),
        labels.WORKSPACE: rid.workspace,
    }
    bundle = resource.origin.bundle
    if bundle is not None:
        found[labels.BUNDLE] = bundle.name
    return Stamp(namespace, found, resource.origin.path, revision)


def content_hash_of(body: Mapping[str, Any]) -> str:
    """The content hash of an object body as ``Stamp.object`` computes it (for checks)."""
    metadata = dict(body.get("metadata", {}))
    annotations = {
        key: value
        for key, value in metadata.get("annotations", {}).items()
        if key not in labels.UNHASHED_ANNOTATIONS
    }
    metadata["annotations"] = annotations
    return digest({**body, "metadata": metadata})
