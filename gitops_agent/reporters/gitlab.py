"""GitLab commit statuses (gitlab.com or self-managed via ``api_url``).

``GitLabReporter("group/project" or "1234", token_env=...)`` posts
``POST /projects/:id/statuses/:sha`` with the ``PRIVATE-TOKEN`` header; ``name`` is the
context. States: pending -> running (the agent is working on it), success -> success,
failure and error -> failed. GitLab refuses to post the same running/pending state twice
("Cannot transition status"); that answer means the status is already so and is accepted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from urllib.parse import quote

from gitops_agent.core.reporting import StatusState
from gitops_agent.reporters.base import CommitStatus, truncate_description
from gitops_agent.reporters.forge import ForgeReporter, ForgeRequest
from gitops_agent.reporters.http import HttpPolicy, HttpStatusError

STATES = {
    StatusState.PENDING: "running",
    StatusState.SUCCESS: "success",
    StatusState.FAILURE: "failed",
    StatusState.ERROR: "failed",
}


class GitLabReporter(ForgeReporter):
    """Posts commit statuses to GitLab; ``ref`` (optional) ties them to a branch."""

    host = "GitLab"
    default_api_url = "https://gitlab.com/api/v4"

    def __init__(
        self,
        repository: str,
        *,
        token_env: str,
        api_url: str = "",
        ref: str = "",
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
        self.ref = ref

    def build_request(self, revision: str, status: CommitStatus, token: str) -> ForgeRequest:
        body = {
            "state": STATES[status.state],
            "name": status.context,
            "description": truncate_description(status.description),
        }
        if status.target_url:
            body["target_url"] = status.target_url
        if self.ref:
            body["ref"] = self.ref
        project = quote(self.repository, safe="")
        path = f"/projects/{project}/statuses/{revision}"
        return ForgeRequest("POST", path, body, {"PRIVATE-TOKEN": token})

    def tolerated(self, error: HttpStatusError) -> bool:
        return error.status == 400 and "Cannot transition status" in str(error)
