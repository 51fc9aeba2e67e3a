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
    "expression",
    [
        "*/5 * * * *",
        "0 3 * * 1-5",
        "0 0 1 jan,jul ?",
        "@hourly",
        "15 2 * * SUN",
        "5/15 * * * *",
        "*/100 * * * *",
        "0 0 * * mon-fri",
        "59 23 31 12 6",
    ],
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
        ("50-10 * * * *", "the range 50-10 runs backwards"),
        ("* * * dec-jan *", "the range dec-jan runs backwards"),
        ("* * * * fri-mon", "the range fri-mon runs backwards"),
        ("* * * * 7", "outside 0-6 (Sunday is 0)"),
        ("* * 0 * *", "outside 1-31"),
        ("99999999999999999999 * * * *", "outside 0-59"),
        ("9" * 5000 + " * * * *", "outside 0-59"),
        ("*/99999999999999999999 * * * *", "is too large a number"),
        ("*/" + "9" * 5000 + " * * * *", "is too large a number"),
        ("1,,2 * * * *", "is not a value, a range or a step"),
        ("1-2-3 * * * *", "is not a value, a range or a step"),
        ("-5 * * * *", "is not a value, a range or a step"),
        ("1/2/3 * * * *", "is not a value, a range or a step"),
        ("\u0661 * * * *", "is not a value"),
    ],
)
def test_invalid_crons(expression: str, message: str) -> None:
    problem = cron.problem(expression)
    assert problem is not None and message in problem


def test_messages_quote_long_expressions_short() -> None:
    problem = cron.problem("9" * 5000 + " * * * *")
    assert problem is not None and len(problem) < 400


def test_next_time_of_an_unknown_timezone_is_none() -> None:
    from datetime import UTC, datetime

    after = datetime(2030, 1, 1, tzinfo=UTC)
    assert cron.next_time("0 * * * *", after, timezone="America") is None
    assert cron.next_time("0 * * * *", after, timezone="A" * 5000) is None
    assert cron.next_time("0 * * * *", after, timezone="Europe/Berlin") is not None


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Etc/GMT+5"])
def test_zone_files_are_timezones(name: str) -> None:
    assert cron.timezone_problem(name) is None


@pytest.mark.parametrize(
    "name",
    ["America", "Europe", "Mars/Olympus", "Europe/../UTC", "UTC\n", "", "localtime", "A" * 5000],
)
def test_directories_and_unknown_names_are_not_timezones(name: str) -> None:
    assert cron.timezone_problem(name) is not None
