"""Kubernetes objects -> the status model: when a Worker is converged, rolling out or failed."""

from __future__ import annotations

from typing import Any

from gitops_agent.core.kubestate import worker_state
from gitops_agent.core.status import worker_status


def deployment(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "namespace": "public", "generation": 2},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2, **status},
    }


FULL = {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2}


def test_a_complete_rollout_is_converged() -> None:
    status = worker_status(worker_state([deployment(**FULL)], []))
    assert (status.runtime, status.converged, status.settling) == ("running:2", True, False)


def test_ready_but_not_all_available_or_updated_is_still_rolling_out() -> None:
    for missing in ("updatedReplicas", "availableReplicas"):
        status = worker_status(worker_state([deployment(**{**FULL, missing: 1})], []))
        assert status.settling and not status.converged, missing
        assert status.message == "2/2 replicas ready, rolling out"


def test_old_pods_still_running_or_a_generation_not_observed_is_rolling_out() -> None:
    surplus = worker_status(worker_state([deployment(**{**FULL, "replicas": 3})], []))
    stale = worker_status(worker_state([deployment(**{**FULL, "observedGeneration": 1})], []))
    assert not surplus.converged and not stale.converged


def test_a_rollout_past_its_progress_deadline_fails_at_once() -> None:
    condition = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "w-5d8" has timed out progressing.',
    }
    status = worker_status(worker_state([deployment(readyReplicas=1, conditions=[condition])], []))
    assert status.failed and status.runtime == "failed"
    assert (
        status.message == 'ProgressDeadlineExceeded: ReplicaSet "w-5d8" has timed out progressing.'
    )


def _crash_looping(name: str, **meta: Any) -> dict[str, Any]:
    waiting = {"waiting": {"reason": "CrashLoopBackOff"}}
    return {
        "metadata": {"name": name, **meta},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"state": waiting, "restartCount": 3}],
        },
    }


def test_pods_being_deleted_or_of_an_old_revision_do_not_fail_a_worker() -> None:
    terminating = _crash_looping("w-old", deletionTimestamp="2026-01-01T00:00:30Z")
    killed = {
        "metadata": {"name": "w-gone", "deletionTimestamp": "2026-01-01T00:00:30Z"},
        "status": {"phase": "Failed"},
    }
    status = worker_status(worker_state([deployment(**FULL)], [terminating, killed]))
    assert not status.failed and status.converged
    sts = deployment(**FULL, updateRevision="w-2", currentRevision="w-1")
    sts["kind"] = "StatefulSet"
    old = _crash_looping("w-1", labels={"controller-revision-hash": "w-1"})
    assert not worker_status(worker_state([sts], [old])).failed
    new = _crash_looping("w-0", labels={"controller-revision-hash": "w-2"})
    assert worker_status(worker_state([sts], [old, new])).failed
