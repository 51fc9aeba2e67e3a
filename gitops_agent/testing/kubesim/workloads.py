"""Simulated controllers of Deployments, ReplicaSets and StatefulSets.

A Deployment owns one ReplicaSet per pod template (``<name>-<pod-template-hash>``), scales
the newest to ``spec.replicas`` and the older ones to zero once it is available, keeps
``revisionHistoryLimit`` old ones, and reports replicas, readyReplicas, availableReplicas,
updatedReplicas, observedGeneration and the Available / Progressing conditions. A ReplicaSet
owns its pods; a StatefulSet owns ordinal pods and the PVCs of its claim templates.
Called by ``controllers.py`` for each object that changed.
"""

from __future__ import annotations

import math
from typing import Any

from gitops_agent.testing.kubesim.ctrlbase import (
    ControllerBase,
    condition,
    owner_reference,
    template_hash,
)
from gitops_agent.testing.kubesim.kinds import DEPLOYMENTS, PODS, PVCS, REPLICASETS, STATEFULSETS
from gitops_agent.testing.kubesim.objects import parse_timestamp, random_suffix
from gitops_agent.testing.kubesim.patching import deep_copy

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"


def pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _scaled(value: Any, total: int, *, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        raw = total * int(value[:-1]) / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value or 0)


class WorkloadControllers(ControllerBase):
    """Deployment, ReplicaSet and StatefulSet reconciliation."""

    def deployment(self, deploy: Obj) -> None:
        meta, spec = deploy["metadata"], deploy.get("spec") or {}
        if meta.get("deletionTimestamp"):
            return
        template = spec.get("template") or {}
        pod_hash = template_hash(template)
        sets = self.owned(deploy, REPLICASETS)
        current = next(
            (
                r
                for r in sets
                if r["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash
            ),
            None,
        )
        revisions = [int(r["metadata"].get("annotations", {}).get(REVISION, "0")) for r in sets]
        if current is None:
            current = self._new_replicaset(deploy, pod_hash, max(revisions, default=0) + 1)
        replicas = int(spec.get("replicas", 1))
        annotations = current["metadata"].get("annotations") or {}
        if current["spec"].get("replicas") != replicas or annotations.get(
            "deployment.kubernetes.io/desired-replicas"
        ) != str(replicas):
            body = deep_copy(current)
            body["spec"]["replicas"] = replicas
            body["metadata"].setdefault("annotations", {}).update(
                {
                    "deployment.kubernetes.io/desired-replicas": str(replicas),
                    "deployment.kubernetes.io/max-replicas": str(
                        replicas
                        + _scaled(
                            ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get(
                                "maxSurge"
                            ),
                            replicas,
                            round_up=True,
                        )
                    ),
                }
            )
            current = self.update(REPLICASETS, body)
        old = [r for r in sets if r["metadata"]["name"] != current["metadata"]["name"]]
        self._retire(deploy, current, old)
        self._deployment_status(deploy, current, [current, *old])

    def _new_replicaset(self, deploy: Obj, pod_hash: str, revision: int) -> Obj:
        meta, spec = deploy["metadata"], deploy.get("spec") or {}
        template = deep_copy(spec.get("template") or {})
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels["pod-template-hash"] = pod_hash
        template.setdefault("metadata", {})["labels"] = labels
        selector = deep_copy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
        replicas = int(spec.get("replicas", 1))
        body = {
            "metadata": {
                "name": f"{meta['name']}-{pod_hash}",
                "labels": labels,
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": str(replicas),
                    "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                    REVISION: str(revision),
                },
                "ownerReferences": [owner_reference(DEPLOYMENTS, deploy)],
            },
            "spec": {
                "replicas": replicas,
                "selector": selector,
                "template": template,
                **(
                    {"minReadySeconds": spec["minReadySeconds"]}
                    if spec.get("minReadySeconds")
                    else {}
                ),
            },
        }
        created = self.create(REPLICASETS, meta["namespace"], body)
        if (meta.get("annotations") or {}).get(REVISION) != str(revision):
            latest = self.store.get(DEPLOYMENTS, meta["namespace"], meta["name"])
            if latest is not None:
                body = deep_copy(latest)
                body["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
                self.update(DEPLOYMENTS, body)
        return created

    def _retire(self, deploy: Obj, current: Obj, old: list[Obj]) -> None:
        spec = deploy.get("spec") or {}
        recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
        done = (current.get("status") or {}).get("availableReplicas", 0) >= spec.get("replicas", 1)
        for rs in old:
            if (recreate or done) and rs["spec"].get("replicas", 0) != 0:
                body = deep_copy(rs)
                body["spec"]["replicas"] = 0
                self.update(REPLICASETS, body)
        idle = sorted(
            (r for r in old if r["spec"].get("replicas", 0) == 0),
            key=lambda r: int(r["metadata"].get("annotations", {}).get(REVISION, "0")),
        )
        limit = int(spec.get("revisionHistoryLimit", 10))
        for rs in idle[: max(0, len(idle) - limit)]:
            self.delete(REPLICASETS, rs)

    def _deployment_status(self, deploy: Obj, current: Obj, sets: list[Obj]) -> None:
        spec, old_status = deploy.get("spec") or {}, deploy.get("status") or {}
        latest = {
            r["metadata"]["name"]: self.store.get(
                REPLICASETS, r["metadata"]["namespace"], r["metadata"]["name"]
            )
            or r
            for r in sets
        }
        stats = [(latest[name].get("status") or {}) for name in latest]
        replicas = sum(int(s.get("replicas", 0)) for s in stats)
        ready = sum(int(s.get("readyReplicas", 0)) for s in stats)
        available = sum(int(s.get("availableReplicas", 0)) for s in stats)
        updated = int((latest[current["metadata"]["name"]].get("status") or {}).get("replicas", 0))
        desired = int(spec.get("replicas", 1))
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        floor = desired - _scaled(rolling.get("maxUnavailable"), desired, round_up=False)
        name = current["metadata"]["name"]
        now, previous = self.now(), old_status.get("conditions")
        is_available = available >= floor
        complete = updated == desired and available >= desired and replicas == desired
        available_cond = condition(
            "Available",
            is_available,
            "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if is_available
            else "Deployment does not have minimum availability.",
            now=now,
            previous=previous,
            update_time=True,
        )
        progressing = self._progressing(deploy, name, complete, now, previous)
        status: Obj = {"observedGeneration": deploy["metadata"].get("generation", 1)}
        for key, value in (
            ("replicas", replicas),
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", available),
            ("unavailableReplicas", max(0, replicas - available)),
        ):
            if value:
                status[key] = value
        status["conditions"] = [available_cond, progressing]
        self.write_status(DEPLOYMENTS, deploy, status)

    def _progressing(
        self, deploy: Obj, rs_name: str, complete: bool, now: str, previous: list[Obj] | None
    ) -> Obj:
        old = next((c for c in previous or [] if c.get("type") == "Progressing"), None)
        if complete:
            return condition(
                "Progressing",
                True,
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now=now,
                previous=previous,
                update_time=True,
            )
        deadline = int((deploy.get("spec") or {}).get("progressDeadlineSeconds", 600))
        since = (old or {}).get("lastUpdateTime") or deploy["metadata"]["creationTimestamp"]
        if self.clock() - parse_timestamp(since) > deadline and old is not None:
            return condition(
                "Progressing",
                False,
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
                now=now,
                previous=previous,
                update_time=True,
            )
        reason = "ReplicaSetUpdated"
        if old is None or old.get("reason") == "NewReplicaSetCreated":
            reason = "NewReplicaSetCreated"
        message = (
            f'Created new replica set "{rs_name}"'
            if reason == "NewReplicaSetCreated"
            else f'ReplicaSet "{rs_name}" is progressing.'
        )
        cond = condition(
            "Progressing", True, reason, message, now=now, previous=previous, update_time=True
        )
        if old is not None and old.get("reason") == reason:
            cond["lastUpdateTime"] = old.get("lastUpdateTime", now)
        return cond

    def replicaset(self, rs: Obj) -> None:
        meta, spec = rs["metadata"], rs.get("spec") or {}
        if meta.get("deletionTimestamp"):
            return
        pods = [p for p in self.owned(rs, PODS) if not p["metadata"].get("deletionTimestamp")]
        want = int(spec.get("replicas", 1))
        for _ in range(want - len(pods)):
            pods.append(self._new_pod(rs, f"{meta['name']}-{random_suffix()}", REPLICASETS))
        if len(pods) > want:
            doomed = sorted(
                pods, key=lambda p: (pod_ready(p), p["metadata"].get("creationTimestamp", ""))
            )[: len(pods) - want]
            for pod in doomed:
                self.delete(PODS, pod)
            pods = [p for p in pods if p not in doomed]
        ready = sum(1 for p in pods if pod_ready(p))
        status: Obj = {"replicas": len(pods), "observedGeneration": meta.get("generation", 1)}
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status.update(readyReplicas=ready, availableReplicas=ready)
        self.write_status(REPLICASETS, rs, status)

    def _new_pod(self, owner: Obj, name: str, owner_rt: Any, extra: Obj | None = None) -> Obj:
        template = deep_copy((owner.get("spec") or {}).get("template") or {})
        meta = dict(template.get("metadata") or {})
        meta.pop("creationTimestamp", None)
        meta.update(name=name, ownerReferences=[owner_reference(owner_rt, owner)])
        body = {"metadata": meta, "spec": template.get("spec") or {}}
        if extra:
            body["metadata"]["labels"] = dict(meta.get("labels") or {}, **extra.get("labels", {}))
            body["spec"] = dict(body["spec"], **extra.get("spec", {}))
        return self.create(PODS, owner["metadata"]["namespace"], body)

    def statefulset(self, sts: Obj) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        if meta.get("deletionTimestamp"):
            return
        revision = f"{meta['name']}-{template_hash(spec.get('template') or {})}"
        pods = {p["metadata"]["name"]: p for p in self.owned(sts, PODS)}
        want = int(spec.get("replicas", 1))
        parallel = spec.get("podManagementPolicy") == "Parallel"
        for ordinal in range(want):
            name = f"{meta['name']}-{ordinal}"
            if name in pods:
                if not (parallel or pod_ready(pods[name])):
                    break
                continue
            self._claims(sts, ordinal)
            pods[name] = self._stateful_pod(sts, name, ordinal, revision)
            if not parallel:
                break
        for name, pod in list(pods.items()):
            if int(name.rsplit("-", 1)[1]) >= want:
                self.delete(PODS, pod)
                del pods[name]
        self._roll(pods, revision)
        self._statefulset_status(sts, list(pods.values()), revision)

    def _stateful_pod(self, sts: Obj, name: str, ordinal: int, revision: str) -> Obj:
        spec = sts.get("spec") or {}
        volumes = list(((spec.get("template") or {}).get("spec") or {}).get("volumes") or [])
        for claim in spec.get("volumeClaimTemplates") or []:
            claim_name = claim["metadata"]["name"]
            volumes.append(
                {
                    "name": claim_name,
                    "persistentVolumeClaim": {
                        "claimName": f"{claim_name}-{sts['metadata']['name']}-{ordinal}"
                    },
                }
            )
        extra: Obj = {
            "labels": {
                "controller-revision-hash": revision,
                "statefulset.kubernetes.io/pod-name": name,
                "apps.kubernetes.io/pod-index": str(ordinal),
            },
            "spec": {"hostname": name},
        }
        if spec.get("serviceName"):
            extra["spec"]["subdomain"] = spec["serviceName"]
        if volumes:
            extra["spec"]["volumes"] = volumes
        return self._new_pod(sts, name, STATEFULSETS, extra)

    def _claims(self, sts: Obj, ordinal: int) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        policy = (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted")
        selector_labels = (spec.get("selector") or {}).get("matchLabels") or {}
        for claim in spec.get("volumeClaimTemplates") or []:
            name = f"{claim['metadata']['name']}-{meta['name']}-{ordinal}"
            if self.store.get(PVCS, meta["namespace"], name) is not None:
                continue
            body = {
                "metadata": {"name": name, "labels": dict(selector_labels)},
                "spec": deep_copy(claim.get("spec") or {}),
            }
            if policy == "Delete":
                body["metadata"]["ownerReferences"] = [owner_reference(STATEFULSETS, sts)]
            self.create(PVCS, meta["namespace"], body)

    def _roll(self, pods: dict[str, Obj], revision: str) -> None:
        outdated = [
            p
            for p in pods.values()
            if p["metadata"].get("labels", {}).get("controller-revision-hash") != revision
        ]
        if outdated and all(pod_ready(p) for p in pods.values()):
            victim = max(outdated, key=lambda p: int(p["metadata"]["name"].rsplit("-", 1)[1]))
            self.delete(PODS, victim)
            del pods[victim["metadata"]["name"]]

    def _statefulset_status(self, sts: Obj, pods: list[Obj], revision: str) -> None:
        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(
            1
            for p in pods
            if p["metadata"].get("labels", {}).get("controller-revision-hash") == revision
        )
        status: Obj = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods),
            "availableReplicas": ready,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        if ready:
            status["readyReplicas"] = ready
        if updated:
            status["currentReplicas"] = updated
            status["updatedReplicas"] = updated
        self.write_status(STATEFULSETS, sts, status)
