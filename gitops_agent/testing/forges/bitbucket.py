"""Bitbucket Cloud REST API (2.0) emulator: build statuses, pull requests, comments.

``base_url`` ends in ``/2.0``. Serves
``POST /repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build`` (``key``,
``state`` INPROGRESS|SUCCESSFUL|FAILED|STOPPED and ``url`` required; a known key is
overwritten), ``GET /repositories/{w}/{r}/commit/{commit}/statuses`` (paginated ``values``),
``GET /repositories/{w}/{r}/pullrequests`` (``source.commit.hash`` is the 12-character short
hash, as Bitbucket gives it), ``GET|POST /repositories/{w}/{r}/pullrequests/{id}/comments``
and ``PUT .../comments/{comment_id}``. Auth is ``Authorization: Bearer`` or Basic with the
token as password; errors are ``{"type": "error", "error": {"message": ...}}``.
"""

from __future__ import annotations

import base64
import binascii
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

STATES = ("INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED")
_REPO = r"/repositories/(?P<repo>[^/]+/[^/]+)"


class BitbucketEmulator(ForgeEmulator):
    """A Bitbucket Cloud REST API on 127.0.0.1."""

    api_prefix = "/2.0"

    def routes(self) -> list[tuple[str, str, Handler]]:
        r = self.api_prefix + _REPO
        pr = r + r"/pullrequests/(?P<n>\d+)/comments"
        return [
            ("POST", r + r"/commit/(?P<sha>[^/]+)/statuses/build/?", self._guard(self._create)),
            ("GET", r + r"/commit/(?P<sha>[^/]+)/statuses", self._guard(self._list)),
            ("GET", r + r"/pullrequests", self._guard(self._list_pulls)),
            ("GET", pr, self._guard(self._list_comments)),
            ("POST", pr, self._guard(self._add_comment)),
            ("PUT", pr + r"/(?P<id>\d+)", self._guard(self._edit_comment)),
        ]

    def error(self, status: int, message: str, fields: dict[str, Any] | None = None) -> Response:
        detail: dict[str, Any] = {"message": message}
        if fields:
            detail["fields"] = fields
        return Response(status, {"type": "error", "error": detail})

    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value == self.token
        if scheme.lower() == "basic":
            try:
                _, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return password == self.token
        return False

    def _guard(self, handler: Handler) -> Handler:
        def guarded(request: Request, match: re.Match[str]) -> Response:
            if not self._authorized(request.header("Authorization")):
                return self.error(401, "Access token expired or invalid.")
            if match.group("repo") not in self.repositories:
                return self.error(404, f"Repository {match.group('repo')} not found")
            return handler(request, match)

        return guarded

    def _create(self, request: Request, match: re.Match[str]) -> Response:
        repo, sha = match.group("repo"), match.group("sha")
        body = json_body(request)
        if body is None:
            return self.error(400, "Bad request", {"body": ["A JSON object is required."]})
        required = ("key", "state", "url")
        missing = {f: ["This field is required."] for f in required if not body.get(f)}
        if missing:
            return self.error(400, "Bad request", missing)
        if body["state"] not in STATES:
            return self.error(400, "Bad request", {"state": [f"{body['state']!r} is not valid"]})
        if not HEX_SHA.match(sha):
            return self.error(404, f"Commit not found: {sha}")
        record = {
            "type": "build",
            "key": body["key"],
            "state": body["state"],
            "url": body["url"],
            "name": body.get("name") or body["key"],
            "description": body.get("description") or "",
            "refname": body.get("refname"),
        }
        existed = any(s.context == body["key"] for s in self.statuses(repo, sha))
        posted = PostedStatus(
            body["key"], body["state"], record["description"], body["url"], record
        )
        self.record_status(repo, sha, posted)
        return Response(200 if existed else 201, record)

    def _list(self, request: Request, match: re.Match[str]) -> Response:
        latest: dict[str, Any] = {}
        for posted in self.statuses(match.group("repo"), match.group("sha")):
            latest[posted.context] = dict(posted.raw)
        values = list(latest.values())
        return Response(200, {"values": values, "pagelen": 10, "size": len(values), "page": 1})

    def _list_pulls(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        wanted = request.query.get("state", "OPEN").upper()
        values = [_pull_json(repo, p) for p in self.pull_requests[repo]]
        values = [v for v in values if v["state"] == wanted]
        return Response(200, {"values": values, "pagelen": 10, "size": len(values), "page": 1})

    def _list_comments(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        if self.find_pull(repo, number) is None:
            return self.error(404, "Pull request not found")
        values = [_comment_json(c.id, c.body) for c in self.comments(repo, number)]
        return Response(200, {"values": values, "pagelen": 10, "size": len(values), "page": 1})

    def _raw_content(self, request: Request) -> str | None:
        body = json_body(request)
        content = body.get("content") if body else None
        raw = content.get("raw") if isinstance(content, dict) else None
        return raw if isinstance(raw, str) and raw else None

    def _add_comment(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        if self.find_pull(repo, number) is None:
            return self.error(404, "Pull request not found")
        raw = self._raw_content(request)
        if raw is None:
            return self.error(400, "Bad request", {"content": ["This field is required."]})
        comment = self.add_comment(repo, number, raw)
        return Response(201, _comment_json(comment.id, comment.body))

    def _edit_comment(self, request: Request, match: re.Match[str]) -> Response:
        comment = self.find_comment(match.group("repo"), int(match.group("id")))
        if comment is None:
            return self.error(404, "Comment not found")
        raw = self._raw_content(request)
        if raw is None:
            return self.error(400, "Bad request", {"content": ["This field is required."]})
        comment.body = raw
        return Response(200, _comment_json(comment.id, comment.body))


def _comment_json(comment_id: int, raw: str) -> dict[str, Any]:
    return {"id": comment_id, "type": "pullrequest_comment", "content": {"raw": raw}}


def _pull_json(repo: str, pull: PullRequest) -> dict[str, Any]:
    head_repo = pull.head_repository or repo
    return {
        "id": pull.number,
        "title": pull.title,
        "state": pull.state.upper(),
        "source": {
            "branch": {"name": pull.head_ref},
            "commit": {"hash": pull.head_sha[:12]},
            "repository": {"full_name": head_repo},
        },
        "destination": {"branch": {"name": pull.base_ref}, "repository": {"full_name": repo}},
    }
