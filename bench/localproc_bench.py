"""Reaction times of the local process supervisor, against bare process start-up floors.

Measures, on a fresh state dir with the default daemon settings:

* daemon start: ``LocalRuntime.ensure_running()`` cold (fork, lock, adopt, ready), against
  the floor of starting the same interpreter with ``python -c pass``;
* apply -> running: ``apply`` of a one-replica group until its status shows it running,
  against the floor of ``Popen`` + the process appearing in ``/proc`` for the same command;
* restart latency: SIGKILL of a replica until the replacement runs, same floor;
* adoption: daemon killed with SIGKILL and started again with ``--groups`` x 2 replicas
  running, until every replica is adopted (no process started), and the daemon's CPU use
  while idle with those replicas.

Run: ``.venv/bin/python bench/localproc_bench.py [--samples N] [--groups N]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gitops_agent.targets.localproc import GroupStatus, LocalRuntime, ProcessGroupSpec
from gitops_agent.targets.localproc.processes import proc_stat

COMMAND = ("sleep", "600")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def running(status: GroupStatus | None, *, avoid: tuple[int, ...] = ()) -> bool:
    return (
        status is not None
        and status.ready == status.desired_replicas > 0
        and (not set(status.pids) & set(avoid))
    )


def popen_floor() -> float:
    """Popen of the command until the child shows in /proc; the child is then killed."""
    started = time.perf_counter()
    with subprocess.Popen(COMMAND, start_new_session=True) as child:
        while proc_stat(child.pid) is None:
            time.sleep(0.0005)
        elapsed = time.perf_counter() - started
        child.kill()
    return elapsed


def measure_start(state: Path, samples: int) -> tuple[list[float], list[float]]:
    starts, floors = [], []
    for _ in range(samples):
        runtime = LocalRuntime(state)
        starts.append(timed(runtime.ensure_running))
        runtime.stop_daemon(stop_processes=True)
        floors.append(timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)))
    return starts, floors


def measure_apply_and_restart(
    runtime: LocalRuntime, samples: int
) -> tuple[list[float], list[float]]:
    applies, restarts = [], []
    for number in range(samples):
        name = f"bench-{number}"
        applies.append(
            timed(
                lambda name=name: (
                    runtime.apply(ProcessGroupSpec(name, COMMAND)),
                    runtime.wait(name, running, timeout=10, interval=0.001),
                )
            )
        )
        status = runtime.get(name)
        assert status is not None
        old = status.pids
        started = time.perf_counter()
        os.kill(old[0], signal.SIGKILL)
        runtime.wait(name, lambda s, old=old: running(s, avoid=old), timeout=10, interval=0.001)
        restarts.append(time.perf_counter() - started)
        runtime.remove(name)
    return applies, restarts


def measure_adoption(runtime: LocalRuntime, groups: int) -> tuple[float, float, bool]:
    for number in range(groups):
        runtime.apply(ProcessGroupSpec(f"adopt-{number}", COMMAND, replicas=2))
    for number in range(groups):
        runtime.wait(f"adopt-{number}", running, timeout=30)
    before = {s.name: s.pids for s in runtime.list()}
    daemon = runtime.daemon_pid()
    assert daemon is not None
    os.kill(daemon, signal.SIGKILL)
    while runtime.daemon_pid() is not None:
        time.sleep(0.001)
    adopt = timed(runtime.ensure_running)
    time.sleep(0.5)
    same = {s.name: s.pids for s in runtime.list()} == before
    daemon = runtime.daemon_pid()
    assert daemon is not None
    cpu_before = _cpu_seconds(daemon)
    time.sleep(2.0)
    idle_cpu = (_cpu_seconds(daemon) - cpu_before) / 2.0
    return adopt, idle_cpu, same


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--groups", type=int, default=25)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="localproc-bench-") as tmp:
        state = Path(tmp) / "state"
        starts, start_floors = measure_start(state, arguments.samples)
        runtime = LocalRuntime(state)
        runtime.ensure_running()
        try:
            applies, restarts = measure_apply_and_restart(runtime, arguments.samples)
            floors = [popen_floor() for _ in range(arguments.samples)]
            adopt, idle_cpu, same = measure_adoption(runtime, arguments.groups)
        finally:
            runtime.stop_daemon(stop_processes=True)
    floor = median_ms(floors)
    print(f"daemon start      {median_ms(starts):7.1f} ms  "
          f"(python -c pass {median_ms(start_floors):.1f} ms, x{median_ms(starts) / median_ms(start_floors):.1f})")  # fmt: skip
    print(f"apply -> running  {median_ms(applies):7.1f} ms  (Popen floor {floor:.2f} ms, "
          f"x{median_ms(applies) / floor:.1f})")  # fmt: skip
    print(f"restart latency   {median_ms(restarts):7.1f} ms  (x{median_ms(restarts) / floor:.1f} the floor)")  # fmt: skip
    print(f"adoption          {adopt * 1000:7.1f} ms  for {arguments.groups * 2} replicas; "
          f"same pids: {same}; idle daemon CPU {idle_cpu * 100:.2f}%")  # fmt: skip
    print(f"RESULT start_ms={median_ms(starts):.1f} start_floor_ms={median_ms(start_floors):.1f} "
          f"apply_ms={median_ms(applies):.1f} restart_ms={median_ms(restarts):.1f} "
          f"popen_floor_ms={floor:.2f} adopt_ms={adopt * 1000:.1f} adopted_same_pids={int(same)} "
          f"idle_cpu_pct={idle_cpu * 100:.2f}")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
