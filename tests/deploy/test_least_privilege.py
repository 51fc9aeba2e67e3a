"""The RBAC of deploy/ is sufficient and minimal (issue 17, acceptance 1 and 2).

deploy/ is installed in kubesim (authentication, RBAC, HTTPS on) with the real kubectl, and
two agent processes run with the in-cluster configuration and the ServiceAccount's token
through a full cycle: leader election (Lease, Event), every kind applied and waited for (a
namespace created on the way), a commit applied through a webhook sent to the follower (the
hint ConfigMap and its watch), one object of each kind pruned, ``gitops-agent log`` (pods,
pods/log) and ``gitops-agent plan`` (a drift check: no difference), then SIGTERM (the lease
released). No request is refused. Then:

- every (group, resource, verb, name) the RBAC grants is the only grant allowing at least
  one request the cycle made (replayed against kubesim's authorizer), so none is spare;
- removing any single rule from the rendered RBAC and running the cycle again makes it fail
  with a 403 the removed rule would have allowed, reported by the agent or the command.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_agent.testing.forges.gitserve import GitDaemon
from gitops_agent.testing.kubesim.authn import service_account_identity
from gitops_agent.testing.kubesim.control import RequestRecord
from gitops_agent.testing.kubesim.kinds import LEASES
from gitops_agent.testing.kubesim.rbac import Attributes, request_attributes, rule_allows
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.agent.harness import AgentProcess, git
from tests.deploy.cluster import (
    Scenario,
    admin_kubeconfig,
    agent_config,
    agent_env,
    install,
    push_webhook,
    service_account,
    start_agents,
)
from tests.deploy.support import (
    AGENT_NAMESPACE,
    DEPLOY,
    SERVICE_ACCOUNT,
    agent_config_text,
    kubectl,
    of_kind,
    rendered,
)

USER = f"system:serviceaccount:{AGENT_NAMESPACE}:{SERVICE_ACCOUNT}"
CREDENTIALS = yaml.safe_load((DEPLOY / "examples" / "credentials.yaml").read_text())


class DeniedError(AssertionError):
    """The cluster refused a request of the agent's ServiceAccount."""


@dataclass
class Cycle:
    """What one run of the full cycle saw."""

    sim: KubeSim
    output: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def denied(self) -> list[RequestRecord]:
        return [r for r in self.sim.requests() if r.user == USER and r.code in (401, 403)]

    def wait(self, what: str, predicate: Callable[[], bool], timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                self.steps.append(what)
                return
            if self.denied():
                time.sleep(0.5)  # what the agent says about it
                raise DeniedError(what)
            time.sleep(0.05)
        raise AssertionError(f"timed out: {what}")


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitops_agent", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def full_cycle(sim: KubeSim, tmp: Path, objects: list[dict[str, Any]], cycle: Cycle) -> None:
    """The cycle of the module docstring; raises DeniedError at the first refused request."""
    install(sim, [*objects, CREDENTIALS], tmp)
    account = service_account(sim, tmp)
    scenario = Scenario(tmp)
    with GitDaemon(scenario.repo.bare.parent) as daemon:
        config = agent_config(
            agent_config_text(objects), tmp / "agent.yaml", url=daemon.url("manifests.git")
        )
        agents = start_agents(sim, config, account, tmp, 2)
        try:
            _drive(cycle, scenario, agents, config, agent_env(sim, account, "cli"))
        finally:
            for agent in agents:
                agent.stop()
                cycle.output += agent.log
    holder = (sim.store.get(LEASES, AGENT_NAMESPACE, "gitops-agent-prod") or {}).get("spec", {})
    cycle.wait("the lease released", lambda: holder.get("holderIdentity") == "", timeout=1)


def _drive(
    cycle: Cycle, scenario: Scenario, agents: list[AgentProcess], config: Path, env: dict[str, str]
) -> None:
    cycle.wait("a leader elected", lambda: any(a.logged("became the leader") for a in agents))
    leader = next(a for a in agents if a.logged("became the leader"))
    follower = next(a for a in agents if a is not leader)
    applied = f"revision {scenario.first[:12]} applied"
    cycle.wait("every kind applied and healthy", lambda: leader.logged(applied))
    second = scenario.prune_one_of_each()
    assert push_webhook(follower, second) == 202
    applied = f"revision {second[:12]} applied"
    cycle.wait("the pushed commit applied through the follower", lambda: leader.logged(applied))
    logs = run_cli(env, "log", "-t", "worker", "-n", "sleep-worker", "--config", str(config))
    cycle.output += [logs.stdout, logs.stderr]
    cycle.wait("gitops-agent log", lambda: logs.returncode == 0 and bool(logs.stdout), 1)
    git(scenario.repo.work, "checkout", "--quiet", second)
    plan = run_cli(env, "plan", str(scenario.repo.work), "--config", str(config))
    cycle.output += [plan.stdout, plan.stderr]
    cycle.wait("gitops-agent plan: no drift", lambda: plan.returncode == 0, 1)


def cluster_rbac() -> list[dict[str, Any]]:
    objects = rendered("overlays/cluster")
    return of_kind(objects, "ClusterRole") + [
        o for o in of_kind(objects, "Role") if o["metadata"]["namespace"] == AGENT_NAMESPACE
    ]


def test_deploy_installs_with_kubectl_apply_k(kubesim: KubeSim, tmp_path: Path) -> None:
    """Acceptance 1: ``kubectl apply --server-side -k`` creates every object of each overlay."""
    config = str(admin_kubeconfig(kubesim, tmp_path))
    for overlay in ("cluster", "namespaced"):
        done = kubectl(
            "--kubeconfig",
            config,
            "apply",
            "--server-side",
            "-k",
            str(DEPLOY / "overlays" / overlay),
        )
        assert done.returncode == 0, done.stderr
        for obj in rendered(f"overlays/{overlay}"):
            meta = obj["metadata"]
            where = ["-n", meta["namespace"]] if "namespace" in meta else []
            kind = (
                f"{obj['kind'].lower()}.{obj['apiVersion'].split('/')[0]}"
                if "/" in obj["apiVersion"]
                else obj["kind"].lower()
            )
            found = kubectl("--kubeconfig", config, "get", kind, meta["name"], *where, "-o", "name")
            assert found.returncode == 0, (obj["kind"], meta["name"], found.stderr)


def test_kubectl_auth_can_i_as_the_agent(kubesim: KubeSim, tmp_path: Path) -> None:
    install(kubesim, rendered("overlays/cluster"), tmp_path)
    config = str(admin_kubeconfig(kubesim, tmp_path))

    def can_i(*args: str) -> str:
        done = kubectl("--kubeconfig", config, "auth", "can-i", *args, "--as", USER)
        return done.stdout.strip()

    assert can_i("list", "deployments.apps", "-A") == "yes"
    assert can_i("patch", "cronjobs.batch", "-n", "anywhere") == "yes"
    assert can_i("get", "pods", "--subresource", "log", "-n", "public") == "yes"
    assert (
        can_i("update", "leases.coordination.k8s.io/gitops-agent-prod", "-n", AGENT_NAMESPACE)
        == "yes"
    )
    assert can_i("update", "leases.coordination.k8s.io/someone-else", "-n", AGENT_NAMESPACE) == "no"
    assert can_i("get", "secrets", "-A") == "no"
    assert can_i("delete", "namespaces") == "no"
    assert can_i("create", "clusterrolebindings.rbac.authorization.k8s.io") == "no"


def test_the_full_cycle_needs_every_grant_and_nothing_else(
    kubesim: KubeSim, tmp_path: Path
) -> None:
    cycle = Cycle(kubesim)
    full_cycle(kubesim, tmp_path, rendered("overlays/cluster"), cycle)
    assert cycle.denied() == []
    assert cycle.steps == [
        "a leader elected",
        "every kind applied and healthy",
        "the pushed commit applied through the follower",
        "gitops-agent log",
        "gitops-agent plan: no drift",
        "the lease released",
    ]
    text = "\n".join(cycle.output)
    assert "403" not in text and "Forbidden" not in text
    requests = [attributes_of(r) for r in kubesim.requests() if r.user == USER]
    requests = [a for r in requests for a in r]
    grants = granted(cluster_rbac())
    assert len(grants) == 6 * 7 + 4 + 4  # managed kinds; pods (2), logs, namespaces; election
    providers = {a: {g for g in grants if allows(g, a)} for a in set(requests)}
    assert all(providers.values()), [a for a, p in providers.items() if not p]
    spare = {g for g in grants if not any(p == {g} for p in providers.values())}
    assert spare == set(), f"granted but never needed alone: {sorted(spare)}"


RULES = [(role["kind"], index) for role in cluster_rbac() for index in range(len(role["rules"]))]


@pytest.mark.parametrize(("kind", "index"), RULES, ids=[f"{k}-rule{i}" for k, i in RULES])
def test_removing_any_rule_makes_the_cycle_fail(
    kubesim: KubeSim, tmp_path: Path, kind: str, index: int
) -> None:
    objects = rendered("overlays/cluster")
    role = next(o for o in objects if o["kind"] == kind and o in cluster_rbac())
    removed = role["rules"].pop(index)
    cycle = Cycle(kubesim)
    with pytest.raises(DeniedError):
        full_cycle(kubesim, tmp_path, objects, cycle)
    denied = [r for r in cycle.denied() if r.code == 403]
    assert any(rule_allows(a, removed) for r in denied for a in attributes_of(r)), removed
    reported = "\n".join(cycle.output)
    assert "HTTP 403" in reported, reported[-3000:]


Grant = tuple[str, str, str, str, str]  # scope (namespace or ""), group, resource, verb, name


def granted(roles: list[dict[str, Any]]) -> set[Grant]:
    found = set()
    for role in roles:
        scope = role["metadata"].get("namespace", "") if role["kind"] == "Role" else ""
        for rule in role["rules"]:
            for name in rule.get("resourceNames") or [""]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        for verb in rule["verbs"]:
                            found.add((scope, group, resource, verb, name))
    return found


def allows(grant: Grant, attrs: Attributes) -> bool:
    scope, group, resource, verb, name = grant
    if scope and attrs.namespace != scope:
        return False
    rule = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
    if name:
        rule["resourceNames"] = [name]
    return rule_allows(attrs, rule)


def attributes_of(record: RequestRecord) -> list[Attributes]:
    """What the authorizer checked for a request: its attributes, and ``create`` for an
    apply that created its object (201)."""
    identity = service_account_identity(AGENT_NAMESPACE, SERVICE_ACCOUNT)
    attrs = request_attributes(identity, record.method, record.path, dict(record.query))
    if not attrs.resource_request:
        return []
    found = [attrs]
    if record.method == "PATCH" and record.code == 201:
        found.append(dataclasses.replace(attrs, verb="create"))
    return found
