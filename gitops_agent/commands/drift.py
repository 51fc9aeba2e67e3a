"""``drift``: the live objects against what the last applied revision declared, explained.

``gitops-agent drift [SOURCE] [--heal]`` observes what this owner holds on the target, finds
the revision it last applied (the newest its objects record; never the head of SOURCE when
that was not applied), reads that revision from SOURCE (a repository URL, a local repository,
or a directory and the repository it is in), and says what drifted: each field with git's
value, the live value, the manager that owns it now and a suggested ignore rule. ``--heal``
(or ``drift.mode: heal``) re-applies only the drifted objects and says what it healed; report
mode writes nothing. Exit 0 when nothing drifted, 2 when something did (healed or not), 1 on
an error or a heal that failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gitops_agent.commands.common import parse_vars, target_choice
from gitops_agent.config import configuration, load_config
from gitops_agent.core import driftviews
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.drift import DriftReport, Healing, HealOutcome
from gitops_agent.engine import drift as drifting
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.observing import observe
from gitops_agent.engine.ports import Target
from gitops_agent.errors import ConfigError
from gitops_agent.sources import directory, snapshot
from gitops_agent.sources.applied import DirectoryApplied, GitApplied
from gitops_agent.sources.git import FetchMode, GitSource, GitSourceSpec
from gitops_agent.sources.urls import UrlKind, classify
from gitops_agent.wiring import build_target, read_desired


def drift(args: argparse.Namespace) -> int:
    bootstrap = load_config(args.config) if args.config else AgentConfig()
    taken = snapshot.take(args.source, config=bootstrap, ref=args.ref)
    variables = parse_vars(args.var)
    root = directory.select(str(taken.directory)).root_dir
    config = configuration(root, args.config, variables)
    revisions = _revisions(args, config, taken, variables)
    target = build_target(config, target_choice(args))
    try:
        report, healed = _check(args, config, target, revisions)
    finally:
        target.close()
    _show(report, healed, args.output)
    if any(h.outcome is HealOutcome.FAILED for h in healed):
        return 1
    return 2 if report.has_drift else 0


def _check(
    args: argparse.Namespace,
    config: AgentConfig,
    target: Target,
    revisions: drifting.Revisions,
) -> tuple[DriftReport, tuple[Healing, ...]]:
    seen = observe(target)
    applied = drifting.applied_revision(seen, revisions)
    if applied is None:
        note = f"nothing applied by {config.name} on the {target.kind} target: no drift to check"
        return DriftReport("", notes=(note,), requests=seen.requests), ()
    wanted = revisions.desired(applied)
    if wanted.config.name != config.name:
        raise ConfigError(
            f"revision {applied[:12]} names the agent {wanted.config.name!r}, not {config.name!r}"
        )
    report = drifting.check(wanted, target, seen, revision=applied, revisions=revisions)
    heal = args.heal or wanted.config.drift.mode == "heal"
    if not heal or not report.has_drift:
        return report, ()
    healed, inventory = drifting.heal(
        report, target, seen.inventory, ignore=drifting.config_rules(wanted)
    )
    if inventory != seen.inventory:
        target.save_inventory(inventory, previous=seen.inventory)
    return report, healed


def _revisions(
    args: argparse.Namespace,
    config: AgentConfig,
    taken: snapshot.Snapshot,
    variables: dict[str, str],
) -> drifting.Revisions:
    """Where the applied revisions are read: SOURCE's repository, or its directory."""

    def read(root: Path) -> Desired:
        return read_desired(
            str(root),
            config_path=args.config,
            variables=variables,
            subpath=args.path,
            display="",
        )

    cache = snapshot.default_cache_dir() / "drift"
    url = args.source or config.source.url or "."
    is_repository = classify(url, what="SOURCE") is not UrlKind.LOCAL or args.ref is not None
    if not is_repository:
        return DirectoryApplied(taken.directory, read, cache)
    spec = GitSourceSpec(
        url=url,
        ref=args.ref or config.source.ref,
        token_env=config.source.token_env or "",
        ssh_key_file=config.source.ssh_key_file or "",
        fetch_mode=FetchMode(config.source.fetch),
    )
    return GitApplied(GitSource(spec, snapshot.default_cache_dir() / "sources"), read)


def _show(report: DriftReport, healed: Sequence[Healing], output: str) -> None:
    if output == "json":
        print(json.dumps(driftviews.drift_json(report, healed), indent=2, default=str))
    elif output == "markdown":
        print(driftviews.drift_markdown(report))
    else:
        print(driftviews.drift_text(report, healed))
    if report.has_drift and not healed:
        print("report only: nothing was written (drift --heal re-applies)", file=sys.stderr)
