"""Preview writers of the ``notes`` and ``log`` reporters: previews keyed by head commit.

These reporters list no pull requests: their previews are of heads named explicitly (the
``preview`` command's ``--head``, a branch the loop is told about), and each writer puts the
preview of one head where that reporter puts statuses. ``NotesPreviewWriter`` makes the
markdown the git note of the head commit under its own notes ref (default
``refs/notes/gitops-agent-previews``, beside the statuses' ``refs/notes/gitops-agent``) and
pushes it through ``GitNotesReporter.publish`` (fetch, merge, push, retried when the ref
moved); several agents share a note, one section per marker, each replacing only its own.
``LogPreviewWriter`` writes one log line: the head, the marker and the preview's summary
line. Both implement ``pulls.HeadPreviewWriter``; built by ``reporters.build_pull_requests``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path

from gitops_agent.errors import ReporterError
from gitops_agent.redaction import redact
from gitops_agent.reporters.base import short_sha
from gitops_agent.reporters.notes import GitNotesReporter
from gitops_agent.reporters.pulls import MARKER_PREFIX, check_marker
from gitops_agent.sources.auth import GitAuth
from gitops_agent.sources.git import is_sha

PREVIEWS_SUFFIX = "-previews"
MAX_NOTE = 1 << 20
SUMMARY_LIMIT = 200
_SECTION = re.compile(rf"<!-- {MARKER_PREFIX} [^>]*-->")


class NotesPreviewWriter:
    """Writes each preview as (its agent's section of) the git note of the head commit."""

    def __init__(
        self,
        url: str,
        *,
        cache_dir: Path,
        notes_ref: str,
        auth: GitAuth | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._notes = GitNotesReporter(
            url, cache_dir=cache_dir / "previews", auth=auth, notes_ref=notes_ref, environ=environ
        )
        self.notes_ref = notes_ref

    def write(self, head_sha: str, marker: str, body: str) -> str:
        """Put ``body`` in the note of ``head_sha`` under ``marker``; push; say where."""
        if not is_sha(head_sha):
            raise ReporterError(f"git notes: {head_sha!r} is not a full commit SHA")
        line = f"<!-- {check_marker(marker)} -->"
        section = f"{line}\n\n{body.strip()}"
        if len(section) > MAX_NOTE:
            section = section[:MAX_NOTE] + "\n\n… (cut at 1 MiB)"
        self._notes.publish(head_sha, lambda current: _merged(current, line, section))
        return f"git note {self.notes_ref} of {short_sha(head_sha)}"

    def read(self, head_sha: str) -> str | None:
        """The note of ``head_sha`` as the remote has it (``None``: none)."""
        return self._notes.read_text(head_sha)


def _merged(current: str | None, line: str, section: str) -> str:
    """``current`` with the section starting at ``line`` replaced by ``section`` (appended
    when there is none); other agents' sections kept, text outside any section dropped."""
    text = current or ""
    starts = list(_SECTION.finditer(text))
    ends = [m.start() for m in starts[1:]] + [len(text)] * bool(starts)
    kept = [
        text[match.start() : end].strip()
        for match, end in zip(starts, ends, strict=True)
        if match.group(0) != line
    ]
    return "\n\n".join([*kept, section]) + "\n"


class LogPreviewWriter:
    """Logs each preview as one line: ``preview <sha> [<marker>]: <summary> (<n> lines)``."""

    def __init__(self, *, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("gitops_agent.previews")

    def write(self, head_sha: str, marker: str, body: str) -> str:
        """Log the summary line of ``body`` for ``head_sha``."""
        key = check_marker(marker)
        lines = body.strip().count("\n") + 1 if body.strip() else 0
        text = f"preview {short_sha(head_sha)} [{key}]: {summary(body)} ({lines} lines)"
        self._log.info("%s", redact(text))
        return "the log"


def summary(body: str) -> str:
    """The first line of ``body`` that says something (not a marker, not blank), without
    markdown heading or quote marks, one line, at most ``SUMMARY_LIMIT`` characters."""
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith(("<!--", "[//]:")):
            continue
        flat = "".join(c for c in " ".join(line.lstrip("#> ").split()) if c.isprintable())
        if flat:
            return flat if len(flat) <= SUMMARY_LIMIT else flat[: SUMMARY_LIMIT - 1] + "…"
    return "(empty preview)"
