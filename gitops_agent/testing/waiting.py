"""Waiting for a condition instead of sleeping a fixed time: poll a predicate with a deadline.

``wait_for(predicate, timeout=..., message=...)`` calls ``predicate()`` every ``interval``
seconds until it returns a truthy value and returns that value; past ``timeout`` it raises
``TimeoutError`` naming what was awaited (``message``, or what a callable ``message`` says
then, e.g. the state it found) and the last value seen. Used by the project's tests, by
``forges.serving.wait_for_port`` and by ``bench/agent_bench.py``.
"""

from __future__ import annotations

import reprlib
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.02,
    message: str | Callable[[], str],
) -> T:
    """The first truthy value of ``predicate()`` (called at least once); ``TimeoutError``
    after ``timeout`` seconds, saying what was awaited: ``message`` ("the daemon to exit"),
    or, when it is callable, what it returns on the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            awaited = message() if callable(message) else message
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {awaited} (last: {reprlib.repr(value)})"
            )
        time.sleep(interval)
