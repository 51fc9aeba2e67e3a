"""Local git servers for tests and benchmarks: ``git daemon`` and ``git http-backend``.

``GitDaemon(base_path)`` runs ``git daemon`` on 127.0.0.1 (a free port, read-only unless
``allow_push``) and serves every repository under ``base_path`` as ``git://127.0.0.1:PORT/X``.
``GitHttpServer(base_path, token=...)`` serves the same over smart HTTP through
``git http-backend`` behind a stdlib server that demands ``Authorization: Basic`` with the
token as password (401 otherwise) and records the request paths and auth headers it saw;
given ``tls=`` (an ``ssl.SSLContext``) it serves HTTPS.
Both are context managers; leaving the block stops the process or thread (the HTTP one runs
on ``serving.LocalHTTPServer``). Used by the source and notes-reporter tests and by
``bench/git_poll_bench.py``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import shutil
import ssl
import subprocess
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Self

from gitops_agent.testing.forges.serving import LocalHTTPServer, free_port, wait_for_port


class GitDaemon:
    """``git daemon`` on 127.0.0.1 serving ``base_path``; a context manager."""

    def __init__(self, base_path: Path, *, allow_push: bool = False, port: int = 0) -> None:
        self.base_path = base_path
        self.allow_push = allow_push
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        """The ``git://`` URL of repository ``name`` under the base path."""
        return f"git://127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> Self:
        self.port = self.port or free_port()
        args = [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={self.port}",
            f"--base-path={self.base_path}",
            "--informative-errors",
        ]
        if self.allow_push:
            args.append("--enable=receive-pack")
        args.append(str(self.base_path))
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
            self._proc = None


class GitHttpServer:
    """Smart-HTTP git server (``git http-backend``) demanding a token; a context manager."""

    def __init__(
        self,
        base_path: Path,
        *,
        token: str,
        username: str = "x-access-token",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.base_path = base_path
        self.token = token
        self.username = username
        self.tls = tls
        self.seen_authorization: list[str] = []
        self.seen_paths: list[str] = []
        self._http: LocalHTTPServer | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._http is not None
        return self._http.port

    def url(self, name: str) -> str:
        """The ``http://`` (``https://`` with TLS) URL of repository ``name``."""
        assert self._http is not None
        return f"{self._http.url}/{name}"

    def authorized(self, header: str) -> bool:
        """True when ``header`` is Basic auth with this server's token as password."""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        _, _, password = decoded.partition(":")
        return hmac.compare_digest(password.encode(), self.token.encode())

    def __enter__(self) -> Self:
        self._http = LocalHTTPServer(_handler_for(self), name="git-http-backend", tls=self.tls)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            self._http.stop()
        self._http = None


def _handler_for(owner: GitHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            auth = self.headers.get("Authorization", "")
            owner.seen_authorization.append(auth)
            owner.seen_paths.append(self.path)
            if not owner.authorized(auth):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            self._run_backend(body)

        def _run_backend(self, body: bytes) -> None:
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(owner.base_path),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": owner.username,
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            git = shutil.which("git") or "git"
            result = subprocess.run(
                [git, "http-backend"],
                check=False,
                input=body,
                env=env,
                capture_output=True,
                timeout=60,
            )
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            status = 200
            headers: list[tuple[str, str]] = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
