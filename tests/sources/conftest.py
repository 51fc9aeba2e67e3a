"""Fixtures: real git repositories in tmp dirs and a ``git daemon`` serving them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_agent.testing.forges.gitserve import GitDaemon

IDENTITY = {
    "GIT_AUTHOR_NAME": "Platform Team",
    "GIT_AUTHOR_EMAIL": "platform@example.com",
    "GIT_COMMITTER_NAME": "Platform Team",
    "GIT_COMMITTER_EMAIL": "platform@example.com",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; return stripped stdout."""
    env = {**os.environ, **IDENTITY}
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True, timeout=30
    )
    return out.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    """Write ``files`` (path -> content) into ``repo``, commit them, return the SHA."""
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """A non-bare repository ``served/manifests`` on branch main with one commit."""
    repo = tmp_path / "served" / "manifests"
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "-b", "main")
    git(repo, "config", "uploadpack.allowFilter", "true")
    commit(repo, {"workers/a.yaml": "name: a\n", "README.md": "hello\n"}, "first")
    return repo


@pytest.fixture
def daemon(upstream: Path) -> Iterator[GitDaemon]:
    """``git daemon`` on 127.0.0.1 serving the directory that holds ``upstream``."""
    with GitDaemon(upstream.parent) as served:
        yield served
