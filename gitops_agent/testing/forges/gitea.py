"""Gitea REST API (v1) emulator: commit statuses, pull requests, issue comments.

``base_url`` ends in ``/api/v1``. Serves ``POST /repos/{owner}/{repo}/statuses/{sha}``
(``CreateStatusOption``: state pending|success|error|failure|warning, context, description,
target_url), ``GET /repos/{o}/{r}/statuses/{sha}``, ``GET /repos/{o}/{r}/commits/{ref}/statuses``,
``GET /repos/{o}/{r}/pulls``, ``GET|POST /repos/{o}/{r}/issues/{index}/comments`` and
``PATCH /repos/{o}/{r}/issues/comments/{id}``. Auth is ``Authorization: token X`` (or
``Bearer X``); errors are Gitea's ``{"message": ..., "url": ...}`` bodies.
"""

from __future__ import annotations

import re
from typing import Any

from gitops_agent.testing.forges.base import (
    HEX_SHA,
    ForgeEmulator,
    Handler,
    PostedStatus,
    PullRequest,
    Request,
    Response,
    json_body,
)

STATES = ("pending", "success", "error", "failure", "warning")
SWAGGER = "/api/swagger"
_REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"


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
            ("GET", r + r"/issues/(?P<n>\d+)/comments", self._guard(self._list_comments)),
            ("POST", r + r"/issues/(?P<n>\d+)/comments", self._guard(self._add_comment)),
            ("PATCH", r + r"/issues/comments/(?P<id>\d+)", self._guard(self._edit_comment)),
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
            if match.group("repo") not in self.repositories:
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

    def _list_pulls(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        wanted = request.query.get("state", "open")
        pulls = [p for p in self.pull_requests[repo] if wanted in ("all", p.state)]
        return Response(200, [_pull_json(repo, p) for p in pulls])

    def _list_comments(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        if self.find_pull(repo, number) is None:
            return self.error(404, "not found")
        return Response(200, [{"id": c.id, "body": c.body} for c in self.comments(repo, number)])

    def _add_comment(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        body = json_body(request)
        if self.find_pull(repo, number) is None:
            return self.error(404, "not found")
        if body is None or not body.get("body"):
            return self.error(422, "[Body]: Required")
        comment = self.add_comment(repo, number, str(body["body"]))
        return Response(201, {"id": comment.id, "body": comment.body})

    def _edit_comment(self, request: Request, match: re.Match[str]) -> Response:
        comment = self.find_comment(match.group("repo"), int(match.group("id")))
        body = json_body(request)
        if comment is None:
            return self.error(404, "not found")
        if body is None or not body.get("body"):
            return self.error(422, "[Body]: Required")
        comment.body = str(body["body"])
        return Response(200, {"id": comment.id, "body": comment.body})


def _pull_json(repo: str, pull: PullRequest) -> dict[str, Any]:
    head_repo = pull.head_repository or repo
    return {
        "number": pull.number,
        "state": pull.state,
        "title": pull.title,
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": {"full_name": head_repo}},
        "base": {"ref": pull.base_ref, "repo": {"full_name": repo}},
    }
