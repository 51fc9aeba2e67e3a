"""A manifest repository served by ``git daemon``, and the agent running as a real process.

Used by the agent loop tests: commits are made in a working clone and pushed to a bare
repository that ``git daemon`` serves on 127.0.0.1; the agent (``python -m gitops_agent
run``) follows it, applies to kubesim and reports to a forge emulator.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import SAMPLE_REPO, copy_sample


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


class ManifestRepo:
    """A bare repository (served) and a working clone to commit from."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.bare = base / "served" / "manifests.git"
        self.work = base / "work"
        self.bare.parent.mkdir(parents=True)
        git(base, "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        copy_sample(self.work)
        git(self.work, "init", "--quiet", "--initial-branch=main")
        git(self.work, "config", "user.email", "dev@example.com")
        git(self.work, "config", "user.name", "Dev")
        git(self.work, "remote", "add", "origin", str(self.bare))

    def commit(self, message: str, change: Callable[[Path], None] | None = None) -> str:
        if change is not None:
            change(self.work)
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        git(self.work, "push", "--quiet", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")


def agent_config(path: Path, *, url: str, reporter: dict[str, Any], interval: str = "1s") -> Path:
    """An agent configuration following ``url`` (the sample's variables included)."""
    sample = yaml.safe_load((SAMPLE_REPO / "gitops-agent.yaml").read_text())
    data = {
        "name": "e2e",
        "source": {"url": url, "ref": "main", "interval": interval},
        "vars": sample["vars"],
        "target": {"kind": "kubernetes"},
        "reporter": reporter,
        "sync": {"waitTimeout": "20s", "pollInterval": "0.1s", "maxPruneFraction": 0.5},
        "server": {"webhookSecretEnv": "WEBHOOK_SECRET"},
    }
    path.write_text(yaml.safe_dump(data))
    return path


class AgentProcess:
    """``gitops-agent run`` in a subprocess (``args`` added to its command line); its stderr
    is collected line by line."""

    def __init__(
        self,
        config: Path,
        kubeconfig: Path | None,
        cache: Path,
        env: dict[str, str],
        *,
        args: tuple[str, ...] = (),
    ) -> None:
        """``kubeconfig`` None: the configuration says how to reach the cluster (in-cluster)."""
        command = [sys.executable, "-m", "gitops_agent", "run", "--config", str(config)]
        if kubeconfig is not None:
            command += ["--kubeconfig", str(kubeconfig)]
        command += ["--listen", "127.0.0.1:0", "--cache-dir", str(cache), *args]
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.seen: list[tuple[float, str]] = []  # (monotonic time read, line)
        self.stamped: list[tuple[float, str]] = []  # (monotonic time written, line)
        self.proc = subprocess.Popen(
            command,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **env},
        )
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()
        listening = self.wait_for_line("listening on ")
        found = re.search(r"listening on (http://[0-9.]+:[0-9]+)", listening)
        assert found is not None, listening
        self.url = found.group(1)

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stamped.append((time.monotonic(), line.rstrip("\n")))
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.log.append(line)
            self.seen.append((time.monotonic(), line))
            if text in line:
                return line
        raise AssertionError(f"agent never logged {text!r}; log:\n" + "\n".join(self.log[-40:]))

    def drain(self) -> list[str]:
        """The lines logged since the last look, without waiting."""
        fresh = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return fresh
            self.log.append(line)
            self.seen.append((time.monotonic(), line))
            fresh.append(line)

    def logged(self, text: str) -> bool:
        """Whether ``text`` was logged so far (reading what is waiting)."""
        self.drain()
        return any(text in line for line in self.log)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.pump.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return self.proc.returncode
