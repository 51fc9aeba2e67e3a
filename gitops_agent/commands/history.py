"""``history``: what the agent did, cycle by cycle, as the target keeps it.

``gitops-agent history [-n N] [-o table|json]`` lists the newest cycles (sync, preview, drift
check) the agent recorded for this owner; ``history show REVISION`` shows each cycle of a
revision (a full id or a prefix of at least 4 characters) with every resource it changed.
The records live on the target (``targets.history``), so this reads the same history the
status page shows, from any machine that reaches the target, and after restarts. Exit 0;
1 when the target holds no history or no cycle of that revision.
"""

from __future__ import annotations

import argparse
import json
import sys

from gitops_agent.commands.common import config_for, target_choice
from gitops_agent.core import history
from gitops_agent.core.history import Cycle
from gitops_agent.wiring import build_target


def history_command(args: argparse.Namespace) -> int:
    config = config_for(args)
    target = build_target(config, target_choice(args))
    try:
        store = target.hooks().history
        cycles = store.load() if store is not None else ()
    finally:
        target.close()
    if args.action == "show":
        return _show(cycles, args.revision or "", args.output)
    newest = history.newest_first(cycles)[: args.n]
    if args.output == "json":
        print(json.dumps([history.to_json(c) for c in newest], indent=2))
        return 0
    if not newest:
        print(f"no cycles recorded for owner {config.name!r} on this target yet", file=sys.stderr)
        return 1
    print(history.table(newest))
    return 0


def _show(cycles: tuple[Cycle, ...], revision: str, output: str) -> int:
    found = history.find(cycles, revision)
    if output == "json":
        print(json.dumps([history.to_json(c) for c in found], indent=2))
    if not found:
        why = "a revision is named by at least 4 characters" if len(revision) < 4 else "none"
        print(f"no recorded cycle of revision {revision!r} ({why})", file=sys.stderr)
        return 1
    if output != "json":
        print("\n\n".join(history.details(c) for c in found))
    return 0
