"""What several benchmarks share: a repository of generated Workers, git with a fixed
identity, and kubesim in a process of its own (as an API server is: its controllers never
compete with the process measured), driven over its control API. Imported by
``engine_bench``, ``drift_bench`` and ``scale_bench``; standard library only, so that a
baseline revision of the agent on PYTHONPATH can run beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

WORKER = """version: v2alpha
name: {name}
type: worker
spec:
  compute: runnable-default
  replicas: 1
  resources:
    requests: {{cpu: 50m, memory: 64Mi}}
    limits: {{cpu: 200m, memory: 256Mi}}
  stack: container
  stackSpec:
    image: docker.io/library/alpine:3.20
    command: [sh]
    arguments: ["-c", "while true; do echo {name}; sleep 30; done"]
"""


def write_workers(root: Path, count: int, *, owner: str, digits: int = 4) -> None:
    """``count`` Workers, one file each under ``workers/``, and a configuration naming the
    agent ``owner``."""
    (root / "workers").mkdir(parents=True)
    config = f"name: {owner}\nsync: {{pollInterval: 0.2s, waitTimeout: 5m}}\n"
    (root / "gitops-agent.yaml").write_text(config)
    for i in range(count):
        name = f"worker-{i:0{digits}d}"
        (root / "workers" / f"{name}.yaml").write_text(WORKER.format(name=name))


def git(cwd: Path, *args: str) -> str:
    """A git command as the benchmark's author; its standard output."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


def commit_all(root: Path, message: str) -> None:
    """``root`` as a new repository whose one commit on ``main`` holds every file."""
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", message)


class Kubesim:
    """A kubesim in its own process: its URL, its kubeconfig and its control API."""

    def __init__(self, directory: Path, *, ready_delay: float = 0.5, run_duration: float = 0.5):
        self.kubeconfig = directory / "kubesim.kubeconfig"
        command = [sys.executable, "-m", "gitops_agent.testing.kubesim", "--port", "0"]
        command += ["--kubeconfig", str(self.kubeconfig), "--ready-delay", str(ready_delay)]
        command += ["--run-duration", str(run_duration)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def requests(self) -> list[dict[str, Any]]:
        """Every request served so far, in order (the control API's own aside)."""
        with urllib.request.urlopen(f"{self.url}/_kubesim/requests", timeout=60) as answer:
            found: list[dict[str, Any]] = json.loads(answer.read())["items"]
        return found

    def add_fault(self, fault: dict[str, Any]) -> None:
        """Inject a fault (a ``Fault``'s fields: ``{"code": 0, "latency": 0.005}`` delays
        every request by 5 ms)."""
        request = urllib.request.Request(
            f"{self.url}/_kubesim/faults",
            data=json.dumps(fault).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60):
            pass

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)

    def __enter__(self) -> Kubesim:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
