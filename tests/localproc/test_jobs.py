"""Job groups (workflow steps) and resource limits, through a real daemon."""

from __future__ import annotations

import os
import signal
import sys
import time

from gitops_agent.core.status import Phase, WorkflowState, workflow_status
from gitops_agent.targets.localproc import (
    GroupMode,
    GroupPhase,
    GroupStatus,
    LocalRuntime,
    ProcessGroupSpec,
    ReplicaState,
)
from gitops_agent.targets.localproc.processes import is_alive
from gitops_agent.targets.localproc.states import job_phase, step_state
from gitops_agent.testing.waiting import wait_for

MiB = 1024 * 1024


def job(name: str, script: str, run_id: str = "run-1", **options: object) -> ProcessGroupSpec:
    return ProcessGroupSpec(
        name,
        ("sh", "-c", script),
        mode=GroupMode.JOB,
        run_id=run_id,
        **options,  # type: ignore[arg-type]
    )


def finished(run_id: str = "run-1"):  # type: ignore[no-untyped-def]
    def check(status: GroupStatus | None) -> bool:
        done = (GroupPhase.SUCCEEDED, GroupPhase.FAILED)
        return status is not None and status.run_id == run_id and status.phase in done

    return check


def test_steps_succeed_or_fail_by_exit_code(runtime: LocalRuntime) -> None:
    runtime.apply(job("wf.extract", "echo extracted"))
    runtime.apply(job("wf.load", "echo loading; exit 4"))
    good = runtime.wait("wf.extract", finished(), timeout=5)
    bad = runtime.wait("wf.load", finished(), timeout=5)
    assert good is not None and good.phase is GroupPhase.SUCCEEDED
    assert bad is not None and bad.phase is GroupPhase.FAILED
    assert bad.replicas[0].state is ReplicaState.FAILED and bad.replicas[0].last_exit_code == 4
    steps = (step_state("extract", good), step_state("load", bad))
    assert steps[1].message == "replica 0 exited with code 4"
    observed = workflow_status(WorkflowState(present=True, steps=steps))
    assert observed.runtime == "failed" and "load: replica 0 exited with code 4" in observed.message
    assert [line.text for line in runtime.logs("wf.load")] == ["loading"]
    time.sleep(0.2)  # a fixed pause, not a wait: a finished step must not run again in it
    again = runtime.get("wf.extract")
    assert again is not None and again.replicas == good.replicas  # not run twice


def test_a_new_run_id_runs_again_and_keeps_the_previous_log(runtime: LocalRuntime) -> None:
    runtime.apply(job("wf.step", "echo run $RUN", env={"RUN": "1"}))
    first = runtime.wait("wf.step", finished(), timeout=5)
    assert first is not None and first.phase is GroupPhase.SUCCEEDED
    assert job_phase(first, run_id="run-2") is Phase.PENDING
    runtime.apply(job("wf.step", "echo run $RUN; exit 1", run_id="run-2", env={"RUN": "2"}))
    second = runtime.wait("wf.step", finished("run-2"), timeout=5)
    assert second is not None and second.phase is GroupPhase.FAILED
    assert job_phase(second, run_id="run-2") is Phase.FAILED
    assert [line.text for line in runtime.logs("wf.step")] == ["run 1", "run 2"]
    assert [line.text for line in runtime.logs("wf.step", tail=1)] == ["run 2"]
    log_dir = runtime.state_dir / "logs" / "wf.step"
    assert (log_dir / "0.log.1").read_text() == "run 1\n"


def test_a_finished_job_is_not_rerun_by_a_new_daemon(runtime: LocalRuntime) -> None:
    runtime.apply(job("wf.once", "echo once"))
    first = runtime.wait("wf.once", finished(), timeout=5)
    assert first is not None
    assert runtime.stop_daemon(stop_processes=True, timeout=5)
    runtime.ensure_running()
    time.sleep(0.3)  # a fixed pause, not a wait: the new daemon must not rerun the job in it
    again = runtime.get("wf.once")
    assert again is not None and again.phase is GroupPhase.SUCCEEDED
    assert again.replicas[0].started_at == first.replicas[0].started_at
    assert [line.text for line in runtime.logs("wf.once")] == ["once"]


def test_a_job_finishing_while_no_daemon_runs_keeps_its_outcome(runtime: LocalRuntime) -> None:
    runtime.apply(job("wf.slow", "sleep 0.5; echo done; exit 3"))
    running = runtime.wait(
        "wf.slow", lambda s: s is not None and s.phase is GroupPhase.RUNNING, timeout=5
    )
    assert running is not None
    daemon = runtime.daemon_pid()
    assert daemon is not None
    os.kill(daemon, signal.SIGKILL)
    shim, ticks = running.replicas[0].pid, running.replicas[0].start_ticks
    assert shim is not None and ticks is not None
    wait_for(  # the job ends, its shim writing the exit file, while no daemon runs
        lambda: runtime.daemon_pid() is None and not is_alive(shim, ticks),
        timeout=5,
        message="the daemon to be gone and the job's shim to exit",
    )
    runtime.ensure_running()
    outcome = runtime.wait("wf.slow", finished(), timeout=5)
    assert outcome is not None and outcome.phase is GroupPhase.FAILED
    assert outcome.replicas[0].last_exit_code == 3
    assert outcome.replicas[0].pid is None


def test_following_a_job_ends_when_it_finishes(runtime: LocalRuntime) -> None:
    runtime.apply(job("wf.chatty", "for i in 1 2 3; do echo line $i; sleep 0.1; done"))
    runtime.wait("wf.chatty", lambda s: s is not None and s.replicas != (), timeout=5)
    started = time.monotonic()
    lines = [line.text for line in runtime.logs("wf.chatty", follow=True, timeout=10)]
    assert lines == ["line 1", "line 2", "line 3"]
    assert time.monotonic() - started < 3


def test_a_process_over_its_memory_limit_fails(runtime: LocalRuntime) -> None:
    grab = "data = bytearray(300 * 1024 * 1024); print('allocated', len(data))"
    command = (sys.executable, "-c", grab)
    limited = ProcessGroupSpec(
        "wf.hungry", command, mode=GroupMode.JOB, run_id="1", memory_limit_bytes=128 * MiB
    )
    roomy = ProcessGroupSpec(
        "wf.roomy", command, mode=GroupMode.JOB, run_id="1", memory_limit_bytes=1024 * MiB
    )
    runtime.apply(limited)
    runtime.apply(roomy)
    hungry = runtime.wait("wf.hungry", finished("1"), timeout=10)
    fine = runtime.wait("wf.roomy", finished("1"), timeout=10)
    assert hungry is not None and hungry.phase is GroupPhase.FAILED
    assert "MemoryError" in "\n".join(line.text for line in runtime.logs("wf.hungry"))
    assert fine is not None and fine.phase is GroupPhase.SUCCEEDED


def test_a_memory_limited_service_crash_loops(runtime: LocalRuntime) -> None:
    grab = "import time; data = bytearray(300 * 1024 * 1024); time.sleep(60)"
    runtime.apply(
        ProcessGroupSpec("hungry", (sys.executable, "-c", grab), memory_limit_bytes=128 * MiB)
    )
    status = runtime.wait("hungry", lambda s: s is not None and s.failure is not None, timeout=10)
    assert status is not None and "exited with code 1" in (status.failure or "")


def test_a_process_over_its_cpu_limit_is_killed(runtime: LocalRuntime) -> None:
    spin = ProcessGroupSpec(
        "wf.spin",
        (sys.executable, "-c", "while True: pass"),
        mode=GroupMode.JOB,
        run_id="1",
        cpu_seconds_limit=1,
    )
    runtime.apply(spin)
    status = runtime.wait("wf.spin", finished("1"), timeout=10)
    assert status is not None and status.phase is GroupPhase.FAILED
    assert status.replicas[0].last_exit_code == 128 + signal.SIGXCPU
    assert status.message == "replica 0 killed by SIGXCPU"


def test_parallel_job_replicas_all_have_to_succeed(runtime: LocalRuntime) -> None:
    script = 'test "$GITOPS_AGENT_REPLICA" != 2'
    runtime.apply(job("wf.parallel", script, replicas=3))
    status = runtime.wait("wf.parallel", finished(), timeout=5)
    assert status is not None and status.phase is GroupPhase.FAILED
    states = [r.state for r in status.replicas]
    assert states == [ReplicaState.SUCCEEDED, ReplicaState.SUCCEEDED, ReplicaState.FAILED]


def test_a_job_interrupted_by_stopping_everything_runs_again(runtime: LocalRuntime) -> None:
    runtime.apply(job("wf.long", "echo start; sleep 0.4; echo end"))
    runtime.wait("wf.long", lambda s: s is not None and s.phase is GroupPhase.RUNNING, timeout=5)
    assert runtime.stop_daemon(stop_processes=True, timeout=10)
    interrupted = runtime.get("wf.long")
    assert interrupted is not None and interrupted.replicas[0].state is ReplicaState.PENDING
    runtime.ensure_running()
    outcome = runtime.wait("wf.long", finished(), timeout=5)
    assert outcome is not None and outcome.phase is GroupPhase.SUCCEEDED
    assert [line.text for line in runtime.logs("wf.long")] == ["start", "start", "end"]
