"""One reconcile cycle: validated desired state -> plan -> apply -> prune -> inventory.

Called by the ``plan``, ``apply`` and ``delete`` commands and by the agent loop for every new
revision. Nothing is rendered, planned or applied from a source with violations. The desired
state is assembled once (``engine.desired.assemble``) from the target's rendering. The
inventory is written after the apply, with only what changed: a second cycle on the same
revision makes no writes. Resources whose delete failed stay in the inventory so the next
cycle retries. ``delete`` runs the same prune path for resources named on the command line.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from gitops_agent.core import labels, planning
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.diffing import IgnoreRule
from gitops_agent.core.inventory import Inventory, next_inventory
from gitops_agent.core.manifests import ResourceId, flatten
from gitops_agent.core.planning import DesiredResource, Plan, PlanOptions
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.core.results import FailureReason, SyncResult
from gitops_agent.engine.apply import Applier, ApplyOptions, Clock, Progress, Sleep
from gitops_agent.engine.desired import Desired, assemble
from gitops_agent.engine.observing import observe
from gitops_agent.engine.ports import Observation, Target
from gitops_agent.errors import NotFoundError


def _annotation_pointer(name: str) -> str:
    return "/metadata/annotations/" + name.replace("~", "~0").replace("/", "~1")


# Derived annotations: the revision changes on every commit, the hash with any real change.
DERIVED_POINTERS = (_annotation_pointer(labels.REVISION), _annotation_pointer(labels.CONTENT_HASH))


@dataclass(frozen=True, slots=True)
class CycleOptions:
    """Per-run choices the command line or the agent loop makes, and the applier's clock."""

    allow_mass_prune: bool = False
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep


@dataclass(frozen=True, slots=True)
class Planned:
    """A plan and what it was made from."""

    plan: Plan
    desired: tuple[DesiredResource, ...]
    observation: Observation


def plan_options(config: AgentConfig, options: CycleOptions) -> PlanOptions:
    """Ignore rules (the derived annotations always; config rules) and the prune policy."""
    rules = [IgnoreRule(DERIVED_POINTERS)]
    for rule in config.sync.ignore:
        rules.append(IgnoreRule(tuple(rule["pointers"]), rule.get("kind"), rule.get("name")))
    return PlanOptions(
        ignore=tuple(rules),
        prune=config.sync.prune,
        max_prune_fraction=config.sync.max_prune_fraction,
        allow_mass_prune=options.allow_mass_prune,
    )


def make_plan(
    desired: Desired, target: Target, *, revision: str, options: CycleOptions = CycleOptions()
) -> Planned:
    """Render, assemble and observe, then plan. Raises RenderError for resources that
    cannot coexist."""
    wanted = assemble(desired.resources, target.render(desired.resources, revision=revision))
    observation = observe(target, wanted)
    the_plan = planning.plan(
        wanted,
        observation.live,
        observation.inventory,
        revision=revision,
        options=plan_options(desired.config, options),
    )
    return Planned(the_plan, wanted, observation)


def reconcile(
    desired: Desired,
    target: Target,
    *,
    revision: str,
    options: CycleOptions = CycleOptions(),
    progress: Progress = lambda line: None,
) -> SyncResult:
    """Bring the target to the desired state of one revision."""
    if desired.violations:
        return SyncResult.invalid(revision, desired.violations)
    try:
        planned = make_plan(desired, target, revision=revision, options=options)
    except RenderError as err:
        return SyncResult.invalid(revision, err.violations, reason=FailureReason.RENDER)
    blocked = planned.plan.blocked_prune
    if blocked is not None:
        progress(f"prune refused: {blocked.message()}")
    manifests = {r.id: r.manifest for r in flatten(desired.resources)}
    result = _execute(planned, target, desired.config, options, progress)
    inventory = next_inventory(
        planned.observation.inventory,
        planned.plan,
        result.resources,
        revision=revision,
        manifests=manifests,
    )
    _save(target, inventory, planned.observation, progress)
    return SyncResult(revision, result.resources, blocked_prune=blocked)


def delete(
    wanted: Iterable[ResourceId],
    target: Target,
    config: AgentConfig,
    *,
    options: CycleOptions = CycleOptions(),
    progress: Progress = lambda line: None,
) -> tuple[Plan, SyncResult]:
    """Delete resources the owner holds (a Bundle with its members, dependents first), as a
    prune would; the inventory forgets what was deleted even when another delete failed.
    Raises NotFoundError when one of them is not held."""
    observation = observe(target)
    known = set(observation.inventory.entries) | set(observation.live)
    wanted = list(wanted)
    missing = [rid for rid in wanted if rid not in known]
    if missing:
        raise NotFoundError(f"not found: {', '.join(map(str, missing))}")
    the_plan = planning.deletion_plan(wanted, observation.live, observation.inventory)
    planned = Planned(the_plan, (), observation)
    result = _execute(planned, target, config, options, progress)
    inventory = next_inventory(observation.inventory, the_plan, result.resources, revision="")
    _save(target, inventory, observation, progress)
    return the_plan, result


def _execute(
    planned: Planned,
    target: Target,
    config: AgentConfig,
    options: CycleOptions,
    progress: Progress,
) -> SyncResult:
    apply_options = ApplyOptions(
        timeout=config.sync.wait_timeout, poll_interval=config.sync.poll_interval
    )
    applier = Applier(
        planned.plan,
        planned.desired,
        target,
        options=apply_options,
        progress=progress,
        observation=planned.observation,
        clock=options.clock,
        sleep=options.sleep,
    )
    return SyncResult(planned.plan.revision, applier.run())


def _save(
    target: Target, inventory: Inventory, observation: Observation, progress: Progress
) -> None:
    writes = target.save_inventory(inventory, previous=observation.inventory)
    if writes:
        progress(f"inventory: {writes} shard(s) written")
