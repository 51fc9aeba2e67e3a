"""Service groups through the client and a real daemon: replicas, env, files, restarts,
crash loops, scaling, rolling updates, removal."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from gitops_agent.core.status import worker_status
from gitops_agent.errors import InvalidError, TargetError
from gitops_agent.targets.localproc import (
    GroupPhase,
    GroupStatus,
    LocalRuntime,
    ProcessGroupSpec,
    ReplicaState,
)
from gitops_agent.targets.localproc.states import worker_state
from gitops_agent.testing.waiting import wait_for

from .conftest import processes_of


def sleeper(name: str = "worker.public.sleeper", **options: object) -> ProcessGroupSpec:
    return ProcessGroupSpec(name, ("sleep", "60"), **options)  # type: ignore[arg-type]


def running(count: int):  # type: ignore[no-untyped-def]
    def check(status: GroupStatus | None) -> bool:
        return (
            status is not None
            and status.ready == count
            and len(status.replicas) == count
            and status.up_to_date
        )

    return check


def test_replicas_run_with_env_files_and_working_directory(runtime: LocalRuntime) -> None:
    os.environ["AGENT_SECRET_FOR_TEST"] = "must-not-leak"
    try:
        script = 'echo "greeting=$GREETING replica=$GITOPS_AGENT_REPLICA secret=$AGENT_SECRET_FOR_TEST"; cat conf/app.yaml; pwd; sleep 60'
        spec = ProcessGroupSpec(
            "worker.public.env",
            ("sh", "-c", script),
            replicas=2,
            env={"GREETING": "hello"},
            files={"conf/app.yaml": "key: value\n"},
            metadata={"owner": "test", "image": "busybox:1.36"},
        )
        runtime.apply(spec)
        status = runtime.wait(spec.name, running(2), timeout=5)
    finally:
        del os.environ["AGENT_SECRET_FOR_TEST"]
    assert status is not None and status.phase is GroupPhase.RUNNING
    assert status.metadata == {"owner": "test", "image": "busybox:1.36"}
    files_dir = runtime.files_dir(spec.name)
    assert (files_dir / "conf" / "app.yaml").read_text() == "key: value\n"
    assert oct((files_dir / "conf" / "app.yaml").stat().st_mode & 0o777) == "0o600"
    lines = _wait_for_lines(runtime, spec.name, 6)
    assert [line.text for line in lines if line.replica == 1] == [
        "greeting=hello replica=1 secret=",
        "key: value",
        str(files_dir),
    ]
    assert worker_status(worker_state(status)).runtime == "running:2"
    assert runtime.desired(spec.name) == spec


def _wait_for_lines(runtime: LocalRuntime, name: str, count: int) -> list:  # type: ignore[type-arg]
    def enough() -> list | None:  # type: ignore[type-arg]
        lines = list(runtime.logs(name))
        return lines if len(lines) >= count else None

    return wait_for(
        enough,
        timeout=5,
        message=lambda: f"{count} log lines, seen {list(runtime.logs(name))}",
    )


def test_a_killed_replica_is_restarted(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=2))
    before = runtime.wait("worker.public.sleeper", running(2), timeout=5)
    assert before is not None
    victim, survivor = before.replicas
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    after = runtime.wait(
        "worker.public.sleeper",
        lambda s: running(2)(s) and s is not None and s.replicas[0].pid != victim.pid,
        timeout=5,
    )
    assert after is not None
    assert after.replicas[0].restarts == 1
    assert after.replicas[0].last_exit_code == 128 + signal.SIGKILL
    assert after.replicas[1].pid == survivor.pid and after.replicas[1].restarts == 0


def test_a_killed_command_under_the_shim_is_restarted(runtime: LocalRuntime) -> None:
    runtime.apply(ProcessGroupSpec("pipeline", ("sh", "-c", "sleep 60 | cat")))
    before = runtime.wait("pipeline", running(1), timeout=5)
    assert before is not None and before.replicas[0].pid is not None
    sleeps = [p for p in processes_of(runtime.state_dir) if _comm(p) == "sleep"]
    assert len(sleeps) == 1
    os.kill(sleeps[0], signal.SIGTERM)
    after = runtime.wait(
        "pipeline",
        lambda s: s is not None and s.replicas[0].restarts == 1 and s.ready == 1,
        timeout=5,
    )
    assert after is not None and after.replicas[0].pid != before.replicas[0].pid
    # exactly one pipeline again: the old cat went with its process group
    assert len([p for p in processes_of(runtime.state_dir) if _comm(p) == "cat"]) == 1


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def test_a_crash_loop_is_failed_and_a_fixed_spec_recovers(runtime: LocalRuntime) -> None:
    crashing = ProcessGroupSpec("crasher", ("sh", "-c", "echo starting; exit 3"))
    runtime.apply(crashing)
    started = time.monotonic()
    failed = runtime.wait("crasher", lambda s: s is not None and s.failure is not None, timeout=5)
    assert time.monotonic() - started < 2
    assert failed is not None and failed.phase is GroupPhase.FAILED
    assert "CrashLoopBackOff" in (failed.failure or "")
    assert "exited with code 3" in (failed.failure or "")
    observed = worker_status(worker_state(failed))
    assert (observed.status, observed.runtime) == ("active", "failed")
    # it keeps retrying with backoff
    restarts = failed.replicas[0].restarts
    runtime.wait(
        "crasher", lambda s: s is not None and s.replicas[0].restarts > restarts + 1, timeout=5
    )
    fixed = ProcessGroupSpec("crasher", ("sleep", "60"))
    runtime.apply(fixed)
    healed = runtime.wait("crasher", lambda s: running(1)(s) and s.failure is None, timeout=5)
    assert healed is not None and healed.phase is GroupPhase.RUNNING


def test_a_replica_that_never_starts_is_a_crash_loop(runtime: LocalRuntime) -> None:
    runtime.apply(ProcessGroupSpec("missing", ("/nonexistent/binary",)))
    status = runtime.wait("missing", lambda s: s is not None and s.failure is not None, timeout=5)
    assert status is not None and status.replicas[0].last_exit_code == 127


def test_scaling_up_adds_exactly_the_missing_replicas(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=1))
    one = runtime.wait("worker.public.sleeper", running(1), timeout=5)
    runtime.apply(sleeper(replicas=2))
    two = runtime.wait("worker.public.sleeper", running(2), timeout=5)
    assert one is not None and two is not None
    assert two.replicas[0].pid == one.replicas[0].pid
    assert len(processes_of(runtime.state_dir)) == 1 + 2 * 2  # daemon + (shim + sleep) x 2
    runtime.apply(sleeper(replicas=1))
    back = runtime.wait("worker.public.sleeper", running(1), timeout=5)
    assert back is not None and back.pids == (one.replicas[0].pid,)


def test_removing_a_group_stops_its_processes_and_forgets_it(runtime: LocalRuntime) -> None:
    runtime.apply(ProcessGroupSpec("tree", ("sh", "-c", "sleep 60 & sleep 60 | cat"), replicas=2))
    runtime.wait("tree", running(2), timeout=5)
    assert len(processes_of(runtime.state_dir)) > 2
    assert runtime.remove("tree") is True
    gone = runtime.wait("tree", lambda s: s is None, timeout=5)
    assert gone is None
    assert processes_of(runtime.state_dir) == [runtime.daemon_pid()]
    for directory in ("logs", "files", "run"):
        assert not (runtime.state_dir / directory / "tree").exists()
    assert runtime.remove("tree") is False


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(runtime: LocalRuntime) -> None:
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    spec = ProcessGroupSpec("stubborn", (sys.executable, "-c", script), stop_grace_seconds=0.3)
    runtime.apply(spec)
    runtime.wait("stubborn", running(1), timeout=5)
    _wait_for_lines(runtime, "stubborn", 1)
    started = time.monotonic()
    runtime.remove("stubborn")
    terminating = runtime.get("stubborn")
    assert terminating is not None and terminating.phase is GroupPhase.TERMINATING
    runtime.wait("stubborn", lambda s: s is None, timeout=5)
    assert 0.3 <= time.monotonic() - started < 2


def test_a_spec_change_rolls_replicas_one_at_a_time(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=3, env={"VERSION": "1"}))
    old = runtime.wait("worker.public.sleeper", running(3), timeout=5)
    assert old is not None
    runtime.apply(sleeper(replicas=3, env={"VERSION": "1"}, metadata={"note": "relabel"}))
    relabelled = runtime.wait(
        "worker.public.sleeper",
        lambda s: s is not None and s.metadata.get("note") == "relabel",
        timeout=5,
    )
    assert relabelled is not None and relabelled.pids == old.pids
    runtime.apply(sleeper(replicas=3, env={"VERSION": "2"}))
    seen_ready = []

    def rolled() -> GroupStatus | None:
        """The status once all replicas are new; until then notes how many are ready."""
        status = runtime.get("worker.public.sleeper")
        if running(3)(status) and not (status and set(status.pids) & set(old.pids)):
            return status
        if status is not None:
            seen_ready.append(status.ready)
        return None

    # polled often: the ready counts seen on the way are what the test checks
    status = wait_for(
        rolled,
        timeout=10,
        interval=0.01,
        message=lambda: f"the roll to end, at {runtime.get('worker.public.sleeper')}",
    )
    assert min(seen_ready) >= 2  # never more than one replica down
    assert status is not None and not set(status.pids) & set(old.pids)
    assert all(r.restarts == 0 for r in status.replicas)


def test_spec_hash_alone_forces_a_rolling_restart(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    old = runtime.wait("worker.public.sleeper", running(1), timeout=5)
    runtime.apply(sleeper(spec_hash="restart-1"))
    new = runtime.wait(
        "worker.public.sleeper",
        lambda s: running(1)(s) and s is not None and s.pids != old.pids,  # type: ignore[union-attr]
        timeout=5,
    )
    assert new is not None and new.spec_hash == "restart-1"


def test_zero_replicas_is_running_zero(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper(replicas=0))
    status = runtime.wait(
        "worker.public.sleeper", lambda s: s is not None and s.updated_at > 0, timeout=5
    )
    assert status is not None and status.phase is GroupPhase.RUNNING
    assert worker_status(worker_state(status)).runtime == "running:0"


def test_invalid_specs_are_refused_with_the_group_named(runtime: LocalRuntime) -> None:
    with pytest.raises(InvalidError, match=r"^process-group/bad: file path '\.\./x'"):
        runtime.apply(ProcessGroupSpec("bad", ("true",), files={"../x": ""}))
    assert not runtime.state_dir.joinpath("desired", "bad.json").exists()


def test_a_broken_desired_file_does_not_stop_the_daemon(runtime: LocalRuntime) -> None:
    runtime.ensure_running()
    (runtime.state_dir / "desired" / "broken.json").write_text("{not json")
    runtime.apply(sleeper())
    status = runtime.wait("worker.public.sleeper", running(1), timeout=5)
    assert status is not None
    assert runtime.get("broken") is None  # unreadable: neither run nor listed
    assert [s.name for s in runtime.list()] == ["worker.public.sleeper"]
    assert "ignoring desired file" in (runtime.state_dir / "daemon.log").read_text()
    (runtime.state_dir / "desired" / "broken.json").unlink()


def test_replica_states_are_recorded(runtime: LocalRuntime) -> None:
    runtime.apply(sleeper())
    status = runtime.wait("worker.public.sleeper", running(1), timeout=5)
    assert status is not None
    replica = status.replicas[0]
    assert replica.state is ReplicaState.RUNNING
    assert (
        replica.start_ticks
        and replica.started_at
        and replica.launch_id.startswith(status.fingerprint)
    )


def test_a_failed_write_is_a_target_error_naming_the_group(runtime: LocalRuntime) -> None:
    (runtime.state_dir / "desired" / "blocked.json").mkdir(parents=True)
    with pytest.raises(TargetError, match=r"^process-group/blocked: could not write"):
        runtime.apply(sleeper("blocked"))
    (runtime.state_dir / "desired" / "blocked.json").rmdir()
