"""The git source and reporter a configuration names, as the commands build them.

Used by ``run`` (its source, its status reporter, its previews' pull requests and
checkouts) and by ``preview --publish`` (the reporter that posts a preview).
"""

from __future__ import annotations

from pathlib import Path

from gitops_agent.core.config import AgentConfig
from gitops_agent.reporters import ReporterKind, ReporterSpec, build_reporter
from gitops_agent.reporters.base import Reporter
from gitops_agent.sources.auth import GitAuth
from gitops_agent.sources.git import FetchMode, GitSourceSpec


def source_spec(config: AgentConfig) -> GitSourceSpec:
    """The followed repository of ``config``'s source section."""
    return GitSourceSpec(
        url=config.source.url or "",
        ref=config.source.ref,
        token_env=config.source.token_env or "",
        ssh_key_file=config.source.ssh_key_file or "",
        fetch_mode=FetchMode(config.source.fetch),
    )


def reporter_spec(config: AgentConfig) -> ReporterSpec:
    """The reporter section as the reporters build it."""
    section = config.reporter
    return ReporterSpec(
        kind=ReporterKind(section.kind),
        api_url=section.url or "",
        repository=section.repository or "",
        token_env=section.token_env or "",
        context=config.reporter_context(),
        username=section.username or "",
        notes_ref=section.notes_ref,
    )


def source_auth(config: AgentConfig) -> GitAuth:
    """How git reaches the source (for the notes reporter, which pushes to it)."""
    return GitAuth(
        token_env=config.source.token_env or "", ssh_key_file=config.source.ssh_key_file or ""
    )


def reporter_for(config: AgentConfig, cache: Path, *, source_url: str = "") -> Reporter:
    """The status reporter of ``config``; ``source_url`` overrides the source's URL (the
    notes reporter pushes its notes there)."""
    return build_reporter(
        reporter_spec(config),
        source_url=source_url or config.source.url or "",
        source_auth=source_auth(config),
        cache_dir=cache / "notes",
    )
