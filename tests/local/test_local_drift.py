"""Drift on the local target (issue 16, acceptance 6): a killed replica is the supervisor's
to restart, not drift; an edited group spec file under the state directory (what the
supervisor runs: replicas, command, environment) is drift, named field by field, and healed;
environment values never show."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

from gitops_agent.targets.localproc import LocalRuntime, ReplicaState
from gitops_agent.testing.waiting import wait_for
from tests.agent.harness import git
from tests.local.conftest import Run

GROUP = "worker.public.sleep-worker"


def replicas(state: Path) -> list[int]:
    status = LocalRuntime(state, autostart=False).get(GROUP)
    assert status is not None
    return sorted(r.pid for r in status.replicas if r.pid and r.state is ReplicaState.RUNNING)


def rewrite(path: Path, key: str, value: object, *, spec: bool = False) -> None:
    data = json.loads(path.read_text())
    (data["spec"] if spec else data)[key] = value
    path.write_text(json.dumps(data))


def test_a_killed_replica_is_not_drift_an_edited_spec_file_is(
    run: Run, repo: Path, state: Path
) -> None:
    assert run("apply", str(repo))[0] == 0
    (pid,) = replicas(state)
    os.kill(pid, signal.SIGKILL)
    code, out, _ = run("drift", str(repo))
    assert code == 0 and "no drift" in out, out
    wait_for(lambda: replicas(state) not in ([], [pid]), timeout=20, message="the restart")
    assert run("drift", str(repo))[0] == 0

    rewrite(state / "desired" / f"{GROUP}.json", "replicas", 2)
    code, out, _ = run("drift", str(repo))
    assert code == 2, out
    assert f"~ ProcessGroup/public/{GROUP}: changed out of band" in out
    assert "~ spec.replicas: 1 -> 2" in out
    code, out, _ = run("drift", str(repo), "--heal")
    assert code == 2 and f"healed ProcessGroup/public/{GROUP}" in out
    assert json.loads((state / "desired" / f"{GROUP}.json").read_text())["replicas"] == 1
    assert run("drift", str(repo))[0] == 0
    wait_for(lambda: len(replicas(state)) == 1, timeout=20, message="one replica again")

    spec = state / "desired" / f"{GROUP}.json"
    command = json.loads(spec.read_text())["command"]
    rewrite(spec, "command", ["sleep", "3600"])
    code, out, _ = run("drift", str(repo))
    assert code == 2 and '~ spec.command[0]: "sh" -> "sleep"' in out
    assert run("drift", str(repo), "--heal")[0] == 2
    assert json.loads(spec.read_text())["command"] == command
    assert run("drift", str(repo))[0] == 0


def test_an_edited_environment_value_never_shows(run: Run, repo: Path, state: Path) -> None:
    assert run("apply", str(repo))[0] == 0
    path = state / "desired" / "worker.public.report-writer.json"
    data = json.loads(path.read_text())
    secret = data["env"]["DB_PASSWORD"]
    data["env"]["DB_PASSWORD"] = "changed-by-hand"
    data["env"]["TOKEN"] = "hand-written-value"
    path.write_text(json.dumps(data))
    code, out, err = run("drift", str(repo), "-o", "json")
    assert code == 2
    for text in (secret, "changed-by-hand", "hand-written-value"):
        assert text not in out + err
    report = json.loads(out)
    (changed,) = [o for o in report["objects"] if o["name"] == "worker.public.report-writer"]
    (added,) = changed["fields"]
    assert (added["path"], added["change"], added["live"]) == (
        "spec.env[6]",
        "added",
        {"name": "TOKEN", "value": "***"},
    ), "a value the group does not declare is masked; a secret is compared by name only"


def test_nothing_applied_and_a_revision_that_cannot_be_read(
    run: Run, repo: Path, state: Path, tmp_path: Path
) -> None:
    code, out, err = run("drift", str(repo))
    assert code == 0 and "nothing applied by sample on the local target" in out
    git(repo, "init", "--quiet")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "--quiet", "-m", "sample")
    assert run("apply", str(repo))[0] == 0
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(repo, elsewhere, ignore=shutil.ignore_patterns(".git"))
    code, out, err = run("drift", str(elsewhere))
    assert code == 1 and "Traceback" not in err
    assert "cannot be read from" in err and "it is not in a git repository" in err
