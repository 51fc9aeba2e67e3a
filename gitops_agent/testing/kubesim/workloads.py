"""The simulated ReplicaSet controller, and the pod helpers the workload controllers share.

A ReplicaSet keeps ``spec.replicas`` active pods (terminating and finished ones do not count),
created from its template with ``generateName`` (event ``SuccessfulCreate``) and deleted
(gracefully, event ``SuccessfulDelete``) in the order of ``ActivePodsWithRanks``: unscheduled,
pending, not ready, then the most recently ready and created first. Its status counts replicas,
fullyLabeledReplicas, readyReplicas and availableReplicas (ready for ``minReadySeconds``:
``replicaset`` returns when the next pod becomes available). Called by ``controllers.py``;
Deployments are in ``deployments.py``, StatefulSets in ``statefulsets.py``.
"""

from __future__ import annotations

from typing import Any

from gitops_agent.testing.kubesim.ctrlbase import ControllerBase, owner_reference
from gitops_agent.testing.kubesim.events import NORMAL, Source
from gitops_agent.testing.kubesim.kinds import PODS, REPLICASETS, ResourceType
from gitops_agent.testing.kubesim.objects import parse_timestamp
from gitops_agent.testing.kubesim.patching import deep_copy

Obj = dict[str, Any]
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def ready_since(pod: Obj) -> float:
    """When the pod became ready (0 when it is not)."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return parse_timestamp(cond.get("lastTransitionTime") or "1970-01-01T00:00:00Z")
    return 0.0


def terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def active(pods: list[Obj]) -> list[Obj]:
    """``FilterActivePods``: neither finished nor being deleted."""
    return [p for p in pods if not terminating(p) and not finished(p)]


def _restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount", 0)) for s in statuses)


def deletion_order(pod: Obj) -> tuple[Any, ...]:
    """``ActivePodsWithRanks``: the pods to delete first sort first."""
    cost = (pod["metadata"].get("annotations") or {}).get(
        "controller.kubernetes.io/pod-deletion-cost"
    )
    return (
        bool((pod.get("spec") or {}).get("nodeName")),
        _PHASE_RANK.get((pod.get("status") or {}).get("phase", "Pending"), 0),
        pod_ready(pod),
        int(cost) if cost and cost.lstrip("-").isdigit() else 0,
        -ready_since(pod),
        -_restarts(pod),
        -parse_timestamp(pod["metadata"]["creationTimestamp"]),
    )


def new_pod(owner: Obj, owner_rt: ResourceType, *, name: str = "", extra: Obj | None = None) -> Obj:
    """A pod from the owner's template: named, or ``generateName`` ``<owner>-``."""
    template = deep_copy((owner.get("spec") or {}).get("template") or {})
    meta = dict(template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta["ownerReferences"] = [owner_reference(owner_rt, owner)]
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = f"{owner['metadata']['name']}-"
    body = {"metadata": meta, "spec": template.get("spec") or {}}
    if extra:
        body["metadata"]["labels"] = dict(meta.get("labels") or {}, **extra.get("labels", {}))
        body["spec"] = dict(body["spec"], **extra.get("spec", {}))
    return body


class ReplicaSetController(ControllerBase):
    """ReplicaSet reconciliation; returns when a ready pod becomes available."""

    source = Source("replicaset-controller")

    def replicaset(self, rs: Obj) -> float | None:
        meta, spec = rs["metadata"], rs.get("spec") or {}
        if meta.get("deletionTimestamp"):
            return None
        pods = active(self.owned(rs, PODS))
        want = int(spec.get("replicas", 1))
        for _ in range(want - len(pods)):
            pod = self.create(PODS, meta["namespace"], new_pod(rs, REPLICASETS))
            self.event(
                REPLICASETS,
                rs,
                NORMAL,
                "SuccessfulCreate",
                f"Created pod: {pod['metadata']['name']}",
            )
            pods.append(pod)
        if len(pods) > want:
            doomed = sorted(pods, key=deletion_order)[: len(pods) - want]
            for pod in doomed:
                self.delete(PODS, pod)
                self.event(
                    REPLICASETS,
                    rs,
                    NORMAL,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                )
            pods = [p for p in pods if p not in doomed]
        return self._status(rs, pods)

    def _status(self, rs: Obj, pods: list[Obj]) -> float | None:
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        now = self.clock()
        ready = [p for p in pods if pod_ready(p)]
        available = [p for p in ready if ready_since(p) + min_ready <= now]
        status: Obj = {"replicas": len(pods)}
        for key, value in (
            ("fullyLabeledReplicas", len(pods)),
            ("readyReplicas", len(ready)),
            ("availableReplicas", len(available)),
            ("observedGeneration", rs["metadata"].get("generation", 1)),
        ):
            if value:
                status[key] = value
        self.write_status(REPLICASETS, rs, status)
        waiting = [ready_since(p) + min_ready for p in ready if p not in available]
        return min(waiting) + 0.01 if waiting else None
