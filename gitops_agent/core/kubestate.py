"""Kubernetes objects -> resources: grouping live objects by resource, and the states the
status model reads (``WorkerState``, ``WorkflowState``, step phases).

Pure; called by ``targets.kubernetes`` after it listed the owner's objects and pods. Pods and
ReplicaSets only inform status; the managed objects are the ones the renderer writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from gitops_agent.core import cron, kinds, labels
from gitops_agent.core.kinds import ObjectKey, key_of
from gitops_agent.core.manifests import ResourceId, ResourceType
from gitops_agent.core.status import (
    Phase,
    StepState,
    WorkerState,
    WorkflowState,
    pod_failure,
)

Obj = Mapping[str, Any]


def resource_of(obj: Obj) -> ResourceId | None:
    """The resource an object belongs to, from its labels (None for other objects)."""
    found = labels.labels_of(obj)
    kind, name = found.get(labels.RESOURCE_TYPE), found.get(labels.RESOURCE_NAME)
    try:
        rtype = ResourceType(kind or "")
    except ValueError:
        return None
    if not name:
        return None
    return ResourceId(
        rtype, "" if rtype is ResourceType.BUNDLE else found.get(labels.WORKSPACE, ""), name
    )


def group(objects: Iterable[Obj]) -> dict[ResourceId, list[Obj]]:
    """Objects by the resource they belong to, each list sorted by key."""
    grouped: dict[ResourceId, list[Obj]] = {}
    for obj in objects:
        rid = resource_of(obj)
        if rid is not None:
            grouped.setdefault(rid, []).append(obj)
    for items in grouped.values():
        items.sort(key=key_of)
    return grouped


def worker_state(objects: Sequence[Obj], pods: Sequence[Obj] = ()) -> WorkerState:
    """A Worker from its Deployment or StatefulSet and its pods (all of them, or only the
    failing ones: ``PodFailures`` keeps those)."""
    workload = next((o for o in objects if o.get("kind") in kinds.WORKLOADS), None)
    if workload is None:
        return WorkerState(present=False)
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    desired = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    generation = int((workload.get("metadata") or {}).get("generation") or 0)
    counts = [int(status.get(name) or 0) for name in ("updatedReplicas", "availableReplicas")]
    rolling = (
        int(status.get("observedGeneration") or 0) < generation
        or min(counts) < desired
        or int(status.get("replicas") or 0) > desired
    )
    failure = _deadline_exceeded(status) or _pods_failure(_current_pods(workload, pods))
    return WorkerState(True, desired, ready, failure, rolling)


def _current_pods(workload: Obj, pods: Sequence[Obj]) -> list[Obj]:
    """The pods that tell the Worker's health: not those being deleted (a terminating pod is
    on its way out, and ends Failed when killed at the end of its grace period), nor those
    of an older template: for a StatefulSet, of a revision other than its ``updateRevision``;
    for a Deployment, without its template's digest (an old ReplicaSet's crash-looping pod
    stays until the new one is available, and must not fail the rollout that fixes it)."""
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    update = (workload.get("status") or {}).get("updateRevision")
    if update:
        return [p for p in live if labels.labels_of(p).get("controller-revision-hash") == update]
    template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    digest = (template.get("labels") or {}).get(labels.TEMPLATE)
    if not digest:  # written before templates were labelled: every pod counts
        return live
    return [p for p in live if labels.labels_of(p).get(labels.TEMPLATE) == digest]


#: What the status model reads of the status of each kind it reads one of (``worker_state``,
#: ``job_phase``), and of each condition.
STATUS_FIELDS: Mapping[str, tuple[str, ...]] = {
    kinds.DEPLOYMENT.name: (
        "replicas",
        "readyReplicas",
        "updatedReplicas",
        "availableReplicas",
        "observedGeneration",
        "conditions",
        "updateRevision",
    ),
    kinds.STATEFUL_SET.name: (
        "replicas",
        "readyReplicas",
        "updatedReplicas",
        "availableReplicas",
        "observedGeneration",
        "conditions",
        "updateRevision",
    ),
    kinds.JOB.name: ("conditions", "active", "startTime"),
}
CONDITION_FIELDS = ("type", "status", "reason", "message")


def status_summary(kind: str, status: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the status model reads of a status of ``kind`` (all of it for other kinds): a
    Kubernetes target keeps no more of the objects it observes."""
    fields = STATUS_FIELDS.get(kind)
    if fields is None:
        return status
    kept = {name: status[name] for name in fields if name in status}
    conditions = kept.get("conditions")
    if isinstance(conditions, list):
        kept["conditions"] = [
            {k: c[k] for k in CONDITION_FIELDS if k in c} if isinstance(c, Mapping) else c
            for c in conditions
        ]
    return kept


def _deadline_exceeded(status: Obj) -> str | None:
    """A Deployment's rollout that exceeded its progress deadline will not finish."""
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "Progressing"
            and condition.get("status") == "False"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            return f"ProgressDeadlineExceeded: {condition.get('message') or 'rollout stalled'}"
    return None


def _pods_failure(pods: Iterable[Obj]) -> str | None:
    for pod in pods:
        failure = failure_of_pod(pod)
        if failure:
            return failure
    return None


def failure_of_pod(pod: Obj) -> str | None:
    """Why a pod will not run (a crash loop, an image that cannot be pulled, a failed pod),
    in words naming it; None for a pod that is fine."""
    status = pod.get("status") or {}
    reasons = [
        (container.get("state") or {}).get("waiting", {}).get("reason", "")
        for container in status.get("containerStatuses") or []
    ]
    failure = pod_failure(reasons)
    if failure:
        restarts = sum(
            int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or []
        )
        name = (pod.get("metadata") or {}).get("name", "")
        return f"{failure}: pod {name} restarted {restarts} time(s)"
    if status.get("phase") == "Failed":
        return f"pod {(pod.get('metadata') or {}).get('name', '')} failed: {status.get('reason', '')}".strip()
    return None


def job_phase(job: Obj) -> tuple[Phase, str]:
    """A Job's phase from its conditions and counts, and a short message."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") in ("Complete", "SuccessCriteriaMet"):
            return Phase.SUCCEEDED, ""
        if condition.get("type") in ("Failed", "FailureTarget"):
            return Phase.FAILED, str(
                condition.get("message") or condition.get("reason") or "failed"
            )
    if status.get("active") or status.get("startTime"):
        return Phase.RUNNING, ""
    return Phase.PENDING, ""


def step_phases(
    objects: Sequence[Obj], current: Iterable[ObjectKey] | None = None
) -> dict[str, tuple[Phase, str]]:
    """The phase of each step's current Job: ``current`` names them, else the newest per step."""
    wanted = set(current) if current is not None else None
    chosen: dict[str, Obj] = {}
    for job in (o for o in objects if o.get("kind") == kinds.JOB.name):
        step = labels.labels_of(job).get(labels.STEP, "")
        if wanted is not None and key_of(job) not in wanted:
            continue
        earlier = chosen.get(step)
        if earlier is None or _created(job) >= _created(earlier):
            chosen[step] = job
    return {step: job_phase(job) for step, job in chosen.items()}


def _created(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("creationTimestamp") or "")


def workflow_state(
    objects: Sequence[Obj],
    *,
    steps: Sequence[str],
    current: Iterable[ObjectKey] | None = None,
    now: datetime | None = None,
) -> WorkflowState:
    """A Workflow from its Jobs (one-off) or its CronJob (scheduled)."""
    cronjob = next((o for o in objects if o.get("kind") == kinds.CRON_JOB.name), None)
    if cronjob is not None:
        return WorkflowState(True, scheduled=True, next_run=_next_run(cronjob, now))
    phases = step_phases(objects, current)
    if not phases and not any(o.get("kind") == kinds.JOB.name for o in objects):
        return WorkflowState(present=bool(objects))
    names = list(steps) or sorted(phases)
    states = tuple(StepState(name, *phases.get(name, (Phase.PENDING, ""))) for name in names)
    return WorkflowState(True, states)


def _next_run(cronjob: Obj, now: datetime | None) -> str | None:
    spec = cronjob.get("spec") or {}
    if now is None or spec.get("suspend"):
        return None
    moment = cron.next_time(
        str(spec.get("schedule", "")), now, timezone=spec.get("timeZone") or "UTC"
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


class PodFailures:
    """What a target keeps of the pods it lists: each failing pod, as the status model reads
    it (``worker_state`` keeps to the failing pods of the current template; a pod that does
    not fail changes nothing), read as each page of pods arrives; the other pods, and the
    spec and managed fields of all, are dropped (they are most of a pod's size)."""

    def __init__(self) -> None:
        self.found: dict[ResourceId, list[Obj]] = {}

    def keep(self, pod: dict[str, Any]) -> None:
        if failure_of_pod(pod) is None:
            return
        rid = resource_of(pod)
        if rid is not None:
            self.found.setdefault(rid, []).append(failing_pod(pod))

    def of(self, rid: ResourceId) -> list[Obj]:
        """``rid``'s failing pods, sorted by key (as ``group`` sorts)."""
        return sorted(self.found.get(rid, ()), key=key_of)


def failing_pod(pod: Obj) -> dict[str, Any]:
    """What ``worker_state`` reads of a pod: its identity and labels, whether it is being
    deleted, its phase and reason, its containers' states and restarts."""
    metadata = pod.get("metadata") or {}
    status = pod.get("status") or {}
    kept = ("name", "namespace", "labels", "deletionTimestamp")
    return {
        "apiVersion": pod.get("apiVersion", "v1"),
        "kind": pod.get("kind", kinds.POD.name),
        "metadata": {k: metadata[k] for k in kept if k in metadata},
        "status": {k: status[k] for k in ("phase", "reason", "containerStatuses") if k in status},
    }
