"""Desired state of one revision: validated as a whole, then assembled once for a target.

``evaluate(tree, roots, config)`` loads and validates the manifests of a source tree (files
already read by a source) under a configuration value; nothing may be applied from a result
with violations. ``assemble(resources, rendered)`` turns the validated resources and a
target's rendering of them into the ``DesiredResource``s the planner and applier work on:
each resource's objects (its primary objects stamped with the manifest as applied,
``with_manifest``), what it waits for in its Bundle, its file and bundle, and a one-off
Workflow's steps (``link``). Called by ``engine.reconcile`` and, for ``evaluate``, by
``wiring.read_desired``; the agent's incremental cycles pass their memories
(``engine.incremental``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gitops_agent.core import loading, recorded, validation
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.kinds import key_of
from gitops_agent.core.manifests import (
    Bundle,
    DependencyCondition,
    Resource,
    ResourceId,
    flatten,
)
from gitops_agent.core.planning import Dependency, DesiredResource
from gitops_agent.core.rendering.objects import TargetObjects
from gitops_agent.core.tree import SourceTree
from gitops_agent.core.violations import Violation


@dataclass(frozen=True, slots=True)
class Desired:
    """The resources of a source and every violation found reading them."""

    resources: tuple[Resource, ...]
    violations: tuple[Violation, ...]
    config: AgentConfig


def evaluate(
    tree: SourceTree,
    roots: tuple[str, ...],
    config: AgentConfig,
    *,
    memos: tuple[loading.LoadMemo, validation.ValidationMemo] | None = None,
) -> Desired:
    """Load and validate an in-memory tree under ``config``; ``roots`` are the paths whose
    manifests are loaded on their own (``""``: everything). ``memos`` hold what earlier
    runs under the same configuration found."""
    tree = _excluding(tree, config.source.exclude)
    load_memo, check_memo = memos if memos is not None else (None, None)
    loaded = loading.load(tree, env=config.vars, roots=roots, memo=load_memo)
    violations = validation.validate(loaded, config.validation_context(), memo=check_memo)
    return Desired(loaded.resources, violations, config)


def _excluding(tree: SourceTree, patterns: tuple[str, ...]) -> SourceTree:
    if not patterns:
        return tree
    kept = {
        path: text
        for path, text in tree.files.items()
        if not any(fnmatch.fnmatch(path, pattern) for pattern in patterns)
    }
    return replace(tree, files=kept)


def assemble(
    resources: Sequence[Resource], rendered: Iterable[TargetObjects]
) -> tuple[DesiredResource, ...]:
    """The desired resources of a revision: a target's objects, wired into the Bundle graph."""
    flat = {r.id: r for r in flatten(resources)}
    return link(resources, [with_manifest(item, flat[item.id].manifest) for item in rendered])


def with_manifest(item: TargetObjects, manifest: Mapping[str, Any]) -> TargetObjects:
    """A resource's objects with the manifest as applied on its primary objects."""
    objects = tuple(
        recorded.with_manifest(obj, manifest) if key_of(obj) in item.primary else obj
        for obj in item.objects
    )
    return replace(item, objects=objects)


def link(
    resources: Sequence[Resource], recorded_items: Iterable[TargetObjects]
) -> tuple[DesiredResource, ...]:
    """The desired resources of objects that already carry their manifest (``with_manifest``):
    each wired into the Bundle graph, with its file and its bundle."""
    depends, bundle_of = dependencies(resources)
    files = {r.id: r.origin.path for r in flatten(resources)}
    return tuple(
        DesiredResource(
            item.id,
            item.objects,
            depends.get(item.id, ()),
            files[item.id],
            bundle_of.get(item.id),
            item.steps,
        )
        for item in recorded_items
    )


def dependencies(
    resources: Iterable[Resource],
) -> tuple[dict[ResourceId, tuple[Dependency, ...]], dict[ResourceId, ResourceId]]:
    """The resource graph of the Bundles: what each member waits for, and its bundle.

    A member that lists a dependency without a condition for it waits for status ``active``;
    several conditions on one dependency must all hold. A Bundle itself waits for its
    members to be active (and so is pruned before them).
    """
    depends: dict[ResourceId, tuple[Dependency, ...]] = {}
    bundle_of: dict[ResourceId, ResourceId] = {}
    for bundle in (r for r in resources if isinstance(r, Bundle)):
        ids = {member.id: member.resource.id for member in bundle.members}
        depends[bundle.id] = tuple(Dependency(rid) for rid in ids.values())
        for member in bundle.members:
            bundle_of[member.resource.id] = bundle.id
            edges: list[Dependency] = []
            for name in member.dependencies:
                if name not in ids:
                    continue
                found = [c for c in member.conditions if c.resource_id == name]
                conditions: list[DependencyCondition | None] = list(found) or [None]
                edges.extend(Dependency(ids[name], condition) for condition in conditions)
            depends[member.resource.id] = tuple(edges)
    return depends, bundle_of
