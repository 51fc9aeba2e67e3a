"""Credentials for git commands that talk to a remote, in the environment of one command.

Takes a repository URL plus the auth settings of a source (token env var name, SSH key file)
and returns the environment variables one git command needs: an ``Authorization`` header
scoped to the URL's host through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n`` (so the token is
neither on the command line nor in ``.git/config`` nor anywhere on disk) and
``GIT_SSH_COMMAND`` for a key file. ``sources.gitrun`` adds what makes git fail instead of
prompting (no askpass, no credential helper, no terminal prompt). Called by ``sources.git``
and ``reporters.notes``; the returned ``secrets`` are what callers mask in messages.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gitops_agent.errors import ConfigError
from gitops_agent.sources.gitrun import add_config
from gitops_agent.sources.urls import kind_of


@dataclass(frozen=True, slots=True)
class GitAuth:
    """How to authenticate to a git remote. Empty fields mean "no such credential"."""

    token_env: str = ""
    token_username: str = "x-access-token"
    ssh_key_file: str = ""
    ssh_known_hosts_file: str = ""


@dataclass(frozen=True, slots=True)
class GitEnvironment:
    """Environment variables for one git command and the secret values they carry."""

    env: Mapping[str, str]
    secrets: frozenset[str] = field(default_factory=frozenset)


def is_http_url(url: str) -> bool:
    """True for accepted ``http://`` and ``https://`` URLs."""
    kind = kind_of(url)
    return kind is not None and kind.uses_http


def is_ssh_url(url: str) -> bool:
    """True for accepted ``ssh://`` URLs and scp-like ``user@host:path`` forms."""
    kind = kind_of(url)
    return kind is not None and kind.uses_ssh


def git_environment(
    url: str, auth: GitAuth, environ: Mapping[str, str], *, base: Mapping[str, str] = {}
) -> GitEnvironment:
    """Build the environment for a git command against ``url`` with ``auth``."""
    env: dict[str, str] = dict(base)
    config: list[tuple[str, str]] = []
    secrets: set[str] = set()
    if auth.token_env and is_http_url(url):
        token = environ.get(auth.token_env, "")
        if not token:
            raise ConfigError(
                f"environment variable {auth.token_env} (the source token) is not set or empty"
            )
        secrets.add(token)
        pair = f"{auth.token_username}:{token}".encode()
        encoded = base64.b64encode(pair).decode("ascii")
        secrets.add(encoded)
        parts = urlsplit(url)
        scope = f"{parts.scheme}://{parts.hostname}"
        if parts.port:
            scope += f":{parts.port}"
        config.append((f"http.{scope}/.extraHeader", f"Authorization: Basic {encoded}"))
    if auth.ssh_key_file and is_ssh_url(url):
        env["GIT_SSH_COMMAND"] = ssh_command(auth)
    add_config(env, environ, config)
    return GitEnvironment(env=env, secrets=frozenset(secrets))


def ssh_command(auth: GitAuth) -> str:
    """The ``GIT_SSH_COMMAND`` for a key file, never prompting."""
    words = ["ssh", "-i", auth.ssh_key_file, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]
    if auth.ssh_known_hosts_file:
        words += ["-o", f"UserKnownHostsFile={auth.ssh_known_hosts_file}"]
        words += ["-o", "StrictHostKeyChecking=yes"]
    else:
        words += ["-o", "StrictHostKeyChecking=accept-new"]
    return shlex.join(words)
