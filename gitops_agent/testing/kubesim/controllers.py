"""The controller loop: which objects need reconciling, and when.

``ControllerLoop`` watches every store event; an event marks the object and its owners dirty
(a pod changing wakes its ReplicaSet, whose status change wakes its Deployment). Pods, Jobs
and CronJobs also ask to be looked at again at a time (the next phase change, the next
schedule). ``step()`` reconciles until nothing is dirty, pausing between reconciles while
requests are being answered (``traffic.py``); ``run()`` calls it every tick in a daemon thread
owned by ``KubeSim``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from gitops_agent.testing.kubesim.deletion import Deleter
from gitops_agent.testing.kubesim.deployments import DeploymentController
from gitops_agent.testing.kubesim.errors import ApiError
from gitops_agent.testing.kubesim.events import Recorder
from gitops_agent.testing.kubesim.jobs import JobControllers
from gitops_agent.testing.kubesim.kinds import RESOURCES, ResourceType
from gitops_agent.testing.kubesim.kubelet import Timing
from gitops_agent.testing.kubesim.objects import Objects
from gitops_agent.testing.kubesim.outcomes import OutcomeRule
from gitops_agent.testing.kubesim.pods import PodController
from gitops_agent.testing.kubesim.statefulsets import StatefulSetController
from gitops_agent.testing.kubesim.store import Event
from gitops_agent.testing.kubesim.workloads import ReplicaSetController

Obj = dict[str, Any]
Key = tuple[str, str, str]
log = logging.getLogger(__name__)
_KINDS = {rt.kind: rt for rt in RESOURCES}
_RECONCILED = (
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "Job",
    "CronJob",
    "Pod",
    "PersistentVolumeClaim",
)


class ControllerLoop:
    """Dirty tracking, timers and dispatch to the simulated controllers."""

    def __init__(
        self,
        objects: Objects,
        deleter: Deleter,
        *,
        timing: Timing,
        rules: Callable[[], tuple[OutcomeRule, ...]],
        clock: Callable[[], float] = time.time,
        pause: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = objects.store
        self.pause = pause  # called between reconciles: requests being answered go first
        self.deleter = deleter
        self.clock = clock
        self.recorder = Recorder(objects, clock)
        shared = {"recorder": self.recorder}
        self.deployments = DeploymentController(objects, deleter, clock, **shared)
        self.replicasets = ReplicaSetController(objects, deleter, clock, **shared)
        self.statefulsets = StatefulSetController(objects, deleter, clock, **shared)
        self.jobs = JobControllers(objects, deleter, clock, **shared)
        self.pods = PodController(objects, deleter, clock, timing=timing, rules=rules, **shared)
        self.dirty: set[Key] = set()
        self.timers: dict[Key, float] = {}
        self.errors: list[str] = []
        with self.store.lock:
            self.watcher = self.store.subscribe(None, "", since=None)
            self.mark_all()

    def reset(self) -> None:
        """Forget what was pending (the store was emptied); the caller holds the store lock."""
        self._drain()
        self.dirty.clear()
        self.timers.clear()
        self.errors.clear()
        self.pods.started.clear()
        self.pods.stopping.clear()
        self.pods.pulled.clear()
        self.recorder.reset()

    def mark_all(self) -> None:
        """Mark every reconciled object dirty (after rules change or a reset)."""
        for kind in _RECONCILED:
            for stored in self.store.items(_KINDS[kind]):
                meta = stored.obj["metadata"]
                self.dirty.add((kind, meta.get("namespace", ""), meta["name"]))

    def _mark(self, event: Event) -> None:
        meta = event.obj["metadata"]
        key = (event.rt.kind, meta.get("namespace", ""), meta["name"])
        if event.type == "DELETED":
            self.timers.pop(key, None)
            if event.rt.kind == "Pod":
                self.pods.forget(str(meta.get("uid", "")))
        elif event.rt.kind in _RECONCILED:
            self.dirty.add(key)
        for ref in meta.get("ownerReferences") or []:
            kind = str(ref.get("kind", ""))
            if kind in _RECONCILED:
                self.dirty.add((kind, meta.get("namespace", ""), str(ref.get("name", ""))))
        if event.rt.kind == "Pod":  # the pvc-protection controller watches pods too
            for volume in (event.obj.get("spec") or {}).get("volumes") or []:
                claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                if claim:
                    self.dirty.add(("PersistentVolumeClaim", meta.get("namespace", ""), claim))

    def _drain(self) -> None:
        while True:
            try:
                event = self.watcher.events.get_nowait()
            except queue.Empty:
                return
            if event is not None:
                self._mark(event)

    def step(self) -> int:
        """Reconcile everything that is dirty or due; returns the number of reconciles."""
        done = 0
        now = self.clock()
        with self.store.lock:
            for key, due in list(self.timers.items()):
                if due <= now:
                    del self.timers[key]
                    self.dirty.add(key)
        for _ in range(50):
            with self.store.lock:
                self._drain()
                if not self.dirty:
                    break
                batch, self.dirty = sorted(self.dirty), set()
            for key in batch:
                self.pause()
                self._reconcile(key)
                done += 1
        if self.deleter.pending:
            self.deleter.collect()
        return done

    def _reconcile(self, key: Key) -> None:
        kind, namespace, name = key
        rt: ResourceType = _KINDS[kind]
        with self.store.lock:
            obj = self.store.get(rt, namespace, name)
            if obj is None:
                return
            try:
                due = self._dispatch(kind, obj)
            except ApiError as exc:
                self.errors.append(f"{kind} {namespace}/{name}: {exc}")
                log.debug("reconcile of %s %s/%s failed: %s", kind, namespace, name, exc)
                return
        if due is not None:
            self.timers[key] = due

    def _dispatch(self, kind: str, obj: Obj) -> float | None:
        if kind == "Deployment":
            return self.deployments.deployment(obj)
        if kind == "ReplicaSet":
            return self.replicasets.replicaset(obj)
        if kind == "StatefulSet":
            self.statefulsets.statefulset(obj)
        elif kind == "Job":
            return self.jobs.job(obj)
        elif kind == "CronJob":
            return self.jobs.cronjob(obj)
        elif kind == "Pod":
            return self.pods.pod(obj)
        elif kind == "PersistentVolumeClaim":
            self.pods.claim(obj)
        return None

    def run(self, stop: threading.Event, tick: float) -> None:
        """Step every ``tick`` seconds until ``stop`` is set."""
        while not stop.wait(tick):
            try:
                self.step()
            except Exception as exc:  # keep the simulated cluster alive
                self.errors.append(repr(exc))
                log.exception("controller step failed")

    def close(self) -> None:
        self.store.unsubscribe(self.watcher)
