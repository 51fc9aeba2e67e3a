"""Applying a plan: resources in dependency order, waits on conditions, workflows step by
step, then prunes in reverse order.

Called by ``engine.reconcile``. Each resource starts once every dependency meets its
``dependencyConditions`` (observed through the target); a dependent of a resource that
failed, or whose condition can no longer hold, is skipped at once; a wait longer than the
timeout fails the waiting resource. Workflow steps are created once their upstream steps
succeeded. Unchanged objects are not written. Every long wait prints progress: which
resource, waiting on what, for how long. Per-resource failures are data in the results,
with their ``FailureReason``. The clock and the sleep are injected, so that tests on a fake
target run waits and timeouts without waiting.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gitops_agent.core import labels
from gitops_agent.core.config import SyncConfig
from gitops_agent.core.kinds import ObjectKey, apply_order
from gitops_agent.core.planning import Action, DesiredResource, ObjectStep, Plan, ResourcePlan
from gitops_agent.core.results import FailureReason, Outcome, ResourceResult
from gitops_agent.core.status import (
    UNSUPPORTED,
    Phase,
    ResourceStatus,
    condition_holds,
    condition_unreachable,
    describe_condition,
)
from gitops_agent.engine import hints
from gitops_agent.engine.observing import observe
from gitops_agent.engine.ports import Observation, Target, WriteGuard
from gitops_agent.errors import ConflictError, InvalidError, TargetError, UnavailableError

Progress = Callable[[str], None]
_SYNC = SyncConfig()  # the configuration's defaults are the applier's
Clock = Callable[[], float]
Sleep = Callable[[float], None]
#: Runs the calls given, up to ``width`` at once, and returns when all are done (a target's
#: thread pool; ``engine.ports.TargetHooks.together``).
RunTogether = Callable[[Sequence[Callable[[], None]], int], None]


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """How long to wait for conditions and workflows, and how often to look."""

    timeout: float = _SYNC.wait_timeout
    poll_interval: float = _SYNC.poll_interval
    progress_every: float = 5.0
    wait_healthy: bool = True
    concurrency: int = 1  # resources of one pass written at once (each in its own order)
    together: RunTogether | None = None  # how they are (the target's); None: one by one


class _State(enum.Enum):
    WAITING = "waiting"  # for its dependencies
    RUNNING = "running"  # a Workflow's run is under way
    SETTLING = "settling"  # applied; waiting until it is what was asked of it
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(slots=True)
class _Track:
    """The run of one resource: its plan, state, writes and the steps already created."""

    plan: ResourcePlan
    desired: DesiredResource | None
    state: _State = _State.WAITING
    message: str = ""
    reason: FailureReason | None = None
    writes: int = 0
    started_steps: set[str] = field(default_factory=set)
    waiting_since: float = 0.0
    last_progress: float = 0.0
    written_epoch: int = -1
    told: list[str] | None = None  # progress kept while written together with others


class Applier:
    """One execution of a plan against a target."""

    def __init__(
        self,
        plan: Plan,
        desired: Sequence[DesiredResource],
        target: Target,
        *,
        options: ApplyOptions = ApplyOptions(),
        progress: Progress = lambda line: None,
        observation: Observation | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        guard: WriteGuard | None = None,
    ) -> None:
        by_id = {d.id: d for d in desired}
        self.guard = guard
        self.fenced: str | None = None
        self.plan = plan
        self.target = target
        self.options = options
        self.progress = progress
        self.desired = list(desired)
        self.tracks = {
            r.id: _Track(r, by_id.get(r.id))
            for r in plan.resources
            if r.action is not Action.UNMANAGED
        }
        self.observation = observation or Observation()
        self.uids: dict[ObjectKey, str] = {}
        self.epoch = 0
        self.clock = clock
        self.sleep = sleep
        self.started = clock()

    def _tell(self, track: _Track, line: str) -> None:
        """A progress line about ``track``: straight out, or kept while resources are written
        at once (each resource's lines are then told together, in wave order)."""
        if track.told is None:
            self.progress(line)
        else:
            track.told.append(line)

    def run(self) -> tuple[ResourceResult, ...]:
        """Apply, wait, prune; return one result per planned resource."""
        applying = [t for t in self.tracks.values() if t.plan.action is not Action.DELETE]
        deadline = self.started + self.options.timeout
        for track in applying:
            track.waiting_since = self.clock()
        while self._permitted():
            self._advance(applying)
            if all(t.state in _FINAL for t in applying):
                break
            if self.clock() >= deadline:
                self._time_out(applying)
                break
            self.sleep(self.options.poll_interval)
            self._observe()
        self._prune([t for t in self.tracks.values() if t.plan.action is Action.DELETE])
        if any(t.writes for t in self.tracks.values()):
            self._observe()
        return tuple(self._result(t) for t in self.tracks.values())

    def _observe(self) -> None:
        """Look again; when the target cannot be read, keep what was seen last (the waits
        go on, bounded by the timeout) rather than give up the cycle."""
        try:
            self.observation = observe(self.target, self.desired)
        except TargetError as err:
            self.progress(f"could not observe the target, keeping what was seen last: {err}")
            return
        self.epoch += 1

    def _advance(self, tracks: Sequence[_Track]) -> None:
        ordered = sorted(tracks, key=lambda t: (t.plan.wave, t.plan.id))
        ready = [t for t in ordered if t.state is _State.WAITING and self._ready(t)]
        self._start_all(ready)
        for track in ordered:
            if track.state is _State.RUNNING:
                self._advance_workflow(track)
            if track.state is _State.SETTLING:
                self._settle(track)

    def _ready(self, track: _Track) -> bool:
        """Whether a waiting resource can be written now (its dependencies hold)."""
        if track.plan.action is Action.UNCHANGED:
            self._finish(track, _State.DONE, "")  # nothing to write: nothing to wait for
            return False
        blocked = self._blocking(track)
        if blocked:
            self._report_wait(track, f"for {blocked}")
        return blocked is None

    def _start_all(self, tracks: Sequence[_Track]) -> None:
        """Write the resources whose dependencies hold, up to ``concurrency`` at once; a
        resource's own objects keep their order (namespace, config, workload)."""
        width = min(self.options.concurrency, len(tracks))
        together = self.options.together
        if width <= 1 or together is None:
            for track in tracks:
                self._start(track)
            return
        for track in tracks:
            track.told = []
        together([functools.partial(self._start, track) for track in tracks], width)
        for track in tracks:
            lines, track.told = track.told or [], None
            for line in lines:
                self.progress(line)

    def _blocking(self, track: _Track) -> str | None:
        """None when every dependency is ready; a description of the wait otherwise.
        Marks the track skipped when a dependency failed."""
        waits = []
        for dependency in track.plan.depends:
            other = self.tracks.get(dependency.id)
            observed = self.observation.statuses.get(dependency.id)
            if other is not None and other.state in (_State.FAILED, _State.SKIPPED):
                what = f"{other.state.value}: {other.message}"
                if other.reason is FailureReason.UNHEALTHY and observed is not None:
                    what = f"is {_describe(observed)}"
                message = f"dependency {dependency.id} {what}"
                self._finish(track, _State.SKIPPED, message, FailureReason.DEPENDENCY)
                return ""
            if other is not None and other.state is _State.RUNNING:
                waits.append(f"{dependency.id} to finish its run")
                continue
            if other is not None and other.written_epoch >= self.epoch:
                waits.append(
                    f"{describe_condition(str(dependency.id), dependency.condition)} (now just applied)"
                )
                continue
            if other is not None and other.state is _State.WAITING:
                waits.append(f"{dependency.id} (now waiting for its own dependencies)")
                continue
            if other is not None and other.state not in (_State.DONE, _State.SETTLING):
                observed = None
            if observed is not None and condition_unreachable(dependency.condition, observed):
                message = f"dependency {dependency.id} is {_describe(observed)}"
                self._finish(track, _State.SKIPPED, message, FailureReason.DEPENDENCY)
                return ""
            if (
                observed is None
                or observed.settling
                or not condition_holds(dependency.condition, observed)
            ):
                now = _show(observed)
                waits.append(
                    f"{describe_condition(str(dependency.id), dependency.condition)} (now {now})"
                )
        return "; ".join(waits) if waits else None

    def _report_wait(self, track: _Track, what: str) -> None:
        """A progress line when what the resource waits ``what`` (``for X``, ``to be ready``)
        changes, and every few seconds."""
        now = self.clock()
        message = f"waiting {what}"
        if message != track.message or now - track.last_progress >= self.options.progress_every:
            waited = now - track.waiting_since
            self.progress(f"waiting {waited:.0f}s: {track.plan.id} waits {what}")
            track.last_progress = now
        track.message = message

    def _start(self, track: _Track) -> None:
        if track.plan.action is Action.CONFLICT:
            conflict = next(s for s in track.plan.steps if s.action is Action.CONFLICT)
            message = f"{conflict.key} {conflict.note}"
            self._finish(track, _State.FAILED, message, FailureReason.CONFLICT)
            return
        steps = track.desired.steps if track.desired else ()
        step_keys = {key for step in steps for key in step.keys}
        eager = [s for s in track.plan.steps if s.key not in step_keys and s.action in _WRITES]
        if not self._write(track, eager):
            return
        self._tell(track, f"applied {track.plan.id} ({track.plan.action})")
        track.state = _State.RUNNING
        if not steps:
            self._delete_stale(track)
            if track.state is _State.RUNNING and self._settles(track):
                track.state = _State.SETTLING
            elif track.state is _State.RUNNING:
                self._finish(track, _State.DONE, "")

    def _settles(self, track: _Track) -> bool:
        """Whether the applied resource is waited on until healthy (not a Bundle, which has
        no objects, nor anything with ``--no-wait``)."""
        return bool(self.options.wait_healthy and track.desired and track.desired.objects)

    def _permitted(self) -> bool:
        """Whether the guard still lets this agent write. Once it refuses, every resource not
        finished fails as fenced and nothing more is written (nor waited for)."""
        if self.fenced is None and self.guard is not None:
            self.fenced = self.guard.refusal()
            if self.fenced is not None:
                self.progress(f"stopping all writes: {self.fenced}")
                for track in self.tracks.values():
                    if track.state not in _FINAL:
                        message = f"not written: {self.fenced}"
                        self._finish(track, _State.FAILED, message, FailureReason.FENCED)
        return self.fenced is None

    def _write(self, track: _Track, steps: Sequence[ObjectStep]) -> bool:
        for step in sorted(steps, key=lambda s: apply_order(s.key)):
            if not self._permitted():
                return False
            create = step.action is Action.CREATE
            try:
                written = self.target.apply(step.desired or {}, create=create)
            except TargetError as err:
                message = str(err) + hints.for_failure(str(err), adopting=step.adopt)
                self._finish(track, _State.FAILED, message, _failure_of(err, FailureReason.APPLY))
                return False
            self.uids[step.key] = labels.uid_of(written)
            track.writes += 1
            track.written_epoch = self.epoch
            if step.adopt:
                note = hints.leftovers(written)
                self._tell(track, f"adopted {step.key} into {track.plan.id}{note}")
        return True

    def _settle(self, track: _Track) -> None:
        """Done once the applied resource is what was asked of it; failed when it cannot be."""
        if track.written_epoch >= self.epoch:
            self._report_wait(track, "to be ready (now just applied)")
            return
        observed = self.observation.statuses.get(track.plan.id)
        if observed is not None and observed.failed:
            message = f"{observed.status}/{observed.runtime}: {observed.message}"
            self._finish(track, _State.FAILED, message, FailureReason.UNHEALTHY)
        elif observed is not None and (observed.converged or observed.runtime == UNSUPPORTED):
            self._finish(track, _State.DONE, "" if observed.converged else observed.message)
        else:
            self._report_wait(track, f"to be ready (now {_show(observed)})")

    def _advance_workflow(self, track: _Track) -> None:
        desired = track.desired
        if desired is None or not desired.steps:
            return
        observed = self.observation.statuses.get(track.plan.id)
        if observed is not None and observed.runtime == UNSUPPORTED:
            self._finish(track, _State.DONE, observed.message)
            return
        phases = self.observation.steps.get(track.plan.id, {})
        failed = [name for name, phase in phases.items() if phase is Phase.FAILED]
        if failed:
            self._finish(
                track,
                _State.FAILED,
                f"step {', '.join(sorted(failed))} failed",
                FailureReason.UNHEALTHY,
            )
            return
        for step in desired.steps:
            if step.name in track.started_steps:
                continue
            if all(phases.get(up) is Phase.SUCCEEDED for up in step.depends):
                self._start_step(track, step.name, step.keys)
        if all(phases.get(s.name) is Phase.SUCCEEDED for s in desired.steps):
            self._delete_stale(track)
            if track.state is _State.RUNNING:
                self._finish(track, _State.DONE, f"{len(desired.steps)} step(s) succeeded")

    def _start_step(self, track: _Track, name: str, keys: Sequence[ObjectKey]) -> None:
        track.started_steps.add(name)
        wanted = set(keys)
        writes = [s for s in track.plan.steps if s.key in wanted and s.action in _WRITES]
        if writes and self._write(track, writes):
            self.progress(f"started {track.plan.id} step {name}")

    def _delete_stale(self, track: _Track) -> None:
        for step in track.plan.steps:
            if step.action is Action.DELETE and not self._delete(track, step):
                return

    def _delete(self, track: _Track, step: ObjectStep) -> bool:
        if not self._permitted():
            return False
        try:
            self.target.delete(step.live or {})
        except TargetError as err:
            reason = _failure_of(err, FailureReason.PRUNE)
            self._finish(track, _State.FAILED, f"delete {step.key}: {err}", reason)
            return False
        track.writes += 1
        return True

    def _prune(self, tracks: Sequence[_Track]) -> None:
        for track in sorted(tracks, key=lambda t: (t.plan.wave, t.plan.id)):
            if track.state in _FINAL:
                continue
            deletes = [s for s in track.plan.steps if s.action is Action.DELETE]
            for step in deletes:
                if not self._delete(track, step):
                    break
            else:
                self._finish(track, _State.DONE, f"{len(deletes)} object(s) deleted")
                self.progress(f"pruned {track.plan.id}")

    def _time_out(self, tracks: Sequence[_Track]) -> None:
        for track in tracks:
            if track.state not in _FINAL:
                what = track.message or "its workflow steps"
                self._finish(
                    track,
                    _State.FAILED,
                    f"timed out after {self.options.timeout:.0f}s {what}",
                    FailureReason.TIMEOUT,
                )

    def _finish(
        self, track: _Track, state: _State, message: str, reason: FailureReason | None = None
    ) -> None:
        track.state = state
        track.message = message
        track.reason = reason
        if state in (_State.FAILED, _State.SKIPPED):
            self._tell(track, f"{state.value} {track.plan.id}: {message}")

    def _result(self, track: _Track) -> ResourceResult:
        status = self.observation.statuses.get(track.plan.id)
        outcome = _outcome(track)
        if (
            outcome not in (Outcome.FAILED, Outcome.SKIPPED, Outcome.DELETED)
            and status
            and status.failed
        ):
            outcome, track.reason = Outcome.FAILED, FailureReason.UNHEALTHY
            track.message = f"{status.status}/{status.runtime}: {status.message}"
        return ResourceResult(
            track.plan.id, outcome, track.message, status, track.writes, track.reason
        )


_FINAL = frozenset({_State.DONE, _State.FAILED, _State.SKIPPED})
_WRITES = frozenset({Action.CREATE, Action.UPDATE})


def _failure_of(err: TargetError, otherwise: FailureReason) -> FailureReason:
    if isinstance(err, UnavailableError):
        return FailureReason.UNAVAILABLE
    if isinstance(err, InvalidError):
        return FailureReason.REJECTED
    if isinstance(err, ConflictError):
        return FailureReason.CONFLICT
    return otherwise


def _outcome(track: _Track) -> Outcome:
    if track.state is _State.FAILED:
        return Outcome.FAILED
    if track.state is _State.SKIPPED:
        return Outcome.SKIPPED
    return {
        Action.CREATE: Outcome.CREATED,
        Action.UPDATE: Outcome.CONFIGURED,
        Action.DELETE: Outcome.DELETED,
        Action.UNCHANGED: Outcome.UNCHANGED,
    }[track.plan.action]


def _describe(observed: ResourceStatus) -> str:
    """``active/failed (CrashLoopBackOff: ...)``: status, runtime and why."""
    why = f" ({observed.message})" if observed.message else ""
    return f"{observed.status}/{observed.runtime}{why}"


def _show(observed: ResourceStatus | None) -> str:
    if observed is None:
        return "not applied yet"
    detail = f": {observed.message}" if observed.message else ""
    return f"status {observed.status}, runtime {observed.runtime or '-'}{detail}"
