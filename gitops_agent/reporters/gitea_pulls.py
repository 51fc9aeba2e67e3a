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

from urllib.parse import urlencode

from gitops_agent.reporters.github_pulls import GitHubShaped


class GiteaPullRequests(GitHubShaped):
    """Pull requests and preview comments on a Gitea server (``api_url`` is required)."""

    host = "Gitea"
    comment_limit = 262_144

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}"}

    def pulls_path(self, base_ref: str) -> str:
        return f"/repos/{self.repository}/pulls?{urlencode({'state': 'open', 'limit': '50'})}"

    def comments_path(self, number: int) -> str:
        return f"/repos/{self.repository}/issues/{number}/comments"
