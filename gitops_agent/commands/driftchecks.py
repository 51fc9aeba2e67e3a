"""The drift checks of ``run``: built from the ``drift`` section of the configuration.

``build_drift_loop`` gives the ``DriftLoop`` of an agent (None when ``drift.schedule`` and
``drift.interval`` are both unset): applied revisions read from the source the agent follows
(its git working copy, or the directory it reads in place and that directory's repository),
the agent's target and reporter, its metrics, and with ``drift.issue`` the forge's issues.
``schedule_drift`` adds the job to the agent's schedule: the cron expression in
``drift.timezone``, or every ``drift.interval``. Called by ``commands.agent``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from gitops_agent.core.config import AgentConfig
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.drift import Revisions
from gitops_agent.engine.ports import Target
from gitops_agent.reporters import ReporterKind, ReporterSpec, build_pull_requests
from gitops_agent.reporters.base import Reporter
from gitops_agent.reporters.issues import DriftIssues, drift_issues
from gitops_agent.service.agent import AgentLoop, AgentParts
from gitops_agent.service.drift import JOB, DriftLoop, DriftParts
from gitops_agent.service.scheduler import AgentSchedule
from gitops_agent.sources.applied import DirectoryApplied, GitApplied
from gitops_agent.sources.revisions import DirectoryRevisions, GitRevisions
from gitops_agent.wiring import read_desired

log = logging.getLogger("gitops_agent.run")


def build_drift_loop(
    parts: AgentParts,
    loop: AgentLoop,
    *,
    spec: ReporterSpec,
    cache: Path,
    make_target: Callable[[AgentConfig], Target],
    reporter: Reporter,
) -> DriftLoop | None:
    """The agent's drift checks; None when none is scheduled."""
    config = parts.config
    if not config.drift.scheduled:
        return None
    drift = DriftParts(
        config=config,
        make_target=make_target,
        revisions=_revisions(parts, cache),
        reporter=reporter,
        metrics=parts.metrics,
        issues=_issues(config, spec) if config.drift.issue else None,
        exclusively=loop.exclusively,
    )
    return DriftLoop(drift)


def schedule_drift(schedule: AgentSchedule, drift: DriftLoop, config: AgentConfig) -> None:
    """Check on ``drift.schedule`` (cron, in ``drift.timezone``) or every ``drift.interval``."""
    section = config.drift
    if section.schedule is not None:
        schedule.on_cron(section.schedule, drift.check, timezone=section.timezone, name=JOB)
        log.info(
            "drift checks on %r (%s), mode %s", section.schedule, section.timezone, section.mode
        )
    elif section.interval is not None:
        schedule.every(section.interval, drift.check, name=JOB)
        log.info("drift checks every %gs, mode %s", section.interval, section.mode)


def _revisions(parts: AgentParts, cache: Path) -> Revisions:
    """The applied revisions, read from where the agent reads revisions."""
    config = parts.config

    def read(root: Path) -> Desired:
        return read_desired(
            str(root),
            config_path=parts.config_path,
            subpath=config.source.path or None,
            display=parts.display,
        )

    source = parts.source
    if isinstance(source, GitRevisions):
        return GitApplied(source.source, read)
    path = source.path if isinstance(source, DirectoryRevisions) else Path(".")
    return DirectoryApplied(path, read, cache / "drift")


def _issues(config: AgentConfig, spec: ReporterSpec) -> DriftIssues | None:
    """The forge's drift issues; None (said once) where the reporter has none."""
    client = None
    if spec.kind in (ReporterKind.GITHUB, ReporterKind.GITLAB, ReporterKind.GITEA):
        ports = build_pull_requests(spec, source_url=config.source.url or "")
        client = drift_issues(ports.pulls) if ports.pulls is not None else None
    if client is None:
        log.warning(
            "drift.issue needs a GitHub, GitLab or Gitea reporter (reporter.kind is %s): "
            "no issue is kept",
            config.reporter.kind,
        )
    return client
