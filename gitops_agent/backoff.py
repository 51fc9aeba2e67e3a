"""Bounded exponential backoff with jitter, for network calls that may fail for a while.

``BackoffPolicy`` is a value (initial delay, factor, cap, attempts, total time budget);
``retry_call(fn, policy=..., retry_on=...)`` calls ``fn`` until it returns, a non-retryable
exception escapes, or the policy's attempts or time budget run out (then the last exception
is re-raised). Neutral ground for every edge that retries: the agent loop wraps
``GitSource.remote_revision`` / ``checkout`` with it, the HTTP reporters use
``BackoffPolicy.delay`` together with a server's ``Retry-After``, the local supervisor paces
restarts with it. The clock, the sleep and the random source are injectable so tests run in
milliseconds.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How often and how long to retry: ``initial * factor**n`` capped, with full jitter."""

    initial: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0
    max_attempts: int = 5
    max_elapsed: float = 120.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError("backoff needs initial >= 0, factor >= 1, max_delay >= 0")
        if self.max_attempts < 1 or self.max_elapsed < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff needs max_attempts >= 1, max_elapsed >= 0, 0 <= jitter <= 1")

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        The base delay grows geometrically up to ``max_delay``; a ``jitter`` fraction of it is
        drawn uniformly so that many agents do not retry in lockstep.
        """
        base = min(self.max_delay, self.initial * self.factor ** max(0, attempt - 1))
        draw = (rng or _RNG).random()
        return base * (1 - self.jitter) + base * self.jitter * draw


_RNG = random.Random()


def retry_call(
    fn: Callable[[], T],
    *,
    policy: BackoffPolicy,
    retry_on: tuple[type[BaseException], ...],
    describe: str = "operation",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Call ``fn`` and retry on ``retry_on`` exceptions within the policy's bounds."""
    started = clock()
    attempt = 1
    while True:
        try:
            return fn()
        except retry_on as exc:
            wait = policy.delay(attempt, rng=rng)
            out_of_time = clock() - started + wait > policy.max_elapsed
            if attempt >= policy.max_attempts or out_of_time:
                raise
            log.warning(
                "%s failed (attempt %d of %d), retrying in %.2fs: %s",
                describe,
                attempt,
                policy.max_attempts,
                wait,
                exc,
            )
            sleep(wait)
            attempt += 1
