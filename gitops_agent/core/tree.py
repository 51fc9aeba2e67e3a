"""SourceTree: the manifest files of one revision, held in memory.

Built by ``gitops_agent.sources.directory`` (which reads a checkout) or directly by tests;
read by ``core.loading``. Keeping file access out of ``core`` lets the loader and validator
run on any in-memory tree, and lets the reader enforce the repository boundary in one place.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

MANIFEST_SUFFIXES = (".yaml", ".yml")
CONFIG_FILE = "gitops-agent.yaml"


@dataclass(frozen=True, slots=True)
class SourceTree:
    """Manifest files by POSIX path relative to the repository root.

    ``problems`` holds paths that exist but could not be read, with the reason (a symlink
    leaving the repository, a file too large, text that is not UTF-8, not a regular file);
    ``positions`` the 1-based line and column of a problem inside its file, when it has one
    (the first byte that is not UTF-8). ``display_root`` is how the user named the root, used
    to print paths they can open. ``blobs`` holds the git blob id of files read from a
    commit, when the source knows them (``content_id`` computes one otherwise).
    """

    files: Mapping[str, str]
    problems: Mapping[str, str] = field(default_factory=dict)
    display_root: str = ""
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    blobs: Mapping[str, str] = field(default_factory=dict)

    def display(self, path: str) -> str:
        """``path`` as the user can open it from where they ran the command."""
        if not self.display_root or self.display_root == ".":
            return path
        return posixpath.join(self.display_root, path)

    def content_id(self, path: str) -> str:
        """What identifies the content of file ``path``: its git blob id when known, else the
        blob id git would give its text."""
        known = self.blobs.get(path)
        if known is not None:
            return known
        data = self.files[path].encode("utf-8", "surrogatepass")
        return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()

    def problem(self, path: str) -> str | None:
        """Why ``path`` (or a directory above it) could not be read, if it could not."""
        if path in self.problems:
            return self.problems[path]
        parts = path.split("/")
        for end in range(len(parts) - 1, 0, -1):
            found = self.problems.get("/".join(parts[:end]) + "/")
            if found is not None:
                return found
        return None


def is_manifest_path(path: str) -> bool:
    """True for the YAML files the loader reads as manifests on their own."""
    return path.endswith(MANIFEST_SUFFIXES) and path != CONFIG_FILE


def under(path: str, roots: tuple[str, ...]) -> bool:
    """True when ``path`` is one of ``roots`` or inside one of them (``""`` = everything)."""
    return any(
        not root or path == root or path.startswith(root.rstrip("/") + "/") for root in roots
    )
