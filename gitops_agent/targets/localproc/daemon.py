"""The supervisor daemon: one per state directory, reconciling desired files into processes.

``Supervisor.run`` takes the state directory's lock (a second daemon exits with
``EXIT_ALREADY_RUNNING``), rebuilds its groups from the status records and adopts the
processes that are still alive (same pid *and* same start time; a ``/proc`` scan also finds
replicas a crashed daemon started but never recorded), writes ``daemon.pid``, reports ready,
then loops: read ``desired/*.json`` (re-parsing only changed files), step every group, rotate
big logs, write changed ``status/*.json`` records, and sleep until a child exits, a client
writes to the ``wake`` FIFO, a signal arrives, or ``tick_seconds`` pass.

Stopping: SIGTERM / SIGINT, or ``shutdown.json`` without ``stopProcesses``, make it exit and
leave the processes running for the next daemon to adopt; ``shutdown.json`` with
``stopProcesses`` (or ``--halt``) stops every process first. It also exits by itself once it
has had nothing to supervise for ``idle_exit_seconds``. Started by ``__main__``.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from gitops_agent.errors import GitOpsError
from gitops_agent.targets.localproc import logs
from gitops_agent.targets.localproc.groups import GroupRuntime
from gitops_agent.targets.localproc.layout import StateLayout, read_json, write_atomic, write_json
from gitops_agent.targets.localproc.processes import ProcessHandle, is_alive, proc_stat, scan_shims
from gitops_agent.targets.localproc.records import parse_record
from gitops_agent.targets.localproc.settings import SupervisorSettings
from gitops_agent.targets.localproc.specs import ProcessGroupSpec
from gitops_agent.targets.localproc.waking import Waker

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ALREADY_RUNNING = 3
UNWATCHED_POLL_SECONDS = 0.1


class Shutdown(enum.Enum):
    """How the daemon is leaving."""

    DETACH = "detach"  # exit, processes keep running
    HALT = "halt"  # stop every process, then exit


class Supervisor:
    """The reconciliation loop over all groups of one state directory."""

    def __init__(self, layout: StateLayout, settings: SupervisorSettings) -> None:
        self.layout = layout
        self.settings = settings
        self.groups: dict[str, GroupRuntime] = {}
        self.shutdown: Shutdown | None = None
        self._desired_keys: dict[str, tuple[int, int, int]] = {}
        self._written: dict[str, str] = {}
        self._next_log_check = 0.0
        self._idle_since: float | None = None

    def run(self, *, halt: bool = False, on_ready: Callable[[], None] | None = None) -> int:
        """Serve until asked to stop; returns the process exit code."""
        self.layout.ensure()
        lock_fd = _lock_unless_served(self.layout)
        if lock_fd is None:
            log.info("a daemon already runs for %s", self.layout.root)
            return EXIT_ALREADY_RUNNING
        try:
            with Waker(self.layout.wake_fifo) as waker:
                self.restore()
                _write_pid_file(self.layout.pid_file)
                log.info("daemon %d serving %s", os.getpid(), self.layout.root)
                if halt:
                    self.begin_halt()
                if on_ready:
                    on_ready()
                self._loop(waker)
        finally:
            _remove_pid_file(self.layout.pid_file)
            os.close(lock_fd)
        log.info("daemon %d stopped", os.getpid())
        return EXIT_OK

    def _loop(self, waker: Waker) -> None:
        while True:
            if not self.layout.desired_dir.is_dir():
                log.error("the state directory %s is gone; stopping everything", self.layout.root)
                return self._halt_orphans()
            self.tick(time.monotonic())
            if waker.terminate:
                self.shutdown = Shutdown.DETACH
            if self.shutdown is Shutdown.DETACH:
                return
            if self.shutdown is Shutdown.HALT and not self._any_processes():
                return
            if self._idle_long_enough(time.monotonic()) and self._exit_when_idle():
                return
            watching = waker.watch_only(h for g in self.groups.values() for h in g.watched())
            waker.wait(self._sleep_time(time.monotonic(), watching=watching))
            self._read_shutdown_request()

    def _idle_long_enough(self, now: float) -> bool:
        """True once no group has had anything to do for ``idle_exit_seconds`` (never with 0)."""
        limit = self.settings.idle_exit_seconds
        if not limit or not all(group.idle for group in self.groups.values()):
            self._idle_since = None
            return False
        if self._idle_since is None:
            self._idle_since = now
        return now - self._idle_since >= limit

    def _exit_when_idle(self) -> bool:
        """Leave, unless a client asked for work meanwhile. The pid file goes first: a
        client that wrote a spec before it went was seen by the pass below, and one that
        looks after it starts a new daemon, which waits for this one's lock."""
        _remove_pid_file(self.layout.pid_file)
        self.tick(time.monotonic())
        if all(group.idle for group in self.groups.values()):
            log.info("nothing to supervise for %ss; exiting", self.settings.idle_exit_seconds)
            return True
        _write_pid_file(self.layout.pid_file)
        self._idle_since = None
        return False

    def _sleep_time(self, now: float, *, watching: bool) -> float:
        """Until the next deadline, at most ``tick_seconds``; short when an exit may be
        missed because a process could not be watched."""
        candidates = [self.settings.tick_seconds, self._next_log_check - now]
        candidates += [d - now for g in self.groups.values() if (d := g.next_deadline(now))]
        if not watching:
            candidates.append(UNWATCHED_POLL_SECONDS)
        return max(0.0, min(candidates))

    def restore(self) -> None:
        """Groups from the records, their specs, and unrecorded replicas found in /proc."""
        for path in sorted(self.layout.status_dir.glob("*.json")):
            record = parse_record(read_json(path))
            if record is not None and record.name == path.stem:
                self.groups[record.name] = GroupRuntime.restore(
                    record, layout=self.layout, settings=self.settings
                )
                self._written[record.name] = ""
        self.load_desired()
        known = {r.handle.pid for g in self.groups.values() for r in g.all_replicas() if r.handle}
        for shim in scan_shims(self.layout.run_dir):
            parsed = _parse_exit_path(self.layout, shim.exit_path)
            if parsed is None or shim.pid in known:
                continue
            name, index, launch_id = parsed
            handle = ProcessHandle(shim.pid, shim.start_ticks, launch_id, shim.exit_path)
            adopted = self._group(name).adopt(index, handle)
            log.info("%s/%d: unrecorded pid %d %s", name, index, shim.pid,
                     "adopted" if adopted else "stopped")  # fmt: skip

    def _halt_orphans(self) -> None:
        """Stop every process without touching the (vanished) state directory."""
        self.begin_halt()
        deadline = time.monotonic() + max((g.grace for g in self.groups.values()), default=0) + 1
        while self._any_processes() and time.monotonic() < deadline:
            for group in self.groups.values():
                group.step(time.monotonic())
            time.sleep(0.02)

    def begin_halt(self) -> None:
        self.shutdown = Shutdown.HALT
        for group in self.groups.values():
            group.halting = True

    def _group(self, name: str) -> GroupRuntime:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = GroupRuntime(
                name, layout=self.layout, settings=self.settings
            )
            group.halting = self.shutdown is Shutdown.HALT
        return group

    def tick(self, now: float) -> None:
        """One pass; an unexpected error is logged and the next pass retries."""
        try:
            self._tick(now)
        except Exception:
            log.exception("a reconciliation pass failed; retrying shortly")
            time.sleep(min(1.0, 10 * self.settings.tick_seconds))

    def _tick(self, now: float) -> None:
        """Desired files in, processes moved, records out."""
        self.load_desired()
        for name, group in list(self.groups.items()):
            try:
                group.step(now)
            except Exception:
                log.exception("%s: reconciling failed; retrying on the next tick", name)
            if group.removed:
                self._forget(name)
        if now >= self._next_log_check:
            self._rotate_logs()
            self._next_log_check = now + self.settings.log_check_seconds
        self._write_records()

    def load_desired(self) -> None:
        """Give each group its spec from ``desired/<name>.json`` (None when the file is gone)."""
        seen: set[str] = set()
        with os.scandir(self.layout.desired_dir) as entries:
            for entry in entries:
                if not entry.name.endswith(".json") or entry.name.startswith("."):
                    continue
                name = entry.name[: -len(".json")]
                try:
                    info = entry.stat()
                except FileNotFoundError:  # removed while we looked
                    continue
                seen.add(name)
                key = (info.st_mtime_ns, info.st_size, info.st_ino)
                if self._desired_keys.get(name) != key:
                    self._desired_keys[name] = key
                    self._load_spec(name, Path(entry.path))
        for name in set(self._desired_keys) - seen:
            del self._desired_keys[name]
        for name, group in self.groups.items():
            if name not in seen:
                group.set_spec(None)

    def _load_spec(self, name: str, path: Path) -> None:
        data = read_json(path)
        try:
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            spec = ProcessGroupSpec.from_json(data)
            if spec.name != name:
                raise ValueError(f"the file names group {name!r} but holds {spec.name!r}")
        except (GitOpsError, ValueError) as exc:
            log.error("%s: ignoring desired file %s: %s", name, path, exc)
            return
        self._group(name).set_spec(spec)

    def _forget(self, name: str) -> None:
        del self.groups[name]
        self._written.pop(name, None)
        for directory in self.layout.group_dirs(name):
            shutil.rmtree(directory, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):  # last: a client then sees it all gone
            self.layout.status(name).unlink()
        log.info("%s: removed", name)

    def _rotate_logs(self) -> None:
        for name in self.groups:
            for index in logs.replica_indices(self.layout.group_logs(name)):
                path = self.layout.replica_log(name, index)
                limit, keep = self.settings.log_max_bytes, self.settings.log_keep
                if logs.rotate_if_larger(path, max_bytes=limit, keep=keep):
                    log.info("%s/%d: log rotated", name, index)

    def _write_records(self) -> None:
        for name, group in self.groups.items():
            data = group.status().to_json()
            comparable = json.dumps({k: v for k, v in data.items() if k != "updatedAt"})
            if self._written.get(name) != comparable:
                write_json(self.layout.status(name), data)
                self._written[name] = comparable

    def _any_processes(self) -> bool:
        return any(group.has_processes for group in self.groups.values())

    def _read_shutdown_request(self) -> None:
        request = read_json(self.layout.shutdown_file)
        if not isinstance(request, dict) or request.get("pid") != os.getpid():
            return
        with contextlib.suppress(FileNotFoundError):
            self.layout.shutdown_file.unlink()
        if request.get("stopProcesses"):
            log.info("stopping every process, then exiting")
            self.begin_halt()
        else:
            self.shutdown = Shutdown.DETACH


def _parse_exit_path(layout: StateLayout, path: Path) -> tuple[str, int, str] | None:
    """``run/<name>/<index>-<launch>.exit`` -> (name, index, launch id)."""
    try:
        relative = path.relative_to(layout.run_dir)
    except ValueError:
        return None
    if len(relative.parts) != 2 or not relative.name.endswith(".exit"):
        return None
    index, _, launch_id = relative.name[: -len(".exit")].partition("-")
    return (relative.parts[0], int(index), launch_id) if index.isdigit() else None


def _lock_unless_served(layout: StateLayout, *, timeout: float = 5.0) -> int | None:
    """Take the state dir's lock; None when another daemon holds it and serves. A daemon
    that is still exiting holds it a little longer, so the lock is tried again meanwhile."""
    deadline = time.monotonic() + timeout
    while (fd := _lock(layout.lock_file)) is None:
        if _serving_pid(layout.pid_file) is not None or time.monotonic() >= deadline:
            return None
        time.sleep(0.01)
    return fd


def _serving_pid(path: Path) -> int | None:
    """The pid in ``daemon.pid`` when that process is alive (same start time)."""
    try:
        pid_text, ticks_text = path.read_text().split()
        pid, ticks = int(pid_text), int(ticks_text)
    except (OSError, ValueError):
        return None
    return pid if pid != os.getpid() and is_alive(pid, ticks) else None


def _lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _write_pid_file(path: Path) -> None:
    stat = proc_stat(os.getpid())
    write_atomic(path, f"{os.getpid()} {stat.start_ticks if stat else 0}\n", mode=0o644)


def _remove_pid_file(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.read_text().split()[0] == str(os.getpid()):
            path.unlink()
