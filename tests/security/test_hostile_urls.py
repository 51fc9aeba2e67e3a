"""Issue 12, acceptance 1: a source URL shaped like a git option or naming a command
transport never runs a command, given as SOURCE or as ``source.url``, with ``run --once``,
``plan`` and ``apply``; each is refused with a message that quotes the value and says what
is accepted. Hostile refs and URLs (option-shaped, newlines, control characters, very long)
are refused the same way, without a traceback. The real command line, in-process."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from gitops_agent.redaction import quoted
from gitops_agent.sources.urls import ACCEPTED
from tests.security.conftest import Cli
from tests.security.hostile import git, hostile_repository, manifests, write_tree

COMMANDS = (("plan",), ("apply",), ("run", "--once"))


def option_shaped_urls(marker: Path) -> list[str]:
    """Values that would run ``touch MARKER`` if git read them as options or transports."""
    touch = f"touch {shlex.quote(str(marker))}"
    return [
        f"--upload-pack=:;{touch};",
        f"--upload-pack={touch};:",
        f"-c core.sshCommand={touch}",
        "-cprotocol.ext.allow=always",
        f"--config=core.fsmonitor={touch}",
        f"ext::sh -c {touch.replace(' ', '% ')}",
        f"ext::sh -c '{touch}'",
        f"--template={marker.parent / 'templates'}",
        "-repo",  # a leading '-' in a path: the directory exists, see the fixture
        f"-{marker.parent / 'repo'}",
        f"ssh://-oProxyCommand={touch.replace(' ', '%20')}/repo",
        "git@-oProxyCommand=touch${IFS}MARKER:repo",
        f"host:--upload-pack={touch}",
        f"file://--upload-pack={touch.replace(' ', '%20')}",
    ]


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a hostile value would write; a template with hooks and a '-repo' beside it."""
    monkeypatch.chdir(tmp_path)
    hooks = tmp_path / "templates" / "hooks"
    hooks.mkdir(parents=True)
    for hook in ("post-checkout", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {tmp_path / 'MARKER'}\n")
        (hooks / hook).chmod(0o755)
    hostile_repository(tmp_path, name="-repo")
    return tmp_path / "MARKER"


def config_with(path: Path, source: dict[str, str]) -> str:
    path.write_text(yaml.safe_dump({"name": "hostile", "source": source}))
    return str(path)


def assert_refused(code: int, err: str, what: str, value: str, accepted: str = ACCEPTED) -> None:
    assert code == 1, err
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert line.startswith(f"error: {what} {quoted(value)} ")
    assert accepted in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_option_shaped_source_urls_in_the_configuration_run_nothing(
    command: tuple[str, ...], marker: Path, cli: Cli, tmp_path: Path
) -> None:
    for value in option_shaped_urls(marker):
        config = config_with(tmp_path / "agent.yaml", {"url": value})
        code, _, err = cli(*command, "--config", config, *cache_flags(command, tmp_path))
        assert_refused(code, err, "source.url", value)
        assert not marker.exists(), value


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_option_shaped_sources_on_the_command_line_run_nothing(
    command: tuple[str, ...], marker: Path, cli: Cli, tmp_path: Path
) -> None:
    for value in option_shaped_urls(marker):
        code, _, err = cli(*command, *cache_flags(command, tmp_path), "--", value)
        assert_refused(code, err, "SOURCE", value)
        assert not marker.exists(), value


def test_a_directory_whose_name_starts_with_a_dash_is_read_as_dot_slash(
    marker: Path, cli: Cli
) -> None:
    code, out, err = cli("plan", "./-repo")
    assert code == 2, err
    assert "1 to create" in out
    assert not marker.exists()
    assert "starts with '-'" in cli("plan", "--", "-repo")[2]


def cache_flags(command: tuple[str, ...], tmp_path: Path) -> list[str]:
    return ["--cache-dir", str(tmp_path / "cache")] if command[0] == "run" else []


HOSTILE_URLS = [
    "https://git.example.com/x.git\nINFO forged log line",
    "https://git.example.com/x.git\r",
    "https://git.example.com/\x1b[2Jx.git",
    "https://git.example.com/\x7fx.git",
    "/srv/git/\u202egit.kcab",
    "https://git.example.com/" + "x" * 5000,
    "evil://git.example.com/x.git",
    "ftp://git.example.com/x.git",
]


@pytest.mark.parametrize("value", HOSTILE_URLS, ids=range(len(HOSTILE_URLS)))
def test_hostile_urls_are_refused_everywhere(value: str, cli: Cli, tmp_path: Path) -> None:
    config = config_with(tmp_path / "agent.yaml", {"url": value})
    for command in COMMANDS:
        flags = cache_flags(command, tmp_path)
        code, _, err = cli(*command, "--config", config, *flags)
        assert_refused(code, err, "source.url", value)
        code, _, err = cli(*command, *flags, "--", value)
        assert_refused(code, err, "SOURCE", value)


HOSTILE_REFS = [
    "--foo",
    "--upload-pack=touch MARKER",
    "-b",
    "main\n",
    "main\x1b[31m",
    "a..b",
    "main:evil",
    "r" * 5000,
]


@pytest.fixture
def plain_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "plain"
    repo.mkdir()
    write_tree(repo, manifests("plain"))
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "manifests")
    return repo


@pytest.mark.parametrize("ref", HOSTILE_REFS, ids=range(len(HOSTILE_REFS)))
def test_hostile_refs_are_refused(ref: str, plain_repo: Path, cli: Cli, tmp_path: Path) -> None:
    accepted = "accepted: a branch or tag name"
    for command in ("plan", "apply"):
        code, _, err = cli(command, str(plain_repo), f"--ref={ref}")
        assert_refused(code, err, "--ref", ref, accepted)
    config = config_with(tmp_path / "agent.yaml", {"url": plain_repo.as_uri(), "ref": ref})
    code, _, err = cli("run", "--once", "--config", config, *cache_flags(("run",), tmp_path))
    assert_refused(code, err, "source.ref", ref, accepted)
    code, _, err = cli("plan", "--config", config, "--ref", "main")
    assert code == 2, err  # --ref wins over a bad source.ref


def test_an_option_after_ref_is_a_usage_error(plain_repo: Path, cli: Cli) -> None:
    code, _, err = cli("plan", str(plain_repo), "--ref", "--foo")
    assert code == 2 and "expected one argument" in err


def test_run_follows_only_an_existing_directory(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("run", "--once", str(tmp_path / "missing"))
    assert code == 1 and "is not a directory" in err
    # run takes a repository URL as plan and apply do (0efd4bc): one it cannot read fails
    code, _, err = cli("run", "--once", "https://git.example.com/x.git")
    assert code == 1 and "the source could not be read" in err
