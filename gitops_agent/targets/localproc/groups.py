"""One process group's reconciliation: desired spec + observed replicas -> actions.

``GroupRuntime.step(now)`` is called by the daemon on every tick. A service group keeps
``replicas`` processes running: it starts missing ones, restarts exited ones with backoff,
stops the ones past the count, and rolls outdated ones one at a time (stop one, start its
replacement, wait until it has run ``min_ready_seconds``, go on). A job group runs its
replicas once per ``run_id`` and keeps their outcome. Without a spec (the desired file is
gone) every process is stopped and the group is then forgotten. ``status()`` is the record
the daemon writes; ``restore`` rebuilds a group from that record after a daemon restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping

from gitops_agent.targets.localproc import logs
from gitops_agent.targets.localproc.layout import StateLayout, write_projected_files
from gitops_agent.targets.localproc.processes import Launch, ProcessHandle, child_environment
from gitops_agent.targets.localproc.records import (
    GroupPhase,
    GroupStatus,
    ReplicaState,
)
from gitops_agent.targets.localproc.replicas import (
    LIVE,
    AfterStop,
    Replica,
    fingerprint_of,
    new_launch_id,
)
from gitops_agent.targets.localproc.settings import SupervisorSettings
from gitops_agent.targets.localproc.specs import GroupMode, ProcessGroupSpec, launch_fingerprint

log = logging.getLogger(__name__)
DEFAULT_GRACE = 5.0
STOP_POLL_SECONDS = 0.05  # how often a stopping replica's process group is checked


class GroupRuntime:
    """The daemon's live view of one group."""

    def __init__(self, name: str, *, layout: StateLayout, settings: SupervisorSettings) -> None:
        self.name = name
        self.layout = layout
        self.settings = settings
        self.spec: ProcessGroupSpec | None = None
        self.mode = GroupMode.SERVICE
        self.metadata: Mapping[str, str] = {}
        self.fingerprint = ""
        self.spec_hash = ""
        self.run_id = ""
        self.replicas: dict[int, Replica] = {}
        self.strays: list[Replica] = []
        self.files_fingerprint: str | None = None
        self.halting = False
        self.grace = DEFAULT_GRACE

    @classmethod
    def restore(
        cls, record: GroupStatus, *, layout: StateLayout, settings: SupervisorSettings
    ) -> GroupRuntime:
        """A group as an earlier daemon recorded it; recorded processes are watched again
        (those that died meanwhile are noticed on the first step)."""
        group = cls(record.name, layout=layout, settings=settings)
        group.mode, group.metadata = record.mode, record.metadata
        group.fingerprint, group.spec_hash = record.fingerprint, record.spec_hash
        group.run_id, group.grace = record.run_id, record.stop_grace_seconds
        for status in record.replicas:
            handle = None
            if status.pid and status.start_ticks is not None and status.launch_id:
                exit_path = layout.exit_file(record.name, status.index, status.launch_id)
                handle = ProcessHandle(status.pid, status.start_ticks, status.launch_id, exit_path)
            replica = Replica.from_status(status, handle)
            if replica.state is ReplicaState.STOPPING:
                replica.after_stop = AfterStop.REPLACE
                replica.stop_deadline = time.monotonic() + group.grace
            group.replicas[status.index] = replica
        return group

    def set_spec(self, spec: ProcessGroupSpec | None) -> None:
        """Work towards ``spec`` from now on (None: stop everything and forget the group)."""
        if spec is not None and spec != self.spec:
            self.mode, self.metadata = spec.mode, spec.metadata
            self.fingerprint, self.spec_hash = launch_fingerprint(spec), spec.spec_hash
            self.grace = spec.stop_grace_seconds
            if spec.mode is GroupMode.SERVICE:
                self.run_id = ""
        self.spec = spec

    def all_replicas(self) -> Iterator[Replica]:
        yield from list(self.replicas.values())
        yield from list(self.strays)

    def step(self, now: float) -> None:
        """One reconciliation pass."""
        for replica in self.all_replicas():
            replica.observe()
        self._progress_stops(now)
        if self.spec is None or self.halting:
            keep = self.halting and self.spec is not None
            self._stop_all(now, AfterStop.REPLACE if keep else AfterStop.DISCARD)
        elif self.mode is GroupMode.JOB:
            self._reconcile_job(self.spec, now)
        else:
            self._reconcile_service(self.spec, now)
        self._progress_stops(now)

    def watched(self) -> Iterator[ProcessHandle]:
        """The processes whose exit should wake the daemon: those of running replicas."""
        for replica in self.all_replicas():
            if replica.state is ReplicaState.RUNNING and replica.handle is not None:
                yield replica.handle

    def next_deadline(self, now: float) -> float | None:
        """When this group next needs a pass even if nothing happens (monotonic), or None:
        a backoff delay ending, a stop to check on, a replica becoming stable or ready."""
        deadlines = [self._deadline_of(replica, now) for replica in self.all_replicas()]
        return min((d for d in deadlines if d is not None), default=None)

    def _deadline_of(self, replica: Replica, now: float) -> float | None:
        if replica.state is ReplicaState.STOPPING:
            return now + STOP_POLL_SECONDS
        if replica.state is ReplicaState.BACKOFF:
            return replica.next_start
        if replica.state is not ReplicaState.RUNNING or self.mode is GroupMode.JOB:
            return None
        waits = []
        if replica.fast_failures:
            waits.append(self.settings.stable_after - replica.ran_for())
        rolling = any(r.fingerprint != self.fingerprint for r in self.replicas.values())
        if rolling and replica.fingerprint == self.fingerprint:
            waits.append(self.settings.min_ready_seconds - replica.ran_for())
        waits = [w for w in waits if w > -1.0]  # already past: the pass that saw it acted
        return now + max(0.0, min(waits)) + 0.001 if waits else None

    @property
    def removed(self) -> bool:
        """True once a group without a spec has no process left."""
        return self.spec is None and not self.replicas and not self.strays

    @property
    def has_processes(self) -> bool:
        return any(replica.handle is not None for replica in self.all_replicas())

    @property
    def idle(self) -> bool:
        """True when the group has no process and none to start: no spec, a service of no
        replicas, or a job whose current run has finished (its outcome is recorded)."""
        if self.has_processes or self.spec is None:
            return not self.has_processes
        if self.mode is GroupMode.SERVICE:
            return self.spec.replicas == 0
        return self._job_phase(self.spec)[0] in (GroupPhase.SUCCEEDED, GroupPhase.FAILED)

    def _progress_stops(self, now: float) -> None:
        for replica in self.all_replicas():
            if replica.state is ReplicaState.STOPPING and replica.progress_stop(now):
                self._finish_stop(replica, now)

    def _finish_stop(self, replica: Replica, now: float) -> None:
        after = replica.after_stop
        if replica in self.strays:
            self.strays.remove(replica)
        elif after is AfterStop.DISCARD:
            self.replicas.pop(replica.index, None)
        elif after is AfterStop.REPLACE:
            if replica.fingerprint != self.fingerprint:
                replica.reset(self.fingerprint)
            replica.state = ReplicaState.PENDING
        elif self.mode is GroupMode.JOB:
            succeeded = replica.last_exit_code == 0
            replica.state = ReplicaState.SUCCEEDED if succeeded else ReplicaState.FAILED
        else:
            replica.mark_fast_failure(self.settings.stable_after)
            delay = self.settings.restart_delay(replica.fast_failures)
            replica.state, replica.next_start = ReplicaState.BACKOFF, now + delay
            log.info("%s/%d %s; restart in %.1fs", self.name, replica.index, replica.message, delay)

    def _stop_all(self, now: float, after: AfterStop) -> None:
        for replica in self.all_replicas():
            if replica.handle is not None:
                if replica.state is ReplicaState.STOPPING:
                    if after is AfterStop.DISCARD:
                        replica.after_stop = after
                else:
                    replica.begin_stop(after, grace=self.grace, now=now)
            elif replica.state is not ReplicaState.STOPPING and after is AfterStop.DISCARD:
                self.replicas.pop(replica.index, None)

    def _scale_down(self, target: int, now: float) -> None:
        for index, replica in sorted(self.replicas.items()):
            if index < target:
                continue
            if replica.handle is None and replica.state is not ReplicaState.STOPPING:
                del self.replicas[index]
            elif replica.state is ReplicaState.STOPPING:
                replica.after_stop = AfterStop.DISCARD
            else:
                replica.begin_stop(AfterStop.DISCARD, grace=self.grace, now=now)

    def _reconcile_service(self, spec: ProcessGroupSpec, now: float) -> None:
        self._scale_down(spec.replicas, now)
        wanted = [self.replicas.setdefault(i, Replica(i)) for i in range(spec.replicas)]
        for replica in wanted:
            if replica.state in (ReplicaState.PENDING, ReplicaState.BACKOFF) and (
                replica.fingerprint != self.fingerprint
            ):
                replica.reset(self.fingerprint)
        self._roll(wanted, now)
        for replica in wanted:
            stable = replica.ran_for() >= self.settings.stable_after
            if replica.state is ReplicaState.RUNNING and replica.fast_failures and stable:
                replica.fast_failures = 0
            due = replica.state is ReplicaState.BACKOFF and now >= replica.next_start
            if replica.state is ReplicaState.PENDING or due:
                self._start(spec, replica)

    def _roll(self, wanted: list[Replica], now: float) -> None:
        """Stop one outdated running replica once every updated one is ready."""
        if any(
            r.state is ReplicaState.STOPPING and r.after_stop is AfterStop.REPLACE for r in wanted
        ):
            return
        current = [r for r in wanted if r.fingerprint == self.fingerprint]
        if not all(self._ready(r) for r in current):
            return
        outdated = [r for r in wanted if r.fingerprint != self.fingerprint]
        if outdated and outdated[0].state is ReplicaState.RUNNING:
            log.info("%s/%d: rolling to the new spec", self.name, outdated[0].index)
            outdated[0].begin_stop(AfterStop.REPLACE, grace=self.grace, now=now)

    def _ready(self, replica: Replica) -> bool:
        running = replica.state is ReplicaState.RUNNING
        return running and replica.ran_for() >= self.settings.min_ready_seconds

    def _reconcile_job(self, spec: ProcessGroupSpec, now: float) -> None:
        if spec.run_id != self.run_id and not self._begin_run(spec, now):
            return
        self._scale_down(spec.replicas, now)
        for index in range(spec.replicas):
            replica = self.replicas.setdefault(index, Replica(index, fingerprint=self.fingerprint))
            if replica.state is ReplicaState.PENDING:
                self._start(spec, replica)

    def _begin_run(self, spec: ProcessGroupSpec, now: float) -> bool:
        """Stop the previous run; True once it is gone and the new run may start."""
        self._stop_all(now, AfterStop.DISCARD)
        if self.replicas:
            return False
        if self.run_id:
            for index in logs.replica_indices(self.layout.group_logs(self.name)):
                path = self.layout.replica_log(self.name, index)
                logs.rotate(path, keep=self.settings.log_keep, wait=True)
        log.info("%s: starting run %s", self.name, spec.run_id)
        self.run_id = spec.run_id
        return True

    def _start(self, spec: ProcessGroupSpec, replica: Replica) -> None:
        replica.fingerprint = self.fingerprint
        try:
            launch = self._launch(spec, replica)
        except (OSError, ValueError) as exc:
            replica.fail_start(f"could not prepare the replica: {exc}")
            return
        replica.start(launch)
        if replica.handle is not None:
            log.info("%s/%d started (pid %d)", self.name, replica.index, replica.handle.pid)

    def _launch(self, spec: ProcessGroupSpec, replica: Replica) -> Launch:
        files_dir = self.layout.group_files(self.name)
        if self.files_fingerprint != self.fingerprint:
            write_projected_files(files_dir, spec.files)
            self.files_fingerprint = self.fingerprint
        for directory in (self.layout.group_logs(self.name), self.layout.group_run(self.name)):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        launch_id = new_launch_id(self.fingerprint)
        extra = {
            "GITOPS_AGENT_GROUP": self.name,
            "GITOPS_AGENT_REPLICA": str(replica.index),
            "GITOPS_AGENT_FILES_DIR": str(files_dir),
        }
        return Launch(
            spec.command,
            child_environment(spec.env, extra),
            files_dir,
            self.layout.replica_log(self.name, replica.index),
            self.layout.exit_file(self.name, replica.index, launch_id),
            launch_id,
            spec.memory_limit_bytes,
            spec.cpu_seconds_limit,
        )

    def adopt(self, index: int, handle: ProcessHandle) -> bool:
        """Take over a live process an earlier daemon started but never recorded; when its
        slot is taken or it ran another spec, it is stopped instead. True when adopted."""
        slot = self.replicas.get(index)
        fits = self.spec is not None and index < self.spec.replicas
        fits = fits and fingerprint_of(handle.launch_id) == self.fingerprint
        if fits and (slot is None or (slot.handle is None and slot.state not in LIVE)):
            replica = slot or Replica(index, fingerprint=self.fingerprint)
            replica.handle, replica.state = handle, ReplicaState.RUNNING
            replica.started_at = replica.started_at or time.time()
            self.replicas[index] = replica
            return True
        stray = Replica(index, ReplicaState.RUNNING, handle=handle)
        stray.begin_stop(AfterStop.DISCARD, grace=self.grace, now=time.monotonic())
        self.strays.append(stray)
        return False

    def status(self) -> GroupStatus:
        """The record of this group as it is now."""
        replicas = tuple(r.to_status() for _, r in sorted(self.replicas.items()))
        phase, failure, message = self._phase()
        return GroupStatus(
            self.name,
            self.mode,
            phase,
            desired_replicas=self.spec.replicas if self.spec else 0,
            ready=sum(1 for r in self.replicas.values() if r.state is ReplicaState.RUNNING),
            replicas=replicas,
            fingerprint=self.fingerprint,
            spec_hash=self.spec_hash,
            run_id=self.run_id,
            metadata=dict(self.metadata),
            failure=failure,
            message=message,
            stop_grace_seconds=self.grace,
            updated_at=time.time(),
        )

    def _phase(self) -> tuple[GroupPhase, str | None, str]:
        if self.spec is None:
            return GroupPhase.TERMINATING, None, "stopping all processes"
        if self.mode is GroupMode.JOB:
            return self._job_phase(self.spec)
        loop = [r for r in self.replicas.values() if self._crash_looping(r)]
        if loop:
            worst = max(loop, key=lambda r: r.fast_failures)
            failure = (
                f"CrashLoopBackOff: replica {worst.index} {worst.message} "
                f"({worst.fast_failures} times in a row)"
            )
            return GroupPhase.FAILED, failure, failure
        ready = sum(1 for r in self.replicas.values() if r.state is ReplicaState.RUNNING)
        message = f"{ready}/{self.spec.replicas} replicas running"
        if ready or not self.spec.replicas:
            return GroupPhase.RUNNING, None, message
        return GroupPhase.PENDING, None, message

    def _crash_looping(self, replica: Replica) -> bool:
        return replica.fast_failures >= self.settings.crash_loop_after

    def _job_phase(self, spec: ProcessGroupSpec) -> tuple[GroupPhase, str | None, str]:
        current = [r for r in self.replicas.values() if r.index < spec.replicas]
        if spec.run_id != self.run_id:
            return GroupPhase.PENDING, None, f"waiting for run {self.run_id} to stop"
        done = [r for r in current if r.state is ReplicaState.SUCCEEDED]
        if any(r.state in LIVE for r in current):
            return GroupPhase.RUNNING, None, f"{len(done)}/{spec.replicas} replicas succeeded"
        failed = [r for r in current if r.state is ReplicaState.FAILED]
        if failed:
            return GroupPhase.FAILED, None, f"replica {failed[0].index} {failed[0].message}"
        if spec.replicas and len(done) == spec.replicas:
            return GroupPhase.SUCCEEDED, None, "exited with code 0"
        return GroupPhase.PENDING, None, "not started"
