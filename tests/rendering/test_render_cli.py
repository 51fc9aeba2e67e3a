"""The ``render`` command: a YAML stream or a JSON list, exit 1 with violations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gitops_agent import cli
from gitops_agent.core import labels
from tests.rendering.helpers import FIXTURES, SAMPLE_REPO, render_sample, simple_worker


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_render_prints_every_object_as_a_yaml_stream(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "render", str(SAMPLE_REPO))
    assert code == 0
    documents = list(yaml.safe_load_all(out))
    expected = [dict(obj.body) for obj in render_sample().objects()]
    for document in documents:
        document["metadata"]["annotations"][labels.REVISION] = ""
    for body in expected:
        body["metadata"]["annotations"] = {
            **body["metadata"]["annotations"],
            labels.REVISION: "",
        }
    assert documents == expected
    assert out.startswith("---\napiVersion: v1\n")
    assert err == f"rendered: {len(documents)} objects\n"


def test_render_json_is_the_same_objects_as_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    _, as_yaml, _ = run(capsys, "render", str(SAMPLE_REPO), "--revision", "abc")
    code, as_json, _ = run(
        capsys, "resource", "render", str(SAMPLE_REPO), "-o", "json", "--revision", "abc"
    )
    assert code == 0
    assert json.loads(as_json) == list(yaml.safe_load_all(as_yaml))
    assert {d["metadata"]["annotations"][labels.REVISION] for d in json.loads(as_json)} == {"abc"}


def test_render_output_is_byte_identical_across_runs(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "render", str(SAMPLE_REPO))[1]
    second = run(capsys, "render", str(SAMPLE_REPO))[1]
    assert first == second


def test_render_of_an_invalid_repository_prints_violations_like_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "w.yaml").write_text(
        simple_worker("w", "executionMode: fast\ncompute_: x\n").replace(
            "compute: runnable-default", "compute: nowhere"
        )
    )
    code, out, err = run(capsys, "render", str(tmp_path))
    assert code == 1
    validate_code, validate_out, _ = run(capsys, "validate", str(tmp_path))
    assert validate_code == 1
    assert out == validate_out
    assert "unknown field 'compute_'" in out
    assert err.startswith("invalid: ")


def test_render_reports_objects_two_resources_would_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "gitops-agent.yaml").write_text("target:\n  workspaces: {a: shared, b: shared}\n")
    for workspace in ("a", "b"):
        text = simple_worker("twin").replace(
            "type: worker", f"type: worker\nworkspace: {workspace}"
        )
        (tmp_path / f"{workspace}.yaml").write_text(text)
    code, out, _ = run(capsys, "render", str(tmp_path))
    assert code == 1
    assert "Deployment/shared/twin would also be written for worker/a/twin" in out


def test_render_a_single_file_of_a_repository(capsys: pytest.CaptureFixture[str]) -> None:
    path = SAMPLE_REPO / "workers" / "events-bento.yaml"
    code, out, _ = run(capsys, "render", str(path), "-o", "json")
    assert code == 0
    assert {d["metadata"]["labels"][labels.RESOURCE_NAME] for d in json.loads(out)} == {
        "events-bento"
    }


def test_python_dash_m_renders_a_fixture() -> None:
    case = FIXTURES / "workflow-dag"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "gitops_agent",
            "render",
            str(case / "manifests"),
            "--config",
            str(case / "gitops-agent.yaml"),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert [d["kind"] for d in json.loads(completed.stdout)] == ["Job"] * 4
