"""Git-notes reporter against real repositories; wrappers, helpers and the log reporter."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitops_agent.errors import ReporterError
from gitops_agent.reporters import (
    CommitStatus,
    FanOutReporter,
    ReporterKind,
    ReporterSpec,
    SafeReporter,
    StatusState,
    build_reporter,
    superseded_status,
    truncate_description,
)
from gitops_agent.reporters.github import GitHubReporter
from gitops_agent.reporters.http import retry_after_seconds
from gitops_agent.reporters.log import LogReporter
from gitops_agent.reporters.notes import GitNotesReporter
from gitops_agent.testing.forges.gitserve import GitDaemon
from tests.reporters.conftest import SHA
from tests.sources.conftest import commit, git


@pytest.fixture
def bare(tmp_path: Path) -> tuple[Path, list[str]]:
    """A bare repository ``served/manifests.git`` with three commits; returns their SHAs."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "--quiet", "-b", "main")
    shas = [commit(work, {"f.txt": str(i)}, f"c{i}") for i in range(3)]
    served = tmp_path / "served"
    served.mkdir()
    git(served, "clone", "--quiet", "--bare", str(work), "manifests.git")
    return served / "manifests.git", shas


def read_note(remote: str, sha: str, tmp: Path) -> dict[str, object]:
    clone = tmp / "reader"
    git(tmp, "clone", "--quiet", remote, str(clone))
    git(clone, "fetch", "--quiet", "origin", "refs/notes/gitops-agent:refs/notes/gitops-agent")
    note: dict[str, object] = json.loads(git(clone, "notes", "--ref", "gitops-agent", "show", sha))
    return note


def test_notes_are_pushed_and_readable_from_a_fresh_clone(
    bare: tuple[Path, list[str]], tmp_path: Path
) -> None:
    repo, shas = bare
    with GitDaemon(repo.parent, allow_push=True) as daemon:
        url = daemon.url("manifests.git")
        reporter = GitNotesReporter(url, cache_dir=tmp_path / "cache")
        reporter.report(shas[1], CommitStatus(StatusState.PENDING, "applying", "sync"))
        reporter.report(shas[1], CommitStatus(StatusState.SUCCESS, "applied 2", "sync"))
        reporter.report(shas[1], CommitStatus(StatusState.FAILURE, "drift found", "drift"))
        note = read_note(url, shas[1], tmp_path)
    statuses = note["statuses"]
    assert isinstance(statuses, dict)
    assert note["revision"] == shas[1]
    assert statuses["sync"]["state"] == "success"
    assert statuses["sync"]["description"] == "applied 2"
    assert statuses["drift"]["state"] == "failure"


def test_two_writers_keep_each_others_notes(bare: tuple[Path, list[str]], tmp_path: Path) -> None:
    repo, shas = bare
    url = repo.as_uri()
    writers = [
        GitNotesReporter(url, cache_dir=tmp_path / f"cache{i}", attempts=12) for i in range(2)
    ]
    errors: list[BaseException] = []

    def run(writer: GitNotesReporter, context: str) -> None:
        try:
            for sha in shas:
                writer.report(sha, CommitStatus(StatusState.SUCCESS, "ok", context))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w, f"agent-{i}")) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for sha in shas:
        note = writers[0].read(sha)
        assert note is not None
        assert set(note["statuses"]) == {"agent-0", "agent-1"}


def test_notes_failure_is_a_reporter_error(tmp_path: Path) -> None:
    reporter = GitNotesReporter((tmp_path / "missing.git").as_uri(), cache_dir=tmp_path / "c")
    with pytest.raises(ReporterError, match="git notes: git fetch"):
        reporter.report(SHA, CommitStatus(StatusState.SUCCESS))


def test_truncate_description() -> None:
    assert truncate_description("short\nline") == "short line"
    long = truncate_description("word " * 100)
    assert len(long) == 140 and long.endswith("…")
    assert truncate_description("x" * 140) == "x" * 140


def test_superseded_status_names_the_newer_revision() -> None:
    status = superseded_status("abcdef0123456789" + "0" * 24, context="sync")
    assert status == CommitStatus(StatusState.SUCCESS, "superseded by abcdef0", "sync", "")
    failed = superseded_status("1" * 40, state=StatusState.ERROR)
    assert failed.state is StatusState.ERROR


class Broken:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def report(self, revision: str, status: CommitStatus) -> None:
        self.calls += 1
        raise self.exc


class Recording:
    def __init__(self) -> None:
        self.seen: list[tuple[str, CommitStatus]] = []

    def report(self, revision: str, status: CommitStatus) -> None:
        self.seen.append((revision, status))


def test_safe_reporter_logs_and_swallows(caplog: pytest.LogCaptureFixture) -> None:
    status = CommitStatus(StatusState.SUCCESS)
    with caplog.at_level(logging.WARNING):
        SafeReporter(Broken(ReporterError("GitHub said 502"))).report(SHA, status)
        SafeReporter(Broken(RuntimeError("bug with ghp_abcdefghijklmnopqrstuvwx"))).report(
            SHA, status
        )
    assert "GitHub said 502" in caplog.text
    assert "RuntimeError" in caplog.text
    assert "ghp_abcdefghijklmnop" not in caplog.text


def test_fan_out_reports_to_all_and_names_failures() -> None:
    first, broken, last = Recording(), Broken(ReporterError("down")), Recording()
    with pytest.raises(ReporterError, match="Broken: down"):
        FanOutReporter([first, broken, last]).report(SHA, CommitStatus(StatusState.PENDING))
    assert len(first.seen) == len(last.seen) == 1


def test_log_reporter_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gitops_agent.status"):
        LogReporter().report(SHA, CommitStatus(StatusState.FAILURE, "2 failed", "sync", "http://u"))
    assert "3f78685 [sync] failure: 2 failed (http://u)" in caplog.text


def test_retry_after_parses_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(later, now=now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_build_reporter_from_spec(tmp_path: Path) -> None:
    spec = ReporterSpec(ReporterKind.GITHUB, repository="a/b", token_env="T")
    assert isinstance(build_reporter(spec, environ={}), GitHubReporter)
    assert isinstance(build_reporter(ReporterSpec()), LogReporter)
    notes = ReporterSpec(ReporterKind.NOTES)
    built = build_reporter(notes, source_url=str(tmp_path), cache_dir=tmp_path)
    assert isinstance(built, GitNotesReporter)
