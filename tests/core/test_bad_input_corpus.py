"""The bad-input corpus: every case through ``gitops-agent validate`` in-process.

Each case asserts its exit code (1, or 0 for a valid control), ``file:line:col`` on every
violation, no traceback, and an answer within 2 s; the heavy ones (alias bombs, files at
the size limit) also run in a subprocess whose peak memory must stay under 512 MiB. Every
valid control is then rendered and planned on the fake target (what validate accepts never
makes render or plan raise). Cases: ``tests/core/corpus/handwritten.py`` (one list per
class of bad input) and the strategies of ``tests/core/corpus/strategies.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import PROJECT
from tests.core.corpus.cases import Case
from tests.core.corpus.handwritten import all_cases, device_case
from tests.core.corpus.running import (
    MAX_RSS_BYTES,
    MAX_SECONDS,
    check,
    materialize,
    render_and_plan,
    run_validate,
)
from tests.core.corpus.strategies import STRATEGIES


def _can_make_devices() -> bool:
    with tempfile.TemporaryDirectory() as directory:
        try:
            materialize(device_case(), Path(directory))
        except PermissionError:
            return False
    return True


CASES = all_cases() + ([device_case()] if _can_make_devices() else [])
TIMES: dict[str, float] = {}


def _run(case: Case, root: Path) -> None:
    target = materialize(case, root)
    outcome = run_validate(target)
    TIMES[case.name] = max(outcome.seconds, TIMES.get(case.name, 0.0))
    check(case, root, outcome)
    if case.valid:
        render_and_plan(target)


def test_the_corpus_names_are_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    _run(case, tmp_path / "repo")


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_strategy(strategy: str) -> None:
    built, examples = STRATEGIES[strategy]
    seen: list[str] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(built)
    def run(case: Case) -> None:
        with tempfile.TemporaryDirectory() as directory:
            _run(case, Path(directory) / "repo")
        seen.append(case.name)

    run()
    assert len(seen) >= examples, f"{strategy}: only {len(seen)} examples ran"


def test_heavy_cases_stay_under_512_mib(tmp_path: Path) -> None:
    heavy = [case for case in CASES if case.heavy]
    arguments: list[str] = []
    for index, case in enumerate(heavy):
        target = materialize(case, tmp_path / f"{index}-{case.name}")
        arguments += [str(target), "valid" if case.valid else "invalid"]
    command = [sys.executable, "-m", "tests.core.corpus.probe", *arguments]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(
        command, check=False, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == len(heavy)
    for case, row in zip(heavy, rows, strict=True):
        assert row["code"] == (0 if case.valid else 1), row
        assert row["seconds"] < MAX_SECONDS, row
        assert row["rss"] < MAX_RSS_BYTES, row
        TIMES[case.name] = max(row["seconds"], TIMES.get(case.name, 0.0))
    print(f"\nheavy cases: peak resident memory {rows[-1]['rss'] / 2**20:.0f} MiB")


def test_corpus_size_and_slowest_case() -> None:
    examples = sum(count for _, count in STRATEGIES.values())
    size = len(CASES) + examples
    assert size >= 500
    if TIMES:
        slowest = max(TIMES, key=TIMES.__getitem__)
        print(f"\ncorpus: {size} cases; slowest {slowest} in {TIMES[slowest]:.3f} s")
