"""The reconcile engine on Kubernetes, against kubesim: order, idempotency, updates, prunes,
failures (issue 5 acceptance)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gitops_agent.testing.kubesim.outcomes import Outcome, OutcomeRule
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.engine.conftest import Run

WRITES = {"create", "update", "patch", "delete"}


def writes(sim: KubeSim) -> list[str]:
    return [
        f"{r.verb} {r.resource}/{r.name}"
        for r in sim.requests()
        if r.verb in WRITES and not r.dry_run
    ]


def test_apply_orders_the_bundle_and_the_status_passes_the_verify_checks(
    run: Run, repo: Path, kubesim: KubeSim
) -> None:
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    patches = [
        r for r in kubesim.requests() if r.verb == "patch" and r.resource in ("deployments", "jobs")
    ]
    worker = next(r for r in patches if r.name == "sleep-worker")
    job = next(r for r in patches if r.resource == "jobs")
    assert job.time > worker.time
    # the Job was created only after a LIST showed the worker's pods ready (0.2 s in kubesim)
    assert job.time - worker.time >= kubesim.config.ready_delay
    assert (
        "waits for worker/public/sleep-worker status is active and runtime contains running" in err
    )
    code, out, _ = run(
        "get",
        "-t",
        "worker",
        "-n",
        "sleep-worker",
        "-d",
        "-o",
        "json",
        "--config",
        str(repo / "gitops-agent.yaml"),
    )
    data = json.loads(out)
    assert code == 0
    assert data["status"]["aggregateStatus"] == "active"
    assert "running" in data["status"]["runtimeState"]["status"]
    code, out, _ = run("get", "-t", "workflow", "--config", str(repo / "gitops-agent.yaml"))
    assert "verify-sleep-worker  v2alpha  workflow  public     active  succeeded" in out


def test_second_apply_writes_nothing_and_plan_exits_0(
    run: Run, repo: Path, kubesim: KubeSim
) -> None:
    assert run("apply", str(repo))[0] == 0
    kubesim.control.clear_requests()
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    assert writes(kubesim) == []
    requests = kubesim.requests()
    assert len(requests) <= 10, [f"{r.verb} {r.path}" for r in requests]
    code, out, _ = run("plan", str(repo))
    assert code == 0
    assert "No changes" in out


def test_changing_replicas_plans_that_change_and_applies_one_patch(
    run: Run, repo: Path, kubesim: KubeSim
) -> None:
    assert run("apply", str(repo))[0] == 0
    worker = repo / "workers" / "events-bento.yaml"
    worker.write_text(worker.read_text().replace("replicas: 1", "replicas: 3"))
    code, out, _ = run("plan", str(repo))
    assert code == 2
    changes = [
        line.strip() for line in out.splitlines() if line.strip().startswith(("~ spec", "+ ", "- "))
    ]
    assert changes == ["~ spec.replicas: 1 -> 3"]
    kubesim.control.clear_requests()
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    assert writes(kubesim) == ["patch deployments/events-bento"]


def test_prune_deletes_only_this_owners_objects(run: Run, repo: Path, kubesim: KubeSim) -> None:
    assert run("apply", str(repo))[0] == 0
    # an object with the same labels but another owner
    import kubernetes

    client = kubernetes.config.new_client_from_config(config_file=str(kubesim.kubeconfig))
    try:
        apps = kubernetes.client.AppsV1Api(client)
        body = apps.read_namespaced_deployment("report-writer", "public").to_dict()
        labels = dict(
            body["metadata"]["labels"], **{"gitops-agent.dataos.info/owner": "someone-else"}
        )
        foreign = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "foreign-report-writer", "namespace": "public", "labels": labels},
            "spec": {
                "selector": {"matchLabels": {"app": "foreign"}},
                "template": {
                    "metadata": {"labels": {"app": "foreign"}},
                    "spec": {"containers": [{"name": "main", "image": "alpine"}]},
                },
            },
        }
        apps.create_namespaced_deployment("public", foreign)
        (repo / "workers" / "report-writer.yaml").unlink()
        code, out, err = run("apply", str(repo))
        assert code == 0, out + err
        assert "pruned worker/public/report-writer" in err
        names = {d.metadata.name for d in apps.list_namespaced_deployment("public").items}
        assert "report-writer" not in names
        assert "foreign-report-writer" in names
        # the claim carries the pvc-protection finalizer: it goes once the pod using it is gone
        core = kubernetes.client.CoreV1Api(client)
        selector = "gitops-agent.dataos.info/resource-name=report-writer"
        claims = core.list_namespaced_persistent_volume_claim
        wait_for(
            lambda: not claims("public", label_selector=selector).items,
            timeout=10,
            interval=0.1,
            message="the disk claim of the pruned worker to be deleted",
        )
    finally:
        client.close()


def test_mass_prune_is_refused_then_allowed(run: Run, repo: Path, kubesim: KubeSim) -> None:
    assert run("apply", str(repo))[0] == 0
    for path in (repo / "workers").iterdir():
        path.unlink()
    (repo / "bundles" / "test-worker-sleep.yaml").unlink()
    # the bundle's files stay and load on their own: 3 of 5 resources go, more than half
    code, out, err = run("apply", str(repo))
    assert code == 1
    assert "failed: refusing to prune 3 of 5 owned resources (60%; the limit is 50%" in err
    assert err.count("refusing to prune") == 1, "said once"
    assert (
        "set by sync.maxPruneFraction): bundle/test-worker-sleep, worker/public/events-bento, "
        "worker/public/report-writer; check the source path" in err
    ), "what would be deleted is listed"
    assert not [w for w in writes(kubesim) if w.startswith("delete")]
    shutil.rmtree(repo / "tests")
    code, out, err = run("apply", str(repo))
    assert code == 1
    assert "refusing to prune 5 of 5 owned resources (all" in err
    assert not out.strip(), "nothing else to do: no empty results table"
    assert not [w for w in writes(kubesim) if w.startswith("delete")]
    code, out, err = run("apply", str(repo), "--allow-mass-prune")
    assert code == 0, out + err
    assert len([w for w in writes(kubesim) if w.startswith("delete deployments")]) == 3


def test_crash_looping_worker_fails_and_its_dependents_are_skipped(
    run: Run, repo: Path, kubesim: KubeSim
) -> None:
    kubesim.add_rule(OutcomeRule(Outcome.CRASHLOOP, image="*alpine:3.20*"))
    code, out, _ = run("apply", str(repo))
    assert code == 1
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "skipped" in rows["workflow/public/verify-sleep-worker"]
    assert (
        "dependency worker/public/sleep-worker is active/failed (CrashLoopBackOff"
        in rows["workflow/public/verify-sleep-worker"]
    )
    assert "failed" in rows["worker/public/sleep-worker"].split()[1]
    assert not [r for r in kubesim.requests() if r.resource == "jobs" and r.verb in WRITES]
