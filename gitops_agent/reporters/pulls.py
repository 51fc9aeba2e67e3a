"""The pull-request port of previews: what a forge lists and where a preview is written.

``PullRequest`` is what a forge API lists: number, title, head SHA and branch, target branch,
whether it comes from a fork, where to fetch its head (``fetch_ref``, from ``fetch_url`` or,
when that is ``None``, from the repository the agent follows), its state and web page. It is
not ``service.webhooks.PullRequestHint``: a hint says a webhook arrived and is trusted for
nothing; this value is what the API answered, after validation.

``PullRequests`` is the forge port (GitHub, GitLab, Gitea, Bitbucket: ``reporters.*_pulls``):
list open pull requests for a target branch, read one (its closed/merged state), find and
upsert the one comment carrying a hidden marker. ``HeadPreviewWriter`` is the port of the
``notes`` and ``log`` reporters, which list no pull requests and write the preview of an
explicit head commit. ``PreviewPorts`` holds what a reporter kind offers (exactly one of the
two). ``preview_marker(name)`` is the marker of one agent; ``finish_comment`` appends the
final line on close or merge, once. Pure: no I/O of its own. Built by
``reporters.build_pull_requests``; called by the preview loop.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Protocol

from gitops_agent.errors import ReporterError

MARKER_PREFIX = "gitops-agent preview"
_MARKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,119}")
_HTML_MARKER = re.compile(r"<!--\s*(?P<key>.*?)\s*-->")


class PullState(enum.Enum):
    """Where a pull request stands."""

    OPEN = "open"
    CLOSED = "closed"  # closed unmerged (GitLab "closed"/"locked", Bitbucket DECLINED/SUPERSEDED)
    MERGED = "merged"


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull (merge) request as the forge API lists it.

    ``head_sha`` is the full commit SHA; on Bitbucket, whose listings abbreviate it to 12
    characters, it is resolved through the commit endpoint, and stays abbreviated only when
    that lookup is refused (``head_sha_is_full`` says so: compare by prefix, resolve after the
    fetch). ``fetch_ref`` is ``refs/pull/N/head`` (GitHub, Gitea),
    ``refs/merge-requests/N/head`` (GitLab) or ``refs/heads/<source branch>`` (Bitbucket);
    ``fetch_url`` is ``None`` when the head is fetched from the repository the agent follows
    (always, except a Bitbucket fork: then the fork's clone URL). ``fetch_ref`` is empty only
    for a Bitbucket fork that no longer exists (``pull`` may return one; listings skip it).
    """

    number: int
    title: str
    head_sha: str
    head_ref: str
    base_ref: str
    from_fork: bool
    fetch_ref: str
    state: PullState
    web_url: str
    fetch_url: str | None = None
    head_repository: str = ""

    @property
    def head_sha_is_full(self) -> bool:
        """True when ``head_sha`` is a whole SHA-1 or SHA-256 name."""
        return len(self.head_sha) in (40, 64)


@dataclass(frozen=True, slots=True)
class PreviewComment:
    """A comment found by its marker: its id, text as stored, author key and web page."""

    id: int
    body: str
    author: str = ""
    web_url: str = ""


class PullRequests(Protocol):
    """Pull requests and their preview comment on one forge repository.

    Every method raises ``ReporterError`` (naming the repository, never the token) when the
    forge refuses or answers something unreadable; 429/5xx are retried first.
    """

    @property
    def comment_limit(self) -> int:
        """The longest comment the forge accepts, in characters (longer ones are cut)."""
        ...

    def open_pulls(self, base_ref: str) -> list[PullRequest]:
        """Open pull requests targeting branch ``base_ref``, newest first, bounded in pages
        and items (the rest is logged as not listed)."""
        ...

    def pull(self, number: int) -> PullRequest:
        """Pull request ``number`` in whatever state it is (open, closed, merged)."""
        ...

    def find_comment(self, number: int, marker: str) -> PreviewComment | None:
        """The comment of pull request ``number`` whose first line is ``marker`` hidden, by
        the token's user when the forge says who that is; ``None`` when there is none."""
        ...

    def upsert_comment(self, number: int, marker: str, body: str) -> int:
        """Edit the marked comment to ``body`` (no write when it already says so), else
        create it; never a second one. Returns the comment's id."""
        ...


class HeadPreviewWriter(Protocol):
    """Where the ``notes`` and ``log`` reporters put a preview: keyed by head commit."""

    def write(self, head_sha: str, marker: str, body: str) -> str:
        """Write the preview of ``head_sha``; returns where it went, for a log line."""
        ...


@dataclass(frozen=True, slots=True)
class PreviewPorts:
    """What a reporter kind offers previews: a forge's ``pulls`` or, for ``notes`` and ``log``,
    which list no pull requests (previews come from explicit heads), a ``heads`` writer."""

    pulls: PullRequests | None = None
    heads: HeadPreviewWriter | None = None

    def __post_init__(self) -> None:
        if (self.pulls is None) == (self.heads is None):
            raise ValueError("PreviewPorts holds exactly one of pulls and heads")

    @property
    def lists_pull_requests(self) -> bool:
        """False for ``notes`` and ``log``: nothing to list, previews of explicit heads only."""
        return self.pulls is not None


def preview_marker(name: str) -> str:
    """The marker of agent ``name``'s preview comments: ``gitops-agent preview NAME``."""
    return check_marker(f"{MARKER_PREFIX} {name}")


def check_marker(marker: str) -> str:
    """``marker`` as a bare key (``<!-- key -->`` accepted); ``ReporterError`` for a marker
    that could not be hidden on every forge (one line of letters, digits, `` ._/-``)."""
    html = _HTML_MARKER.fullmatch(marker.strip())
    key = html.group("key") if html else marker.strip()
    if not _MARKER.fullmatch(key):
        raise ReporterError(f"preview marker {key[:60]!r} is not one line of [A-Za-z0-9 ._/-]")
    return key


def closing_body(body: str, line: str) -> str:
    """``body`` with the final ``line`` appended once (already there: unchanged)."""
    if body.rstrip().endswith(line.strip()):
        return body
    return f"{body.rstrip()}\n\n{line.strip()}\n"


def finish_comment(pulls: PullRequests, number: int, marker: str, line: str) -> int | None:
    """Append the final ``line`` (closed, merged) to the marked comment of ``number``, once;
    ``None`` when the pull request has no such comment (nothing is created)."""
    found = pulls.find_comment(number, marker)
    if found is None:
        return None
    return pulls.upsert_comment(number, marker, closing_body(found.body, line))
