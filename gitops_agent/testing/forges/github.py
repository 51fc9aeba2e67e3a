"""GitHub REST API emulator: commit statuses, pull requests, issue comments, the user.

Serves, under the root given as the reporter's API URL (as for GitHub Enterprise):
``POST /repos/{owner}/{repo}/statuses/{sha}``, ``GET /repos/{owner}/{repo}/commits/{ref}/statuses``,
``GET /repos/{owner}/{repo}/commits/{ref}/status`` (combined), ``GET /repos/{o}/{r}/pulls``
(``state`` open|closed|all, ``base``, ``per_page`` 30 by default and at most 100, ``page``,
newest first, ``Link`` header), ``GET /repos/{o}/{r}/pulls/{n}`` (with ``merged``),
``GET|POST /repos/{o}/{r}/issues/{n}/comments`` (oldest first, paginated the same way),
``PATCH /repos/{o}/{r}/issues/comments/{id}``, ``GET /user`` (the token's login and id) and
the repository's issues (``forges.issues``: pull requests listed among them).
Checks ``Authorization: Bearer|token``, ``User-Agent``, ``Accept`` and JSON bodies the way
api.github.com answers: 401 "Bad credentials", 403 without a User-Agent, 404 "Not Found",
422 "Validation Failed" with an ``errors`` list.
"""

from __future__ import annotations

import re
from typing import Any

from gitops_agent.testing.forges import issues
from gitops_agent.testing.forges.base import (
    HEX_SHA,
    Comment,
    ForgeEmulator,
    Handler,
    PostedStatus,
    PullRequest,
    Request,
    Response,
    json_body,
)
from gitops_agent.testing.forges.paging import link_header, page_of

DOCS = "https://docs.github.com/rest"
STATES = ("error", "failure", "pending", "success")
_REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
WEB = "https://github.example"
MAX_COMMENT = 65536


class GitHubEmulator(ForgeEmulator):
    """A GitHub (or GitHub Enterprise) REST API on 127.0.0.1."""

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", _REPO + r"/statuses/(?P<sha>[^/]+)", self._guard(self._create_status)),
            ("GET", _REPO + r"/commits/(?P<sha>[^/]+)/statuses", self._guard(self._list_statuses)),
            ("GET", _REPO + r"/commits/(?P<sha>[^/]+)/status", self._guard(self._combined)),
            ("GET", _REPO + r"/pulls", self._guard(self._list_pulls)),
            ("GET", _REPO + r"/pulls/(?P<n>\d+)", self._guard(self._get_pull)),
            ("GET", r"/user", self._guard(self._get_user)),
            ("GET", _REPO + r"/issues/(?P<n>\d+)/comments", self._guard(self._list_comments)),
            ("POST", _REPO + r"/issues/(?P<n>\d+)/comments", self._guard(self._add_comment)),
            ("PATCH", _REPO + r"/issues/comments/(?P<id>\d+)", self._guard(self._edit_comment)),
            *issues.github_routes(
                self,
                "",
                paged=self._paged,
                user_json=lambda login: _user_json(self, login),
                pulls_listed=True,
                web=WEB,
            ),
        ]

    def error(self, status: int, message: str) -> Response:
        return Response(status, {"message": message, "documentation_url": DOCS})

    def _guard(self, handler: Handler) -> Handler:
        def guarded(request: Request, match: re.Match[str]) -> Response:
            if not request.header("User-Agent"):
                return self.error(403, "Request forbidden by administrative rules.")
            scheme, _, token = request.header("Authorization").partition(" ")
            if scheme.lower() not in ("bearer", "token") or token != self.token:
                return self.error(401, "Bad credentials")
            if "repo" in match.groupdict() and match.group("repo") not in self.repositories:
                return self.error(404, "Not Found")
            if request.method in ("POST", "PATCH"):
                accept = request.header("Accept")
                if accept and "json" not in accept and "*/*" not in accept:
                    return self.error(415, "Unsupported 'Accept' header")
            return handler(request, match)

        return guarded

    def _invalid(self, field: str, code: str, message: str = "") -> Response:
        entry = {"resource": "Status", "field": field, "code": code}
        if message:
            entry["message"] = message
        body = {"message": "Validation Failed", "errors": [entry], "documentation_url": DOCS}
        return Response(422, body)

    def _create_status(self, request: Request, match: re.Match[str]) -> Response:
        repo, sha = match.group("repo"), match.group("sha")
        body = json_body(request)
        if body is None:
            return Response(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
        if not HEX_SHA.match(sha):
            return self._invalid("sha", "custom", f"No commit found for SHA: {sha}")
        state = body.get("state")
        if state is None:
            return self._invalid("state", "missing_field")
        if state not in STATES:
            return self._invalid("state", "invalid")
        description = body.get("description") or ""
        if len(description) > 140:
            return self._invalid("description", "custom", "description is too long (max 140)")
        context = body.get("context") or "default"
        record = {
            "id": self.new_id(),
            "state": state,
            "description": description,
            "target_url": body.get("target_url") or "",
            "context": context,
        }
        posted = PostedStatus(context, state, description, record["target_url"], record)
        self.record_status(repo, sha, posted)
        return Response(201, record)

    def _list_statuses(self, request: Request, match: re.Match[str]) -> Response:
        posted = self.statuses(match.group("repo"), match.group("sha"))
        return Response(200, [dict(p.raw) for p in reversed(posted)])

    def _combined(self, request: Request, match: re.Match[str]) -> Response:
        latest: dict[str, dict[str, Any]] = {}
        for posted in self.statuses(match.group("repo"), match.group("sha")):
            latest[posted.context.lower()] = dict(posted.raw)
        states = {s["state"] for s in latest.values()}
        overall = "success" if states == {"success"} else "pending"
        if states & {"error", "failure"}:
            overall = "failure"
        body = {
            "state": overall,
            "sha": match.group("sha"),
            "total_count": len(latest),
            "statuses": list(latest.values()),
        }
        return Response(200, body)

    def _paged(self, request: Request, items: list[Any]) -> Response:
        page = page_of(items, request.query, size_param="per_page", default=30, maximum=100)
        headers = link_header(self.origin, request.path, request.query, page)
        return Response(200, page.items, headers)

    def _get_user(self, request: Request, match: re.Match[str]) -> Response:
        return Response(200, _user_json(self, self.user))

    def _list_pulls(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        wanted, base = request.query.get("state", "open"), request.query.get("base")
        pulls = [
            _pull_json(repo, p)
            for p in reversed(self.pull_requests[repo])  # newest first, as GitHub sorts
            if wanted in ("all", _state(p)) and base in (None, p.base_ref)
        ]
        return self._paged(request, pulls)

    def _get_pull(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        pull = self.find_pull(repo, int(match.group("n")))
        if pull is None:
            return self.error(404, "Not Found")
        return Response(200, {**_pull_json(repo, pull), "merged": pull.state == "merged"})

    def _list_comments(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        if self.find_pull(repo, number) is None:
            return self.error(404, "Not Found")
        return self._paged(
            request, [self._comment_json(repo, c) for c in self.comments(repo, number)]
        )

    def _comment_json(self, repo: str, comment: Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "html_url": f"{WEB}/{repo}/pull/{comment.number}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": _user_json(self, comment.author),
        }

    def _comment_text(self, request: Request) -> str | Response:
        """The ``body`` of a comment request, or GitHub's 422."""
        body = json_body(request)
        text = body.get("body") if body else None
        if not isinstance(text, str) or not text:
            return self._invalid("body", "missing_field")
        if len(text) > MAX_COMMENT:
            return self._invalid("body", "custom", "body is too long (maximum is 65536 characters)")
        return text

    def _add_comment(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        if self.find_pull(repo, number) is None:
            return self.error(404, "Not Found")
        text = self._comment_text(request)
        if isinstance(text, Response):
            return text
        return Response(201, self._comment_json(repo, self.add_comment(repo, number, text)))

    def _edit_comment(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        comment = self.find_comment(repo, int(match.group("id")))
        if comment is None:
            return self.error(404, "Not Found")
        text = self._comment_text(request)
        if isinstance(text, Response):
            return text
        comment.body = text
        return Response(200, self._comment_json(repo, comment))


def _state(pull: PullRequest) -> str:
    """GitHub's word: a merged pull request is ``closed`` (with ``merged_at`` set)."""
    return "open" if pull.state == "open" else "closed"


def _user_json(emulator: ForgeEmulator, login: str) -> dict[str, Any]:
    return {"login": login, "id": emulator.user_id(login), "type": "User"}


def _repo_json(full_name: str, *, fork: bool) -> dict[str, Any]:
    return {
        "full_name": full_name,
        "fork": fork,
        "clone_url": f"{WEB}/{full_name}.git",
        "html_url": f"{WEB}/{full_name}",
    }


def _pull_json(repo: str, pull: PullRequest) -> dict[str, Any]:
    head_repo = pull.head_repository or repo
    merged = pull.state == "merged"
    return {
        "number": pull.number,
        "state": _state(pull),
        "title": pull.title,
        "html_url": f"{WEB}/{repo}/pull/{pull.number}",
        "merged_at": "2026-01-01T00:00:00Z" if merged else None,
        "head": {
            "ref": pull.head_ref,
            "sha": pull.head_sha,
            "repo": _repo_json(head_repo, fork=head_repo != repo),
        },
        "base": {"ref": pull.base_ref, "repo": _repo_json(repo, fork=False)},
    }
