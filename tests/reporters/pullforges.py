"""The four forges as the pull-request client tests see them: emulator, client, paths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gitops_agent.reporters.bitbucket_pulls import BitbucketPullRequests
from gitops_agent.reporters.gitea_pulls import GiteaPullRequests
from gitops_agent.reporters.github_pulls import GitHubPullRequests
from gitops_agent.reporters.gitlab_pulls import GitLabPullRequests
from gitops_agent.reporters.paging import PageLimits
from gitops_agent.reporters.pullclient import ForgePullRequests, ListingLimits
from gitops_agent.testing.forges.base import ForgeEmulator
from gitops_agent.testing.forges.base import PullRequest as Opened
from gitops_agent.testing.forges.bitbucket import BitbucketEmulator
from gitops_agent.testing.forges.gitea import GiteaEmulator
from gitops_agent.testing.forges.github import GitHubEmulator
from gitops_agent.testing.forges.gitlab import GitLabEmulator
from tests.reporters.conftest import FAST, TOKEN, Sleeps

REPO = "acme/manifests"
FORK = "mallory/manifests"
MARKER = "gitops-agent preview production"


@dataclass(frozen=True)
class PullForge:
    """One forge: its emulator, its client, and the paths its API serves."""

    name: str
    emulator: type[ForgeEmulator]
    client: type[ForgePullRequests]
    fetch_ref: Callable[[int, str], str]
    pulls_path: str  # the listing's path (regex) under the emulator's API root
    comments_path: str  # regex of the comments listing of any pull request
    comment_post: str  # regex of creating a comment

    def head(self, sha: str) -> str:
        """The head SHA as the listing gives it (Bitbucket: 12 characters)."""
        return sha[:12] if self.name == "bitbucket" else sha


FORGES = [
    PullForge(
        "github",
        GitHubEmulator,
        GitHubPullRequests,
        lambda n, ref: f"refs/pull/{n}/head",
        r"/repos/acme/manifests/pulls",
        r"/repos/acme/manifests/issues/\d+/comments",
        r"/issues/\d+/comments$",
    ),
    PullForge(
        "gitlab",
        GitLabEmulator,
        GitLabPullRequests,
        lambda n, ref: f"refs/merge-requests/{n}/head",
        r"/projects/acme%2Fmanifests/merge_requests",
        r"/projects/acme%2Fmanifests/merge_requests/\d+/notes",
        r"/notes$",
    ),
    PullForge(
        "gitea",
        GiteaEmulator,
        GiteaPullRequests,
        lambda n, ref: f"refs/pull/{n}/head",
        r"/repos/acme/manifests/pulls",
        r"/repos/acme/manifests/issues/\d+/comments",
        r"/issues/\d+/comments$",
    ),
    PullForge(
        "bitbucket",
        BitbucketEmulator,
        BitbucketPullRequests,
        lambda n, ref: f"refs/heads/{ref}",
        r"/repositories/acme/manifests/pullrequests",
        r"/repositories/acme/manifests/pullrequests/\d+/comments",
        r"/comments$",
    ),
]
IDS = [f.name for f in FORGES]
SMALL = ListingLimits(
    pulls=PageLimits(max_pages=3, max_items=120, max_page_bytes=8 << 20),
    comments=PageLimits(max_pages=3, max_items=300, max_page_bytes=4 << 20),
)


def sha_of(number: int, salt: int = 0) -> str:
    """A distinct full SHA per pull request (and push)."""
    return f"{number:012x}{salt:08x}" + "a" * 20


def make(
    forge: PullForge,
    emulator: ForgeEmulator,
    sleeps: Sleeps | None = None,
    *,
    token: str = TOKEN,
    repository: str = REPO,
    limits: ListingLimits | None = None,
) -> ForgePullRequests:
    """The forge's client on ``emulator`` with a fast retry policy and recorded sleeps."""
    return forge.client(
        repository,
        token_env="FORGE_TOKEN",
        api_url=emulator.base_url,
        environ={"FORGE_TOKEN": token},
        policy=FAST,
        limits=limits,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def open_pull(emulator: ForgeEmulator, number: int, **kw: str) -> Opened:
    """Open pull request ``number`` on ``REPO`` (branch ``feature/N``, target ``main``)."""
    pull = Opened(
        number,
        kw.get("sha", sha_of(number)),
        kw.get("head_ref", f"feature/{number}"),
        kw.get("base_ref", "main"),
        head_repository=kw.get("head_repository", ""),
        title=kw.get("title", f"change {number}"),
    )
    emulator.add_pull_request(REPO, pull)
    return pull
