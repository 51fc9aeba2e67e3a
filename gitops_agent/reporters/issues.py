"""Drift issues on the forge: one open issue per agent while its objects drift, found by a
hidden marker, edited in place as drift changes and closed when it is gone.

``DriftIssues`` is the port the drift checks of ``run`` use; ``ForgeIssues`` implements it on
the transport of a forge's pull-request client (token per call and masked, retries, bounded
listings that never leave the API root), with a subclass per forge for its issue endpoints:
GitHub ``GET|POST /repos/{o}/{r}/issues`` (pull requests listed there are skipped) and
``PATCH /repos/{o}/{r}/issues/{n}``; Gitea the same under its API root; GitLab
``GET|POST /projects/:id/issues`` and ``PUT /projects/:id/issues/:iid`` (``description``,
``state_event: close``). The marked issue is looked for among the open issues the token's
user wrote; a creation is sent once, and after a failure the issue is looked for again
before it is sent anew, so that no second issue is opened. Bitbucket Cloud's issue tracker
is an option of each repository and is not used. Built by ``build_drift_issues``; answers
are read as untrusted (typed accessors).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from gitops_agent.errors import ReporterError
from gitops_agent.reporters.answers import MalformedAnswerError, dig, integer, text
from gitops_agent.reporters.gitea_pulls import GiteaPullRequests
from gitops_agent.reporters.github_pulls import GitHubPullRequests
from gitops_agent.reporters.gitlab_pulls import GitLabPullRequests
from gitops_agent.reporters.paging import PageLimits
from gitops_agent.reporters.pullclient import Call, ForgePullRequests
from gitops_agent.reporters.pulls import check_marker

DRIFT_MARKER_PREFIX = "gitops-agent drift"
LIMITS = PageLimits(max_pages=10, max_items=1000)


def drift_marker(name: str) -> str:
    """The marker of agent ``name``'s drift issue: ``gitops-agent drift NAME``."""
    return check_marker(f"{DRIFT_MARKER_PREFIX} {name}")


class DriftIssues(Protocol):
    """The one drift issue of an agent on its forge repository."""

    def upsert(self, marker: str, title: str, body: str) -> int:
        """Edit the open marked issue to ``title`` and ``body`` (no write when it already
        says so), else open it; returns its number."""
        ...

    def close(self, marker: str, body: str) -> int | None:
        """Close the open marked issue with ``body``; its number, None when none is open."""
        ...


@dataclass(frozen=True, slots=True)
class Issue:
    """An issue as the forge lists it."""

    number: int
    title: str
    body: str
    author: str


class ForgeIssues(abc.ABC):
    """Base of the drift-issue clients: what each forge says, over its pull client."""

    def __init__(self, client: ForgePullRequests) -> None:
        self.client = client

    @abc.abstractmethod
    def open_issues_path(self) -> str:
        """First page of the repository's open issues."""

    @abc.abstractmethod
    def create_call(self, title: str, body: str) -> Call:
        """The request that opens an issue."""

    @abc.abstractmethod
    def edit_call(self, number: int, title: str, body: str, *, close: bool = False) -> Call:
        """The request that edits (and with ``close`` closes) issue ``number``."""

    @abc.abstractmethod
    def parse_issue(self, raw: Any) -> Issue | None:
        """An issue from the forge's JSON; None for what is no issue (a pull request)."""

    def find(self, marker: str) -> Issue | None:
        """The open issue whose first line is ``marker`` hidden, by the token's user."""
        line = self.client.hide(check_marker(marker))
        me = self.client.identity()
        for raw in self.client.listing(
            self.open_issues_path(), what="listing open issues", limits=LIMITS
        ):
            try:
                issue = self.parse_issue(raw)
            except MalformedAnswerError:
                continue
            if issue is None or (me is not None and issue.author != me):
                continue
            if issue.body.partition("\n")[0].rstrip() == line:
                return issue
        return None

    def upsert(self, marker: str, title: str, body: str) -> int:
        key = check_marker(marker)
        composed = self.client.compose(key, body)
        found = self.find(key)
        if found is not None:
            if (found.title, _normal(found.body)) != (title, _normal(composed)):
                what = f"editing issue {found.number}"
                self.client.send(self.edit_call(found.number, title, composed), what=what)
            return found.number
        try:
            answer = self.client.send(
                self.create_call(title, composed), what="opening an issue", once=True
            )
        except ReporterError:
            again = self.find(key)  # the forge may have opened it and lost the answer
            if again is None:
                raise
            return again.number
        return self._number(answer, "opening an issue")

    def close(self, marker: str, body: str) -> int | None:
        key = check_marker(marker)
        found = self.find(key)
        if found is None:
            return None
        call = self.edit_call(found.number, found.title, self.client.compose(key, body), close=True)
        self.client.send(call, what=f"closing issue {found.number}")
        return found.number

    def _number(self, answer: Any, what: str) -> int:
        try:
            return self.number_of(answer)
        except MalformedAnswerError as exc:
            raise ReporterError(f"{self.client.where}: {what}: unreadable answer: {exc}") from None

    def number_of(self, raw: Any) -> int:
        """The number of an issue in the forge's answer."""
        return integer(raw, "number")


def _normal(value: str) -> str:
    return value.replace("\r\n", "\n").rstrip()


class GitHubIssues(ForgeIssues):
    """Drift issues on GitHub (and Gitea, which takes the same shapes)."""

    def open_issues_path(self) -> str:
        query = urlencode({"state": "open", "per_page": "100"})
        return f"/repos/{self.client.repository}/issues?{query}"

    def create_call(self, title: str, body: str) -> Call:
        return Call(
            "POST", f"/repos/{self.client.repository}/issues", {"title": title, "body": body}
        )

    def edit_call(self, number: int, title: str, body: str, *, close: bool = False) -> Call:
        fields: dict[str, Any] = {"title": title, "body": body}
        if close:
            fields["state"] = "closed"
        return Call("PATCH", f"/repos/{self.client.repository}/issues/{number}", fields)

    def parse_issue(self, raw: Any) -> Issue | None:
        if dig(raw, "pull_request") is not None:
            return None
        body = dig(raw, "body")
        return Issue(
            number=integer(raw, "number"),
            title=text(raw, "title", empty=True),
            body=body if isinstance(body, str) else "",
            author=str(integer(raw, "user", "id")),
        )


class GiteaIssues(GitHubIssues):
    """Drift issues on Gitea: GitHub's shapes, issues only in the listing."""

    def open_issues_path(self) -> str:
        query = urlencode({"state": "open", "type": "issues", "limit": "50"})
        return f"/repos/{self.client.repository}/issues?{query}"


class GitLabIssues(ForgeIssues):
    """Drift issues on GitLab: ``description`` for the body, ``iid`` for the number."""

    @property
    def _project(self) -> str:
        return f"/projects/{quote(self.client.repository, safe='')}"

    def open_issues_path(self) -> str:
        query = urlencode({"state": "opened", "scope": "all", "per_page": "100"})
        return f"{self._project}/issues?{query}"

    def create_call(self, title: str, body: str) -> Call:
        return Call("POST", f"{self._project}/issues", {"title": title, "description": body})

    def edit_call(self, number: int, title: str, body: str, *, close: bool = False) -> Call:
        fields: dict[str, Any] = {"title": title, "description": body}
        if close:
            fields["state_event"] = "close"
        return Call("PUT", f"{self._project}/issues/{number}", fields)

    def parse_issue(self, raw: Any) -> Issue | None:
        body = dig(raw, "description")
        return Issue(
            number=integer(raw, "iid"),
            title=text(raw, "title", empty=True),
            body=body if isinstance(body, str) else "",
            author=str(integer(raw, "author", "id")),
        )

    def number_of(self, raw: Any) -> int:
        return integer(raw, "iid")


def drift_issues(client: object) -> ForgeIssues | None:
    """The drift-issue client of a forge's pull client; None where issues are not used."""
    if isinstance(client, GitLabPullRequests):
        return GitLabIssues(client)
    if isinstance(client, GitHubPullRequests):
        return GitHubIssues(client)
    if isinstance(client, GiteaPullRequests):
        return GiteaIssues(client)
    return None
