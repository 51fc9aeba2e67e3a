"""Bitbucket Cloud REST API (2.0) emulator: build statuses, pull requests, comments.

``base_url`` ends in ``/2.0``. Serves
``POST /repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build`` (``key``,
``state`` INPROGRESS|SUCCESSFUL|FAILED|STOPPED and ``url`` required; a known key is
overwritten), ``GET /repositories/{w}/{r}/commit/{commit}/statuses`` (paginated ``values``),
``GET /repositories/{w}/{r}/pullrequests`` (``state`` OPEN|MERGED|DECLINED, the BBQL filter
``q=destination.branch.name = "..."``, ``pagelen`` 10 by default, 400 above 50, ``page``;
``source.commit.hash`` is the 12-character short hash, as Bitbucket gives it; the ``next``
URL in the body), ``GET /repositories/{w}/{r}/pullrequests/{id}``,
``GET /repositories/{w}/{r}/commit/{commit}`` (a hash prefix gives the full ``hash``; a fork
holding a pull request's head is readable), ``GET|POST .../pullrequests/{id}/comments``
(oldest first, ``pagelen`` at most 100), ``PUT .../comments/{comment_id}`` (403 for another
author's comment) and ``GET /user`` (``uuid``, ``account_id``). Auth is
``Authorization: Bearer`` or Basic with the token as password; errors are
``{"type": "error", "error": {"message": ...}}``.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

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
from gitops_agent.testing.forges.paging import Page, page_of, page_url

STATES = ("INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED")
_REPO = r"/repositories/(?P<repo>[^/]+/[^/]+)"
WEB = "https://bitbucket.example"
_BBQL = re.compile(r'\s*destination\.branch\.name\s*=\s*"((?:[^"\\]|\\.)*)"\s*')


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
            ("GET", r + r"/pullrequests/(?P<n>\d+)", self._guard(self._get_pull)),
            ("GET", r + r"/commit/(?P<node>[0-9a-f]+)", self._guard(self._get_commit)),
            ("GET", self.api_prefix + r"/user", self._guard(self._get_user)),
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
            repo = match.groupdict().get("repo")
            readable = self.repositories + (self._forks() if "node" in match.groupdict() else [])
            if repo is not None and repo not in readable:
                return self.error(404, f"Repository {repo} not found")
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

    def _forks(self) -> list[str]:
        """Repositories holding the head of a pull request from a fork (readable, public)."""
        with self._lock:
            pulls = [p for pulls in self.pull_requests.values() for p in pulls]
        return [p.head_repository for p in pulls if p.head_repository]

    def _paged(self, request: Request, items: list[Any], *, maximum: int) -> Response:
        size = request.query.get("pagelen", "10")
        if size.isdigit() and int(size) > maximum:
            return self.error(400, "Invalid pagelen")
        page = page_of(items, request.query, size_param="pagelen", default=10, maximum=maximum)
        return Response(200, self._page_json(request, page))

    def _page_json(self, request: Request, page: Page) -> dict[str, Any]:
        body: dict[str, Any] = {
            "values": page.items,
            "pagelen": page.size,
            "size": page.total,
            "page": page.number,
        }
        if page.has_next:
            body["next"] = page_url(self.origin, request.path, request.query, page.number + 1)
        return body

    def _get_user(self, request: Request, match: re.Match[str]) -> Response:
        return Response(200, self._user_json(self.user))

    def _user_json(self, login: str) -> dict[str, Any]:
        return {
            "type": "user",
            "uuid": "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, login)) + "}",
            "account_id": f"557058:{self.user_id(login):08x}",
            "display_name": login,
            "nickname": login,
        }

    def _list_pulls(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        wanted = request.query.get("state", "OPEN").upper()
        target = None
        if "q" in request.query:
            query = _BBQL.fullmatch(request.query["q"])
            if query is None:
                return self.error(400, f"Invalid query: {request.query['q']}")
            target = re.sub(r"\\(.)", r"\1", query.group(1))
        values = [_pull_json(repo, p) for p in reversed(self.pull_requests[repo])]
        values = [
            v
            for v in values
            if v["state"] == wanted and target in (None, v["destination"]["branch"]["name"])
        ]
        return self._paged(request, values, maximum=50)

    def _get_pull(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        pull = self.find_pull(repo, int(match.group("n")))
        if pull is None:
            return self.error(404, f"Pull request {match.group('n')} not found")
        return Response(200, _pull_json(repo, pull))

    def _get_commit(self, request: Request, match: re.Match[str]) -> Response:
        node, repo = match.group("node"), match.group("repo")
        with self._lock:
            pulls = [(base, p) for base, held in self.pull_requests.items() for p in held]
        heads = {p.head_sha for base, p in pulls if (p.head_repository or base) == repo}
        found = [sha for sha in heads if sha.startswith(node)] if len(node) >= 4 else []
        if len(found) != 1:
            return self.error(404, f"Commit not found: {node}")
        return Response(200, {"type": "commit", "hash": found[0]})

    def _list_comments(self, request: Request, match: re.Match[str]) -> Response:
        repo, number = match.group("repo"), int(match.group("n"))
        if self.find_pull(repo, number) is None:
            return self.error(404, "Pull request not found")
        values = [self._comment_json(repo, c) for c in self.comments(repo, number)]
        return self._paged(request, values, maximum=100)

    def _comment_json(self, repo: str, comment: Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "type": "pullrequest_comment",
            "content": {"raw": comment.body, "markup": "markdown"},
            "user": self._user_json(comment.author),
            "deleted": False,
            "links": {
                "html": {
                    "href": f"{WEB}/{repo}/pull-requests/{comment.number}#comment-{comment.id}"
                }
            },
        }

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
        return Response(201, self._comment_json(repo, self.add_comment(repo, number, raw)))

    def _edit_comment(self, request: Request, match: re.Match[str]) -> Response:
        repo = match.group("repo")
        comment = self.find_comment(repo, int(match.group("id")))
        if comment is None:
            return self.error(404, "Comment not found")
        if comment.author != self.user:
            return self.error(403, "You are not allowed to edit this comment.")
        raw = self._raw_content(request)
        if raw is None:
            return self.error(400, "Bad request", {"content": ["This field is required."]})
        comment.body = raw
        return Response(200, self._comment_json(repo, comment))


def _pull_json(repo: str, pull: PullRequest) -> dict[str, Any]:
    head_repo = pull.head_repository or repo
    states = {"open": "OPEN", "closed": "DECLINED", "merged": "MERGED"}
    return {
        "type": "pullrequest",
        "id": pull.number,
        "title": pull.title,
        "state": states.get(pull.state, pull.state.upper()),
        "source": {
            "branch": {"name": pull.head_ref},
            "commit": {"hash": pull.head_sha[:12]},
            "repository": _repo_json(head_repo),
        },
        "destination": {"branch": {"name": pull.base_ref}, "repository": _repo_json(repo)},
        "links": {"html": {"href": f"{WEB}/{repo}/pull-requests/{pull.number}"}},
    }


def _repo_json(full_name: str) -> dict[str, Any]:
    return {
        "type": "repository",
        "full_name": full_name,
        "links": {"html": {"href": f"{WEB}/{full_name}"}},
    }
