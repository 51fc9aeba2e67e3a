"""GitLab REST API (v4) emulator: commit statuses, merge requests, notes.

``base_url`` ends in ``/api/v4``. Serves ``POST /projects/:id/statuses/:sha``,
``GET /projects/:id/repository/commits/:sha/statuses``, ``GET /projects/:id/merge_requests``
(``state`` opened|closed|merged|all, ``target_branch``, newest first, ``per_page`` 20 by
default and at most 100, ``page``, the ``X-Next-Page`` family of headers),
``GET /projects/:id/merge_requests/:iid``, ``GET|POST /projects/:id/merge_requests/:iid/notes``
(``sort`` desc by default, paginated the same way), ``PUT .../notes/:note_id`` (403 for
another author's note), ``GET /user`` and the project's issues (``forges.issues``). ``:id`` is the numeric project id or the
URL-encoded path (``group%2Fproject``). Auth is ``PRIVATE-TOKEN`` or
``Authorization: Bearer``; errors as GitLab words them: ``{"message": "401 Unauthorized"}``,
``{"message": "404 Project Not Found"}``, ``{"error": "state does not have a valid value"}``,
and 400 "Cannot transition status" when the same running/pending state is posted twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

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
from gitops_agent.testing.forges.paging import gitlab_headers, page_of

STATES = ("pending", "running", "success", "failed", "canceled", "skipped")
ACTIVE = ("pending", "running")
VERB = {"pending": "enqueue", "running": "run"}
_PROJECT = r"/projects/(?P<project>[^/]+)"
WEB = "https://gitlab.example"
MAX_NOTE = 1_000_000


class GitLabEmulator(ForgeEmulator):
    """A GitLab REST API on 127.0.0.1; projects get numeric ids 1, 2, ... in order."""

    api_prefix = "/api/v4"

    def __init__(
        self, *, token: str, repositories: Iterable[str], user: str = "gitops-agent-bot"
    ) -> None:
        super().__init__(token=token, repositories=repositories, user=user)
        self.project_ids = {repo: index + 1 for index, repo in enumerate(self.repositories)}

    def routes(self) -> list[tuple[str, str, Handler]]:
        p = self.api_prefix + _PROJECT
        mr = p + r"/merge_requests/(?P<iid>\d+)/notes"
        return [
            ("POST", p + r"/statuses/(?P<sha>[^/]+)", self._guard(self._create_status)),
            ("GET", p + r"/repository/commits/(?P<sha>[^/]+)/statuses", self._guard(self._list)),
            ("GET", p + r"/merge_requests", self._guard(self._list_mrs)),
            ("GET", p + r"/merge_requests/(?P<iid>\d+)", self._guard(self._get_mr)),
            ("GET", self.api_prefix + r"/user", self._guard(self._get_user)),
            ("GET", mr, self._guard(self._list_notes)),
            ("POST", mr, self._guard(self._add_note)),
            ("PUT", mr + r"/(?P<id>\d+)", self._guard(self._edit_note)),
            *issues.gitlab_routes(
                self, self.api_prefix, paged=self._paged, user_json=self._user_json, web=WEB
            ),
        ]

    def error(self, status: int, message: str) -> Response:
        return Response(status, {"message": f"{status} {message}"})

    def project_of(self, ident: str) -> str | None:
        """The repository a ``:id`` path segment names (numeric id or encoded path)."""
        decoded = unquote(ident)
        if decoded.isdigit():
            return next((r for r, i in self.project_ids.items() if i == int(decoded)), None)
        return decoded if decoded in self.repositories else None

    def _guard(self, handler: Handler) -> Handler:
        def guarded(request: Request, match: re.Match[str]) -> Response:
            token = request.header("PRIVATE-TOKEN")
            scheme, _, bearer = request.header("Authorization").partition(" ")
            if token != self.token and not (scheme.lower() == "bearer" and bearer == self.token):
                return self.error(401, "Unauthorized")
            if "project" in match.groupdict() and self.project_of(match.group("project")) is None:
                return self.error(404, "Project Not Found")
            return handler(request, match)

        return guarded

    def _params(self, request: Request) -> dict[str, Any] | None:
        """Parameters from a JSON body, a form body or the query string (GitLab takes all)."""
        params: dict[str, Any] = dict(request.query)
        content_type = request.header("Content-Type").lower()
        if content_type.startswith("application/json"):
            body = json_body(request)
            if body is None:
                return None
            params.update(body)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(request.body.decode("utf-8", "replace"))
            params.update({k: v[-1] for k, v in form.items()})
        return params

    def _create_status(self, request: Request, match: re.Match[str]) -> Response:
        repo = self.project_of(match.group("project")) or ""
        sha = match.group("sha")
        params = self._params(request)
        if params is None:
            return Response(400, {"message": "400 Bad request - invalid JSON"})
        state = params.get("state")
        if state is None:
            return Response(400, {"error": "state is missing"})
        if state not in STATES:
            return Response(400, {"error": "state does not have a valid value"})
        if not HEX_SHA.match(sha):
            return self.error(404, "Commit Not Found")
        name = params.get("name") or params.get("context") or "default"
        previous = [s for s in self.statuses(repo, sha) if s.context == name]
        if previous and previous[-1].state == state and state in ACTIVE:
            message = (
                f"Cannot transition status via :{VERB[state]} from :{state} "
                f'(Reason(s): Status cannot transition via "{VERB[state]}")'
            )
            return Response(400, {"message": message})
        record = {
            "id": self.new_id(),
            "sha": sha,
            "ref": params.get("ref"),
            "status": state,
            "name": name,
            "target_url": params.get("target_url"),
            "description": params.get("description"),
            "allow_failure": False,
        }
        desc, url = record["description"] or "", record["target_url"] or ""
        self.record_status(repo, sha, PostedStatus(name, state, desc, url, record))
        return Response(201, record)

    def _list(self, request: Request, match: re.Match[str]) -> Response:
        repo = self.project_of(match.group("project")) or ""
        return Response(200, [dict(s.raw) for s in self.statuses(repo, match.group("sha"))])

    def _paged(self, request: Request, items: list[Any]) -> Response:
        page = page_of(items, request.query, size_param="per_page", default=20, maximum=100)
        headers = gitlab_headers(self.origin, request.path, request.query, page)
        return Response(200, page.items, headers)

    def _get_user(self, request: Request, match: re.Match[str]) -> Response:
        return Response(200, self._user_json(self.user))

    def _user_json(self, login: str) -> dict[str, Any]:
        return {"id": self.user_id(login), "username": login, "name": login}

    def _list_mrs(self, request: Request, match: re.Match[str]) -> Response:
        repo = self.project_of(match.group("project")) or ""
        wanted, target = request.query.get("state", "all"), request.query.get("target_branch")
        mrs = [self._mr_json(repo, p) for p in reversed(self.pull_requests[repo])]
        return self._paged(
            request,
            [
                m
                for m in mrs
                if wanted in ("all", m["state"]) and target in (None, m["target_branch"])
            ],
        )

    def _get_mr(self, request: Request, match: re.Match[str]) -> Response:
        repo, number, _ = self._pull(match)
        pull = self.find_pull(repo, number)
        if pull is None:
            return self.error(404, "Not found")
        return Response(200, self._mr_json(repo, pull))

    def _mr_json(self, repo: str, pull: PullRequest) -> dict[str, Any]:
        head = pull.head_repository or repo
        if head not in self.project_ids:
            self.project_ids[head] = len(self.project_ids) + 1
        return {
            "iid": pull.number,
            "state": "opened" if pull.state == "open" else pull.state,
            "title": pull.title,
            "sha": pull.head_sha,
            "source_branch": pull.head_ref,
            "target_branch": pull.base_ref,
            "source_project_id": self.project_ids[head],
            "target_project_id": self.project_ids[repo],
            "web_url": f"{WEB}/{repo}/-/merge_requests/{pull.number}",
        }

    def _pull(self, match: re.Match[str]) -> tuple[str, int, bool]:
        repo = self.project_of(match.group("project")) or ""
        number = int(match.group("iid"))
        return repo, number, self.find_pull(repo, number) is not None

    def _note_json(self, note: Comment) -> dict[str, Any]:
        return {
            "id": note.id,
            "body": note.body,
            "author": self._user_json(note.author),
            "system": False,
            "noteable_iid": note.number,
            "noteable_type": "MergeRequest",
        }

    def _list_notes(self, request: Request, match: re.Match[str]) -> Response:
        repo, number, found = self._pull(match)
        if not found:
            return self.error(404, "Not found")
        notes = [self._note_json(c) for c in self.comments(repo, number)]
        if request.query.get("sort", "desc") != "asc":
            notes.reverse()
        return self._paged(request, notes)

    def _note_text(self, request: Request) -> str | Response:
        params = self._params(request) or {}
        text = params.get("body")
        if not isinstance(text, str) or not text:
            return Response(400, {"error": "body is missing"})
        if len(text) > MAX_NOTE:
            return Response(
                400, {"message": {"note": ["is too long (maximum is 1000000 characters)"]}}
            )
        return text

    def _add_note(self, request: Request, match: re.Match[str]) -> Response:
        repo, number, found = self._pull(match)
        if not found:
            return self.error(404, "Not found")
        text = self._note_text(request)
        if isinstance(text, Response):
            return text
        return Response(201, self._note_json(self.add_comment(repo, number, text)))

    def _edit_note(self, request: Request, match: re.Match[str]) -> Response:
        repo, _, found = self._pull(match)
        note = self.find_comment(repo, int(match.group("id")))
        if not found or note is None:
            return self.error(404, "Not found")
        if note.author != self.user:
            return self.error(403, "Forbidden")
        text = self._note_text(request)
        if isinstance(text, Response):
            return text
        note.body = text
        return Response(200, self._note_json(note))
