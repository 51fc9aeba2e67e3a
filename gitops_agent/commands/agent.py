"""``run``: the agent. Follows its source, reconciles each new revision, reports statuses,
previews pull requests, checks for drift on its schedule, serves webhooks, health, metrics
and the status page; ``--once`` runs one cycle (and one drift check when one is scheduled)
and exits."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from gitops_agent.commands.common import parse_vars, target_choice
from gitops_agent.commands.driftchecks import build_drift_loop, schedule_drift
from gitops_agent.commands.ports import reporter_for, reporter_spec, source_spec
from gitops_agent.commands.sync import report
from gitops_agent.config import load_config
from gitops_agent.core import driftviews
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.tree import CONFIG_FILE
from gitops_agent.engine.ports import Periodic, Target
from gitops_agent.errors import ConfigError
from gitops_agent.logs import configured
from gitops_agent.redaction import SecretRegistry, quoted
from gitops_agent.reporters import (
    SafeReporter,
    build_pull_requests,
)
from gitops_agent.reporters.base import Reporter
from gitops_agent.service.agent import AgentLoop, AgentParts, RevisionSource
from gitops_agent.service.coordination import Coordination, NoElection
from gitops_agent.service.drift import DriftLoop
from gitops_agent.service.metrics import AgentMetrics
from gitops_agent.service.previews import PreviewLoop, PreviewParts
from gitops_agent.service.scheduler import AgentSchedule
from gitops_agent.service.server import AgentServer, Health, ServerOptions
from gitops_agent.service.ui.board import BoardParts, StatusBoard
from gitops_agent.service.ui.routes import StatusPages
from gitops_agent.service.ui.snapshot import PreviewRow
from gitops_agent.service.webhooks import WebhookSecrets
from gitops_agent.sources.git import GitSource
from gitops_agent.sources.revisions import (
    GitRevisions,
    PreviewCheckouts,
    directory_revisions,
    is_directory_source,
)
from gitops_agent.sources.snapshot import default_cache_dir
from gitops_agent.sources.urls import UrlKind, classify
from gitops_agent.wiring import WatchedTargets, build_coordination, build_target

log = logging.getLogger("gitops_agent.run")


def run(args: argparse.Namespace) -> int:
    in_place = bool(args.source) and is_directory_source(args.source, args.ref)
    followed = directory_revisions(args.source) if in_place else None
    config_path = args.config
    if config_path is None and followed and (followed.path / CONFIG_FILE).is_file():
        config_path = str(followed.path / CONFIG_FILE)
    config = (load_config(config_path) if config_path else AgentConfig()).with_vars(
        parse_vars(args.var)
    )
    if args.source and not in_place:
        config = _following(config, args.source, args.ref)
    with configured(fmt=args.log_format, registry=_secrets(config)):
        return _run(args, config, config_path, followed)


def _following(config: AgentConfig, source: str, ref: str | None) -> AgentConfig:
    """The configuration with SOURCE (a URL, or a local repository at ``--ref``) as the
    repository to follow; a local path is made absolute, as git is handed it."""
    url = source if classify(source, what="SOURCE") is not UrlKind.LOCAL else None
    if url is None:
        path = Path(source)
        if not (path / ".git").exists():
            raise ConfigError(
                f"SOURCE {quoted(source)} is not a git repository; --ref needs one (a plain "
                "directory is followed in place, without --ref)"
            )
        url = str(path.resolve())
    chosen = replace(config.source, url=url, ref=ref or config.source.ref)
    return replace(config, source=chosen)


def _run(
    args: argparse.Namespace,
    config: AgentConfig,
    config_path: str | None,
    followed: RevisionSource | None,
) -> int:
    cache = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    metrics, health = AgentMetrics(), Health()
    coordination = build_coordination(config, target_choice(args), metrics=metrics, health=health)
    home = build_target(config, target_choice(args))  # hooks: periodic jobs, release
    # serving, the agent's own objects are read from a watch cache (one-shot runs LIST)
    watched = None if args.once else WatchedTargets(config, target_choice(args))
    parts = AgentParts(
        config=config,
        config_path=config_path,
        source=followed or _source(config, cache),
        make_target=watched or (lambda cfg: build_target(cfg, target_choice(args))),
        reporter=SafeReporter(
            reporter_for(config, cache), logger=logging.getLogger("gitops_agent.reporter")
        ),
        metrics=metrics,
        health=health,
        display=args.source if followed is not None else ("" if config.source.url else None),
        guard=coordination.guard,
    )
    loop = AgentLoop(parts)
    previews = _previews(args, config, config_path, cache, parts.reporter)
    drift = build_drift_loop(
        parts,
        loop,
        spec=reporter_spec(config),
        cache=cache,
        make_target=parts.make_target,
        reporter=parts.reporter,
    )
    try:
        if args.once:
            return _once_elected(args, loop, previews, home, coordination=coordination, drift=drift)
        return _serve(args, loop, parts, previews, home, coordination=coordination, drift=drift)
    finally:
        if previews is not None:
            previews.close()
        if watched is not None:
            watched.close()
        home.close()


def _once_elected(
    args: argparse.Namespace,
    loop: AgentLoop,
    previews: PreviewLoop | None,
    home: Target,
    *,
    coordination: Coordination | NoElection,
    drift: DriftLoop | None,
) -> int:
    """``--once``; with leader election, only once this process holds the lease (it waits
    up to two lease durations for a running leader to let go), releasing it after."""
    if isinstance(coordination, NoElection):
        return _once(args, loop, previews, home, drift=drift)
    coordination.start(lambda key: None)
    try:
        lease = loop.parts.config.leader_election.lease_duration
        if not _wait_leading(coordination, 2 * lease + 5):
            print(
                f"another replica holds the lease {coordination.lease}: not run",
                file=sys.stderr,
            )
            return 1
        return _once(args, loop, previews, home, drift=drift)
    finally:
        coordination.fence()
        coordination.stop()


def _wait_leading(coordination: Coordination, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if coordination.leading:
            return True
        time.sleep(0.05)
    return False


def _previews(
    args: argparse.Namespace,
    config: AgentConfig,
    config_path: str | None,
    cache: Path,
    reporter: Reporter,
) -> PreviewLoop | None:
    """The preview loop, when previews are enabled and can run: they need a git source
    and a forge that lists pull requests."""
    if not config.previews.enabled:
        if config.previews.environments:
            log.warning("previews.environments has no effect without previews.enabled: true")
        return None
    if not config.source.url:
        log.warning("previews need a git source (source.url or a SOURCE URL): none run")
        return None
    ports = build_pull_requests(reporter_spec(config), source_url=config.source.url)
    if ports.pulls is None:
        log.warning("previews need a forge reporter that lists pull requests: none run")
        return None
    parts = PreviewParts(
        config=config,
        config_path=config_path,
        pulls=ports.pulls,
        reporter=reporter,
        checkouts=PreviewCheckouts(source_spec(config), cache / "previews"),
        make_target=lambda cfg: build_target(cfg, target_choice(args)),
    )
    return PreviewLoop(parts)


def _once(
    args: argparse.Namespace,
    loop: AgentLoop,
    previews: PreviewLoop | None,
    home: Target,
    *,
    drift: DriftLoop | None,
) -> int:
    """One cycle, its status table, the previews of open pull requests, a drift check when
    one is scheduled, then (local target) the processes stopped unless kept."""
    result = loop.poll("manual")
    if previews is not None:
        previews.poll()
    if drift is not None and result is not None:
        drift.check()
    if result is None:
        print(
            "nothing to do: the source could not be read or holds no new revision", file=sys.stderr
        )
        return 1
    code = report(result, "table")
    release = home.hooks().release
    if release is not None and not args.keep_running:
        stopped = release()
        print(f"stopped {stopped} on exit (--keep-running leaves them running)", file=sys.stderr)
    return code


def _secrets(config: AgentConfig) -> SecretRegistry:
    registry = SecretRegistry()
    for name in (
        config.source.token_env,
        config.reporter.token_env,
        config.server.webhook_secret_env,
    ):
        if name and os.environ.get(name):
            registry.add(os.environ[name])
    return registry


def _source(config: AgentConfig, cache: Path) -> RevisionSource:
    if not config.source.url:
        return directory_revisions(".")
    return GitRevisions(GitSource(source_spec(config), cache / "sources"))


def _serve(
    args: argparse.Namespace,
    loop: AgentLoop,
    parts: AgentParts,
    previews: PreviewLoop | None,
    home: Target,
    *,
    coordination: Coordination | NoElection,
    drift: DriftLoop | None,
) -> int:
    config = parts.config
    schedule = AgentSchedule(loop, interval=config.source.interval, gate=coordination.gated)
    for job in home.hooks().periodic:
        schedule.every(job.every, _logging(job))
    if previews is not None:
        schedule.every(config.source.interval, previews.poll, name=PREVIEW_JOB)
    if drift is not None:
        schedule_drift(schedule, drift, config)
    pages = _status_page(config, loop, parts, previews, drift)
    if pages is not None:
        loop.on_cycle = pages.board.refresh
        schedule.every(STATUS_REFRESH, pages.board.refresh, name="status page", gated=False)
    server = AgentServer(
        _server_options(args.listen or config.server.listen, config),
        on_push=lambda hint: _poll_now(schedule, coordination),
        on_pull_request=lambda hint: _preview_now(schedule, previews, coordination),
        metrics=parts.metrics,
        health=parts.health,
        pages=pages.answer if pages is not None else None,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    schedule.start()
    coordination.start(lambda key: _on_leader(key, loop, schedule, previews))
    try:
        stop.wait()
    finally:
        log.info("stopping")
        coordination.fence()  # the running cycle stops at its next write
        schedule.stop()
        coordination.stop()  # then the lease goes to a follower
        server.stop()
    return 0


PREVIEW_JOB = "previews"
STATUS_REFRESH = 10.0  # seconds between refreshes of the status page (and after each cycle)


def _status_page(
    config: AgentConfig,
    loop: AgentLoop,
    parts: AgentParts,
    previews: PreviewLoop | None,
    drift: DriftLoop | None,
) -> StatusPages | None:
    """The status page, unless ``server.ui`` is off; protected by the token
    ``server.uiTokenEnv`` names (which must then be set)."""
    if not config.server.ui:
        return None
    token = ""
    if config.server.ui_token_env:
        token = os.environ.get(config.server.ui_token_env, "")
        if not token:
            raise ConfigError(
                f"server.uiTokenEnv names {config.server.ui_token_env}, which is not set: "
                "set it, or remove the key to serve the page without a token"
            )

    def open_previews() -> list[PreviewRow]:
        found = previews.newest() if previews is not None else []
        return [PreviewRow(p.number, p.head, p.state.value, p.description) for p in found]

    def last_drift() -> str:
        if drift is None:
            return "drift checks are off (drift.interval or drift.schedule turns them on)"
        return driftviews.summary(drift.last.report) if drift.last is not None else ""

    board = StatusBoard(
        BoardParts(
            config=config,
            make_target=parts.make_target,
            applied=loop.state,
            previews=open_previews,
            drift=last_drift,
        )
    )
    return StatusPages(board, token=token)


def _on_leader(
    key: str, loop: AgentLoop, schedule: AgentSchedule, previews: PreviewLoop | None
) -> None:
    """This replica was elected (poll at once, whatever another applied), or a follower
    handed over a webhook (``poll`` or ``previews``)."""
    if key == "elected":
        loop.forget_applied()
    if key == "previews":
        _preview_now(schedule, previews, None)
    else:
        schedule.poll_now()


def _poll_now(schedule: AgentSchedule, coordination: Coordination | NoElection) -> None:
    """A push webhook: poll now here, or on the leader when this replica follows."""
    if not coordination.hand_over("poll"):
        schedule.poll_now()


def _preview_now(
    schedule: AgentSchedule,
    previews: PreviewLoop | None,
    coordination: Coordination | NoElection | None,
) -> None:
    """A pull-request webhook is a hint to look at the pull requests now (on the leader)."""
    if previews is None:
        return
    if coordination is not None and coordination.hand_over("previews"):
        return
    previews.trigger()
    schedule.run_now(PREVIEW_JOB)


def _logging(job: Periodic) -> Callable[[], None]:
    """A target's periodic job whose report lines go to the log."""

    def run() -> None:
        for line in job.run():
            log.info("%s", line)

    return run


def _server_options(listen: str, config: AgentConfig) -> ServerOptions:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"listen address {listen!r} must look like 127.0.0.1:8080")
    secret = os.environ.get(config.server.webhook_secret_env or "", "")
    secrets = WebhookSecrets(
        github=secret, gitlab=secret, gitea=secret, bitbucket=secret, generic=secret
    )
    return ServerOptions(host=host, port=int(port), secrets=secrets)
