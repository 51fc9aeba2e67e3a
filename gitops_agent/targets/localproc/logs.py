"""Replica logs: rotation by the daemon, reading and following by clients.

A replica's stdout and stderr go straight from the process to ``logs/<name>/<i>.log``
(opened ``O_APPEND``), so logging goes on while the daemon restarts. The daemon rotates a
file that grew past its size limit by *copy and truncate* (the writer keeps its descriptor):
``<i>.log`` is copied to ``<i>.log.1`` (older generations shift to ``.2`` .. ``.N``), then
truncated. A rotation holds an exclusive ``flock`` on the log file and a reader a shared
one, so a follower never sees a half-rotated file; a counter file ``<i>.log.rotations``
tells it how many rotations it missed, and it finishes the old content from the kept
generations before reading on. Lines written between the last copy and
the truncation (microseconds) can be lost, as with logrotate's ``copytruncate``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gitops_agent.targets.localproc.layout import write_atomic


@dataclass(frozen=True, slots=True)
class ReplicaLogLine:
    """One line of one replica's output (without its newline)."""

    replica: int
    text: str


def replica_indices(log_dir: Path) -> list[int]:
    """The replica numbers that have a log file in ``log_dir``, sorted."""
    try:
        names = os.listdir(log_dir)
    except OSError:
        return []
    return sorted(int(n[:-4]) for n in names if n.endswith(".log") and n[:-4].isdigit())


def generation(path: Path, number: int) -> Path:
    """``<i>.log.<number>``: an older generation of a log file."""
    return path.with_name(f"{path.name}.{number}")


def rotate_if_larger(path: Path, *, max_bytes: int, keep: int) -> bool:
    """Rotate ``path`` when it holds more than ``max_bytes``; True when it was rotated."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except OSError:
        return False
    return rotate(path, keep=keep)


def rotate(path: Path, *, keep: int, wait: bool = False) -> bool:
    """Copy ``path`` to generation 1 (shifting older ones, dropping those past ``keep``),
    then truncate it. Skipped (False) when a reader holds the file and ``wait`` is off."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the lock is released
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        if keep > 0:
            _shift_generations(path, keep)
            _copy_to_first_generation(handle, path)
        os.truncate(path, 0)
        write_atomic(rotation_counter(path), f"{rotations(path) + 1}\n")
    return True


def rotation_counter(path: Path) -> Path:
    """``<i>.log.rotations``: how many times ``<i>.log`` was rotated (for followers)."""
    return path.with_name(f"{path.name}.rotations")


def rotations(path: Path) -> int:
    try:
        return int(rotation_counter(path).read_text())
    except (OSError, ValueError):
        return 0


def _shift_generations(path: Path, keep: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        generation(path, keep).unlink()
    for number in range(keep - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.replace(generation(path, number), generation(path, number + 1))


def _copy_to_first_generation(handle: BinaryIO, path: Path) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(handle, out, 1024 * 1024)
    os.chmod(temporary, 0o600)
    os.replace(temporary, generation(path, 1))


class _Cursor:
    """Where a reader is in one replica's log, across rotations."""

    def __init__(self, replica: int, path: Path, *, keep: int) -> None:
        self.replica = replica
        self.path = path
        self.keep = keep
        self.offset = 0
        self.partial = b""
        self.rotations = rotations(path)

    def read_new(self) -> list[ReplicaLogLine]:
        """Complete lines written since the last call (a rotation in between is followed)."""
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError:
            return []
        with handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            data = self._rotated_rest() + self._read_from(handle)
        *complete, self.partial = (self.partial + data).split(b"\n")
        return [ReplicaLogLine(self.replica, _decode(line)) for line in complete]

    def _rotated_rest(self) -> bytes:
        """What was rotated away since the last read: the rest of the generation that holds
        our offset, then any younger generations in full (oldest first)."""
        count = rotations(self.path)
        missed, self.rotations = count - self.rotations, count
        if missed <= 0:
            return b""
        offset, self.offset = self.offset, 0
        chunks = []
        for number in range(min(missed, self.keep), 0, -1):
            start = offset if number == missed else 0
            with contextlib.suppress(OSError), open(generation(self.path, number), "rb") as old:
                old.seek(start)
                chunks.append(old.read())
        return b"".join(chunks)

    def _read_from(self, handle: BinaryIO) -> bytes:
        size = os.fstat(handle.fileno()).st_size
        if size < self.offset:  # truncated without a kept generation
            self.offset = 0
        handle.seek(self.offset)
        data = handle.read(size - self.offset)
        self.offset += len(data)
        return data

    def flush(self) -> list[ReplicaLogLine]:
        """The unterminated last line, if any."""
        rest, self.partial = self.partial, b""
        return [ReplicaLogLine(self.replica, _decode(rest))] if rest else []


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").removesuffix("\r")


def _history(path: Path, *, tail: int | None, keep: int) -> Iterator[str]:
    """Lines of the kept generations of ``path``, oldest first (the current file excluded)."""
    lines: deque[str] = deque(maxlen=tail)
    for number in range(keep, 0, -1):
        with contextlib.suppress(OSError), open(generation(path, number), "rb") as old:
            lines.extend(_decode(line.rstrip(b"\n")) for line in old)
    return iter(lines)


def read_logs(
    log_dir: Path,
    *,
    tail: int | None = None,
    follow: bool = False,
    replicas: Sequence[int] | None = None,
    keep: int = 3,
    stop: threading.Event | None = None,
    timeout: float | None = None,
    finished: Callable[[], bool] | None = None,
    poll_interval: float = 0.1,
) -> Iterator[ReplicaLogLine]:
    """Lines of the replicas' logs: the last ``tail`` per replica (all when None), replica
    by replica; with ``follow``, then new lines as they come, until ``stop`` is set,
    ``timeout`` seconds pass, or ``finished()`` turns true (checked after a last read)."""
    chosen = list(replicas) if replicas is not None else replica_indices(log_dir)
    cursors = [_Cursor(i, log_dir / f"{i}.log", keep=keep) for i in chosen]
    for cursor in cursors:
        yield from _snapshot(cursor, tail=tail, keep=keep, follow=follow)
    if not follow:
        return
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        done = finished() if finished else False
        cursors = _add_new_replicas(log_dir, cursors, replicas, keep=keep)
        for cursor in cursors:
            yield from cursor.read_new()
        if done or (stop is not None and stop.is_set()):
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        if stop is not None:
            stop.wait(poll_interval)
        else:
            time.sleep(poll_interval)
    for cursor in cursors:
        yield from cursor.flush()


def _snapshot(
    cursor: _Cursor, *, tail: int | None, keep: int, follow: bool
) -> Iterator[ReplicaLogLine]:
    if tail == 0:
        cursor.read_new()
        return
    history = _history(cursor.path, tail=tail, keep=keep)
    current = [line.text for line in cursor.read_new()]
    if not follow:
        current.extend(line.text for line in cursor.flush())
    lines: deque[str] = deque(history, maxlen=tail)
    lines.extend(current)
    for text in lines:
        yield ReplicaLogLine(cursor.replica, text)


def _add_new_replicas(
    log_dir: Path, cursors: list[_Cursor], replicas: Sequence[int] | None, *, keep: int
) -> list[_Cursor]:
    """Follow replicas that started logging after the reader began (scale-ups)."""
    if replicas is not None:
        return cursors
    known = {cursor.replica for cursor in cursors}
    new = [
        _Cursor(i, log_dir / f"{i}.log", keep=keep)
        for i in replica_indices(log_dir)
        if i not in known
    ]
    return cursors + new
