"""The board: the newest ``Snapshot`` of the agent, refreshed after each cycle and on a timer,
so that serving the page never waits on the cluster.

``StatusBoard(parts)`` is built by the ``run`` command from what the agent already holds:
the sync loop (its applied revision, its last result, the applied revision's desired
resources), a way to make a target, the previews' results and the last drift report.
``refresh()`` observes the target once (one LIST per kind on Kubernetes), reads the history
and swaps the snapshot in; a failure keeps the previous snapshot with a note saying why.
The rendering of the applied revision's resources (for Bundle statuses) is kept per revision.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from gitops_agent.core.config import AgentConfig
from gitops_agent.core.history import Cycle
from gitops_agent.core.planning import DesiredResource
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.core.reporting import commit_state
from gitops_agent.core.results import SyncResult
from gitops_agent.engine.desired import Desired, assemble
from gitops_agent.engine.observing import observe
from gitops_agent.engine.ports import Target
from gitops_agent.errors import GitOpsError
from gitops_agent.redaction import redact
from gitops_agent.service.ui.snapshot import PreviewRow, Snapshot, graphs_of, rows_of

log = logging.getLogger("gitops_agent.ui")


@dataclass(frozen=True, slots=True)
class BoardParts:
    """Where the board reads from; every callable is cheap and never blocks on the network
    except ``make_target``'s target."""

    config: AgentConfig
    make_target: Callable[[AgentConfig], Target]
    applied: Callable[[], tuple[str, SyncResult | None, Desired | None]]
    previews: Callable[[], Sequence[PreviewRow]] = lambda: ()
    drift: Callable[[], str] = lambda: ""
    clock: Callable[[], float] = time.time


@dataclass(frozen=True, slots=True)
class _Rendered:
    revision: str = ""
    desired: tuple[DesiredResource, ...] = ()


class StatusBoard:
    """The newest snapshot, and how to take the next one."""

    def __init__(self, parts: BoardParts) -> None:
        self.parts = parts
        config = parts.config
        self.snapshot = Snapshot(
            agent=config.name,
            target=config.target.kind,
            source=_source(config),
            applied="",
            state="pending",
            description="the first cycle has not finished",
            taken=parts.clock(),
        )
        self._rendered = _Rendered()
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Take a new snapshot (one at a time; a refresh asked meanwhile is served by the
        running one). Never raises: a failure is noted on the previous snapshot."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            self.snapshot = self._take()
        except GitOpsError as err:
            self._keep(redact(str(err)))
        except Exception as err:  # a bug must not stop the loop that asked for the refresh
            log.debug("status page refresh failed", exc_info=True)
            self._keep(f"unexpected error ({type(err).__name__})")
        finally:
            self._lock.release()

    def _keep(self, why: str) -> None:
        log.warning("status page not refreshed: %s", why)
        self.snapshot = replace(
            self.snapshot, note=f"not refreshed: {why}", taken=self.parts.clock()
        )

    def _take(self) -> Snapshot:
        revision, result, desired = self.parts.applied()
        config = desired.config if desired is not None else self.parts.config
        target = self.parts.make_target(config)
        try:
            wanted = self._desired(revision, desired, target)
            seen = observe(target, wanted)
            store = target.hooks().history
            cycles: tuple[Cycle, ...] = store.load() if store is not None else ()
        finally:
            target.close()
        resources = desired.resources if desired is not None else ()
        state, description = commit_state(result) if result is not None else (None, "")
        return Snapshot(
            agent=config.name,
            target=target.kind,
            source=_source(config),
            applied=revision,
            state=state.value if state is not None else "pending",
            description=redact(description) if result is not None else "no revision applied yet",
            taken=self.parts.clock(),
            rows=rows_of(resources, seen.statuses),
            graphs=graphs_of(resources, seen.statuses),
            cycles=cycles,
            previews=tuple(self.parts.previews()),
            drift=self.parts.drift(),
        )

    def _desired(
        self, revision: str, desired: Desired | None, target: Target
    ) -> tuple[DesiredResource, ...]:
        """The applied revision's desired resources, rendered once per revision."""
        if desired is None or desired.violations:
            return ()
        if self._rendered.revision != revision:
            try:
                rendered = target.render(desired.resources, revision=revision)
                wanted = tuple(assemble(desired.resources, rendered))
            except RenderError:
                wanted = ()
            self._rendered = _Rendered(revision, wanted)
        return self._rendered.desired


def _source(config: AgentConfig) -> str:
    url = config.source.url or "the working directory"
    return f"{redact(url)} @ {config.source.ref}"
