"""Violation: one thing wrong with a repository's manifests, located by file, line and column.

Produced by ``core.yamldoc`` (syntax and limits), ``core.loading`` (references, variables)
and ``core.validation`` (schemas and semantic rules); printed by the command line as
``path:line:column: type/workspace/name: message`` and as JSON objects with ``-o json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: How many characters of a value a message quotes before it cuts the value short.
SHOWN_LENGTH = 80


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
        """The one-line form a person reads: ``path:line:column: resource: message``; a line
        break or control character a file name or a manifest brought is written escaped."""
        where = f"{printable(self.path)}:{self.line}:{self.column}"
        who = f" {printable(self.resource)}:" if self.resource else ""
        return f"{where}:{who} {printable(self.message)}"

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


def type_words(value: Any) -> str:
    """The YAML type of ``value`` in words for messages: ``null``, ``an integer``, ``a list``."""
    words = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        dict: "a mapping",
        list: "a list",
    }
    return "null" if value is None else words.get(type(value), "a value")


def shown(value: Any, limit: int = SHOWN_LENGTH) -> str:
    """``value`` as a message quotes it: JSON for scalars (newlines escaped), the type in
    words for collections, cut short after ``limit`` characters."""
    if isinstance(value, dict | list):
        return type_words(value)
    try:
        text = json.dumps(value, ensure_ascii=False)
    except ValueError:  # an integer too long to write out
        return f"{type_words(value)} too long to show"
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text)} characters)"


def quoted(text: str, limit: int = SHOWN_LENGTH) -> str:
    """``repr(text)`` for messages, cut short after ``limit`` characters."""
    written = repr(text)
    if len(written) <= limit:
        return written
    return f"{written[: limit - 3]}... ({len(text)} characters)"


def printable(text: str) -> str:
    """``text`` with each character that is not printable (line breaks, NUL, other control
    characters) written as its Python escape, so that one violation stays one line."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
