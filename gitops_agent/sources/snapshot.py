"""A command line SOURCE -> a directory to read and the revision it holds.

Called by the ``plan`` and ``apply`` commands (and the agent loop for its configured source).
SOURCE is a git URL (cloned into the cache directory at ``--ref``, else ``source.ref``, else
``main``), a local git repository with an explicit ``--ref`` (checked out into the cache, so
the working tree is not touched), or a directory (read as it is: its revision is the
enclosing repository's HEAD when there is one, else empty).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import git

from gitops_agent.core.config import AgentConfig
from gitops_agent.errors import SourceError
from gitops_agent.sources.git import FetchMode, GitSource, GitSourceSpec

_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[^/\s]+@[^/\s]+:)")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A directory holding one revision of the manifests."""

    directory: Path
    revision: str
    display: str
    dirty: bool = False


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/gitops-agent`` (``~/.cache/gitops-agent``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-agent"


def is_url(text: str) -> bool:
    """True for ``https://...``, ``ssh://...``, ``file://...`` and ``git@host:org/repo``."""
    return bool(_URL.match(text))


def take(
    source: str | None,
    *,
    config: AgentConfig,
    ref: str | None = None,
    cache_dir: Path | None = None,
) -> Snapshot:
    """The snapshot SOURCE names (default: the configured source URL, else ``.``)."""
    target = source or config.source.url or "."
    if is_url(target) or (ref and _is_repository(Path(target))):
        chosen = ref or config.source.ref
        return _clone(target, chosen, config, cache_dir or default_cache_dir())
    path = Path(target)
    if not path.exists():
        raise SourceError(f"{target}: no such file, directory or repository URL")
    revision, dirty = working_tree_revision(path)
    return Snapshot(path, revision, target, dirty)


def _is_repository(path: Path) -> bool:
    return path.is_dir() and (path / ".git").exists()


def _clone(url: str, ref: str, config: AgentConfig, cache_dir: Path) -> Snapshot:
    spec = GitSourceSpec(
        url=url,
        ref=ref,
        token_env=config.source.token_env or "",
        ssh_key_file=config.source.ssh_key_file or "",
        fetch_mode=FetchMode(config.source.fetch),
    )
    checkout = GitSource(spec, cache_dir / "sources").checkout()
    return Snapshot(checkout.root, checkout.revision, f"{spec.safe_url}@{ref}")


def working_tree_revision(path: Path) -> tuple[str, bool]:
    """HEAD of the repository holding ``path`` and whether the working tree differs from it."""
    try:
        repo = git.Repo(path if path.is_dir() else path.parent, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return "", False
    try:
        with repo:
            return repo.head.commit.hexsha, repo.is_dirty(
                untracked_files=True, path=str(path.resolve())
            )
    except (ValueError, git.GitCommandError):
        return "", False
