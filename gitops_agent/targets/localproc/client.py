"""``LocalRuntime``: the client API of the supervisor, used by the local target adapter.

Writes desired specs into the state directory, wakes the daemon through its FIFO, reads
status records and logs, and starts or stops the daemon. Nothing here runs a replica: the
daemon does. Every method names the group in its errors (``TargetError`` family).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gitops_agent.errors import InvalidError, NotFoundError, TargetError, UnavailableError
from gitops_agent.targets.localproc import logs
from gitops_agent.targets.localproc.daemon import EXIT_ALREADY_RUNNING
from gitops_agent.targets.localproc.layout import StateLayout, read_json, write_json
from gitops_agent.targets.localproc.logs import ReplicaLogLine
from gitops_agent.targets.localproc.processes import is_alive
from gitops_agent.targets.localproc.records import GroupPhase, GroupStatus, parse_record
from gitops_agent.targets.localproc.settings import SupervisorSettings
from gitops_agent.targets.localproc.specs import (
    GroupMode,
    ProcessGroupSpec,
    object_ref,
    validate,
)

DAEMON_MODULE = "gitops_agent.targets.localproc"
FINISHED = (GroupPhase.SUCCEEDED, GroupPhase.FAILED)


class LocalRuntime:
    """The process groups of one state directory.

    ``autostart`` (on by default) makes ``apply`` and ``remove`` start the daemon when it
    is not running; a daemon that already runs keeps the settings it was started with.
    ``on_start`` is called with the pid of each daemon this client starts.
    """

    def __init__(
        self,
        state_dir: str | Path | None = None,
        *,
        settings: SupervisorSettings | None = None,
        autostart: bool = True,
        start_timeout: float = 10.0,
        on_start: Callable[[int], None] | None = None,
    ) -> None:
        self.layout = StateLayout.at(state_dir)
        self.settings = settings or SupervisorSettings()
        self.autostart = autostart
        self.start_timeout = start_timeout
        self.on_start = on_start

    @property
    def state_dir(self) -> Path:
        return self.layout.root

    @property
    def _ref(self) -> str:
        return f"state-dir/{self.state_dir}"

    def files_dir(self, name: str) -> Path:
        """Where the group's projected files are written (also its working directory)."""
        return self.layout.group_files(name)

    def daemon_pid(self) -> int | None:
        """The pid of the running daemon, or None."""
        identity = self._daemon_identity()
        return identity[0] if identity else None

    def _daemon_identity(self) -> tuple[int, int] | None:
        """(pid, start ticks) of the running daemon, from ``daemon.pid``."""
        try:
            pid_text, ticks_text = self.layout.pid_file.read_text().split()
            pid, ticks = int(pid_text), int(ticks_text)
        except (OSError, ValueError):
            return None
        return (pid, ticks) if is_alive(pid, ticks) else None

    def ensure_running(self) -> int:
        """Start the daemon unless it runs; returns its pid once it is ready."""
        pid = self.daemon_pid()
        if pid is not None:
            return pid
        self.layout.ensure()
        command = [sys.executable, "-m", DAEMON_MODULE, "--state-dir", str(self.state_dir)]
        command += ["--detach", "--ready-timeout", str(self.start_timeout)]
        code, said = self._run_daemon_command([*command, *self.settings.to_argv()])
        # the pid it said: a daemon with little to do may be gone by the time it is looked for
        pid = int(said) if code == 0 and said.isdigit() else None
        if code == EXIT_ALREADY_RUNNING:
            pid = self._wait_for_pid()
        if code not in (0, EXIT_ALREADY_RUNNING) or pid is None:
            raise UnavailableError(
                f"the local supervisor did not start (exit code {code}); "
                f"see {self.layout.daemon_log}",
                object_ref=self._ref,
            )
        if code == 0 and self.on_start is not None:
            self.on_start(pid)
        return pid

    def _wait_for_pid(self) -> int | None:
        """The daemon's pid; a daemon started by someone else may still be adopting."""
        deadline = time.monotonic() + self.start_timeout
        while (pid := self.daemon_pid()) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return pid

    def _run_daemon_command(
        self, command: list[str], *, timeout: float | None = None
    ) -> tuple[int, str]:
        """The exit code and the standard output of a daemon command."""
        try:
            finished = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                timeout=timeout or self.start_timeout + 5,
                check=False,
                text=True,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UnavailableError(
                f"the local supervisor did not start: {exc}",
                object_ref=self._ref,
            ) from exc
        return finished.returncode, finished.stdout.strip()

    def wake(self) -> None:
        """Make the daemon look at the state directory now (no-op when it is not running)."""
        try:
            fd = os.open(self.layout.wake_fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no daemon reading (ENXIO) or no FIFO yet
            return
        with contextlib.suppress(BlockingIOError):
            os.write(fd, b"w")
        os.close(fd)

    def apply(self, spec: ProcessGroupSpec) -> None:
        """Make ``spec`` the desired state of its group (create, scale, update or rerun)."""
        validate(spec)
        self.layout.ensure()
        if self.desired(spec.name) != spec:  # an unchanged spec is not written again
            with _as_target_error(spec.ref, "could not write the desired state"):
                write_json(self.layout.desired(spec.name), spec.to_json())
        self._after_write()

    def remove(self, name: str) -> bool:
        """Stop and forget group ``name``; False when it was not desired."""
        try:
            with _as_target_error(object_ref(name), "could not remove the desired state"):
                self.layout.desired(name).unlink()
        except NotFoundError:
            return False
        self._after_write()
        return True

    def _after_write(self) -> None:
        if self.autostart:
            self.ensure_running()
        self.wake()

    def desired(self, name: str) -> ProcessGroupSpec | None:
        """The spec last applied for ``name``; None when there is none (or it is unreadable)."""
        data = read_json(self.layout.desired(name))
        if not isinstance(data, dict):
            return None
        with contextlib.suppress(InvalidError):
            return ProcessGroupSpec.from_json(data)
        return None

    def get(self, name: str) -> GroupStatus | None:
        """The group's status; None when it is neither desired nor has processes.

        A group applied but not yet seen by the daemon shows ``pending``; one whose spec was
        removed but whose processes are still stopping shows ``terminating``.
        """
        record = parse_record(read_json(self.layout.status(name)))
        desired = self.desired(name) if self.layout.desired(name).exists() else None
        if record is None:
            return _pending(desired) if desired else None
        if desired is None:
            return record.with_phase(GroupPhase.TERMINATING)
        return record

    def list(self) -> list[GroupStatus]:
        """Every group that is desired or still has processes, sorted by name."""
        names = {p.stem for p in self.layout.desired_dir.glob("*.json")}
        names |= {p.stem for p in self.layout.status_dir.glob("*.json")}
        statuses = (self.get(name) for name in sorted(names))
        return [status for status in statuses if status is not None]

    def wait(
        self,
        name: str,
        condition: Callable[[GroupStatus | None], bool],
        *,
        timeout: float,
        interval: float = 0.02,
    ) -> GroupStatus | None:
        """Poll ``get(name)`` until ``condition`` holds; ``UnavailableError`` on timeout.
        With ``autostart``, a daemon found dead while waiting is started again."""
        deadline = time.monotonic() + timeout
        next_check = time.monotonic() + 0.5
        while True:
            status = self.get(name)
            if condition(status):
                return status
            if self.autostart and time.monotonic() >= next_check:
                self.ensure_running()  # a daemon that died meanwhile is replaced
                next_check = time.monotonic() + 0.5
            if time.monotonic() >= deadline:
                phase = status.phase if status else "absent"
                raise UnavailableError(
                    f"timed out after {timeout}s waiting (last phase: {phase})",
                    object_ref=object_ref(name),
                )
            time.sleep(interval)

    def logs(
        self,
        name: str,
        *,
        tail: int | None = None,
        follow: bool = False,
        replica: int | None = None,
        stop: threading.Event | None = None,
        timeout: float | None = None,
    ) -> Iterator[ReplicaLogLine]:
        """The group's log lines (see ``logs.read_logs``); following ends when ``stop`` is
        set, after ``timeout``, when the group is removed, or when a job has finished."""
        log_dir = self.layout.group_logs(name)
        if self.get(name) is None and not log_dir.is_dir():
            raise NotFoundError("no such process group", object_ref=object_ref(name))
        return logs.read_logs(
            log_dir,
            tail=tail,
            follow=follow,
            replicas=None if replica is None else [replica],
            keep=self.settings.log_keep,
            stop=stop,
            timeout=timeout,
            finished=lambda: self._finished(name),
        )

    def _finished(self, name: str) -> bool:
        status = self.get(name)
        return status is None or (status.mode is GroupMode.JOB and status.phase in FINISHED)

    def stop_daemon(self, *, stop_processes: bool = False, timeout: float = 30.0) -> bool:
        """Stop the daemon; with ``stop_processes`` every process is stopped first (their
        desired files stay, so the next daemon starts them again). True when it stopped."""
        identity = self._daemon_identity()
        if identity is None:
            if stop_processes and self.layout.root.is_dir():
                command = [sys.executable, "-m", DAEMON_MODULE, "--state-dir", str(self.state_dir)]
                return self._run_daemon_command([*command, "--halt"], timeout=timeout)[0] == 0
            return True
        pid, ticks = identity
        with _as_target_error(self._ref, "could not ask the daemon to stop"):
            write_json(self.layout.shutdown_file, {"pid": pid, "stopProcesses": stop_processes})
        self.wake()
        deadline = time.monotonic() + timeout
        while is_alive(pid, ticks):  # until the process is gone and its lock released
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True


@contextlib.contextmanager
def _as_target_error(ref: str, doing: str) -> Iterator[None]:
    """Turn an ``OSError`` into the project's error naming the object (group or state dir)."""
    try:
        yield
    except FileNotFoundError as exc:
        raise NotFoundError(f"{doing}: {exc.strerror}", object_ref=ref) from exc
    except OSError as exc:
        raise TargetError(f"{doing}: {exc.strerror or exc}", object_ref=ref) from exc


def _pending(spec: ProcessGroupSpec) -> GroupStatus:
    return GroupStatus(
        spec.name,
        spec.mode,
        GroupPhase.PENDING,
        desired_replicas=spec.replicas,
        spec_hash=spec.spec_hash,
        run_id=spec.run_id,
        metadata=dict(spec.metadata),
        message="waiting for the supervisor",
    )
