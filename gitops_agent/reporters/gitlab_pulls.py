"""GitLab merge requests and their preview note (gitlab.com or self-managed).

``GitLabPullRequests("group/project" or "1234", token_env=...)`` lists
``GET /projects/:id/merge_requests?state=opened&target_branch=BRANCH&order_by=created_at
&sort=desc&per_page=100`` (pages by ``X-Next-Page``), reads ``GET /projects/:id/merge_requests/:iid`` (states
opened, closed, locked, merged), finds the marked note among
``GET /projects/:id/merge_requests/:iid/notes?sort=asc&order_by=created_at&per_page=100``
(system notes skipped) written by the token's user (``GET /user``), creates it with
``POST .../notes`` and edits it with ``PUT .../notes/:note_id``. Auth is ``PRIVATE-TOKEN``.
A head is fetched as ``refs/merge-requests/IID/head`` from the target project, forks
included; a fork is a source project other than the target. Notes hold at most 1,000,000
characters.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from gitops_agent.errors import ConfigError
from gitops_agent.reporters.answers import (
    MalformedAnswerError,
    branch,
    flag,
    integer,
    raw_text,
    text,
)
from gitops_agent.reporters.github_pulls import full_sha
from gitops_agent.reporters.http import HttpResponse
from gitops_agent.reporters.paging import Page, next_link, next_page_url
from gitops_agent.reporters.pullclient import Call, ForgePullRequests
from gitops_agent.reporters.pulls import PreviewComment, PullRequest, PullState

STATES = {
    "opened": PullState.OPEN,
    "closed": PullState.CLOSED,
    "locked": PullState.CLOSED,
    "merged": PullState.MERGED,
}
_PROJECT = re.compile(r"[0-9]+|[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+")


class GitLabPullRequests(ForgePullRequests):
    """Merge requests and preview notes on GitLab."""

    host = "GitLab"
    default_api_url = "https://gitlab.com/api/v4"
    comment_limit = 1_000_000

    def check_repository(self, repository: str) -> str:
        """A numeric project id or a project path with its groups."""
        parts = repository.split("/")
        if not _PROJECT.fullmatch(repository) or any(p in (".", "..") for p in parts):
            raise ConfigError(
                f"GitLab pull requests: reporter.repository {repository!r} is not a project "
                "path (group/project) or id"
            )
        return repository

    @property
    def _project(self) -> str:
        return f"/projects/{quote(self.repository, safe='')}"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token}

    def pulls_path(self, base_ref: str) -> str:
        query = {"state": "opened", "target_branch": base_ref, "order_by": "created_at"}
        query = {**query, "sort": "desc", "per_page": "100"}
        return f"{self._project}/merge_requests?{urlencode(query)}"

    def pull_path(self, number: int) -> str:
        return f"{self._project}/merge_requests/{number}"

    def comments_path(self, number: int) -> str:
        query = urlencode({"sort": "asc", "order_by": "created_at", "per_page": "100"})
        return f"{self._project}/merge_requests/{number}/notes?{query}"

    def create_call(self, number: int, text: str) -> Call:
        return Call("POST", f"{self._project}/merge_requests/{number}/notes", {"body": text})

    def edit_call(self, number: int, comment_id: int, text: str) -> Call:
        path = f"{self._project}/merge_requests/{number}/notes/{comment_id}"
        return Call("PUT", path, {"body": text})

    def page_of(self, body: Any, response: HttpResponse, url: str) -> Page:
        page, _ = super().page_of(body, response, url)
        if any(name.lower() == "x-next-page" for name in response.headers):
            return page, next_page_url(url, response.header("X-Next-Page"))
        return page, next_link(response.header("Link"))

    def parse_pull(self, raw: Any) -> PullRequest:
        number = integer(raw, "iid")
        state = text(raw, "state")
        if state not in STATES:
            raise MalformedAnswerError(f"state is {state[:20]!r}, not one GitLab documents")
        return PullRequest(
            number=number,
            title=text(raw, "title", empty=True),
            head_sha=full_sha(raw, "sha"),
            head_ref=branch(raw, "source_branch"),
            base_ref=branch(raw, "target_branch"),
            from_fork=integer(raw, "source_project_id") != integer(raw, "target_project_id"),
            fetch_ref=f"refs/merge-requests/{number}/head",
            state=STATES[state],
            web_url=text(raw, "web_url", empty=True),
        )

    def parse_comment(self, raw: Any) -> PreviewComment | None:
        if flag(raw, "system"):
            return None
        return PreviewComment(
            id=integer(raw, "id"),
            body=raw_text(raw, "body"),
            author=str(integer(raw, "author", "id")),
        )

    def parse_identity(self, raw: Any) -> str:
        return str(integer(raw, "id"))
