"""Previews in the agent: the plan of every open pull request, posted where reviewers look.

Built by the ``run`` command when ``previews.enabled``; ``poll()`` runs after each sync cycle
and, through ``trigger()``, on pull-request webhooks. It lists the open pull requests that
target the followed branch, newest first, and for each new head: a ``pending`` status with
context ``<reporter.context>/preview``, the preview (``engine.preview``: read-only, under the
base branch's configuration), then ``success`` with its summary (``+3 ~1 -0``) or
``failure`` with the first violation, and one comment per pull request, found again by its
hidden marker and edited in place on every push. A pull request from a fork gets a neutral
status and no preview unless ``previews.forks: plan``; nothing of a pull request is ever
applied to production. Closed and merged pull requests get a final line on their comment.
At most ``previews.maxConcurrent`` previews run at once; a head overtaken by a newer push is
skipped. With ``previews.environments``, a valid head of a same-repository pull request is
also deployed to its own environment (``service.environments``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from gitops_agent.core.config import AgentConfig
from gitops_agent.core.history import preview_cycle
from gitops_agent.core.previews import Preview, preview_markdown, status_line
from gitops_agent.core.reporting import StatusState
from gitops_agent.core.tree import CONFIG_FILE
from gitops_agent.engine import preview as previewing
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.ports import Target
from gitops_agent.errors import GitOpsError
from gitops_agent.redaction import redact
from gitops_agent.reporters.base import CommitStatus, Reporter, truncate_description
from gitops_agent.reporters.links import file_link
from gitops_agent.reporters.pulls import (
    PullRequest,
    PullRequests,
    PullState,
    finish_comment,
    preview_marker,
)
from gitops_agent.service.agent import keep
from gitops_agent.service.environments import Environments, Waiting
from gitops_agent.sources.directory import NotRegularError, read_regular
from gitops_agent.wiring import read_desired

log = logging.getLogger("gitops_agent.previews")

CONFIG_NOTE = (
    "this pull request edits gitops-agent.yaml: the preview uses the base branch's "
    "configuration; configuration changes take effect after the merge"
)
OWN_CONFIG_NOTE = (
    "this pull request edits gitops-agent.yaml, which this agent does not read: its "
    "configuration is its own file (--config), so the change has no effect on it"
)
FORK_SKIPPED = "fork pull requests are not previewed"
#: Room kept under a forge's comment limit for the marker and the closing lines.
COMMENT_MARGIN = 500


class Checkouts(Protocol):
    """Where previews read commits: the followed branch's tip and a pull request's head."""

    def branch(self) -> str:
        """The branch name the followed source stands for (its pull requests target it)."""
        ...

    def base(self) -> tuple[Path, str]:
        """The followed branch's tip, checked out: (directory, commit)."""
        ...

    def head(self, pull: PullRequest) -> tuple[Path, str]:
        """A pull request's head, checked out: (directory, commit)."""
        ...


@dataclass(frozen=True, slots=True)
class PreviewParts:
    """What the preview loop works with, built by the ``run`` command."""

    config: AgentConfig
    config_path: str | None
    pulls: PullRequests
    reporter: Reporter
    checkouts: Checkouts
    make_target: Callable[[AgentConfig], Target]


@dataclass(frozen=True, slots=True)
class _Base:
    """The base branch's tip as every preview of one poll reads it."""

    directory: Path
    revision: str
    config_path: str | None
    desired: Desired
    config_bytes: bytes | None


@dataclass(frozen=True, slots=True)
class Previewed:
    """What one pull request's head got: its status, and the preview (None when skipped)."""

    number: int
    head: str
    state: StatusState
    description: str
    preview: Preview | None = None


class PreviewLoop:
    """The previews of one agent: what was previewed, and the work in flight."""

    def __init__(self, parts: PreviewParts, *, clock: Callable[[], float] = time.time) -> None:
        self.parts = parts
        self.clock = clock
        self.seen: dict[int, str] = {}
        self.latest: dict[int, str] = {}
        self.marker = preview_marker(parts.config.name)
        self._lock = threading.Lock()
        self._running = threading.Lock()
        self._again = threading.Event()
        self._why = "poll"  # what started the running poll, for the history
        self._pool = ThreadPoolExecutor(max_workers=parts.config.previews.max_concurrent)
        self.open: dict[int, PullRequest] = {}
        self.results: dict[int, Previewed] = {}  # the newest of each open pull request
        self.environments = (
            Environments(parts.config, parts.make_target, self._post_env, clock)
            if parts.config.previews.environments
            else None
        )

    def newest(self) -> list[Previewed]:
        """The newest preview of each open pull request, by number."""
        with self._lock:
            return [self.results[n] for n in sorted(self.results)]

    def trigger(self) -> None:
        """Ask for a poll now (or right after the running one): a pull-request webhook."""
        self._why = "webhook"
        self._again.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def poll(self) -> list[Previewed]:
        """Preview every open pull request with a head not previewed yet; finish closed
        ones. A failure to list is logged and retried at the next poll."""
        if not self._running.acquire(blocking=False):
            self._again.set()
            return []
        try:
            done: list[Previewed] = []
            while True:
                self._again.clear()
                done += self._poll_once()
                self._why = "poll"
                if not self._again.is_set():
                    return done
        finally:
            self._running.release()

    def _poll_once(self) -> list[Previewed]:
        try:
            pulls = self.parts.pulls.open_pulls(self.parts.checkouts.branch())
            self._finish_closed({p.number for p in pulls})
            freed = self._sweep(pulls)
            todo = [p for p in pulls if self.seen.get(p.number) != p.head_sha]
            base = self._base() if todo or freed else None
        except GitOpsError as err:
            log.warning("pull requests not previewed this time: %s", redact(str(err)))
            return []
        with self._lock:
            self.latest.update((p.number, p.head_sha) for p in pulls)
            self.open = {p.number: p for p in pulls}
        done = [r for r in self._pool.map(lambda p: self._preview_pull(p, base), todo) if r]
        list(self._pool.map(lambda w: self._deploy_waiting(w, base), freed))
        return done

    def _sweep(self, pulls: list[PullRequest]) -> list[Waiting]:
        """Environments of closed or idle pull requests torn down; the waiting ones that
        can now be deployed."""
        if self.environments is None:
            return []
        try:
            return self.environments.sweep((p.number for p in pulls), self._closed)
        except GitOpsError as err:
            log.warning("preview environments not swept this time: %s", redact(str(err)))
            return []

    def _closed(self, number: int) -> bool:
        return self.parts.pulls.pull(number).state is not PullState.OPEN

    def _deploy_waiting(self, waiting: Waiting, base: _Base | None) -> None:
        """Deploy a head that waited for a free environment, if it is still the newest."""
        with self._lock:
            pull = self.open.get(waiting.number)
        if self.environments is None or base is None or pull is None:
            return
        if pull.head_sha != waiting.head:
            return  # a newer head is previewed, and asks again when valid
        try:
            head_dir, head = self.parts.checkouts.head(pull)
            wanted = self._read(head_dir, base.config_path)
        except GitOpsError as err:
            log.warning("preview environment of #%d not deployed: %s", pull.number, err)
            return
        if not wanted.violations:
            self.environments.deploy(pull.number, head, wanted)

    def _base(self) -> _Base:
        """The base branch's tip, read once per poll (every preview of the poll shares it)."""
        directory, revision = self.parts.checkouts.base()
        config_path = self.parts.config_path or _existing(directory / CONFIG_FILE)
        desired = self._read(directory, config_path)
        return _Base(directory, revision, config_path, desired, _config_bytes(directory))

    def _read(self, directory: Path, config_path: str | None) -> Desired:
        path = self.parts.config.source.path or None
        return read_desired(str(directory), config_path=config_path, subpath=path, display="")

    def _preview_pull(self, pull: PullRequest, base: _Base | None) -> Previewed | None:
        with self._lock:
            if self.latest.get(pull.number) != pull.head_sha:
                return None  # overtaken by a newer push while it waited
        if base is None:
            return None
        started, wall = time.monotonic(), time.time()
        if pull.from_fork and self.parts.config.previews.forks != "plan":
            result = Previewed(pull.number, pull.head_sha, StatusState.SUCCESS, FORK_SKIPPED)
        else:
            result = self._previewed(pull, base)
        self._post(result.head, result.state, result.description)
        cycle = preview_cycle(
            number=pull.number,
            head=result.head,
            trigger=self._why,
            started=wall,
            duration=time.monotonic() - started,
            state=result.state.value,
            summary=result.description,
        )
        keep(cycle, self.parts.config, self.parts.make_target)
        with self._lock:
            self.seen[pull.number] = pull.head_sha
            self.results[pull.number] = result
        return result

    def _previewed(self, pull: PullRequest, base: _Base) -> Previewed:
        self._post(pull.head_sha, StatusState.PENDING, f"previewing {pull.head_sha[:7]}")
        try:
            head_dir, head = self.parts.checkouts.head(pull)
            wanted = self._read(head_dir, base.config_path)
            found = self._compute(head_dir, head, wanted, base)
            self._comment(pull, head, found)
            if self.environments is not None and found.valid and not pull.from_fork:
                self.environments.request(pull.number, head, wanted)
        except GitOpsError as err:
            message = redact(str(err))
            log.warning("preview of #%d at %s failed: %s", pull.number, pull.head_sha[:12], message)
            failed = f"preview failed: {message}"
            return Previewed(pull.number, pull.head_sha, StatusState.ERROR, failed)
        state = StatusState.SUCCESS if found.valid else StatusState.FAILURE
        log.info("preview of #%d at %s: %s", pull.number, head[:12], status_line(found))
        return Previewed(pull.number, head, state, status_line(found), found)

    def _compute(self, head_dir: Path, head: str, wanted: Desired, base: _Base) -> Preview:
        changed = _config_bytes(head_dir) != base.config_bytes
        note = OWN_CONFIG_NOTE if self.parts.config_path else CONFIG_NOTE
        notes = (note,) if changed else ()
        target = self.parts.make_target(base.desired.config)
        try:
            return previewing.preview(
                wanted,
                target,
                head_revision=head,
                base=base.desired,
                base_revision=base.revision,
                notes=notes,
            )
        finally:
            target.close()

    def _comment(self, pull: PullRequest, head: str, found: Preview) -> None:
        if not self.parts.config.previews.comment:
            return
        section = self.parts.config.reporter
        link = file_link(section.kind, section.url or "", section.repository or "", head)
        limit = max(self.parts.pulls.comment_limit - COMMENT_MARGIN, 2_000)
        html = section.kind != "bitbucket"  # Bitbucket renders no HTML in comments
        body = preview_markdown(
            found, title="gitops-agent preview", link=link, limit=limit, html=html
        )
        stamp = _now(self.clock())
        agent = self.parts.config.name
        body += f"\n\n_Head `{head[:12]}` previewed at {stamp} by agent `{agent}`._"
        self.parts.pulls.upsert_comment(pull.number, self.marker, body)

    def _finish_closed(self, still_open: set[int]) -> None:
        for number in sorted(set(self.seen) - still_open):
            try:
                pull = self.parts.pulls.pull(number)
                if pull.state is PullState.OPEN:
                    continue  # not listed this time (paging bound): not closed
                when = _now(self.clock())
                line = f"_This pull request was {pull.state.value} at {when}; the preview above is final._"
                finish_comment(self.parts.pulls, number, self.marker, line)
            except GitOpsError as err:
                log.warning("closing preview of #%d not written: %s", number, err)
                continue
            with self._lock:
                self.seen.pop(number, None)
                self.latest.pop(number, None)
                self.results.pop(number, None)

    def _post(self, head: str, state: StatusState, description: str, *, env: bool = False) -> None:
        suffix = "preview-env" if env else "preview"
        context = f"{self.parts.config.reporter_context()}/{suffix}"
        target_url = self.parts.config.reporter.target_url or ""
        status = CommitStatus(state, truncate_description(description), context, target_url)
        self.parts.reporter.report(head, status)

    def _post_env(self, head: str, state: StatusState, description: str) -> None:
        self._post(head, state, description, env=True)


def _existing(path: Path) -> str | None:
    return str(path) if path.is_file() else None


def _config_bytes(root: Path) -> bytes | None:
    try:
        return read_regular(root / CONFIG_FILE)
    except (NotRegularError, OSError):
        return None


def _now(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
