"""The sample repository validates and loads into the resources its README describes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitops_agent.cli import main
from gitops_agent.core.manifests import Bundle, Worker, Workflow, flatten
from gitops_agent.wiring import read_desired


def test_sample_repo_is_valid(sample_repo: Path) -> None:
    result = read_desired(str(sample_repo))
    assert result.violations == ()
    ids = sorted(str(r.id) for r in flatten(result.resources))
    assert ids == [
        "bundle/test-worker-sleep",
        "worker/public/events-bento",
        "worker/public/report-writer",
        "worker/public/sleep-worker",
        "workflow/public/verify-sleep-worker",
    ]


def test_bundle_members_and_conditions(sample_repo: Path) -> None:
    result = read_desired(str(sample_repo))
    bundle = next(r for r in result.resources if isinstance(r, Bundle))
    worker, verify = (m.resource for m in bundle.members)
    assert isinstance(worker, Worker) and isinstance(verify, Workflow)
    assert worker.origin.path == "tests/worker/sleep-worker/worker.yaml"
    assert worker.origin.bundle == bundle.id
    assert worker.runtime.compute == "runnable-default"  # from ${COMPUTE_NAME} in gitops-agent.yaml
    condition = bundle.members[1].conditions[0]
    assert condition.resource_id == "sleep-worker"
    assert condition.status is not None and condition.status.is_ == ("active",)
    assert condition.runtime is not None and condition.runtime.contains == ("running",)
    standalone = {r.id.name for r in result.resources}
    assert "sleep-worker" not in standalone, "a bundle's file is not also loaded on its own"


def test_var_on_the_command_line_wins(
    sample_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = read_desired(str(sample_repo), variables={"WORKER_NAME": "other-worker"})
    assert "worker/public/other-worker" in {str(r.id) for r in flatten(result.resources)}
    assert main(["validate", str(sample_repo), "--var", "bad"]) == 1
    assert "--var expects KEY=VALUE" in capsys.readouterr().err


def test_explicit_config_replaces_the_repository_one(
    sample_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("name: other\nvars:\n  WORKSPACE: public\n")
    assert main(["validate", str(sample_repo), "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "undefined variable ${WORKER_NAME}" in out


def test_module_entry_point_validates_the_sample(sample_repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gitops_agent", "resource", "validate", str(sample_repo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "valid: 5 resources (1 bundle, 3 workers, 1 workflow)" in done.stderr


def test_single_file_uses_its_repository_root(
    sample_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(sample_repo / "bundles" / "test-worker-sleep.yaml")])
    assert code == 0
    assert "valid: 3 resources" in capsys.readouterr().err
