"""Leader election wired into the running agent: who polls, who writes, who hears webhooks.

``Coordination`` runs the elector (``service.leadership``) and, while this replica leads, the
watch of the hint board (``targets.leases.KubeHints``). It gives the rest of ``run``:

- ``gated(job)``: scheduled jobs (polls, previews, drift checks, whatever is added) run on
  the leader only; followers skip them;
- ``guard``: the ``WriteGuard`` of every cycle, asked before each write;
- ``hand_over(key)``: a webhook that reached a follower is posted on the hint board (the
  leader's watch polls or previews at once); on the leader it is handled in place;
- the ``gitops_agent_leader`` gauge, and readiness once the Lease could be read (a follower
  is ready: it serves webhooks and metrics);
- ``stop()`` (SIGTERM): writes stop, the running cycle ends at its next write, and the
  lease is released for a follower to take over at once.

Without leader election ``NoElection`` says yes to everything. Built by ``commands.agent``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from gitops_agent.engine.ports import WriteGuard
from gitops_agent.errors import TargetError
from gitops_agent.service.leadership import LeaderElector
from gitops_agent.service.metrics import AgentMetrics
from gitops_agent.service.server import Health

log = logging.getLogger("gitops_agent.leader")
Job = Callable[[], object]


class HintBoard(Protocol):
    """Where followers post webhooks for the leader (``targets.leases.KubeHints``)."""

    def post(self, key: str) -> None: ...

    def follow(
        self, on_hint: Callable[[str], None], *, active: Callable[[], bool], stop: threading.Event
    ) -> None: ...


class NoElection:
    """A single agent: always the leader, writes never fenced."""

    guard: WriteGuard | None = None

    @property
    def leading(self) -> bool:
        return True

    def gated(self, job: Job) -> Job:
        return job

    def hand_over(self, key: str) -> bool:
        return False

    def fence(self) -> None:
        """Nothing to fence."""

    def start(self, on_leading: Callable[[str], None]) -> None:
        """Nothing to elect."""

    def stop(self) -> None:
        """Nothing to release."""


class Coordination:
    """Leader election for one replica of the agent."""

    def __init__(
        self,
        elector: LeaderElector,
        hints: HintBoard,
        *,
        metrics: AgentMetrics,
        health: Health,
        lease: str = "",
    ) -> None:
        self.elector = elector
        self.lease = lease  # namespace/name, for messages
        self.hints = hints
        self.metrics = metrics
        self.health = health
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.metrics.leader.set(0)

    @property
    def guard(self) -> WriteGuard:
        return self.elector

    @property
    def leading(self) -> bool:
        return self.elector.leading

    def gated(self, job: Job) -> Job:
        """``job`` run only while this replica leads."""

        def on_leader() -> object:
            if not self.elector.leading:
                return None
            return job()

        return on_leader

    def hand_over(self, key: str) -> bool:
        """Post a hint for the leader when this replica follows; False when it leads (the
        caller acts itself). Raises TargetError when the hint cannot be posted."""
        if self.elector.leading:
            return False
        self.hints.post(key)
        log.info("webhook handed to the leader (%s)", self.elector.holder or "none yet")
        return True

    def start(self, on_leading: Callable[[str], None]) -> None:
        """Run the election and, on the leader, the hint watch; ``on_leading("elected")``
        when this replica becomes the leader, ``on_leading(key)`` for each hint."""
        self.elector.on_started = lambda: self._started(on_leading)
        self.elector.on_stopped = lambda: self.metrics.leader.set(0)
        self._spawn("leader-election", lambda: self.elector.run(self._stop))
        self._spawn("leader-hints", lambda: self._follow(on_leading))
        self._spawn("leader-ready", self._ready_once_seen)

    def _started(self, on_leading: Callable[[str], None]) -> None:
        self.metrics.leader.set(1)
        on_leading("elected")

    def _follow(self, on_leading: Callable[[str], None]) -> None:
        self.hints.follow(on_leading, active=lambda: self.elector.leading, stop=self._stop)

    def _ready_once_seen(self) -> None:
        while not self._stop.is_set():
            if self.elector.seen_lease.wait(0.2):
                self.health.mark_ready()
                return

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def fence(self) -> None:
        """Stop writing now (first step of a shutdown): running cycles end at their next write."""
        self.elector.stop_writing()

    def stop(self) -> None:
        """Release the lease (after the running cycle stopped writing) and end the threads."""
        self._stop.set()
        try:
            self.elector.release()
        except TargetError as err:  # pragma: no cover - release logs its own failures
            log.warning("could not release the lease: %s", err)
        self.metrics.leader.set(0)
        for thread in self._threads:
            thread.join(timeout=2.0)
