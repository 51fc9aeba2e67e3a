"""Previews in ``run`` end to end (issue 15, acceptance 1 to 5 and 7): a real agent process
follows a repository served by ``git daemon``, applies ``main`` to kubesim, and previews the
pull requests each forge emulator (GitHub, GitLab, Gitea, Bitbucket) lists: statuses on the
head, one comment per pull request edited in place, never a write to the cluster, the
agent's own configuration, forks left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gitops_agent.testing.forges.base import ForgeEmulator, PullRequest
from gitops_agent.testing.forges.bitbucket import BitbucketEmulator
from gitops_agent.testing.forges.gitea import GiteaEmulator
from gitops_agent.testing.forges.github import GitHubEmulator
from gitops_agent.testing.forges.gitlab import GitLabEmulator
from gitops_agent.testing.forges.gitserve import GitDaemon
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.agent.harness import AgentProcess, ManifestRepo, agent_config, git

TOKEN = "forge-previews0123456789abcdef"
REPO = "org/manifests"
CONTEXT = "gitops-agent/e2e/preview"
WRITES = {"create", "update", "patch", "delete", "deletecollection"}


@dataclass(frozen=True)
class Forge:
    """An emulated forge: its class, its words for the states, where a head is fetched."""

    emulator: type[ForgeEmulator]
    pending: str
    success: str
    failure: str
    head_ref: str
    blob: str | None  # None: no file links (Bitbucket's web root is known only for its cloud API)


FORGES = {
    "github": Forge(
        GitHubEmulator, "pending", "success", "failure", "refs/pull/{n}/head", "/blob/"
    ),
    "gitlab": Forge(
        GitLabEmulator, "running", "success", "failed", "refs/merge-requests/{n}/head", "/-/blob/"
    ),
    "gitea": Forge(
        GiteaEmulator, "pending", "success", "failure", "refs/pull/{n}/head", "/src/commit/"
    ),
    "bitbucket": Forge(BitbucketEmulator, "INPROGRESS", "SUCCESSFUL", "FAILED", "", None),
}


class Pulls:
    """Pull requests of the served repository: a branch pushed, its ``refs/pull/N/head``
    made, and the forge emulator told."""

    def __init__(self, repo: ManifestRepo, forge: ForgeEmulator, head_ref: str) -> None:
        self.repo, self.forge, self.head_ref = repo, forge, head_ref

    def push(self, number: int, change: Callable[[Path], None], *, fork: bool = False) -> str:
        branch = f"pr-{number}"
        work = self.repo.work
        existing = git(work, "branch", "--list", branch)
        git(
            work,
            "checkout",
            "--quiet",
            branch if existing else "-b",
            *([] if existing else [branch, "main"]),
        )
        change(work)
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "--allow-empty", "-m", f"pull request {number}")
        sha = git(work, "rev-parse", "HEAD")
        git(work, "push", "--quiet", "--force", "origin", branch)
        if self.head_ref:
            git(self.repo.bare, "update-ref", self.head_ref.format(n=number), sha)
        git(work, "checkout", "--quiet", "main")
        found = self.forge.find_pull(REPO, number)
        if found is None:
            owner = "someone/fork" if fork else ""
            self.forge.add_pull_request(REPO, PullRequest(number, sha, branch, "main", owner))
        else:
            found.head_sha = sha
        return sha


def edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def change(work: Path) -> None:
        target = work / path
        target.write_text(target.read_text().replace(old, new))

    return change


def add_writer(name: str) -> Callable[[Path], None]:
    def change(work: Path) -> None:
        text = (work / "workers/report-writer.yaml").read_text()
        (work / f"workers/{name}.yaml").write_text(
            text.replace("name: report-writer", f"name: {name}")
        )

    return change


@dataclass
class Running:
    """The agent, its forge and the pull requests of the served repository."""

    process: AgentProcess
    emulator: ForgeEmulator
    forge: Forge
    pulls: Pulls
    kubesim: KubeSim


@pytest.fixture(params=sorted(FORGES))
def agent(request: pytest.FixtureRequest, tmp_path: Path, kubesim: KubeSim) -> Iterator[Running]:
    forge = FORGES[request.param]
    repo = ManifestRepo(tmp_path)
    main_sha = repo.commit("the sample")
    with (
        forge.emulator(token=TOKEN, repositories=[REPO]) as emulator,
        GitDaemon(repo.bare.parent) as daemon,
    ):
        reporter = {
            "kind": request.param,
            "url": emulator.base_url,
            "repository": REPO,
            "tokenEnv": "FORGE_TOKEN",
        }
        config = agent_config(
            tmp_path / "agent.yaml", url=daemon.url("manifests.git"), reporter=reporter
        )
        data = yaml.safe_load(config.read_text())
        data["previews"] = {"enabled": True}
        config.write_text(yaml.safe_dump(data))
        process = AgentProcess(
            config, kubesim.kubeconfig, tmp_path / "cache", {"FORGE_TOKEN": TOKEN}
        )
        try:
            wait_for(
                lambda: [s for s in emulator.statuses(REPO, main_sha) if s.state == forge.success],
                timeout=60,
                message="main applied",
            )
            yield Running(process, emulator, forge, Pulls(repo, emulator, forge.head_ref), kubesim)
        finally:
            process.stop()
        assert TOKEN not in "\n".join(process.log)


def preview_states(run: Running, sha: str) -> list[tuple[str, str]]:
    posted = run.emulator.statuses(REPO, sha)
    return [(s.state, s.description) for s in posted if s.context == CONTEXT]


def final_preview(run: Running, sha: str) -> tuple[str, str]:
    found = wait_for(
        lambda: [s for s in preview_states(run, sha) if s[0] != run.forge.pending],
        timeout=60,
        message=f"a final preview status on {sha[:7]}",
    )
    return found[-1]


def writes(kubesim: KubeSim) -> int:
    return sum(1 for r in kubesim.requests() if r.verb in WRITES and not r.dry_run)


def test_a_pull_request_is_previewed_commented_once_and_never_applied(
    agent: Running,
) -> None:
    pulls, kubesim = agent.pulls, agent.kubesim
    before = writes(kubesim)

    def scale_and_add(work: Path) -> None:
        edit("tests/worker/sleep-worker/worker.yaml", "replicas: 1", "replicas: 3")(work)
        add_writer("second-writer")(work)

    head = pulls.push(7, scale_and_add)
    assert final_preview(agent, head) == (agent.forge.success, "+1 ~1 -0")
    assert (agent.forge.pending, f"previewing {head[:7]}") in preview_states(agent, head)
    (comment,) = agent.emulator.comments(REPO, 7)
    assert "spec.replicas: 1 -> 3" in comment.body
    assert "<code>worker/public/second-writer</code>" in comment.body
    assert f"Head `{head[:12]}`" in comment.body
    assert writes(kubesim) == before, "a preview never writes to the cluster"

    second = pulls.push(7, add_writer("third-writer"))
    third = pulls.push(7, edit("workers/third-writer.yaml", "replicas: 1", "replicas: 2"))
    assert final_preview(agent, third) == (agent.forge.success, "+2 ~1 -0")
    (comment,) = agent.emulator.comments(REPO, 7)
    assert f"Head `{third[:12]}`" in comment.body, "one comment, edited to the newest head"
    assert second != third and writes(kubesim) == before


def test_an_invalid_pull_request_fails_with_every_violation(
    agent: Running,
) -> None:
    pulls = agent.pulls

    def break_two(work: Path) -> None:
        edit("workers/report-writer.yaml", "replicas: 1", "replica: 1")(work)
        (work / "workers/bad.yaml").write_text("version: v2alpha\nname: Bad_Name\ntype: worker\n")

    head = pulls.push(8, break_two)
    state, description = final_preview(agent, head)
    assert state == agent.forge.failure and description.startswith("invalid: workers/")
    (comment,) = agent.emulator.comments(REPO, 8)
    assert "workers/report-writer.yaml:" in comment.body and "workers/bad.yaml:" in comment.body
    if agent.forge.blob is None:
        assert "](http" not in comment.body, "no guessed links on a self-hosted API address"
    else:
        assert f"/org/manifests{agent.forge.blob}{head}/workers/" in comment.body


def test_the_base_configuration_is_used_and_a_fork_is_left_alone(
    agent: Running,
) -> None:
    pulls, kubesim = agent.pulls, agent.kubesim
    before = writes(kubesim)

    def takeover(work: Path) -> None:
        config = work / "gitops-agent.yaml"
        text = config.read_text().replace("name: sample", "name: intruder")
        config.write_text(text + "target:\n  workspaces: {public: kube-system}\n")

    head = pulls.push(9, takeover)
    assert final_preview(agent, head) == (agent.forge.success, "+0 ~0 -0")
    (comment,) = agent.emulator.comments(REPO, 9)
    assert "edits gitops-agent.yaml, which this agent does not read" in comment.body
    fork = pulls.push(10, add_writer("forked-writer"), fork=True)
    assert final_preview(agent, fork) == (
        agent.forge.success,
        "fork pull requests are not previewed",
    )
    assert agent.emulator.comments(REPO, 10) == []
    assert writes(kubesim) == before
