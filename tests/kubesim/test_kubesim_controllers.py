"""Simulated controllers: Deployments become Available, crash loops, Jobs by rule, logs."""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client
from kubesim_manifests import deployment, job

from gitops_agent.testing.kubesim import KubeSim, Outcome, OutcomeRule
from gitops_agent.testing.waiting import wait_for

HEARTBEAT = [
    "sh",
    "-c",
    'while true; do echo "$(date -u +%FT%TZ) sleep-worker heartbeat"; sleep 1; done',
]


def _condition(obj: Any, kind: str) -> str:
    for cond in obj.status.conditions or []:
        if cond.type == kind:
            return str(cond.status)
    return ""


def test_deployment_reaches_available_within_the_delay(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    started = time.monotonic()
    apps.create_namespaced_deployment("public", deployment("web", replicas=3))

    def available() -> Any:
        d = apps.read_namespaced_deployment("web", "public")
        return d if _condition(d, "Available") == "True" and d.status.ready_replicas == 3 else None

    ready = kubesim.wait_for(available, timeout=5)
    assert time.monotonic() - started >= kubesim.config.ready_delay
    assert ready.status.available_replicas == 3 and ready.status.updated_replicas == 3
    assert ready.status.observed_generation == 1
    assert _condition(ready, "Progressing") == "True"
    sets = apps.list_namespaced_replica_set("public").items
    assert len(sets) == 1 and sets[0].metadata.owner_references[0].kind == "Deployment"
    pods = core.list_namespaced_pod("public", label_selector="app=web").items
    assert len(pods) == 3 and {p.status.phase for p in pods} == {"Running"}
    assert all(p.spec.node_name and p.status.pod_ip for p in pods)


def test_crash_looping_image_shows_crashloopbackoff(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    apps.create_namespaced_deployment("public", deployment("bad", image="acme/crashloop:1"))

    def restarts() -> int:
        pods = core.list_namespaced_pod("public", label_selector="app=bad").items
        if not pods or not pods[0].status.container_statuses:
            return 0
        status = pods[0].status.container_statuses[0]
        waiting = status.state.waiting
        if waiting is None or waiting.reason != "CrashLoopBackOff":
            return 0
        assert status.last_state.terminated.exit_code == 1
        return int(status.restart_count)

    first = kubesim.wait_for(restarts, timeout=5)
    kubesim.wait_for(lambda: restarts() > first, timeout=5)
    deploy = apps.read_namespaced_deployment("bad", "public")
    assert _condition(deploy, "Available") == "False"


def test_jobs_succeed_or_fail_by_rule(batch: client.BatchV1Api, kubesim: KubeSim) -> None:
    batch.create_namespaced_job("public", job("ok", command=["sh", "-c", "echo done"]))
    batch.create_namespaced_job("public", job("ko", command=["sh", "-c", "echo no; exit 3"]))

    def finished(name: str) -> Any:
        j = batch.read_namespaced_job(name, "public")
        return j if (_condition(j, "Complete") or _condition(j, "Failed")) == "True" else None

    ok = kubesim.wait_for(lambda: finished("ok"), timeout=5)
    assert ok.status.succeeded == 1 and ok.status.completion_time is not None
    ko = kubesim.wait_for(lambda: finished("ko"), timeout=5)
    assert _condition(ko, "Failed") == "True" and ko.status.failed == 1
    assert [c.reason for c in ko.status.conditions] == ["BackoffLimitExceeded"] * 2


def test_outcome_rules_set_through_python_api(batch: client.BatchV1Api, kubesim: KubeSim) -> None:
    kubesim.set_rules([OutcomeRule(Outcome.FAIL, image="*flaky*", exit_code=7)])
    body = job("flaky", command=["run"])
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "acme/flaky:2"
    batch.create_namespaced_job("public", body)
    done = kubesim.wait_for(
        lambda: batch.read_namespaced_job("flaky", "public").status.failed, timeout=5
    )
    assert done == 1


def test_pod_logs_follow_the_command(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    apps.create_namespaced_deployment("public", deployment("beat", command=HEARTBEAT))
    pod = kubesim.wait_for(
        lambda: [
            p
            for p in core.list_namespaced_pod("public", label_selector="app=beat").items
            if p.status.phase == "Running"
        ],
        timeout=5,
    )[0]

    def two_heartbeats() -> list[str]:
        text = core.read_namespaced_pod_log(pod.metadata.name, "public", container="main")
        lines = text.splitlines()
        return lines if len(lines) >= 2 else []

    lines = wait_for(two_heartbeats, timeout=5, interval=0.1, message="two lines in the pod log")
    assert len(lines) >= 2 and all(line.endswith(" sleep-worker heartbeat") for line in lines)
    assert core.read_namespaced_pod_log(pod.metadata.name, "public", tail_lines=1).count("\n") == 1


def test_cascading_delete_and_orphans(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    for name in ("gone", "kept"):
        apps.create_namespaced_deployment("public", deployment(name, replicas=2))
    kubesim.wait_for(lambda: len(core.list_namespaced_pod("public").items) == 4, timeout=5)
    apps.delete_namespaced_deployment("gone", "public", propagation_policy="Foreground")
    apps.delete_namespaced_deployment("kept", "public", propagation_policy="Orphan")
    kubesim.wait_for(
        lambda: not core.list_namespaced_pod("public", label_selector="app=gone").items, timeout=5
    )
    assert not apps.list_namespaced_deployment("public").items
    sets = apps.list_namespaced_replica_set("public").items
    assert [s.metadata.name.startswith("kept-") for s in sets] == [True]
    assert sets[0].metadata.owner_references is None
    assert len(core.list_namespaced_pod("public", label_selector="app=kept").items) == 2


def test_statefulset_pods_and_claims(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubesim: KubeSim
) -> None:
    sts = deployment("db", replicas=2)
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "db"
    sts["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    ]
    apps.create_namespaced_stateful_set("public", sts)
    kubesim.wait_for(
        lambda: apps.read_namespaced_stateful_set("db", "public").status.ready_replicas == 2,
        timeout=5,
    )
    pods = sorted(p.metadata.name for p in core.list_namespaced_pod("public").items)
    assert pods == ["db-0", "db-1"]
    claims = core.list_namespaced_persistent_volume_claim("public").items
    assert sorted(c.metadata.name for c in claims) == ["data-db-0", "data-db-1"]
    kubesim.wait_for(
        lambda: (
            {c.status.phase for c in core.list_namespaced_persistent_volume_claim("public").items}
            == {"Bound"}
        ),
        timeout=5,
    )


def test_cronjob_schedule_and_trigger(api_client: client.ApiClient, kubesim: KubeSim) -> None:
    batch = client.BatchV1Api(api_client)
    cron = {
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {"name": "m", "image": "busybox:1.36", "command": ["true"]}
                            ],
                        }
                    }
                }
            },
        },
    }
    batch.create_namespaced_cron_job("public", cron)
    job_obj = kubesim.trigger_cronjob("public", "nightly")
    assert job_obj["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    kubesim.wait_for(
        lambda: batch.read_namespaced_cron_job("nightly", "public").status.last_successful_time,
        timeout=5,
    )
