"""The simulated Deployment controller, step for step as ``pkg/controller/deployment`` does it.

A sync pauses (``spec.paused``: Progressing Unknown ``DeploymentPaused``, no new ReplicaSet),
scales proportionally on a size change, or rolls out: RollingUpdate grows the new ReplicaSet
within ``maxSurge`` and shrinks old ones within ``maxUnavailable`` one step per sync, Recreate
scales the old ones to zero and waits for their pods to end. Each scale is a
``ScalingReplicaSet`` event. The status is ``calculateStatus`` and ``syncRolloutStatus``:
Available, and Progressing (``NewReplicaSetCreated``, ``ReplicaSetUpdated``,
``NewReplicaSetAvailable``, ``ProgressDeadlineExceeded`` once ``progressDeadlineSeconds``
pass without progress: ``deployment`` returns when that check is due, so the timer fires with
no event). Called by ``controllers.py``; the arithmetic is in ``rollout.py``, the status in
``deploystatus.py``.
"""

from __future__ import annotations

from typing import Any

from gitops_agent.testing.kubesim import deploystatus, rollout
from gitops_agent.testing.kubesim.ctrlbase import ControllerBase, owner_reference, template_hash
from gitops_agent.testing.kubesim.errors import ApiError
from gitops_agent.testing.kubesim.events import NORMAL, Source
from gitops_agent.testing.kubesim.kinds import DEPLOYMENTS, PODS, REPLICASETS
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.rollout import replicas

Obj = dict[str, Any]
HASH = "pod-template-hash"
condition_of, set_condition = deploystatus.condition_of, deploystatus.set_condition
TIMED_OUT, PAUSED = deploystatus.TIMED_OUT, "DeploymentPaused"


def _ignore_hash(template: Any) -> Any:
    copy = deep_copy(template or {})
    labels = (copy.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH, None)
    return copy


class DeploymentController(ControllerBase):
    """Deployment reconciliation; returns when the next progress check is due."""

    source = Source("deployment-controller")

    def deployment(self, deploy: Obj) -> float | None:
        if deploy["metadata"].get("deletionTimestamp"):
            return None
        deploy = self._paused_conditions(deploy)
        sets = self.owned(deploy, REPLICASETS)
        if (deploy.get("spec") or {}).get("paused") or self._scaling_event(deploy, sets):
            self._sync(deploy, sets)
            return None
        if rollout.rolling(deploy):
            return self._rolling(deploy, sets)
        return self._recreate(deploy, sets)

    def _cond(self, kind: str, status: str, reason: str, message: str) -> Obj:
        return deploystatus.new_condition(kind, status, reason, message, self.now())

    def _write(self, deploy: Obj, status: Obj, annotations: dict[str, str] | None = None) -> Obj:
        """A status update (annotations ride along: the status strategy keeps them)."""
        if deploy.get("status") == status and not annotations:
            return deploy
        body = deep_copy(deploy)
        body["status"] = status
        if annotations:
            body["metadata"].setdefault("annotations", {}).update(annotations)
        return self.update(DEPLOYMENTS, body, subresource="status")

    def _paused_conditions(self, deploy: Obj) -> Obj:
        """``checkPausedConditions``: Unknown ``DeploymentPaused`` / ``DeploymentResumed``."""
        status = deep_copy(deploy.get("status") or {})
        cond = condition_of(status, "Progressing")
        no_deadline = (deploy.get("spec") or {}).get("progressDeadlineSeconds") is None
        if no_deadline or (cond is not None and cond.get("reason") == TIMED_OUT):
            return deploy
        paused = bool((deploy.get("spec") or {}).get("paused"))
        marked = cond is not None and cond.get("reason") == PAUSED
        if paused and not marked:
            set_condition(
                status, self._cond("Progressing", "Unknown", PAUSED, "Deployment is paused")
            )
        elif not paused and marked:
            resumed = self._cond(
                "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"
            )
            set_condition(status, resumed)
        else:
            return deploy
        return self._write(deploy, status)

    def _find_new(self, deploy: Obj, sets: list[Obj]) -> Obj | None:
        """``FindNewReplicaSet``: the oldest set whose template is the Deployment's."""
        wanted = _ignore_hash((deploy.get("spec") or {}).get("template"))
        for rs in rollout.by_creation(sets):
            if _ignore_hash((rs.get("spec") or {}).get("template")) == wanted:
                return rs
        return None

    def _latest(self, sets: list[Obj]) -> list[Obj]:
        found = [
            self.store.get(REPLICASETS, r["metadata"]["namespace"], r["metadata"]["name"])
            for r in sets
        ]
        return [rs for rs in found if rs is not None]

    def _scaling_event(self, deploy: Obj, sets: list[Obj]) -> bool:
        """``isScalingEvent``: an active set was sized for another replica count."""
        for rs in rollout.active(sets):
            desired = rollout.annotation(rs, rollout.DESIRED)
            if desired.isdigit() and int(desired) != replicas(deploy):
                return True
        return False

    def _scale(self, deploy: Obj, rs: Obj, size: int, operation: str = "") -> tuple[bool, Obj]:
        """``scaleReplicaSetAndRecordEvent``: size and replica annotations, one event."""
        before = replicas(rs)
        wanted = rollout.replica_annotations(deploy)
        current = {k: rollout.annotation(rs, k) for k in wanted}
        if before == size and current == wanted:
            return False, rs
        body = deep_copy(rs)
        body["spec"]["replicas"] = size
        body["metadata"].setdefault("annotations", {}).update(wanted)
        rs = self.update(REPLICASETS, body)
        if before == size:
            return False, rs
        way = operation or ("up" if before < size else "down")
        message = f"Scaled {way} replica set {rs['metadata']['name']} from {before} to {size}"
        self.event(DEPLOYMENTS, deploy, NORMAL, "ScalingReplicaSet", message)
        return True, rs

    def _get_new(self, deploy: Obj, sets: list[Obj], *, create: bool) -> tuple[Obj, Obj | None]:
        """``getNewReplicaSet``: sync an existing new set's annotations and revision, or
        create it (when asked) with the size the strategy allows."""
        new = self._find_new(deploy, sets)
        old = [rs for rs in sets if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
        revision = str(max((rollout.revision(rs) for rs in old), default=0) + 1)
        if new is not None:
            return self._sync_new(deploy, new, revision)
        if not create:
            return deploy, None
        return self._create_new(deploy, old, revision)

    def _sync_new(self, deploy: Obj, new: Obj, revision: str) -> tuple[Obj, Obj | None]:
        body = deep_copy(new)
        annotations = body["metadata"].setdefault("annotations", {})
        before = dict(annotations)
        annotations.update(rollout.copied_annotations(deploy))
        old_revision = rollout.revision(new)
        if old_revision < int(revision):
            annotations[rollout.REVISION] = revision
            if rollout.REVISION in before:
                history = [h for h in annotations.get(rollout.REVISION_HISTORY, "").split(",") if h]
                annotations[rollout.REVISION_HISTORY] = ",".join([*history, str(old_revision)])
        min_ready = (deploy.get("spec") or {}).get("minReadySeconds", 0) or 0
        if annotations != before or (body["spec"].get("minReadySeconds") or 0) != min_ready:
            body["spec"].pop("minReadySeconds", None)
            if min_ready:
                body["spec"]["minReadySeconds"] = min_ready
            return deploy, self.update(REPLICASETS, body)
        status = deep_copy(deploy.get("status") or {})
        if condition_of(status, "Progressing") is None:
            found = f'Found new replica set "{new["metadata"]["name"]}"'
            set_condition(status, self._cond("Progressing", "True", "FoundNewReplicaSet", found))
        own = rollout.annotation(deploy, rollout.REVISION)
        wanted = rollout.annotation(new, rollout.REVISION)
        update = {rollout.REVISION: wanted} if own != wanted else None
        return self._write(deploy, status, update), new

    def _create_new(self, deploy: Obj, old: list[Obj], revision: str) -> tuple[Obj, Obj | None]:
        meta, spec = deploy["metadata"], deploy.get("spec") or {}
        template = deep_copy(spec.get("template") or {})
        pod_hash = template_hash(template)
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **{HASH: pod_hash})
        template.setdefault("metadata", {})["labels"] = labels
        selector = deep_copy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH] = pod_hash
        stub: Obj = {"spec": {"replicas": 0}}
        size = rollout.new_replicas(deploy, [*old, stub], stub)
        annotations = dict(rollout.copied_annotations(deploy), **{rollout.REVISION: revision})
        annotations.update(rollout.replica_annotations(deploy))
        body: Obj = {
            "metadata": {
                "name": f"{meta['name']}-{pod_hash}",
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [owner_reference(DEPLOYMENTS, deploy)],
            },
            "spec": {"replicas": size, "selector": selector, "template": template},
        }
        if spec.get("minReadySeconds"):
            body["spec"]["minReadySeconds"] = spec["minReadySeconds"]
        try:
            created = self.create(REPLICASETS, meta["namespace"], body)
        except ApiError:
            return deploy, None  # a hash collision: the next sync sees the set
        name = created["metadata"]["name"]
        if size > 0:
            message = f"Scaled up replica set {name} from 0 to {size}"
            self.event(DEPLOYMENTS, deploy, NORMAL, "ScalingReplicaSet", message)
        status = deep_copy(deploy.get("status") or {})
        message = f'Created new replica set "{name}"'
        set_condition(status, self._cond("Progressing", "True", "NewReplicaSetCreated", message))
        deploy = self._write(deploy, status, {rollout.REVISION: revision})
        return deploy, created

    def _rolling(self, deploy: Obj, sets: list[Obj]) -> float | None:
        """``rolloutRolling``: scale up, else scale down, else clean up; then the status."""
        deploy, new = self._get_new(deploy, sets, create=True)
        if new is None:
            return None
        old = [rs for rs in self._latest(sets) if rs["metadata"]["uid"] != new["metadata"]["uid"]]
        if not self._reconcile_new(deploy, [*old, new], new):
            new = self._latest([new])[0]
            if not self._reconcile_old(deploy, old, new) and rollout.complete(
                deploy, deploy.get("status") or {}
            ):
                self._cleanup(deploy, old)
        return self._rollout_status(deploy, self._latest([*old, new]), new)

    def _reconcile_new(self, deploy: Obj, sets: list[Obj], new: Obj) -> bool:
        desired = replicas(deploy)
        if replicas(new) == desired:
            return False
        if replicas(new) > desired:
            return self._scale(deploy, new, desired)[0]
        return self._scale(deploy, new, rollout.new_replicas(deploy, sets, new))[0]

    def _reconcile_old(self, deploy: Obj, old: list[Obj], new: Obj) -> bool:
        """``reconcileOldReplicaSets``: unhealthy old replicas first, then within
        ``maxUnavailable``."""
        old = rollout.by_creation(rollout.active(old))
        if rollout.total(old) == 0:
            return False
        room = rollout.old_scale_down_room(deploy, [*old, new], new)
        if room <= 0:
            return False
        done = 0
        for index, rs in enumerate(old):
            unhealthy = replicas(rs) - rollout.status_of(rs, "availableReplicas")
            if done >= room or unhealthy <= 0:
                continue
            step = min(room - done, unhealthy)
            old[index] = self._scale(deploy, rs, replicas(rs) - step)[1]
            done += step
        minimum = replicas(deploy) - rollout.max_unavailable(deploy)
        available = rollout.total_status([*old, new], "availableReplicas")
        quota = available - minimum
        removed = 0
        for rs in old:
            if removed >= quota:
                break
            if replicas(rs) == 0:
                continue
            step = min(replicas(rs), quota - removed)
            self._scale(deploy, rs, replicas(rs) - step)
            removed += step
        return done + max(removed, 0) > 0

    def _recreate(self, deploy: Obj, sets: list[Obj]) -> float | None:
        """``rolloutRecreate``: old sets to zero, wait for their pods, then the new set."""
        deploy, new = self._get_new(deploy, sets, create=False)
        old = [rs for rs in sets if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
        scaled = [self._scale(deploy, rs, 0)[0] for rs in rollout.active(old)]
        if not any(scaled) and not self._old_pods_running(old):
            if new is None:
                deploy, new = self._get_new(deploy, sets, create=True)
            if new is not None:
                self._scale(deploy, new, replicas(deploy))
            if rollout.complete(deploy, deploy.get("status") or {}):
                self._cleanup(deploy, old)
        everything = self._latest([*old, *([new] if new else [])])
        return self._rollout_status(deploy, everything, new)

    def _old_pods_running(self, old: list[Obj]) -> bool:
        """``oldPodsRunning``: old pods that have not ended (terminating ones count)."""
        if rollout.total_status(old, "replicas") > 0:
            return True
        for rs in old:
            for pod in self.owned(rs, PODS):
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return True
        return False

    def _sync(self, deploy: Obj, sets: list[Obj]) -> None:
        """``sync``: a paused Deployment or a scaling event; no new set is created."""
        deploy, new = self._get_new(deploy, sets, create=False)
        old = [rs for rs in sets if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
        self._proportional(deploy, new, old)
        if (deploy.get("spec") or {}).get("paused"):
            self._cleanup(deploy, self._latest(old))
        everything = self._latest([*old, *([new] if new else [])])
        self._write(deploy, deploystatus.calculate(deploy, everything, new, self.now()))

    def _proportional(self, deploy: Obj, new: Obj | None, old: list[Obj]) -> None:
        """``scale``: one active set takes the size; a saturated new set empties the old
        ones; otherwise each active set gets its proportion, the largest the leftover."""
        everything = [*old, *([new] if new else [])]
        live = rollout.active(everything)
        if len(live) <= 1:
            target = live[0] if live else (new or (rollout.by_creation(old)[-1] if old else None))
            if target is not None and replicas(target) != replicas(deploy):
                self._scale(deploy, target, replicas(deploy))
            return
        if rollout.saturated(deploy, new):
            for rs in rollout.active(old):
                self._scale(deploy, rs, 0)
            return
        if not rollout.rolling(deploy):
            return
        allowed = replicas(deploy) + rollout.max_surge(deploy) if replicas(deploy) > 0 else 0
        to_add = allowed - rollout.total(live)
        newer_first = to_add > 0
        live.sort(
            key=lambda rs: (replicas(rs), rs["metadata"]["creationTimestamp"]),
            reverse=newer_first,
        )
        if not newer_first:
            live.sort(key=lambda rs: -replicas(rs))
        sizes, added = {}, 0
        for rs in live:
            share = rollout.proportion(deploy, rs, to_add, added)
            sizes[rs["metadata"]["name"]] = replicas(rs) + share
            added += share
        first = live[0]["metadata"]["name"]
        sizes[first] = max(0, sizes[first] + to_add - added)
        operation = "up" if to_add > 0 else "down"
        for rs in live:
            self._scale(deploy, rs, sizes[rs["metadata"]["name"]], operation)

    def _cleanup(self, deploy: Obj, old: list[Obj]) -> None:
        """``cleanupDeployment``: old empty sets beyond ``revisionHistoryLimit``, oldest first."""
        limit = (deploy.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None:
            return
        alive = sorted(
            (rs for rs in old if not rs["metadata"].get("deletionTimestamp")),
            key=lambda rs: (rollout.revision(rs), rs["metadata"]["creationTimestamp"]),
        )
        for rs in alive[: max(0, len(alive) - int(limit))]:
            idle = replicas(rs) == 0 and rollout.status_of(rs, "replicas") == 0
            observed = rollout.status_of(rs, "observedGeneration") >= rs["metadata"].get(
                "generation", 1
            )
            if idle and observed:
                self.delete(REPLICASETS, rs)

    def _rollout_status(self, deploy: Obj, sets: list[Obj], new: Obj | None) -> float | None:
        """``syncRolloutStatus``: write the status; returns when to look at it again."""
        status = deploystatus.rollout_status(deploy, sets, new, self.clock())
        if status == (deploy.get("status") or {}):
            return deploystatus.requeue(deploy, status)
        self._write(deploy, status)
        return None
