"""The reporter contract: commit-status values and the ``Reporter`` protocol.

``CommitStatus`` (state, description, context, target URL) is what the engine reports for a
revision; each reporter maps it to its git host's words. ``SafeReporter`` logs and swallows a
reporter's failure (a status is never worth failing a sync for); ``FanOutReporter`` posts to
several. ``superseded_status`` is the final status of a revision a newer one overtook before
it was applied (``StatusState`` and the mapping of a result to it live in ``core.reporting``).
Called by the agent loop and the CLI; pure apart from the wrappers' logging.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gitops_agent.core.reporting import StatusState
from gitops_agent.errors import ReporterError
from gitops_agent.redaction import redact

DESCRIPTION_LIMIT = 140
ELLIPSIS = "…"
DEFAULT_CONTEXT = "gitops-agent"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommitStatus:
    """One status of one revision under one context."""

    state: StatusState
    description: str = ""
    context: str = DEFAULT_CONTEXT
    target_url: str = ""


class Reporter(Protocol):
    """Posts a ``CommitStatus`` for a revision; raises ``ReporterError`` on failure."""

    def report(self, revision: str, status: CommitStatus) -> None:
        """Post ``status`` for ``revision``."""
        ...


def truncate_description(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """``text`` on one line, at most ``limit`` characters, cut with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def short_sha(revision: str) -> str:
    """The 7-character abbreviation people read."""
    return revision[:7]


def superseded_status(
    newer_revision: str,
    *,
    context: str = DEFAULT_CONTEXT,
    target_url: str = "",
    state: StatusState = StatusState.SUCCESS,
) -> CommitStatus:
    """The final status of a revision overtaken by ``newer_revision`` before it was applied.

    Default state is success: the newer revision contains this one on a linear branch, and a
    pending status left forever blocks promotion gates. Pass ``state`` to choose otherwise.
    """
    return CommitStatus(
        state=state,
        description=f"superseded by {short_sha(newer_revision)}",
        context=context,
        target_url=target_url,
    )


class SafeReporter:
    """Wraps a reporter: failures are logged as warnings and never raised."""

    def __init__(self, inner: Reporter, *, logger: logging.Logger | None = None) -> None:
        self.inner = inner
        self._log = logger or log

    def report(self, revision: str, status: CommitStatus) -> None:
        """Post through the inner reporter; log and swallow any failure."""
        try:
            self.inner.report(revision, status)
        except ReporterError as exc:
            self._log.warning("commit status for %s not posted: %s", short_sha(revision), exc)
        except Exception as exc:  # a bug in a reporter must not fail a sync either
            message = redact(f"{type(exc).__name__}: {exc}")
            self._log.error("reporter failed for %s: %s", short_sha(revision), message)


class FanOutReporter:
    """Posts to every reporter; raises one ``ReporterError`` naming all that failed."""

    def __init__(self, reporters: Sequence[Reporter]) -> None:
        self.reporters = tuple(reporters)

    def report(self, revision: str, status: CommitStatus) -> None:
        """Post to all reporters, even when an earlier one fails."""
        failures: list[str] = []
        for reporter in self.reporters:
            try:
                reporter.report(revision, status)
            except ReporterError as exc:
                failures.append(f"{type(reporter).__name__}: {exc}")
        if failures:
            raise ReporterError("; ".join(failures))
