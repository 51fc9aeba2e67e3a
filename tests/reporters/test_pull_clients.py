"""The four pull-request clients against their forge emulators, over real HTTP on 127.0.0.1:
listing across pages, forks, states, the marked comment upserted in place, retries, errors."""

from __future__ import annotations

import logging
import re

import pytest

from gitops_agent.errors import ReporterError
from gitops_agent.reporters.http import HttpStatusError
from gitops_agent.reporters.pulls import PullState, finish_comment
from gitops_agent.testing.forges.base import Response
from tests.reporters.conftest import TOKEN, Sleeps
from tests.reporters.pullforges import (
    FORGES,
    FORK,
    IDS,
    MARKER,
    REPO,
    PullForge,
    make,
    open_pull,
    sha_of,
)


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_open_pulls_for_a_base_branch_across_pages(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        for number in range(1, 131):
            open_pull(emulator, number, base_ref="main" if number % 10 else "release")
        open_pull(emulator, 131)
        open_pull(emulator, 132)
        emulator.close_pull(REPO, 131)
        emulator.close_pull(REPO, 132, merged=True)
        pulls = make(forge, emulator).open_pulls("main")
        listings = [r for r in emulator.requests if re.search(forge.pulls_path + "$", r.path)]
    expected = [n for n in range(130, 0, -1) if n % 10]
    assert [p.number for p in pulls] == expected  # newest first, other branch and closed out
    assert len(listings) >= 2  # more than one page was read
    first = pulls[0]
    assert first.head_sha == sha_of(130 - 1)  # resolved to the full SHA on Bitbucket too
    assert first.head_sha_is_full
    assert (first.head_ref, first.base_ref, first.title) == ("feature/129", "main", "change 129")
    assert first.fetch_ref == forge.fetch_ref(129, "feature/129")
    assert first.state is PullState.OPEN and not first.from_fork
    assert first.fetch_url is None
    assert "129" in first.web_url


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_a_fork_is_told_apart_and_fetchable(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        open_pull(emulator, 8, head_repository=FORK, head_ref="patch-1")
        by_number = {p.number: p for p in make(forge, emulator).open_pulls("refs/heads/main")}
    fork, same = by_number[8], by_number[7]
    assert fork.from_fork and not same.from_fork
    assert fork.head_sha == sha_of(8)
    assert fork.fetch_ref == forge.fetch_ref(8, "patch-1")
    if forge.name == "bitbucket":  # the source branch lives in the fork
        assert fork.fetch_url == f"https://bitbucket.org/{FORK}.git"
        assert fork.head_repository == FORK
    else:  # refs/pull/N/head and refs/merge-requests/N/head live in the base repository
        assert fork.fetch_url is None


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_pull_tells_open_closed_and_merged(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        for number in (1, 2, 3):
            open_pull(emulator, number)
        emulator.close_pull(REPO, 2)
        emulator.close_pull(REPO, 3, merged=True)
        client = make(forge, emulator)
        states = [client.pull(n).state for n in (1, 2, 3)]
        with pytest.raises(HttpStatusError) as missing:
            client.pull(99)
    assert states == [PullState.OPEN, PullState.CLOSED, PullState.MERGED]
    assert missing.value.status == 404
    assert REPO in str(missing.value) and TOKEN not in str(missing.value)


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_upsert_creates_once_then_edits_in_place(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        for index in range(28):
            emulator.add_comment(REPO, 7, f"looks good {index}", author=f"reviewer{index % 3}")
        quoting = f"> <!-- {MARKER} -->\n> [//]: # ({MARKER})\nwhat is this?"
        emulator.add_comment(REPO, 7, quoting, author="alice")
        client = make(forge, emulator)
        impostor = f"{client.hide(MARKER)}\n\nI wrote this"
        emulator.add_comment(REPO, 7, impostor, author="mallory")
        first = client.upsert_comment(7, MARKER, "plan at aaaaaaa: +1 ~0 -0")
        second = client.upsert_comment(7, MARKER, "plan at bbbbbbb: +1 ~1 -0")
        writes = len([r for r in emulator.requests if r.method != "GET"])
        again = client.upsert_comment(7, MARKER, "plan at bbbbbbb: +1 ~1 -0")
        idle_writes = len([r for r in emulator.requests if r.method != "GET"])
        comments = emulator.comments(REPO, 7)
    ours = [c for c in comments if c.author == emulator.user]
    assert first == second == again
    assert len(ours) == 1 and ours[0].id == first
    assert ours[0].body.endswith("plan at bbbbbbb: +1 ~1 -0")
    assert ours[0].body.splitlines()[0] == client.hide(MARKER)
    assert writes == 2 and idle_writes == 2  # create, edit, then nothing to write
    assert [c.body for c in comments if c.author == "alice"] == [quoting]
    assert [c.body for c in comments if c.author == "mallory"] == [impostor]
    assert len(comments) == 31


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_final_line_on_close_is_appended_once(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        open_pull(emulator, 9)
        client = make(forge, emulator)
        made = client.upsert_comment(7, MARKER, "plan")
        emulator.close_pull(REPO, 7, merged=True)
        line = "Merged; this preview is final."
        assert finish_comment(client, 7, MARKER, line) == made
        assert finish_comment(client, 7, MARKER, line) == made
        assert finish_comment(client, 9, MARKER, line) is None  # never previewed: no comment
        (comment,) = emulator.comments(REPO, 7)
        assert emulator.comments(REPO, 9) == []
    assert comment.body.count(line) == 1
    assert comment.body.endswith(line + "\n")


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_rate_limits_and_server_errors_are_retried(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        sleeps = Sleeps()
        client = make(forge, emulator, sleeps)
        emulator.fail_next(1, status=429, retry_after="3", path=forge.pulls_path)
        emulator.fail_next(1, status=502, path=forge.pulls_path)
        assert [p.number for p in client.open_pulls("main")] == [7]
        assert 3.0 in sleeps.calls and len(sleeps.calls) == 2
        emulator.fail_next(2, status=503, method="POST", path=forge.comment_post)
        client.upsert_comment(7, MARKER, "plan")
        assert len(emulator.comments(REPO, 7)) == 1
        assert len(sleeps.calls) == 4


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_a_comment_created_but_its_answer_lost_is_not_made_twice(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        emulator.fail_next(1, status=502, method="POST", path=forge.comment_post, after=True)
        made = make(forge, emulator).upsert_comment(7, MARKER, "plan")
        (comment,) = emulator.comments(REPO, 7)
    assert comment.id == made


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_retries_are_bounded(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        emulator.fail_next(50, status=500)
        with pytest.raises(ReporterError, match="500"):
            make(forge, emulator).upsert_comment(7, MARKER, "plan")
        assert emulator.comments(REPO, 7) == []


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_bad_token_and_unknown_repository_name_the_repository_not_the_token(
    forge: PullForge,
) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        wrong = make(forge, emulator, token="not-the-token-999")
        for call in (
            lambda: wrong.open_pulls("main"),
            lambda: wrong.upsert_comment(7, MARKER, "x"),
        ):
            with pytest.raises(HttpStatusError) as denied:
                call()
            assert denied.value.status == 401
            assert REPO in str(denied.value) and "not-the-token-999" not in str(denied.value)
        other = make(forge, emulator, repository="acme/unknown")
        with pytest.raises(HttpStatusError) as missing:
            other.open_pulls("main")
        assert missing.value.status == 404
        assert "acme/unknown" in str(missing.value) and TOKEN not in str(missing.value)
        with pytest.raises(HttpStatusError, match="404"):
            make(forge, emulator).upsert_comment(99, MARKER, "plan")


def test_marker_given_in_html_form_and_body_with_a_marker_line() -> None:
    forge = FORGES[0]
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        client = make(forge, emulator)
        made = client.upsert_comment(7, f"<!-- {MARKER} -->", f"<!-- {MARKER} -->\n\nplan")
        assert client.upsert_comment(7, MARKER, "plan 2") == made
        with pytest.raises(ReporterError, match="marker"):
            client.upsert_comment(7, "x --> <script>", "plan")
        (comment,) = emulator.comments(REPO, 7)
    assert comment.body == f"<!-- {MARKER} -->\n\nplan 2"


def test_a_body_over_the_forge_limit_is_cut_not_refused() -> None:
    forge = FORGES[0]
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        client = make(forge, emulator)
        client.upsert_comment(7, MARKER, "x" * 100_000)
        (comment,) = emulator.comments(REPO, 7)
    assert len(comment.body) == client.comment_limit == 65536
    assert comment.body.endswith("characters)")


def test_a_token_that_may_not_say_who_it_is_still_upserts_by_marker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    forge = FORGES[0]  # a GitHub Actions token: GET /user is 403
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        denied = {"message": "Resource not accessible by integration"}
        emulator.tamper("GET", r"/user", lambda request: Response(403, denied))
        emulator.add_comment(REPO, 7, f"> <!-- {MARKER} -->\nquoted", author="alice")
        client = make(forge, emulator)
        with caplog.at_level(logging.INFO):
            made = client.upsert_comment(7, MARKER, "plan")
            assert client.upsert_comment(7, MARKER, "plan 2") == made
        users = [r for r in emulator.requests if r.path == "/user"]
        ours = [c for c in emulator.comments(REPO, 7) if c.author == emulator.user]
    assert len(ours) == 1 and ours[0].body.endswith("plan 2")
    assert len(users) == 1  # asked once per token
    assert "markers alone decide" in caplog.text


def test_bitbucket_head_stays_abbreviated_when_the_fork_will_not_say(
    caplog: pytest.LogCaptureFixture,
) -> None:
    forge = FORGES[3]
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 8, head_repository=FORK)
        emulator.tamper(
            "GET", rf"/repositories/{FORK}/commit/\w+", lambda request: Response(403, None)
        )
        client = make(forge, emulator)
        with caplog.at_level(logging.WARNING):
            first = client.open_pulls("main")
            second = client.open_pulls("main")
        lookups = [r for r in emulator.requests if "/commit/" in r.path]
    assert first == second
    assert first[0].head_sha == sha_of(8)[:12] and not first[0].head_sha_is_full
    assert len(lookups) == 1  # the refusal is remembered
    assert caplog.text.count("stays abbreviated") == 1
