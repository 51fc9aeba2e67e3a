"""``stop``: stop what runs on this machine for this agent owner.

Called by ``cli`` (``gitops-agent stop``). On the local target it calls the target's
``release`` hook, the one ``run --once`` calls on exit: this owner's process groups are
stopped (their objects stay recorded, so the next ``apply`` starts them again) and the
supervisor too when nothing else runs under it. On the kubernetes target there is nothing
to stop: the cluster runs the resources, and ``delete`` removes them; that is not an error.
"""

from __future__ import annotations

import argparse
import sys

from gitops_agent.commands.common import config_for, target_choice
from gitops_agent.wiring import build_target


def stop(args: argparse.Namespace) -> int:
    """Exit 0 when nothing of this owner runs any more (or nothing ran), 1 on an error."""
    config = config_for(args)
    kind = args.target or config.target.kind
    if kind != "local":
        print(
            f"nothing to stop on the {kind} target: the cluster runs its resources "
            "(gitops-agent delete removes them)",
            file=sys.stderr,
        )
        return 0
    target = build_target(config, target_choice(args))
    try:
        release = target.hooks().release
        said = release() if release is not None else "nothing"
    finally:
        target.close()
    print(f"owner {config.name}: stopped {said}")
    return 0
