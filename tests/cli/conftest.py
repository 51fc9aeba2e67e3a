"""Fixtures for the command-line tests: a state directory whose processes and supervisor
are stopped at the end, the program run in-process (``main``) or as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitops_agent.cli import main
from gitops_agent.targets.localproc import LocalRuntime

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state directory for this test (and the sample's secret); every process and the
    supervisor are stopped at the end."""
    directory = tmp_path / "state"
    monkeypatch.setenv("GITOPS_AGENT_STATE_DIR", str(directory))
    monkeypatch.setenv("GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD", "test-only")
    monkeypatch.delenv("GITOPS_AGENT_CONFIG", raising=False)
    monkeypatch.delenv("GITOPS_AGENT_TARGET", raising=False)
    yield directory
    if directory.exists():
        LocalRuntime(directory, autostart=False).stop_daemon(stop_processes=True)


@pytest.fixture
def run(state: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """``gitops-agent ARGS`` in-process: (exit code, stdout, stderr); never a traceback."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return invoke


def program(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m gitops_agent ARGS`` as a real process, with this test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "gitops_agent", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=timeout,
        check=False,
    )
