"""git_environment: where credentials go (environment only, scoped to the host)."""

from __future__ import annotations

import base64

from gitops_agent.sources.auth import GitAuth, git_environment, is_ssh_url


def test_token_becomes_a_host_scoped_header_in_config_env() -> None:
    auth = GitAuth(token_env="T", token_username="oauth2")
    prepared = git_environment("https://git.example.com:8443/a/b.git", auth, {"T": "tok-123"})
    env = prepared.env
    assert env["GIT_CONFIG_COUNT"] == "1"
    assert env["GIT_CONFIG_KEY_0"] == "http.https://git.example.com:8443/.extraHeader"
    scheme, encoded = env["GIT_CONFIG_VALUE_0"].removeprefix("Authorization: ").split()
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "oauth2:tok-123"
    assert {"tok-123", encoded} <= prepared.secrets


def test_existing_config_env_entries_are_kept() -> None:
    environ = {"T": "tok-123", "GIT_CONFIG_COUNT": "1"}
    env = git_environment("https://h/r.git", GitAuth(token_env="T"), environ).env
    assert env["GIT_CONFIG_COUNT"] == "2"
    assert "GIT_CONFIG_KEY_0" not in env
    assert env["GIT_CONFIG_KEY_1"] == "http.https://h/.extraHeader"


def test_ssh_key_sets_a_non_interactive_ssh_command() -> None:
    auth = GitAuth(ssh_key_file="/keys/deploy key", ssh_known_hosts_file="/keys/known_hosts")
    env = git_environment("git@github.com:acme/manifests.git", auth, {}).env
    command = env["GIT_SSH_COMMAND"]
    assert "-i '/keys/deploy key'" in command
    assert "BatchMode=yes" in command and "StrictHostKeyChecking=yes" in command
    assert "UserKnownHostsFile=/keys/known_hosts" in command
    assert "GIT_CONFIG_COUNT" not in env
    assert is_ssh_url("ssh://git@host/x.git") and not is_ssh_url("https://host/x.git")


def test_token_is_not_sent_to_non_http_remotes() -> None:
    env = git_environment("git://127.0.0.1/x", GitAuth(token_env="T"), {"T": "tok"}).env
    assert "GIT_CONFIG_COUNT" not in env
