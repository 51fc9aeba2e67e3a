"""The simulated StatefulSet controller and its ControllerRevisions (pkg/controller/statefulset).

Each pod template is a ``ControllerRevision`` (``<set>-<hash>``, FNV-1 of its data as
``HashControllerRevision`` computes it, ``revision`` numbered, at most
``revisionHistoryLimit`` unused ones kept). ``status.updateRevision`` is the template's
revision; ``status.currentRevision`` stays at the revision the set was at until every pod is
updated and ready (``completeRollingUpdate``), which is what ``kubectl rollout status sts``
compares. Pods ``<set>-<ordinal>`` are created in order (``OrderedReady``: each once the
previous one is Running and Ready) or all at once (``Parallel``) with their claims, removed
from the highest ordinal, and replaced one at a time, highest ordinal first, on a rolling
update (from ``partition`` up; never with ``OnDelete``). Events: ``SuccessfulCreate``,
``SuccessfulDelete``. Called by ``controllers.py``.
"""

from __future__ import annotations

import json
from typing import Any

from gitops_agent.testing.kubesim.ctrlbase import ControllerBase, owner_reference
from gitops_agent.testing.kubesim.events import NORMAL, Source
from gitops_agent.testing.kubesim.kinds import CONTROLLER_REVISIONS, PODS, PVCS, STATEFULSETS
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.workloads import finished, new_pod, pod_ready, terminating

Obj = dict[str, Any]
REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def go_json(value: Any) -> bytes:
    """``json.Marshal`` of decoded JSON: sorted keys, HTML characters escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def revision_hash(data: Obj, collisions: int) -> str:
    """``HashControllerRevision``: FNV-1 32 of the data and the collision count, safe-encoded."""
    value = 2166136261
    for byte in go_json(data) + str(collisions).encode():
        value = (value * 16777619) & 0xFFFFFFFF
        value ^= byte
    return "".join(_SAFE[ord(char) % len(_SAFE)] for char in str(value))


def revision_data(sts: Obj) -> Obj:
    """``getPatch``: the template, to be applied with ``$patch: replace``."""
    template = deep_copy((sts.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: Obj) -> Obj:
    template: Obj = deep_copy(
        ((revision.get("data") or {}).get("spec") or {}).get("template") or {}
    )
    template.pop("$patch", None)
    return template


def ordinal(pod: Obj) -> int:
    tail = pod["metadata"]["name"].rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def pod_revision(pod: Obj) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))


class StatefulSetController(ControllerBase):
    """StatefulSet reconciliation."""

    source = Source("statefulset-controller")

    def statefulset(self, sts: Obj) -> None:
        if sts["metadata"].get("deletionTimestamp"):
            return
        revisions = sorted(
            self.owned(sts, CONTROLLER_REVISIONS), key=lambda r: r.get("revision", 0)
        )
        current, update = self._revisions(sts, revisions)
        self._update(sts, current, update)
        status = self._status(sts, current, update)
        self.write_status(STATEFULSETS, sts, status)
        self._truncate(sts, revisions, status)

    def _revisions(self, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj]:
        """``getStatefulSetRevisions``: the current revision and the template's."""
        data = revision_data(sts)
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        number = (revisions[-1].get("revision", 0) if revisions else 0) + 1
        equal = [r for r in revisions if r.get("data") == data]
        if equal and equal[-1] is revisions[-1]:
            update = revisions[-1]
        elif equal:
            body = deep_copy(equal[-1])
            body["revision"] = number
            update = self.update(CONTROLLER_REVISIONS, body)
        else:
            update = self._new_revision(sts, data, number, collisions)
        named = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if r["metadata"]["name"] == named), update)
        return current, update

    def _new_revision(self, sts: Obj, data: Obj, number: int, collisions: int) -> Obj:
        meta = sts["metadata"]
        digest = revision_hash(data, collisions)
        labels = dict(
            ((sts.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        )
        labels[HASH_LABEL] = digest
        body: Obj = {
            "metadata": {
                "name": f"{meta['name'][:223]}-{digest}",
                "labels": labels,
                "ownerReferences": [owner_reference(STATEFULSETS, sts)],
            },
            "data": data,
            "revision": number,
        }
        if meta.get("annotations"):
            body["metadata"]["annotations"] = dict(meta["annotations"])
        return self.create(CONTROLLER_REVISIONS, meta["namespace"], body)

    def _update(self, sts: Obj, current: Obj, update: Obj) -> None:
        """``updateStatefulSet``: create, replace, remove and update pods, one step at a time
        when ``OrderedReady``."""
        spec = sts.get("spec") or {}
        want = int(spec.get("replicas", 1))
        ordered = spec.get("podManagementPolicy") != "Parallel"
        pods = {ordinal(p): p for p in self.owned(sts, PODS) if ordinal(p) >= 0}
        for index in range(want):
            pod = pods.get(index)
            if pod is not None and finished(pod) and not terminating(pod):
                self._delete_pod(sts, pod)
                return
            if pod is None:
                pods[index] = self._create_pod(sts, index, current, update)
                if ordered:
                    return
                continue
            if ordered and (terminating(pod) or not pod_ready(pod)):
                return
        for index in sorted((i for i in pods if i >= want), reverse=True):
            pod = pods[index]
            if terminating(pod):
                if ordered:
                    return
                continue
            self._delete_pod(sts, pod)
            if ordered:
                return
        self._roll(sts, [pods[i] for i in range(want) if i in pods], update)

    def _roll(self, sts: Obj, pods: list[Obj], update: Obj) -> None:
        """The rolling update: the highest ordinal not at the update revision goes first."""
        strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
        if strategy.get("type") == "OnDelete":
            return
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        for pod in sorted(pods, key=ordinal, reverse=True):
            if ordinal(pod) < partition:
                return
            if pod_revision(pod) != update["metadata"]["name"] and not terminating(pod):
                self._delete_pod(sts, pod)
                return
            if not pod_ready(pod) or terminating(pod):
                return

    def _create_pod(self, sts: Obj, index: int, current: Obj, update: Obj) -> Obj:
        """``newVersionedStatefulSetPod``: below the partition (or the current replicas of
        a rolling update without one), at the current revision; else at the update's."""
        spec, status = sts.get("spec") or {}, sts.get("status") or {}
        strategy = spec.get("updateStrategy") or {}
        rolling_update = strategy.get("rollingUpdate")
        at_current = strategy.get("type") == "RollingUpdate" and (
            (rolling_update is None and index < int(status.get("currentReplicas") or 0))
            or (rolling_update is not None and index < int(rolling_update.get("partition") or 0))
        )
        revision = current if at_current else update
        owner = dict(sts, spec=dict(spec, template=template_of(revision)))
        self._claims(sts, index)
        name = f"{sts['metadata']['name']}-{index}"
        pod = self.create(
            PODS, sts["metadata"]["namespace"], self._identity(owner, name, index, revision)
        )
        self.event(
            STATEFULSETS,
            sts,
            NORMAL,
            "SuccessfulCreate",
            f"create Pod {name} in StatefulSet {sts['metadata']['name']} successful",
        )
        return pod

    def _identity(self, sts: Obj, name: str, index: int, revision: Obj) -> Obj:
        spec = sts.get("spec") or {}
        volumes = list(((spec.get("template") or {}).get("spec") or {}).get("volumes") or [])
        for claim in spec.get("volumeClaimTemplates") or []:
            claim_name = claim["metadata"]["name"]
            claim_ref = {"claimName": f"{claim_name}-{sts['metadata']['name']}-{index}"}
            volumes.append({"name": claim_name, "persistentVolumeClaim": claim_ref})
        extra: Obj = {
            "labels": {
                REVISION_LABEL: revision["metadata"]["name"],
                "statefulset.kubernetes.io/pod-name": name,
                "apps.kubernetes.io/pod-index": str(index),
            },
            "spec": {"hostname": name},
        }
        if spec.get("serviceName"):
            extra["spec"]["subdomain"] = spec["serviceName"]
        if volumes:
            extra["spec"]["volumes"] = volumes
        return new_pod(sts, STATEFULSETS, name=name, extra=extra)

    def _delete_pod(self, sts: Obj, pod: Obj) -> None:
        self.delete(PODS, pod)
        pod_name, name = pod["metadata"]["name"], sts["metadata"]["name"]
        message = f"delete Pod {pod_name} in StatefulSet {name} successful"
        self.event(STATEFULSETS, sts, NORMAL, "SuccessfulDelete", message)

    def _claims(self, sts: Obj, index: int) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        policy = (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted")
        selector_labels = (spec.get("selector") or {}).get("matchLabels") or {}
        pod_name = f"{meta['name']}-{index}"
        for claim in spec.get("volumeClaimTemplates") or []:
            name = f"{claim['metadata']['name']}-{meta['name']}-{index}"
            if self.store.get(PVCS, meta["namespace"], name) is not None:
                continue
            body = {
                "metadata": {"name": name, "labels": dict(selector_labels)},
                "spec": deep_copy(claim.get("spec") or {}),
            }
            if policy == "Delete":
                body["metadata"]["ownerReferences"] = [owner_reference(STATEFULSETS, sts)]
            self.create(PVCS, meta["namespace"], body)
            message = f"create Claim {name} Pod {pod_name} in StatefulSet {meta['name']} success"
            self.event(STATEFULSETS, sts, NORMAL, "SuccessfulCreate", message)

    def _status(self, sts: Obj, current: Obj, update: Obj) -> Obj:
        """``computeReplicaStatus`` and ``completeRollingUpdate``."""
        pods = self.owned(sts, PODS)
        ready = [
            p for p in pods if pod_ready(p) and (p.get("status") or {}).get("phase") == "Running"
        ]
        settled = [p for p in pods if not terminating(p)]
        at_current = sum(1 for p in settled if pod_revision(p) == current["metadata"]["name"])
        at_update = sum(1 for p in settled if pod_revision(p) == update["metadata"]["name"])
        counts = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": len(ready),
            "currentReplicas": at_current,
            "updatedReplicas": at_update,
            "currentRevision": current["metadata"]["name"],
            "updateRevision": update["metadata"]["name"],
        }
        status: Obj = {k: v for k, v in counts.items() if v or k == "replicas"}
        status["collisionCount"] = int((sts.get("status") or {}).get("collisionCount") or 0)
        status["availableReplicas"] = len(ready)
        strategy = ((sts.get("spec") or {}).get("updateStrategy") or {}).get("type")
        if strategy == "RollingUpdate" and at_update == len(pods) == len(ready):
            status["currentReplicas"] = at_update
            status["currentRevision"] = update["metadata"]["name"]
        return status

    def _truncate(self, sts: Obj, revisions: list[Obj], status: Obj) -> None:
        """``truncateHistory``: unused revisions beyond ``revisionHistoryLimit``, oldest first."""
        live = {status.get("currentRevision"), status.get("updateRevision")}
        live.update(pod_revision(p) for p in self.owned(sts, PODS))
        unused = [r for r in revisions if r["metadata"]["name"] not in live]
        limit = int((sts.get("spec") or {}).get("revisionHistoryLimit", 10))
        for revision in unused[: max(0, len(unused) - limit)]:
            self.delete(CONTROLLER_REVISIONS, revision)
