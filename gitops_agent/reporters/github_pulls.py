"""GitHub pull requests and their preview comment (github.com or GitHub Enterprise Server).

``GitHubPullRequests("owner/repo", token_env=...)`` lists ``GET /repos/{o}/{r}/pulls?state=open
&base=BRANCH&sort=created&direction=desc&per_page=100`` (pages by the ``Link`` header), reads
``GET /repos/{o}/{r}/pulls/{n}`` (closed with ``merged_at`` set is merged), finds the marked
comment among ``GET /repos/{o}/{r}/issues/{n}/comments?per_page=100`` written by the token's
user (``GET /user``; an Actions token may not say, then the marker alone decides), creates
it with ``POST /repos/{o}/{r}/issues/{n}/comments`` and edits it with
``PATCH /repos/{o}/{r}/issues/comments/{id}``. A head is fetched as ``refs/pull/N/head`` from
the base repository, forks included; a fork is a head repository other than the base (or
one deleted). Comments hold at most 65,536 characters. ``GitHubShaped`` holds the calls
and the answer shapes Gitea shares. Headers as the status reporter sends.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from gitops_agent.reporters.answers import (
    MalformedAnswerError,
    branch,
    dig,
    flag,
    integer,
    raw_text,
    sha,
    text,
)
from gitops_agent.reporters.github import API_VERSION
from gitops_agent.reporters.pullclient import Call, ForgePullRequests
from gitops_agent.reporters.pulls import PreviewComment, PullRequest, PullState


class GitHubShaped(ForgePullRequests):
    """What GitHub and Gitea share: a pull request's path, the issue comment calls, and the
    shapes of their answers (each forge adds its auth, listings and limits)."""

    def pull_path(self, number: int) -> str:
        return f"/repos/{self.repository}/pulls/{number}"

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


class GitHubPullRequests(GitHubShaped):
    """Pull requests and preview comments on GitHub."""

    host = "GitHub"
    default_api_url = "https://api.github.com"
    comment_limit = 65536

    def auth_headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def pulls_path(self, base_ref: str) -> str:
        query = {"state": "open", "base": base_ref, "sort": "created", "direction": "desc"}
        return f"/repos/{self.repository}/pulls?{urlencode({**query, 'per_page': '100'})}"

    def comments_path(self, number: int) -> str:
        return f"/repos/{self.repository}/issues/{number}/comments?per_page=100"


def github_style_pull(raw: Any, repository: str) -> PullRequest:
    """A GitHub or Gitea pull request: ``number``, ``state`` open/closed and ``merged`` /
    ``merged_at``, ``head`` and ``base`` with ``ref``, ``sha`` and ``repo.full_name``."""
    number = integer(raw, "number")
    head_repo = dig(raw, "head", "repo", "full_name")
    head_name = head_repo if isinstance(head_repo, str) else ""  # null: the fork was deleted
    base_repo = dig(raw, "base", "repo", "full_name")
    base_name = base_repo if isinstance(base_repo, str) else repository
    return PullRequest(
        number=number,
        title=text(raw, "title", empty=True),
        head_sha=full_sha(raw, "head", "sha"),
        head_ref=branch(raw, "head", "ref"),
        base_ref=branch(raw, "base", "ref"),
        from_fork=head_name.lower() != base_name.lower(),
        fetch_ref=f"refs/pull/{number}/head",
        state=_state(raw),
        web_url=text(raw, "html_url", empty=True),
        head_repository=head_name,
    )


def _state(raw: Any) -> PullState:
    state = text(raw, "state")
    if state == "open":
        return PullState.OPEN
    if state != "closed":
        raise MalformedAnswerError(f"state is {state[:20]!r}, not open or closed")
    merged = flag(raw, "merged") or isinstance(dig(raw, "merged_at"), str)
    return PullState.MERGED if merged else PullState.CLOSED


def github_style_comment(raw: Any) -> PreviewComment:
    """A GitHub or Gitea issue comment: ``id``, ``body``, ``user.id``, ``html_url``."""
    return PreviewComment(
        id=integer(raw, "id"),
        body=raw_text(raw, "body"),
        author=str(integer(raw, "user", "id")),
        web_url=text(raw, "html_url", empty=True) if dig(raw, "html_url") is not None else "",
    )


def full_sha(raw: Any, *path: str) -> str:
    """The whole commit SHA at ``path`` (40 or 64 hex digits)."""
    found = sha(raw, *path)
    if len(found) not in (40, 64):
        raise MalformedAnswerError(f"{'.'.join(path)} is not a full commit SHA")
    return found
