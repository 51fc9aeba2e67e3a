"""The agent loop: follow a source, reconcile each new revision once, report every outcome.

Built by the ``run`` command; ``poll()`` is called by the scheduler at the source interval and,
through ``trigger()``, by push webhooks. One cycle runs at a time (and no drift check runs
during one: ``exclusively``); a trigger that arrives
during a cycle makes the loop poll once more when it ends, so no push is lost. A poll with no
new revision costs one ``ls-remote``. Each revision gets ``pending`` when its cycle starts and
a final status after it; commits pushed together, of which only the newest was reconciled,
get a final "superseded by" status once it is applied. A revision that failed to apply is
retried with backoff (the last good revision stays applied meanwhile); one that does not
validate is not retried. Any
error inside a cycle, a bug included, fails that cycle (status ``failure``, traceback at
debug level, the errors metric, the same backoff), never the loop.

Cycles are incremental (``engine.incremental``, up to ``source.cacheFiles`` files): a new
revision of a git source reads and checks again only the files whose blob changed. A cycle
that fails on an unexpected error forgets what was kept, so its retry starts afresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from gitops_agent.backoff import BackoffPolicy, retry_call
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.history import Cycle, sync_cycle
from gitops_agent.core.reporting import StatusState, commit_state
from gitops_agent.core.results import FailureReason, Outcome, SyncResult
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.incremental import CycleCache
from gitops_agent.engine.ports import Target, WriteGuard
from gitops_agent.errors import GitOpsError, SourceError, TargetError, UnavailableError
from gitops_agent.redaction import redact
from gitops_agent.reporters.base import (
    CommitStatus,
    Reporter,
    superseded_status,
    truncate_description,
)
from gitops_agent.service.metrics import AgentMetrics
from gitops_agent.service.server import Health
from gitops_agent.wiring import read_desired

log = logging.getLogger("gitops_agent.agent")
T = TypeVar("T")

# A poll retries a flaky remote a few times within a minute; a failed revision is retried
# after 20 s (jittered down to 10 s), doubling up to 10 minutes, until a newer revision
# supersedes it: at most three attempts in the first minute.
SOURCE_RETRY = BackoffPolicy(initial=1.0, max_delay=30.0, max_attempts=4, max_elapsed=60.0)
FAILURE_BACKOFF = BackoffPolicy(initial=20.0, max_delay=600.0)


class RevisionSource(Protocol):
    """What the loop needs of a source: the current revision, and its files on disk."""

    def remote_revision(self) -> str: ...

    def directory_of(self, revision: str) -> Path: ...

    def skipped(self, older: str, newer: str) -> list[str]: ...

    def listing_of(self, revision: str) -> Mapping[str, tuple[str, str]] | None: ...


@dataclass(frozen=True, slots=True)
class AgentParts:
    """The edges the loop works with, built by the command line."""

    config: AgentConfig
    config_path: str | None
    source: RevisionSource
    make_target: Callable[[AgentConfig], Target]
    reporter: Reporter
    metrics: AgentMetrics = field(default_factory=AgentMetrics)
    health: Health = field(default_factory=Health)
    source_retry: BackoffPolicy = SOURCE_RETRY
    failure_backoff: BackoffPolicy = FAILURE_BACKOFF
    display: str | None = ""
    guard: WriteGuard | None = None  # leader election: asked before every write


@dataclass(slots=True)
class _Failure:
    attempts: int
    retry_at: float
    permanent: bool


class AgentLoop:
    """The state of a running agent between polls."""

    def __init__(self, parts: AgentParts, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.parts = parts
        self.clock = clock
        self.applied: str | None = None
        self.pending: str | None = None
        self.failures: dict[str, _Failure] = {}
        self._cycle = threading.Lock()
        self._again = threading.Event()
        self._hint: str | None = None
        self._read_as: AgentConfig | None = None  # the configuration the last cycle read
        self._wanted: Desired | None = None
        self.last: SyncResult | None = None  # the newest cycle's result
        self.desired: Desired | None = None  # what the applied revision holds
        self.on_cycle: Callable[[], None] = lambda: None  # after each cycle (the status page)
        self.cycles = 0
        files = parts.config.source.cache_files
        self.cache = CycleCache(files) if files > 0 else None

    def trigger(self, why: str = "webhook") -> None:
        """Ask for a poll now (or right after the running cycle); ``why`` is recorded as the
        trigger of the cycle it starts."""
        self._hint = why
        self._again.set()

    def exclusively(self, work: Callable[[], T]) -> T:
        """Run ``work`` while no cycle runs (after the running one ends); a poll asked for
        meanwhile runs right after it, so that no push waits for the next interval."""
        with self._cycle:
            result = work()
        if self._again.is_set():
            self.poll()
        return result

    def forget_applied(self) -> None:
        """Reconcile the current revision again at the next poll even if this loop applied
        it before (a replica that just became the leader: another may have written since)."""
        self.applied = None

    def poll(self, why: str | None = None) -> SyncResult | None:
        """Poll until no trigger is waiting; returns the last cycle's result (None: no cycle).
        ``why`` names what asked (``manual`` for ``run --once``; default: the schedule)."""
        if why is not None:
            self._hint = why
        if not self._cycle.acquire(blocking=False):
            self._again.set()
            return None
        try:
            result = None
            while True:
                self._again.clear()
                result = self._poll_once() or result
                if not self._again.is_set():
                    return result
        finally:
            self._cycle.release()

    def _poll_once(self) -> SyncResult | None:
        try:
            revision = retry_call(
                self.parts.source.remote_revision,
                policy=self.parts.source_retry,
                retry_on=(SourceError,),
                describe="poll the source",
            )
        except SourceError as err:
            log.warning("source unavailable, keeping %s applied: %s", _short(self.applied), err)
            self.parts.metrics.record_error("source")
            return None
        if revision == self.applied:
            self.parts.metrics.record_cycle(result="noop", duration=0.0)
        if not self._due(revision):
            return None
        return self._cycle_on(revision)

    def _due(self, revision: str) -> bool:
        if revision == self.applied:
            return False
        failure = self.failures.get(revision)
        return failure is None or (not failure.permanent and self.clock() >= failure.retry_at)

    def _cycle_on(self, revision: str) -> SyncResult:
        started, wall = time.monotonic(), time.time()
        trigger = self._trigger_of(revision)
        self.pending = revision
        self._report(revision, self._status(StatusState.PENDING, f"reconciling {_short(revision)}"))
        log.info("reconciling revision %s", _short(revision))
        result = self._reconcile(revision)
        duration = time.monotonic() - started
        self._finish(revision, result, duration)
        self._record(result, trigger=trigger, started=wall, duration=duration)
        self.last = result
        self.on_cycle()
        return result

    def state(self) -> tuple[str, SyncResult | None, Desired | None]:
        """The applied revision, the newest result and the applied revision's resources."""
        return self.applied or "", self.last, self.desired

    def _trigger_of(self, revision: str) -> str:
        hint, self._hint = self._hint, None
        if hint is not None:
            return hint
        if revision in self.failures:
            return "retry"
        return "start" if self.cycles == 0 else "poll"

    def _record(self, result: SyncResult, *, trigger: str, started: float, duration: float) -> None:
        """Keep the cycle in the history of the owner it ran as (the revision's configuration
        names it), on the target; a failure to is logged, never fatal."""
        config, self._read_as = self._read_as or self.parts.config, None
        guard = self.parts.guard
        if guard is not None and guard.refusal() is not None:
            return  # not the leader (any more): the history is the leader's to write
        state, _ = commit_state(result)
        cycle = sync_cycle(
            result, trigger=trigger, started=started, duration=duration, state=state.value
        )
        keep(cycle, config, self.parts.make_target)

    def _reconcile(self, revision: str) -> SyncResult:
        try:
            return self._reconcile_with_cache(revision)
        except GitOpsError as err:
            return SyncResult.failed(revision, failure_of(err), str(err))
        except Exception as err:  # a bug must fail the cycle, never the loop
            log.debug("unexpected error reconciling %s", _short(revision), exc_info=True)
            if self.cache is not None:
                self.cache = CycleCache(self.cache.limit)
            message = f"unexpected error ({type(err).__name__}: {redact(str(err))})"
            return SyncResult.failed(revision, FailureReason.INTERNAL, message)
        finally:
            if self.cache is not None:
                self.cache.end()

    def _reconcile_with_cache(self, revision: str) -> SyncResult:
        config, source = self.parts.config, self.parts.source
        directory = source.directory_of(revision)
        wanted = read_desired(
            str(directory),
            config_path=self.parts.config_path,
            subpath=config.source.path or None,
            display=self.parts.display,
            cache=self.cache,
            listing=source.listing_of(revision) if self.cache is not None else None,
        )
        self._read_as, self._wanted = wanted.config, wanted
        if wanted.violations:
            return SyncResult.invalid(revision, wanted.violations)
        target = self.parts.make_target(wanted.config)
        try:
            return reconcile.reconcile(
                wanted,
                target,
                revision=revision,
                options=reconcile.CycleOptions(guard=self.parts.guard),
                progress=lambda line: log.info("%s", line),
                cache=self.cache,
            )
        finally:
            target.close()

    def _finish(self, revision: str, result: SyncResult, duration: float) -> None:
        self.cycles += 1
        if result.failure is FailureReason.FENCED:
            # another replica leads now: it reconciles this revision and reports it
            self.pending, self.applied = None, None
            self.parts.metrics.record_cycle(result="fenced", duration=duration)
            log.warning("revision %s left to the new leader: %s", _short(revision), result.error)
            return
        applied = result.count(Outcome.CREATED, Outcome.CONFIGURED)
        pruned = result.count(Outcome.DELETED)
        state, description = commit_state(result)
        if result.ok:
            self._supersede(revision)
            self.applied, self.pending = revision, None
            self.desired = self._wanted
            self.failures.pop(revision, None)
            self.parts.health.mark_ready()
            self._report(revision, self._status(state, description))
            self.parts.metrics.record_cycle(
                result="success", duration=duration, applied=applied, pruned=pruned
            )
            log.info("revision %s applied: %s", _short(revision), result.describe())
            return
        permanent = result.permanent
        earlier = self.failures.get(revision)
        attempts = (earlier.attempts if earlier else 0) + 1
        wait = self.parts.failure_backoff.delay(attempts)
        self.failures[revision] = _Failure(attempts, self.clock() + wait, permanent)
        self.pending = None
        self._report(revision, self._status(state, description))
        self.parts.metrics.record_cycle(
            result="failure", duration=duration, applied=applied, pruned=pruned
        )
        self.parts.metrics.record_error(_stage(result))
        retry = "not retried (fix the manifests)" if permanent else f"retry in {wait:.0f}s"
        log.warning("revision %s failed, %s: %s", _short(revision), retry, result.describe())

    def _supersede(self, revision: str) -> None:
        """Final statuses for the commits this revision overtook: pushed after the last
        applied revision, never reconciled on their own (a promotion gate would wait forever
        on them), and those whose failure is now moot."""
        overtaken = self.parts.source.skipped(self.applied, revision) if self.applied else []
        for sha in overtaken:
            if sha not in self.failures:
                self._report(sha, superseded_status(revision, context=self._context()))
        self.failures = {sha: f for sha, f in self.failures.items() if sha not in overtaken}

    def _context(self) -> str:
        return self.parts.config.reporter_context()

    def _status(self, state: StatusState, description: str) -> CommitStatus:
        target_url = self.parts.config.reporter.target_url or ""
        return CommitStatus(state, truncate_description(description), self._context(), target_url)

    def _report(self, revision: str, status: CommitStatus) -> None:
        if revision:
            self.parts.reporter.report(revision, status)


def _stage(result: SyncResult) -> str:
    """The ``stage`` label of the errors metric."""
    if result.permanent:
        return "validate"
    return "internal" if result.reason is FailureReason.INTERNAL else "apply"


def failure_of(err: GitOpsError) -> FailureReason:
    """Why a cycle that raised could not run."""
    if isinstance(err, SourceError):
        return FailureReason.SOURCE
    if isinstance(err, UnavailableError):
        return FailureReason.UNAVAILABLE
    if isinstance(err, TargetError):
        return FailureReason.OBSERVE
    return FailureReason.CONFIG


def _short(revision: str | None) -> str:
    """A revision as people read it: 12 characters of a commit; a directory's revision
    (``<commit>+<digest>``, ``tree-<digest>``) keeps its digest, which tells edits apart."""
    if not revision:
        return "nothing"
    head, plus, digest = revision.partition("+")
    if plus:
        return f"{head[:12]}+{digest[:12]}"
    return revision[:17] if revision.startswith("tree-") else revision[:12]


def keep(cycle: Cycle, config: AgentConfig, make_target: Callable[[AgentConfig], Target]) -> None:
    """Record ``cycle`` in the history the target keeps for ``config``'s owner; a failure to
    is logged, never raised (used by the sync, preview and drift loops)."""
    try:
        target = make_target(config)
        try:
            store = target.hooks().history
            if store is not None:
                store.record(cycle, limit=config.history.limit)
        finally:
            target.close()
    except GitOpsError as err:
        log.warning("cycle not recorded in the history: %s", redact(str(err)))
