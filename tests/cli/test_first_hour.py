"""Issue 14, the first hour: each rough edge a new user hit on the README's path, run as
that user ran it (make, the real command line in-process or as a process, real supervisor
processes), checking the exact shape of what they now see. One test per item, named after
it; items 1, 5, 9, 12 and 13 are here."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

from gitops_agent.targets.localproc import LocalRuntime
from gitops_agent.testing.waiting import wait_for
from tests.cli.conftest import Run, program
from tests.conftest import PROJECT, SAMPLE_REPO, copy_sample

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
TEST_TOOLS = ("ruff", "mypy", "hypothesis", "kubernetes-validate")


def make(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def project_copy(directory: Path) -> Path:
    """The files ``make demo`` and ``make test`` read, copied to ``directory``."""
    directory.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(PROJECT / name, directory / name)
    shutil.copytree(SAMPLE_REPO, directory / "sample-repo")
    return directory


def test_item_1_make_demo_installs_the_runtime_only(tmp_path: Path) -> None:
    work = project_copy(tmp_path / "project")
    demo = make(work, "-n", "demo").stdout.splitlines()
    assert [line for line in demo if "pip" in line] == [
        ".venv/bin/python -m pip install --quiet --disable-pip-version-check -e ."
    ]
    test = make(work, "-n", "test").stdout.splitlines()
    assert [line for line in test if "pip" in line] == [
        ".venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'"
    ]
    # what `make test` installed serves the demo: nothing is installed again
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "python").symlink_to(sys.executable)
    make(work, ".venv/.installed-test", "PIP=true")  # `make test`'s install, pip left out
    assert not [line for line in make(work, "-n", "demo").stdout.splitlines() if "pip" in line]
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    for tool in TEST_TOOLS:
        assert any(r.startswith(tool) for r in project["optional-dependencies"]["test"])
        assert not any(r.startswith(tool) for r in project["dependencies"])
    readme = (PROJECT / "README.md").read_text().split("```sh\n", 1)[1].splitlines()
    assert [line.split("#")[0].strip() for line in readme[:2]] == ["make demo", "make test"]
    assert "\nmake test\n" in (PROJECT / ".ci" / "run").read_text()


def test_item_5_the_demo_shows_every_sample_worker_doing_what_its_readme_says(
    tmp_path: Path, state: Path
) -> None:
    work = project_copy(tmp_path / "project")
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "gitops-agent").exists(), "the tests run from the project's virtualenv"
    # the demo as `make demo` runs it, the virtualenv being this one (nothing to install)
    done = make(work, "-o", ".venv/.installed-runtime", "demo", f"BIN={bin_dir}")
    assert done.returncode == 0, done.stdout + done.stderr
    out, err = done.stdout, done.stderr
    assert "Traceback" not in out + err and "nonexistent" not in out + err
    assert re.search(
        rf"^\[worker\.public\.sleep-worker/0\] {TIME} sleep-worker heartbeat$", out, re.M
    )
    report = re.search(
        rf"^\[worker\.public\.report-writer/0\] {TIME} report-writer wrote Daily status report 1 "
        r"to (\S+)$",
        out,
        re.M,
    )
    assert report, out
    written = Path(report.group(1))
    assert written == state / "disks/public/worker.public.report-writer/reports/report.log"
    assert re.fullmatch(
        rf"{TIME} Daily status report by report-writer in public\n", written.read_text()
    )
    rows = {line.split()[0]: line.split(None, 4) for line in out.splitlines() if "/public/" in line}
    assert rows["worker/public/report-writer"][2:4] == ["active", "running:1"]
    assert rows["workflow/public/verify-sleep-worker"][2:4] == ["active", "succeeded"]
    assert rows["worker/public/events-bento"][3:] == [
        "unsupported",
        "the bento stack does not run on the local target (only container does); use --target kubernetes",
    ]
    assert re.search(
        r"^stopped 3 process group\(s\) and the local supervisor \(pid \d+\) on exit", err, re.M
    )
    sample = (SAMPLE_REPO / "README.md").read_text()
    for promised in (
        "`<time> sleep-worker heartbeat`",
        "`report-writer wrote Daily status report N to .../reports/report.log`",
        "the local target reports it `unsupported`",
    ):
        assert promised in sample


def test_item_9_a_misspelled_flag_gets_its_command_s_usage_and_completion_exists(
    tmp_path: Path,
) -> None:
    done = program("apply", "--targt", "kubernetes")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("usage: gitops-agent apply [-h] ")
    assert lines[-1] == (
        "gitops-agent apply: error: unrecognized arguments: --targt (did you mean --target?)"
    )
    bash = tmp_path / "gitops-agent.bash"
    bash.write_text(program("completion", "bash").stdout)
    assert complete_in_bash(bash, "gitops-agent", "ap") == ["apply"]
    assert complete_in_bash(bash, "gitops-agent", "apply", "--ta") == ["--target"]
    assert complete_in_bash(bash, "gitops-agent", "apply", "--target", "") == [
        "kubernetes",
        "local",
    ]
    assert complete_in_bash(bash, "gitops-agent", "get", "-t", "w") == ["worker", "workflow"]
    assert complete_in_bash(bash, "gitops-agent", "plan", "-o", "") == ["text", "json", "markdown"]
    zsh = tmp_path / "_gitops-agent"
    zsh.write_text(program("completion", "zsh").stdout)
    check_zsh_script(zsh)


def complete_in_bash(script: Path, *words: str) -> list[str]:
    """What bash completes for ``words`` (the last one being typed), the script sourced."""
    driver = (
        'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
        'complete -p gitops-agent >/dev/null && _gitops_agent && printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        ["bash", "-c", driver, "bash", str(script), *words],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if line]


def check_zsh_script(script: Path) -> None:
    """``zsh -n`` and a run of the completion function with ``compadd`` stubbed, when zsh is
    installed; its structure otherwise."""
    text = script.read_text()
    assert text.startswith("#compdef gitops-agent\n")
    assert (
        text.count("case ") == text.count("esac") and "compdef _gitops_agent gitops-agent" in text
    )
    assert "(--target) compadd -- kubernetes local; return 0 ;;" in text
    if shutil.which("zsh") is None:
        return
    subprocess.run(["zsh", "-n", str(script)], check=True, timeout=30)
    driver = (
        'compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -l -- "$@"; }; '
        'compdef() { :; }; source "$1"; shift; words=("$@"); CURRENT=$#; _gitops_agent'
    )
    done = subprocess.run(
        ["zsh", "-f", "-c", driver, "zsh", str(script), "gitops-agent", "apply", "--target", ""],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.split() == ["kubernetes", "local"]


def test_item_12_stop_stops_the_owner_s_processes_and_the_supervisor(
    run: Run, tmp_path: Path, state: Path
) -> None:
    repo = copy_sample(tmp_path / "repo", sync="sync:\n  waitTimeout: 30s\n  pollInterval: 0.1s\n")
    config = ["--config", str(repo / "gitops-agent.yaml")]
    code, _, err = run("apply", str(repo))
    started = re.search(
        r"^\[ *\d+\.\ds\] started the local supervisor \(pid (\d+)\); gitops-agent stop stops it$",
        err,
        re.M,
    )
    assert code == 0 and started, err
    pid = int(started.group(1))
    code, _, err = run("apply", str(repo))
    assert code == 0 and "started the local supervisor" not in err
    code, out, err = run("stop", *config)
    assert (code, out, err) == (
        0,
        f"owner sample: stopped 3 process group(s) and the local supervisor (pid {pid})\n",
        "",
    )
    runtime = LocalRuntime(state, autostart=False)
    assert runtime.daemon_pid() is None and runtime.list() == []
    assert run("stop", *config) == (0, "owner sample: stopped 0 process group(s)\n", "")
    assert run("stop", *config, "--target", "kubernetes") == (
        0,
        "",
        "nothing to stop on the kubernetes target: the cluster runs its resources "
        "(gitops-agent delete removes them)\n",
    )
    # with nothing left to supervise (a workflow that ran), the supervisor leaves by itself
    idle = job_repo(tmp_path / "job", idle_exit="1s")
    code, _, err = run("apply", str(idle))
    assert code == 0 and "started the local supervisor" in err
    wait_for(
        lambda: runtime.daemon_pid() is None, timeout=15, message="the idle supervisor to exit"
    )
    readme = (PROJECT / "README.md").read_text()
    assert "`gitops-agent stop`" in readme and "supervisorIdleExit: 10m" in readme


def job_repo(directory: Path, *, idle_exit: str) -> Path:
    """A repository of one one-step workflow, its supervisor leaving after ``idle_exit``."""
    directory.mkdir()
    (directory / "gitops-agent.yaml").write_text(
        f"name: idle\ntarget:\n  supervisorIdleExit: {idle_exit}\n"
        "sync:\n  waitTimeout: 30s\n  pollInterval: 0.1s\n"
    )
    (directory / "once.yaml").write_text(
        "version: v2alpha\nname: once\ntype: workflow\nspec:\n  dag:\n    - name: say\n"
        "      spec:\n        stack: container\n        compute: runnable-default\n"
        "        stackSpec: {image: alpine, command: [echo, done]}\n"
    )
    return directory


def test_item_13_run_says_listening_once(tmp_path: Path, state: Path) -> None:
    source = tmp_path / "empty"
    source.mkdir()
    command = [sys.executable, "-m", "gitops_agent", "run", str(source), "--listen", "127.0.0.1:0"]
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    ) as agent:
        assert agent.stderr is not None
        watchdog = threading.Timer(60, agent.kill)  # a hung agent fails the test, not the run
        watchdog.start()
        lines = []
        for line in agent.stderr:  # until the first cycle is done: both lines came before it
            lines.append(line)
            if "applied: synced" in line:
                break
        agent.send_signal(signal.SIGTERM)
        lines += agent.stderr.readlines()
        code = agent.wait(timeout=30)
        watchdog.cancel()
    assert code == 0
    listening = [line for line in lines if "listening on" in line]
    assert len(listening) == 1, lines
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO +listening on http://127\.0\.0\.1:\d+\n", listening[0]
    )


@pytest.fixture(autouse=True)
def _no_stray_agent_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITOPS_AGENT_CONFIG", raising=False)
