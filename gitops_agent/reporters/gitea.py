"""Gitea (and Forgejo) commit statuses.

``GiteaReporter("owner/repo", token_env=..., api_url="https://HOST/api/v1")`` posts
``POST /repos/{owner}/{repo}/statuses/{sha}`` with ``Authorization: token``. States map one
to one (pending, success, failure, error); Gitea's ``warning`` is not produced.
"""

from __future__ import annotations

from gitops_agent.core.reporting import StatusState
from gitops_agent.reporters.base import CommitStatus, truncate_description
from gitops_agent.reporters.forge import ForgeReporter, ForgeRequest

STATES = {
    StatusState.PENDING: "pending",
    StatusState.SUCCESS: "success",
    StatusState.FAILURE: "failure",
    StatusState.ERROR: "error",
}


class GiteaReporter(ForgeReporter):
    """Posts commit statuses to a Gitea server (``api_url`` is required)."""

    host = "Gitea"

    def build_request(self, revision: str, status: CommitStatus, token: str) -> ForgeRequest:
        body = {
            "state": STATES[status.state],
            "description": truncate_description(status.description),
            "context": status.context,
            "target_url": status.target_url,
        }
        headers = {"Authorization": f"token {token}"}
        return ForgeRequest("POST", f"/repos/{self.repository}/statuses/{revision}", body, headers)
