"""GitHub commit statuses (github.com or GitHub Enterprise via ``api_url``).

``GitHubReporter("owner/repo", token_env=...)`` posts ``POST /repos/{owner}/{repo}/statuses/{sha}``
with ``Authorization: Bearer``, ``Accept: application/vnd.github+json`` and
``X-GitHub-Api-Version``; states map one to one (pending, success, failure, error). For
GitHub Enterprise Server set ``api_url`` to ``https://HOST/api/v3``.
"""

from __future__ import annotations

from gitops_agent.core.reporting import StatusState
from gitops_agent.reporters.base import CommitStatus, truncate_description
from gitops_agent.reporters.forge import ForgeReporter, ForgeRequest

API_VERSION = "2022-11-28"
STATES = {
    StatusState.PENDING: "pending",
    StatusState.SUCCESS: "success",
    StatusState.FAILURE: "failure",
    StatusState.ERROR: "error",
}


class GitHubReporter(ForgeReporter):
    """Posts commit statuses to GitHub."""

    host = "GitHub"
    default_api_url = "https://api.github.com"

    def build_request(self, revision: str, status: CommitStatus, token: str) -> ForgeRequest:
        body = {
            "state": STATES[status.state],
            "description": truncate_description(status.description),
            "context": status.context,
        }
        if status.target_url:
            body["target_url"] = status.target_url
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        return ForgeRequest("POST", f"/repos/{self.repository}/statuses/{revision}", body, headers)
