"""Issue 14, the first hour: each rough edge a new user hit on the README's path, run as
that user ran it (make, the real command line in-process or as a process, real supervisor
processes), checking the exact shape of what they now see. One test per item, named after
it; item 13 is here."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest


def test_item_13_run_says_listening_once(tmp_path: Path, state: Path) -> None:
    source = tmp_path / "empty"
    source.mkdir()
    command = [sys.executable, "-m", "gitops_agent", "run", str(source), "--listen", "127.0.0.1:0"]
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    ) as agent:
        assert agent.stderr is not None
        watchdog = threading.Timer(60, agent.kill)  # a hung agent fails the test, not the run
        watchdog.start()
        lines = []
        for line in agent.stderr:  # until the first cycle is done: both lines came before it
            lines.append(line)
            if "applied: synced" in line:
                break
        agent.send_signal(signal.SIGTERM)
        lines += agent.stderr.readlines()
        code = agent.wait(timeout=30)
        watchdog.cancel()
    assert code == 0
    listening = [line for line in lines if "listening on" in line]
    assert len(listening) == 1, lines
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO +listening on http://127\.0\.0\.1:\d+\n", listening[0]
    )


@pytest.fixture(autouse=True)
def _no_stray_agent_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITOPS_AGENT_CONFIG", raising=False)
