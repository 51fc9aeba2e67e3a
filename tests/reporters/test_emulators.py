"""Forge emulators answer like their forges: validation, errors, PRs and comments."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from gitops_agent.testing.forges.base import PullRequest
from gitops_agent.testing.forges.bitbucket import BitbucketEmulator
from gitops_agent.testing.forges.gitea import GiteaEmulator
from gitops_agent.testing.forges.github import GitHubEmulator
from gitops_agent.testing.forges.gitlab import GitLabEmulator
from tests.reporters.conftest import SHA, TOKEN, call

FORK_SHA = "9" * 40
REPO = "acme/manifests"


def add_pulls(
    emulator: GitHubEmulator | GitLabEmulator | GiteaEmulator | BitbucketEmulator,
) -> None:
    emulator.add_pull_request(REPO, PullRequest(7, SHA, "feature/x", "main"))
    emulator.add_pull_request(
        REPO, PullRequest(8, FORK_SHA, "patch-1", "main", head_repository="mallory/manifests")
    )


def test_github_validation_and_auth_errors() -> None:
    with GitHubEmulator(token=TOKEN, repositories=[REPO]) as gh:
        url = f"{gh.base_url}/repos/{REPO}/statuses/{SHA}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        status, body = call("POST", url, {"state": "done"}, auth)
        assert status == 422 and body["message"] == "Validation Failed"
        assert body["errors"][0]["field"] == "state"
        status, body = call("POST", url, {"description": "no state"}, auth)
        assert (status, body["errors"][0]["code"]) == (422, "missing_field")
        status, body = call("POST", url, {"state": "success", "description": "d" * 141}, auth)
        assert status == 422
        status, body = call("POST", url, {"state": "success"}, {"Authorization": "Bearer nope"})
        assert (status, body["message"]) == (401, "Bad credentials")
        status, _ = call("POST", url, {"state": "success"}, {**auth, "User-Agent": ""})
        assert status == 403
        assert gh.statuses(REPO, SHA) == []
        call("POST", url, {"state": "pending", "context": "a"}, auth)
        call("POST", url, {"state": "success", "context": "a"}, auth)
        call("POST", url, {"state": "failure", "context": "b"}, auth)
        status, combined = call(
            "GET", f"{gh.base_url}/repos/{REPO}/commits/{SHA}/status", None, auth
        )
        assert status == 200
        assert combined["state"] == "failure" and combined["total_count"] == 2


def test_gitlab_validation_and_transitions() -> None:
    with GitLabEmulator(token=TOKEN, repositories=[REPO]) as gl:
        url = f"{gl.base_url}/projects/acme%2Fmanifests/statuses/{SHA}"
        auth = {"PRIVATE-TOKEN": TOKEN}
        assert call("POST", url, {"state": "done"}, auth) == (
            400,
            {"error": "state does not have a valid value"},
        )
        assert call("POST", url, {}, auth) == (400, {"error": "state is missing"})
        assert call("POST", url, {"state": "running"}, {"PRIVATE-TOKEN": "x"}) == (
            401,
            {"message": "401 Unauthorized"},
        )
        other = f"{gl.base_url}/projects/acme%2Fother/statuses/{SHA}"
        assert call("POST", other, {"state": "running"}, auth) == (
            404,
            {"message": "404 Project Not Found"},
        )
        assert call("POST", url, {"state": "running", "name": "n"}, auth)[0] == 201
        status, body = call("POST", url, {"state": "running", "name": "n"}, auth)
        assert (
            status == 400 and "Cannot transition status via :run from :running" in body["message"]
        )
        assert call("POST", url, {"state": "success", "name": "n"}, auth)[0] == 201


def test_gitea_and_bitbucket_validation() -> None:
    with GiteaEmulator(token=TOKEN, repositories=[REPO]) as gitea:
        url = f"{gitea.base_url}/repos/{REPO}/statuses/{SHA}"
        auth = {"Authorization": f"token {TOKEN}"}
        assert call("POST", url, {"state": "warning"}, auth)[0] == 201
        assert call("POST", url, {"state": "running"}, auth)[0] == 422
        status, body = call("POST", url, {"state": "success"}, {"Authorization": "token x"})
        assert status == 401 and "url" in body
    with BitbucketEmulator(token=TOKEN, repositories=[REPO]) as bb:
        url = f"{bb.base_url}/repositories/{REPO}/commit/{SHA}/statuses/build"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        status, body = call("POST", url, {"key": "k", "state": "SUCCESSFUL"}, auth)
        assert status == 400 and body["type"] == "error"
        assert body["error"]["fields"] == {"url": ["This field is required."]}
        ok = {"key": "k", "state": "INPROGRESS", "url": "https://ci"}
        assert call("POST", url, ok, auth)[0] == 201
        assert call("POST", url, {**ok, "state": "SUCCESSFUL"}, auth)[0] == 200  # overwritten
        status, listed = call("GET", url.removesuffix("/build"), None, auth)
        assert [v["state"] for v in listed["values"]] == ["SUCCESSFUL"]
        assert call("POST", url, {**ok, "state": "DONE"}, auth)[0] == 400


def test_pull_requests_and_comments_on_each_forge() -> None:
    with GitHubEmulator(token=TOKEN, repositories=[REPO]) as gh:
        add_pulls(gh)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        _, pulls = call("GET", f"{gh.base_url}/repos/{REPO}/pulls?state=open", None, auth)
        assert [(p["number"], p["head"]["sha"], p["head"]["repo"]["full_name"]) for p in pulls] == [
            (8, FORK_SHA, "mallory/manifests"),  # newest first
            (7, SHA, REPO),
        ]
        status, made = call(
            "POST", f"{gh.base_url}/repos/{REPO}/issues/7/comments", {"body": "plan"}, auth
        )
        assert status == 201
        edit = f"{gh.base_url}/repos/{REPO}/issues/comments/{made['id']}"
        assert call("PATCH", edit, {"body": "plan v2"}, auth)[0] == 200
        assert [c.body for c in gh.comments(REPO, 7)] == ["plan v2"]
        assert (
            call("POST", f"{gh.base_url}/repos/{REPO}/issues/99/comments", {"body": "x"}, auth)[0]
            == 404
        )

    with GitLabEmulator(token=TOKEN, repositories=[REPO]) as gl:
        add_pulls(gl)
        auth = {"PRIVATE-TOKEN": TOKEN}
        base = f"{gl.base_url}/projects/acme%2Fmanifests"
        _, mrs = call("GET", f"{base}/merge_requests?state=opened", None, auth)
        assert [
            (m["iid"], m["sha"], m["source_project_id"] != m["target_project_id"]) for m in mrs
        ] == [
            (8, FORK_SHA, True),  # newest first
            (7, SHA, False),
        ]
        status, note = call("POST", f"{base}/merge_requests/7/notes", {"body": "plan"}, auth)
        assert status == 201
        assert (
            call("PUT", f"{base}/merge_requests/7/notes/{note['id']}", {"body": "v2"}, auth)[0]
            == 200
        )
        assert [c.body for c in gl.comments(REPO, 7)] == ["v2"]

    with GiteaEmulator(token=TOKEN, repositories=[REPO]) as gitea:
        add_pulls(gitea)
        auth = {"Authorization": f"token {TOKEN}"}
        _, pulls = call("GET", f"{gitea.base_url}/repos/{REPO}/pulls?state=open", None, auth)
        assert [p["head"]["repo"]["full_name"] for p in pulls] == ["mallory/manifests", REPO]
        _, made = call(
            "POST", f"{gitea.base_url}/repos/{REPO}/issues/8/comments", {"body": "p"}, auth
        )
        edit = f"{gitea.base_url}/repos/{REPO}/issues/comments/{made['id']}"
        assert call("PATCH", edit, {"body": "p2"}, auth)[0] == 200
        assert [c.body for c in gitea.comments(REPO, 8)] == ["p2"]

    with BitbucketEmulator(token=TOKEN, repositories=[REPO]) as bb:
        add_pulls(bb)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        base = f"{bb.base_url}/repositories/{REPO}/pullrequests"
        _, page = call("GET", f"{base}?state=OPEN", None, auth)
        heads = [(v["id"], v["source"]["commit"]["hash"]) for v in page["values"]]
        assert heads == [(8, FORK_SHA[:12]), (7, SHA[:12])]  # Bitbucket gives short hashes
        _, made = call("POST", f"{base}/7/comments", {"content": {"raw": "plan"}}, auth)
        assert (
            call("PUT", f"{base}/7/comments/{made['id']}", {"content": {"raw": "v2"}}, auth)[0]
            == 200
        )
        assert call("POST", f"{base}/7/comments", {"content": {}}, auth)[0] == 400
        assert [c.body for c in bb.comments(REPO, 7)] == ["v2"]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_injected_faults_carry_retry_after(status: int) -> None:
    with GiteaEmulator(token=TOKEN, repositories=[REPO]) as gitea:
        gitea.fail_next(1, status=status, retry_after="2")
        auth = {"Authorization": f"token {TOKEN}"}
        url = f"{gitea.base_url}/repos/{REPO}/statuses/{SHA}"
        assert call("GET", url, None, auth)[0] == status
        assert call("GET", url, None, auth)[0] == 200


def test_listings_paginate_as_each_forge_does() -> None:
    def fresh() -> list[PullRequest]:
        return [PullRequest(n, str(n) * 40, f"f{n}", "main") for n in range(1, 6)]

    with GitHubEmulator(token=TOKEN, repositories=[REPO]) as gh:
        for pull in fresh():
            gh.add_pull_request(REPO, pull)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        url = f"{gh.base_url}/repos/{REPO}/pulls?per_page=2&base=main"
        _, first, headers = call_with_headers(url, auth)
        assert [p["number"] for p in first] == [5, 4]
        assert 'rel="next"' in headers["Link"] and "page=2" in headers["Link"]
        assert call("GET", f"{gh.base_url}/repos/{REPO}/pulls?base=dev", None, auth)[1] == []
        assert call("GET", f"{gh.base_url}/user", None, auth)[1]["login"] == gh.user
        assert call("GET", f"{gh.base_url}/repos/{REPO}/pulls/9", None, auth)[0] == 404
    with GitLabEmulator(token=TOKEN, repositories=[REPO]) as gl:
        for pull in fresh():
            gl.add_pull_request(REPO, pull)
        gl.close_pull(REPO, 5, merged=True)
        base = f"{gl.base_url}/projects/acme%2Fmanifests/merge_requests"
        auth = {"PRIVATE-TOKEN": TOKEN}
        _, page, headers = call_with_headers(f"{base}?state=opened&per_page=3", auth)
        assert [m["iid"] for m in page] == [4, 3, 2]
        assert (headers["X-Next-Page"], headers["X-Total"]) == ("2", "4")
        _, last, headers = call_with_headers(f"{base}?state=opened&per_page=3&page=2", auth)
        assert [m["iid"] for m in last] == [1] and headers["X-Next-Page"] == ""
        assert call("GET", f"{base}/5", None, auth)[1]["state"] == "merged"
        assert call("GET", f"{gl.base_url}/user", None, auth)[1]["username"] == gl.user
    with GiteaEmulator(token=TOKEN, repositories=[REPO]) as gitea:
        for pull in fresh():
            gitea.add_pull_request(REPO, pull)
        auth = {"Authorization": f"token {TOKEN}"}
        _, page, headers = call_with_headers(f"{gitea.base_url}/repos/{REPO}/pulls?limit=2", auth)
        assert (
            len(page) == 2 and headers["X-Total-Count"] == "5" and 'rel="next"' in headers["Link"]
        )
    with BitbucketEmulator(token=TOKEN, repositories=[REPO]) as bb:
        for pull in fresh():
            bb.add_pull_request(REPO, pull)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        base = f"{bb.base_url}/repositories/{REPO}/pullrequests"
        query = "q=destination.branch.name%20%3D%20%22main%22"
        _, page = call("GET", f"{base}?pagelen=2&{query}", None, auth)
        assert [v["id"] for v in page["values"]] == [5, 4] and "page=2" in page["next"]
        assert call("GET", f"{base}?pagelen=51", None, auth)[0] == 400  # "Invalid pagelen"
        assert call("GET", f"{base}?q=title%3D1", None, auth)[0] == 400
        commit = f"{bb.base_url}/repositories/{REPO}/commit/{'1' * 12}"
        assert call("GET", commit, None, auth)[1]["hash"] == "1" * 40
        assert call("GET", f"{bb.base_url}/user", None, auth)[1]["uuid"].startswith("{")


def test_only_the_author_edits_a_comment_where_the_forge_says_so() -> None:
    for emulator_class, edit in (
        (GitLabEmulator, "PUT {base}/projects/acme%2Fmanifests/merge_requests/7/notes/{id}"),
        (GiteaEmulator, "PATCH {base}/repos/acme/manifests/issues/comments/{id}"),
        (BitbucketEmulator, "PUT {base}/repositories/acme/manifests/pullrequests/7/comments/{id}"),
    ):
        with emulator_class(token=TOKEN, repositories=[REPO]) as emulator:
            add_pulls(emulator)
            theirs = emulator.add_comment(REPO, 7, "mine", author="alice")
            method, url = edit.format(base=emulator.base_url, id=theirs.id).split()
            auth = {"Authorization": f"Bearer {TOKEN}"}
            status, _ = call(method, url, {"body": "x", "content": {"raw": "x"}}, auth)
            assert status == 403, emulator_class.__name__
            assert emulator.comments(REPO, 7)[0].body == "mine"


def call_with_headers(url: str, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
    """A GET returning status, JSON body and response headers."""
    request = urllib.request.Request(url, headers={"User-Agent": "tests", **headers})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read()), dict(response.headers.items())
