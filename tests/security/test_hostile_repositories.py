"""Issue 12, acceptance 2: a directory source whose ``.git/config`` names programs (an
fsmonitor, hooks through ``core.hooksPath`` and ``.git/hooks``, clean / smudge / process
filters with a ``.gitattributes``, ``core.sshCommand``, ``core.gitProxy``, a credential
helper, ``uploadpack.packObjectsHook``, an included config...) never has one run by
``validate``, ``render``, ``plan``, ``apply`` or ``run DIR --once``, read in place or
checked out with ``--ref``. The real command line on the local target, state in tmp."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.security.conftest import Cli
from tests.security.hostile import Markers, git, hostile_repository


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Markers]:
    """The armed repository; plain git in it does run the programs (checked here)."""
    repo, markers = hostile_repository(tmp_path)
    # status always asks the fsmonitor; diff always runs the clean filter on the changed
    # files (status alone runs it only on files it cannot tell apart by their size and time)
    for command in (["status"], ["diff", "--stat"]):
        subprocess.run(["git", *command], cwd=repo, capture_output=True, timeout=30, check=False)
    assert {"included-fsmonitor", "filter-process"} <= set(markers.fired())
    markers.reset()
    for stray in repo.iterdir():  # files plain git's fsmonitor hook call may have left
        if stray.name.isdigit():
            stray.unlink()
    return repo, markers


def test_reading_commands_run_nothing(hostile: tuple[Path, Markers], cli: Cli) -> None:
    repo, markers = hostile
    code, out, err = cli("validate", str(repo))
    assert code == 0 and "valid: 1 resources" in err + out
    code, out, err = cli("render", str(repo))
    assert code == 0 and "kind: Deployment" in out
    code, out, err = cli("plan", str(repo))
    assert code == 2 and "1 to create" in out, err
    assert markers.fired() == []


def test_apply_and_run_once_in_place_run_nothing(hostile: tuple[Path, Markers], cli: Cli) -> None:
    repo, markers = hostile
    code, out, err = cli("apply", str(repo))
    assert code == 0, out + err
    assert "worker/public/sleeper" in out and "running:1" in out
    assert markers.fired() == []
    head = git(repo, "rev-parse", "HEAD")
    code, out, err = cli("run", "--once", str(repo))
    assert code == 0, out + err
    assert f"reconciling revision {head[:12]}" in err
    assert markers.fired() == []


def test_a_checkout_of_the_repository_at_a_ref_runs_nothing(
    hostile: tuple[Path, Markers], cli: Cli
) -> None:
    repo, markers = hostile
    head = git(repo, "rev-parse", "HEAD")
    code, out, err = cli("plan", str(repo), "--ref", "main")
    assert code == 2 and f"Plan for {head[:12]}" in out, err
    code, out, err = cli("apply", str(repo), "--ref", "main", "-q")
    assert code == 0, out + err
    assert markers.fired() == []


def test_a_directory_inside_the_repository_runs_nothing(
    hostile: tuple[Path, Markers], cli: Cli
) -> None:
    repo, markers = hostile
    code, out, err = cli("plan", str(repo / "workers"))
    assert code == 2, out + err
    code, out, err = cli("validate", str(repo / "workers" / "sleeper.yaml"))
    assert code == 0, out + err
    assert markers.fired() == []
