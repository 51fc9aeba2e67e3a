"""The state directory: where every file of the supervisor lives, and how it is written.

::

    <state-dir>/                  mode 0700
      daemon.lock                 flock held by the running daemon (one per state dir)
      daemon.pid                  "<pid> <start-ticks>" of the running daemon
      daemon.log                  the daemon's own log (never holds env values)
      wake                        FIFO: a byte written here wakes the daemon at once
      shutdown.json               a stop request from a client ({"stopProcesses": bool})
      desired/<name>.json         specs written by clients (0600: env may hold secrets)
      status/<name>.json          records written by the daemon (pids, states, exit codes)
      logs/<name>/<i>.log[.N]     stdout+stderr of replica i, rotated generations .1 .. .N
      files/<name>/...            projected files; the replicas' working directory
      run/<name>/<i>-<launch>.exit  exit code of a replica, written by its shim

Used by the daemon, the client and the log reader. Writes that readers may observe go
through ``write_atomic`` (temporary file + rename), so nobody reads half a record.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_agent.errors import ConfigError


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/gitops-agent/local``, else ``~/.local/state/gitops-agent/local``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gitops-agent" / "local"


@dataclass(frozen=True, slots=True)
class StateLayout:
    """The paths of one state directory (``root`` is absolute)."""

    root: Path

    @classmethod
    def at(cls, path: str | Path | None) -> StateLayout:
        """The layout of ``path`` (or the default), absolute with symlinks resolved, so that
        every client and daemon names the same files alike; nothing is created."""
        chosen = Path(path).expanduser() if path else default_state_dir()
        return cls(Path(os.path.realpath(chosen)))

    @property
    def lock_file(self) -> Path:
        return self.root / "daemon.lock"

    @property
    def pid_file(self) -> Path:
        return self.root / "daemon.pid"

    @property
    def daemon_log(self) -> Path:
        return self.root / "daemon.log"

    @property
    def wake_fifo(self) -> Path:
        return self.root / "wake"

    @property
    def shutdown_file(self) -> Path:
        return self.root / "shutdown.json"

    @property
    def desired_dir(self) -> Path:
        return self.root / "desired"

    @property
    def status_dir(self) -> Path:
        return self.root / "status"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    def desired(self, name: str) -> Path:
        return self.desired_dir / f"{name}.json"

    def status(self, name: str) -> Path:
        return self.status_dir / f"{name}.json"

    def group_logs(self, name: str) -> Path:
        return self.root / "logs" / name

    def replica_log(self, name: str, index: int) -> Path:
        return self.group_logs(name) / f"{index}.log"

    def group_files(self, name: str) -> Path:
        return self.root / "files" / name

    def group_run(self, name: str) -> Path:
        return self.run_dir / name

    def exit_file(self, name: str, index: int, launch_id: str) -> Path:
        return self.group_run(name) / f"{index}-{launch_id}.exit"

    def group_dirs(self, name: str) -> tuple[Path, ...]:
        """Every directory that holds files of group ``name``."""
        return (self.group_logs(name), self.group_files(name), self.group_run(name))

    def ensure(self) -> None:
        """Create the directories (0700) and the wake FIFO; ``ConfigError`` when impossible."""
        try:
            for directory in (self.root, self.desired_dir, self.status_dir, self.run_dir):
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            for sub in ("logs", "files"):
                (self.root / sub).mkdir(mode=0o700, exist_ok=True)
            self._ensure_fifo()
        except OSError as exc:
            raise ConfigError(f"state directory {self.root} is not usable: {exc}") from exc

    def _ensure_fifo(self) -> None:
        with contextlib.suppress(FileExistsError):  # another client or daemon made it
            os.mkfifo(self.wake_fifo, 0o600)
        if not stat.S_ISFIFO(self.wake_fifo.lstat().st_mode):
            raise OSError(f"{self.wake_fifo} exists and is not a FIFO")


def write_atomic(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_json(path: Path, data: Any) -> str:
    """Write ``data`` as indented JSON atomically; returns the text written."""
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    write_atomic(path, text)
    return text


def read_json(path: Path) -> Any:
    """The JSON held by ``path``; None when it cannot be read or is not valid JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def write_projected_files(base: Path, files: Mapping[str, str]) -> None:
    """Make ``base`` hold exactly ``files`` (relative path -> content), mode 0600.

    Paths were validated by the spec. Symlinks found in the directory are removed, and each
    parent is checked again after resolving, so a planted link cannot send a write outside
    it. Files no longer listed are removed. Raises ``OSError``, or ``ValueError`` for a
    path that escapes.
    """
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    real_base = base.resolve()
    wanted = {real_base / relative for relative in files}
    for directory, subdirs, names in os.walk(real_base, topdown=False, followlinks=False):
        here = Path(directory)
        for name in names:
            if here / name not in wanted or (here / name).is_symlink():
                (here / name).unlink()
        for name in subdirs:
            with contextlib.suppress(OSError):  # not empty, or a symlink to a directory
                (here / name).rmdir()
            if (here / name).is_symlink():
                (here / name).unlink()
    for relative, content in files.items():
        target = real_base / relative
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(real_base) or target.is_symlink():
            raise ValueError(f"file path {relative!r} leaves the group's files directory")
        write_atomic(target, content)
