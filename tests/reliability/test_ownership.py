"""Never touch what is not ours (issue 11, acceptance 1 and 2), on kubesim with kubectl.

A Deployment someone made with kubectl under the name of a desired Worker is a conflict:
``plan`` names its manager, ``apply`` fails and leaves it as it was, ``--adopt`` takes it
over, and a later commit removing the Worker prunes it. A Deployment carrying the agent's
owner labels that the agent never created survives every apply and prune.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from gitops_agent.core import labels
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.reliability.conftest import (
    OWNER,
    Run,
    deployments,
    kubectl,
    orphans,
    stored_inventory,
    write_repo,
)


@pytest.mark.parametrize("with_our_selector", [False, True])
def test_an_object_made_with_kubectl_is_a_conflict_until_adopted(
    run: Run, kubesim: KubeSim, api: client.ApiClient, tmp_path: Path, with_our_selector: bool
) -> None:
    selector = (
        {labels.RESOURCE_TYPE: "worker", labels.RESOURCE_NAME: "web"}
        if with_our_selector
        else {"app": "web"}
    )
    theirs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "public"}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "public", "labels": selector},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": selector},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
        },
    ]
    manifest = tmp_path / "theirs.yaml"
    manifest.write_text(yaml.safe_dump_all(theirs))
    kubectl(kubesim, "apply", "-f", str(manifest))
    before = deployments(api)["web"]
    repo = write_repo(tmp_path / "repo", ["web", "other"])

    code, out, _ = run("plan", str(repo))
    assert code == 2
    assert "! worker/public/web  conflict" in out
    assert "Deployment/public/web  conflict" in out
    assert "managed by kubectl-client-side-apply (Update)" in out and "--adopt" in out
    plan = json.loads(run("plan", str(repo), "-o", "json")[1])
    assert plan["counts"]["conflict"] == 1

    code, out, err = run("apply", str(repo))
    assert code == 1
    assert "failed" in next(line for line in out.splitlines() if "worker/public/web" in line)
    after = deployments(api)["web"]
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["spec"]["replicas"] == 3
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert "other" in deployments(api), "the rest of the commit is applied"

    if not with_our_selector:
        code, out, err = run("apply", str(repo), "--adopt")
        assert code == 1 and "spec.selector" in out and "cannot be taken over in place" in out
        assert deployments(api)["web"]["spec"]["replicas"] == 3, "left as it was"
        kubectl(kubesim, "delete", "deployment/web", "-n", "public")
        before = {"metadata": {"uid": "recreated"}}
    code, out, err = run("apply", str(repo), "--adopt")
    assert code == 0, out + err
    adopted = deployments(api)["web"]
    containers = {c["name"]: c["image"] for c in adopted["spec"]["template"]["spec"]["containers"]}
    assert containers["main"] == "alpine:3.20"
    if with_our_selector:
        assert adopted["metadata"]["uid"] == before["metadata"]["uid"], "taken over in place"
        assert containers["web"] == "nginx:1.27", "what the manifest does not say is left"
        assert "adopted Deployment/public/web into worker/public/web; fields outside its " in err
        assert "stay as kubectl-client-side-apply (Update)" in err
    assert adopted["metadata"]["labels"][labels.OWNER] == OWNER
    assert run("plan", str(repo))[0] == 0

    write_repo(repo, ["other"])
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    assert "web" not in deployments(api)
    assert orphans(api) == []


def test_a_look_alike_with_our_labels_survives_apply_and_prune(
    run: Run, kubesim: KubeSim, api: client.ApiClient, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", ["a", "b"])
    assert run("apply", str(repo))[0] == 0
    look_alike = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "impostor",
            "namespace": "public",
            "labels": {
                labels.MANAGED_BY: labels.MANAGER,
                labels.OWNER: OWNER,
                labels.RESOURCE_TYPE: "worker",
                labels.RESOURCE_NAME: "impostor",
                labels.WORKSPACE: "public",
            },
        },
        "spec": {
            "selector": {"matchLabels": {"app": "impostor"}},
            "template": {
                "metadata": {"labels": {"app": "impostor"}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
            },
        },
    }
    path = tmp_path / "impostor.json"
    path.write_text(json.dumps(look_alike))
    kubectl(kubesim, "apply", "-f", str(path))
    uid = deployments(api)["impostor"]["metadata"]["uid"]

    code, out, _ = run("plan", str(repo))
    assert code == 0, "a look-alike is not a change to make"
    assert "? worker/public/impostor  unmanaged" in out
    assert "carries this agent's labels but was not created by it" in out

    code, out, err = run("apply", str(repo))
    assert code == 0 and "left alone: Deployment/public/impostor" in err
    write_repo(repo, ["a"])
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    assert set(deployments(api)) == {"a", "impostor"}
    assert deployments(api)["impostor"]["metadata"]["uid"] == uid
    assert "worker/public/impostor" not in {str(r) for r in stored_inventory(api).entries}
