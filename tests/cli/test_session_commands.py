"""``completion`` and refused flags beyond the first-hour path: hostile arguments, the
resource types in any case, and what the scripts may contain."""

from __future__ import annotations

import argparse

import pytest

from gitops_agent.commands.completion import bash_script, commands_of, zsh_script
from tests.cli.conftest import Run, program


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
