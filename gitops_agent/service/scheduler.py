"""The schedule of the agent: an apscheduler job per source, at its interval with jitter.

Built by the ``run`` command around an ``AgentLoop``. One poll runs at a time
(``max_instances=1``, missed runs coalesced); ``poll_now()`` brings the next run forward, for
push webhooks. The first poll runs at start. Other jobs run every N seconds (``every``) or on
a cron schedule (``on_cron``): a ``CronTrigger`` per day field built from the expression as
Kubernetes reads it (``core.cron``), weekdays by name (APScheduler numbers them from Monday),
and either day field firing when both are restricted, as cron does. ``gate`` wraps every job
that writes, the poll and those added with ``every`` or ``on_cron`` (previews, a drift
check): with leader election only the leader runs them (``service.coordination``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from gitops_agent.core import cron
from gitops_agent.errors import ConfigError
from gitops_agent.service.agent import AgentLoop

JOB = "poll-source"
Job = Callable[[], object]


def _ungated(job: Job) -> Job:
    return job


logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skipped overlapping runs are expected


class AgentSchedule:
    """Runs ``loop.poll`` every ``interval`` seconds (plus up to ``jitter`` seconds)."""

    def __init__(
        self,
        loop: AgentLoop,
        *,
        interval: float,
        jitter: float | None = None,
        gate: Callable[[Job], Job] = _ungated,
    ) -> None:
        self.loop = loop
        self.gate = gate
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.scheduler.add_job(
            gate(loop.poll),
            "interval",
            seconds=interval,
            jitter=jitter if jitter is not None else min(interval * 0.1, 30.0),
            id=JOB,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
            misfire_grace_time=None,
        )

    def every(
        self, seconds: float, job: Job, *, name: str | None = None, gated: bool = True
    ) -> None:
        """Also run ``job`` every ``seconds`` (one at a time; through the gate, on the leader
        only, unless ``gated`` is off: what only reads, as the status page); ``name`` lets
        ``run_now`` find it."""
        chosen = self.gate(job) if gated else job
        self.scheduler.add_job(
            chosen, "interval", seconds=seconds, max_instances=1, coalesce=True, id=name
        )

    def on_cron(
        self, expression: str, job: Callable[[], object], *, timezone: str, name: str
    ) -> None:
        """Also run ``job`` when the cron ``expression`` fires in ``timezone`` (through the
        gate: on the leader only)."""
        self.scheduler.add_job(
            self.gate(job),
            cron_trigger(expression, timezone),
            max_instances=1,
            coalesce=True,
            id=name,
        )

    def run_now(self, name: str) -> None:
        """Run the job added as ``name`` as soon as possible."""
        self.scheduler.modify_job(name, next_run_time=datetime.now(UTC))

    def start(self) -> None:
        self.scheduler.start()

    def poll_now(self) -> None:
        """Poll as soon as possible (right after the running poll when there is one)."""
        self.loop.trigger()
        self.scheduler.modify_job(JOB, next_run_time=datetime.now(UTC))

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, timezone: str) -> CronTrigger | OrTrigger:
    """The APScheduler trigger of a cron expression (a macro included) in ``timezone``."""
    schedule = cron.schedule_of(expression)
    if schedule is None or cron.timezone_problem(timezone) is not None:
        raise ConfigError(f"cannot schedule {expression!r} in timezone {timezone!r}")

    def listed(values: frozenset[int]) -> str:
        return ",".join(str(v) for v in sorted(values))

    def trigger(day: str, weekday: str) -> CronTrigger:
        return CronTrigger(
            minute=listed(schedule.minutes),
            hour=listed(schedule.hours),
            day=day,
            month=listed(schedule.months),
            day_of_week=weekday,
            timezone=timezone,
        )

    weekdays = ",".join(_WEEKDAYS[d] for d in sorted(schedule.weekdays))
    if schedule.restricted_day and schedule.restricted_weekday:
        return OrTrigger([trigger(listed(schedule.days), "*"), trigger("*", weekdays)])
    return trigger(listed(schedule.days), weekdays)
