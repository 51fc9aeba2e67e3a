"""Reporters: where the outcome of a revision is posted (see README.md beside this file).

``build_reporter(spec, ...)`` turns the ``reporter`` section of the configuration
(``ReporterSpec``) into a ``Reporter``; the CLI wraps it in ``SafeReporter`` before handing
it to the engine. The value types and the protocol live in ``reporters.base``.
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
from gitops_agent.reporters.gitea import GiteaReporter
from gitops_agent.reporters.github import GitHubReporter
from gitops_agent.reporters.gitlab import GitLabReporter
from gitops_agent.reporters.http import HttpPolicy
from gitops_agent.reporters.log import LogReporter
from gitops_agent.reporters.notes import DEFAULT_NOTES_REF, GitNotesReporter
from gitops_agent.sources.auth import GitAuth

__all__ = [
    "CommitStatus",
    "FanOutReporter",
    "Reporter",
    "ReporterKind",
    "ReporterSpec",
    "SafeReporter",
    "StatusState",
    "build_reporter",
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
