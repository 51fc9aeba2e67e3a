"""``stop``, ``completion`` and refused flags beyond the first-hour path: other owners under
one supervisor, hostile arguments and values, and what the scripts may contain."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from gitops_agent.commands.completion import bash_script, commands_of, zsh_script
from gitops_agent.config import load_config
from gitops_agent.errors import ConfigError
from gitops_agent.wiring import build_target
from tests.cli.conftest import Run, program
from tests.conftest import copy_sample


def service_repo(directory: Path, owner: str) -> Path:
    """A repository of one worker (a sleeping shell) for agent owner ``owner``."""
    directory.mkdir()
    (directory / "gitops-agent.yaml").write_text(
        f"name: {owner}\nsync:\n  waitTimeout: 30s\n  pollInterval: 0.1s\n"
    )
    (directory / "sleeper.yaml").write_text(
        "version: v2alpha\nname: sleeper\ntype: worker\nspec:\n  replicas: 1\n"
        "  stack: container\n  compute: runnable-default\n"
        "  stackSpec: {image: alpine, command: [sleep, '300']}\n"
    )
    return directory


def test_stop_leaves_the_supervisor_to_the_owners_still_running(
    run: Run, tmp_path: Path, state: Path
) -> None:
    sample = copy_sample(tmp_path / "sample", sync="sync:\n  waitTimeout: 30s\n")
    other = service_repo(tmp_path / "other", "other")
    assert run("apply", str(sample))[0] == 0
    assert run("apply", str(other))[0] == 0
    code, out, err = run("stop", "--config", str(sample / "gitops-agent.yaml"))
    assert code == 0 and err == ""
    assert re.fullmatch(
        r"owner sample: stopped 3 process group\(s\); the local supervisor \(pid \d+\) "
        r"keeps running for other\n",
        out,
    )
    code, out, _ = run("stop", "--config", str(other / "gitops-agent.yaml"))
    assert re.fullmatch(
        r"owner other: stopped 1 process group\(s\) and the local supervisor \(pid \d+\)\n", out
    )


def test_stop_with_nothing_running_starts_nothing(run: Run, state: Path) -> None:
    assert run("stop") == (0, "owner gitops-agent: stopped 0 process group(s)\n", "")
    assert not (state / "daemon.pid").exists()


def test_a_refused_argument_stays_on_one_line() -> None:
    done = program("apply", "--targt\nerror:forged", "--" + "x" * 200)
    assert done.returncode == 2
    last = done.stderr.splitlines()[-1]
    assert last.startswith("gitops-agent apply: error: unrecognized arguments: '--targt\\nerror")
    assert last.endswith("... (202 characters)") and "forged" not in done.stderr.splitlines()[-2]
    assert (
        program("apply", "--targt=kubernetes")
        .stderr.splitlines()[-1]
        .endswith("unrecognized arguments: --targt=kubernetes (did you mean --target?)")
    )
    assert program("completion", "fish").stderr.splitlines()[-1] == (
        "gitops-agent completion: error: argument shell: invalid choice: 'fish' "
        "(choose from 'bash', 'zsh')"
    )


def test_a_type_is_one_of_three_in_any_case(run: Run) -> None:
    assert run("get", "-t", "WORKER")[0] == 1  # parsed; nothing of that type runs here
    with pytest.raises(SystemExit) as refused:
        run("get", "-t", "wrker")
    assert refused.value.code == 2


def test_only_plain_words_go_into_the_scripts() -> None:
    parser = argparse.ArgumentParser(prog="gitops-agent")
    commands = parser.add_subparsers(dest="command")
    sub = commands.add_parser("go")
    sub.add_argument("--mode", choices=("fast", "$(reboot)", "a b", "ok\n"))
    sub.add_argument("--`id`", action="store_true")
    (_, go) = commands_of(parser)
    assert go.flags[-1].choices == ("fast",) and [f.names for f in go.flags] == [
        ("-h", "--help"),
        ("--mode",),
    ]
    for script in (bash_script(parser), zsh_script(parser)):
        assert "reboot" not in script and "`id`" not in script and "a b" not in script


@pytest.mark.parametrize(
    ("value", "seconds"), [("10m", 600.0), ("0", 0.0), ("100000000h", 3.6e11), ("1.5s", 1.5)]
)
def test_the_idle_exit_reaches_the_supervisor(tmp_path: Path, value: str, seconds: float) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(f"target:\n  stateDir: {tmp_path / 'state'}\n  supervisorIdleExit: {value}\n")
    target = build_target(load_config(str(path)))
    assert target.runtime.settings.idle_exit_seconds == seconds  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["forever", "-1", "1.0e400", "'10 minutes'", "[1]"])
def test_an_idle_exit_that_is_no_duration_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(f"target:\n  supervisorIdleExit: {value}\n")
    with pytest.raises(ConfigError, match=r"agent\.yaml:?.*supervisorIdleExit"):
        load_config(str(path))
