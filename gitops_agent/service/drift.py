"""Scheduled drift checks of the running agent.

``DriftLoop.check()`` is the job ``run`` schedules on ``drift.schedule`` (a cron expression, in
``drift.timezone``) or every ``drift.interval``. A check runs only between sync cycles (the
agent loop's ``exclusively``), so it never sees a revision half applied. It observes the
target, compares it with the last applied revision (``engine.drift``) and, when
``drift.mode`` is ``heal``, heals. Each check is reported: the ``gitops_agent_drift_*``
metrics, a commit status ``<reporter context>/drift`` on the applied commit (posted when it
changes, not at every check, and a drift cycle in the history then), one log line per
drifted object (a JSON record with ``--log-format json``) and, with ``drift.issue``, one forge
issue kept up to date while drift lasts and closed when it is gone. A check that fails is logged and counted; it never stops
the agent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops_agent.core import driftviews
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.drift import DriftReport, Healing, HealOutcome
from gitops_agent.core.history import ResourceOutcome, drift_cycle
from gitops_agent.core.reporting import StatusState
from gitops_agent.engine import drift as drifting
from gitops_agent.engine.observing import observe
from gitops_agent.engine.ports import Target
from gitops_agent.errors import GitOpsError
from gitops_agent.redaction import redact
from gitops_agent.reporters.base import CommitStatus, Reporter, truncate_description
from gitops_agent.reporters.issues import DriftIssues, drift_marker
from gitops_agent.service.agent import keep
from gitops_agent.service.metrics import AgentMetrics

log = logging.getLogger("gitops_agent.drift")
JOB = "drift-check"


@dataclass(frozen=True, slots=True)
class DriftParts:
    """What a drift check works with, built by the ``run`` command."""

    config: AgentConfig
    make_target: Callable[[AgentConfig], Target]
    revisions: drifting.Revisions
    reporter: Reporter
    metrics: AgentMetrics
    issues: DriftIssues | None = None
    exclusively: Callable[[Callable[[], Any]], Any] = lambda work: work()


@dataclass(frozen=True, slots=True)
class Checked:
    """One finished check: the report and what a heal did."""

    report: DriftReport
    healed: tuple[Healing, ...] = ()

    @property
    def result(self) -> str:
        """The ``result`` label of the checks metric."""
        if not self.report.has_drift:
            return "clean"
        return "healed" if self.healed and _all_healed(self.healed) else "drift"


def _all_healed(healed: tuple[Healing, ...]) -> bool:
    return all(h.outcome in (HealOutcome.HEALED, HealOutcome.RECREATED) for h in healed)


class DriftLoop:
    """The drift checks of one agent, and what they last reported."""

    def __init__(self, parts: DriftParts) -> None:
        self.parts = parts
        self.last: Checked | None = None
        self._posted: tuple[str, StatusState, str] | None = None
        self._issue: str | None = None  # the body last written; "" once closed; None: unknown

    def check(self) -> Checked | None:
        """One check, between sync cycles; None when it could not run."""
        found: Checked | None = self.parts.exclusively(self._check_now)
        return found

    def _history(
        self, checked: Checked, state: StatusState, description: str, started: float
    ) -> None:
        """A drift cycle in the history, when the check's verdict changed or it healed (a
        check every few seconds that finds the same must not push the syncs out)."""
        by_resource: dict[str, list[str]] = {}
        for item in checked.report.objects:
            by_resource.setdefault(str(item.id), []).append(f"{item.key} {item.kind}")
        outcome = "healed" if checked.healed else "drifted"
        resources = [
            ResourceOutcome(rid, outcome, "; ".join(objects)[:300])
            for rid, objects in sorted(by_resource.items())
        ]
        cycle = drift_cycle(
            revision=checked.report.revision,
            trigger="schedule",
            started=started,
            duration=time.time() - started,
            state=state.value,
            summary=description,
            resources=resources,
        )
        keep(cycle, self.parts.config, self.parts.make_target)

    def _check_now(self) -> Checked | None:
        started = time.time()
        try:
            checked = self._run()
        except GitOpsError as err:
            log.warning("drift check failed: %s", err)
            self.parts.metrics.record_drift("error", {})
            return None
        except Exception as err:  # a bug fails the check, never the agent
            log.debug("unexpected error in a drift check", exc_info=True)
            log.error("drift check failed: %s", redact(f"{type(err).__name__}: {err}"))
            self.parts.metrics.record_drift("error", {})
            return None
        if checked is not None:
            self._report(checked, started)
            self.last = checked
        return checked

    def _run(self) -> Checked | None:
        target = self.parts.make_target(self.parts.config)
        try:
            seen = observe(target)
            applied = drifting.applied_revision(seen, self.parts.revisions)
            if applied is None:
                log.info("drift check: nothing applied yet")
                return None
            wanted = self.parts.revisions.desired(applied)
            report = drifting.check(
                wanted, target, seen, revision=applied, revisions=self.parts.revisions
            )
            if self.parts.config.drift.mode != "heal" or not report.has_drift:
                return Checked(report)
            healed, inventory = drifting.heal(
                report, target, seen.inventory, ignore=drifting.config_rules(wanted)
            )
            if inventory != seen.inventory:
                target.save_inventory(inventory, previous=seen.inventory)
            return Checked(report, healed)
        finally:
            target.close()

    def _report(self, checked: Checked, started: float) -> None:
        report = checked.report
        drifted: dict[tuple[str, str], int] = {}
        for item in report.objects:
            label = (item.key.kind, item.id.workspace)
            drifted[label] = drifted.get(label, 0) + 1
        self.parts.metrics.record_drift(checked.result, drifted)
        for item in report.objects:
            fields = "; ".join(driftviews.field_line(f) for f in item.fields[:3])
            log.warning(
                "drift: %s %s%s",
                item.key,
                item.kind,
                f" ({fields})" if fields else "",
                extra={"fields": {"drift": driftviews.object_json(item)}},
            )
        for healing in checked.healed:
            log.info("drift heal: %s %s %s", healing.outcome, healing.key, healing.message)
        if self._status(report, checked) or checked.healed:
            state, description = self._posted[1:] if self._posted else (StatusState.SUCCESS, "")
            self._history(checked, state, description, started)
        self._update_issue(report, checked)

    def _status(self, report: DriftReport, checked: Checked) -> bool:
        """Post the drift status when it changed; True when it did."""
        healed = checked.result == "healed"
        state = StatusState.SUCCESS if healed or not report.has_drift else StatusState.FAILURE
        description = driftviews.status_description(report)
        if healed:
            description = f"healed {description}"
        posted = (report.revision, state, description)
        if posted == self._posted or not report.revision:
            return False
        context = f"{self.parts.config.reporter_context()}/drift"
        target_url = self.parts.config.reporter.target_url or ""
        status = CommitStatus(state, truncate_description(description), context, target_url)
        self.parts.reporter.report(report.revision, status)
        self._posted = posted
        return True

    def _update_issue(self, report: DriftReport, checked: Checked) -> None:
        """Open or update the drift issue while drift lasts; close it when drift is gone.
        Nothing is asked of the forge while the issue says what it would be told again."""
        issues = self.parts.issues
        if issues is None or not self.parts.config.drift.issue:
            return
        marker = drift_marker(self.parts.config.name)
        try:
            if report.has_drift and checked.result != "healed":
                body = driftviews.drift_markdown(report)
                if body != self._issue:
                    title = f"Drift: {self.parts.config.name} differs from {report.revision[:12]}"
                    number = issues.upsert(marker, title, body)
                    log.info("drift issue #%d: %s", number, driftviews.status_description(report))
                    self._issue = body
            elif self._issue != "":
                closed = issues.close(marker, _gone(report))
                if closed is not None:
                    log.info("drift issue #%d closed: no drift", closed)
                self._issue = ""
        except GitOpsError as err:
            log.warning("drift issue not updated: %s", err)


def _gone(report: DriftReport) -> str:
    against = f" against `{report.revision[:12]}`" if report.revision else ""
    return f"No drift any more{against}: the live objects match the last applied revision."
