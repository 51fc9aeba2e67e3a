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
drift: {schedule: "*/10 * * * *", timezone: Europe/Berlin, mode: heal, issue: true}
"""
    config = parse_config(text, "agent.yaml")
    assert config.name == "prod"
    assert config.source.path == "manifests"
    assert config.source.interval == 60.0
    assert config.vars == {"REPLICAS": "2", "DEBUG": "true"}
    assert config.sync.wait_timeout == 5400.0
    assert config.sync.poll_interval == 0.25
    assert (config.drift.schedule, config.drift.timezone) == ("*/10 * * * *", "Europe/Berlin")
    assert (config.drift.mode, config.drift.issue, config.drift.scheduled) == ("heal", True, True)
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
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), (12, 12), ("7d", 604800)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_sync_timeout_did_nothing_and_is_gone() -> None:
    with pytest.raises(ConfigError, match=r"unknown field 'timeout' in 'sync'"):
        parse_config("sync: {timeout: 10m}\n", "agent.yaml")


@pytest.mark.parametrize("value", [".nan", ".inf", "-5", "1e999", "7days", "9" * 400 + "d"])
def test_durations_are_finite_and_not_negative(value: str) -> None:
    with pytest.raises(
        ConfigError, match=r"agent\.yaml:1:\d+: sync\.waitTimeout: .* is not a duration"
    ):
        parse_config(f"sync: {{waitTimeout: {value}}}\n", "agent.yaml")


def test_each_default_is_the_dataclass_default() -> None:
    """A file that sets nothing gives exactly the defaults: no second copy in the parser."""
    assert parse_config("{}\n", "agent.yaml") == AgentConfig(path="agent.yaml")
    assert parse_config("source: {}\ntarget: {}\nsync: {}\n", "a.yaml") == AgentConfig(
        path="a.yaml"
    )


def test_allowed_workspaces_are_enforced_by_validate(tmp_path: Path) -> None:
    from gitops_agent.wiring import read_desired

    (tmp_path / "gitops-agent.yaml").write_text("target: {allowedWorkspaces: [sales]}\n")
    worker = (
        "version: v2alpha\nname: w\ntype: worker\nworkspace: {ws}\n"
        "spec: {{compute: runnable-default, stack: container, stackSpec: {{image: a, command: [x]}}}}\n"
    )
    (tmp_path / "ok.yaml").write_text(worker.format(ws="sales"))
    (tmp_path / "other.yaml").write_text(worker.format(ws="public").replace("name: w", "name: v"))
    result = read_desired(str(tmp_path))
    assert [v.format() for v in result.violations] == [
        f"{tmp_path}/other.yaml:4:1: worker/public/v: workspace 'public' is not one this agent "
        "may deploy to (target.allowedWorkspaces: sales); move the resource to an allowed "
        "workspace or add 'public' to the list"
    ]


def test_a_configuration_that_is_not_a_regular_file_is_refused_not_waited_on(
    tmp_path: Path,
) -> None:
    import os

    from gitops_agent.config import configuration

    fifo = tmp_path / "gitops-agent.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"a FIFO \(named pipe\), not a regular file"):
        load_config(fifo)
    with pytest.raises(ConfigError, match=r"gitops-agent\.yaml: cannot read configuration"):
        configuration(tmp_path, None, {})
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        load_config(big)
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        (tmp_path / "latin.yaml").write_bytes(b"name: caf\xe9\n")
        load_config(tmp_path / "latin.yaml")


def test_every_problem_of_the_file_is_reported_sorted_with_its_position() -> None:
    text = (
        "name: prod\n"
        "sync:\n"
        "  waitTimeout: 5 minutes\n"
        "  maxPrune: 0.9\n"
        "source:\n"
        "  interval: soon\n"
        "reporter: {kind: gitbucket}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "agent.yaml")
    lines = str(caught.value).splitlines()
    assert lines == sorted(lines, key=lambda line: tuple(int(n) for n in line.split(":")[1:3]))
    assert [line.split(": ", 1)[0] for line in lines] == [
        "agent.yaml:3:3",
        "agent.yaml:4:3",
        "agent.yaml:6:3",
        "agent.yaml:7:12",
    ]
    assert "sync.waitTimeout: '5 minutes' is not a duration" in lines[0]
    assert "unknown field 'maxPrune'" in lines[1]
    assert "source.interval: 'soon' is not a duration" in lines[2]
    assert "gitbucket" in lines[3]


def test_drift_interval_and_defaults() -> None:
    config = parse_config("drift: {interval: 2s}\n", "agent.yaml")
    assert (config.drift.interval, config.drift.schedule, config.drift.mode) == (
        2.0,
        None,
        "report",
    )
    assert config.drift.scheduled and not parse_config("name: a\n", "a.yaml").drift.scheduled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "drift: {schedule: 10m}\n",
            "agent.yaml:1:9: drift.schedule: cron '10m' needs 5 fields",
        ),
        ("drift: {schedule: '61 * * * *'}\n", "agent.yaml:1:9: drift.schedule: cron '61 * * * *'"),
        ("drift: {schedule: '@often'}\n", "unknown cron macro '@often'"),
        ("drift: {schedule: '@hourly', timezone: Mars/Olympus}\n", "unknown timezone"),
        ("drift: {schedule: '@hourly', interval: 5m}\n", "are exclusive"),
        ("drift: {interval: soon}\n", "drift.interval: 'soon' is not a duration"),
        ("drift: {mode: fix}\n", "'drift.mode': must be one of report, heal"),
        ("drift: {schedule: 5}\n", "'drift.schedule': must be a string"),
    ],
)
def test_drift_configuration_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "agent.yaml")
    assert message in str(caught.value)
