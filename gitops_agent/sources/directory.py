"""Reads a directory of manifests into a ``core.tree.SourceTree``.

Called by the command line for a plain directory or file argument, and by the git source for
a checkout. Enforces the repository boundary: hidden directories (``.git``) are skipped,
symlinks that leave the root are recorded as problems instead of being read, files over the
size limit or not UTF-8 (with the line and column of the first bad byte) are recorded as
problems too. Only regular files are opened: a FIFO, a device or a socket named like a
manifest is a problem, never a read that blocks (the file is checked before it is opened,
opened without blocking, and checked again once open). Nothing here parses YAML.

A clean checkout of a commit whose ``Listing`` is known (``git ls-tree``: the mode and blob
id of every file) is read without a walk: a file whose blob the previous tree read is taken
from it, the others are read from disk (``read_listed``). A listing with anything a walk
treats on its own (a symlink, a submodule) is read by the walk.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitops_agent.core.tree import CONFIG_FILE, MANIFEST_SUFFIXES, SourceTree
from gitops_agent.core.yamldoc import MAX_FILE_BYTES, line_and_column
from gitops_agent.errors import SourceError
from gitops_agent.redaction import quoted

#: Every file of a commit by path: its git mode and blob id.
Listing = Mapping[str, tuple[str, str]]
_REGULAR_MODES = frozenset({"100644", "100755"})


@dataclass(frozen=True, slots=True)
class Selection:
    """A tree and the paths inside it to load on their own (``""`` = everything)."""

    tree: SourceTree
    roots: tuple[str, ...]
    root_dir: Path


def select(
    path: str,
    *,
    display: str | None = None,
    listing: Listing | None = None,
    previous: SourceTree | None = None,
) -> Selection:
    """The tree to read for a command-line PATH: a directory, or a file in its repository.

    ``display`` is how paths are shown in messages (default: as ``path`` names them; ``""``
    shows them relative to the repository root, as for a checkout in a cache). A directory
    that is a clean checkout with a known ``listing`` is read with ``read_listed``.
    """
    target = Path(path)
    try:
        exists = target.exists()
    except OSError as err:  # a name too long, a permission denied on the way
        raise SourceError(f"{quoted(path)}: {err.strerror}") from None
    if not exists:
        raise SourceError(f"{path}: no such file or directory")
    if target.is_dir():
        shown = path if display is None else display
        listed = read_listed(target, listing, previous, display=shown) if listing else None
        return Selection(listed or read_tree(target, display=shown), ("",), target)
    root = repository_root(target.parent)
    relative = target.resolve().relative_to(root).as_posix()
    return Selection(read_tree(root, display=os.path.relpath(root)), (relative,), root)


def repository_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds ``gitops-agent.yaml`` or
    ``.git``; ``start`` itself when there is none."""
    current = start.resolve()
    for candidate in (current, *current.parents):
        if (candidate / CONFIG_FILE).is_file() or (candidate / ".git").exists():
            return candidate
    return current


@dataclass(slots=True)
class _Reading:
    """What a tree read has found so far."""

    root: Path
    real_root: Path
    files: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)


def read_tree(root: Path, *, display: str = "") -> SourceTree:
    """Every manifest-like file under ``root`` (``.yaml``/``.yml``), read as UTF-8 text."""
    reading = _Reading(root, root.resolve())
    for entry in _manifest_entries(str(root), reading):
        path = Path(entry.path)
        if entry.is_symlink():
            _read_file(path, reading)
        else:
            # found by a walk that never follows links: inside the root by construction
            _read_file(path, reading, inside=True, regular=_is_regular(entry))
    return SourceTree(reading.files, reading.problems, display, reading.positions)


def read_listed(
    root: Path, listing: Listing, previous: SourceTree | None, *, display: str = ""
) -> SourceTree | None:
    """The tree of a clean checkout at ``root`` whose files ``listing`` names, as
    ``read_tree`` reads it: texts of blobs ``previous`` read are reused, the rest read from
    disk. None when the listing holds a file that is not a regular one (the walk decides)."""
    if any(mode not in _REGULAR_MODES for mode, _ in listing.values()):
        return None
    reading = _Reading(root, root.resolve())
    blobs: dict[str, str] = {}
    for path, (_, blob) in listing.items():
        if not path.endswith(MANIFEST_SUFFIXES) or any(p.startswith(".") for p in path.split("/")):
            continue
        blobs[path] = blob
        known = previous.files.get(path) if previous is not None else None
        if known is not None and previous is not None and previous.blobs.get(path) == blob:
            reading.files[path] = known
        else:
            _read_file(root / path, reading, inside=True)
    return SourceTree(reading.files, reading.problems, display, reading.positions, blobs)


def _manifest_entries(root: str, reading: _Reading) -> Iterator[os.DirEntry[str]]:
    """The manifest-named entries under ``root``, as ``os.walk`` (never following links)
    finds them; hidden directories are skipped, symlinked ones checked but not entered."""
    stack = [root]
    while stack:
        try:
            with os.scandir(stack.pop()) as found:
                entries = list(found)
        except OSError:
            continue
        directories = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if _is_directory(entry):
                if entry.is_symlink():
                    _check_dir_link(Path(entry.path), reading)
                else:
                    directories.append(entry.path)
            elif entry.name.endswith(MANIFEST_SUFFIXES):
                yield entry
        stack.extend(reversed(directories))


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_regular(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _inside(path: Path, real_root: Path) -> bool:
    try:
        path.resolve().relative_to(real_root)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _check_dir_link(path: Path, reading: _Reading) -> None:
    if not _inside(path, reading.real_root):
        relative = _relative(path, reading.root) + "/"
        reading.problems[relative] = "symlinked directory leaves the repository"


def _read_file(
    path: Path, reading: _Reading, *, inside: bool = False, regular: bool = False
) -> None:
    relative = _relative(path, reading.root)
    if not inside and not _inside(path, reading.real_root):
        reading.problems[relative] = "symlink leaves the repository"
        return
    try:
        data = read_regular(path, known_regular=regular)
    except NotRegularError as err:
        reading.problems[relative] = (
            f"{err.kind}, not a regular file: only regular files are read; remove it, or "
            "name it without .yaml or .yml"
        )
        return
    except OSError as err:
        reading.problems[relative] = f"cannot read: {err.strerror}"
        return
    if len(data) > MAX_FILE_BYTES:
        reading.problems[relative] = f"file is larger than {MAX_FILE_BYTES // 1024} KiB"
        return
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        reading.files[relative] = body.decode("utf-8")
    except UnicodeDecodeError as err:
        before = body[: err.start].decode("utf-8")
        line, column = line_and_column(before, len(before))
        byte = body[err.start]
        reading.problems[relative] = f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"
        reading.positions[relative] = (line, column)


class NotRegularError(OSError):
    """A path that is not a regular file (a FIFO, a device, a socket, a directory)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind}, not a regular file")
        self.kind = kind


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _not_regular(mode: int) -> NotRegularError | None:
    if stat.S_ISREG(mode):
        return None
    return NotRegularError(next((name for test, name in _KINDS if test(mode)), "something"))


def read_regular(path: Path, limit: int = MAX_FILE_BYTES, *, known_regular: bool = False) -> bytes:
    """At most one byte more than ``limit`` of a regular file; never waits on a FIFO.
    ``known_regular`` skips the check before opening (a directory listing said so; the
    check after opening still runs). Also used by ``gitops_agent.config`` for the
    configuration file."""
    if not known_regular:
        problem = _not_regular(os.stat(path).st_mode)
        if problem is not None:
            raise problem
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    with os.fdopen(descriptor, "rb") as handle:
        problem = _not_regular(os.fstat(descriptor).st_mode)
        if problem is not None:
            raise problem
        return handle.read(limit + 1)
