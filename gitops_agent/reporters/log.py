"""The log reporter: commit statuses written to the agent's log, nowhere else.

For local use and as the default when no git host is configured. Called like any reporter.
"""

from __future__ import annotations

import logging

from gitops_agent.core.reporting import StatusState
from gitops_agent.redaction import redact
from gitops_agent.reporters.base import CommitStatus, short_sha

LEVELS = {
    StatusState.PENDING: logging.INFO,
    StatusState.SUCCESS: logging.INFO,
    StatusState.FAILURE: logging.WARNING,
    StatusState.ERROR: logging.ERROR,
}


class LogReporter:
    """Logs each status as one line: ``<sha> [<context>] <state>: <description>``."""

    def __init__(self, *, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("gitops_agent.status")

    def report(self, revision: str, status: CommitStatus) -> None:
        """Write ``status`` to the log."""
        line = f"{short_sha(revision)} [{status.context}] {status.state.value}"
        if status.description:
            line += f": {status.description}"
        if status.target_url:
            line += f" ({status.target_url})"
        self._log.log(LEVELS[status.state], "%s", redact(line))
