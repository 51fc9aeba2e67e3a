"""Leader election among the replicas of one agent, as client-go's ``leaderelection`` does it.

``LeaderElector.run(stop)`` (a thread of ``run``) tries every ``retryPeriod`` (x1.2 jitter)
to take the Lease: it creates it when missing, takes it over when its record has not changed
for the record's ``leaseDurationSeconds`` (timed on the local monotonic clock from the moment
the change was seen: record timestamps are never compared with this clock, so clock skew
between replicas does not matter), or when it was released (no holder). The leader renews
every ``retryPeriod`` through a PUT of the object it last read, so a lost race is a 409
and not a silent overwrite; renewal keeps ``acquireTime``, a takeover increments
``leaseTransitions``. A leader whose renewals keep failing gives up ``renewDeadline`` after
its last successful one and becomes a follower again, trying to acquire.

It is also the ``WriteGuard`` of every cycle: ``refusal()`` says no as soon as this agent
is not the leader, has not renewed within ``renewDeadline`` (so it stops writing before its
lease can expire and another replica take over: leaseDuration > renewDeadline), or is
shutting down. ``release()`` (SIGTERM) writes an empty holder with a one-second duration,
so a follower takes over at its next try instead of after the whole lease duration.

The Lease is reached through the ``LeaseLock`` port (``targets.leases`` on Kubernetes);
clocks and the random source are injected. Built by ``service.coordination``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from gitops_agent.core.config import JITTER_FACTOR, LeaderElectionConfig
from gitops_agent.core.leases import LeaseRecord, micro_time
from gitops_agent.errors import ConflictError, TargetError

log = logging.getLogger("gitops_agent.leader")


class LeaseLock(Protocol):
    """Where the record lives: read, created once, then replaced at a resourceVersion."""

    def get(self) -> LeaseRecord | None:
        """The current record; None when there is no Lease."""
        ...

    def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create the Lease; ConflictError when another replica created it first."""
        ...

    def update(self, record: LeaseRecord) -> LeaseRecord:
        """Replace the record read at ``record.resource_version``; ConflictError when it moved."""
        ...

    def record_event(self, reason: str, message: str) -> None:
        """Record a Kubernetes Event about the Lease (best effort: failures are logged)."""
        ...


@dataclass(frozen=True, slots=True)
class Timings:
    """client-go's three durations, in seconds."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    @classmethod
    def of(cls, config: LeaderElectionConfig) -> Timings:
        return cls(config.lease_duration, config.renew_deadline, config.retry_period)


class LeaderElector:
    """One replica's part in the election; thread-safe."""

    def __init__(
        self,
        lock: LeaseLock,
        identity: str,
        timings: Timings = Timings(),
        *,
        on_started: Callable[[], None] = lambda: None,
        on_stopped: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.lock = lock
        self.identity = identity
        self.timings = timings
        self.on_started = on_started
        self.on_stopped = on_stopped
        self.clock = clock
        self.wall = wall
        self.rng = rng or random.Random()
        self._mutex = threading.Lock()
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._leader = False
        self._renewed_at = -math.inf
        self._stopping = False
        self._complained: str | None = None
        self.seen_lease = threading.Event()  # set once the Lease was read or written

    @property
    def leading(self) -> bool:
        """True while this replica holds the lease and renewed it within renewDeadline."""
        return self.refusal() is None

    @property
    def holder(self) -> str:
        """Who holds the lease as last seen (empty when nobody does)."""
        with self._mutex:
            return self._observed.holder if self._observed else ""

    def refusal(self) -> str | None:
        """The ``WriteGuard`` answer: None while this replica may write."""
        with self._mutex:
            if self._stopping:
                return "the agent is shutting down"
            if not self._leader:
                return f"{self.identity} is not the leader"
            silent = self.clock() - self._renewed_at
            if silent >= self.timings.renew_deadline:
                return (
                    f"the lease was not renewed for {silent:.1f}s "
                    f"(renewDeadline {self.timings.renew_deadline:g}s)"
                )
        return None

    def run(self, stop: threading.Event) -> None:
        """Acquire, renew until lost or stopped, and start over; returns once ``stop`` is set."""
        while not stop.is_set():
            if not self._acquire(stop):
                return
            self._lead(stop)

    def _acquire(self, stop: threading.Event) -> bool:
        """Try until this replica holds the lease (True) or ``stop`` is set (False)."""
        while not stop.is_set():
            started = self.clock()
            if self._try_acquire_or_renew(started):
                self._became_leader(started)
                return True
            jitter = 1.0 + self.rng.random() * (JITTER_FACTOR - 1.0)
            stop.wait(self.timings.retry_period * jitter)
        return False

    def _lead(self, stop: threading.Event) -> None:
        """Renew every retryPeriod; give up renewDeadline after the last success."""
        while not stop.wait(self.timings.retry_period):
            while True:
                started = self.clock()
                if self._try_acquire_or_renew(started):
                    with self._mutex:
                        self._renewed_at = started
                    break
                with self._mutex:
                    remaining = self._renewed_at + self.timings.renew_deadline - self.clock()
                if remaining <= 0 or stop.is_set():
                    if not stop.is_set():
                        self._lost()
                    return
                stop.wait(min(self.timings.retry_period, remaining))

    def _became_leader(self, at: float) -> None:
        with self._mutex:
            self._leader, self._renewed_at = True, at
        log.info("%s became the leader", self.identity)
        self.lock.record_event("LeaderElection", f"{self.identity} became leader")
        self.on_started()

    def _lost(self) -> None:
        with self._mutex:
            self._leader = False
        log.warning(
            "%s lost the lease (not renewed within %gs): writes stopped, following",
            self.identity,
            self.timings.renew_deadline,
        )
        self.on_stopped()

    def _try_acquire_or_renew(self, now: float) -> bool:
        """One attempt (``tryAcquireOrRenew``): True when this replica holds the lease."""
        moment = micro_time(self.wall())
        desired = LeaseRecord(self.identity, _seconds(self.timings), moment, moment, 0)
        with self._mutex:
            cached = self._observed if self._leader else None
        if cached is not None and cached.holder == self.identity:
            renewed = dataclasses.replace(
                desired,
                acquired=cached.acquired,
                transitions=cached.transitions,
                resource_version=cached.resource_version,
            )
            if self._write(self.lock.update, renewed, now):
                return True
        try:
            current = self.lock.get()
        except TargetError as err:
            self._complain(f"cannot read the lease: {err}")
            return False
        if current is None:
            return self._write(self.lock.create, desired, now)
        self._observe(current, now)
        if current.holder and current.holder != self.identity and self._valid(current, now):
            return False
        if current.holder == self.identity:
            desired = dataclasses.replace(
                desired, acquired=current.acquired, transitions=current.transitions
            )
        else:
            desired = dataclasses.replace(desired, transitions=current.transitions + 1)
        return self._write(
            self.lock.update,
            dataclasses.replace(desired, resource_version=current.resource_version),
            now,
        )

    def _complain(self, problem: str) -> None:
        """Log a failure to reach the lease once, not at every retry."""
        if problem != self._complained:
            log.warning("%s", problem)
            self._complained = problem

    def _valid(self, record: LeaseRecord, now: float) -> bool:
        with self._mutex:
            return self._observed_at + record.duration > now

    def _observe(self, record: LeaseRecord, now: float) -> None:
        """A changed record restarts the local timer; the same one keeps it."""
        with self._mutex:
            if not record.same_record(self._observed):
                self._observed_at = now
            self._observed = record
        self.seen_lease.set()

    def _write(
        self, write: Callable[[LeaseRecord], LeaseRecord], record: LeaseRecord, now: float
    ) -> bool:
        try:
            written = write(record)
        except ConflictError as err:
            log.debug("lost a race for the lease: %s", err)
            return False
        except TargetError as err:
            self._complain(f"cannot write the lease: {err}")
            return False
        self._complained = None
        with self._mutex:
            self._observed, self._observed_at = written, now
        self.seen_lease.set()
        return True

    def stop_writing(self) -> None:
        """Refuse every write from now on (the first step of a shutdown)."""
        with self._mutex:
            self._stopping = True

    def release(self) -> bool:
        """Stop writing at once and, when leading, hand the lease over (empty holder, one
        second); True when released."""
        with self._mutex:
            self._stopping = True
            leading, observed = self._leader, self._observed
            self._leader = False
        if not leading or observed is None or observed.holder != self.identity:
            return False
        moment = micro_time(self.wall())
        empty = LeaseRecord("", 1, moment, moment, observed.transitions, observed.resource_version)
        try:
            self.lock.update(empty)
        except TargetError as err:
            log.warning("could not release the lease: %s", err)
            return False
        log.info("%s released the lease", self.identity)
        return True


def _seconds(timings: Timings) -> int:
    """``leaseDurationSeconds`` (whole seconds, at least one)."""
    return max(1, round(timings.lease_duration))
