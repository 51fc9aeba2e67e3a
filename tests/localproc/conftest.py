"""Fixtures for the supervisor tests: a runtime on a tmp state dir that never leaks a process.

``runtime`` yields a ``LocalRuntime`` with fast settings (short backoff, quick ticks). On
teardown, even after a failure, it stops the daemon and every process (``stop_daemon`` with
``stop_processes``, which runs ``--halt`` when no daemon is up), then SIGKILLs anything of
the state dir still alive and fails the test if there was something.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitops_agent.targets.localproc import LocalRuntime, SupervisorSettings
from gitops_agent.targets.localproc.processes import proc_stat
from gitops_agent.testing.waiting import wait_for

FAST = SupervisorSettings(
    tick_seconds=1.0,
    backoff_initial=0.05,
    backoff_max=0.2,
    stable_after=1.0,
    min_ready_seconds=0.1,
    log_check_seconds=0.05,
)


def processes_of(state_dir: Path) -> list[int]:
    """Live processes started for ``state_dir``: replicas (by their environment) and the
    daemon (by its command line)."""
    marker = f"GITOPS_AGENT_FILES_DIR={state_dir}/".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        stat = proc_stat(int(entry))
        if stat is None or stat.state in "ZX":
            continue
        with contextlib.suppress(OSError):
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            if any(v.startswith(marker) for v in environ) or str(state_dir).encode() in cmdline:
                found.append(int(entry))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def make_runtime(state_dir: Path) -> Iterator[Callable[..., LocalRuntime]]:
    """Build runtimes on the test's state dir; all of it is torn down at the end."""

    def make(**settings: float) -> LocalRuntime:
        chosen = dataclasses.replace(FAST, **settings)
        return LocalRuntime(state_dir, settings=chosen)

    yield make
    runtime = LocalRuntime(state_dir, settings=FAST)
    stopped = runtime.stop_daemon(stop_processes=True, timeout=15)
    leftovers = processes_of(state_dir)
    kill_all(leftovers)
    with contextlib.suppress(TimeoutError):  # best effort, as before: the asserts below report
        wait_for(lambda: not processes_of(state_dir), timeout=5, message="the leftovers to die")
    assert stopped, "the daemon did not stop"
    assert leftovers == [], "processes survived stop_daemon(stop_processes=True)"


@pytest.fixture
def runtime(make_runtime: Callable[..., LocalRuntime]) -> LocalRuntime:
    return make_runtime()
