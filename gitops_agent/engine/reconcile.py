"""One reconcile cycle: validated desired state -> plan -> apply -> prune -> inventory.

Called by the ``plan``, ``apply`` and ``delete`` commands and by the agent loop for every new
revision. Nothing is rendered, planned or applied from a source with violations. The desired
state is assembled once (``engine.desired.assemble``) from the target's rendering; the
agent's incremental cycles pass a ``CycleCache`` that renders only resources not met before
and remembers the changes of unchanged objects (``engine.incremental``). The
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
from gitops_agent.core.inventory import Inventory, next_inventory, with_pending
from gitops_agent.core.kinds import key_of
from gitops_agent.core.manifests import ResourceId, flatten
from gitops_agent.core.planning import Action, DesiredResource, Plan, PlanOptions
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.core.results import FailureReason, SyncResult
from gitops_agent.engine.apply import Applier, ApplyOptions, Clock, Progress, Sleep
from gitops_agent.engine.desired import Desired, assemble, link
from gitops_agent.engine.incremental import CycleCache
from gitops_agent.engine.observing import observe
from gitops_agent.engine.ports import Observation, Target, WriteGuard
from gitops_agent.errors import NotFoundError, TargetError


def _annotation_pointer(name: str) -> str:
    return "/metadata/annotations/" + name.replace("~", "~0").replace("/", "~1")


# Derived annotations: the revision changes on every commit, the hash with any real change.
DERIVED_POINTERS = (_annotation_pointer(labels.REVISION), _annotation_pointer(labels.CONTENT_HASH))


@dataclass(frozen=True, slots=True)
class CycleOptions:
    """Per-run choices the command line or the agent loop makes, and the applier's clock:
    ``adopt`` takes over existing objects that are not ours; ``wait`` waits, after the
    last wave, until what was applied is healthy (``--no-wait`` turns it off); ``guard``
    is asked before every write (leader election: only the leader writes)."""

    allow_mass_prune: bool = False
    adopt: bool = False
    wait: bool = True
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    guard: WriteGuard | None = None


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
        adopt=options.adopt,
    )


def make_plan(
    desired: Desired,
    target: Target,
    *,
    revision: str,
    options: CycleOptions = CycleOptions(),
    observation: Observation | None = None,
    cache: CycleCache | None = None,
) -> Planned:
    """Render, assemble and observe (unless ``observation`` is given: a preview plans its
    head and its base against one), look up what stands where objects are to be created,
    then plan. Raises RenderError for resources that cannot coexist."""
    if cache is not None:
        wanted = link(desired.resources, cache.render(target, desired.resources, revision=revision))
    else:
        wanted = assemble(desired.resources, target.render(desired.resources, revision=revision))
    observation = observation or observe(target, wanted)
    listed = {key_of(obj) for objects in observation.live.values() for obj in objects}
    missing = [key_of(o) for d in wanted for o in d.objects if key_of(o) not in listed]
    foreign = target.lookup(missing) if missing else {}
    the_plan = planning.plan(
        wanted,
        observation.live,
        observation.inventory,
        foreign=foreign,
        revision=revision,
        options=plan_options(desired.config, options),
        memo=cache.diffs if cache is not None else None,
    )
    return Planned(the_plan, wanted, observation)


def reconcile(
    desired: Desired,
    target: Target,
    *,
    revision: str,
    options: CycleOptions = CycleOptions(),
    progress: Progress = lambda line: None,
    cache: CycleCache | None = None,
) -> SyncResult:
    """Bring the target to the desired state of one revision. What it creates is recorded
    in the inventory first; what it did is recorded after, even when some of it failed."""
    if desired.violations:
        return SyncResult.invalid(revision, desired.violations)
    try:
        planned = make_plan(desired, target, revision=revision, options=options, cache=cache)
    except RenderError as err:
        return SyncResult.invalid(revision, err.violations, reason=FailureReason.RENDER)
    the_plan, previous = planned.plan, planned.observation.inventory
    _report_plan_notes(the_plan, progress)
    pending = with_pending(previous, the_plan, revision=revision)
    fenced = _refusal(options.guard)
    if fenced is not None:
        return SyncResult.failed(revision, FailureReason.FENCED, f"nothing written: {fenced}")
    problem = _save(target, pending, previous, progress)
    if problem is not None:
        return SyncResult.failed(revision, FailureReason.INVENTORY, problem)
    applier = _applier(planned, target, desired.config, options, progress)
    results = applier.run()
    if applier.fenced is not None or _refusal(options.guard) is not None:
        # the inventory of what was pending stays; the next leader finishes from there
        why = applier.fenced or _refusal(options.guard)
        return SyncResult(
            revision, results, error=f"stopped writing: {why}", failure=FailureReason.FENCED
        )
    inventory = next_inventory(
        pending,
        the_plan,
        results,
        revision=revision,
        manifests={r.id: r.manifest for r in flatten(desired.resources)},
        uids=applier.uids,
    )
    problem = _save(target, inventory, pending, progress)
    failure = FailureReason.INVENTORY if problem is not None else None
    return SyncResult(
        revision, results, blocked_prune=the_plan.blocked_prune, error=problem, failure=failure
    )


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
    wanted = list(wanted)
    missing = [rid for rid in wanted if rid not in observation.inventory.entries]
    if missing:
        stray = [rid for rid in missing if rid in observation.live]
        hint = (
            f" ({', '.join(map(str, stray))}: carries this agent's labels but was not created "
            "by it; delete it by hand)"
            if stray
            else ""
        )
        raise NotFoundError(f"not found: {', '.join(map(str, missing))}{hint}")
    the_plan = planning.deletion_plan(wanted, observation.live, observation.inventory)
    planned = Planned(the_plan, (), observation)
    results = _applier(planned, target, config, options, progress).run()
    inventory = next_inventory(observation.inventory, the_plan, results, revision="")
    problem = _save(target, inventory, observation.inventory, progress)
    failure = FailureReason.INVENTORY if problem is not None else None
    return the_plan, SyncResult("", results, error=problem, failure=failure)


def _report_plan_notes(the_plan: Plan, progress: Progress) -> None:
    for resource in the_plan.resources:
        for step in resource.steps:
            if step.action is Action.UNMANAGED:
                progress(f"left alone: {step.key} ({resource.id}) {step.note}")


def _applier(
    planned: Planned,
    target: Target,
    config: AgentConfig,
    options: CycleOptions,
    progress: Progress,
) -> Applier:
    apply_options = ApplyOptions(
        timeout=config.sync.wait_timeout,
        poll_interval=config.sync.poll_interval,
        wait_healthy=options.wait,
        concurrency=config.sync.concurrency,
        together=target.hooks().together,
    )
    return Applier(
        planned.plan,
        planned.desired,
        target,
        options=apply_options,
        progress=progress,
        observation=planned.observation,
        clock=options.clock,
        sleep=options.sleep,
        guard=options.guard,
    )


def _refusal(guard: WriteGuard | None) -> str | None:
    return guard.refusal() if guard is not None else None


def _save(
    target: Target, inventory: Inventory, previous: Inventory, progress: Progress
) -> str | None:
    """Store the inventory; what went wrong when it could not be (the report is kept)."""
    if inventory == previous:
        return None
    try:
        writes = target.save_inventory(inventory, previous=previous)
    except TargetError as err:
        progress(f"inventory not stored: {err}")
        return f"inventory not stored: {err}"
    if writes:
        progress(f"inventory: {writes} shard(s) written")
    return None
