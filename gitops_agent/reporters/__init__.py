"""Reporters: where the outcome of a revision is posted (see README.md beside this file).

``build_reporter(spec, ...)`` turns the ``reporter`` section of the configuration
(``ReporterSpec``) into a ``Reporter``; the CLI wraps it in ``SafeReporter`` before handing
it to the engine. The value types and the protocol live in ``reporters.base``.
``build_pull_requests(spec, ...)`` turns the same section into the ``PreviewPorts`` of
previews: a forge's ``PullRequests`` client, or for ``notes`` and ``log`` (which list no pull
requests) a ``HeadPreviewWriter``; those types live in ``reporters.pulls``.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitops_agent.core.reporting import StatusState
from gitops_agent.errors import ConfigError
from gitops_agent.reporters.base import (
    DEFAULT_CONTEXT,
    CommitStatus,
    FanOutReporter,
    Reporter,
    SafeReporter,
    superseded_status,
    truncate_description,
)
from gitops_agent.reporters.bitbucket import BitbucketReporter
from gitops_agent.reporters.bitbucket_pulls import BitbucketPullRequests
from gitops_agent.reporters.gitea import GiteaReporter
from gitops_agent.reporters.gitea_pulls import GiteaPullRequests
from gitops_agent.reporters.github import GitHubReporter
from gitops_agent.reporters.github_pulls import GitHubPullRequests
from gitops_agent.reporters.gitlab import GitLabReporter
from gitops_agent.reporters.gitlab_pulls import GitLabPullRequests
from gitops_agent.reporters.http import HttpPolicy
from gitops_agent.reporters.log import LogReporter
from gitops_agent.reporters.notes import DEFAULT_NOTES_REF, GitNotesReporter
from gitops_agent.reporters.previewwriters import (
    PREVIEWS_SUFFIX,
    LogPreviewWriter,
    NotesPreviewWriter,
)
from gitops_agent.reporters.pullclient import ForgePullRequests, ListingLimits
from gitops_agent.reporters.pulls import (
    HeadPreviewWriter,
    PreviewComment,
    PreviewPorts,
    PullRequest,
    PullRequests,
    PullState,
    finish_comment,
    preview_marker,
)
from gitops_agent.sources.auth import GitAuth

__all__ = [
    "CommitStatus",
    "FanOutReporter",
    "HeadPreviewWriter",
    "PreviewComment",
    "PreviewPorts",
    "PullRequest",
    "PullRequests",
    "PullState",
    "Reporter",
    "ReporterKind",
    "ReporterSpec",
    "SafeReporter",
    "StatusState",
    "build_pull_requests",
    "build_reporter",
    "finish_comment",
    "preview_marker",
    "superseded_status",
    "truncate_description",
]


class ReporterKind(enum.Enum):
    """The reporters a configuration can name."""

    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"
    BITBUCKET = "bitbucket"
    NOTES = "notes"
    LOG = "log"


@dataclass(frozen=True, slots=True)
class ReporterSpec:
    """The ``reporter`` section of the configuration."""

    kind: ReporterKind = ReporterKind.LOG
    api_url: str = ""
    repository: str = ""
    token_env: str = ""
    context: str = DEFAULT_CONTEXT
    username: str = ""
    notes_ref: str = DEFAULT_NOTES_REF


def build_reporter(
    spec: ReporterSpec,
    *,
    source_url: str = "",
    source_auth: GitAuth | None = None,
    cache_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
) -> Reporter:
    """The reporter ``spec`` describes. Notes need the source's URL, auth and a cache dir."""
    env = os.environ if environ is None else environ
    token_env, api_url = spec.token_env, spec.api_url
    if spec.kind is ReporterKind.GITHUB:
        return GitHubReporter(
            spec.repository, token_env=token_env, api_url=api_url, environ=env, policy=policy
        )
    if spec.kind is ReporterKind.GITLAB:
        return GitLabReporter(
            spec.repository, token_env=token_env, api_url=api_url, environ=env, policy=policy
        )
    if spec.kind is ReporterKind.GITEA:
        if not spec.api_url:
            raise ConfigError("gitea reporter: reporter.url is required (https://HOST/api/v1)")
        return GiteaReporter(
            spec.repository, token_env=token_env, api_url=api_url, environ=env, policy=policy
        )
    if spec.kind is ReporterKind.BITBUCKET:
        return BitbucketReporter(
            spec.repository,
            token_env=token_env,
            api_url=api_url,
            username=spec.username,
            environ=env,
            policy=policy,
        )
    if spec.kind is ReporterKind.NOTES:
        if not source_url or cache_dir is None:
            raise ConfigError("notes reporter: needs the source URL and a cache directory")
        return GitNotesReporter(
            source_url, cache_dir=cache_dir, auth=source_auth, notes_ref=spec.notes_ref, environ=env
        )
    return LogReporter()


_PULL_CLIENTS: dict[ReporterKind, type[ForgePullRequests]] = {
    ReporterKind.GITHUB: GitHubPullRequests,
    ReporterKind.GITLAB: GitLabPullRequests,
    ReporterKind.GITEA: GiteaPullRequests,
}


def build_pull_requests(
    spec: ReporterSpec,
    *,
    source_url: str = "",
    source_auth: GitAuth | None = None,
    cache_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
    limits: ListingLimits | None = None,
) -> PreviewPorts:
    """Where previews go for the reporter ``spec`` describes (see ``PreviewPorts``).

    Forges get a ``PullRequests`` client on the same repository, API URL and token as their
    status reporter. ``notes`` writes each preview as the git note of its head commit under
    ``<notesRef>-previews`` (needs the source's URL, auth and a cache dir) and ``log`` as one
    log line; neither lists pull requests: previews for them come from explicit heads.
    """
    env = os.environ if environ is None else environ
    if spec.kind is ReporterKind.GITEA and not spec.api_url:
        raise ConfigError("gitea reporter: reporter.url is required (https://HOST/api/v1)")
    if spec.kind is ReporterKind.BITBUCKET:
        bitbucket = BitbucketPullRequests(
            spec.repository,
            token_env=spec.token_env,
            api_url=spec.api_url,
            username=spec.username,
            environ=env,
            policy=policy,
            limits=limits,
        )
        return PreviewPorts(pulls=bitbucket)
    forge = _PULL_CLIENTS.get(spec.kind)
    if forge is not None:
        client = forge(
            spec.repository,
            token_env=spec.token_env,
            api_url=spec.api_url,
            environ=env,
            policy=policy,
            limits=limits,
        )
        return PreviewPorts(pulls=client)
    if spec.kind is ReporterKind.NOTES:
        if not source_url or cache_dir is None:
            raise ConfigError("notes reporter: needs the source URL and a cache directory")
        writer = NotesPreviewWriter(
            source_url,
            cache_dir=cache_dir,
            notes_ref=spec.notes_ref + PREVIEWS_SUFFIX,
            auth=source_auth,
            environ=env,
        )
        return PreviewPorts(heads=writer)
    return PreviewPorts(heads=LogPreviewWriter())
