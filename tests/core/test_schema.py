"""JSON Schema checks: patterns read as ECMA-262 reads them, and messages in words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest

from gitops_agent.core import schema


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def _all_patterns() -> list[str]:
    found: set[str] = set()
    for name in schema.SCHEMA_NAMES:
        text = resources.files("gitops_agent.core").joinpath(f"schemas/{name}.json").read_text()
        found.update(_patterns(json.loads(text)))
    return sorted(found)


SAMPLES = {"^/": "/etc/app", "KMGTPE": "64Mi"}


def _sample(pattern: str) -> str:
    for part, sample in SAMPLES.items():
        if part in pattern:
            return sample
    return "a1"


def test_every_pattern_of_the_schemas_is_anchored_at_both_ends_or_is_a_prefix() -> None:
    for pattern in _all_patterns():
        assert pattern.startswith("^"), pattern
        assert pattern.endswith("$") or pattern == "^/", pattern


@pytest.mark.parametrize("pattern", _all_patterns())
def test_no_anchored_pattern_matches_before_a_final_line_break(pattern: str) -> None:
    validator = schema.checker_of({"type": "string", "pattern": pattern})
    assert schema.check(validator, _sample(pattern)) == []
    if pattern.endswith("$"):
        assert schema.check(validator, _sample(pattern) + "\n") != []


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^a$", "a", True),
        ("^a$", "a\n", False),
        ("^a\\$$", "a$", True),
        ("^[$]$", "$", True),
        ("^[$]$", "$\n", False),
        ("a|b$", "b\n", False),
        ("^a\\\\$", "a\\", True),
    ],
)
def test_dollar_is_the_end_of_the_text(pattern: str, text: str, matches: bool) -> None:
    assert bool(schema.ecma_pattern(pattern).search(text)) is matches


def test_pattern_properties_and_additional_properties_read_patterns_the_same_way() -> None:
    validator = schema.checker_of(
        {
            "type": "object",
            "patternProperties": {"^[a-z]+$": {"type": "string"}},
            "additionalProperties": False,
        }
    )
    assert schema.check(validator, {"port": "80"}) == []
    problems = schema.check(validator, {"port\n": "80", "host": "h"})
    assert [p.message for p in problems] == ["unknown field 'port\\n'; known fields: "]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "must be a string, got null"),
        (5, "must be a string, got an integer (5)"),
        (0.5, "must be a string, got a number (0.5)"),
        (True, "must be a string, got a boolean (true); quote it"),
        ([1], "must be a string, got a list"),
        ({"a": 1}, "must be a string, got a mapping"),
    ],
)
def test_types_are_named_in_words(value: Any, words: str) -> None:
    validator = schema.checker_of({"type": "object", "properties": {"x": {"type": "string"}}})
    (problem,) = schema.check(validator, {"x": value})
    assert problem.message.startswith(f"'x': {words}")
    assert "null null" not in problem.message and "a int" not in problem.message
