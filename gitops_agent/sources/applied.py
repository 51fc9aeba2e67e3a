"""The revisions an owner applied, read back for a drift check: which of those its objects
record is the newest, and the validated manifests of one of them.

``GitApplied`` reads them from a git source (a repository URL, or a local repository followed
at a ref): the working copy fetches a recorded commit it lacks. ``DirectoryApplied`` reads a
directory in place, which holds one revision only, its own (the enclosing repository's HEAD as
``apply`` records it, or HEAD plus a digest of edited files as ``run`` records it); any other
recorded commit is read from the git repository the directory is in, never from its working
tree. Both implement ``engine.drift.Revisions``; built by the ``drift`` and ``run`` commands
with the function that reads and validates a checked-out tree.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from gitops_agent.engine.desired import Desired
from gitops_agent.errors import SourceError
from gitops_agent.sources import snapshot
from gitops_agent.sources.git import FetchMode, GitSource, GitSourceSpec, is_sha
from gitops_agent.sources.revisions import DirectoryRevisions

#: Reads and validates the manifests of a tree checked out at a directory.
ReadTree = Callable[[Path], Desired]


@dataclass(slots=True)
class GitApplied:
    """Revisions of a git source, checked out in its working copy; the last one read is
    kept (a commit does not change), so that scheduled checks read it once."""

    source: GitSource
    read: ReadTree
    _last: tuple[str, Desired] | None = field(default=None, init=False)

    def newest(self, revisions: Collection[str]) -> str:
        found = self.source.newest(revisions)
        if found is None:
            shown = ", ".join(sorted(r[:12] for r in revisions)[:5])
            raise SourceError(
                f"none of the revisions this owner's objects record ({shown}) is a commit of "
                f"{self.source.spec.safe_url}"
            )
        return found

    def desired(self, revision: str) -> Desired:
        if self._last is not None and self._last[0] == revision:
            return self._last[1]
        found = self.read(self.source.checkout(revision).root)
        self._last = (revision, found)
        return found


@dataclass(slots=True)
class DirectoryApplied:
    """Revisions of a directory read in place, and of the repository it is in. The last one
    read is kept when it names content (a commit read from git, or ``run``'s commit and
    digest of the files); what ``apply`` recorded as the HEAD of a working tree, which may
    have been edited since, is read every time."""

    path: Path
    read: ReadTree
    cache_dir: Path
    _repository: GitSource | None = field(default=None, init=False)
    _last: tuple[str, Desired] | None = field(default=None, init=False)

    def _in_place(self) -> set[str]:
        """The revisions the directory holds as it is: ``apply``'s and ``run``'s names."""
        head, _ = snapshot.working_tree_revision(self.path)
        return {head, DirectoryRevisions(self.path).remote_revision()}

    def newest(self, revisions: Collection[str]) -> str:
        here = self._in_place() & set(revisions)
        if here:
            return sorted(here, key=len)[0]
        repository = self._git()
        found = repository.newest(revisions) if repository is not None else None
        if found is None:
            raise SourceError(self._unreadable(revisions))
        return found

    def desired(self, revision: str) -> Desired:
        if self._last is not None and self._last[0] == revision:
            return self._last[1]
        if not revision or revision in self._in_place():
            found = self.read(self.path)
            if _names_content(revision):
                self._last = (revision, found)
            return found
        repository = self._git() if is_sha(revision) else None
        if repository is None:
            raise SourceError(self._unreadable([revision]))
        found = self.read(repository.checkout(revision).root / self._relative())
        self._last = (revision, found)
        return found

    def _git(self) -> GitSource | None:
        """The repository the directory is in, as a source (cloned into the cache); None
        outside one."""
        if self._repository is None:
            top = snapshot.git_toplevel(self.path)
            if top is None:
                return None
            spec = GitSourceSpec(url=str(top), ref="HEAD", fetch_mode=FetchMode.FULL)
            self._repository = GitSource(spec, self.cache_dir)
        return self._repository

    def _relative(self) -> Path:
        top = snapshot.git_toplevel(self.path)
        return self.path.resolve().relative_to(top.resolve()) if top else Path()

    def _unreadable(self, revisions: Collection[str]) -> str:
        shown = ", ".join(sorted(r[:17] for r in revisions)[:5])
        where = (
            "its git repository does not have it"
            if snapshot.git_toplevel(self.path) is not None
            else "it is not in a git repository"
        )
        return (
            f"the revision this owner last applied ({shown}) cannot be read from {self.path}: "
            f"the directory holds its current content only, and {where}; point drift at the "
            "repository the agent applied from"
        )


def _names_content(revision: str) -> bool:
    """True for a revision that names the files it holds (``<commit>+<digest>``,
    ``tree-<digest>``), as ``run`` names a directory's revisions."""
    return "+" in revision or revision.startswith("tree-")
