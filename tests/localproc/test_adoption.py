"""Daemon restarts: adoption without duplicates, exits noticed after the fact, pid reuse,
one daemon per state dir, stopping with and without the processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from gitops_agent.targets.localproc import GroupStatus, LocalRuntime, ProcessGroupSpec
from gitops_agent.targets.localproc.processes import is_alive, proc_stat, scan_shims
from gitops_agent.testing.waiting import wait_for

from .conftest import processes_of

NAME = "worker.public.sleeper"


def sleeper(replicas: int = 2, **options: object) -> ProcessGroupSpec:
    return ProcessGroupSpec(NAME, ("sleep", "60"), replicas=replicas, **options)  # type: ignore[arg-type]


def ready(count: int):  # type: ignore[no-untyped-def]
    return lambda s: s is not None and s.ready == count and s.up_to_date


def kill_daemon(runtime: LocalRuntime) -> None:
    pid = runtime.daemon_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_no_daemon(runtime)


def _wait_no_daemon(runtime: LocalRuntime) -> None:
    wait_for(lambda: runtime.daemon_pid() is None, timeout=5, message="the daemon to be gone")


def shim_pids(runtime: LocalRuntime) -> list[int]:
    return sorted(shim.pid for shim in scan_shims(runtime.state_dir / "run"))


def settle(runtime: LocalRuntime) -> GroupStatus:
    """Wait a few ticks so that a wrong start or stop would have happened (a fixed pause, not
    a wait for a condition: the callers check that nothing changed in it)."""
    time.sleep(0.3)
    status = runtime.get(NAME)
    assert status is not None
    return status


def test_a_killed_daemon_is_replaced_without_duplicates(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    before = runtime.wait(NAME, ready(2), timeout=5)
    assert before is not None
    kill_daemon(runtime)
    assert shim_pids(runtime) == sorted(before.pids)
    runtime.ensure_running()
    after = settle(runtime)
    assert after.pids == before.pids and after.ready == 2
    assert shim_pids(runtime) == sorted(before.pids)
    # the new daemon watches the adopted replicas: a kill is noticed and repaired
    os.kill(before.pids[1], signal.SIGKILL)
    repaired = runtime.wait(NAME, lambda s: ready(2)(s) and s.pids[1] != before.pids[1], timeout=5)
    assert repaired is not None and repaired.replicas[1].restarts == 1
    assert len(shim_pids(runtime)) == 2


def test_a_detached_stop_leaves_processes_for_the_next_daemon(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    before = runtime.wait(NAME, ready(2), timeout=5)
    assert before is not None
    assert runtime.stop_daemon(stop_processes=False, timeout=5)
    assert runtime.daemon_pid() is None
    assert all(is_alive(r.pid, r.start_ticks) for r in before.replicas)  # type: ignore[arg-type]
    runtime.ensure_running()
    assert settle(runtime).pids == before.pids


def test_sigterm_detaches_the_daemon(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=1))
    before = runtime.wait(NAME, ready(1), timeout=5)
    pid = runtime.daemon_pid()
    assert pid is not None and before is not None
    os.kill(pid, signal.SIGTERM)
    _wait_no_daemon(runtime)
    assert shim_pids(runtime) == list(before.pids)
    assert not (runtime.state_dir / "daemon.pid").exists()


def test_an_exit_while_no_daemon_runs_is_recorded_and_restarted(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=1))
    before = runtime.wait(NAME, ready(1), timeout=5)
    assert before is not None
    kill_daemon(runtime)
    sleeping = [p for p in processes_of(runtime.state_dir) if _comm(p) == "sleep"]
    os.kill(sleeping[0], signal.SIGKILL)  # the shim records 137 in its exit file
    _wait_gone(before.pids[0], before.replicas[0].start_ticks or 0)
    runtime.ensure_running()
    after = runtime.wait(NAME, lambda s: ready(1)(s) and s.pids != before.pids, timeout=5)
    assert after is not None
    assert after.replicas[0].last_exit_code == 137 and after.replicas[0].restarts == 1


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _wait_gone(pid: int, ticks: int) -> None:
    wait_for(lambda: not is_alive(pid, ticks), timeout=5, message=f"process {pid} to be gone")


def test_unrecorded_replicas_are_found_and_adopted(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    before = runtime.wait(NAME, ready(2), timeout=5)
    assert before is not None
    kill_daemon(runtime)
    (runtime.state_dir / "status" / f"{NAME}.json").unlink()  # as if it died before writing
    runtime.ensure_running()
    after = settle(runtime)
    assert sorted(after.pids) == sorted(before.pids) and after.ready == 2
    assert shim_pids(runtime) == sorted(before.pids)


def test_unrecorded_replicas_of_an_older_spec_are_stopped(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=1))
    before = runtime.wait(NAME, ready(1), timeout=5)
    assert before is not None
    kill_daemon(runtime)
    (runtime.state_dir / "status" / f"{NAME}.json").unlink()
    runtime.apply(sleeper(replicas=1, env={"VERSION": "2"}))  # starts a daemon
    after = runtime.wait(NAME, lambda s: ready(1)(s) and s.pids != before.pids, timeout=5)
    assert after is not None
    _wait_gone(before.pids[0], before.replicas[0].start_ticks or 0)
    assert shim_pids(runtime) == list(after.pids)


def test_a_group_removed_while_no_daemon_runs_is_stopped_at_start(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    before = runtime.wait(NAME, ready(2), timeout=5)
    assert before is not None
    kill_daemon(runtime)
    LocalRuntime(runtime.state_dir, autostart=False).remove(NAME)
    runtime.ensure_running()
    runtime.wait(NAME, lambda s: s is None, timeout=5)
    assert shim_pids(runtime) == []


def test_a_reused_pid_is_neither_adopted_nor_signalled(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=1))
    before = runtime.wait(NAME, ready(1), timeout=5)
    assert before is not None
    kill_daemon(runtime)
    os.killpg(before.pids[0], signal.SIGKILL)
    _wait_gone(before.pids[0], before.replicas[0].start_ticks or 0)
    with subprocess.Popen(["sleep", "60"], start_new_session=True) as stranger:
        try:
            record_path = runtime.state_dir / "status" / f"{NAME}.json"
            record = json.loads(record_path.read_text())
            record["replicas"][0]["pid"] = stranger.pid  # as if the pid had been reused
            record_path.write_text(json.dumps(record))
            runtime.ensure_running()
            after = runtime.wait(
                NAME, lambda s: ready(1)(s) and s.pids[0] != stranger.pid, timeout=5
            )
            assert after is not None
            time.sleep(0.2)  # a fixed pause, not a wait: the stranger must stay unsignalled in it
            assert stranger.poll() is None
            stat = proc_stat(stranger.pid)
            assert stat is not None and stat.state not in "ZX"
        finally:
            stranger.kill()
            stranger.wait(timeout=5)


def test_only_one_daemon_runs_per_state_dir(runtime: LocalRuntime) -> None:
    pids: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            pids.append(LocalRuntime(runtime.state_dir, settings=runtime.settings).ensure_running())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    assert len(set(pids)) == 1
    wait_for(  # the losers exit right after saying so
        lambda: _pythons(runtime) == pids[:1],
        timeout=5,
        message=lambda: f"only daemon {pids[:1]}, seen {_pythons(runtime)}",
    )


def _pythons(runtime: LocalRuntime) -> list[int]:
    return [p for p in processes_of(runtime.state_dir) if _comm(p).startswith("python")]


def test_halting_without_a_daemon_stops_adopted_processes(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    before = runtime.wait(NAME, ready(2), timeout=5)
    assert before is not None
    kill_daemon(runtime)
    assert runtime.stop_daemon(stop_processes=True, timeout=10)
    assert shim_pids(runtime) == []
    status = runtime.get(NAME)
    assert status is not None and status.ready == 0 and status.pids == ()
    # the desired state is kept: the next daemon starts the replicas again
    runtime.ensure_running()
    assert runtime.wait(NAME, ready(2), timeout=5) is not None


def test_daemon_start_and_reaction_times(runtime: LocalRuntime) -> None:
    started = time.monotonic()
    runtime.ensure_running()
    start_time = time.monotonic() - started
    started = time.monotonic()
    runtime.apply(sleeper(replicas=1))
    status = runtime.wait(NAME, ready(1), timeout=5, interval=0.005)
    apply_time = time.monotonic() - started
    assert status is not None
    os.kill(status.pids[0], signal.SIGKILL)
    started = time.monotonic()
    runtime.wait(NAME, lambda s: ready(1)(s) and s.pids != status.pids, timeout=5, interval=0.005)
    restart_time = time.monotonic() - started
    assert start_time < 1.5 and apply_time < 0.5 and restart_time < 0.5, (
        start_time,
        apply_time,
        restart_time,
    )


def test_a_vanished_state_dir_stops_the_daemon_and_its_processes(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    runtime.wait(NAME, ready(2), timeout=5)
    assert len(processes_of(runtime.state_dir)) == 5  # the daemon, 2 x (shim + sleep)
    shutil.rmtree(runtime.state_dir)
    wait_for(
        lambda: not processes_of(runtime.state_dir),
        timeout=10,
        message=lambda: f"the processes to stop, seen {processes_of(runtime.state_dir)}",
    )


def test_applying_an_unchanged_spec_writes_nothing(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    desired = runtime.state_dir / "desired" / f"{NAME}.json"
    before = desired.stat().st_mtime_ns, desired.stat().st_ino
    time.sleep(0.01)  # not a wait: a rewrite in the same clock tick could keep the mtime
    runtime.apply(sleeper())
    assert (desired.stat().st_mtime_ns, desired.stat().st_ino) == before


def test_waiting_replaces_a_daemon_that_died(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=1))
    before = runtime.wait(NAME, ready(1), timeout=5)
    assert before is not None
    kill_daemon(runtime)
    os.kill(before.pids[0], signal.SIGKILL)
    after = runtime.wait(NAME, lambda s: ready(1)(s) and s.pids != before.pids, timeout=5)
    assert after is not None and runtime.daemon_pid() is not None
