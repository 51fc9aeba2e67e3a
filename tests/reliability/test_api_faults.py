"""A cycle finishes what it can when the API server fails (issue 11, acceptance 3 to 5).

kubesim injects faults at 20% of every request (500, 503, dropped connections; separately
latency); a 100-Worker repository converges within three runs, each run prints its results
table, a following plan finds nothing to do, nothing is duplicated and nothing is orphaned.
An apply the server cannot type fails as invalid on the first try. A Worker whose image
never pulls fails the apply, unless ``--no-wait`` only submits.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from kubernetes import client

from gitops_agent.testing.kubesim import Fault
from gitops_agent.testing.kubesim.outcomes import Outcome, OutcomeRule
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.reliability.conftest import Run, deployments, orphans, stored_inventory, write_repo

WORKERS = [f"w{i:03d}" for i in range(100)]
TABLE_HEADER = "RESOURCE"


def converge(run: Run, repo: Path, *, runs: int = 3) -> list[int]:
    """Apply until it succeeds (at most ``runs`` times); the exit codes."""
    codes = []
    for _ in range(runs):
        code, out, err = run("apply", str(repo))
        assert out.startswith(TABLE_HEADER), "every run prints its results table:\n" + err
        codes.append(code)
        if code == 0:
            break
    return codes


@pytest.mark.parametrize(
    "faults",
    [
        [Fault(code=500, rate=0.1), Fault(code=503, rate=0.11)],
        [Fault(code=0, reset=True, rate=0.2)],
    ],
    ids=["errors", "resets"],
)
def test_a_hundred_workers_converge_under_faults(
    run: Run,
    kubesim: KubeSim,
    api: client.ApiClient,
    tmp_path: Path,
    faults: list[Fault],
) -> None:
    repo = write_repo(tmp_path / "repo", WORKERS)
    for fault in faults:
        kubesim.add_fault(fault)
    codes = converge(run, repo)
    assert codes[-1] == 0 and len(codes) <= 3, codes
    hits = sum(f["hits"] for f in kubesim.control.faults())
    total = len(kubesim.requests())
    assert hits >= 0.1 * total, (hits, total)
    kubesim.clear_faults()
    assert run("plan", str(repo))[0] == 0
    assert sorted(deployments(api)) == WORKERS
    assert orphans(api) == []
    assert len(stored_inventory(api).entries) == 100


def test_latency_slows_but_does_not_break_a_cycle(
    run: Run, kubesim: KubeSim, api: client.ApiClient, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", WORKERS[:20])
    kubesim.add_fault(code=0, latency=5.0, rate=0.05, verb="patch")
    kubesim.add_fault(code=0, latency=5.0, rate=0.05, verb="list")
    codes = converge(run, repo)
    assert codes[-1] == 0, codes
    kubesim.clear_faults()
    assert run("plan", str(repo))[0] == 0
    assert sorted(deployments(api)) == WORKERS[:20] and orphans(api) == []


def test_a_failed_list_during_a_bundle_wait_costs_no_created_object_its_record(
    run: Run, kubesim: KubeSim, api: client.ApiClient, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", WORKERS[:10])
    for name in ("w000", "w001"):
        (repo / "workers" / f"{name}.yaml").rename(repo / f"{name}.yaml")
    (repo / "bundle.yaml").write_text(
        "version: v2alpha\nname: pair\ntype: bundle\nbundle:\n  resources:\n"
        "    - {id: first, file: w000.yaml, workspace: public}\n"
        "    - {id: second, file: w001.yaml, workspace: public, dependencies: [first]}\n"
    )
    injected = threading.Event()

    def inject_once_the_first_worker_is_applied() -> None:
        wait_for(
            lambda: any(r.verb == "patch" and r.name == "w000" for r in kubesim.requests()),
            timeout=30,
            message="the first member applied",
        )
        kubesim.add_fault(verb="list", resource="deployments", code=500, times=1)
        injected.set()

    helper = threading.Thread(target=inject_once_the_first_worker_is_applied, daemon=True)
    helper.start()
    code, out, err = run("apply", str(repo))
    helper.join(timeout=30)
    assert injected.is_set() and out.startswith(TABLE_HEADER)
    assert code == 0, out + err
    assert sum(f["hits"] for f in kubesim.control.faults()) == 1
    recorded = {k.name for e in stored_inventory(api).entries.values() for k in e.objects}
    assert set(deployments(api)) == recorded == set(WORKERS[:10])
    assert orphans(api) == []


def test_an_apply_the_server_cannot_type_fails_as_invalid_at_once(
    run: Run, kubesim: KubeSim, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", ["a", "b"])
    kubesim.add_fault(
        verb="patch",
        resource="deployments",
        name="a",
        code=500,
        message="failed to create typed patch object (apps/v1, Kind=Deployment): "
        '.spec.template.spec.containers[name="main"].bogus: field not declared in schema',
    )
    code, _out, err = run("apply", str(repo))
    assert code == 1
    assert "failed: invalid worker/public/a: apply Deployment/public/a: HTTP 500" in err
    assert "field not declared in schema" in err
    patches = [r for r in kubesim.requests() if r.verb == "patch" and r.name == "a"]
    assert len(patches) == 1, "an invalid answer is not retried"


def test_a_worker_whose_image_never_pulls_fails_unless_only_submitted(
    run: Run, kubesim: KubeSim, tmp_path: Path
) -> None:
    kubesim.add_rule(OutcomeRule(Outcome.IMAGE_PULL_BACKOFF, image="*missing*"))
    repo = write_repo(tmp_path / "repo", ["a"], image="registry.invalid/missing:1")
    code, out, err = run("apply", str(repo))
    assert code == 1
    row = next(line for line in out.splitlines() if "worker/public/a" in line)
    assert "failed" in row and ("ImagePullBackOff" in row or "ErrImagePull" in row), row
    write_repo(tmp_path / "other", ["b"], image="registry.invalid/missing:2", owner="other")
    code, out, err = run("apply", str(tmp_path / "other"), "--no-wait")
    assert code == 0, out + err


def test_a_change_the_server_refuses_in_place_says_how_to_make_it(
    run: Run, kubesim: KubeSim, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", [])
    manifest = repo / "workers" / "store.yaml"
    text = (
        "version: v2alpha\nname: store\ntype: worker\nspec:\n  compute: runnable-default\n"
        "  replicas: 2\n  stack: container\n"
        "  stackSpec: {image: 'alpine:3.20', command: [sleep, infinity]}\n"
        "  disk: {size: 1Gi, directory: /data}\n"
    )
    manifest.write_text(text)
    assert run("apply", str(repo))[0] == 0
    manifest.write_text(text.replace("size: 1Gi", "size: 2Gi"))
    code, out, _err = run("apply", str(repo))
    assert code == 1
    assert "updates to statefulset spec for fields other than" in out
    assert "delete it with kubectl delete statefulset NAME --cascade=orphan" in out


def test_a_crash_loop_is_fixed_by_pushing_a_new_image(
    run: Run, kubesim: KubeSim, tmp_path: Path
) -> None:
    """The old ReplicaSet's crash-looping pod stays until the new one is available: the
    rollout that fixes it is judged by the new template's pods, not by the old one's."""
    kubesim.add_rule(OutcomeRule(Outcome.CRASHLOOP, image="*broken*"))
    repo = write_repo(tmp_path / "repo", ["a"], image="registry.example/app:broken")
    code, out, _ = run("apply", str(repo))
    assert code == 1 and "CrashLoopBackOff" in out
    write_repo(tmp_path / "repo", ["a"], image="registry.example/app:fixed")
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    row = next(line for line in out.splitlines() if "worker/public/a" in line)
    assert "running:1" in row, row
