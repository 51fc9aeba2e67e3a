"""How the daemon sleeps: until something happens or a deadline passes.

``Waker`` wakes the daemon's loop on: a signal (SIGCHLD when one of its children exits,
SIGHUP; SIGTERM / SIGINT also set ``terminate``), a byte written to the ``wake`` FIFO by a
client, or the exit of any watched replica process, ours or adopted, through a pidfd
(``pidfd_open``, Linux 5.3+). Where pidfds are unavailable, ``watch`` returns False and the
daemon falls back to polling adopted processes. Used by ``daemon.Supervisor`` only.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
from collections.abc import Iterable
from pathlib import Path
from types import FrameType, TracebackType

from gitops_agent.targets.localproc.processes import ProcessHandle, is_alive

Identity = tuple[int, int]  # (pid, start ticks)


class Waker:
    """Sleeps until a signal, a client's wake-up, a watched process's exit, or a timeout."""

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.terminate = False
        self._selector = selectors.DefaultSelector()
        self._own_fds: list[int] = []
        self._pidfds: dict[Identity, int] = {}
        self._previous: dict[signal.Signals, object] = {}

    def __enter__(self) -> Waker:
        read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        flags = os.O_NONBLOCK | os.O_CLOEXEC
        fifo_read = os.open(self.fifo, os.O_RDONLY | flags)
        fifo_keep = os.open(self.fifo, os.O_WRONLY | flags)  # no EOF when clients close
        self._own_fds = [read_end, fifo_read, write_end, fifo_keep]
        for fd in (read_end, fifo_read):
            self._selector.register(fd, selectors.EVENT_READ, "drain")
        signal.set_wakeup_fd(write_end)
        for sig, handler in (
            (signal.SIGCHLD, self._wake),
            (signal.SIGHUP, self._wake),
            (signal.SIGTERM, self._stop),
            (signal.SIGINT, self._stop),
        ):
            self._previous[sig] = signal.signal(sig, handler)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        signal.set_wakeup_fd(-1)
        self.watch_only(())
        self._selector.close()
        for fd in self._own_fds:
            os.close(fd)

    def _wake(self, signum: int, frame: FrameType | None) -> None:
        """Nothing to do: the wake-up fd already interrupted the sleep."""

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.terminate = True

    def watch_only(self, handles: Iterable[ProcessHandle]) -> bool:
        """Watch exactly ``handles`` for exit; False when one of them cannot be watched
        (pidfds unavailable, or it exited already): the caller should look again soon."""
        wanted = {(h.pid, h.start_ticks): h for h in handles}
        for identity in set(self._pidfds) - set(wanted):
            fd = self._pidfds.pop(identity)
            self._selector.unregister(fd)
            os.close(fd)
        complete = True
        for identity in set(wanted) - set(self._pidfds):
            pidfd = _open_pidfd(*identity)
            if pidfd is None:
                complete = False
                continue
            self._pidfds[identity] = pidfd
            self._selector.register(pidfd, selectors.EVENT_READ, "exit")
        return complete

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds; return early on any event (drained here)."""
        for key, _ in self._selector.select(max(0.0, timeout)):
            if key.data == "drain":
                with contextlib.suppress(BlockingIOError):
                    while os.read(key.fd, 4096):
                        pass


def _open_pidfd(pid: int, start_ticks: int) -> int | None:
    """A pidfd for ``pid`` if it is still the process started at ``start_ticks``; None when
    it has already exited or pidfds are not available."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return None
    if is_alive(pid, start_ticks):  # checked after opening: no pid reuse race
        return fd
    os.close(fd)
    return None
