"""Rendering for the Kubernetes target: resources -> the objects the agent applies.

The entry the engine and the ``render`` command call, after ``core.validation`` found no
violation: ``render(resources, settings, revision=...)`` returns a ``RenderedSet`` (one
rendered value per resource, Bundles and their members included, sorted by resource id).
The same input always gives the same objects. Two resources whose objects would share a
kind, namespace and name raise ``RenderError`` with a violation for each; ``collisions``
finds the same violations for ``core.validation``, so that ``validate`` refuses them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from gitops_agent.core.kinds import ObjectKey, apply_order
from gitops_agent.core.manifests import Bundle, Resource, Worker, flatten
from gitops_agent.core.rendering.objects import (
    Rendered,
    RenderedBundle,
    RenderedSet,
    RenderedWorker,
    RenderedWorkflow,
    RenderError,
    RenderSettings,
    StepKeys,
    TargetObjects,
)
from gitops_agent.core.rendering.workers import render_worker
from gitops_agent.core.rendering.workflows import render_workflow
from gitops_agent.core.violations import Violation, sort_violations


def render(
    resources: Iterable[Resource],
    settings: RenderSettings,
    *,
    revision: str = "",
    now: datetime | None = None,
) -> RenderedSet:
    """Every resource (and every Bundle member) rendered under ``settings``.

    ``revision`` is the source commit written on every object (may be empty); ``now``, an
    aware time, suspends a scheduled Workflow past its ``endOn`` (None: never suspend).
    """
    flat = list(flatten(resources))
    rendered = [render_resource(r, settings, revision=revision, now=now) for r in flat]
    shared = sort_violations(_collisions(flat, rendered))
    if shared:
        raise RenderError(shared[0].format(), shared)
    return RenderedSet(tuple(sorted(rendered, key=lambda r: r.id)), revision)


def collisions(
    resources: Sequence[Resource], rendered: Sequence[Rendered]
) -> tuple[Violation, ...]:
    """A violation for each object whose kind, namespace and name an earlier resource's
    object already has; ``rendered[i]`` is ``resources[i]`` rendered (as ``render`` does)."""
    return sort_violations(_collisions(list(resources), list(rendered)))


def key_collisions(
    resources: Sequence[Resource], keys: Sequence[Sequence[ObjectKey]]
) -> tuple[Violation, ...]:
    """``collisions`` from the keys of each resource's objects (``keys[i]`` are
    ``resources[i]``'s, in rendering order)."""
    return sort_violations(_key_collisions(list(resources), list(keys)))


def target_objects(rendered: RenderedSet) -> tuple[TargetObjects, ...]:
    """What the Kubernetes target hands the engine: each resource's objects in apply order,
    its primary objects, and a one-off Workflow's steps."""
    return tuple(_target_objects(item) for item in rendered.resources)


def _target_objects(item: Rendered) -> TargetObjects:
    ordered = sorted(item.objects, key=lambda o: apply_order(o.key))
    steps: tuple[StepKeys, ...] = ()
    primary: frozenset[ObjectKey] = frozenset()
    if isinstance(item, RenderedWorker):
        primary = frozenset({item.workload})
    elif isinstance(item, RenderedWorkflow):
        primary = frozenset(step.job for step in item.steps)
        if not item.scheduled:
            steps = tuple(
                StepKeys(s.name, s.depends, tuple(o.key for o in s.objects)) for s in item.steps
            )
    return TargetObjects(item.id, tuple(o.body for o in ordered), primary, steps)


def render_resource(
    resource: Resource,
    settings: RenderSettings,
    *,
    revision: str = "",
    now: datetime | None = None,
) -> Rendered:
    """One resource's objects; a Bundle has none (its members are rendered on their own)."""
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if isinstance(resource, Bundle):
        members = tuple(member.resource.id for member in resource.members)
        return RenderedBundle(resource.id, members)
    if isinstance(resource, Worker):
        return render_worker(resource, settings, revision=revision)
    return render_workflow(resource, settings, revision=revision, now=now)


def _collisions(resources: list[Resource], rendered: list[Rendered]) -> Iterator[Violation]:
    """A violation for each object whose key an earlier resource's object already has."""
    keys = [tuple(obj.key for obj in result.objects) for result in rendered]
    return _key_collisions(resources, keys)


def _key_collisions(
    resources: Sequence[Resource], keys: Sequence[Sequence[ObjectKey]]
) -> Iterator[Violation]:
    first: dict[ObjectKey, Resource] = {}
    for resource, owned in zip(resources, keys, strict=True):
        for key in owned:
            earlier = first.setdefault(key, resource)
            if earlier is resource:
                continue
            origin = resource.origin
            message = (
                f"{key} would also be written for {earlier.id} "
                f"({earlier.origin.display or earlier.origin.path}); rename one of them or map "
                "their workspaces to different namespaces"
            )
            position = origin.locate(("name",))
            where = origin.display or origin.path
            yield Violation(
                where, position.line, position.column, str(resource.id), message, "collision"
            )
