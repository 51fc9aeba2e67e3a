"""A command line SOURCE -> a directory to read and the revision it holds.

Called by the ``plan`` and ``apply`` commands (and the agent loop for its configured source).
SOURCE is a git URL (cloned into the cache directory at ``--ref``, else ``source.ref``, else
the branch the remote's HEAD names), a local git repository with an explicit ``--ref`` (checked out into the cache, so
the working tree is not touched), or a directory (read as it is: its revision is the
enclosing repository's HEAD when there is one, else empty). SOURCE and ``--ref`` pass the
allow-lists of ``sources.urls`` first. A directory's repository is untrusted: its revision
is read with ``rev-parse`` and ``ls-tree`` only (objects, never the index or a content
filter), so no fsmonitor, hook or filter its ``.git/config`` names can run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import git

from gitops_agent.core.config import AgentConfig
from gitops_agent.core.tree import MANIFEST_SUFFIXES
from gitops_agent.core.yamldoc import MAX_FILE_BYTES
from gitops_agent.errors import SourceError
from gitops_agent.redaction import quoted
from gitops_agent.sources import directory, gitrun
from gitops_agent.sources.git import FetchMode, GitSource, GitSourceSpec, is_sha
from gitops_agent.sources.urls import UrlKind, check_ref, classify

_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A directory holding one revision of the manifests."""

    directory: Path
    revision: str
    display: str
    dirty: bool = False


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/gitops-agent`` (``~/.cache/gitops-agent``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-agent"


def take(
    source: str | None,
    *,
    config: AgentConfig,
    ref: str | None = None,
    cache_dir: Path | None = None,
) -> Snapshot:
    """The snapshot SOURCE names (default: the configured source URL, else ``.``)."""
    target = source or config.source.url or "."
    kind = classify(target, what="SOURCE" if source else "source.url")
    if ref is not None:
        check_ref(ref, what="--ref")
    if kind is not UrlKind.LOCAL or (ref and _is_repository(Path(target))):
        chosen = ref or config.source.ref
        return _clone(target, chosen, config, cache_dir or default_cache_dir())
    path = Path(target)
    if not _exists(path):
        raise SourceError(f"{target}: no such file, directory or repository URL")
    revision, dirty = working_tree_revision(path)
    return Snapshot(path, revision, target, dirty)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as err:  # permission denied on the way, a loop of symlinks
        raise SourceError(f"{quoted(str(path))}: {err.strerror}") from None


def _is_repository(path: Path) -> bool:
    return _exists(path) and path.is_dir() and _exists(path / ".git")


def _clone(url: str, ref: str, config: AgentConfig, cache_dir: Path) -> Snapshot:
    spec = GitSourceSpec(
        url=url,
        ref=ref,
        token_env=config.source.token_env or "",
        ssh_key_file=config.source.ssh_key_file or "",
        fetch_mode=FetchMode(config.source.fetch),
    )
    checkout = GitSource(spec, cache_dir / "sources").checkout()
    return Snapshot(checkout.root, checkout.revision, f"{spec.safe_url}@{ref}")


def working_tree_revision(path: Path) -> tuple[str, bool]:
    """HEAD of the repository holding ``path`` and whether the manifest files under it
    (``.yaml``/``.yml``, hidden ones skipped, as the loader reads them) differ from HEAD's.

    Git reads objects only, with the repository's filter drivers disarmed as well; the
    files on disk are hashed here as git hashes a blob.
    """
    where = path if path.is_dir() else path.parent
    if not where.is_dir():
        return "", False
    disarm = gitrun.filter_overrides(where, timeout=_TIMEOUT)
    try:
        head = str(_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], where, disarm))
        listing = _git(["ls-tree", "-r", "-z", "HEAD", "--", "."], where, disarm, binary=True)
    except (git.GitCommandError, OSError):
        return "", False
    if not is_sha(head) or not isinstance(listing, bytes):
        return "", False
    algorithm = "sha256" if len(head) == 64 else "sha1"
    return head, _committed(listing) != _on_disk(where, algorithm)


def git_toplevel(path: Path) -> Path | None:
    """The top directory of the git repository holding ``path``; None outside one. Read
    with ``rev-parse`` only (nothing the repository's configuration names runs)."""
    where = path if path.is_dir() else path.parent
    if not where.is_dir():
        return None
    disarm = gitrun.filter_overrides(where, timeout=_TIMEOUT)
    try:
        top = str(_git(["rev-parse", "--show-toplevel"], where, disarm)).strip()
    except (git.GitCommandError, OSError):
        return None
    return Path(top) if top else None


def _git(
    args: list[str], cwd: Path, disarm: tuple[tuple[str, str], ...], *, binary: bool = False
) -> str | bytes:
    return gitrun.run(args, cwd=cwd, config=disarm, timeout=_TIMEOUT, binary=binary)


def _is_manifest(relative: str) -> bool:
    parts = relative.split("/")
    return relative.endswith(MANIFEST_SUFFIXES) and not any(p.startswith(".") for p in parts)


def _committed(listing: bytes) -> dict[str, str]:
    """Manifest path -> blob id, from ``ls-tree -r -z`` output (paths relative to cwd)."""
    blobs: dict[str, str] = {}
    for entry in listing.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        fields = meta.split()
        relative = os.fsdecode(name)
        if len(fields) == 3 and fields[1] == b"blob" and _is_manifest(relative):
            blobs[relative] = fields[2].decode("ascii", "replace")
    return blobs


def _on_disk(root: Path, algorithm: str) -> dict[str, str]:
    """Manifest path -> the blob id git would give the file (or symlink) on disk."""
    blobs: dict[str, str] = {}
    for folder, subdirs, names in os.walk(root):
        subdirs[:] = [name for name in subdirs if not name.startswith(".")]
        for name in names:
            relative = (Path(folder) / name).relative_to(root).as_posix()
            if _is_manifest(relative):
                blobs[relative] = _blob_id(Path(folder) / name, algorithm)
    return blobs


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file of at most ``MAX_FILE_BYTES``; ``None`` for anything else
    (a FIFO is opened without blocking and never read)."""
    try:
        data = directory.read_regular(path)
    except directory.NotRegularError:
        return None
    return data if len(data) <= MAX_FILE_BYTES else None


def _blob_id(path: Path, algorithm: str) -> str:
    """The git blob id of ``path``; ``""`` (never equal to one) when it cannot be hashed:
    not a regular file or symlink, larger than a manifest may be, unreadable."""
    try:
        data = os.fsencode(os.readlink(path)) if path.is_symlink() else _read_regular(path)
    except OSError:
        return ""
    if data is None:
        return ""
    return hashlib.new(algorithm, b"blob %d\0" % len(data) + data).hexdigest()
