"""Reads a directory of manifests into a ``core.tree.SourceTree``.

Called by the command line for a plain directory or file argument, and by the git source for
a checkout. Enforces the repository boundary: hidden directories (``.git``) are skipped,
symlinks that leave the root are recorded as problems instead of being read, files over the
size limit or not UTF-8 are recorded as problems too. Nothing here parses YAML.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitops_agent.core.tree import CONFIG_FILE, MANIFEST_SUFFIXES, SourceTree
from gitops_agent.core.yamldoc import MAX_FILE_BYTES
from gitops_agent.errors import SourceError
from gitops_agent.redaction import quoted


@dataclass(frozen=True, slots=True)
class Selection:
    """A tree and the paths inside it to load on their own (``""`` = everything)."""

    tree: SourceTree
    roots: tuple[str, ...]
    root_dir: Path


def select(path: str, *, display: str | None = None) -> Selection:
    """The tree to read for a command-line PATH: a directory, or a file in its repository.

    ``display`` is how paths are shown in messages (default: as ``path`` names them; ``""``
    shows them relative to the repository root, as for a checkout in a cache).
    """
    target = Path(path)
    try:
        exists = target.exists()
    except OSError as err:  # a name too long, a permission denied on the way
        raise SourceError(f"{quoted(path)}: {err.strerror}") from None
    if not exists:
        raise SourceError(f"{path}: no such file or directory")
    if target.is_dir():
        return Selection(
            read_tree(target, display=path if display is None else display), ("",), target
        )
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


def read_tree(root: Path, *, display: str = "") -> SourceTree:
    """Every manifest-like file under ``root`` (``.yaml``/``.yml``), read as UTF-8 text."""
    real_root = root.resolve()
    files: dict[str, str] = {}
    problems: dict[str, str] = {}
    for directory, subdirs, names in os.walk(root, followlinks=False):
        base = Path(directory)
        for name in list(subdirs):
            if name.startswith("."):
                subdirs.remove(name)
            elif (base / name).is_symlink():
                _check_dir_link(base / name, root, real_root, problems)
        for name in names:
            if name.startswith(".") or not name.endswith(MANIFEST_SUFFIXES):
                continue
            _read_file(base / name, root, real_root, files, problems)
    return SourceTree(files, problems, display)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _inside(path: Path, real_root: Path) -> bool:
    try:
        path.resolve().relative_to(real_root)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _check_dir_link(path: Path, root: Path, real_root: Path, problems: dict[str, str]) -> None:
    if not _inside(path, real_root):
        problems[_relative(path, root) + "/"] = "symlinked directory leaves the repository"


def _read_file(
    path: Path, root: Path, real_root: Path, files: dict[str, str], problems: dict[str, str]
) -> None:
    relative = _relative(path, root)
    if not _inside(path, real_root):
        problems[relative] = "symlink leaves the repository"
        return
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        problems[relative] = f"cannot read: {err.strerror}"
        return
    if len(data) > MAX_FILE_BYTES:
        problems[relative] = f"file is larger than {MAX_FILE_BYTES // 1024} KiB"
        return
    try:
        files[relative] = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        problems[relative] = f"not UTF-8 text (byte {err.start})"
