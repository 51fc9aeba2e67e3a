"""Issues of the emulated forges: the state tests inspect and the routes that serve it.

An emulator keeps an ``IssueTracker`` (``forges.tracker``: each repository's issues) and adds
the routes of its forge:

- GitHub and Gitea (``github_routes``): ``GET /repos/{o}/{r}/issues`` (``state`` open by
  default, closed or all; newest first; paged as the forge pages its pull requests), where
  GitHub lists pull requests too, each with a ``pull_request`` key as api.github.com does,
  and Gitea leaves them out for ``type=issues``; ``POST`` the same path (``title`` required,
  ``body``), 201 with the issue; ``PATCH /repos/{o}/{r}/issues/{n}`` (``title``, ``body``,
  ``state`` open|closed). Issue numbers follow the pull requests', as on both forges.
- GitLab (``gitlab_routes``): ``GET /projects/:id/issues`` (``state`` opened|closed|all,
  ``X-Next-Page`` headers), ``POST`` it (``title``, ``description``) and
  ``PUT /projects/:id/issues/:iid`` (``title``, ``description``, ``state_event``
  close|reopen).

The routes reuse their emulator's guard (auth, unknown repositories), pager, user shape and
error bodies. Used by the drift-issue tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from gitops_agent.testing.forges.base import (
    ForgeEmulator,
    Handler,
    PullRequest,
    Request,
    Response,
    json_body,
)
from gitops_agent.testing.forges.tracker import Issue, IssueTracker

Paged = Callable[[Request, list[Any]], Response]
UserJson = Callable[[str], dict[str, Any]]
Guard = Callable[[Handler], Handler]


class GitLabLike(Protocol):
    """What GitLab's routes need of its emulator beyond the base."""

    tracker: IssueTracker
    user: str

    def error(self, status: int, message: str) -> Response: ...

    def project_of(self, ident: str) -> str | None: ...

    def _params(self, request: Request) -> dict[str, Any] | None: ...

    def _guard(self, handler: Handler) -> Handler: ...


def github_routes(
    emulator: ForgeEmulator,
    prefix: str,
    *,
    paged: Paged,
    user_json: UserJson,
    pulls_listed: bool,
    web: str,
) -> list[tuple[str, str, Handler]]:
    """The issue routes of GitHub (``pulls_listed``) or Gitea under ``prefix``."""
    tracker: IssueTracker = emulator.tracker
    repo_path = prefix + r"/repos/(?P<repo>[^/]+/[^/]+)/issues"

    def as_json(repo: str, issue: Issue) -> dict[str, Any]:
        return {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "user": user_json(issue.author),
            "html_url": f"{web}/{repo}/issues/{issue.number}",
        }

    def listing(request: Request, match: re.Match[str]) -> Response:
        repo, state = match.group("repo"), request.query.get("state", "open")
        items = [as_json(repo, i) for i in reversed(tracker.issues(repo, state=state))]
        if pulls_listed or request.query.get("type") != "issues":
            items += [
                _pull_as_issue(repo, p, user_json, web) for p in _pulls(emulator, repo, state)
            ]
            items.sort(key=lambda item: -int(item["number"]))
        return paged(request, items)

    def create(request: Request, match: re.Match[str]) -> Response:
        repo, body = match.group("repo"), json_body(request)
        title = body.get("title") if body else None
        if not isinstance(title, str) or not title.strip():
            return emulator.error(422, "title is missing")
        text = body.get("body") if body else ""
        first = _after_pulls(emulator, repo)
        issue = tracker.open_issue(
            repo, title, text if isinstance(text, str) else "", emulator.user, first
        )
        return Response(201, as_json(repo, issue))

    def edit(request: Request, match: re.Match[str]) -> Response:
        repo, body = match.group("repo"), json_body(request)
        issue = tracker.find(repo, int(match.group("n")))
        if issue is None:
            return emulator.error(404, "Not Found")
        if body is None or body.get("state", "open") not in ("open", "closed"):
            return emulator.error(422, "state is invalid")
        issue.title = str(body.get("title", issue.title))
        issue.body = str(body.get("body", issue.body))
        issue.state = str(body.get("state", issue.state))
        created = 200 if pulls_listed else 201  # Gitea answers an edit with 201
        return Response(created, as_json(repo, issue))

    guard: Guard = emulator._guard  # type: ignore[attr-defined]
    return [
        ("GET", repo_path, guard(listing)),
        ("POST", repo_path, guard(create)),
        ("PATCH", repo_path + r"/(?P<n>\d+)", guard(edit)),
    ]


def _pulls(emulator: ForgeEmulator, repo: str, state: str) -> list[PullRequest]:
    wanted = {"open": ("open",), "closed": ("closed", "merged")}.get(
        state, ("open", "closed", "merged")
    )
    return [p for p in emulator.pull_requests.get(repo, []) if p.state in wanted]


def _pull_as_issue(repo: str, pull: PullRequest, user_json: UserJson, web: str) -> dict[str, Any]:
    return {
        "number": pull.number,
        "title": pull.title,
        "body": "",
        "state": "open" if pull.state == "open" else "closed",
        "user": user_json("contributor"),
        "html_url": f"{web}/{repo}/pull/{pull.number}",
        "pull_request": {"url": f"{web}/{repo}/pull/{pull.number}"},
    }


def _after_pulls(emulator: ForgeEmulator, repo: str) -> int:
    return max([0, *(p.number for p in emulator.pull_requests.get(repo, []))]) + 1


def gitlab_routes(
    emulator: GitLabLike, prefix: str, *, paged: Paged, user_json: UserJson, web: str
) -> list[tuple[str, str, Handler]]:
    """GitLab's issue routes under ``prefix`` (``/api/v4``)."""
    tracker: IssueTracker = emulator.tracker
    path = prefix + r"/projects/(?P<project>[^/]+)/issues"
    states = {"opened": "open", "closed": "closed", "all": "all"}

    def as_json(repo: str, issue: Issue) -> dict[str, Any]:
        return {
            "id": 90000 + issue.number,
            "iid": issue.number,
            "title": issue.title,
            "description": issue.body,
            "state": "opened" if issue.state == "open" else "closed",
            "author": user_json(issue.author),
            "web_url": f"{web}/{repo}/-/issues/{issue.number}",
        }

    def listing(request: Request, match: re.Match[str]) -> Response:
        repo = emulator.project_of(match.group("project")) or ""
        state = states.get(request.query.get("state", "all"))
        if state is None:
            return Response(400, {"error": "state does not have a valid value"})
        return paged(
            request, [as_json(repo, i) for i in reversed(tracker.issues(repo, state=state))]
        )

    def create(request: Request, match: re.Match[str]) -> Response:
        repo = emulator.project_of(match.group("project")) or ""
        params = emulator._params(request) or {}
        title = params.get("title")
        if not isinstance(title, str) or not title.strip():
            return Response(400, {"error": "title is missing"})
        text = params.get("description") or ""
        issue = tracker.open_issue(repo, title, str(text), emulator.user, 1)
        return Response(201, as_json(repo, issue))

    def edit(request: Request, match: re.Match[str]) -> Response:
        repo = emulator.project_of(match.group("project")) or ""
        issue = tracker.find(repo, int(match.group("iid")))
        if issue is None:
            return emulator.error(404, "Not found")
        params = emulator._params(request) or {}
        event = params.get("state_event")
        if event not in (None, "close", "reopen"):
            return Response(400, {"error": "state_event does not have a valid value"})
        issue.title = str(params.get("title", issue.title))
        issue.body = str(params.get("description", issue.body))
        if event is not None:
            issue.state = "closed" if event == "close" else "open"
        return Response(200, as_json(repo, issue))

    guard: Guard = emulator._guard
    return [
        ("GET", path, guard(listing)),
        ("POST", path, guard(create)),
        ("PUT", path + r"/(?P<iid>\d+)", guard(edit)),
    ]
