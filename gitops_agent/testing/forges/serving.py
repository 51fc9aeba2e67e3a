"""Serving on 127.0.0.1 for the emulators: a background HTTP server, free ports, port waits.

``LocalHTTPServer(handler_class)`` starts a ``ThreadingHTTPServer`` for ``handler_class`` on
127.0.0.1 (a port the kernel picks) in a daemon thread, speaking TLS when given an
``ssl.SSLContext`` (``tls=``); ``port`` and ``url`` say where it listens, and ``stop()`` (or leaving its ``with`` block) shuts it down, closes the socket and
joins the thread within a bound. ``free_port()`` names a free port for servers that must be
told one (``git daemon``); ``wait_for_port(port)`` waits until something accepts on it.
Used by ``base.ForgeEmulator`` and ``gitserve`` (``GitDaemon``, ``GitHttpServer``), and by
the source tests for ports where nothing listens.
"""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from gitops_agent.testing.waiting import wait_for

HOST = "127.0.0.1"
POLL_INTERVAL = 0.05  # how often serve_forever looks for a shutdown request
JOIN_TIMEOUT = 5.0


class LocalHTTPServer:
    """``handler_class`` served on 127.0.0.1 by a daemon thread from construction to ``stop``."""

    def __init__(
        self,
        handler_class: type[BaseHTTPRequestHandler],
        *,
        name: str = "",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._server = ThreadingHTTPServer((HOST, 0), handler_class)
        self._server.daemon_threads = True
        self.scheme = "https" if tls else "http"
        if tls is not None:  # the handshake happens in the handler thread, on first read
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_INTERVAL,),
            name=name or f"http-{handler_class.__name__}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with TLS), no trailing slash."""
        return f"{self.scheme}://{HOST}:{self.port}"

    def stop(self, *, timeout: float = JOIN_TIMEOUT) -> None:
        """Stop serving, close the socket and join the thread (at most ``timeout`` seconds)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``; else ``TimeoutError``."""
    wait_for(
        lambda: _accepts(port), timeout=timeout, message=f"something to listen on {HOST}:{port}"
    )


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False
