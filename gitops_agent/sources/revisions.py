"""Sources as the agent loop sees them: a current revision and its files on disk.

``GitRevisions`` follows a git repository (one ``ls-remote`` per poll, a checkout only for a
new revision); ``DirectoryRevisions`` follows a local directory, whose revision is the
enclosing repository's HEAD plus a digest of the manifest files when the tree differs from
it, so that an edit is a new revision; ``directory_revisions(SOURCE)`` checks that SOURCE
names a local directory first. Built by the ``run`` command, which takes the SOURCE forms of
``plan`` and ``apply``: a repository URL, a local repository with ``--ref``, a directory.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from gitops_agent.errors import ConfigError, SourceError
from gitops_agent.redaction import quoted
from gitops_agent.reporters.pulls import PullRequest
from gitops_agent.sources import directory, snapshot
from gitops_agent.sources.git import GitSource, GitSourceSpec
from gitops_agent.sources.urls import UrlKind, classify


@dataclass(slots=True)
class GitRevisions:
    """A git repository: the revision its ref points at, checked out on demand."""

    source: GitSource

    def remote_revision(self) -> str:
        return self.source.remote_revision()

    def directory_of(self, revision: str) -> Path:
        return self.source.checkout(revision).root

    def listing_of(self, revision: str) -> dict[str, tuple[str, str]] | None:
        """The blob id of every file of ``revision`` (checked out by ``directory_of``)."""
        return self.source.listing(revision)

    def skipped(self, older: str, newer: str) -> list[str]:
        """The commits between two applied revisions that were never reconciled on their own."""
        return [sha for sha in self.source.commits_between(older, newer) if sha != newer]


def is_directory_source(source: str, ref: str | None) -> bool:
    """True when ``run SOURCE`` follows a directory in place (a local path, no ``--ref``);
    False when it follows a repository (a URL, or a local repository at ``--ref``)."""
    return classify(source, what="SOURCE") is UrlKind.LOCAL and not ref


def directory_revisions(source: str) -> DirectoryRevisions:
    """The revisions of a directory SOURCE, which must exist."""
    if classify(source, what="SOURCE") is not UrlKind.LOCAL:
        raise ConfigError(f"SOURCE {quoted(source)} is a repository URL, not a directory")
    path = Path(source)
    if not path.is_dir():
        raise ConfigError(
            f"SOURCE {quoted(source)} is not a directory: give a directory, a local "
            "repository with --ref, or a repository URL"
        )
    return DirectoryRevisions(path)


@dataclass(slots=True)
class DirectoryRevisions:
    """A local directory, read in place."""

    path: Path

    def remote_revision(self) -> str:
        head, dirty = snapshot.working_tree_revision(self.path)
        if head and not dirty:
            return head
        tree = directory.read_tree(self.path)
        digest = hashlib.sha256()
        for name in sorted(tree.files):
            digest.update(name.encode() + b"\0" + tree.files[name].encode() + b"\0")
        base = head[:12] + "+" if head else "tree-"
        return base + digest.hexdigest()[:12]

    def directory_of(self, revision: str) -> Path:
        return self.path

    def listing_of(self, revision: str) -> dict[str, tuple[str, str]] | None:
        """None: a directory's files are not listed by a commit (every file is read)."""
        return None

    def skipped(self, older: str, newer: str) -> list[str]:
        return []


class PreviewCheckouts:
    """The commits previews read, in working copies of their own (never the sync's): the
    followed branch's tip, and each pull request's head fetched from its ``fetch_ref`` (from
    the followed repository, or a fork's ``fetch_url``). Each working copy is used by one
    preview at a time: the base is read once per poll, a head by its pull request's preview.
    """

    def __init__(self, spec: GitSourceSpec, cache_dir: Path) -> None:
        self.spec = spec
        self.cache_dir = cache_dir
        self._base = GitSource(spec, cache_dir / "base")
        self._heads: dict[tuple[str, str], GitSource] = {}
        self._lock = threading.Lock()

    def branch(self) -> str:
        return self._base.branch()

    def base(self) -> tuple[Path, str]:
        checkout = self._base.checkout()
        return checkout.root, checkout.revision

    def head(self, pull: PullRequest) -> tuple[Path, str]:
        if not pull.fetch_ref:
            raise SourceError(f"pull request #{pull.number} has no head to fetch any more")
        url = pull.fetch_url or self.spec.url
        with self._lock:
            source = self._heads.get((url, pull.fetch_ref))
            if source is None:
                spec = replace(self.spec, url=url, ref=pull.fetch_ref)
                source = GitSource(spec, self.cache_dir / "heads")
                self._heads[(url, pull.fetch_ref)] = source
        checkout = source.checkout()
        return checkout.root, checkout.revision
