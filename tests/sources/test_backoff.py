"""retry_call and BackoffPolicy: bounded attempts, bounded time, jittered growth."""

from __future__ import annotations

import random

import pytest

from gitops_agent.backoff import BackoffPolicy, retry_call
from gitops_agent.errors import ConfigError, SourceError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def flaky(failures: int, exc: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise exc
        return "ok"

    return calls, fn


def test_retries_until_success_with_growing_delays() -> None:
    clock = FakeClock()
    calls, fn = flaky(3, SourceError("network down"))
    policy = BackoffPolicy(initial=1, factor=2, max_delay=100, max_attempts=5, jitter=0)
    result = retry_call(
        fn,  # type: ignore[arg-type]
        policy=policy,
        retry_on=(SourceError,),
        sleep=clock.sleep,
        clock=clock.clock,
    )
    assert result == "ok"
    assert len(calls) == 4
    assert clock.sleeps == [1, 2, 4]


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    clock = FakeClock()
    calls, fn = flaky(10, SourceError("still down"))
    policy = BackoffPolicy(initial=0.1, max_attempts=3)
    with pytest.raises(SourceError, match="still down"):
        retry_call(fn, policy=policy, retry_on=(SourceError,), sleep=clock.sleep, clock=clock.clock)  # type: ignore[arg-type]
    assert len(calls) == 3
    assert len(clock.sleeps) == 2


def test_gives_up_when_the_time_budget_is_spent() -> None:
    clock = FakeClock()
    calls, fn = flaky(10, SourceError("slow"))
    policy = BackoffPolicy(initial=10, factor=1, max_attempts=100, max_elapsed=25, jitter=0)
    with pytest.raises(SourceError):
        retry_call(fn, policy=policy, retry_on=(SourceError,), sleep=clock.sleep, clock=clock.clock)  # type: ignore[arg-type]
    assert clock.now <= 25
    assert len(calls) == 3


def test_other_errors_are_not_retried() -> None:
    clock = FakeClock()
    calls, fn = flaky(1, ConfigError("bad url"))
    with pytest.raises(ConfigError):
        retry_call(fn, policy=BackoffPolicy(), retry_on=(SourceError,), sleep=clock.sleep)  # type: ignore[arg-type]
    assert len(calls) == 1
    assert clock.sleeps == []


def test_delay_is_capped_and_jitter_stays_in_bounds() -> None:
    policy = BackoffPolicy(initial=1, factor=3, max_delay=5, jitter=0.5)
    rng = random.Random(7)
    for attempt in range(1, 12):
        base = min(5, 3 ** (attempt - 1))
        delay = policy.delay(attempt, rng=rng)
        assert base * 0.5 <= delay <= base
    with pytest.raises(ValueError):
        BackoffPolicy(max_attempts=0)
