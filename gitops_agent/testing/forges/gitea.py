"""Gitea REST API (v1) emulator: commit statuses, pull requests, issue comments.

``base_url`` ends in ``/api/v1``. Serves ``POST /repos/{owner}/{repo}/statuses/{sha}``
(``CreateStatusOption``: state pending|success|error|failure|warning, context, description,
target_url), ``GET /repos/{o}/{r}/statuses/{sha}``, ``GET /repos/{o}/{r}/commits/{ref}/statuses``,
``GET /repos/{o}/{r}/pulls`` (``state`` open|closed|all, ``page``, ``limit`` 30 by default
and at most 50, newest first, ``Link`` and ``X-Total-Count`` headers; no base-branch filter),
``GET /repos/{o}/{r}/pulls/{index}`` (``merged`` tells a merged one from a closed one),
``GET|POST /repos/{o}/{r}/issues/{index}/comments`` (every comment, oldest first: the
endpoint takes ``since`` / ``before``, not pages), ``PATCH /repos/{o}/{r}/issues/comments/{id}``
(403 with no body for another poster's comment), ``GET /user`` and the repository's issues
(``forges.issues``). Auth is
``Authorization: token X`` (or ``Bearer X``); errors are Gitea's ``{"message": ..., "url": ...}``
bodies.
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

STATES = ("pending", "success", "error", "failure", "warning")
SWAGGER = "/api/swagger"
_REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
WEB = "https://gitea.example"


class GiteaEmulator(ForgeEmulator):
    """A Gitea (or Forgejo) REST API on 127.0.0.1."""

    api_prefix = "/api/v1"

    def routes(self) -> list[tuple[str, str, Handler]]:
        r = self.api_prefix + _REPO
        return [
            ("POST", r + r"/statuses/(?P<sha>[^/]+)", self._guard(self._create_status)),
            ("GET", r + r"/statuses/(?P<sha>[^/]+)", self._guard(self._list)),
            ("GET", r + r"/commits/(?P<sha>[^/]+)/statuses", self._guard(self._list)),
            ("GET", r + r"/pulls", self._guard(self._list_pulls)),
            ("GET", r + r"/pulls/(?P<n>\d+)", self._guard(self._get_pull)),
            ("GET", self.api_prefix + r"/user", self._guard(self._get_user)),
            ("GET", r + r"/issues/(?P<n>\d+)/comments", self._guard(self._list_comments)),
            ("POST", r + r"/issues/(?P<n>\d+)/comments", self._guard(self._add_comment)),
            ("PATCH", r + r"/issues/comments/(?P<id>\d+)", self._guard(self._edit_comment)),
            *issues.github_routes(
                self,
                self.api_prefix,
                paged=self._paged,
                user_json=self._user_json,
                pulls_listed=False,
                web=WEB,
            ),
        ]

    def error(self, status: int, message: str) -> Response:
        if status == 404:
            return Response(404, {"errors": None, "message": "not found", "url": SWAGGER})
        return Response(status, {"message": message, "url": SWAGGER})

    def _guard(self, handler: Handler) -> Handler:
        def guarded(request: Request, match: re.Match[str]) -> Response:
            scheme, _, token = request.header("Authorization").partition(" ")
            if scheme.lower() not in ("token", "bearer") or token != self.token:
                return self.error(401, "user does not exist or the token is invalid")
            if "repo" in match.groupdict() and match.group("repo") not in self.repositories:
                return self.error(404, "not found")
            return handler(request, match)

        return guarded

    def _create_status(self, request: Request, match: re.Match[str]) -> Response:
        repo, sha = match.group("repo"), match.group("sha")
        body = json_body(request)
        if body is None:
            return self.error(422, "[]: Content-Type must be application/json with a JSON object")
        if not HEX_SHA.match(sha):
            return self.error(404, "not found")
        state = body.get("state")
        if state not in STATES:
            return self.error(422, f"[State]: invalid commit status state {state!r}")
        record = {
            "id": self.new_id(),
            "status": state,
            "context": body.get("context") or "default",
            "description": body.get("description") or "",
            "target_url": body.get("target_url") or "",
        }
        posted = PostedStatus(
            record["context"], state, record["description"], record["target_url"], record
        )
        self.record_status(repo, sha, posted)
        return Response(201, record)

    def _list(self, request: Request, match: re.Match[str]) -> Response:
        posted = self.statuses(match.group("repo"), match.group("sha"))
        return Response(200, [dict(p.raw) for p in reversed(posted)])

    def _get_user(self, request: Request, match: re.Match[str]) -> Response:
        return Response(200, self._user_json(self.user))

    def _user_json(self, login: str) -> dict[str, Any]:
        return {"id": self.user_id(login), "login": login, "username": login}

    def _list_pulls(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        wanted = request.query.get("state", "open")
        pulls = [
            _pull_json(self, repo, p)
            for p in reversed(self.pull_requests[repo])
            if wanted in ("all", _state(p))
        ]
        page = page_of(pulls, request.query, size_param="limit", default=30, maximum=50)
        headers = {
            **link_header(self.origin, request.path, request.query, page),
            "X-Total-Count": str(page.total),
        }
        return Response(200, page.items, headers)

    def _paged(self, request: Request, items: list[Any]) -> Response:
        page = page_of(items, request.query, size_param="limit", default=30, maximum=50)
        headers = {
            **link_header(self.origin, request.path, request.query, page),
            "X-Total-Count": str(page.total),
        }
        return Response(200, page.items, headers)

    def _get_pull(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        pull = self.find_pull(repo, int(match.group("n")))
        if pull is None:
            return self.error(404, "not found")
        return Response(200, _pull_json(self, repo, pull))

    def _comment_json(self, repo: str, comment: Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "body": comment.body,
            "user": self._user_json(comment.author),
            "html_url": f"{WEB}/{repo}/pulls/{comment.number}#issuecomment-{comment.id}",
        }

    def _list_comments(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        if self.find_pull(repo, number) is None:
            return self.error(404, "not found")
        return Response(200, [self._comment_json(repo, c) for c in self.comments(repo, number)])

    def _comment_text(self, request: Request) -> str | Response:
        body = json_body(request)
        text = body.get("body") if body else None
        if not isinstance(text, str) or not text:
            return self.error(422, "[Body]: Required")
        return text

    def _add_comment(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        if self.find_pull(repo, number) is None:
            return self.error(404, "not found")
        text = self._comment_text(request)
        if isinstance(text, Response):
            return text
        return Response(201, self._comment_json(repo, self.add_comment(repo, number, text)))

    def _edit_comment(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        comment = self.find_comment(repo, int(match.group("id")))
        if comment is None:
            return self.error(404, "not found")
        if comment.author != self.user:
            return Response(403)
        text = self._comment_text(request)
        if isinstance(text, Response):
            return text
        comment.body = text
        return Response(200, self._comment_json(repo, comment))


def _state(pull: PullRequest) -> str:
    """Gitea's word: a merged pull request is ``closed`` with ``merged`` true."""
    return "open" if pull.state == "open" else "closed"


def _repo_json(emulator: ForgeEmulator, full_name: str) -> dict[str, Any]:
    return {
        "id": emulator.repo_id(full_name),
        "full_name": full_name,
        "clone_url": f"{WEB}/{full_name}.git",
    }


def _pull_json(emulator: ForgeEmulator, repo: str, pull: PullRequest) -> dict[str, Any]:
    head, base = _repo_json(emulator, pull.head_repository or repo), _repo_json(emulator, repo)
    merged = pull.state == "merged"
    return {
        "number": pull.number,
        "state": _state(pull),
        "merged": merged,
        "merged_at": "2026-01-01T00:00:00Z" if merged else None,
        "title": pull.title,
        "html_url": f"{WEB}/{repo}/pulls/{pull.number}",
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo_id": head["id"], "repo": head},
        "base": {"ref": pull.base_ref, "repo_id": base["id"], "repo": base},
    }
