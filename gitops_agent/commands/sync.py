"""``plan`` and ``apply``: one source against one target."""

from __future__ import annotations

import argparse
import json
import sys

from gitops_agent.commands.common import (
    parse_vars,
    print_violations,
    progress_printer,
    table,
    target_choice,
)
from gitops_agent.config import load_config
from gitops_agent.core import reporting
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.core.results import FailureReason, SyncResult
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired
from gitops_agent.sources import snapshot
from gitops_agent.wiring import build_target, read_desired


def read_source(args: argparse.Namespace) -> tuple[Desired, snapshot.Snapshot]:
    """The validated desired state of SOURCE at ``--ref``, and the snapshot it came from."""
    bootstrap = load_config(args.config) if args.config else AgentConfig()
    taken = snapshot.take(args.source, config=bootstrap, ref=args.ref)
    result = read_desired(
        str(taken.directory),
        config_path=args.config,
        variables=parse_vars(args.var),
        subpath=args.path,
    )
    return result, taken


def plan(args: argparse.Namespace) -> int:
    wanted, taken = read_source(args)
    if wanted.violations:
        print_violations(wanted.violations)
        return 1
    target = build_target(wanted.config, target_choice(args))
    try:
        options = reconcile.CycleOptions(allow_mass_prune=args.allow_mass_prune, adopt=args.adopt)
        planned = reconcile.make_plan(wanted, target, revision=taken.revision, options=options)
    except RenderError as err:
        print_violations(err.violations)
        return 1
    finally:
        target.close()
    the_plan = planned.plan
    if args.output == "json":
        print(json.dumps(reporting.plan_json(the_plan), indent=2, default=str))
    elif args.output == "markdown":
        print(reporting.plan_markdown(the_plan))
    else:
        print(reporting.plan_text(the_plan, verbose=args.verbose))
    return 2 if the_plan.has_changes or the_plan.blocked_prune else 0


def apply(args: argparse.Namespace) -> int:
    wanted, taken = read_source(args)
    if wanted.violations:
        print_violations(wanted.violations)
        return 1
    progress = progress_printer(args.quiet)
    target = build_target(wanted.config, target_choice(args), progress=progress)
    where = f" at {taken.revision[:12]}" if taken.revision else ""
    progress(f"applying {taken.display}{where} to the {target.kind} target as {wanted.config.name}")
    try:
        options = reconcile.CycleOptions(
            allow_mass_prune=args.allow_mass_prune, adopt=args.adopt, wait=not args.no_wait
        )
        result = reconcile.reconcile(
            wanted, target, revision=taken.revision, options=options, progress=progress
        )
    finally:
        target.close()
    return report(result, args.output)


def report(result: SyncResult, output: str) -> int:
    """Print a reconcile's results; 0 when everything converged, 1 otherwise."""
    if result.violations:
        print_violations(result.violations)
        return 1
    if output == "json":
        data = {
            "revision": result.revision,
            "ok": result.ok,
            "summary": result.describe(),
            "blockedPrune": result.blocked_prune.message() if result.blocked_prune else None,
            "writes": result.writes,
            "resources": [
                {
                    "id": str(r.id),
                    "outcome": str(r.outcome),
                    "status": r.status.status if r.status else None,
                    "runtime": r.status.runtime if r.status else None,
                    "message": r.message,
                }
                for r in result.resources
            ],
        }
        print(json.dumps(data, indent=2))
    elif result.resources:
        rows = [
            [
                str(r.id),
                str(r.outcome),
                r.status.status if r.status else "-",
                (r.status.runtime if r.status else "") or "-",
                r.message or (r.status.message if r.status else ""),
            ]
            for r in result.resources
        ]
        print(table(rows, ["RESOURCE", "OUTCOME", "STATUS", "RUNTIME", "MESSAGE"]))
    said = result.describe()
    if result.blocked_prune is not None and result.reason is not FailureReason.PRUNE_REFUSED:
        print(f"prune refused: {result.blocked_prune.message()}", file=sys.stderr)
    print(("ok: " if result.ok else "failed: ") + said, file=sys.stderr)
    return 0 if result.ok else 1
