"""The first hour (issue 14), items about sources, the cluster and what the engine says:
each runs the command as a new user would and checks the exact shape of what they see.

2 ``run --once`` takes the SOURCE forms of plan and apply; 3 kubeconfig errors name the file
and its origin; 4 an unreachable API server is named; 6 a changed manifest shows as fields;
7 progress knows unchanged resources; 8 a refused mass prune lists what it would delete,
once; 10 a source without a ref follows the remote's default branch; 11 configuration errors
are all reported, sorted; 14 ``get`` says which owner it searched; 15 preview environments without previews say they
have no effect, and drift checks run. Items 1, 5, 9, 12 and 13 are in ``test_first_hour``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_agent.cli import main
from gitops_agent.targets.localproc import LocalRuntime
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.conftest import SAMPLE_REPO, copy_sample, unreachable_kubeconfig

FAST = "sync:\n  waitTimeout: 30s\n  pollInterval: 0.1s\n"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=New User", "-c", "user.email=new@example.com"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "state"
    monkeypatch.setenv("GITOPS_AGENT_STATE_DIR", str(directory))
    monkeypatch.setenv("GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD", "first-hour")
    yield directory
    if directory.exists():
        LocalRuntime(directory, autostart=False).stop_daemon(stop_processes=True)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """The sample as a git repository whose only branch is ``trunk``."""
    repo = copy_sample(tmp_path / "repo", sync=FAST)
    git(repo, "init", "--quiet", "--initial-branch=trunk")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "sample")
    return repo


def test_2_run_once_takes_a_file_url(
    capsys: pytest.CaptureFixture[str], repository: Path, state: Path, tmp_path: Path
) -> None:
    head = git(repository, "rev-parse", "HEAD")
    config = str(repository / "gitops-agent.yaml")
    cache = str(tmp_path / "cache")
    code, out, err = cli(
        capsys, "run", "--once", repository.as_uri(), "--config", config, "--cache-dir", cache
    )
    assert code == 0, out + err
    assert out.splitlines()[0].split() == ["RESOURCE", "OUTCOME", "STATUS", "RUNTIME", "MESSAGE"]
    assert f"revision {head[:12]} applied" in err and "[gitops-agent/sample] success" in err
    assert "error: error:" not in err and "tree-" not in err
    code, out, err = cli(
        capsys, "run", "--once", str(repository), "--ref", "trunk", "--config", config,
        "--cache-dir", cache,
    )  # fmt: skip
    assert code == 0 and f"revision {head[:12]} applied: synced:" in err
    code, _, err = cli(capsys, "run", "--once", str(tmp_path / "nowhere"))
    assert code == 1
    assert (
        err.strip().startswith("error: SOURCE ") and "is not a directory: give a directory" in err
    )


def test_3_a_broken_or_missing_kubeconfig_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "bad"
    broken.write_text("apiVersion: v1\nclusters: [\n")
    code, _, err = cli(
        capsys, "get", "-t", "worker", "--target", "kubernetes", "--kubeconfig", str(broken)
    )
    assert code == 1
    assert err.startswith(
        f"error: cannot load the Kubernetes configuration {broken} (from --kubeconfig): not valid YAML"
    )
    assert err.rstrip().endswith("pass --kubeconfig FILE (and --context NAME), or set KUBECONFIG")
    missing = tmp_path / "missing"
    code, _, err = cli(
        capsys, "get", "-t", "worker", "--target", "kubernetes", "--kubeconfig", str(missing)
    )
    assert code == 1 and f"{missing} (from --kubeconfig): no such file; pass --kubeconfig" in err
    monkeypatch.setenv("KUBECONFIG", str(missing))
    code, _, err = cli(capsys, "get", "-t", "worker", "--target", "kubernetes")
    assert code == 1 and f"configuration from KUBECONFIG={missing}:" in err


def test_4_an_api_server_that_is_down_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, server = unreachable_kubeconfig(tmp_path / "kubeconfig")
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gitops_agent",
            "get",
            "-t",
            "worker",
            "--target",
            "kubernetes",
            "--kubeconfig",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    code, err = done.returncode, done.stderr
    assert code == 1 and "Traceback" not in err
    # the first request of an observation (the pods') names the server it could not reach
    assert f"error: list Pod: connection refused by {server} (gave up after" in err
    assert f"connection refused by {server}; retrying for up to 30s" in err
    assert "MaxRetryError" not in err and "Retrying (Retry(" not in err
    assert time.monotonic() - started < 40


def test_6_a_changed_manifest_is_shown_as_its_fields(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, tmp_path: Path
) -> None:
    repo = copy_sample(tmp_path / "repo", sync=FAST)
    target = ["--target", "kubernetes", "--kubeconfig", str(kubesim.kubeconfig)]
    assert cli(capsys, "apply", str(repo), "-q", *target)[0] == 0
    worker = repo / "tests" / "worker" / "sleep-worker" / "worker.yaml"
    worker.write_text(worker.read_text().replace("replicas: 1", "replicas: 2"))
    code, out, _ = cli(capsys, "plan", str(repo), *target)
    assert code == 2
    assert "          ~ manifest.spec.replicas: 1 -> 2\n          ~ spec.replicas: 1 -> 2" in out
    assert "gitops-agent.dataos.info/manifest" not in out and "..." not in out


def test_7_progress_knows_unchanged_resources(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, tmp_path: Path
) -> None:
    repo = copy_sample(tmp_path / "repo", sync=FAST)
    target = ["--target", "kubernetes", "--kubeconfig", str(kubesim.kubeconfig)]
    assert cli(capsys, "apply", str(repo), "-q", *target)[0] == 0
    worker = repo / "tests" / "worker" / "sleep-worker" / "worker.yaml"
    worker.write_text(worker.read_text().replace("replicas: 1", "replicas: 2"))
    code, out, err = cli(capsys, "apply", str(repo), *target)
    assert code == 0, out + err
    assert "not applied yet" not in err
    assert "verify-sleep-worker (now waiting for its own dependencies)" not in err
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    assert rows["workflow/public/verify-sleep-worker"] == "unchanged"


def test_8_a_refused_mass_prune_lists_what_it_would_delete_once(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, tmp_path: Path
) -> None:
    repo = copy_sample(tmp_path / "repo", sync=FAST)
    target = ["--target", "kubernetes", "--kubeconfig", str(kubesim.kubeconfig)]
    assert cli(capsys, "apply", str(repo), "-q", *target)[0] == 0
    for path in (repo / "workers", repo / "tests", repo / "bundles"):
        shutil.rmtree(path)
    code, out, err = cli(capsys, "apply", str(repo), *target)
    assert code == 1 and out == ""
    assert err.count("refusing to prune") == 1
    (line,) = [line for line in err.splitlines() if "refusing to prune" in line]
    assert line.startswith("failed: refusing to prune 5 of 5 owned resources (all; the limit")
    assert (
        ": bundle/test-worker-sleep, worker/public/events-bento, worker/public/report-writer, "
        "worker/public/sleep-worker, workflow/public/verify-sleep-worker; check the source"
    ) in line
    code, out, _ = cli(capsys, "plan", str(repo), *target)
    assert code == 2 and "prune refused: refusing to prune 5 of 5" in out
    assert "worker/public/events-bento" in out


def test_10_a_source_without_a_ref_follows_the_default_branch(
    capsys: pytest.CaptureFixture[str],
    repository: Path,
    kubesim: KubeSim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = tmp_path / "agent.yaml"
    sample = (repository / "gitops-agent.yaml").read_text()
    config.write_text(sample + f"source: {{url: '{repository.as_uri()}'}}\n")
    target = ["--target", "kubernetes", "--kubeconfig", str(kubesim.kubeconfig)]
    code, out, err = cli(capsys, "plan", "--config", str(config), *target)
    head = git(repository, "rev-parse", "HEAD")
    assert code == 2 and out.startswith(f"Plan for {head[:12]}"), out + err
    code, _, err = cli(capsys, "plan", "--config", str(config), "--ref", "main", *target)
    assert code == 1
    assert "couldn't find remote ref main" in err
    assert "set source.ref in gitops-agent.yaml, or --ref, to a branch, tag or commit" in err


def test_11_configuration_errors_are_all_reported_sorted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(
        "sync:\n  waitTimeout: 5 minutes\n  maxPrune: 0.9\nsource: {interval: soon}\n"
    )
    code, _, err = cli(capsys, "validate", str(SAMPLE_REPO), "--config", str(config))
    assert code == 1
    lines = err.removeprefix("error: ").splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{config}:2:3",
        f"{config}:3:3",
        f"{config}:4:10",
    ]
    assert lines[0].endswith(
        "sync.waitTimeout: '5 minutes' is not a duration such as 30s, 5m or 1h"
    )


def test_14_get_says_which_owner_it_searched(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    repo = copy_sample(tmp_path / "repo", sync=FAST)
    target = ["--target", "kubernetes", "--kubeconfig", str(kubesim.kubeconfig)]
    assert cli(capsys, "apply", str(repo), "-q", *target)[0] == 0
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "get", "-t", "worker", "-n", "sleep-worker", *target)
    assert code == 1 and out == ""
    assert err.strip() == (
        "not found: worker sleep-worker among the resources of agent owner 'gitops-agent' "
        "(named by ./gitops-agent.yaml, else the default; --config FILE names another); held by "
        "other owners: worker/public/sleep-worker (owner 'sample'); -a shows every owner's"
    )
    code, out, _ = cli(capsys, "get", "-t", "worker", "-n", "sleep-worker", "-a", *target)
    assert code == 0 and "sample" in out.splitlines()[1]


def test_15_settings_without_effect_say_so_and_drift_checks_run(
    capsys: pytest.CaptureFixture[str], state: Path, tmp_path: Path
) -> None:
    repo = copy_sample(tmp_path / "repo", sync=FAST)
    config = repo / "gitops-agent.yaml"
    config.write_text(
        config.read_text() + "previews: {environments: true}\ndrift: {interval: 10m}\n"
    )
    code, out, err = cli(capsys, "run", "--once", str(repo))
    assert code == 0, out + err
    assert "previews.environments has no effect without previews.enabled: true" in err
    assert "no effect yet" not in err, "drift is acted on"
    assert "[gitops-agent/sample/drift] success: no drift" in err
