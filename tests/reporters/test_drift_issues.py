"""Drift issues on GitHub, GitLab and Gitea, against their emulators over real HTTP: one
issue per agent found by its hidden marker among the token user's open issues (pull requests
and other people's issues skipped), edited in place only when it changes, never opened twice
when an answer is lost, closed when drift is gone; the token never in a message."""

from __future__ import annotations

import pytest

from gitops_agent.errors import ReporterError
from gitops_agent.reporters.bitbucket_pulls import BitbucketPullRequests
from gitops_agent.reporters.issues import ForgeIssues, drift_issues, drift_marker
from gitops_agent.testing.forges.base import ForgeEmulator
from tests.reporters.conftest import TOKEN
from tests.reporters.pullforges import FORGES, REPO, PullForge, make, open_pull

ISSUE_FORGES = [f for f in FORGES if f.name != "bitbucket"]
IDS = [f.name for f in ISSUE_FORGES]
MARKER = drift_marker("prod")


def client(forge: PullForge, emulator: ForgeEmulator) -> ForgeIssues:
    found = drift_issues(make(forge, emulator))
    assert found is not None
    return found


def writes(emulator: ForgeEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests if r.method != "GET"]


@pytest.mark.parametrize("forge", ISSUE_FORGES, ids=IDS)
def test_one_issue_opened_edited_in_place_and_closed(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        for number in (1, 2):
            open_pull(emulator, number)
        emulator.tracker.open_issue(REPO, "someone's", f"<!-- {MARKER} -->\n", "mallory", 3)
        issues = client(forge, emulator)
        first = issues.upsert(MARKER, "Drift: prod", "**drift: 1 object (1 field)**")
        again = issues.upsert(MARKER, "Drift: prod", "**drift: 1 object (1 field)**")
        assert again == first and len(writes(emulator)) == 1, "no write when nothing changed"
        assert issues.upsert(MARKER, "Drift: prod", "**drift: 2 objects**") == first
        (mine,) = [i for i in emulator.tracker.issues(REPO) if i.author == emulator.user]
        assert mine.number == first and mine.state == "open"
        assert mine.body.startswith(f"<!-- {MARKER} -->") and "2 objects" in mine.body
        assert issues.close(MARKER, "No drift any more.") == first
        assert mine.state == "closed" and "No drift any more." in mine.body
        assert issues.close(MARKER, "No drift any more.") is None
        assert issues.upsert(MARKER, "Drift: prod", "again") != first, "a new episode"
    assert len(writes(emulator)) == 4  # open, edit, close, open


@pytest.mark.parametrize("forge", ISSUE_FORGES, ids=IDS)
def test_a_lost_answer_never_opens_a_second_issue(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        emulator.fail_next(1, status=502, method="POST", path=r"/issues$", after=True)
        number = client(forge, emulator).upsert(MARKER, "Drift: prod", "body")
        assert [i.number for i in emulator.tracker.issues(REPO)] == [number]


@pytest.mark.parametrize("forge", ISSUE_FORGES, ids=IDS)
def test_a_refusal_names_the_repository_not_the_token(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        issues = client(forge, emulator)
        emulator.fail_next(5, status=403)
        with pytest.raises(ReporterError) as caught:
            issues.upsert(MARKER, "Drift: prod", "body")
    assert REPO in str(caught.value) and TOKEN not in str(caught.value)


def test_bitbucket_has_no_drift_issues() -> None:
    bitbucket = next(f for f in FORGES if f.name == "bitbucket")
    assert bitbucket.client is BitbucketPullRequests
    with bitbucket.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        assert drift_issues(make(bitbucket, emulator)) is None
