"""The DataOS status model: observed state -> ``status`` and ``runtime`` strings.

Every target reduces what it observes to the small states below (``WorkerState``,
``WorkflowState``); this module turns them into the same strings on every target (DESIGN
§4.4), and decides whether a Bundle's ``dependencyConditions`` hold. Called by the engine
(waiting on conditions, skipping dependents of failures), by ``get`` and by ``drift``.

status:  ``pending`` (not all objects exist yet), ``active``, ``error`` (apply failed),
         ``deleted``.
runtime: Worker ``running:N`` (N ready replicas), ``pending``, ``failed`` (crash loop, image
         pull error); Workflow ``pending``, ``running``, ``succeeded``, ``failed``, and
         ``next:<time>`` for a scheduled one; Bundle: empty.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitops_agent.core.manifests import DependencyCondition, Match, ResourceId, ResourceType

if TYPE_CHECKING:  # both build on results, which carry statuses
    from gitops_agent.core.inventory import Inventory
    from gitops_agent.core.planning import DesiredResource


class Status(enum.StrEnum):
    """DataOS lifecycle status of a resource."""

    PENDING = "pending"
    ACTIVE = "active"
    ERROR = "error"
    DELETED = "deleted"


class Phase(enum.StrEnum):
    """Where a run (a workflow step, a pod) is."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ResourceStatus:
    """The two strings DataOS shows for a resource, and a short human explanation.

    ``settling``: a rollout is under way; ``converged``: the resource is what was asked of
    it (every replica of a Worker ready and up to date, a Workflow run finished well, a
    schedule in place), which is what ``apply`` waits for.
    """

    status: str
    runtime: str
    message: str = ""
    settling: bool = False
    converged: bool = False

    @property
    def failed(self) -> bool:
        """True when the resource will not get better on its own."""
        return self.status == Status.ERROR or self.runtime == Phase.FAILED


@dataclass(frozen=True, slots=True)
class WorkerState:
    """What a target observed of a Worker."""

    present: bool
    desired: int = 1
    ready: int = 0
    failure: str | None = None
    rolling_out: bool = False


@dataclass(frozen=True, slots=True)
class StepState:
    """What a target observed of one workflow step's current run."""

    name: str
    phase: Phase = Phase.PENDING
    message: str = ""


@dataclass(frozen=True, slots=True)
class WorkflowState:
    """What a target observed of a Workflow: its steps, or its schedule's next run."""

    present: bool
    steps: tuple[StepState, ...] = ()
    scheduled: bool = False
    next_run: str | None = None


PENDING = ResourceStatus(Status.PENDING, Phase.PENDING)
DELETED = ResourceStatus(Status.DELETED, "")


def worker_status(state: WorkerState) -> ResourceStatus:
    """``active`` + ``running:N`` once the workload exists and N replicas are ready."""
    if not state.present:
        return PENDING
    if state.failure:
        return ResourceStatus(Status.ACTIVE, Phase.FAILED, state.failure)
    rolling = ", rolling out" if state.rolling_out else ""
    message = f"{state.ready}/{state.desired} replicas ready{rolling}"
    converged = state.ready >= state.desired and not state.rolling_out
    if state.ready > 0 or state.desired == 0:
        runtime = f"running:{state.ready}"
        return ResourceStatus(Status.ACTIVE, runtime, message, state.rolling_out, converged)
    return ResourceStatus(Status.ACTIVE, Phase.PENDING, message, state.rolling_out)


def workflow_status(state: WorkflowState) -> ResourceStatus:
    """A scheduled workflow shows its next run; a one-off one the state of its steps."""
    if not state.present:
        return PENDING
    if state.scheduled:
        runtime = f"next:{state.next_run}" if state.next_run else Phase.PENDING
        return ResourceStatus(Status.ACTIVE, runtime, "scheduled", converged=True)
    failed = [step for step in state.steps if step.phase is Phase.FAILED]
    if failed:
        detail = "; ".join(f"{s.name}: {s.message or 'failed'}" for s in failed)
        return ResourceStatus(Status.ACTIVE, Phase.FAILED, detail)
    done = [step for step in state.steps if step.phase is Phase.SUCCEEDED]
    if state.steps and len(done) == len(state.steps):
        message = f"{len(done)} step(s) succeeded"
        return ResourceStatus(Status.ACTIVE, Phase.SUCCEEDED, message, converged=True)
    started = any(step.phase is not Phase.PENDING for step in state.steps)
    message = f"{len(done)}/{len(state.steps)} step(s) succeeded"
    return ResourceStatus(Status.ACTIVE, Phase.RUNNING if started else Phase.PENDING, message)


def _matches(value: str, match: Match | None) -> bool:
    """``is`` is an exact match on any value, ``contains`` a substring; either suffices."""
    if match is None:
        return True
    if value in match.is_:
        return True
    return any(part in value for part in match.contains)


def condition_holds(condition: DependencyCondition | None, observed: ResourceStatus) -> bool:
    """Whether a dependency's status and runtime meet a condition (AND of both sides).

    A dependency without conditions waits for status ``active`` (DataOS's default).
    """
    if condition is None:
        return observed.status == Status.ACTIVE and _settled(observed.runtime)
    return _matches(observed.status, condition.status) and _matches(
        observed.runtime, condition.runtime
    )


def _settled(runtime: str) -> bool:
    return runtime.startswith(("running", "next:")) or runtime in (Phase.SUCCEEDED, "")


UNSUPPORTED = "unsupported"


def condition_unreachable(condition: DependencyCondition | None, observed: ResourceStatus) -> bool:
    """True when the dependency failed, or cannot run on this target, and the condition
    does not ask for exactly that."""
    stuck = observed.failed or observed.runtime == UNSUPPORTED
    return stuck and not condition_holds(condition, observed)


def describe_condition(resource_id: str, condition: DependencyCondition | None) -> str:
    """``sleep-worker status is active and runtime contains running`` for progress lines."""
    if condition is None:
        return f"{resource_id} status is active"
    parts = [
        f"{side} {_describe_match(match)}"
        for side, match in (("status", condition.status), ("runtime", condition.runtime))
        if match is not None
    ]
    return f"{resource_id} " + " and ".join(parts)


def _describe_match(match: Match) -> str:
    words = []
    if match.is_:
        words.append("is " + "|".join(match.is_))
    if match.contains:
        words.append("contains " + "|".join(match.contains))
    return " or ".join(words)


def bundle_status(
    members: Mapping[str, ResourceStatus],
    conditions: Mapping[str, Sequence[DependencyCondition | None]],
) -> ResourceStatus:
    """``active`` when every member meets what its dependents ask of it, ``error`` when one
    failed, ``pending`` otherwise. ``conditions`` maps a member id to what is asked of it."""
    failed = sorted(mid for mid, observed in members.items() if observed.failed)
    if failed:
        return ResourceStatus(Status.ERROR, "", f"failed: {', '.join(failed)}")
    waiting = sorted(
        mid
        for mid, observed in members.items()
        if not all(condition_holds(c, observed) for c in conditions.get(mid) or [None])
    )
    if waiting:
        return ResourceStatus(Status.PENDING, "", f"waiting for: {', '.join(waiting)}")
    return ResourceStatus(Status.ACTIVE, "", f"{len(members)} member(s) ready")


def pod_failure(reasons: Iterable[str]) -> str | None:
    """The first reason among container waiting reasons that means the pod will not start."""
    for reason in reasons:
        if reason in FAILURE_REASONS:
            return reason
    return None


FAILURE_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def bundle_statuses(
    inventory: Inventory,
    statuses: Mapping[ResourceId, ResourceStatus],
    desired: Sequence[DesiredResource],
) -> dict[ResourceId, ResourceStatus]:
    """The status of each Bundle known from the inventory or the desired resources: a
    Bundle holds no objects, its status is its members' (``bundle_status``)."""
    members: dict[ResourceId, list[ResourceId]] = {}
    conditions: dict[ResourceId, dict[str, list[DependencyCondition | None]]] = {}
    for entry in inventory.entries.values():
        if entry.id.type is ResourceType.BUNDLE:
            members[entry.id] = list(entry.depends)
    for item in desired:
        if item.bundle is None:
            continue
        listed = members.setdefault(item.bundle, [])
        if item.id not in listed:
            listed.append(item.id)
        for dependency in item.depends:
            conditions.setdefault(item.bundle, {}).setdefault(str(dependency.id), []).append(
                dependency.condition
            )
    return {
        bundle: bundle_status(
            {str(r): statuses.get(r, PENDING) for r in ids}, conditions.get(bundle, {})
        )
        for bundle, ids in members.items()
    }
