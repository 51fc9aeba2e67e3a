"""The four HTTP reporters against their forge emulators, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from gitops_agent.errors import ConfigError, ReporterError
from gitops_agent.reporters import CommitStatus, StatusState
from gitops_agent.reporters.bitbucket import BitbucketReporter
from gitops_agent.reporters.forge import ForgeReporter
from gitops_agent.reporters.gitea import GiteaReporter
from gitops_agent.reporters.github import GitHubReporter
from gitops_agent.reporters.gitlab import GitLabReporter
from gitops_agent.reporters.http import HttpStatusError
from gitops_agent.testing.forges.base import ForgeEmulator
from gitops_agent.testing.forges.bitbucket import BitbucketEmulator
from gitops_agent.testing.forges.gitea import GiteaEmulator
from gitops_agent.testing.forges.github import GitHubEmulator
from gitops_agent.testing.forges.gitlab import GitLabEmulator
from tests.reporters.conftest import FAST, SHA, TOKEN, Sleeps, call


@dataclass(frozen=True)
class Forge:
    name: str
    emulator: type[ForgeEmulator]
    reporter: type[ForgeReporter]
    repository: str
    states: dict[StatusState, str]
    list_path: Callable[[str, str], str]
    auth: dict[str, str]


FORGES = [
    Forge(
        "github",
        GitHubEmulator,
        GitHubReporter,
        "acme/manifests",
        {
            StatusState.PENDING: "pending",
            StatusState.SUCCESS: "success",
            StatusState.FAILURE: "failure",
            StatusState.ERROR: "error",
        },
        lambda repo, sha: f"/repos/{repo}/commits/{sha}/statuses",
        {"Authorization": f"Bearer {TOKEN}"},
    ),
    Forge(
        "gitlab",
        GitLabEmulator,
        GitLabReporter,
        "platform/manifests",
        {
            StatusState.PENDING: "running",
            StatusState.SUCCESS: "success",
            StatusState.FAILURE: "failed",
            StatusState.ERROR: "failed",
        },
        lambda repo, sha: f"/projects/{repo.replace('/', '%2F')}/repository/commits/{sha}/statuses",
        {"PRIVATE-TOKEN": TOKEN},
    ),
    Forge(
        "gitea",
        GiteaEmulator,
        GiteaReporter,
        "acme/manifests",
        {
            StatusState.PENDING: "pending",
            StatusState.SUCCESS: "success",
            StatusState.FAILURE: "failure",
            StatusState.ERROR: "error",
        },
        lambda repo, sha: f"/repos/{repo}/statuses/{sha}",
        {"Authorization": f"token {TOKEN}"},
    ),
    Forge(
        "bitbucket",
        BitbucketEmulator,
        BitbucketReporter,
        "acme/manifests",
        {
            StatusState.PENDING: "INPROGRESS",
            StatusState.SUCCESS: "SUCCESSFUL",
            StatusState.FAILURE: "FAILED",
            StatusState.ERROR: "FAILED",
        },
        lambda repo, sha: f"/repositories/{repo}/commit/{sha}/statuses",
        {"Authorization": f"Bearer {TOKEN}"},
    ),
]
IDS = [f.name for f in FORGES]


def make(forge: Forge, emulator: ForgeEmulator, sleeps: Sleeps, **kw: str) -> ForgeReporter:
    return forge.reporter(
        kw.get("repository", forge.repository),
        token_env="FORGE_TOKEN",
        api_url=emulator.base_url,
        environ={"FORGE_TOKEN": kw.get("token", TOKEN)},
        policy=FAST,
        sleep=sleeps,
    )


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_pending_then_final_state_is_recorded_in_forge_words(forge: Forge) -> None:
    with forge.emulator(token=TOKEN, repositories=[forge.repository]) as emulator:
        reporter = make(forge, emulator, Sleeps())
        url = "https://agent.example.com/revisions/" + SHA
        reporter.report(SHA, CommitStatus(StatusState.PENDING, "applying 3 resources", "gitops"))
        reporter.report(
            SHA, CommitStatus(StatusState.SUCCESS, "applied 3 resources", "gitops", url)
        )
        posted = emulator.statuses(forge.repository, SHA)
        assert [p.state for p in posted] == [
            forge.states[StatusState.PENDING],
            forge.states[StatusState.SUCCESS],
        ]
        assert posted[-1].context == "gitops"
        assert posted[-1].description == "applied 3 resources"
        assert posted[-1].target_url == url
        status, listed = call(
            "GET", emulator.base_url + forge.list_path(forge.repository, SHA), None, forge.auth
        )
        assert status == 200
        values = listed["values"] if isinstance(listed, dict) else listed
        assert forge.states[StatusState.SUCCESS] in {
            v.get("state") or v.get("status") for v in values
        }


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
@pytest.mark.parametrize("state", [StatusState.FAILURE, StatusState.ERROR])
def test_failure_states_map_per_host(forge: Forge, state: StatusState) -> None:
    with forge.emulator(token=TOKEN, repositories=[forge.repository]) as emulator:
        make(forge, emulator, Sleeps()).report(SHA, CommitStatus(state, "x" * 300))
        (posted,) = emulator.statuses(forge.repository, SHA)
        assert posted.state == forge.states[state]
        assert len(posted.description) == 140
        assert posted.description.endswith("…")


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_bad_token_and_unknown_repository_raise_without_the_token(forge: Forge) -> None:
    with forge.emulator(token=TOKEN, repositories=[forge.repository]) as emulator:
        wrong = make(forge, emulator, Sleeps(), token="not-the-token-999")
        with pytest.raises(HttpStatusError) as denied:
            wrong.report(SHA, CommitStatus(StatusState.SUCCESS))
        assert denied.value.status == 401
        assert "not-the-token-999" not in str(denied.value)
        other = make(forge, emulator, Sleeps(), repository="acme/unknown")
        with pytest.raises(HttpStatusError) as missing:
            other.report(SHA, CommitStatus(StatusState.SUCCESS))
        assert missing.value.status == 404
        assert TOKEN not in str(missing.value)
        assert emulator.statuses(forge.repository, SHA) == []


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_server_errors_are_retried_with_backoff(forge: Forge) -> None:
    with forge.emulator(token=TOKEN, repositories=[forge.repository]) as emulator:
        sleeps = Sleeps()
        emulator.fail_next(2, status=503)
        make(forge, emulator, sleeps).report(SHA, CommitStatus(StatusState.SUCCESS))
        assert len(emulator.requests) == 3
        assert len(sleeps.calls) == 2
        assert len(emulator.statuses(forge.repository, SHA)) == 1


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_rate_limit_honours_retry_after(forge: Forge) -> None:
    with forge.emulator(token=TOKEN, repositories=[forge.repository]) as emulator:
        sleeps = Sleeps()
        emulator.fail_next(1, status=429, retry_after="3")
        make(forge, emulator, sleeps).report(SHA, CommitStatus(StatusState.PENDING))
        assert sleeps.calls == [3.0]
        assert len(emulator.statuses(forge.repository, SHA)) == 1


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_retries_are_bounded(forge: Forge) -> None:
    with forge.emulator(token=TOKEN, repositories=[forge.repository]) as emulator:
        sleeps = Sleeps()
        emulator.fail_next(50, status=500)
        with pytest.raises(ReporterError, match="500"):
            make(forge, emulator, sleeps).report(SHA, CommitStatus(StatusState.SUCCESS))
        assert len(emulator.requests) == FAST.backoff.max_attempts


def test_gitlab_repeated_running_state_is_accepted() -> None:
    with GitLabEmulator(token=TOKEN, repositories=["platform/manifests"]) as emulator:
        reporter = make(FORGES[1], emulator, Sleeps())
        reporter.report(SHA, CommitStatus(StatusState.PENDING, "applying"))
        reporter.report(SHA, CommitStatus(StatusState.PENDING, "still applying"))
        assert [p.state for p in emulator.statuses("platform/manifests", SHA)] == ["running"]
        assert emulator.requests[-1].method == "POST"


def test_gitlab_numeric_project_id() -> None:
    with GitLabEmulator(token=TOKEN, repositories=["platform/manifests"]) as emulator:
        make(FORGES[1], emulator, Sleeps(), repository="1").report(
            SHA, CommitStatus(StatusState.SUCCESS)
        )
        assert len(emulator.statuses("platform/manifests", SHA)) == 1


def test_bitbucket_without_target_url_links_the_commit() -> None:
    with BitbucketEmulator(token=TOKEN, repositories=["acme/manifests"]) as emulator:
        make(FORGES[3], emulator, Sleeps()).report(SHA, CommitStatus(StatusState.SUCCESS))
        (posted,) = emulator.statuses("acme/manifests", SHA)
        assert posted.target_url == f"https://bitbucket.org/acme/manifests/commits/{SHA}"


def test_github_sends_the_documented_headers() -> None:
    with GitHubEmulator(token=TOKEN, repositories=["acme/manifests"]) as emulator:
        make(FORGES[0], emulator, Sleeps()).report(SHA, CommitStatus(StatusState.SUCCESS))
        (request,) = emulator.requests
        assert request.path == f"/repos/acme/manifests/statuses/{SHA}"
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert request.header("Accept") == "application/vnd.github+json"
        assert request.header("X-GitHub-Api-Version") == "2022-11-28"
        assert request.header("Content-Type") == "application/json"
        assert request.json() == {"state": "success", "description": "", "context": "gitops-agent"}


def test_reporter_refuses_short_sha_missing_token_and_bad_config() -> None:
    with GitHubEmulator(token=TOKEN, repositories=["acme/manifests"]) as emulator:
        reporter = make(FORGES[0], emulator, Sleeps())
        with pytest.raises(ReporterError, match="full commit SHA"):
            reporter.report("abc1234", CommitStatus(StatusState.SUCCESS))
        unset = GitHubReporter(
            "acme/manifests", token_env="NOPE", api_url=emulator.base_url, environ={}
        )
        with pytest.raises(ReporterError, match="NOPE is not set"):
            unset.report(SHA, CommitStatus(StatusState.SUCCESS))
        assert emulator.requests == []
    with pytest.raises(ConfigError):
        GitHubReporter("", token_env="X")
    with pytest.raises(ConfigError):
        GiteaReporter("a/b", token_env="X")  # Gitea has no default API URL
