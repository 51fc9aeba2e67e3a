"""Preview environments under deploy/'s RBAC (issues 15 and 17): with the cluster overlay the
agent's ServiceAccount deploys a pull request into a namespace of its own (creating it), but
cannot find and delete that namespace again when the pull request closes; the
``components/preview-environments`` component adds exactly that (namespaces list and delete,
``core.permissions.environment_rules``), and each of its two grants is needed. Against kubesim
with authentication, RBAC and HTTPS on, as the ServiceAccount's token.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from gitops_agent.core import permissions
from gitops_agent.core.reporting import StatusState
from gitops_agent.engine.ports import Target
from gitops_agent.service.environments import Environments
from gitops_agent.testing.kubesim.kinds import DEPLOYMENTS, NAMESPACES
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.wiring import TargetChoice, build_target, read_desired
from tests.deploy.cluster import install, service_account
from tests.deploy.support import AGENT_NAMESPACE, SERVICE_ACCOUNT, of_kind, rendered

USER = f"system:serviceaccount:{AGENT_NAMESPACE}:{SERVICE_ACCOUNT}"
HEAD = "c" * 40
WORKER = """\
version: v2alpha
name: preview-worker
type: worker
spec:
  compute: runnable-default
  replicas: 1
  stack: container
  stackSpec: {image: docker.io/library/alpine:3.20, command: [sleep, infinity]}
"""


def repository(root: Path) -> Path:
    root.mkdir()
    (root / "gitops-agent.yaml").write_text("name: prod\nsync: {waitTimeout: 30s}\n")
    (root / "worker.yaml").write_text(WORKER)
    return root


def with_component(verbs: tuple[str, ...]) -> list[dict[str, Any]]:
    """The preview-environments example, its ClusterRole granting only ``verbs``."""
    objects = copy.deepcopy(rendered("examples/preview-environments"))
    for role in of_kind(objects, "ClusterRole"):
        if role["metadata"]["name"] == "gitops-agent-preview-environments":
            role["rules"][0]["verbs"] = list(verbs)
    return objects


def environments(sim: KubeSim, tmp: Path, objects: list[dict[str, Any]]) -> Environments:
    """The agent's preview environments, talking to kubesim as its ServiceAccount."""
    install(sim, objects, tmp)
    token = (service_account(sim, tmp) / "token").read_text()
    kubeconfig = sim.write_kubeconfig(tmp / "agent.kubeconfig", token=token)
    choice = TargetChoice(kind="kubernetes", kubeconfig=kubeconfig)
    config = read_desired(str(tmp / "repo")).config

    def make_target(config: Any) -> Target:
        return build_target(config, choice)

    def post(head: str, state: StatusState, description: str) -> None:
        return None  # the statuses are the preview tests' concern; here, the cluster's answers

    return Environments(config, make_target, post, clock=lambda: 0.0)


def denied(sim: KubeSim) -> list[str]:
    return [f"{r.verb} {r.resource}" for r in sim.requests() if r.user == USER and r.code == 403]


def test_the_component_grants_exactly_the_environment_rules() -> None:
    objects = rendered("examples/preview-environments")
    for obj in objects:
        kubernetes_validate.validate(obj, "1.32", strict=True)
    roles = {r["metadata"]["name"]: r for r in of_kind(objects, "ClusterRole")}
    assert set(roles) == {"gitops-agent", "gitops-agent-preview-environments"}
    assert permissions.normalized(roles["gitops-agent"]["rules"]) == permissions.normalized(
        permissions.cluster_rules()
    )
    assert permissions.normalized(
        roles["gitops-agent-preview-environments"]["rules"]
    ) == permissions.normalized(permissions.environment_rules())
    (binding,) = [
        b
        for b in of_kind(objects, "ClusterRoleBinding")
        if b["roleRef"]["name"] == "gitops-agent-preview-environments"
    ]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": AGENT_NAMESPACE}
    ]


@pytest.mark.parametrize(
    ("verbs", "missing"),
    [(("list", "delete"), None), ((), "list namespaces"), (("list",), "delete namespaces")],
    ids=["component", "cluster-overlay-only", "without-delete"],
)
def test_a_preview_environment_is_torn_down_only_with_the_component(
    kubesim: KubeSim, tmp_path: Path, verbs: tuple[str, ...], missing: str | None
) -> None:
    repository(tmp_path / "repo")
    objects = with_component(verbs) if verbs else rendered("overlays/cluster")
    envs = environments(kubesim, tmp_path, objects)
    desired = read_desired(str(tmp_path / "repo"))
    desired = replace(desired, config=envs.config)
    result = envs.deploy(7, HEAD, desired)
    assert result is not None and result.ok, result
    assert kubesim.store.get(DEPLOYMENTS, "public-pr-7", "preview-worker") is not None
    assert kubesim.store.get(NAMESPACES, "", "public-pr-7") is not None
    assert denied(kubesim) == []
    torn_down = envs.tear_down(envs.live[7], "the pull request was closed")
    if missing is None:
        assert torn_down and denied(kubesim) == []
        namespace = kubesim.store.get(NAMESPACES, "", "public-pr-7")
        assert namespace is None or namespace["metadata"].get("deletionTimestamp")
    else:
        assert not torn_down and 7 in envs.live
        assert denied(kubesim) == [missing]
        worker = kubesim.store.get(DEPLOYMENTS, "public-pr-7", "preview-worker")
        assert worker is None or worker["metadata"].get("deletionTimestamp")
