"""Fixtures of the security tests: the real command line in-process, a state directory for the
local target (every process stopped at the end) and a cache directory, both under tmp."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitops_agent.cli import main
from gitops_agent.targets.localproc import LocalRuntime

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``GITOPS_AGENT_STATE_DIR`` and ``XDG_CACHE_HOME`` in tmp; processes stopped after."""
    directory = tmp_path / "state"
    monkeypatch.setenv("GITOPS_AGENT_STATE_DIR", str(directory))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("GITOPS_AGENT_CONFIG", raising=False)
    monkeypatch.delenv("GITOPS_AGENT_TARGET", raising=False)
    yield directory
    if directory.exists():
        LocalRuntime(directory, autostart=False).stop_daemon(stop_processes=True)


@pytest.fixture
def cli(state: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``gitops_agent.cli.main(args)`` -> (exit code, stdout, stderr); never a traceback."""

    def invoke(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse usage errors
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return invoke
