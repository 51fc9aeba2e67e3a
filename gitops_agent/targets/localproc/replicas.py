"""One replica's life: start, notice an exit, stop with a grace period, and what comes next.

``Replica`` is the daemon's mutable view of a replica slot (index ``i`` of a group): its
current process (``ProcessHandle``) and its history (restarts, consecutive fast failures,
last exit code). ``groups.py`` decides *when* to start or stop a replica; this module does
it and keeps the bookkeeping right. Deadlines use the monotonic clock; the timestamps shown
to users use wall-clock time.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import secrets
import signal
import time
from dataclasses import dataclass

from gitops_agent.targets.localproc.processes import (
    Launch,
    ProcessHandle,
    poll_exit,
    replica_gone,
    signal_replica,
    spawn,
)
from gitops_agent.targets.localproc.records import ReplicaState, ReplicaStatus

log = logging.getLogger(__name__)


class AfterStop(enum.Enum):
    """What a replica becomes once its processes are gone."""

    OUTCOME = "outcome"  # it exited by itself: restart with backoff (service) or finish (job)
    REPLACE = "replace"  # stopped on purpose; starts again (a roll, a new run, a shutdown)
    DISCARD = "discard"  # scaled down or removed: the slot goes away


def new_launch_id(fingerprint: str) -> str:
    """``<fingerprint>.<random>``: unique per process, and tells which spec it ran."""
    return f"{fingerprint}.{secrets.token_hex(4)}"


def fingerprint_of(launch_id: str) -> str:
    return launch_id.split(".", 1)[0]


@dataclass(slots=True)
class Replica:
    """A replica slot and its current process, if any."""

    index: int
    state: ReplicaState = ReplicaState.PENDING
    fingerprint: str = ""
    handle: ProcessHandle | None = None
    restarts: int = 0
    fast_failures: int = 0
    last_exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    message: str = ""
    next_start: float = 0.0
    stop_deadline: float = 0.0
    killed: bool = False
    after_stop: AfterStop = AfterStop.OUTCOME

    @classmethod
    def from_status(cls, status: ReplicaStatus, handle: ProcessHandle | None) -> Replica:
        """A slot as an earlier daemon recorded it; ``handle`` is its process, if recorded."""
        return cls(
            status.index,
            status.state if handle or status.state not in LIVE else ReplicaState.PENDING,
            status.fingerprint,
            handle,
            status.restarts,
            status.fast_failures,
            status.last_exit_code,
            status.started_at,
            status.finished_at,
            status.message,
        )

    def to_status(self) -> ReplicaStatus:
        handle = self.handle
        return ReplicaStatus(
            self.index,
            self.state,
            pid=handle.pid if handle else None,
            start_ticks=handle.start_ticks if handle else None,
            launch_id=handle.launch_id if handle else "",
            fingerprint=self.fingerprint,
            restarts=self.restarts,
            fast_failures=self.fast_failures,
            last_exit_code=self.last_exit_code,
            started_at=self.started_at,
            finished_at=self.finished_at,
            message=self.message,
        )

    def start(self, launch: Launch) -> None:
        """Start the replica's process; a failure to start counts as a failed run."""
        if self.state is ReplicaState.BACKOFF:
            self.restarts += 1
        try:
            self.handle = spawn(launch)
        except OSError as exc:
            self.fail_start(f"could not start: {exc.strerror or exc}")
            return
        self.state = ReplicaState.RUNNING
        self.started_at, self.finished_at, self.message = time.time(), None, ""
        self.killed = False

    def fail_start(self, message: str) -> None:
        """Record a start that did not happen; it is handled like a run that failed."""
        self.started_at = self.finished_at = time.time()
        self.last_exit_code, self.message = None, message
        self.state, self.after_stop = ReplicaState.STOPPING, AfterStop.OUTCOME

    def ran_for(self) -> float:
        """Seconds between the last start and the exit (or now)."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at

    def observe(self) -> bool:
        """Check a running process; on exit, record it and start clearing what it left
        behind. True when the replica changed."""
        if self.handle is None or self.state is not ReplicaState.RUNNING:
            return False
        exited, code = poll_exit(self.handle)
        if not exited:
            return False
        self.last_exit_code, self.finished_at = code, time.time()
        self.message = describe_exit(code)
        self.begin_stop(AfterStop.OUTCOME, grace=0.0, now=time.monotonic())
        return True

    def begin_stop(self, after: AfterStop, *, grace: float, now: float) -> None:
        """SIGTERM the replica's process group; SIGKILL follows after ``grace`` seconds."""
        self.after_stop = after
        if self.handle is None:
            self.state = ReplicaState.STOPPING
            return
        if self.state is not ReplicaState.STOPPING:
            signal_replica(self.handle, signal.SIGTERM)
            self.stop_deadline = now + grace
            self.state = ReplicaState.STOPPING

    def progress_stop(self, now: float) -> bool:
        """Drive a stopping replica; True once its processes are all gone."""
        handle = self.handle
        if handle is None:
            return True
        exited, code = poll_exit(handle)
        if exited and self.finished_at is None:
            self.last_exit_code, self.finished_at = code, time.time()
        if replica_gone(handle):
            self.handle = None
            with contextlib.suppress(OSError):
                handle.exit_path.unlink()
            return True
        if now >= self.stop_deadline and not self.killed:
            log.info("replica %d: grace period over, sending SIGKILL", self.index)
            signal_replica(handle, signal.SIGKILL)
            self.killed = True
        return False

    def mark_fast_failure(self, stable_after: float) -> None:
        """Count an exit toward a crash loop unless the process had run long enough."""
        self.fast_failures = self.fast_failures + 1 if self.ran_for() < stable_after else 1

    def reset(self, fingerprint: str) -> None:
        """A fresh slot for a new spec or run: history cleared, nothing running."""
        self.state, self.fingerprint = ReplicaState.PENDING, fingerprint
        self.restarts = self.fast_failures = 0
        self.last_exit_code = self.started_at = self.finished_at = None
        self.message, self.next_start, self.killed = "", 0.0, False


LIVE = (ReplicaState.RUNNING, ReplicaState.STOPPING)


def describe_exit(code: int | None) -> str:
    """``exited with code 3``, ``killed by SIGKILL``, or ``exited (code unknown)``."""
    if code is None:
        return "exited (exit code unknown)"
    if code > 128:
        try:
            return f"killed by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return f"exited with code {code}"
