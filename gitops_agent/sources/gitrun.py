"""Starting git: the one way the agent runs a git process, with repository config disarmed.

``run(args, cwd=..., env=..., timeout=...)`` runs ``git --no-pager -c ... ARGS`` through
gitpython's ``Git.execute``. The ``-c`` overrides (``OVERRIDES``) come last in git's config
order, so they win over any repository-local ``.git/config``: no fsmonitor command, no hooks,
no askpass or credential helper, no submodule recursion, only the transports of the source
allow-list. The environment (``environment()``) turns the system config off, makes the
global config empty, sets the same transport list for git and every git it starts, and fixes
the ssh and proxy commands so that ``core.sshCommand`` / ``core.gitProxy`` of a repository
never apply. ``filter_overrides(cwd)`` lists the content filters a repository defines (its
``filter.<driver>.clean|smudge|process``) and the settings that turn each off, for commands
run in a repository the agent did not create; ``run(..., config=...)`` passes such settings
through ``GIT_CONFIG_COUNT`` (a driver name may hold ``=``, which ``-c`` cannot carry).
Callers put user input after ``--`` and keep credentials in ``env`` (never in ``args``,
which ``ps`` shows). Library errors (``git.GitCommandError``, ``OSError``) go back to
the caller, which names its source. Called by ``sources.git``, ``sources.snapshot`` and
``reporters.notes``; SECURITY.md lists each defence.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

import git

ALLOWED_PROTOCOLS = ("file", "git", "http", "https", "ssh")

OVERRIDES: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),  # a command run on every index refresh
    ("core.hooksPath", os.devnull),  # no hook (post-checkout, reference-transaction, ...)
    ("core.askPass", ""),  # no password prompt program
    ("credential.helper", ""),  # empties the helper list: tokens come from the environment
    ("core.pager", "cat"),
    ("protocol.allow", "never"),
    *((f"protocol.{name}.allow", "always") for name in ALLOWED_PROTOCOLS),
    ("protocol.ext.allow", "never"),
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("remote.origin.uploadpack", "git-upload-pack"),
    ("remote.origin.receivepack", "git-receive-pack"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("log.showSignature", "false"),
)


def command(args: Sequence[str]) -> list[str]:
    """The argv of one hardened git command."""
    options = [word for key, value in OVERRIDES for word in ("-c", f"{key}={value}")]
    return ["git", "--no-pager", *options, *args]


def environment(
    extra: Mapping[str, str] = {}, *, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables set on top of the process environment for one git command.

    ``extra`` (credentials, an identity, tracing) wins; a ``GIT_SSH_COMMAND`` or
    ``GIT_PROXY_COMMAND`` the agent's own environment sets is kept.
    """
    source = os.environ if environ is None else environ
    env = {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ALLOW_PROTOCOL": ":".join(ALLOWED_PROTOCOLS),
        "GIT_TERMINAL_PROMPT": "0",
        "GCM_INTERACTIVE": "never",
        "GIT_PAGER": "cat",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_PROXY_COMMAND": source.get("GIT_PROXY_COMMAND", ""),
        "GIT_SSH_COMMAND": source.get("GIT_SSH_COMMAND") or _ssh_program(source),
    }
    env.update(extra)
    return env


def _ssh_program(environ: Mapping[str, str]) -> str:
    """``GIT_SSH`` as a command when the environment names one, else plain ``ssh``."""
    program = environ.get("GIT_SSH", "")
    return shlex.quote(program) if program else "ssh"


def add_config(
    env: dict[str, str], environ: Mapping[str, str], config: Sequence[tuple[str, str]]
) -> None:
    """Append ``config`` to ``env`` as ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` entries,
    after any ``GIT_CONFIG_COUNT`` entries ``env`` or the process (``environ``) has."""
    if not config:
        return
    try:
        start = int(env.get("GIT_CONFIG_COUNT") or environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        start = 0
    for offset, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{start + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    env["GIT_CONFIG_COUNT"] = str(start + len(config))


def filter_overrides(cwd: Path, *, timeout: float = 30.0) -> tuple[tuple[str, str], ...]:
    """Settings that disarm every content filter driver the repository at ``cwd`` defines
    (reading config runs nothing); empty outside a repository or when it defines none."""
    try:
        out = run(
            ["config", "--null", "--name-only", "--get-regexp", r"^filter\."],
            cwd=cwd,
            timeout=timeout,
            binary=True,
        )
    except (git.GitCommandError, OSError):
        return ()  # exit 1: no such key
    data = out if isinstance(out, bytes) else out.encode()
    names = {os.fsdecode(key).rpartition(".")[0] for key in data.split(b"\0") if key}
    return tuple(
        (f"{name}.{variable}", value)
        for name in sorted(names)
        for variable, value in (
            ("clean", ""),
            ("smudge", ""),
            ("process", ""),
            ("required", "false"),
        )
    )


def run(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] = {},
    config: Sequence[tuple[str, str]] = (),
    timeout: float = 120.0,
    binary: bool = False,
) -> str | bytes:
    """Run one hardened git command in ``cwd``; its standard output (stripped unless
    ``binary``). ``config`` is set for this command only, through the environment. Raises
    ``git.GitCommandError`` on a non-zero exit, ``OSError`` when git cannot start."""
    extra = dict(env)
    add_config(extra, os.environ, config)
    out = git.Git(cwd).execute(
        command(args),
        env=environment(extra),
        kill_after_timeout=timeout,
        stdout_as_string=not binary,
        strip_newline_in_stdout=not binary,
    )
    return out if out is not None else b""
