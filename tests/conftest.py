"""Shared fixtures: paths of the project's fixture trees and the sample repository.

``copy_sample(dest, sync=...)`` is the one way tests get a writable sample repository: a
copy of sample-repo whose ``sync:`` section (the last of its gitops-agent.yaml) is replaced
by the given text. Used by the engine and local conftests and by the agent harness.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["gitops_agent.testing.kubesim.pytest_plugin"]


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The agent's default cache and state directories point into the test session's
    temporary tree: no test reads or writes the user's ``~/.cache`` or ``~/.local/state``."""
    base = tmp_path_factory.mktemp("xdg")
    saved = {name: os.environ.get(name) for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME")}
    os.environ["XDG_CACHE_HOME"] = str(base / "cache")
    os.environ["XDG_STATE_HOME"] = str(base / "state")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


PROJECT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT / "tests" / "fixtures"
SAMPLE_REPO = PROJECT / "sample-repo"


def copy_sample(dest: Path, *, sync: str | None = None) -> Path:
    """Copy sample-repo to ``dest``; ``sync`` (YAML text starting with ``sync:``), when
    given, replaces the ``sync:`` section of its gitops-agent.yaml. Returns ``dest``."""
    shutil.copytree(SAMPLE_REPO, dest)
    if sync is not None:
        config = dest / "gitops-agent.yaml"
        text = config.read_text()
        config.write_text(text[: text.index("sync:")] + sync)
    return dest


@pytest.fixture
def sample_repo() -> Path:
    return SAMPLE_REPO
