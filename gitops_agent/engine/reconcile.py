"""One reconcile cycle: validated desired state -> plan -> apply -> prune -> inventory.

Called by the ``plan`` and ``apply`` commands and by the agent loop for every new revision.
Nothing is rendered, planned or applied from a source with violations. The inventory is
written after the apply, with only what changed: a second cycle on the same revision makes
no writes. Resources whose delete failed stay in the inventory so the next cycle retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gitops_agent.config import AgentConfig
from gitops_agent.core import labels, planning
from gitops_agent.core.diffing import IgnoreRule
from gitops_agent.core.inventory import Inventory, InventoryEntry
from gitops_agent.core.manifests import ResourceId, ResourceType, flatten
from gitops_agent.core.planning import Action, DesiredResource, Plan, PlanOptions
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.core.results import Outcome, ResourceResult, SyncResult
from gitops_agent.engine.apply import Applier, ApplyOptions, Progress
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.ports import Observation, Target


def _annotation_pointer(name: str) -> str:
    return "/metadata/annotations/" + name.replace("~", "~0").replace("/", "~1")


# Derived annotations: the revision changes on every commit, the hash with any real change.
DERIVED_POINTERS = (_annotation_pointer(labels.REVISION), _annotation_pointer(labels.CONTENT_HASH))


@dataclass(frozen=True, slots=True)
class CycleOptions:
    """Per-run choices the command line or the agent loop makes."""

    allow_mass_prune: bool = False


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
    """Render and observe, then plan. Raises RenderError for resources that cannot coexist."""
    rendered = target.render(desired.resources, revision=revision)
    observation = target.observe(rendered)
    the_plan = planning.plan(
        rendered,
        observation.live,
        observation.inventory,
        revision=revision,
        options=plan_options(desired.config, options),
    )
    return Planned(the_plan, rendered, observation)


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
        return SyncResult(revision, violations=desired.violations)
    try:
        planned = make_plan(desired, target, revision=revision, options=options)
    except RenderError as err:
        return SyncResult(revision, violations=err.violations)
    blocked = planned.plan.blocked_prune
    if blocked is not None:
        progress(f"prune refused: {blocked.message()}")
    apply_options = ApplyOptions(
        timeout=desired.config.sync.wait_timeout, poll_interval=desired.config.sync.poll_interval
    )
    applier = Applier(
        planned.plan,
        planned.desired,
        target,
        options=apply_options,
        progress=progress,
        observation=planned.observation,
    )
    results = applier.run()
    previous = planned.observation.inventory
    manifests = {r.id: r.manifest for r in flatten(desired.resources)}
    inventory = next_inventory(
        previous, planned.plan, results, revision=revision, manifests=manifests
    )
    writes = target.save_inventory(inventory, previous=previous)
    if writes:
        progress(f"inventory: {writes} shard(s) written")
    return SyncResult(revision, results, blocked_prune=blocked.message() if blocked else None)


def next_inventory(
    previous: Inventory,
    plan: Plan,
    results: Sequence[ResourceResult],
    *,
    revision: str,
    manifests: Mapping[ResourceId, Mapping[str, Any]] | None = None,
) -> Inventory:
    """The inventory after a plan ran: what each resource holds recorded, pruned ones
    forgotten. An entry (and the revision in it) changes only when the resource's objects,
    file, dependencies or, for a Bundle, manifest change: a changed field of an object is
    recorded on the object itself (its revision and manifest annotations), so an update
    costs one write, not two."""
    manifests = manifests or {}
    outcomes = {result.id: result for result in results}
    updated: list[InventoryEntry] = []
    forgotten = []
    for resource in plan.resources:
        result = outcomes[resource.id]
        old = previous.entry(resource.id)
        if resource.action is Action.DELETE:
            if result.outcome is Outcome.DELETED:
                forgotten.append(resource.id)
            continue
        failed = result.outcome is Outcome.FAILED
        keys = {s.key for s in resource.steps if s.action is not Action.DELETE or failed}
        if old is not None and failed:
            keys |= set(old.objects)
        entry = InventoryEntry(
            id=resource.id,
            revision=old.revision if old else revision,
            objects=tuple(sorted(keys)),
            file=resource.file,
            depends=tuple(sorted({d.id for d in resource.depends})),
            manifest=manifests.get(resource.id)
            if resource.id.type is ResourceType.BUNDLE
            else None,
        )
        if entry != old:
            updated.append(replace(entry, revision=revision))
    return previous.with_entries(updated).without(forgotten)
