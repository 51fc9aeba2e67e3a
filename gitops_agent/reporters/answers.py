"""Reading forge answers as untrusted input: typed accessors that refuse the wrong shape.

A forge answer is JSON nobody vouches for: a number where a string is documented, a list
where an object is, a branch name shaped like a git option. ``text``, ``integer``, ``flag``,
``sha``, ``branch`` and ``listed`` read one field along a path of keys and raise
``MalformedAnswerError`` naming the path when it is missing or of the wrong type; ``dig`` reads without
judging. Pure. Called by the pull-request clients (``reporters.*_pulls``) to turn answers
into ``PullRequest`` and ``PreviewComment`` values.
"""

from __future__ import annotations

import re
from typing import Any

from gitops_agent.errors import ConfigError
from gitops_agent.sources.urls import check_ref

MAX_TEXT = 300
_HEX = re.compile(r"[0-9a-f]{7,64}")


class MalformedAnswerError(ValueError):
    """A forge answer without the shape its API documents."""


def dig(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``; ``None`` when a step is missing or not an object."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def text(value: Any, *path: str, limit: int = MAX_TEXT, empty: bool = False) -> str:
    """The string at ``path``, flattened to one line and cut to ``limit`` characters."""
    found = dig(value, *path)
    if not isinstance(found, str) or (not found and not empty):
        raise MalformedAnswerError(f"{'.'.join(path)} is {_shape(found)}, not a string")
    return " ".join(found.split())[:limit]


def raw_text(value: Any, *path: str) -> str:
    """The string at ``path`` as it is (a comment body)."""
    found = dig(value, *path)
    if not isinstance(found, str):
        raise MalformedAnswerError(f"{'.'.join(path)} is {_shape(found)}, not a string")
    return found


def integer(value: Any, *path: str) -> int:
    """The non-negative integer at ``path`` (a boolean is not one)."""
    found = dig(value, *path)
    if not isinstance(found, int) or isinstance(found, bool) or found < 0:
        raise MalformedAnswerError(f"{'.'.join(path)} is {_shape(found)}, not a number")
    return found


def flag(value: Any, *path: str) -> bool:
    """The boolean at ``path``; missing or ``null`` is false."""
    found = dig(value, *path)
    if found is None:
        return False
    if not isinstance(found, bool):
        raise MalformedAnswerError(f"{'.'.join(path)} is {_shape(found)}, not true or false")
    return found


def sha(value: Any, *path: str) -> str:
    """The commit name at ``path``: 7 to 64 lower-case hex digits."""
    found = dig(value, *path)
    if not isinstance(found, str) or not _HEX.fullmatch(found):
        raise MalformedAnswerError(f"{'.'.join(path)} is {_shape(found)}, not a commit SHA")
    return found


def branch(value: Any, *path: str) -> str:
    """The branch name at ``path``, refused unless git's ref grammar allows it."""
    found = dig(value, *path)
    if not isinstance(found, str):
        raise MalformedAnswerError(f"{'.'.join(path)} is {_shape(found)}, not a branch name")
    try:
        check_ref(found, what=".".join(path))
    except ConfigError as exc:
        raise MalformedAnswerError(str(exc).split(";")[0]) from None
    return found


def listed(value: Any, *path: str) -> list[Any]:
    """The list at ``path`` (the whole value when ``path`` is empty)."""
    found = dig(value, *path) if path else value
    if not isinstance(found, list):
        where = ".".join(path) or "the answer"
        raise MalformedAnswerError(f"{where} is {_shape(found)}, not a list")
    return found


def _shape(value: Any) -> str:
    """What a value is, for a message (never the value itself: it may be huge)."""
    if value is None:
        return "missing"
    if isinstance(value, str):
        return "an empty string" if not value else f"a malformed string ({len(value)} characters)"
    return f"a {type(value).__name__}"
