"""A preview: the plan of a pull request's head commit against the live target, read-only.

``preview(head, target, ...)`` validates nothing itself (the head's ``Desired`` carries its
violations), renders and plans the head against what the target holds, and, when the base
commit is given, plans the base too, so that a resource whose live state already differs
from the base is marked as such ("live differs from base too": the pull request did not
cause that part). Nothing is written: planning observes and looks up, and no applier runs.
Called by the ``preview`` command and by the previews of the agent loop; the configuration
both commits are read under is the base branch's, chosen by the caller.
"""

from __future__ import annotations

from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.planning import Action
from gitops_agent.core.previews import Preview
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.ports import Target
from gitops_agent.engine.reconcile import CycleOptions, make_plan

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
    drift = _base_drift(base, target, base_revision, options)
    return Preview(head_revision, base_revision, planned.plan, base_drift=drift, notes=notes)


def _base_drift(
    base: Desired | None, target: Target, revision: str, options: CycleOptions
) -> frozenset[ResourceId]:
    """Resources the base commit would change too: live already differs from it."""
    if base is None or base.violations:
        return frozenset()
    try:
        planned = make_plan(base, target, revision=revision, options=options)
    except RenderError:
        return frozenset()
    return frozenset(r.id for r in planned.plan.resources if r.action not in _QUIET)
