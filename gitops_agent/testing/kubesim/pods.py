"""The node side of the simulation: admission of new pods, jobs and claims, scheduling, pod
status over time (by outcome rule) and claim binding and protection.

``admit(rt, obj, old)`` mutates objects on creation as the server's admission and registry
do (job selectors and labels, the pod's service account, priority and tolerations, the
claim's storage class and protection finalizer). ``PodController.pod`` schedules a pod and
writes the kubelet status of ``kubelet.pod_status``; ``claim`` binds a PVC and releases its
finalizer once no pod uses it. Called by ``objects.py`` (admission) and ``controllers.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gitops_agent.testing.kubesim import kubelet, outcomes, podevents
from gitops_agent.testing.kubesim.ctrlbase import ControllerBase
from gitops_agent.testing.kubesim.deletion import DeleteOptions
from gitops_agent.testing.kubesim.events import NORMAL, WARNING, Source
from gitops_agent.testing.kubesim.kinds import JOBS, PODS, PVCS, ResourceType
from gitops_agent.testing.kubesim.objects import parse_timestamp
from gitops_agent.testing.kubesim.patching import deep_copy

Obj = dict[str, Any]
NODE_NAME = "kubesim-node"
SCHEDULER = Source("default-scheduler", manager="kube-scheduler")
_JOB_LABELS = (
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "job-name",
)
_TOLERATIONS = [
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]


def admitter(storage_class: str) -> Callable[[ResourceType, Obj, Obj | None], None]:
    """The create-time mutations, with the cluster's default storage class."""

    def admit(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if old is None and rt in (JOBS, PODS, PVCS):
            _admit_new(rt, obj, obj.setdefault("spec", {}), storage_class)

    return admit


def _admit_new(rt: ResourceType, obj: Obj, spec: Obj, storage_class: str) -> None:
    if rt is JOBS and not spec.get("manualSelector"):
        _job_selector(obj, spec)
    elif rt is PODS:
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        tolerations = list(spec.get("tolerations") or [])
        for toleration in _TOLERATIONS:
            if not any(t.get("key") == toleration["key"] for t in tolerations):
                tolerations.append(dict(toleration))
        spec["tolerations"] = tolerations
        obj.setdefault("status", {})["qosClass"] = kubelet.qos_class(obj)
    elif rt is PVCS:
        if storage_class and "storageClassName" not in spec:
            spec["storageClassName"] = storage_class
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if "kubernetes.io/pvc-protection" not in finalizers:
            finalizers.append("kubernetes.io/pvc-protection")


def _job_selector(obj: Obj, spec: Obj) -> None:
    meta = obj["metadata"]
    uid, name = meta["uid"], meta["name"]
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    for key, value in zip(_JOB_LABELS, (uid, name, uid, name), strict=True):
        labels.setdefault(key, value)


class PodController(ControllerBase):
    """Scheduling and kubelet status of pods; binding of claims."""

    manager = "kubelet"
    source = Source("kubelet", NODE_NAME, manager="kubelet")

    def __init__(
        self,
        *args: Any,
        timing: kubelet.Timing,
        rules: Callable[[], tuple[outcomes.OutcomeRule, ...]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.timing = timing
        self.rules = rules
        self.started: dict[str, float] = {}
        self.stopping: dict[str, float] = {}
        self.pulled: set[str] = set()  # the node's image cache

    def start_time(self, pod: Obj) -> float:
        """When the pod was first seen (more precise than its creationTimestamp)."""
        uid = str(pod["metadata"].get("uid", ""))
        if uid not in self.started:
            created = parse_timestamp(pod["metadata"]["creationTimestamp"])
            self.started[uid] = max(created, min(self.clock(), created + 1.0))
        return self.started[uid]

    def pod(self, pod: Obj) -> float | None:
        """Schedule and update one pod; returns when its status next changes."""
        if pod["metadata"].get("deletionTimestamp"):
            return self._terminate(pod)
        resolved = outcomes.resolve(pod, self.rules())
        if resolved.rule.outcome is outcomes.Outcome.PENDING:
            if not (pod.get("status") or {}).get("conditions"):
                message = kubelet.UNSCHEDULABLE
                self.event(PODS, pod, WARNING, "FailedScheduling", message, source=SCHEDULER)
        elif not (pod.get("spec") or {}).get("nodeName"):
            body = deep_copy(pod)
            body["spec"]["nodeName"] = NODE_NAME
            pod = self._as("kube-scheduler", lambda: self.update(PODS, body))
            meta = pod["metadata"]
            message = f"Successfully assigned {meta['namespace']}/{meta['name']} to {NODE_NAME}"
            self.event(PODS, pod, NORMAL, "Scheduled", message, source=SCHEDULER)
        status, next_change = kubelet.pod_status(
            pod, resolved, self.timing, self.start_time(pod), self.clock()
        )
        for kind, reason, message, path in podevents.container_events(
            pod, pod.get("status"), status, self.pulled
        ):
            self.event(PODS, pod, kind, reason, message, field_path=path)
        self.write_status(PODS, pod, status)
        return next_change

    def _terminate(self, pod: Obj) -> float | None:
        """A deleted pod: SIGTERM to its containers (``Killing``), which stop after
        ``termination_delay`` or are killed at the end of the grace period; then the kubelet
        writes the terminal status and removes the pod (a delete with grace 0)."""
        meta = pod["metadata"]
        uid, now = str(meta.get("uid", "")), self.clock()
        if uid not in self.stopping:
            self.stopping[uid] = now
            for kind, reason, message, path in podevents.stopping(pod):
                self.event(PODS, pod, kind, reason, message, field_path=path)
        grace = int(meta.get("deletionGracePeriodSeconds") or 0)
        limit = self.timing.termination_delay
        delay = grace if limit is None else min(grace, limit)
        due = self.stopping[uid] + delay
        if now < due:
            return due
        status = kubelet.stopped_status(pod, now, killed=grace > 0 and delay >= grace)
        self.write_status(PODS, pod, status)
        self.stopping.pop(uid, None)
        options = DeleteOptions(grace=0, uid=uid)
        self.deleter.delete(PODS, meta.get("namespace", ""), meta["name"], options)
        return None

    def _as(self, manager: str, action: Callable[[], Obj]) -> Obj:
        saved = self.manager
        self.manager = manager
        try:
            return action()
        finally:
            self.manager = saved

    def claim(self, pvc: Obj) -> None:
        """Bind a pending claim; release the protection finalizer of a deleted unused one."""
        meta, spec = pvc["metadata"], pvc.get("spec") or {}
        if meta.get("deletionTimestamp"):
            if not self._claim_in_use(pvc):
                body = deep_copy(pvc)
                body["metadata"]["finalizers"] = [
                    f for f in meta.get("finalizers") or [] if f != "kubernetes.io/pvc-protection"
                ]
                self._as("kube-controller-manager", lambda: self.update(PVCS, body))
            return
        if (pvc.get("status") or {}).get("phase") == "Bound":
            return
        body = deep_copy(pvc)
        body["spec"]["volumeName"] = f"pvc-{meta['uid']}"
        annotations = body["metadata"].setdefault("annotations", {})
        annotations.update(
            {
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
            }
        )
        if spec.get("storageClassName"):
            annotations["volume.kubernetes.io/storage-provisioner"] = "kubesim.io/hostpath"
            annotations["volume.beta.kubernetes.io/storage-provisioner"] = "kubesim.io/hostpath"
        bound = self._as("kube-controller-manager", lambda: self.update(PVCS, body))
        requests = (spec.get("resources") or {}).get("requests") or {}
        status = {
            "phase": "Bound",
            "accessModes": list(spec.get("accessModes") or []),
            "capacity": {"storage": requests.get("storage", "0")},
        }
        self._as("kube-controller-manager", lambda: self.write_status(PVCS, bound, status))

    def _claim_in_use(self, pvc: Obj) -> bool:
        name = pvc["metadata"]["name"]
        for stored in self.store.items(PODS, pvc["metadata"]["namespace"]):
            phase = (stored.obj.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                continue
            for volume in (stored.obj.get("spec") or {}).get("volumes") or []:
                if (volume.get("persistentVolumeClaim") or {}).get("claimName") == name:
                    return True
        return False

    def forget(self, uid: str) -> None:
        self.started.pop(uid, None)
        self.stopping.pop(uid, None)


def default_clock() -> float:
    return time.time()
