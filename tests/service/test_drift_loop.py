"""The drift checks of ``run`` on the fake target: what each check reports (metrics, one
status per change on the applied commit, the issue opened, kept and closed), heal mode, and
a check that fails without stopping anything."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gitops_agent.core.config import AgentConfig, DriftConfig
from gitops_agent.core.kinds import ObjectKey
from gitops_agent.core.reporting import StatusState
from gitops_agent.reporters.base import CommitStatus
from gitops_agent.service.drift import DriftLoop, DriftParts
from gitops_agent.service.metrics import AgentMetrics
from gitops_agent.testing.fake import FakeTarget
from tests.engine.test_drift_on_fake import History, applied
from tests.engine.test_engine_on_fake import worker

DEPLOY = ObjectKey("apps/v1", "Deployment", "public", "a")
REVISION = "c" * 40


@dataclass
class Statuses:
    posted: list[tuple[str, CommitStatus]] = field(default_factory=list)

    def report(self, revision: str, status: CommitStatus) -> None:
        self.posted.append((revision, status))


@dataclass
class Issues:
    """An in-memory forge issue tracker holding one marked issue at most."""

    body: str | None = None
    writes: int = 0
    closed: int = 0

    def upsert(self, marker: str, title: str, body: str) -> int:
        assert marker == "gitops-agent drift test"
        self.writes += self.body != body
        self.body = body
        return 1

    def close(self, marker: str, body: str) -> int | None:
        if self.body is None:
            return None
        self.body, self.closed = None, self.closed + 1
        return 1


def loop(
    target: FakeTarget, history: History, *, mode: str = "report"
) -> tuple[DriftLoop, Statuses, Issues, AgentMetrics]:
    config = AgentConfig(name="test", drift=DriftConfig(interval=2.0, mode=mode, issue=True))
    statuses, issues, metrics = Statuses(), Issues(), AgentMetrics()
    parts = DriftParts(
        config=config,
        make_target=lambda _: target,
        revisions=history,
        reporter=statuses,
        metrics=metrics,
        issues=issues,
    )
    return DriftLoop(parts), statuses, issues, metrics


def gauge(metrics: AgentMetrics) -> float:
    return metrics.drift_objects.value(kind="Deployment", workspace="public")


def test_report_mode_posts_on_change_keeps_one_issue_and_moves_the_gauge() -> None:
    target = FakeTarget()
    history = History({REVISION: {"a.yaml": worker("a")}})
    applied(target, history, REVISION)
    checks, statuses, issues, metrics = loop(target, history)
    checks.check()
    assert statuses.posted == [
        (REVISION, CommitStatus(StatusState.SUCCESS, "no drift", "gitops-agent/test/drift"))
    ]
    target.objects[DEPLOY]["spec"]["replicas"] = 3
    for _ in range(3):
        checks.check()
    assert [s.state for _, s in statuses.posted] == [StatusState.SUCCESS, StatusState.FAILURE]
    assert statuses.posted[-1][1].description == "drift: 1 object (1 field)"
    assert gauge(metrics) == 1 and issues.writes == 1 and "spec.replicas" in (issues.body or "")
    assert metrics.drift_checks.value(result="drift") == 3
    assert target.objects[DEPLOY]["spec"]["replicas"] == 3, "report mode writes nothing"
    target.objects[DEPLOY]["spec"]["replicas"] = 1
    checks.check()
    assert statuses.posted[-1][1].state is StatusState.SUCCESS and gauge(metrics) == 0
    assert issues.closed == 1 and issues.body is None
    checks.check()
    assert issues.closed == 1 and len(statuses.posted) == 3


def test_heal_mode_heals_and_says_so() -> None:
    target = FakeTarget()
    history = History({REVISION: {"a.yaml": worker("a")}})
    applied(target, history, REVISION)
    checks, statuses, issues, metrics = loop(target, history, mode="heal")
    target.objects[DEPLOY]["spec"]["replicas"] = 3
    checked = checks.check()
    assert checked is not None and checked.result == "healed"
    assert target.objects[DEPLOY]["spec"]["replicas"] == 1
    ((_, status),) = statuses.posted
    assert (status.state, status.description) == (
        StatusState.SUCCESS,
        "healed drift: 1 object (1 field)",
    )
    assert metrics.drift_checks.value(result="healed") == 1 and issues.body is None


def test_a_failing_check_is_counted_and_nothing_else() -> None:
    target = FakeTarget()
    history = History({REVISION: {"a.yaml": worker("a")}})
    applied(target, history, REVISION)
    checks, statuses, _, metrics = loop(target, replace_history(history))
    assert checks.check() is None
    assert metrics.drift_checks.value(result="error") == 1 and statuses.posted == []
    nothing, statuses, _, _ = loop(FakeTarget(), history)
    assert nothing.check() is None and statuses.posted == [], "nothing applied: nothing to say"


def replace_history(history: History) -> History:
    broken = History({})
    broken.order = history.order
    return broken


def test_drift_config_defaults_schedule_nothing() -> None:
    assert not AgentConfig().drift.scheduled
    assert replace(AgentConfig().drift, interval=5.0).scheduled
