"""``gitops-agent history``: the cycles ``run`` recorded on the target, newest first, kept
across runs (the local target's state directory; the Kubernetes store is in
``tests/service/test_history_store.py``), with the hostile cases of a store that is not one."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from gitops_agent.cli import main
from tests.conftest import copy_sample

FAST = "sync:\n  waitTimeout: 30s\n  pollInterval: 0.1s\n"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=Operator", "-c", "user.email=op@example.com"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, state: Path) -> Path:
    repo = copy_sample(tmp_path / "repo", sync=FAST)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "sample")
    return repo


def test_each_run_is_recorded_and_history_lists_and_shows_them(
    capsys: pytest.CaptureFixture[str], repo: Path, state: Path
) -> None:
    config = str(repo / "gitops-agent.yaml")
    first = git(repo, "rev-parse", "HEAD")
    assert cli(capsys, "run", "--once", str(repo), "--ref", "main")[0] == 0
    worker = repo / "workers/report-writer.yaml"
    worker.write_text(worker.read_text().replace("replicas: 1", "replicas: 2"))
    git(repo, "commit", "--quiet", "-am", "two writers")
    second = git(repo, "rev-parse", "HEAD")
    assert cli(capsys, "run", "--once", str(repo), "--ref", "main")[0] == 0

    code, out, _ = cli(capsys, "history", "--config", config)
    assert code == 0
    header, newest, oldest = out.splitlines()
    assert header.split()[:7] == [
        "#",
        "STARTED",
        "KIND",
        "REVISION",
        "TRIGGER",
        "DURATION",
        "RESULT",
    ]
    assert newest.split()[0] == "2" and second[:12] in newest and "manual" in newest
    assert oldest.split()[0] == "1" and first[:12] in oldest and "success" in oldest

    code, out, _ = cli(capsys, "history", "-o", "json", "-n", "1", "--config", config)
    (record,) = json.loads(out)
    assert (record["seq"], record["kind"], record["revision"]) == (2, "sync", second)
    assert record["result"] == "success" and record["trigger"] == "manual"
    assert record["resources"] == [
        {"resource": "worker/public/report-writer", "outcome": "configured", "message": ""}
    ]
    assert record["counts"]["configured"] == 1

    code, out, _ = cli(capsys, "history", "show", first[:7], "--config", config)
    assert code == 0 and out.startswith(f"cycle 1: sync of {first}")
    assert "created    worker/public/sleep-worker" in out
    code, _, err = cli(capsys, "history", "show", "abc", "--config", config)
    assert code == 1 and "at least 4 characters" in err
    code, _, err = cli(capsys, "history", "show", "0000000", "--config", config)
    assert code == 1 and "no recorded cycle of revision '0000000'" in err


def test_the_history_is_bounded(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    text = (repo / "gitops-agent.yaml").read_text()
    (repo / "gitops-agent.yaml").write_text(text + "history: {limit: 2}\n")
    git(repo, "commit", "--quiet", "-am", "keep two")
    for n in range(3):
        (repo / "notes.txt").write_text(f"change {n}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", f"change {n}")
        assert cli(capsys, "run", "--once", str(repo), "--ref", "main")[0] == 0
    out = cli(capsys, "history", "-o", "json", "--config", str(repo / "gitops-agent.yaml"))[1]
    assert [c["seq"] for c in json.loads(out)] == [3, 2]


@pytest.mark.parametrize("hostile", ["fifo", "garbage", "directory"])
def test_a_store_that_is_not_one_holds_no_history_and_is_not_waited_on(
    capsys: pytest.CaptureFixture[str], repo: Path, state: Path, hostile: str
) -> None:
    config = str(repo / "gitops-agent.yaml")
    path = state / "history" / "sample.jsonl"
    path.parent.mkdir(parents=True)
    if hostile == "fifo":
        os.mkfifo(path)
    elif hostile == "directory":
        path.mkdir()
    else:
        path.write_text('{"kind": "sync", "seq": 1e400}\nnot json\n[1]\n{"kind": "sync"}\n')
    code, _, err = cli(capsys, "history", "--config", config)
    assert code == 1 and "no cycles recorded for owner 'sample'" in err
    if hostile != "fifo":  # a cycle still runs; its record is refused or replaces the garbage
        code, out, err = cli(capsys, "run", "--once", str(repo), "--ref", "main")
        assert code == 0, out + err
        recorded = cli(capsys, "history", "--config", config)[0] == 0
        assert recorded == (hostile == "garbage")
        if hostile == "directory":
            assert "cycle not recorded in the history: " in err


@pytest.mark.parametrize("count", ["0", "-3", "1001", "x", "\u0665"])
def test_counts_that_are_not_counts_are_refused(
    capsys: pytest.CaptureFixture[str], count: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["history", "-n", count])
    assert exited.value.code == 2
    assert "is not a count from 1 to 1000" in capsys.readouterr().err
