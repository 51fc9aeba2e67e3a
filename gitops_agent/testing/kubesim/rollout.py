"""The arithmetic of Deployment rollouts, as ``pkg/controller/deployment/util`` does it.

Pure functions over a Deployment and its ReplicaSets (stored dicts): the resolved
``maxSurge``/``maxUnavailable`` fenceposts, how far the new ReplicaSet may grow
(``NewRSNewReplicas``), how many old replicas may go (``reconcileOldReplicaSets``), the
proportions of a scaling event with several active sets (``GetProportion``), the replica
annotations, and the status predicates (complete, progressing, timed out) that decide the
Progressing condition. Called by ``deployments.py``.
"""

from __future__ import annotations

import math
from typing import Any

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
NOT_COPIED = (
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
)


def replicas(obj: Obj) -> int:
    """``spec.replicas`` (1 when unset, as defaulted)."""
    value = (obj.get("spec") or {}).get("replicas", 1)
    return int(value) if value is not None else 1


def status_of(obj: Obj, key: str) -> int:
    return int((obj.get("status") or {}).get(key, 0) or 0)


def annotation(obj: Obj, key: str) -> str:
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(key, ""))


def revision(rs: Obj) -> int:
    text = annotation(rs, REVISION)
    return int(text) if text.isdigit() else 0


def scaled(value: Any, total: int, *, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``."""
    if isinstance(value, str) and value.endswith("%"):
        raw = total * int(value[:-1]) / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value or 0)


def rolling(deploy: Obj) -> bool:
    strategy = (deploy.get("spec") or {}).get("strategy") or {}
    return bool(strategy.get("type", "RollingUpdate") == "RollingUpdate")


def fenceposts(deploy: Obj) -> tuple[int, int]:
    """``ResolveFenceposts``: (maxSurge, maxUnavailable); both zero makes unavailable 1."""
    rolling_update = ((deploy.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(deploy)
    surge = scaled(rolling_update.get("maxSurge", 0), desired, round_up=True)
    unavailable = scaled(rolling_update.get("maxUnavailable", 0), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(deploy: Obj) -> int:
    return fenceposts(deploy)[0] if rolling(deploy) else 0


def max_unavailable(deploy: Obj) -> int:
    if not rolling(deploy) or replicas(deploy) == 0:
        return 0
    return min(fenceposts(deploy)[1], replicas(deploy))


def total(sets: list[Obj]) -> int:
    """``GetReplicaCountForReplicaSets``: the sum of ``spec.replicas``."""
    return sum(replicas(rs) for rs in sets)


def total_status(sets: list[Obj], key: str) -> int:
    return sum(status_of(rs, key) for rs in sets)


def active(sets: list[Obj]) -> list[Obj]:
    """``FilterActiveReplicaSets``: the sets that want pods."""
    return [rs for rs in sets if replicas(rs) > 0]


def by_creation(sets: list[Obj]) -> list[Obj]:
    """``ReplicaSetsByCreationTimestamp`` (then by name)."""
    return sorted(
        sets, key=lambda rs: (rs["metadata"]["creationTimestamp"], rs["metadata"]["name"])
    )


def new_replicas(deploy: Obj, sets: list[Obj], new: Obj) -> int:
    """``NewRSNewReplicas``: the new set's size this step (surge-bounded when rolling)."""
    desired = replicas(deploy)
    if not rolling(deploy):
        return desired
    most = desired + max_surge(deploy)
    current = total(sets)
    if current >= most:
        return replicas(new)
    return replicas(new) + min(most - current, desired - replicas(new))


def old_scale_down_room(deploy: Obj, sets: list[Obj], new: Obj) -> int:
    """``maxScaledDown`` of ``reconcileOldReplicaSets``: what may go without dropping below
    the minimum available, counting the new set's unavailable pods."""
    minimum = replicas(deploy) - max_unavailable(deploy)
    new_unavailable = replicas(new) - status_of(new, "availableReplicas")
    return total(sets) - minimum - new_unavailable


def saturated(deploy: Obj, rs: Obj | None) -> bool:
    """``IsSaturated``: the set has all the Deployment's replicas, available."""
    if rs is None:
        return False
    desired = replicas(deploy)
    return (
        replicas(rs) == desired
        and annotation(rs, DESIRED) == str(desired)
        and status_of(rs, "availableReplicas") == desired
    )


def proportion(deploy: Obj, rs: Obj, to_add: int, added: int) -> int:
    """``GetProportion``: this set's share of a scaling event (``to_add`` may be negative)."""
    if replicas(rs) == 0 or to_add in (0, added):
        return 0
    fraction = _fraction(deploy, rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(deploy: Obj, rs: Obj) -> int:
    if replicas(deploy) == 0:
        return -replicas(rs)
    most = replicas(deploy) + max_surge(deploy)
    text = annotation(rs, MAX_REPLICAS)
    before = int(text) if text.isdigit() else 0
    if before == 0:
        before = status_of(deploy, "replicas")
        if before == 0:
            return 0
    return _round(replicas(rs) * most / before) - replicas(rs)


def _round(value: float) -> int:
    """``integer.RoundToInt32``: half away from zero."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def replica_annotations(deploy: Obj) -> dict[str, str]:
    """``SetReplicasAnnotations``: the Deployment's size and its size with surge."""
    desired = replicas(deploy)
    return {DESIRED: str(desired), MAX_REPLICAS: str(desired + max_surge(deploy))}


def copied_annotations(deploy: Obj) -> dict[str, str]:
    """What ``copyDeploymentAnnotationsToReplicaSet`` copies of the Deployment's annotations."""
    own = (deploy.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in own.items() if k not in NOT_COPIED}


def complete(deploy: Obj, status: Obj) -> bool:
    """``DeploymentComplete``."""
    desired = replicas(deploy)
    return (
        int(status.get("updatedReplicas", 0)) == desired
        and int(status.get("replicas", 0)) == desired
        and int(status.get("availableReplicas", 0)) == desired
        and int(status.get("observedGeneration", 0)) >= int(deploy["metadata"].get("generation", 1))
    )


def progressed(old: Obj, new: Obj) -> bool:
    """``DeploymentProgressing``: more updated, ready or available pods, or fewer old ones."""

    def get(status: Obj, key: str) -> int:
        return int(status.get(key, 0) or 0)

    old_left = get(old, "replicas") - get(old, "updatedReplicas")
    new_left = get(new, "replicas") - get(new, "updatedReplicas")
    return (
        get(new, "updatedReplicas") > get(old, "updatedReplicas")
        or new_left < old_left
        or get(new, "readyReplicas") > get(old, "readyReplicas")
        or get(new, "availableReplicas") > get(old, "availableReplicas")
    )
