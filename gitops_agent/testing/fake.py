"""An in-memory ``Target`` and a manual clock, for engine tests that need no cluster.

``FakeTarget`` renders with the real Kubernetes rendering (pure core), holds what it is given
in a dict, and answers every call of the engine's port. What the real targets learn from
controllers is set by the test: each object has a ``Health`` (settable per object, per
resource, or as the default for what is applied next) from which Worker and Workflow
statuses are computed with the real status model. ``fail`` queues faults for the next
calls of one method (optionally for one object); ``calls`` counts every call. With a
``ManualClock`` whose ``sleep`` advances time, waits and timeouts of the applier take no
real time. Used by ``tests/engine/unit``; nothing here touches the network or the disk.
"""

from __future__ import annotations

import copy
import enum
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_agent.core import inventory as inventories
from gitops_agent.core import kinds, kubestate, labels
from gitops_agent.core.drift import without_fields
from gitops_agent.core.inventory import Inventory
from gitops_agent.core.kinds import ObjectKey, key_of
from gitops_agent.core.manifests import Resource, ResourceId, ResourceType
from gitops_agent.core.rendering import kubernetes as rendering
from gitops_agent.core.rendering.objects import RenderSettings, StepKeys, TargetObjects
from gitops_agent.core.status import (
    Phase,
    ResourceStatus,
    StepState,
    WorkerState,
    WorkflowState,
    worker_status,
    workflow_status,
)
from gitops_agent.engine.ports import CurrentRuns, FieldPath, LogLine, Observation, TargetHooks
from gitops_agent.errors import ConflictError, InvalidError, NotFoundError, UnavailableError


class Health(enum.Enum):
    """What an object's controller would have made of it by now."""

    PENDING = "pending"  # a workload with no ready replica, a Job not finished
    READY = "ready"  # every replica ready, a Job succeeded
    FAILED = "failed"  # a crash loop, a failed Job


@dataclass(slots=True)
class ManualClock:
    """A monotonic clock that moves only when slept on (or ``advance``d)."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(slots=True)
class _Fault:
    call: str
    key: ObjectKey | None
    error: Exception
    times: int


class FakeTarget:
    """One owner's objects in memory, with statuses and faults the test controls."""

    kind = "fake"

    def __init__(
        self,
        *,
        owner: str = "test",
        settings: RenderSettings | None = None,
        default: Health = Health.READY,
    ) -> None:
        self.owner = owner
        self.settings = settings or RenderSettings(owner=owner)
        self.default = default
        self.objects: dict[ObjectKey, dict[str, Any]] = {}
        self.inventory = Inventory()
        self.health: dict[ObjectKey, Health] = {}
        self.resource_health: dict[ResourceId, Health] = {}
        self.calls: Counter[str] = Counter()
        self.applied: list[ObjectKey] = []
        self.deleted: list[ObjectKey] = []
        self.log_lines: dict[ResourceId, list[LogLine]] = {}
        self._faults: list[_Fault] = []
        self._uids = 0
        self._versions = 0

    # ----- what the test controls
    def set_health(self, what: ObjectKey | ResourceId, health: Health) -> None:
        """The health of one object, or of every object of one resource."""
        if isinstance(what, ResourceId):
            self.resource_health[what] = health
        else:
            self.health[what] = health

    def fail(
        self,
        call: str,
        *,
        key: ObjectKey | None = None,
        error: Exception | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``call`` (``render``, ``apply``, ``delete``,
        ``observe``, ``lookup``, ``save_inventory``), for ``key`` when given, raise ``error``
        (default: a 503; any exception, to play a bug)."""
        raised = error or UnavailableError("injected failure", object_ref=str(key or call))
        self._faults.append(_Fault(call, key, raised, times))

    def clear_faults(self) -> None:
        """Forget the faults not yet raised."""
        self._faults.clear()

    def seed(self, obj: Mapping[str, Any]) -> ObjectKey:
        """Put an object on the target as if someone (this owner or another) created it."""
        key = key_of(obj)
        self.objects[key] = self._stored(obj)
        return key

    @property
    def writes(self) -> int:
        """Object writes (applies and deletes) and inventory writes so far."""
        return self.calls["apply"] + self.calls["delete"] + self.calls["inventory-writes"]

    # ----- the Target port
    def render(self, resources: Sequence[Resource], *, revision: str) -> tuple[TargetObjects, ...]:
        self._call("render")
        now = datetime(2030, 1, 1, tzinfo=UTC)
        rendered = rendering.render(resources, self.settings, revision=revision, now=now)
        return rendering.target_objects(rendered)

    def observe(self, *, runs: CurrentRuns | None = None, all_owners: bool = False) -> Observation:
        self._call("observe")
        mine = [
            obj
            for obj in self.objects.values()
            if all_owners or labels.labels_of(obj).get(labels.OWNER) == self.owner
        ]
        grouped = {rid: tuple(items) for rid, items in kubestate.group(mine).items()}
        statuses: dict[ResourceId, ResourceStatus] = {}
        steps: dict[ResourceId, dict[str, Phase]] = {}
        for rid, items in grouped.items():
            if rid.type is ResourceType.WORKER:
                statuses[rid] = worker_status(self._worker_state(rid, items))
                continue
            state = self._workflow_state(rid, items, (runs or {}).get(rid))
            statuses[rid] = workflow_status(state)
            steps[rid] = {step.name: step.phase for step in state.steps}
        owners = {rid: labels.labels_of(i[0]).get(labels.OWNER, "") for rid, i in grouped.items()}
        return Observation(grouped, statuses, steps, self.inventory, 1, owners)

    def lookup(self, keys: Sequence[ObjectKey]) -> dict[ObjectKey, Mapping[str, Any]]:
        self._call("lookup")
        return {key: self.objects[key] for key in keys if key in self.objects}

    def apply(self, obj: Mapping[str, Any], *, create: bool = False) -> Mapping[str, Any]:
        key = key_of(obj)
        self._call("apply", key)
        existing = self.objects.get(key)
        if create and existing is not None:
            raise ConflictError("exists and was not created by this agent", object_ref=str(key))
        stored = self._stored(obj)
        uid = labels.uid_of(existing)
        if uid:
            stored["metadata"]["uid"] = uid
        self.objects[key] = stored
        self.applied.append(key)
        return stored

    def remove_fields(
        self, live: Mapping[str, Any], fields: Sequence[tuple[FieldPath, Any]]
    ) -> Mapping[str, Any]:
        key = key_of(live)
        self._call("remove_fields", key)
        current = self.objects.get(key)
        kept = without_fields(current, fields) if current is not None else None
        if current is None or labels.uid_of(current) != labels.uid_of(live) or kept is None:
            raise InvalidError("changed since it was read", object_ref=str(key), status=422)
        self.objects[key] = kept
        return kept

    def delete(self, live: Mapping[str, Any]) -> None:
        key = key_of(live)
        self._call("delete", key)
        self.objects.pop(key, None)
        self.deleted.append(key)

    def save_inventory(self, inventory: Inventory, *, previous: Inventory) -> int:
        self._call("save_inventory")
        writes = len(inventories.changed_shards(previous, inventory))
        self.calls["inventory-writes"] += writes
        self.inventory = inventory
        return writes

    def logs(
        self, rid: ResourceId, *, follow: bool = False, tail: int | None = None
    ) -> Iterator[LogLine]:
        self._call("logs")
        lines = self.log_lines.get(rid)
        if lines is None:
            raise NotFoundError(f"no logs for {rid}", object_ref=str(rid))
        yield from lines[-tail:] if tail else lines

    def hooks(self) -> TargetHooks:
        return TargetHooks()

    def close(self) -> None:
        self.calls["close"] += 1

    # ----- internals
    def _call(self, call: str, key: ObjectKey | None = None) -> None:
        self.calls[call] += 1
        for fault in self._faults:
            if fault.call == call and fault.times > 0 and fault.key in (None, key):
                fault.times -= 1
                raise fault.error

    def _stored(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``obj`` as stored: a uid when it has none, and a new resourceVersion
        (every write makes one, as on an API server)."""
        stored = copy.deepcopy(dict(obj))
        metadata = stored.setdefault("metadata", {})
        if "uid" not in metadata:
            self._uids += 1
            metadata["uid"] = f"uid-{self._uids}"
        self._versions += 1
        metadata["resourceVersion"] = str(self._versions)
        return stored

    def _health_of(self, rid: ResourceId, key: ObjectKey) -> Health:
        return self.health.get(key) or self.resource_health.get(rid) or self.default

    def _worker_state(self, rid: ResourceId, objects: Sequence[Mapping[str, Any]]) -> WorkerState:
        workload = next((o for o in objects if o.get("kind") in kinds.WORKLOADS), None)
        if workload is None:
            return WorkerState(present=False)
        replicas = int((workload.get("spec") or {}).get("replicas", 1))
        health = self._health_of(rid, key_of(workload))
        if health is Health.FAILED:
            return WorkerState(True, replicas, 0, "CrashLoopBackOff: pod restarted 3 time(s)")
        return WorkerState(True, replicas, replicas if health is Health.READY else 0)

    def _workflow_state(
        self,
        rid: ResourceId,
        objects: Sequence[Mapping[str, Any]],
        run: Sequence[StepKeys] | None,
    ) -> WorkflowState:
        if any(o.get("kind") == kinds.CRON_JOB.name for o in objects):
            return WorkflowState(True, scheduled=True, next_run="2030-01-01T01:00:00Z")
        current = {key for step in run for key in step.keys} if run else None
        phases: dict[str, StepState] = {}
        for job in (o for o in objects if o.get("kind") == kinds.JOB.name):
            key = key_of(job)
            if current is not None and key not in current:
                continue
            name = labels.labels_of(job).get(labels.STEP, "")
            phases[name] = StepState(name, _PHASES[self._health_of(rid, key)])
        names = [step.name for step in run] if run else sorted(phases)
        return WorkflowState(True, tuple(phases.get(n, StepState(n)) for n in names))


_PHASES = {
    Health.PENDING: Phase.RUNNING,
    Health.READY: Phase.SUCCEEDED,
    Health.FAILED: Phase.FAILED,
}
