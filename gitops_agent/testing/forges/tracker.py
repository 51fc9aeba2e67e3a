"""The issues of an emulated forge's repositories, as tests inspect them.

Held by every ``ForgeEmulator`` (``tracker``) and served by ``forges.issues``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(slots=True)
class Issue:
    """An issue of an emulated repository."""

    number: int
    title: str
    body: str
    author: str
    state: str = "open"  # open | closed


class IssueTracker:
    """Every repository's issues, numbered after the pull requests of the repository."""

    def __init__(self) -> None:
        self._issues: dict[str, list[Issue]] = {}
        self._lock = threading.Lock()

    def issues(self, repository: str, *, state: str = "all") -> list[Issue]:
        """The issues of ``repository`` (``open``, ``closed`` or ``all``), oldest first."""
        with self._lock:
            found = list(self._issues.get(repository, []))
        return [i for i in found if state in ("all", i.state)]

    def open_issue(self, repository: str, title: str, body: str, author: str, first: int) -> Issue:
        """A new open issue, numbered after ``first - 1`` and every earlier issue."""
        with self._lock:
            existing = self._issues.setdefault(repository, [])
            number = max([first - 1, *(i.number for i in existing)]) + 1
            issue = Issue(number, title, body, author)
            existing.append(issue)
        return issue

    def find(self, repository: str, number: int) -> Issue | None:
        with self._lock:
            return next((i for i in self._issues.get(repository, []) if i.number == number), None)
