"""Observing a target as the engine and the commands see it: the target's own observation
plus the status of every Bundle.

A Bundle holds no objects, so no target can see it: its status is its members' (DataOS
§4.4), computed here from the inventory and the desired resources, the same way for every
target. Called by the applier between waits, by ``engine.reconcile`` before planning and by
``get``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitops_agent.core.planning import DesiredResource
from gitops_agent.core.status import bundle_statuses
from gitops_agent.engine.ports import Observation, Target


def observe(
    target: Target, desired: Sequence[DesiredResource] = (), *, all_owners: bool = False
) -> Observation:
    """What ``target`` holds, with Bundle statuses; ``desired`` names the current workflow
    runs and the Bundles' members and conditions."""
    runs = {d.id: d.steps for d in desired if d.steps}
    seen = target.observe(runs=runs, all_owners=all_owners)
    bundles = bundle_statuses(seen.inventory, seen.statuses, desired)
    return replace(seen, statuses={**seen.statuses, **bundles})
