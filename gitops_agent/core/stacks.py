"""The stack registry: which stacks exist and what a valid ``stackSpec`` looks like for each.

Read by ``core.validation`` (the stack is known, its ``stackSpec`` matches the stack's JSON
Schema) and by the renderers (how a stack becomes a container or a process). The built-in
stacks are ``container``, ``bento`` and ``fastfun``; the agent configuration can add more
(``target.stacks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_STRINGS = {"type": "array", "items": {"type": "string"}}

CONTAINER_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["image"],
    "properties": {
        "image": {"type": "string", "minLength": 1},
        "command": _STRINGS,
        "arguments": _STRINGS,
    },
}

BENTO_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["input", "output"],
    "properties": {
        key: {"type": "object"}
        for key in [
            "http",
            "input",
            "buffer",
            "pipeline",
            "output",
            "input_resources",
            "processor_resources",
            "output_resources",
            "cache_resources",
            "rate_limit_resources",
            "logger",
            "metrics",
            "tracer",
        ]
    }
    | {"shutdown_delay": {"type": "string"}, "shutdown_timeout": {"type": "string"}},
}

_DATASETS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["datasets"],
    "properties": {
        "datasets": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "options": {"type": "object"},
    },
}

FASTFUN_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["input", "output"],
    "properties": {"input": _DATASETS, "output": _DATASETS},
}


@dataclass(frozen=True, slots=True)
class Stack:
    """One stack: the schema of its ``stackSpec`` and how it runs.

    ``image`` is None when the ``stackSpec`` names the image (the container stack).
    """

    name: str
    spec_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    image: str | None = None


BUILTIN_STACKS: Mapping[str, Stack] = {
    "container": Stack("container", CONTAINER_SCHEMA),
    "bento": Stack("bento", BENTO_SCHEMA),
    "fastfun": Stack("fastfun", FASTFUN_SCHEMA),
}


@dataclass(frozen=True, slots=True)
class StackRegistry:
    """The stacks a repository may use."""

    stacks: Mapping[str, Stack] = field(default_factory=lambda: dict(BUILTIN_STACKS))

    def get(self, name: str) -> Stack | None:
        return self.stacks.get(name)

    def names(self) -> list[str]:
        return sorted(self.stacks)

    def extended(self, extra: Mapping[str, Stack]) -> StackRegistry:
        """This registry with ``extra`` stacks added (or replacing built-ins of that name)."""
        return StackRegistry({**self.stacks, **extra})
