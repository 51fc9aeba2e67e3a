"""Dependency graphs (cycles, waves, order) and cron expression checks."""

from __future__ import annotations

import pytest

from gitops_agent.core import cron, graph


def test_cycle_is_reported_as_a_path() -> None:
    assert graph.find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert graph.find_cycle({"a": ["b"], "b": [], "c": ["a", "b"]}) is None
    assert graph.find_cycle({"a": ["missing"]}) is None


def test_waves_and_order() -> None:
    depends = {"verify": ["worker"], "worker": [], "other": [], "last": ["verify", "other"]}
    assert graph.waves(depends) == [["worker", "other"], ["verify"], ["last"]]
    assert graph.topological_order(depends) == ["worker", "other", "verify", "last"]


def test_long_chains_do_not_recurse() -> None:
    depends = {f"n{i}": [f"n{i + 1}"] for i in range(5000)}
    depends["n5000"] = []
    assert graph.find_cycle(depends) is None
    assert graph.topological_order(depends)[0] == "n5000"


@pytest.mark.parametrize(
    "expression", ["*/5 * * * *", "0 3 * * 1-5", "0 0 1 jan,jul ?", "@hourly", "15 2 * * SUN"]
)
def test_valid_crons(expression: str) -> None:
    assert cron.problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "needs 5 fields"),
        ("60 * * * *", "outside 0-59"),
        ("* 24 * * *", "outside 0-23"),
        ("*/0 * * * *", "step of 0"),
        ("@often", "unknown cron macro"),
        ("* * * foo *", "outside 1-12"),
    ],
)
def test_invalid_crons(expression: str, message: str) -> None:
    problem = cron.problem(expression)
    assert problem is not None and message in problem
