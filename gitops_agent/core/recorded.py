"""The manifest annotation: a resource's DataOS manifest recorded on its primary object.

Written by the targets when they render (a Worker's workload, a Workflow's Jobs or CronJob
carry it) and read by ``get -d``, so that the manifest as applied travels with the objects
and an update of a resource is one write. Too large a manifest is left out (the annotation
budget of an object is 256 KiB).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gitops_agent.core import labels

MAX_MANIFEST_ANNOTATION = 128 * 1024


def with_manifest(body: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with the manifest annotation (left out when it would not fit an annotation)."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    if len(text) > MAX_MANIFEST_ANNOTATION:
        return dict(body)
    metadata = dict(body.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), labels.MANIFEST: text}
    return {**body, "metadata": metadata}


def manifest_of(objects: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The manifest recorded on a resource's primary object, if any."""
    for obj in objects:
        text = labels.annotations_of(obj).get(labels.MANIFEST)
        if text:
            try:
                found = json.loads(text)
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    return None
