"""The write guard (leader election's fence) on the fake target: a cycle asks it before
every write; once it refuses, nothing more is written, nothing more is waited for, the
resources not finished fail as ``fenced`` and the final inventory is left to the next
leader (the pending one recorded before the first create stays)."""

from __future__ import annotations

from dataclasses import dataclass

from gitops_agent.core.results import FailureReason, Outcome
from gitops_agent.engine import reconcile
from tests.engine.test_engine_on_fake import (
    CHECKER,
    PAIR_FILES,
    A,
    Harness,
    desired_of,
    worker,
)


@dataclass
class Guard:
    """Refuses after ``allowed`` questions."""

    allowed: int
    asked: int = 0

    def refusal(self) -> str | None:
        self.asked += 1
        return None if self.asked <= self.allowed else "the lease was not renewed for 10.0s"


def cycle(h: Harness, files: dict[str, str], guard: Guard) -> reconcile.SyncResult:
    options = reconcile.CycleOptions(clock=h.clock, sleep=h.sleep, guard=guard)
    return reconcile.reconcile(
        desired_of(files), h.target, revision="r1", options=options, progress=h.lines.append
    )


def test_a_guard_that_never_refuses_changes_nothing() -> None:
    h = Harness()
    result = cycle(h, {"a.yaml": worker("a"), "b.yaml": worker("b")}, Guard(10_000))
    assert result.ok
    assert {r.outcome for r in result.resources} == {Outcome.CREATED}


def test_a_refusal_before_anything_is_written_writes_nothing() -> None:
    h = Harness()
    result = cycle(h, {"a.yaml": worker("a")}, Guard(0))
    assert result.failure is FailureReason.FENCED
    assert h.target.writes == 0


def test_a_refusal_mid_cycle_stops_every_later_write_and_wait() -> None:
    h = Harness()
    guard = Guard(3)  # the pending inventory, then two more questions
    result = cycle(h, dict(PAIR_FILES), guard)
    assert result.failure is FailureReason.FENCED
    written = h.target.writes
    fenced = [r for r in result.resources if r.reason is FailureReason.FENCED]
    assert fenced and all(r.outcome is Outcome.FAILED for r in fenced)
    assert CHECKER in {r.id for r in fenced}
    assert "stopping all writes" in "\n".join(h.lines)
    assert h.clock.slept == [] or sum(h.clock.slept) < 5  # no waiting once fenced
    assert h.target.writes == written
    assert {r.id: r.outcome for r in result.resources}[A] in (Outcome.CREATED, Outcome.FAILED)
