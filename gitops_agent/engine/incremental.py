"""Incremental cycles: what the agent keeps from one revision to the next.

Held by the agent loop (``service.agent``) across its cycles and handed to
``engine.desired.evaluate`` (``memos``) and ``engine.reconcile`` (``cache``). A new revision
then reads again only the files whose content changed: their documents, resources and
findings, the keys of their objects, the objects a target renders for them (with the
manifest stamped on), and the changes of their objects against live ones are the ones
found last time (``core.memo``). The rules over the whole repository (unique identities,
bundle graphs, objects two resources would share) still run over every resource, and
every cycle plans against what the target holds now. Results are kept under one
configuration and one agent version: when either changes, everything is forgotten. Each
memory holds at most ``limit`` entries and, after each cycle, only what that cycle used.

Kept rendered objects carry the revision they were rendered at; each cycle's copy carries
its own (``with_revision``). A Bundle (it reads other files) and a scheduled Workflow with an
end (its rendering depends on the time) are rendered again every cycle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from gitops_agent import __version__
from gitops_agent.core import labels, loading, validation
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.manifests import Bundle, Resource, Workflow, flatten
from gitops_agent.core.memo import ByIdentity, Memo
from gitops_agent.core.planning import DiffMemo
from gitops_agent.core.rendering.objects import TargetObjects
from gitops_agent.core.tree import SourceTree
from gitops_agent.core.violations import Finding
from gitops_agent.engine.desired import with_manifest
from gitops_agent.engine.ports import Target

#: A target as the kept renderings know it: its kind and owner.
TargetIdentity = tuple[str, str]


class CycleCache:
    """What one agent keeps between its cycles (see the module docstring)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.key = ""
        self.files: Memo[loading.FileKey, loading.FileEntry] = Memo(limit)
        self.built: Memo[tuple[loading.FileKey, int], loading.BuiltEntry] = Memo(limit)
        self.findings: ByIdentity[Resource, list[Finding]] = ByIdentity(limit)
        self.keys: ByIdentity[Resource, validation.Rendering] = ByIdentity(limit)
        self.rendered: ByIdentity[Resource, tuple[TargetIdentity, tuple[TargetObjects, ...]]]
        self.rendered = ByIdentity(limit)
        self.diffs: DiffMemo = Memo(limit * 4)
        #: The tree the previous cycle read (its texts are reused for unchanged blobs).
        self.tree: SourceTree | None = None

    def _memories(self) -> list[Memo[Any, Any] | ByIdentity[Any, Any]]:
        return [self.files, self.built, self.findings, self.keys, self.rendered, self.diffs]

    def begin(self, config: AgentConfig) -> None:
        """Start a cycle under ``config``: a different configuration (or agent version) than
        the previous cycle's forgets everything."""
        key = configuration_key(config)
        if key != self.key:
            for memory in self._memories():
                memory.clear()
            self.key = key

    def end(self) -> None:
        """End a cycle: forget what it did not use."""
        for memory in self._memories():
            memory.sweep()

    def memos(self) -> tuple[loading.LoadMemo, validation.ValidationMemo]:
        """The memories of loading and validation, for ``engine.desired.evaluate``."""
        return (
            loading.LoadMemo(self.files, self.built),
            validation.ValidationMemo(self.findings, self.keys),
        )

    def render(
        self, target: Target, resources: Sequence[Resource], *, revision: str
    ) -> list[TargetObjects]:
        """What ``target`` renders of ``resources`` at ``revision``, each resource's objects
        with its manifest on its primary objects (``engine.desired.with_manifest``), in the
        order of resource ids; rendered again only for resources not met before."""
        identity = (target.kind, target.owner)
        reused: list[TargetObjects] = []
        fresh: list[Resource] = []
        for resource in resources:
            found = self.rendered.get(resource)
            if found is not None and found[0] == identity:
                reused.extend(with_revision(item, revision) for item in found[1])
            else:
                fresh.append(resource)
        rendered = target.render(fresh, revision=revision) if fresh else ()
        manifests = {r.id: r.manifest for r in flatten(fresh)}
        recorded = {item.id: with_manifest(item, manifests[item.id]) for item in rendered}
        for resource in fresh:
            if _keepable(resource):
                items = tuple(recorded[r.id] for r in flatten([resource]) if r.id in recorded)
                self.rendered.put(resource, (identity, items))
        return sorted([*reused, *recorded.values()], key=lambda item: item.id)


def _keepable(resource: Resource) -> bool:
    """False for what must be rendered every cycle: a Bundle, a scheduled Workflow with an
    end (suspended once the time passes it)."""
    if isinstance(resource, Bundle):
        return False
    return not (
        isinstance(resource, Workflow)
        and resource.schedule is not None
        and resource.schedule.end_on is not None
    )


def with_revision(item: TargetObjects, revision: str) -> TargetObjects:
    """A resource's objects with ``revision`` in their revision annotation."""
    return dataclasses.replace(item, objects=tuple(_restamped(o, revision) for o in item.objects))


def _restamped(obj: Mapping[str, Any], revision: str) -> Mapping[str, Any]:
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    if labels.REVISION not in annotations or annotations[labels.REVISION] == revision:
        return obj
    stamped = {**annotations, labels.REVISION: revision}
    return {**obj, "metadata": {**metadata, "annotations": stamped}}


def configuration_key(config: AgentConfig) -> str:
    """A digest of the configuration and the agent's version: what every kept result
    depends on besides the files."""
    text = json.dumps(
        [__version__, dataclasses.asdict(config)], sort_keys=True, default=repr, ensure_ascii=True
    )
    return hashlib.sha256(text.encode()).hexdigest()
