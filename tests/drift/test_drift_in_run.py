"""Drift checks in ``run`` (issue 16, acceptance 5): a real agent process follows a repository
served by ``git daemon``, applies it to kubesim and checks for drift every 2 s in report
mode, reading its watch cache (a check of an unchanged cluster asks it nothing). A
``kubectl scale`` is a failure status ``<context>/drift`` on the applied commit within
5 s, the ``gitops_agent_drift_objects`` gauge moves, a JSON log record names the field and
its manager, and one drift issue opens on the forge; after ``drift --heal`` the status is
success, the gauge back to 0 and the issue closed. The token never reaches the log.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gitops_agent.cli import main
from gitops_agent.reporters.issues import drift_marker
from gitops_agent.testing.forges.github import GitHubEmulator
from gitops_agent.testing.forges.gitserve import GitDaemon
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.agent.harness import AgentProcess, ManifestRepo, agent_config
from tests.drift.conftest import Kubectl, needs_kubectl

pytestmark = needs_kubectl
TOKEN = "forge-drift0123456789abcdef"
REPO = "org/manifests"
DRIFT = "gitops-agent/e2e/drift"
GAUGE = 'gitops_agent_drift_objects{kind="Deployment",workspace="public"}'
CLEAN = 'gitops_agent_drift_checks_total{result="clean"}'


@dataclass
class Running:
    process: AgentProcess
    forge: GitHubEmulator
    sha: str
    config: Path
    url: str


@pytest.fixture
def agent(tmp_path: Path, kubesim: KubeSim) -> Iterator[Running]:
    repo = ManifestRepo(tmp_path)
    sha = repo.commit("the sample")
    with (
        GitHubEmulator(token=TOKEN, repositories=[REPO]) as forge,
        GitDaemon(repo.bare.parent) as daemon,
    ):
        reporter = {
            "kind": "github",
            "url": forge.base_url,
            "repository": REPO,
            "tokenEnv": "FORGE_TOKEN",
        }
        url = daemon.url("manifests.git")
        config = agent_config(tmp_path / "agent.yaml", url=url, reporter=reporter)
        data = yaml.safe_load(config.read_text())
        data["drift"] = {"interval": "2s", "mode": "report", "issue": True}
        config.write_text(yaml.safe_dump(data))
        environment = {"FORGE_TOKEN": TOKEN, "GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD": "test-only"}
        process = AgentProcess(
            config,
            kubesim.kubeconfig,
            tmp_path / "cache",
            environment,
            args=("--log-format", "json"),
        )
        try:
            yield Running(process, forge, sha, config, url)
        finally:
            process.stop()
        assert TOKEN not in "\n".join(process.log)


def drift_statuses(run: Running) -> list[tuple[str, str]]:
    return [
        (s.state, s.description) for s in run.forge.statuses(REPO, run.sha) if s.context == DRIFT
    ]


def metric(run: Running, series: str) -> float | None:
    with urllib.request.urlopen(run.process.url + "/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
    return None


def gauge(run: Running) -> float | None:
    return metric(run, GAUGE)


def test_a_kubectl_change_is_a_drift_status_within_5s_and_success_after_heal(
    agent: Running, kubectl: Kubectl, kubesim: KubeSim, capsys: pytest.CaptureFixture[str]
) -> None:
    wait_for(
        lambda: ("success", "no drift") in drift_statuses(agent),
        timeout=60,
        message="the first drift check",
    )
    assert gauge(agent) is None, "nothing drifted yet"
    clean = metric(agent, CLEAN) or 0.0
    wait_for(lambda: (metric(agent, CLEAN) or 0.0) > clean, timeout=10, message="a second check")
    kubesim.control.clear_requests()  # the first check's history record is written by now
    clean = metric(agent, CLEAN) or 0.0
    wait_for(lambda: (metric(agent, CLEAN) or 0.0) > clean, timeout=10, message="another check")
    asked = [f"{r.verb} {r.resource}" for r in kubesim.requests() if r.verb != "watch"]
    assert asked == [], "a scheduled check of an unchanged cluster reads the watch cache only"
    changed = time.monotonic()
    kubectl("scale", "deploy/sleep-worker", "--replicas=3")
    failure = wait_for(
        lambda: [s for s in drift_statuses(agent) if s[0] == "failure"],
        timeout=10,
        message="a failure drift status",
    )
    assert time.monotonic() - changed < 5
    assert failure[0][1].startswith("drift: 1 object (1 field)")
    assert gauge(agent) == 1

    def page() -> str:
        with urllib.request.urlopen(agent.process.url + "/", timeout=5) as answer:
            return str(answer.read().decode())

    wait_for(
        lambda: "drift: 1 object (1 field)" in page(),
        timeout=15,
        message="the drift report on the status page",
    )
    (issue,) = wait_for(
        lambda: agent.forge.tracker.issues(REPO, state="open"), timeout=10, message="the issue"
    )
    assert issue.body.startswith(f"<!-- {drift_marker('e2e')} -->")
    assert (
        "spec.replicas: 1 -> 3" in issue.body and "kubectl (Update, subresource scale" in issue.body
    )
    record = agent.process.wait_for_line('"logger": "gitops_agent.drift"')
    fields = json.loads(record)["drift"]["fields"]
    assert (fields[0]["path"], fields[0]["managers"][0]["manager"]) == ("spec.replicas", "kubectl")

    code = main(
        [
            "drift",
            agent.url,
            "--ref",
            "main",
            "--heal",
            "--config",
            str(agent.config),
            "--kubeconfig",
            str(kubesim.kubeconfig),
        ]
    )
    out = capsys.readouterr().out
    assert code == 2 and "healed Deployment/public/sleep-worker" in out
    wait_for(
        lambda: drift_statuses(agent)[-1] == ("success", "no drift"),
        timeout=10,
        message="a success drift status after the heal",
    )
    assert gauge(agent) == 0
    wait_for(lambda: issue.state == "closed", timeout=10, message="the issue closed")
    assert "No drift any more" in issue.body
    assert [s[0] for s in drift_statuses(agent)] == ["success", "failure", "success"], (
        "a status is posted when it changes, not at every check"
    )
    target = ["--config", str(agent.config), "--kubeconfig", str(kubesim.kubeconfig)]
    assert main(["history", "-o", "json", *target]) == 0
    cycles = json.loads(capsys.readouterr().out)
    drift = [(c["result"], c["summary"]) for c in cycles if c["kind"] == "drift"]
    assert drift[:3] == [
        ("success", "no drift"),
        ("failure", "drift: 1 object (1 field)"),
        ("success", "no drift"),
    ], "one drift cycle in the history per change, newest first"
