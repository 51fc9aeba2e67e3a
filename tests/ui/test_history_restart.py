"""The history survives the agent (issue 19, acceptance 2): ``gitops-agent history`` lists
the same cycles as the status page's API, and a restarted agent still has them (they live on
the cluster, not in the process)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import yaml

from gitops_agent.cli import main
from gitops_agent.testing.forges.gitserve import GitDaemon
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.agent.harness import AgentProcess, ManifestRepo, agent_config


def api_history(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{url}/api/v1/history", timeout=5) as response:
        cycles: list[dict[str, object]] = json.loads(response.read())["cycles"]
    return cycles


def command_history(
    capsys: pytest.CaptureFixture[str], config: Path, kubesim: KubeSim
) -> list[dict[str, object]]:
    capsys.readouterr()
    code = main(
        [
            "history",
            "-o",
            "json",
            "--config",
            str(config),
            "--target",
            "kubernetes",
            "--kubeconfig",
            str(kubesim.kubeconfig),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    cycles: list[dict[str, object]] = json.loads(out)
    return cycles


def test_history_is_the_pages_and_outlives_the_agent(
    tmp_path: Path, kubesim: KubeSim, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = ManifestRepo(tmp_path)
    first = repo.commit("the sample")
    with GitDaemon(repo.bare.parent) as daemon:
        config = agent_config(
            tmp_path / "agent.yaml", url=daemon.url("manifests.git"), reporter={"kind": "log"}
        )
        data = yaml.safe_load(config.read_text())
        data["reporter"] = {"kind": "log"}
        config.write_text(yaml.safe_dump(data))
        agent = AgentProcess(config, kubesim.kubeconfig, tmp_path / "cache", {})
        try:
            agent.wait_for_line("applied: synced", timeout=90)
            second = repo.commit("an empty change")
            agent.wait_for_line(f"revision {second[:12]} applied", timeout=60)
            shown = wait_for(
                lambda: [c for c in api_history(agent.url) if c["revision"] == second],
                timeout=20,
                message="the second cycle on the page",
            )
            page = api_history(agent.url)
        finally:
            assert agent.stop() == 0
        assert shown and command_history(capsys, config, kubesim) == page
        assert [c["revision"] for c in page] == [second, first]

        again = AgentProcess(config, kubesim.kubeconfig, tmp_path / "cache2", {})
        try:
            again.wait_for_line(f"revision {second[:12]} applied", timeout=90)
            after = wait_for(
                lambda: api_history(again.url) if len(api_history(again.url)) == 3 else None,
                timeout=20,
                message="the restarted agent's first cycle added to the old ones",
            )
        finally:
            again.stop()
    assert after[1:] == page, "the cycles of the first process are still there"
    assert (after[0]["seq"], after[0]["trigger"]) == (3, "start")
