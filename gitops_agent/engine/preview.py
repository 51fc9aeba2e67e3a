"""A preview: the plan of a pull request's head commit against the live target, read-only.

``preview(head, target, ...)`` validates nothing itself (the head's ``Desired`` carries its
violations), renders and plans the head against what the target holds, and, when the base
commit is given, plans the base too, so that a resource whose live state already differs
from the base is marked as such ("live differs from base too": the pull request did not
cause that part). Nothing is written: planning observes once (head and base share the observation) and looks up, and no
applier runs.
Called by the ``preview`` command and by the previews of the agent loop; the configuration
both commits are read under is the base branch's, chosen by the caller.
"""

from __future__ import annotations

from dataclasses import replace

from gitops_agent.core.manifests import ResourceId, flatten
from gitops_agent.core.planning import Action
from gitops_agent.core.previews import Preview
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.ports import Target
from gitops_agent.engine.reconcile import CycleOptions, Planned, make_plan

_QUIET = frozenset({Action.UNCHANGED, Action.UNMANAGED})


def preview(
    head: Desired,
    target: Target,
    *,
    head_revision: str,
    base: Desired | None = None,
    base_revision: str = "",
    notes: tuple[str, ...] = (),
    options: CycleOptions | None = None,
) -> Preview:
    """The read-only plan of ``head`` against ``target``; ``base`` marks what was already
    different from the base commit before the pull request."""
    options = options or CycleOptions()
    if head.violations:
        return Preview(head_revision, base_revision, None, head.violations, notes=notes)
    try:
        planned = make_plan(head, target, revision=head_revision, options=options)
    except RenderError as err:
        return Preview(head_revision, base_revision, None, err.violations, notes=notes)
    drift = frozenset[ResourceId]()
    if base is not None and not base.violations:
        drift = _base_drift(base, head, planned, target, revision=base_revision, options=options)
    return Preview(head_revision, base_revision, planned.plan, base_drift=drift, notes=notes)


def _base_drift(
    base: Desired,
    head: Desired,
    planned: Planned,
    target: Target,
    *,
    revision: str,
    options: CycleOptions,
) -> frozenset[ResourceId]:
    """Resources the base commit would change too: live already differs from it. A resource
    the pull request leaves as it is plans the same from the base as from the head, so only
    the resources it touches are planned again from the base, against the head's
    observation: one read of the target serves both."""
    kept = _untouched(base, head)
    same = {r.id for r in planned.plan.resources if r.id in kept and r.action not in _QUIET}
    touched = tuple(r for r in base.resources if not {x.id for x in flatten((r,))} <= kept)
    if not touched:
        return frozenset(same)
    try:
        again = make_plan(
            replace(base, resources=touched),
            target,
            revision=revision,
            options=options,
            observation=planned.observation,
        )
    except RenderError:
        return frozenset(same)
    ids = {x.id for x in flatten(touched)}
    changed = {r.id for r in again.plan.resources if r.id in ids and r.action not in _QUIET}
    return frozenset(same | changed)


def _untouched(base: Desired, head: Desired) -> frozenset[ResourceId]:
    """Ids whose resource is the same in base and head: parsed fields and manifest."""
    theirs = {r.id: r for r in flatten(head.resources)}
    return frozenset(
        r.id
        for r in flatten(base.resources)
        if (other := theirs.get(r.id)) is not None and other == r and other.manifest == r.manifest
    )
