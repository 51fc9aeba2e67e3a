"""Agent configuration: defaults, parsing, durations and errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_agent.config import load_config
from gitops_agent.core.config import AgentConfig, parse_config, parse_duration
from gitops_agent.errors import ConfigError


def test_defaults_run_the_embedded_demo() -> None:
    config = AgentConfig()
    assert config.target.kind == "local"
    assert config.sync.max_prune_fraction == 0.5
    assert config.reporter.kind == "log"
    assert config.validation_context().computes == frozenset({"runnable-default"})


def test_full_configuration() -> None:
    text = """
name: prod
source: {url: https://git.example.com/org/manifests.git, ref: main, path: manifests/, interval: 1m}
vars: {REPLICAS: 2, DEBUG: true}
target:
  kind: kubernetes
  computes:
    gpu: {nodeSelector: {pool: gpu}}
  stacks:
    flink: {image: flink:1.19}
reporter: {kind: github, repository: org/manifests, tokenEnv: GITHUB_TOKEN}
sync: {waitTimeout: 1h30m, pollInterval: 250ms}
drift: {schedule: 10m, mode: heal}
"""
    config = parse_config(text, "agent.yaml")
    assert config.name == "prod"
    assert config.source.path == "manifests"
    assert config.source.interval == 60.0
    assert config.vars == {"REPLICAS": "2", "DEBUG": "true"}
    assert config.sync.wait_timeout == 5400.0
    assert config.sync.poll_interval == 0.25
    context = config.validation_context()
    assert "gpu" in context.computes
    assert context.stacks.get("flink") is not None


def test_errors_name_file_line_and_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("name: prod\nsync:\n  maxPrune: 0.9\n", "agent.yaml")
    assert (
        str(caught.value)
        == "agent.yaml:3:3: unknown field 'maxPrune' in 'sync' (did you mean 'maxPruneFraction'?)"
    )


def test_bad_yaml_and_bad_duration(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("name: [\n")
    with pytest.raises(ConfigError, match=r"agent\.yaml:2:1: YAML syntax error"):
        load_config(path)
    with pytest.raises(ConfigError, match="is not a duration"):
        parse_config("source: {interval: soon}\n", "agent.yaml")
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), (12, 12)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds
