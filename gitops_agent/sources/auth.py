"""Credentials and environment for git commands that talk to a remote.

Takes a repository URL plus the auth settings of a source (token env var name, SSH key file)
and returns the environment variables one git command needs: an ``Authorization`` header
scoped to the URL's host through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n`` (so the token is
neither on the command line nor in ``.git/config``), ``GIT_SSH_COMMAND`` for a key file, and
settings that make git fail instead of prompting. Called by ``sources.git`` and
``reporters.notes``; the returned ``secrets`` are what callers mask in messages.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gitops_agent.errors import ConfigError
from gitops_agent.redaction import strip_userinfo

_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:")


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
    """True for ``http://`` and ``https://`` URLs."""
    return urlsplit(url).scheme in ("http", "https")


def is_ssh_url(url: str) -> bool:
    """True for ``ssh://`` URLs and scp-like ``user@host:path`` forms."""
    return urlsplit(url).scheme in ("ssh", "git+ssh") or bool(_SCP_LIKE.match(url))


def check_url(url: str) -> None:
    """Refuse URLs that embed a password: a token belongs in an environment variable."""
    if not url.strip():
        raise ConfigError("source.url is empty; give a git URL or a local repository path")
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.password:
        raise ConfigError(
            f"source.url {strip_userinfo(url)} embeds a password; remove it and name an "
            "environment variable holding the token in source.auth.tokenEnv"
        )


def git_environment(
    url: str, auth: GitAuth, environ: Mapping[str, str], *, base: Mapping[str, str] = {}
) -> GitEnvironment:
    """Build the environment for a git command against ``url`` with ``auth``."""
    env: dict[str, str] = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    env.update(base)
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
        config.append(("credential.helper", ""))
    if auth.ssh_key_file and is_ssh_url(url):
        env["GIT_SSH_COMMAND"] = ssh_command(auth)
    _add_config(env, environ, config)
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


def _add_config(
    env: dict[str, str], environ: Mapping[str, str], config: list[tuple[str, str]]
) -> None:
    """Append ``config`` to any ``GIT_CONFIG_COUNT`` entries the process already has."""
    if not config:
        return
    try:
        start = int(environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        start = 0
    for offset, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{start + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    env["GIT_CONFIG_COUNT"] = str(start + len(config))
