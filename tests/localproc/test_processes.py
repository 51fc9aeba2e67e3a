"""The process layer without a daemon: the shim, exit files, watching an adopted process,
signalling what a dead shim left behind, and finding shims in /proc."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_agent.targets.localproc.processes import (
    Launch,
    ProcessHandle,
    child_environment,
    is_alive,
    marked_members,
    poll_exit,
    replica_gone,
    scan_shims,
    signal_replica,
    spawn,
)
from gitops_agent.testing.waiting import wait_for


@pytest.fixture
def handles() -> Iterator[list[ProcessHandle]]:
    started: list[ProcessHandle] = []
    yield started
    for handle in started:
        for pid in [handle.pid, *marked_members(handle)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if handle.popen is not None:
            handle.popen.wait(timeout=5)


def launch(tmp_path: Path, *command: str, launch_id: str = "abc.1") -> Launch:
    run = tmp_path / "run" / "grp"
    run.mkdir(parents=True, exist_ok=True)
    return Launch(
        command,
        child_environment({}, {}),
        tmp_path,
        tmp_path / "0.log",
        run / f"0-{launch_id}.exit",
        launch_id,
    )


def test_the_shim_records_the_exit_code_and_the_log(
    tmp_path: Path, handles: list[ProcessHandle]
) -> None:
    handle = spawn(launch(tmp_path, "sh", "-c", "echo out; echo err >&2; exit 5"))
    handles.append(handle)
    wait_for(lambda: poll_exit(handle)[0], timeout=5, message="the shim to exit")
    assert poll_exit(handle) == (True, 5)
    assert handle.exit_path.read_text() == "5\n"
    assert (tmp_path / "0.log").read_text() == "out\nerr\n"


def test_an_adopted_process_is_watched_through_proc_and_its_exit_file(
    tmp_path: Path, handles: list[ProcessHandle]
) -> None:
    own = spawn(launch(tmp_path, "sh", "-c", "sleep 0.3; exit 9"))
    handles.append(own)
    adopted = ProcessHandle(own.pid, own.start_ticks, own.launch_id, own.exit_path)
    assert poll_exit(adopted) == (False, None)
    wait_for(own.exit_path.exists, timeout=5, message="the exit file")
    wait_for(
        lambda: own.popen is not None and own.popen.poll() is not None,
        timeout=5,
        message="the shim to be reaped",
    )
    assert poll_exit(adopted) == (True, 9)
    stranger = ProcessHandle(os.getpid(), 1, "x.1", tmp_path / "none.exit")
    assert poll_exit(stranger) == (True, None)  # same pid, other start time: not ours


def test_what_a_dead_shim_left_behind_is_found_by_its_marker(
    tmp_path: Path, handles: list[ProcessHandle]
) -> None:
    handle = spawn(launch(tmp_path, "sh", "-c", "sleep 60 & sleep 60"))
    handles.append(handle)
    wait_for(
        lambda: len(list(marked_members(handle))) >= 2,  # both sleeps (and sh)
        timeout=5,
        message="the marked members",
    )
    members = list(marked_members(handle))
    os.kill(handle.pid, signal.SIGKILL)
    wait_for(lambda: poll_exit(handle)[0], timeout=5, message="the killed shim to exit")
    assert not replica_gone(handle)
    assert signal_replica(handle, signal.SIGKILL) == len(members)
    wait_for(lambda: replica_gone(handle), timeout=5, message="the replica to be gone")


def test_the_whole_process_group_gets_the_signal(
    tmp_path: Path, handles: list[ProcessHandle]
) -> None:
    handle = spawn(launch(tmp_path, "sh", "-c", "sleep 60 | cat"))
    handles.append(handle)
    wait_for(
        lambda: len(list(marked_members(handle))) == 3,  # sh -c, sleep, cat
        timeout=5,
        message="three marked members",
    )
    assert signal_replica(handle, signal.SIGTERM) == 1
    wait_for(
        lambda: poll_exit(handle)[0] and replica_gone(handle),
        timeout=5,
        message="the shim to exit and the replica to be gone",
    )


def test_shims_are_found_by_state_dir(tmp_path: Path, handles: list[ProcessHandle]) -> None:
    handle = spawn(launch(tmp_path, "sleep", "60"))
    handles.append(handle)
    found = scan_shims(tmp_path / "run")
    assert [(shim.pid, shim.exit_path) for shim in found] == [(handle.pid, handle.exit_path)]
    assert scan_shims(tmp_path / "elsewhere") == []
    assert is_alive(handle.pid, found[0].start_ticks)


def test_the_child_environment_drops_the_daemon_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT_TOKEN", "secret")
    monkeypatch.setenv("PATH", "/opt/bin:/usr/bin")
    env = child_environment({"APP": "1", "PATH": "/custom"}, {"GITOPS_AGENT_REPLICA": "0"})
    assert "GIT_TOKEN" not in env
    assert env["PATH"] == "/custom" and env["APP"] == "1" and env["GITOPS_AGENT_REPLICA"] == "0"
    assert child_environment({}, {})["PATH"] == "/opt/bin:/usr/bin"
