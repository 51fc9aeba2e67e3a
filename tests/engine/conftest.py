"""Engine tests run the real command line against kubesim over HTTP, on copies of the sample."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_agent.cli import main
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.conftest import copy_sample

FAST_SYNC = (
    "sync:\n  prune: true\n  maxPruneFraction: 0.5\n  waitTimeout: 20s\n  pollInterval: 0.1s\n"
)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of sample-repo whose agent polls fast and gives up within 20 s."""
    return copy_sample(tmp_path / "repo", sync=FAST_SYNC)


@pytest.fixture
def run(kubesim: KubeSim, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``gitops-agent <args>`` against kubesim; returns (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--target", "kubernetes", "--kubeconfig", str(kubesim.kubeconfig)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return invoke
