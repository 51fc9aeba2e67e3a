"""Operating-system processes: start a replica, watch it, signal it, find it again.

Every replica runs under a tiny ``/bin/sh`` shim in a new session (its own process group)::

    /bin/sh -c '<shim>' gitops-agent-replica <exit-file> <command...>

The shim runs the command, writes its exit code to ``<exit-file>`` and exits with it, so
the outcome of a process survives a daemon restart (an adopted process is not our child
and its exit status could not be read otherwise). Its command line is also how a new daemon
finds replicas that a crashed one started but never recorded. Memory and CPU limits are
``setrlimit`` calls made in the child before ``exec`` (the daemon is single-threaded, which
makes ``preexec_fn`` safe). Called by ``replicas.py`` and by the daemon's adoption.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SHIM = 'f=$1; shift; "$@"; rc=$?; printf "%s\\n" "$rc" > "$f"; exit "$rc"'
MARKER = "gitops-agent-replica"
LAUNCH_ENV = "GITOPS_AGENT_LAUNCH"
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True, slots=True)
class Launch:
    """Everything needed to start one replica process."""

    command: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path
    log_path: Path
    exit_path: Path
    launch_id: str
    memory_limit_bytes: int | None = None
    cpu_seconds_limit: int | None = None


@dataclass(slots=True)
class ProcessHandle:
    """A replica's shim process: ours (``popen`` set) or adopted from an earlier daemon."""

    pid: int
    start_ticks: int
    launch_id: str
    exit_path: Path
    popen: subprocess.Popen[bytes] | None = None


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The three fields of ``/proc/<pid>/stat`` the supervisor needs."""

    state: str
    pgrp: int
    start_ticks: int


@dataclass(frozen=True, slots=True)
class FoundShim:
    """A live shim found by scanning ``/proc``."""

    pid: int
    start_ticks: int
    exit_path: Path


def child_environment(spec_env: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """A small inherited base (PATH, HOME, locale), then the spec's env, then ``extra``.

    The daemon's own environment is not passed on: it may hold the agent's credentials.
    """
    env = {key: os.environ[key] for key in BASE_ENV if key in os.environ}
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(spec_env)
    env.update(extra)
    return env


def spawn(launch: Launch) -> ProcessHandle:
    """Start the shim for ``launch`` in a new session; raises ``OSError`` on failure."""
    argv = ["/bin/sh", "-c", SHIM, MARKER, str(launch.exit_path), *launch.command]
    env = {**launch.env, LAUNCH_ENV: launch.launch_id}
    log_fd = os.open(launch.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        popen = subprocess.Popen(
            argv,
            env=env,
            cwd=launch.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_limiter(launch.memory_limit_bytes, launch.cpu_seconds_limit),  # noqa: PLW1509
        )
    finally:
        os.close(log_fd)
    stat = proc_stat(popen.pid)
    ticks = stat.start_ticks if stat else 0
    return ProcessHandle(popen.pid, ticks, launch.launch_id, launch.exit_path, popen)


def _limiter(memory: int | None, cpu: int | None) -> Callable[[], None] | None:
    """The function the child runs before ``exec`` to apply its limits, if any."""
    if memory is None and cpu is None:
        return None

    def apply_limits() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
        if cpu is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))

    return apply_limits


def proc_stat(pid: int) -> ProcStat | None:
    """State, process group and start time (clock ticks after boot) of ``pid``, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    if len(fields) < 20:
        return None
    return ProcStat(fields[0].decode(), int(fields[2]), int(fields[19]))


def is_alive(pid: int, start_ticks: int) -> bool:
    """True when ``pid`` is the same process (same start time) and not a zombie."""
    stat = proc_stat(pid)
    return stat is not None and stat.start_ticks == start_ticks and stat.state not in "ZX"


def poll_exit(handle: ProcessHandle) -> tuple[bool, int | None]:
    """``(exited, exit_code)``; the code is None when it cannot be known.

    Our own children are reaped here; an adopted one is watched through ``/proc`` and its
    code read from the shim's exit file. Codes follow the shell: 128 + N for signal N.
    """
    if handle.popen is not None:
        code = handle.popen.poll()
        if code is None:
            return False, None
        from_file = read_exit_file(handle.exit_path)
        return True, from_file if from_file is not None else _shell_code(code)
    if is_alive(handle.pid, handle.start_ticks):
        return False, None
    return True, read_exit_file(handle.exit_path)


def _shell_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def read_exit_file(path: Path) -> int | None:
    """The exit code a shim wrote, or None."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def signal_replica(handle: ProcessHandle, sig: signal.Signals) -> int:
    """Send ``sig`` to every process of the replica; returns how many were signalled.

    While the shim lives (or is an unreaped zombie) its process group is ours and gets
    the signal as a whole. Once it is gone the pid may be reused, so only processes that
    carry the replica's launch marker in their environment are signalled, one by one.
    """
    stat = proc_stat(handle.pid)
    if stat is not None and stat.start_ticks == handle.start_ticks:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(handle.pid, sig)
            return 1
    count = 0
    for pid in marked_members(handle):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            count += 1
    return count


def replica_gone(handle: ProcessHandle) -> bool:
    """True when neither the shim nor any process it left behind is alive."""
    if is_alive(handle.pid, handle.start_ticks):
        return False
    return not any(True for _ in marked_members(handle))


def marked_members(handle: ProcessHandle) -> Iterator[int]:
    """Live processes (other than the shim) in the replica's process group that carry
    its launch marker."""
    marker = f"{LAUNCH_ENV}={handle.launch_id}".encode()
    for pid in _pids():
        stat = proc_stat(pid)
        if stat is None or stat.pgrp != handle.pid or stat.state in "ZX" or pid == handle.pid:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as env_file:
                if marker in env_file.read().split(b"\0"):
                    yield pid
        except OSError:
            continue


def scan_shims(run_dir: Path) -> list[FoundShim]:
    """Live shims whose exit file lies under ``run_dir``: the replicas of this state dir."""
    prefix = str(run_dir) + "/"
    found = []
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if len(argv) < 6 or argv[1:4] != [b"-c", SHIM.encode(), MARKER.encode()]:
            continue
        exit_path = os.fsdecode(argv[4])
        stat = proc_stat(pid)
        # a shim leads its own session; a child it has forked but not yet exec'd does not
        leader = stat is not None and stat.pgrp == pid and stat.state not in "ZX"
        if exit_path.startswith(prefix) and leader and stat is not None:
            found.append(FoundShim(pid, stat.start_ticks, Path(exit_path)))
    return found


def _pids() -> Iterator[int]:
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                yield int(entry.name)
