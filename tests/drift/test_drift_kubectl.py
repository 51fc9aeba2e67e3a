"""``gitops-agent drift`` (issue 16, acceptance 1 to 4): the sample applied to kubesim by the
real command line, changed out of band with the real kubectl v1.32, each change named with
the manager kubectl writes as, healed, and checked against the last applied revision only.
"""

from __future__ import annotations

from pathlib import Path

from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.conftest import Run
from tests.drift.conftest import (
    Kubectl,
    commit,
    drift_json,
    edit,
    fields_of,
    live,
    needs_kubectl,
)

pytestmark = needs_kubectl
SLEEP = "tests/worker/sleep-worker/worker.yaml"


def test_kubectl_scale_is_named_healed_and_then_gone(
    run: Run, repo: Path, kubectl: Kubectl, kubesim: KubeSim
) -> None:
    assert run("apply", str(repo))[0] == 0
    kubesim.control.clear_requests()
    assert run("drift", str(repo))[0] == 0
    lists = list(kubesim.requests())
    assert {r.verb for r in lists} == {"list"}, "no drift costs one LIST per kind, nothing more"
    assert len(lists) == len({r.resource for r in lists}) == 8
    kubectl("scale", "deploy/sleep-worker", "--replicas=3")
    code, out, err = run("drift", str(repo))
    assert code == 2, out + err
    assert "~ spec.replicas: 1 -> 3" in out
    assert "by kubectl (Update, subresource scale, time not recorded)" in out
    assert "suggested ignore: /spec/replicas" in out
    assert "name: sleep-worker\n      pointers:\n      - /spec/replicas" in out
    assert "nothing was written" in err
    assert live(kubectl, "deploy/sleep-worker")["spec"]["replicas"] == 3, (
        "report mode writes nothing"
    )
    kubesim.control.clear_requests()
    code, out, _ = run("drift", str(repo), "--heal")
    assert code == 2 and "healed Deployment/public/sleep-worker" in out
    patches = [r for r in kubesim.requests() if r.verb == "patch"]
    assert [(r.resource, r.name, r.field_manager) for r in patches] == [
        ("deployments", "sleep-worker", "gitops-agent")
    ], "one forced apply of the drifted object only"
    assert live(kubectl, "deploy/sleep-worker")["spec"]["replicas"] == 1
    assert run("drift", str(repo))[0] == 0


def test_each_kubectl_change_with_its_kind_and_manager_and_heal(
    run: Run, repo: Path, kubectl: Kubectl, tmp_path: Path
) -> None:
    assert run("apply", str(repo))[0] == 0
    kubectl("set", "image", "deploy/sleep-worker", "main=alpine:3.19")
    kubectl("set", "env", "deploy/events-bento", "MODE=debug")
    kubectl("label", "--overwrite", "deploy/report-writer", "gitops-agent.dataos.info/workspace=x")
    code, report = drift_json(run, str(repo))
    assert code == 2 and report["counts"] == {"fields": 3, "deleted": 0, "replaced": 0}
    (image,) = fields_of(report, "sleep-worker")
    assert (image["change"], image["git"], image["live"]) == (
        "changed",
        "docker.io/library/alpine:3.20",
        "alpine:3.19",
    )
    assert [m["manager"] for m in image["managers"]] == ["kubectl-set"]
    (env,) = fields_of(report, "events-bento")
    assert (env["path"], env["change"]) == ("spec.template.spec.containers[0].env", "added")
    assert env["live"] == [{"name": "MODE", "value": "debug"}]
    (label,) = fields_of(report, "report-writer")
    assert (label["path"], label["git"], label["live"]) == (
        "metadata.labels.gitops-agent.dataos.info/workspace",
        "public",
        "x",
    )
    assert [m["manager"] for m in label["managers"]] == ["kubectl-label"]
    assert run("drift", str(repo), "--heal")[0] == 2
    assert run("drift", str(repo))[0] == 0
    container = live(kubectl, "deploy/events-bento")["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container, "the variable kubectl added is gone"

    kubectl("delete", "deploy/sleep-worker")
    other = tmp_path / "bento.yaml"
    other.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: events-bento, namespace: public}\n"
        "spec:\n  template:\n    spec:\n      containers: [{name: main, image: bento:9}]\n"
    )
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=platform-team",
        "-f",
        str(other),
    )
    code, report = drift_json(run, str(repo))
    kinds = {(o["name"], o["drift"]) for o in report["objects"]}
    assert kinds == {("sleep-worker", "deleted"), ("events-bento", "changed")}
    (image,) = fields_of(report, "events-bento")
    assert (image["live"], image["managers"][0]["manager"], image["managers"][0]["operation"]) == (
        "bento:9",
        "platform-team",
        "Apply",
    )
    code, out, _ = run("drift", str(repo), "--heal")
    assert "recreated Deployment/public/sleep-worker" in out
    assert run("drift", str(repo))[0] == 0
    code, out, _ = run("plan", str(repo))
    assert code == 0, "the recreated object's uid is recorded: the next sync sees its own\n" + out


def test_an_ignore_rule_silences_replicas_and_heal_leaves_them(
    run: Run, repo: Path, kubectl: Kubectl
) -> None:
    config = repo / "gitops-agent.yaml"
    config.write_text(
        config.read_text()
        + "  ignore:\n    - kind: Deployment\n      name: sleep-worker\n      pointers: [/spec/replicas]\n"
    )
    commit(repo, "replicas belong to an autoscaler")
    assert run("apply", str(repo))[0] == 0
    kubectl("scale", "deploy/sleep-worker", "--replicas=3")
    assert run("drift", str(repo))[0] == 0
    kubectl("set", "image", "deploy/sleep-worker", "main=alpine:3.19")
    _code, report = drift_json(run, str(repo))
    assert [f["path"] for f in fields_of(report, "sleep-worker")] == [
        "spec.template.spec.containers[0].image"
    ]
    assert run("drift", str(repo), "--heal")[0] == 2
    deployment = live(kubectl, "deploy/sleep-worker")
    assert deployment["spec"]["replicas"] == 3, "heal left the ignored field as it is live"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith("alpine:3.20")


def test_drift_is_against_the_last_applied_revision_not_a_newer_commit(
    run: Run, repo: Path, kubectl: Kubectl
) -> None:
    assert run("apply", str(repo))[0] == 0
    applied = live(kubectl, "deploy/sleep-worker")["metadata"]["annotations"]
    edit(repo, SLEEP, "replicas: 1", "replicas: 3")
    newer = commit(repo, "three sleepers, not applied yet")
    code, report = drift_json(run, str(repo))
    assert code == 0 and report["revision"] == applied["gitops-agent.dataos.info/revision"] != newer
    kubectl("scale", "deploy/sleep-worker", "--replicas=5")
    code, report = drift_json(run, str(repo))
    (replicas,) = fields_of(report, "sleep-worker")
    assert (replicas["git"], replicas["live"]) == (1, 5), "git's value is the applied one"
    code, out, _ = run("plan", str(repo))
    assert code == 2 and "~ spec.replicas: 5 -> 3" in out, "the newer commit is for a sync"
