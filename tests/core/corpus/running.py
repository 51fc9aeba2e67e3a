"""Running a corpus case: its directory made on disk, ``validate`` run in-process and timed,
what it printed checked; a valid control rendered and planned on the fake target.

Called by ``tests/core/test_bad_input_corpus.py`` and by ``probe`` (in a subprocess).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import stat
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gitops_agent.cli import main
from gitops_agent.core.rendering import kubernetes, local
from gitops_agent.engine import reconcile
from gitops_agent.testing.fake import FakeTarget, ManualClock
from gitops_agent.wiring import read_desired
from tests.core.corpus.cases import Case

#: What every case must finish within (``validate``, in-process).
MAX_SECONDS = 2.0
#: What a heavy case may use at its peak (``validate``, render and plan, in a subprocess).
MAX_RSS_BYTES = 512 * 1024 * 1024
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    """What ``validate`` answered for a case."""

    code: int
    out: str
    err: str
    seconds: float


def materialize(case: Case, root: Path) -> Path:
    """Write the case's files (and special entries) under ``root``; return what to validate."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8", "surrogatepass"))
    for entry in case.special:
        _make_special(root, entry)
    return root / case.argument if case.argument else root


def _make_special(root: Path, entry: tuple[str, ...]) -> None:
    kind, name, *rest = entry
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(os.path.relpath(path))  # short enough for sun_path
        server.close()
    elif kind == "device":
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    elif kind == "symlink":
        os.symlink(rest[0], path)


def run_validate(target: Path) -> Outcome:
    """``gitops-agent validate TARGET`` in-process, timed, its output captured."""
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(target)])
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - started)


_LOCATION = re.compile(r"(?:^|error: )(?P<file>\S+\.ya?ml):(?P<line>\d+):(?P<column>\d+): ")


def check(case: Case, root: Path, outcome: Outcome) -> None:
    """The contract of every case: the exit code, no traceback, in time, and for an invalid
    case every violation located as ``file:line:column`` inside the case's directory."""
    text = outcome.out + outcome.err
    assert "Traceback" not in text, text
    assert outcome.code == (0 if case.valid else 1), f"{case.name}: exit {outcome.code}\n{text}"
    assert outcome.seconds < MAX_SECONDS, f"{case.name}: {outcome.seconds:.2f} s"
    if case.valid:
        return
    located = [m for line in text.splitlines() if (m := _LOCATION.search(line))]
    assert located, f"{case.name}: no file:line:col in\n{text}"
    for line in outcome.out.splitlines():
        assert _LOCATION.match(line), f"{case.name}: a violation without file:line:col: {line}"
    for match in located:
        assert int(match["line"]) >= 1 and int(match["column"]) >= 1, match.group(0)
        where = Path(os.path.abspath(match["file"]))
        assert where.is_relative_to(os.path.abspath(root)), match.group(0)
    if case.expect:
        assert case.expect in text, f"{case.name}: {case.expect!r} not in\n{text}"
    if case.at:
        assert f"{root}/{case.at}" in text, f"{case.name}: {case.at} not in\n{text}"


def render_and_plan(target: Path) -> None:
    """What ``validate`` accepted renders (Kubernetes and local) and plans on the fake
    target, twice: the second plan of the same revision has nothing to do."""
    desired = read_desired(str(target))
    assert desired.violations == (), desired.violations
    settings = desired.config.render_settings()
    kubernetes.render(desired.resources, settings, revision="r1", now=NOW)
    local.render(desired.resources, settings, revision="r1", now=NOW)
    fake = FakeTarget(owner=desired.config.name, settings=settings)
    clock = ManualClock()
    options = reconcile.CycleOptions(clock=clock, sleep=clock.sleep)
    reconcile.reconcile(desired, fake, revision="r1", options=options)
    again = reconcile.make_plan(desired, fake, revision="r1", options=options)
    assert not again.plan.has_changes, again.plan.counts()
