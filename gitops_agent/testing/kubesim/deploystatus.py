"""A Deployment's status as ``pkg/controller/deployment`` computes it (``sync.go``
``calculateStatus``, ``progress.go`` ``syncRolloutStatus`` and ``requeueStuckDeployment``,
``util/deployment_util.go`` conditions and predicates).

Pure functions of the Deployment, its ReplicaSets and the time: the replica counts, the
Available condition, the Progressing condition (``NewReplicaSetAvailable`` when complete,
``ReplicaSetUpdated`` on progress, ``ProgressDeadlineExceeded`` once the deadline passed
without any), and when a stuck rollout's deadline falls. Called by ``deployments.py``.
"""

from __future__ import annotations

from typing import Any

from gitops_agent.testing.kubesim import rollout
from gitops_agent.testing.kubesim.objects import parse_timestamp, timestamp
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.rollout import replicas

Obj = dict[str, Any]
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"


def condition_of(status: Obj, kind: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def new_condition(kind: str, status: str, reason: str, message: str, now: str) -> Obj:
    """``NewDeploymentCondition``."""
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def set_condition(status: Obj, cond: Obj) -> None:
    """``SetDeploymentCondition``: same status and reason keep the old one; a new status
    keeps no transition time; the condition goes last."""
    old = condition_of(status, cond["type"])
    if old is not None and old["status"] == cond["status"] and old["reason"] == cond["reason"]:
        return
    if old is not None and old["status"] == cond["status"]:
        cond["lastTransitionTime"] = old["lastTransitionTime"]
    others = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]]
    status["conditions"] = [*others, cond]


def calculate(deploy: Obj, sets: list[Obj], new: Obj | None, now: str) -> Obj:
    """``calculateStatus``: counts over the sets and the Available condition."""
    old_status = deploy.get("status") or {}
    available = rollout.total_status(sets, "availableReplicas")
    counts = {
        "replicas": rollout.total_status(sets, "replicas"),
        "updatedReplicas": rollout.status_of(new, "replicas") if new else 0,
        "readyReplicas": rollout.total_status(sets, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, rollout.total(sets) - available),
    }
    status: Obj = {"observedGeneration": deploy["metadata"].get("generation", 1)}
    status.update((k, v) for k, v in counts.items() if v)
    status["conditions"] = deep_copy(old_status.get("conditions") or [])
    if "collisionCount" in old_status:
        status["collisionCount"] = old_status["collisionCount"]
    if available >= replicas(deploy) - rollout.max_unavailable(deploy):
        reason, message = "MinimumReplicasAvailable", "Deployment has minimum availability."
        set_condition(status, new_condition("Available", "True", reason, message, now))
    else:
        reason, message = (
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
        set_condition(status, new_condition("Available", "False", reason, message, now))
    return status


def rollout_status(deploy: Obj, sets: list[Obj], new: Obj | None, clock: float) -> Obj:
    """``syncRolloutStatus``: the counts, Available and the Progressing condition."""
    now = timestamp(clock)
    status = calculate(deploy, sets, new, now)
    deadline = (deploy.get("spec") or {}).get("progressDeadlineSeconds")
    current = condition_of(deploy.get("status") or {}, "Progressing")
    finished = (
        status.get("replicas", 0) == status.get("updatedReplicas", 0)
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE
    )
    if deadline is None:
        status["conditions"] = [c for c in status["conditions"] if c["type"] != "Progressing"]
    elif not finished:
        _progress(deploy, status, new, current, clock)
    return status


def _progress(deploy: Obj, status: Obj, new: Obj | None, current: Obj | None, clock: float) -> None:
    now = timestamp(clock)
    meta = (new or deploy)["metadata"]
    name = f'ReplicaSet "{meta["name"]}"' if new else f'Deployment "{meta["name"]}"'
    if rollout.complete(deploy, status):
        message = f"{name} has successfully progressed."
        set_condition(status, new_condition("Progressing", "True", NEW_RS_AVAILABLE, message, now))
    elif rollout.progressed(deploy.get("status") or {}, status):
        message = f"{name} is progressing."
        cond = new_condition("Progressing", "True", "ReplicaSetUpdated", message, now)
        if current is not None:
            if current.get("status") == "True":
                cond["lastTransitionTime"] = current["lastTransitionTime"]
            status["conditions"] = [c for c in status["conditions"] if c["type"] != "Progressing"]
        set_condition(status, cond)
    elif timed_out(deploy, status, clock):
        message = f"{name} has timed out progressing."
        set_condition(status, new_condition("Progressing", "False", TIMED_OUT, message, now))


def timed_out(deploy: Obj, status: Obj, clock: float) -> bool:
    """``DeploymentTimedOut``: no progress since the condition's lastUpdateTime."""
    cond = condition_of(status, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    deadline = int((deploy.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    return parse_timestamp(cond["lastUpdateTime"]) + deadline < clock


def requeue(deploy: Obj, status: Obj) -> float | None:
    """``requeueStuckDeployment``: when the progress deadline of a stuck rollout falls."""
    deadline = (deploy.get("spec") or {}).get("progressDeadlineSeconds")
    current = condition_of(deploy.get("status") or {}, "Progressing")
    if deadline is None or current is None:
        return None
    if rollout.complete(deploy, status) or current.get("reason") == TIMED_OUT:
        return None
    return parse_timestamp(current["lastUpdateTime"]) + int(deadline) + 0.01
