"""The shared test support: ``wait_for``."""

from __future__ import annotations

import itertools

import pytest

from gitops_agent.testing.waiting import wait_for


def test_wait_for_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert wait_for(lambda: next(counter) >= 3 and "done", timeout=5, message="three") == "done"


def test_wait_for_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match=r"after 0.05s waiting for the moon \(last: \[\]\)"):
        wait_for(list, timeout=0.05, interval=0.01, message="the moon")
