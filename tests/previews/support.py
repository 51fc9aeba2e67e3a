"""Pull requests for the end-to-end preview tests: the forges' words for states, a pull
request pushed to the served repository and told to the forge emulator, the statuses the
agent posted, and the cluster writes kubesim saw."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

WEBHOOK_SECRET = "previews-webhook-secret"
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
    html: bool = True  # Bitbucket renders no HTML in comments: no collapsed sections there


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
    "bitbucket": Forge(
        BitbucketEmulator, "INPROGRESS", "SUCCESSFUL", "FAILED", "", None, html=False
    ),
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
    """Writes to the cluster other than the agent's history records (each preview is kept
    in the history: a ConfigMap of the agent's own, never an object of a resource)."""
    return sum(
        1
        for r in kubesim.requests()
        if r.verb in WRITES and not r.dry_run and not r.name.startswith("gitops-agent-history-")
    )


@contextmanager
def running_agent(
    kind: str,
    tmp_path: Path,
    kubesim: KubeSim,
    previews: dict[str, Any],
    *,
    interval: str = "1s",
) -> Iterator[Running]:
    """A real agent following the served repository with ``previews`` (polling every
    ``interval``; webhooks signed with ``WEBHOOK_SECRET``), once ``main`` is applied."""
    forge = FORGES[kind]
    repo = ManifestRepo(tmp_path)
    main_sha = repo.commit("the sample")
    with (
        forge.emulator(token=TOKEN, repositories=[REPO]) as emulator,
        GitDaemon(repo.bare.parent) as daemon,
    ):
        reporter = {
            "kind": kind,
            "url": emulator.base_url,
            "repository": REPO,
            "tokenEnv": "FORGE_TOKEN",
        }
        config = agent_config(
            tmp_path / "agent.yaml",
            url=daemon.url("manifests.git"),
            reporter=reporter,
            interval=interval,
        )
        data = yaml.safe_load(config.read_text())
        data["previews"] = previews
        config.write_text(yaml.safe_dump(data))
        process = AgentProcess(
            config,
            kubesim.kubeconfig,
            tmp_path / "cache",
            {"FORGE_TOKEN": TOKEN, "WEBHOOK_SECRET": WEBHOOK_SECRET},
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
