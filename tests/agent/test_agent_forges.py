"""The agent reporting to GitLab, Gitea and Bitbucket emulators and to git notes
(issue 6 acceptance 2): pending then success for a good commit, failure for a broken one."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_agent.testing.forges.base import ForgeEmulator
from gitops_agent.testing.forges.bitbucket import BitbucketEmulator
from gitops_agent.testing.forges.gitea import GiteaEmulator
from gitops_agent.testing.forges.gitlab import GitLabEmulator
from gitops_agent.testing.forges.gitserve import GitDaemon
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.agent.harness import AgentProcess, ManifestRepo, agent_config, git

TOKEN = "forge-token-abcdef0123456789"
REPO = "org/manifests"
FORGES = {
    "gitlab": (GitLabEmulator, ["running", "success"], "failed"),
    "gitea": (GiteaEmulator, ["pending", "success"], "failure"),
    "bitbucket": (BitbucketEmulator, ["INPROGRESS", "SUCCESSFUL"], "FAILED"),
}


def broken(work: Path) -> None:
    (work / "workers" / "events-bento.yaml").write_text(
        "version: v2alpha\nname: events-bento\ntype: worker\n"
    )


@pytest.fixture
def repo(tmp_path: Path) -> ManifestRepo:
    return ManifestRepo(tmp_path)


@pytest.mark.parametrize("kind", sorted(FORGES))
def test_statuses_on_each_forge(
    kind: str, repo: ManifestRepo, tmp_path: Path, kubesim: KubeSim
) -> None:
    emulator_class, good_states, failed_state = FORGES[kind]
    emulator: ForgeEmulator
    with (
        emulator_class(token=TOKEN, repositories=[REPO]) as emulator,
        GitDaemon(repo.bare.parent) as daemon,
    ):
        first = repo.commit("initial manifests")
        reporter = {
            "kind": kind,
            "url": emulator.base_url,
            "repository": REPO,
            "tokenEnv": "FORGE_TOKEN",
        }
        config = agent_config(
            tmp_path / "agent.yaml", url=daemon.url("manifests.git"), reporter=reporter
        )
        agent = AgentProcess(config, kubesim.kubeconfig, tmp_path / "cache", {"FORGE_TOKEN": TOKEN})
        try:

            def states(sha: str) -> list[str]:
                return [s.state for s in emulator.statuses(REPO, sha)]

            wait_for(
                lambda: states(first) == good_states, timeout=40, message=f"{good_states} on {kind}"
            )
            second = repo.commit("a broken manifest", broken)
            wait_for(
                lambda: states(second)[-1:] == [failed_state],
                timeout=40,
                message=f"{failed_state} on {kind}",
            )
            posted = emulator.statuses(REPO, second)[-1]
            assert (
                "workers/events-bento.yaml:1:1: worker/public/events-bento: missing required field 'spec'"
                in posted.description
            )
            assert posted.context == "gitops-agent/e2e"
        finally:
            agent.stop()
        assert TOKEN not in "\n".join(agent.log)


@pytest.fixture
def pushable(repo: ManifestRepo) -> Iterator[GitDaemon]:
    with GitDaemon(repo.bare.parent, allow_push=True) as daemon:
        yield daemon


def test_git_notes_are_readable_from_a_fresh_clone(
    repo: ManifestRepo, pushable: GitDaemon, tmp_path: Path, kubesim: KubeSim
) -> None:
    first = repo.commit("initial manifests")
    url = pushable.url("manifests.git")
    config = agent_config(tmp_path / "agent.yaml", url=url, reporter={"kind": "notes"})
    agent = AgentProcess(config, kubesim.kubeconfig, tmp_path / "cache", {})
    clone = tmp_path / "fresh"
    try:

        def note() -> dict[str, str] | None:
            if not clone.exists():
                git(tmp_path, "clone", "--quiet", url, str(clone))
            notes = "refs/notes/gitops-agent"
            try:
                git(clone, "fetch", "--quiet", "--force", "origin", f"{notes}:{notes}")
                shown = git(clone, "notes", "--ref", "gitops-agent", "show", first)
            except subprocess.CalledProcessError:
                return None  # not pushed yet
            found: dict[str, dict[str, dict[str, str]]] = json.loads(shown)
            ours = found["statuses"].get("gitops-agent/e2e", {})
            return ours if ours.get("state") == "success" else None

        found = wait_for(note, timeout=40, message="a success note on the first commit")
        assert found["description"] == "synced: 5 created"
    finally:
        agent.stop()
