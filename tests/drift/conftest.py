"""Drift tests: a sample repository under git, applied to kubesim by the real command line,
changed out of band with the real kubectl."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.agent.harness import git
from tests.conftest import Run, cli_on_kubesim, copy_sample

FAST_SYNC = (
    "sync:\n  prune: true\n  maxPruneFraction: 0.5\n  waitTimeout: 20s\n  pollInterval: 0.1s\n"
)
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

Kubectl = Callable[..., str]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample as a git repository (one commit), read in place."""
    monkeypatch.setenv("GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD", "test-only")
    path = copy_sample(tmp_path / "repo", sync=FAST_SYNC)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    commit(path, "the sample")
    return path


def commit(path: Path, message: str) -> str:
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(path, "rev-parse", "HEAD")


def edit(path: Path, name: str, old: str, new: str) -> None:
    target = path / name
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new))


@pytest.fixture
def run(kubesim: KubeSim, capsys: pytest.CaptureFixture[str]) -> Run:
    return cli_on_kubesim(kubesim, capsys)


@pytest.fixture
def kubectl(kubesim: KubeSim) -> Kubectl:
    """``kubectl -n public ARGS`` against kubesim; its standard output."""

    def invoke(*args: str, stdin: str | None = None) -> str:
        assert KUBECTL is not None
        done = subprocess.run(
            [KUBECTL, "--kubeconfig", str(kubesim.kubeconfig), "-n", "public", *args],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout

    return invoke


def live(kubectl: Kubectl, what: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(kubectl("get", what, "-o", "json"))
    return found


def drift_json(run: Run, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run("drift", *args, "-o", "json")
    assert code in (0, 2), out + err
    found: dict[str, Any] = json.loads(out)
    return code, found


def fields_of(report: dict[str, Any], name: str, kind: str = "Deployment") -> list[dict[str, Any]]:
    (found,) = [o for o in report["objects"] if o["name"] == name and o["kind"] == kind]
    fields: list[dict[str, Any]] = found["fields"]
    return fields
