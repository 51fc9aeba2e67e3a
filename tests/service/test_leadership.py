"""The elector against an in-memory Lease with resourceVersions and a manual clock: acquire,
renew, takeover only after the observed record stayed unchanged for its duration, 409 races,
release, and the write guard that says no once renewals failed for renewDeadline."""

from __future__ import annotations

import dataclasses
import random
import threading

import pytest

from gitops_agent.core.leases import LeaseRecord
from gitops_agent.errors import ConflictError, UnavailableError
from gitops_agent.service.leadership import LeaderElector, Timings

TIMINGS = Timings(lease_duration=15, renew_deadline=10, retry_period=2)


class MemoryLease:
    """A Lease as the API server keeps it: replaced only at the resourceVersion read."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version = 0
        self.down = False
        self.events: list[str] = []

    def _stored(self, record: LeaseRecord) -> LeaseRecord:
        self.version += 1
        self.record = dataclasses.replace(record, resource_version=str(self.version))
        return self.record

    def get(self) -> LeaseRecord | None:
        if self.down:
            raise UnavailableError("down")
        return self.record

    def create(self, record: LeaseRecord) -> LeaseRecord:
        if self.down:
            raise UnavailableError("down")
        if self.record is not None:
            raise ConflictError("already exists")
        return self._stored(record)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        if self.down:
            raise UnavailableError("down")
        assert self.record is not None
        if record.resource_version != self.record.resource_version:
            raise ConflictError("the object has been modified")
        return self._stored(record)

    def record_event(self, reason: str, message: str) -> None:
        self.events.append(f"{reason}: {message}")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def elector(lease: MemoryLease, name: str, clock: Clock) -> LeaderElector:
    return LeaderElector(lease, name, TIMINGS, clock=clock, rng=random.Random(1))


def test_the_first_candidate_creates_the_lease_and_leads() -> None:
    lease, clock = MemoryLease(), Clock()
    a = elector(lease, "a", clock)
    assert a._try_acquire_or_renew(clock())
    a._became_leader(clock())
    assert a.leading and a.refusal() is None
    assert lease.record is not None and lease.record.holder == "a"
    assert lease.record.duration == 15 and lease.record.transitions == 0
    assert lease.events == ["LeaderElection: a became leader"]


def test_a_follower_waits_the_whole_lease_duration_after_the_last_change_it_saw() -> None:
    lease, clock = MemoryLease(), Clock()
    a, b = elector(lease, "a", clock), elector(lease, "b", clock)
    assert a._try_acquire_or_renew(clock())
    assert not b._try_acquire_or_renew(clock())  # valid lease held by a
    clock.now += 14.9
    assert not b._try_acquire_or_renew(clock())
    clock.now += 0.2
    assert b._try_acquire_or_renew(clock())
    assert lease.record is not None and lease.record.holder == "b"
    assert lease.record.transitions == 1


def test_a_renewal_restarts_the_followers_timer() -> None:
    lease, clock = MemoryLease(), Clock()
    a, b = elector(lease, "a", clock), elector(lease, "b", clock)
    a._try_acquire_or_renew(clock())
    a._became_leader(clock())
    b._try_acquire_or_renew(clock())
    clock.now += 10
    first = lease.record
    assert a._try_acquire_or_renew(clock())  # renewal keeps acquireTime and transitions
    assert lease.record is not None and first is not None
    assert lease.record.acquired == first.acquired and lease.record.renewed != ""
    clock.now += 1
    assert not b._try_acquire_or_renew(clock())  # b saw the change: its timer starts over
    clock.now += 14
    assert not b._try_acquire_or_renew(clock())
    clock.now += 1.5
    assert b._try_acquire_or_renew(clock())


def test_racing_takeovers_one_wins_the_other_gets_a_409() -> None:
    lease, clock = MemoryLease(), Clock()
    old = elector(lease, "old", clock)
    old._try_acquire_or_renew(clock())
    b, c = elector(lease, "b", clock), elector(lease, "c", clock)
    b._try_acquire_or_renew(clock())
    c._try_acquire_or_renew(clock())
    clock.now += 16
    seen = lease.get()
    assert seen is not None
    assert b._try_acquire_or_renew(clock())
    lease_before = lease.record
    # c read the record b replaced: its PUT at the old resourceVersion is refused
    assert c._write(lease.update, dataclasses.replace(seen, holder="c"), clock()) is False
    assert lease.record == lease_before


def test_the_guard_refuses_writes_once_renewals_failed_for_the_renew_deadline() -> None:
    lease, clock = MemoryLease(), Clock()
    a = elector(lease, "a", clock)
    a._try_acquire_or_renew(clock())
    a._became_leader(clock())
    lease.down = True
    clock.now += 9.9
    assert a.refusal() is None
    clock.now += 0.1
    refusal = a.refusal()
    assert refusal is not None and "not renewed for 10.0s" in refusal
    # ...well before another replica could take over (leaseDuration after its last sight)
    assert TIMINGS.renew_deadline < TIMINGS.lease_duration


def test_the_leader_loop_gives_up_and_follows_when_renewals_keep_failing() -> None:
    lease = MemoryLease()
    stopped = threading.Event()
    a = LeaderElector(lease, "a", Timings(3, 1, 0.05), on_stopped=stopped.set, rng=random.Random(1))
    stop = threading.Event()
    thread = threading.Thread(target=a.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert _wait(lambda: a.leading)
        lease.down = True
        assert stopped.wait(3)
        assert not a.leading and a.refusal() == "a is not the leader"
        lease.down = False  # the lease is still a's: it renews it again
        assert _wait(lambda: a.leading)
    finally:
        stop.set()
        thread.join(2)


def test_release_hands_the_lease_over_at_once() -> None:
    lease, clock = MemoryLease(), Clock()
    a, b = elector(lease, "a", clock), elector(lease, "b", clock)
    a._try_acquire_or_renew(clock())
    a._became_leader(clock())
    assert not b._try_acquire_or_renew(clock())
    assert a.release()
    assert a.refusal() == "the agent is shutting down"
    assert lease.record is not None and lease.record.holder == "" and lease.record.duration == 1
    assert b._try_acquire_or_renew(clock())  # no holder: no need to wait
    assert lease.record.holder == "b"


def test_a_follower_does_not_release_anything() -> None:
    lease, clock = MemoryLease(), Clock()
    a, b = elector(lease, "a", clock), elector(lease, "b", clock)
    a._try_acquire_or_renew(clock())
    b._try_acquire_or_renew(clock())
    assert not b.release()
    assert lease.record is not None and lease.record.holder == "a"


@pytest.mark.parametrize(
    ("lease", "renew", "retry", "ok"),
    [(15, 10, 2, True), (2, 1.5, 0.3, True), (10, 10, 2, False), (15, 2, 2, False)],
)
def test_timings_are_checked_as_client_go_checks_them(
    lease: float, renew: float, retry: float, ok: bool
) -> None:
    from gitops_agent.core.config import parse_config
    from gitops_agent.errors import ConfigError

    text = f"leaderElection:\n  leaseDuration: {lease}\n  renewDeadline: {renew}\n  retryPeriod: {retry}\n"
    if ok:
        assert parse_config(text, "c.yaml").leader_election.renew_deadline == renew
    else:
        with pytest.raises(ConfigError, match="must be greater than renewDeadline"):
            parse_config(text, "c.yaml")


def _wait(predicate: object, timeout: float = 3.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False
