"""The drift schedule: APScheduler's triggers fire when the cron expression fires as the
Kubernetes parser reads it (``core.cron``), weekdays counted from Sunday, either restricted
day field firing, in the configured timezone; and a drift check never runs during a sync
cycle."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitops_agent.backoff import BackoffPolicy
from gitops_agent.core import cron
from gitops_agent.core.config import AgentConfig
from gitops_agent.errors import ConfigError, SourceError
from gitops_agent.reporters.log import LogReporter
from gitops_agent.service.agent import AgentLoop, AgentParts
from gitops_agent.service.scheduler import cron_trigger
from gitops_agent.testing.fake import FakeTarget

EXPRESSIONS = [
    ("*/15 9-17 * * 1-5", "Europe/Berlin"),
    ("0 0 13 * 5", "UTC"),  # the 13th, or any Friday
    ("30 6 * * 0", "America/New_York"),
    ("@weekly", "UTC"),
    ("@hourly", "Asia/Kolkata"),
    ("0 12 1 jan,jul ?", "UTC"),
    ("5 4 * * sun", "Australia/Sydney"),
]


@pytest.mark.parametrize(("expression", "zone"), EXPRESSIONS)
def test_the_trigger_fires_when_the_cron_expression_does(expression: str, zone: str) -> None:
    trigger = cron_trigger(expression, zone)
    moment = datetime(2026, 3, 27, 22, 58, tzinfo=UTC)  # a DST change in Europe that weekend
    for _ in range(12):
        fired = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
        expected = cron.next_time(expression, moment, timezone=zone)
        assert fired is not None and expected is not None
        assert fired.astimezone(UTC) == expected, f"{expression} after {moment}"
        moment = expected


@pytest.mark.parametrize(("expression", "zone"), [("61 * * * *", "UTC"), ("@hourly", "Mars/Base")])
def test_a_bad_schedule_is_a_config_error(expression: str, zone: str) -> None:
    with pytest.raises(ConfigError):
        cron_trigger(expression, zone)


class SlowSource:
    """A source whose poll takes a while (then finds the remote offline)."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.started = threading.Event()

    def remote_revision(self) -> str:
        self.started.set()
        self.events.append("cycle start")
        time.sleep(0.3)
        self.events.append("cycle end")
        raise SourceError("offline")

    def directory_of(self, revision: str) -> Path:
        raise AssertionError("no revision is read")

    def skipped(self, older: str, newer: str) -> list[str]:
        return []


def test_a_check_waits_for_the_running_cycle() -> None:
    events: list[str] = []
    source = SlowSource(events)
    parts = AgentParts(
        config=AgentConfig(),
        config_path=None,
        source=source,
        make_target=lambda config: FakeTarget(),
        reporter=LogReporter(),
        source_retry=BackoffPolicy(initial=0.01, max_attempts=1),
    )
    loop = AgentLoop(parts)
    cycle = threading.Thread(target=loop.poll)
    cycle.start()
    assert source.started.wait(5)
    loop.exclusively(lambda: events.append("drift check"))
    cycle.join(5)
    assert events == ["cycle start", "cycle end", "drift check"]
