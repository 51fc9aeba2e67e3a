"""Engine tests run the real command line against kubesim over HTTP, on copies of the sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.conftest import Run, cli_on_kubesim, copy_sample

FAST_SYNC = (
    "sync:\n  prune: true\n  maxPruneFraction: 0.5\n  waitTimeout: 20s\n  pollInterval: 0.1s\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of sample-repo whose agent polls fast and gives up within 20 s."""
    return copy_sample(tmp_path / "repo", sync=FAST_SYNC)


@pytest.fixture
def run(kubesim: KubeSim, capsys: pytest.CaptureFixture[str]) -> Run:
    """``gitops-agent <args> --target kubernetes`` against kubesim; (code, stdout, stderr)."""
    return cli_on_kubesim(kubesim, capsys)
