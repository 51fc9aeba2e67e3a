"""Bitbucket Cloud pull requests and their preview comment.

``BitbucketPullRequests("workspace/repo_slug", token_env=...)`` lists
``GET /repositories/{ws}/{repo}/pullrequests?state=OPEN&q=destination.branch.name="BRANCH"
&pagelen=50`` (pages by the ``next`` URL in the body, which must stay on the API root),
resolves each listed head, which Bitbucket abbreviates to 12 characters, with
``GET /repositories/{source repository}/commit/{hash}`` (cached; when refused the SHA stays
abbreviated), reads ``GET /repositories/{ws}/{repo}/pullrequests/{id}`` (OPEN, MERGED;
DECLINED and SUPERSEDED are closed), finds the marked comment among
``GET .../pullrequests/{id}/comments?pagelen=100`` (deleted ones skipped) written by the
token's user (``GET /user``, by ``uuid``), creates it with ``POST .../comments`` and edits it
with ``PUT .../comments/{comment_id}`` (``{"content": {"raw": ...}}``). Bitbucket shows HTML
comments as text, so the marker is hidden as a link reference definition,
``[//]: # (MARKER)``. A head is the source branch: fetched from the repository the agent
follows, or for a fork from ``WEB/{fork}.git``. Auth as the status reporter: Bearer, or
Basic with ``username``. Bitbucket publishes no comment length limit; the client cuts at
32,768 characters.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from gitops_agent.errors import ReporterError
from gitops_agent.reporters.answers import (
    MalformedAnswerError,
    branch,
    dig,
    flag,
    integer,
    listed,
    raw_text,
    sha,
    text,
)
from gitops_agent.reporters.bitbucket import WEB_URL
from gitops_agent.reporters.http import HttpPolicy, HttpResponse
from gitops_agent.reporters.paging import Page
from gitops_agent.reporters.pullclient import Call, ForgePullRequests, ListingLimits
from gitops_agent.reporters.pulls import PreviewComment, PullRequest, PullState

STATES = {
    "OPEN": PullState.OPEN,
    "MERGED": PullState.MERGED,
    "DECLINED": PullState.CLOSED,
    "SUPERSEDED": PullState.CLOSED,
}
MAX_RESOLVED = 512
_FULL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")

log = logging.getLogger(__name__)


class BitbucketPullRequests(ForgePullRequests):
    """Pull requests and preview comments on Bitbucket Cloud."""

    host = "Bitbucket"
    default_api_url = "https://api.bitbucket.org/2.0"
    comment_limit = 32_768

    def __init__(
        self,
        repository: str,
        *,
        token_env: str,
        api_url: str = "",
        username: str = "",
        web_url: str = WEB_URL,
        environ: Mapping[str, str] | None = None,
        policy: HttpPolicy | None = None,
        limits: ListingLimits | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            repository,
            token_env=token_env,
            api_url=api_url,
            environ=environ,
            policy=policy,
            limits=limits,
            sleep=sleep,
        )
        self.username = username
        self.web_url = web_url.rstrip("/")
        self._resolved: dict[tuple[str, str], str | None] = {}

    def auth_headers(self, token: str) -> dict[str, str]:
        if not self.username:
            return {"Authorization": f"Bearer {token}"}
        pair = base64.b64encode(f"{self.username}:{token}".encode()).decode("ascii")
        return {"Authorization": f"Basic {pair}"}

    def hide(self, marker: str) -> str:
        return f"[//]: # ({marker})"

    def pulls_path(self, base_ref: str) -> str:
        escaped = base_ref.replace("\\", "\\\\").replace('"', '\\"')
        query = {"state": "OPEN", "q": f'destination.branch.name = "{escaped}"', "pagelen": "50"}
        return f"/repositories/{self.repository}/pullrequests?{urlencode(query)}"

    def pull_path(self, number: int) -> str:
        return f"/repositories/{self.repository}/pullrequests/{number}"

    def comments_path(self, number: int) -> str:
        return f"/repositories/{self.repository}/pullrequests/{number}/comments?pagelen=100"

    def create_call(self, number: int, text: str) -> Call:
        path = f"/repositories/{self.repository}/pullrequests/{number}/comments"
        return Call("POST", path, {"content": {"raw": text}})

    def edit_call(self, number: int, comment_id: int, text: str) -> Call:
        path = f"/repositories/{self.repository}/pullrequests/{number}/comments/{comment_id}"
        return Call("PUT", path, {"content": {"raw": text}})

    def page_of(self, body: Any, response: HttpResponse, url: str) -> Page:
        following = dig(body, "next")
        if following is not None and not isinstance(following, str):
            raise MalformedAnswerError("next is not a URL")
        return listed(body, "values"), following or None

    def parse_pull(self, raw: Any) -> PullRequest:
        number = integer(raw, "id")
        state = text(raw, "state")
        if state not in STATES:
            raise MalformedAnswerError(f"state is {state[:20]!r}, not one Bitbucket documents")
        base = text(raw, "destination", "repository", "full_name")
        source = dig(raw, "source", "repository", "full_name")
        head = source if isinstance(source, str) and _FULL_NAME.fullmatch(source) else ""
        from_fork = head.lower() != base.lower()
        head_ref = branch(raw, "source", "branch", "name")
        return PullRequest(
            number=number,
            title=text(raw, "title", empty=True),
            head_sha=sha(raw, "source", "commit", "hash"),
            head_ref=head_ref,
            base_ref=branch(raw, "destination", "branch", "name"),
            from_fork=from_fork,
            fetch_ref=f"refs/heads/{head_ref}" if head or not from_fork else "",
            state=STATES[state],
            web_url=text(raw, "links", "html", "href", empty=True),
            fetch_url=f"{self.web_url}/{head}.git" if from_fork and head else None,
            head_repository=head,
        )

    def parse_comment(self, raw: Any) -> PreviewComment | None:
        if flag(raw, "deleted"):
            return None
        html = dig(raw, "links", "html", "href")
        return PreviewComment(
            id=integer(raw, "id"),
            body=raw_text(raw, "content", "raw"),
            author=text(raw, "user", "uuid"),
            web_url=text(raw, "links", "html", "href") if isinstance(html, str) else "",
        )

    def parse_identity(self, raw: Any) -> str:
        return text(raw, "uuid")

    def complete(self, pull: PullRequest) -> PullRequest:
        """``pull`` with its full head SHA, looked up in the repository holding the head."""
        if pull.head_sha_is_full:
            return pull
        holder = pull.head_repository or self.repository
        full = self._resolve(holder, pull.head_sha)
        return pull if full is None else replace(pull, head_sha=full)

    def _resolve(self, holder: str, short: str) -> str | None:
        """The full SHA ``short`` abbreviates in ``holder``; ``None`` (remembered, said once)
        when the forge will not tell."""
        key = (holder, short)
        if key not in self._resolved:
            if len(self._resolved) >= MAX_RESOLVED:
                self._resolved.clear()
            self._resolved[key] = self._ask_commit(holder, short)
        return self._resolved[key]

    def _ask_commit(self, holder: str, short: str) -> str | None:
        what = f"resolving head {short} of {holder}"
        try:
            full = sha(self._get_json(f"/repositories/{holder}/commit/{short}", what=what), "hash")
        except ReporterError as exc:  # refused, or an answer that is not JSON
            log.warning("%s; the head SHA stays abbreviated", exc)
            return None
        except MalformedAnswerError as exc:
            log.warning("%s: %s: %s; the head SHA stays abbreviated", self.where, what, exc)
            return None
        if not full.startswith(short) or len(full) not in (40, 64):
            log.warning("%s: %s: the forge answered another commit; ignored", self.where, what)
            return None
        return full
