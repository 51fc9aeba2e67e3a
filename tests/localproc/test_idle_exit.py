"""The supervisor exits by itself once it has had nothing to supervise for
``idle_exit_seconds`` (issue 14, item 12), and a client that needs it starts it again."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pytest

from gitops_agent.targets.localproc import (
    GroupMode,
    GroupPhase,
    GroupStatus,
    LocalRuntime,
    ProcessGroupSpec,
)
from gitops_agent.targets.localproc.settings import SupervisorSettings
from gitops_agent.testing.waiting import wait_for

Make = Callable[..., LocalRuntime]


def gone(runtime: LocalRuntime) -> bool:
    return runtime.daemon_pid() is None


def succeeded(run_id: str) -> Callable[[GroupStatus | None], bool]:
    return lambda s: s is not None and s.run_id == run_id and s.phase is GroupPhase.SUCCEEDED


def test_the_daemon_stays_while_a_service_runs_and_leaves_once_it_is_removed(
    make_runtime: Make,
) -> None:
    runtime = make_runtime(idle_exit_seconds=0.5, tick_seconds=0.1)
    runtime.apply(ProcessGroupSpec("svc", ("sleep", "60")))
    runtime.wait("svc", lambda s: s is not None and s.ready == 1, timeout=10)
    pid = runtime.daemon_pid()
    time.sleep(1.0)  # twice the idle time: a running service is something to supervise
    assert runtime.daemon_pid() == pid
    runtime.remove("svc")
    wait_for(lambda: gone(runtime), timeout=10, message="the idle daemon to exit")
    assert runtime.list() == []
    assert "nothing to supervise for 0.5s; exiting" in runtime.layout.daemon_log.read_text()


def test_a_finished_job_is_nothing_to_supervise_and_its_outcome_stays(make_runtime: Make) -> None:
    started: list[int] = []
    runtime = make_runtime(idle_exit_seconds=0.3, tick_seconds=0.1)
    runtime.on_start = started.append
    runtime.apply(ProcessGroupSpec("job", ("true",), mode=GroupMode.JOB, run_id="r1"))
    wait_for(lambda: gone(runtime), timeout=10, message="the idle daemon to exit")
    status = runtime.get("job")
    assert status is not None and status.phase is GroupPhase.SUCCEEDED
    runtime.apply(ProcessGroupSpec("job", ("true",), mode=GroupMode.JOB, run_id="r2"))
    runtime.wait("job", succeeded("r2"), timeout=10)
    assert len(started) == 2 and started[0] != started[1]


def test_work_asked_for_while_the_daemon_leaves_is_always_done(make_runtime: Make) -> None:
    """Each spec is written just as the daemon may be leaving: it is served by that
    daemon (which then stays) or by the next one, never lost."""
    runtime = make_runtime(idle_exit_seconds=0.02, tick_seconds=0.02)
    for run in range(15):
        runtime.apply(ProcessGroupSpec("job", ("true",), mode=GroupMode.JOB, run_id=f"r{run}"))
        runtime.wait("job", succeeded(f"r{run}"), timeout=15)
        time.sleep(0.005 * (run % 5))


def test_zero_means_never(make_runtime: Make) -> None:
    runtime = make_runtime(idle_exit_seconds=0, tick_seconds=0.05)
    pid = runtime.ensure_running()
    time.sleep(0.5)
    assert runtime.daemon_pid() == pid


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_an_idle_time_must_be_finite_and_not_negative(value: float) -> None:
    with pytest.raises(ValueError, match="idle_exit_seconds"):
        SupervisorSettings(idle_exit_seconds=value)


def test_a_huge_idle_time_goes_to_the_daemon_and_back() -> None:
    settings = SupervisorSettings(idle_exit_seconds=1e300)
    assert SupervisorSettings.from_argv(settings.to_argv()) == settings
