"""The agent never crashes its loop (issue 11, acceptance 6).

A commit whose render raises an unexpected error (a bug, played by the fake target) gets one
``failure`` status and is retried with the failure backoff: at most three attempts in its
first minute, under a manual clock. The loop itself keeps polling.
"""

from __future__ import annotations

from pathlib import Path

from gitops_agent.core.config import AgentConfig
from gitops_agent.core.reporting import StatusState
from gitops_agent.reporters.base import CommitStatus
from gitops_agent.service.agent import AgentLoop, AgentParts
from gitops_agent.service.metrics import AgentMetrics
from gitops_agent.sources.revisions import DirectoryRevisions
from gitops_agent.testing.fake import FakeTarget, ManualClock
from tests.reliability.conftest import worker


class Recorder:
    """A reporter that keeps every status."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, CommitStatus]] = []

    def report(self, revision: str, status: CommitStatus) -> None:
        self.posted.append((revision, status))


def test_a_render_bug_fails_the_cycle_and_is_retried_with_backoff(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(worker("a"))
    target = FakeTarget()
    target.fail("render", error=KeyError("spec"), times=100)
    clock = ManualClock()
    reporter = Recorder()
    metrics = AgentMetrics()
    parts = AgentParts(
        config=AgentConfig(),
        config_path=None,
        source=DirectoryRevisions(tmp_path),
        make_target=lambda config: target,
        reporter=reporter,
        metrics=metrics,
    )
    loop = AgentLoop(parts, clock=clock)
    for _ in range(60):
        loop.poll()
        clock.advance(1.0)
    attempts = target.calls["render"]
    assert 2 <= attempts <= 3, attempts
    finals = [s for _, s in reporter.posted if s.state is not StatusState.PENDING]
    assert len(finals) == attempts
    assert all(s.state is StatusState.FAILURE for s in finals)
    assert finals[0].description == "unexpected error (KeyError: 'spec')"
    assert 'gitops_agent_errors_total{stage="internal"} ' in metrics.render()
    target.clear_faults()
    clock.advance(600.0)
    assert loop.poll() is not None and loop.applied is not None, "the loop goes on"
