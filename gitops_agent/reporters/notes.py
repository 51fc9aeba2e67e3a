"""The git-notes reporter: statuses stored in the repository itself, under a notes ref.

``GitNotesReporter(url, cache_dir=...)`` keeps a bare repository in the cache directory,
fetches the notes ref (default ``refs/notes/gitops-agent``), merges the status into the JSON
note of the revision (one entry per context), and pushes the ref back; when another writer
moved the ref first, it fetches and tries again (bounded). Anyone reads a note with
``git fetch origin refs/notes/gitops-agent:refs/notes/gitops-agent`` then
``git notes --ref gitops-agent show <sha>``. Auth is the source's (token header or SSH key).
``publish(revision, compose)`` is the machinery under ``report``: fetch, write
``compose(current note text)`` as the note, push, again when the ref moved; the preview
notes writer (``reporters.previewwriters``) uses it with its own notes ref.
Every git command goes through ``sources.gitrun`` (repository config disarmed, system and
global config off); the URL passes the source allow-list and reaches git after ``--``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git

from gitops_agent.core.config import ReporterConfig
from gitops_agent.errors import ConfigError, ReporterError
from gitops_agent.redaction import redact, strip_userinfo
from gitops_agent.reporters.base import CommitStatus, truncate_description
from gitops_agent.sources import gitrun
from gitops_agent.sources.auth import GitAuth, git_environment
from gitops_agent.sources.git import git_error_summary, is_sha, remote_url
from gitops_agent.sources.urls import check_ref

DEFAULT_NOTES_REF = ReporterConfig().notes_ref
IDENTITY = {
    "GIT_AUTHOR_NAME": "gitops-agent",
    "GIT_AUTHOR_EMAIL": "gitops-agent@localhost",
    "GIT_COMMITTER_NAME": "gitops-agent",
    "GIT_COMMITTER_EMAIL": "gitops-agent@localhost",
}
_REJECTED = ("rejected", "fetch first", "non-fast-forward", "stale info", "cannot lock ref")


class _PushRejectedError(Exception):
    """The notes ref moved on the remote between our fetch and our push."""


class GitNotesReporter:
    """Writes each status into a JSON git note of the revision and pushes the notes ref."""

    def __init__(
        self,
        url: str,
        *,
        cache_dir: Path,
        auth: GitAuth | None = None,
        notes_ref: str = DEFAULT_NOTES_REF,
        environ: Mapping[str, str] | None = None,
        attempts: int = 4,
        timeout: float = 120.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url = remote_url(url)
        check_ref(notes_ref, what="reporter.notesRef")
        if not notes_ref.startswith("refs/notes/"):
            raise ConfigError(f"notes ref {notes_ref!r} must start with refs/notes/")
        self.notes_ref = notes_ref
        self._auth = auth or GitAuth()
        self._environ = os.environ if environ is None else environ
        self._attempts = attempts
        self._timeout = timeout
        self._clock = clock
        digest = hashlib.sha256(strip_userinfo(url).encode()).hexdigest()[:12]
        self.repo_dir = cache_dir / f"notes-{digest}.git"

    def report(self, revision: str, status: CommitStatus) -> None:
        """Merge ``status`` into the note of ``revision`` and push; ``ReporterError`` if not."""

        def compose(current: str | None) -> str:
            note = _status_note(current) or {"revision": revision, "statuses": {}}
            note["statuses"][status.context] = self._entry(status)
            return json.dumps(note, indent=2, sort_keys=True)

        self.publish(revision, compose)

    def publish(self, revision: str, compose: Callable[[str | None], str]) -> None:
        """Make ``compose(the note as the remote has it, or None)`` the note of ``revision``
        and push it; retried from a fresh fetch when another writer moved the ref."""
        if not is_sha(revision):
            raise ReporterError(f"git notes: {revision!r} is not a full commit SHA")
        self._open()
        for _ in range(self._attempts):
            self._fetch()
            self._add(revision, compose(self._show(revision)))
            try:
                self._push()
                return
            except _PushRejectedError:
                continue
        raise ReporterError(
            f"git notes: {self.notes_ref} on {strip_userinfo(self.url)} kept moving; "
            f"gave up after {self._attempts} attempts"
        )

    def read(self, revision: str) -> dict[str, Any] | None:
        """The note of ``revision`` as the remote has it now (``None`` when there is none)."""
        return _status_note(self.read_text(revision))

    def read_text(self, revision: str) -> str | None:
        """The note text of ``revision`` as the remote has it now (``None``: none)."""
        self._open()
        self._fetch()
        return self._show(revision)

    def _entry(self, status: CommitStatus) -> dict[str, str]:
        return {
            "state": status.state.value,
            "description": truncate_description(status.description),
            "target_url": status.target_url,
            "updated_at": self._clock().isoformat(timespec="seconds"),
        }

    def _open(self) -> None:
        if (self.repo_dir / "HEAD").is_file():
            return
        self.repo_dir.mkdir(parents=True, exist_ok=True)
        self._git(["init", "--quiet", "--bare", "--template="])
        self._git(["remote", "add", "--", "origin", self.url])

    def _fetch(self) -> None:
        refspec = f"+{self.notes_ref}:{self.notes_ref}"
        try:
            self._git(["fetch", "--quiet", "--no-tags", "--", "origin", refspec], remote=True)
        except ReporterError as exc:
            if "couldn't find remote ref" not in str(exc):
                raise
            self._git(["update-ref", "-d", self.notes_ref])  # nothing published yet

    def _show(self, revision: str) -> str | None:
        try:
            return self._git(["notes", "--ref", self.notes_ref, "show", revision])
        except ReporterError:
            return None

    def _add(self, revision: str, text: str) -> None:
        """Write ``text`` as the note of ``revision`` (through a file: no argv size limit)."""
        with tempfile.NamedTemporaryFile("w", dir=self.repo_dir, suffix=".note") as note:
            note.write(text)
            note.flush()
            self._git(["notes", "--ref", self.notes_ref, "add", "-f", "-F", note.name, revision])

    def _push(self) -> None:
        refspec = f"{self.notes_ref}:{self.notes_ref}"
        self._git(["push", "--quiet", "--", "origin", refspec], remote=True)

    def _git(self, args: list[str], *, remote: bool = False) -> str:
        env: dict[str, str] = dict(IDENTITY)
        secrets: frozenset[str] = frozenset()
        if remote:
            try:
                prepared = git_environment(self.url, self._auth, self._environ)
            except ConfigError as exc:
                raise ReporterError(f"git notes: {exc}") from None
            env.update(prepared.env)
            secrets = prepared.secrets
        try:
            out = gitrun.run(args, cwd=self.repo_dir, env=env, timeout=self._timeout)
        except git.GitCommandError as exc:
            if args[0] == "push" and any(word in str(exc) for word in _REJECTED):
                raise _PushRejectedError from None
            where = strip_userinfo(self.url)
            message = f"git notes: git {args[0]} {where} failed: {git_error_summary(exc)}"
            raise ReporterError(redact(message, secrets)) from None
        except OSError as exc:
            raise ReporterError(f"git notes: cannot run git: {exc}") from None
        return str(out)


def _status_note(text: str | None) -> dict[str, Any] | None:
    """A status note's JSON (``None`` when there is none or it is not one)."""
    if text is None:
        return None
    try:
        note = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(note, dict) or not isinstance(note.get("statuses"), dict):
        return None
    return note
