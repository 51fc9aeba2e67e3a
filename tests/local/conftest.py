"""Local target tests: the real command line, a real supervisor daemon per test state dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitops_agent.cli import main
from gitops_agent.targets.localproc import LocalRuntime
from tests.conftest import copy_sample

FAST_SYNC = "sync:\n  waitTimeout: 30s\n  pollInterval: 0.1s\n"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state directory for this test; every process is stopped at the end."""
    directory = tmp_path / "state"
    monkeypatch.setenv("GITOPS_AGENT_STATE_DIR", str(directory))
    monkeypatch.setenv("GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD", "test-only")
    yield directory
    if directory.exists():
        LocalRuntime(directory, autostart=False).stop_daemon(stop_processes=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of sample-repo whose agent polls fast and gives up within 30 s."""
    return copy_sample(tmp_path / "repo", sync=FAST_SYNC)


@pytest.fixture
def run(state: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return invoke
