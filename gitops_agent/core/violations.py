"""Violation: one thing wrong with a repository's manifests, located by file, line and column.

Produced by ``core.yamldoc`` (syntax and limits), ``core.loading`` (references, variables)
and ``core.validation`` (schemas and semantic rules); printed by the command line as
``path:line:column: type/workspace/name: message`` and as JSON objects with ``-o json``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Violation:
    """One problem found in a manifest. ``line`` and ``column`` are 1-based; 0 means unknown."""

    path: str
    line: int
    column: int
    resource: str
    message: str
    rule: str = ""

    def format(self) -> str:
        """The one-line form a person reads: ``path:line:column: resource: message``."""
        where = f"{self.path}:{self.line}:{self.column}"
        who = f" {self.resource}:" if self.resource else ""
        return f"{where}:{who} {self.message}"

    def as_dict(self) -> dict[str, object]:
        """Stable keys for ``-o json``."""
        return {
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "resource": self.resource,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's finding before it is placed: the field path inside the manifest, and why."""

    at: tuple[str | int, ...]
    message: str
    rule: str


def sort_violations(violations: Iterable[Violation]) -> tuple[Violation, ...]:
    """Sort by file, line, column and message, dropping exact duplicates."""
    return tuple(sorted(set(violations)))
