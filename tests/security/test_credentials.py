"""Issue 12, acceptance 3: after ``run --once`` with a token (``source.tokenEnv``) against
the git HTTP(S) server emulator that demands it, the token is in no file under the cache and
state directories (every file's bytes read), in no log line (text and JSON), and in no git
command line (git's own trace). The agent runs as a real process; the notes reporter pushes
with the same token, so the notes repository in the cache is searched too."""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gitops_agent.targets.localproc import LocalRuntime
from gitops_agent.testing.forges.gitserve import GitHttpServer
from tests.security.hostile import git, manifests, write_tree

TOKEN = "s3cr3t-forge-token-0123456789abcdef"
OTHER_TOKEN = "an0ther-s3cr3t-token-fedcba9876543210"
LEVELS = ("INFO", "WARNING", "ERROR")


def forbidden(token: str) -> list[bytes]:
    """The token and the ``Authorization: Basic`` value that carries it."""
    header = base64.b64encode(f"x-access-token:{token}".encode())
    return [token.encode(), header]


@dataclass
class Served:
    base: Path  # holds manifests.git
    tls: ssl.SSLContext | None
    ca_file: Path | None


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed for the HTTPS server")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(params=["https", "http"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Served:
    """A bare manifest repository, and how to serve it (TLS or not)."""
    work = tmp_path / "work"
    work.mkdir()
    write_tree(work, manifests("tokens"))
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "manifests")
    base = tmp_path / "served"
    base.mkdir()
    git(base, "clone", "--quiet", "--bare", str(work), "manifests.git")
    if request.param == "http":
        return Served(base, None, None)
    cert, key = request.getfixturevalue("certificate")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return Served(base, context, cert)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "state"
    yield directory
    if directory.exists():
        LocalRuntime(directory, autostart=False).stop_daemon(stop_processes=True)


def run_once(
    served: Served, url: str, tmp_path: Path, state: Path, *, token: str, log_format: str
) -> subprocess.CompletedProcess[str]:
    """``python -m gitops_agent run --once`` following ``url`` with ``token``."""
    config = tmp_path / "agent.yaml"
    source = {"url": url, "ref": "main", "tokenEnv": "FORGE_TOKEN", "fetch": "blobless"}
    sync = {"waitTimeout": "30s", "pollInterval": "0.1s"}
    data = {"name": "tokens", "source": source, "reporter": {"kind": "notes"}, "sync": sync}
    config.write_text(yaml.safe_dump(data))
    env = {
        **os.environ,
        "FORGE_TOKEN": token,
        "GITOPS_AGENT_STATE_DIR": str(state),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "GIT_TRACE2_EVENT": str(tmp_path / "git-trace.json"),
    }
    if served.ca_file is not None:
        env["GIT_SSL_CAINFO"] = str(served.ca_file)
    command = [sys.executable, "-m", "gitops_agent", "run", "--once", "--config", str(config)]
    command += ["--cache-dir", str(tmp_path / "cache"), "--log-format", log_format]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path


def assert_nowhere(
    token: str, done: subprocess.CompletedProcess[str], tmp_path: Path, *, checked_out: bool
) -> None:
    """The token is in no file of the cache and state dirs, no output line, no git argv."""
    secrets = forbidden(token)
    searched = list(files_under(tmp_path / "cache", tmp_path / "state", tmp_path / "xdg"))
    assert any(".git" in path.parts for path in searched) is checked_out
    for path in searched:
        data = path.read_bytes()
        assert not any(secret in data for secret in secrets), path
    for line in (done.stdout + done.stderr).splitlines():
        assert not any(secret.decode() in line for secret in secrets), line
    trace = (tmp_path / "git-trace.json").read_bytes()
    assert b'"event":"start"' in trace
    assert not any(secret in trace for secret in secrets)


def log_lines(stderr: str, log_format: str) -> list[str]:
    """The messages of the log lines (text: ``HH:MM:SS LEVEL message``; json: one object)."""
    if log_format == "text":
        lines = [line.split(maxsplit=2) for line in stderr.splitlines()]
        return [words[2] for words in lines if len(words) == 3 and words[1] in LEVELS]
    return [json.loads(line)["message"] for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_token_reaches_no_file_log_or_command_line(
    log_format: str, served: Served, tmp_path: Path, state: Path
) -> None:
    with GitHttpServer(served.base, token=TOKEN, tls=served.tls) as server:
        url = server.url("manifests.git")
        done = run_once(served, url, tmp_path, state, token=TOKEN, log_format=log_format)
        assert done.returncode == 0, done.stderr
        assert server.seen_authorization
        assert all(server.authorized(header) for header in server.seen_authorization)
    messages = log_lines(done.stderr, log_format)
    assert any(message.startswith("reconciling revision") for message in messages)
    assert "worker/public/sleeper" in done.stdout
    notes = git(served.base / "manifests.git", "for-each-ref", "refs/notes/")
    assert "refs/notes/gitops-agent" in notes  # the notes reporter pushed with the token
    assert_nowhere(TOKEN, done, tmp_path, checked_out=True)


@pytest.mark.parametrize("served", ["https"], indirect=True)
def test_a_refused_token_is_named_by_its_variable_only(
    served: Served, tmp_path: Path, state: Path
) -> None:
    with GitHttpServer(served.base, token=TOKEN, tls=served.tls) as server:
        url = server.url("manifests.git")
        done = run_once(served, url, tmp_path, state, token=OTHER_TOKEN, log_format="json")
        assert done.returncode == 1
        assert server.seen_authorization
    messages = log_lines(done.stderr, "json")
    assert any("check the token in $FORGE_TOKEN" in message for message in messages)
    assert_nowhere(OTHER_TOKEN, done, tmp_path, checked_out=False)


@pytest.mark.parametrize("userinfo", [f"{TOKEN}@", f"x-access-token:{TOKEN}@"])
def test_a_token_in_the_url_is_refused_before_anything_is_written(
    userinfo: str, served: Served, tmp_path: Path, state: Path
) -> None:
    with GitHttpServer(served.base, token=TOKEN, tls=served.tls) as server:
        url = server.url("manifests.git").replace("://", f"://{userinfo}", 1)
        done = run_once(served, url, tmp_path, state, token=TOKEN, log_format="text")
        assert server.seen_paths == []
    assert done.returncode == 1
    assert "carries credentials in the URL" in done.stderr and "source.tokenEnv" in done.stderr
    assert not (tmp_path / "cache").exists()
    for line in (done.stdout + done.stderr).splitlines():
        assert TOKEN not in line
