"""Results of a reconcile: per-resource outcomes (data, not exceptions) and their summary.

Produced by ``engine.apply`` and ``engine.reconcile``; read by the command line (tables,
exit codes), ``core.reporting`` (commit-status state and text) and the agent loop (retry or
not, metrics). Outcomes are past tense, like kubectl's (created, configured, unchanged,
deleted, skipped, failed); why a resource or a cycle did not succeed is a closed set
(``FailureReason``), never a string to compare.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass

from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.planning import PruneGuard
from gitops_agent.core.status import ResourceStatus
from gitops_agent.core.violations import Violation


class Outcome(enum.StrEnum):
    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    FAILED = "failed"


class FailureReason(enum.StrEnum):
    """Why a cycle, or one resource in it, did not succeed."""

    INVALID = "invalid"  # the revision's manifests do not validate
    RENDER = "render"  # valid resources that cannot coexist on the target
    CONFIG = "config"  # the agent configuration or the command line is wrong
    SOURCE = "source"  # the source could not be read
    OBSERVE = "observe"  # the target could not be read
    UNAVAILABLE = "unavailable"  # the target was unreachable or answered a server error
    APPLY = "apply"  # the target refused an object
    REJECTED = "rejected"  # the target found an object invalid (400, 422, an untypable apply)
    CONFLICT = "conflict"  # an object of that name exists and is not ours (adopt it to proceed)
    UNHEALTHY = "unhealthy"  # applied, then failed: a crash loop, a failed step
    TIMEOUT = "timeout"  # conditions or runs not met within sync.waitTimeout
    DEPENDENCY = "dependency"  # skipped: a dependency failed or can no longer meet its condition
    PRUNE = "prune"  # a delete failed
    PRUNE_REFUSED = "prune-refused"  # the mass-prune guard stopped the prune
    INVENTORY = "inventory"  # the inventory could not be stored
    INTERNAL = "internal"  # an unexpected error inside the agent (a bug)
    FENCED = "fenced"  # writes stopped: this agent is no longer (sure to be) the leader


#: Failures that another try of the same revision cannot fix: the commit must change.
PERMANENT = frozenset({FailureReason.INVALID, FailureReason.RENDER})


@dataclass(frozen=True, slots=True)
class ResourceResult:
    """What happened to one resource in a reconcile, and its status afterwards.
    ``reason`` says why it failed or was skipped (None otherwise)."""

    id: ResourceId
    outcome: Outcome
    message: str = ""
    status: ResourceStatus | None = None
    writes: int = 0
    reason: FailureReason | None = None

    @property
    def ok(self) -> bool:
        return self.outcome not in (Outcome.FAILED, Outcome.SKIPPED)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """One reconcile of one revision. ``failure`` and ``error`` are set when the cycle itself
    failed (invalid manifests, an unreadable source or target); per-resource failures are in
    ``resources``; ``blocked_prune`` is the prune guard's verdict when it refused."""

    revision: str
    resources: tuple[ResourceResult, ...] = ()
    violations: tuple[Violation, ...] = ()
    blocked_prune: PruneGuard | None = None
    error: str | None = None
    failure: FailureReason | None = None

    @classmethod
    def invalid(
        cls,
        revision: str,
        violations: tuple[Violation, ...],
        *,
        reason: FailureReason = FailureReason.INVALID,
    ) -> SyncResult:
        """A cycle stopped before anything was applied by violations."""
        return cls(revision, violations=violations, failure=reason)

    @classmethod
    def failed(cls, revision: str, reason: FailureReason, message: str) -> SyncResult:
        """A cycle that could not run: the source, the target or the configuration failed."""
        return cls(revision, error=message, failure=reason)

    @property
    def reason(self) -> FailureReason | None:
        """Why the cycle did not succeed, None when it did: the cycle's own failure, else the
        first failed or skipped resource's, else a refused prune."""
        if self.failure is not None:
            return self.failure
        if self.violations:
            return FailureReason.INVALID
        failed = [r for r in self.resources if not r.ok]
        if failed:
            return failed[0].reason or FailureReason.APPLY
        if self.blocked_prune is not None:
            return FailureReason.PRUNE_REFUSED
        return None

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def permanent(self) -> bool:
        """True when retrying the same revision cannot help (the manifests must change)."""
        return self.reason in PERMANENT

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.resources)

    def counts(self) -> dict[str, int]:
        counted = Counter(str(r.outcome) for r in self.resources)
        return {outcome.value: counted.get(outcome.value, 0) for outcome in Outcome}

    def count(self, *outcomes: Outcome) -> int:
        """How many resources ended with one of ``outcomes``."""
        return sum(1 for r in self.resources if r.outcome in outcomes)

    def describe(self) -> str:
        """One line for a commit status or a log: the first problem, else the counts."""
        if self.violations:
            more = f" (+{len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
            return f"invalid: {self.violations[0].format()}{more}"
        if self.error:
            return self.error
        failed = [r for r in self.resources if not r.ok]
        if failed:
            first = failed[0]
            what = "invalid" if first.reason is FailureReason.REJECTED else first.outcome
            return f"{what} {first.id}: {first.message}" + (
                f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
            )
        if self.blocked_prune is not None:
            return self.blocked_prune.message()
        counts = self.counts()
        shown = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        return f"synced: {shown or 'nothing to do'}"
