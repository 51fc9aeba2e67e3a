"""Gitea (and Forgejo) pull requests and their preview comment.

``GiteaPullRequests("owner/repo", token_env=..., api_url="https://HOST/api/v1")`` lists
``GET /repos/{o}/{r}/pulls?state=open&limit=50`` (Gitea filters by base branch nowhere, so
the client does; pages by the ``Link`` header), reads ``GET /repos/{o}/{r}/pulls/{index}``
(closed with ``merged`` true is merged), finds the marked comment among
``GET /repos/{o}/{r}/issues/{index}/comments`` (one answer holds them all; a ``Link`` header
would be followed) written by the token's user (``GET /user``), creates it with
``POST /repos/{o}/{r}/issues/{index}/comments`` and edits it with
``PATCH /repos/{o}/{r}/issues/comments/{id}``. Auth is ``Authorization: token``. A head is
fetched as ``refs/pull/N/head`` from the base repository. Gitea documents no comment length
limit; the client cuts at 262,144 characters.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from gitops_agent.reporters.answers import integer
from gitops_agent.reporters.github_pulls import github_style_comment, github_style_pull
from gitops_agent.reporters.pullclient import Call, ForgePullRequests
from gitops_agent.reporters.pulls import PreviewComment, PullRequest


class GiteaPullRequests(ForgePullRequests):
    """Pull requests and preview comments on a Gitea server (``api_url`` is required)."""

    host = "Gitea"
    comment_limit = 262_144

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}"}

    def pulls_path(self, base_ref: str) -> str:
        return f"/repos/{self.repository}/pulls?{urlencode({'state': 'open', 'limit': '50'})}"

    def pull_path(self, number: int) -> str:
        return f"/repos/{self.repository}/pulls/{number}"

    def comments_path(self, number: int) -> str:
        return f"/repos/{self.repository}/issues/{number}/comments"

    def create_call(self, number: int, text: str) -> Call:
        return Call("POST", f"/repos/{self.repository}/issues/{number}/comments", {"body": text})

    def edit_call(self, number: int, comment_id: int, text: str) -> Call:
        path = f"/repos/{self.repository}/issues/comments/{comment_id}"
        return Call("PATCH", path, {"body": text})

    def parse_pull(self, raw: Any) -> PullRequest:
        return github_style_pull(raw, self.repository)

    def parse_comment(self, raw: Any) -> PreviewComment | None:
        return github_style_comment(raw)

    def parse_identity(self, raw: Any) -> str:
        return str(integer(raw, "id"))
