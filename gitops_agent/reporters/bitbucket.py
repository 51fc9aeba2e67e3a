"""Bitbucket Cloud build statuses.

``BitbucketReporter("workspace/repo_slug", token_env=...)`` posts
``POST /repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build`` with
``key`` = context, ``state`` INPROGRESS / SUCCESSFUL / FAILED, and the required ``url``
(the status's target URL, else the commit's page on bitbucket.org). Auth is
``Authorization: Bearer`` (repository, project or workspace access token), or Basic when a
``username`` is given (app password or API token as the secret).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping

from gitops_agent.core.reporting import StatusState
from gitops_agent.reporters.base import CommitStatus, truncate_description
from gitops_agent.reporters.forge import ForgeReporter, ForgeRequest
from gitops_agent.reporters.http import HttpPolicy

STATES = {
    StatusState.PENDING: "INPROGRESS",
    StatusState.SUCCESS: "SUCCESSFUL",
    StatusState.FAILURE: "FAILED",
    StatusState.ERROR: "FAILED",
}
WEB_URL = "https://bitbucket.org"


class BitbucketReporter(ForgeReporter):
    """Posts build statuses to Bitbucket Cloud."""

    host = "Bitbucket"
    default_api_url = "https://api.bitbucket.org/2.0"

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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            repository,
            token_env=token_env,
            api_url=api_url,
            environ=environ,
            policy=policy,
            sleep=sleep,
        )
        self.username = username
        self.web_url = web_url.rstrip("/")

    def build_request(self, revision: str, status: CommitStatus, token: str) -> ForgeRequest:
        url = status.target_url or f"{self.web_url}/{self.repository}/commits/{revision}"
        body = {
            "key": status.context,
            "state": STATES[status.state],
            "name": status.context,
            "description": truncate_description(status.description),
            "url": url,
        }
        if self.username:
            pair = base64.b64encode(f"{self.username}:{token}".encode()).decode("ascii")
            auth = f"Basic {pair}"
        else:
            auth = f"Bearer {token}"
        path = f"/repositories/{self.repository}/commit/{revision}/statuses/build"
        return ForgeRequest("POST", path, body, {"Authorization": auth})
