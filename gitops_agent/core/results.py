"""Results of a reconcile: per-resource outcomes (data, not exceptions) and their summary.

Produced by ``engine.apply`` and ``engine.reconcile``; read by the command line (tables,
exit codes), the reporters (commit-status text) and the agent's metrics. Outcomes are past
tense, like kubectl's (created, configured, unchanged, deleted, skipped, failed).
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass

from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.status import ResourceStatus
from gitops_agent.core.violations import Violation


class Outcome(enum.StrEnum):
    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ResourceResult:
    """What happened to one resource in a reconcile, and its status afterwards."""

    id: ResourceId
    outcome: Outcome
    message: str = ""
    status: ResourceStatus | None = None
    writes: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome not in (Outcome.FAILED, Outcome.SKIPPED)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """One reconcile of one revision. ``error`` is set when the cycle itself failed."""

    revision: str
    resources: tuple[ResourceResult, ...] = ()
    violations: tuple[Violation, ...] = ()
    blocked_prune: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            not self.violations
            and self.error is None
            and self.blocked_prune is None
            and all(r.ok for r in self.resources)
        )

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.resources)

    def counts(self) -> dict[str, int]:
        counted = Counter(str(r.outcome) for r in self.resources)
        return {outcome.value: counted.get(outcome.value, 0) for outcome in Outcome}

    def describe(self) -> str:
        """One line for a commit status or a log: the first problem, else the counts."""
        if self.violations:
            more = f" (+{len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
            return f"invalid: {self.violations[0].format()}{more}"
        if self.error:
            return f"error: {self.error}"
        failed = [r for r in self.resources if not r.ok]
        if failed:
            first = failed[0]
            return f"{first.outcome} {first.id}: {first.message}" + (
                f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
            )
        if self.blocked_prune:
            return self.blocked_prune
        counts = self.counts()
        shown = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        return f"synced: {shown or 'nothing to do'}"
