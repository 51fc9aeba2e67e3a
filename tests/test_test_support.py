"""The shared test support: ``wait_for`` and the 127.0.0.1 servers of ``forges.serving``."""

from __future__ import annotations

import itertools
import socket
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from gitops_agent.testing.forges.serving import LocalHTTPServer, free_port, wait_for_port
from gitops_agent.testing.waiting import wait_for


class Hello(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")


def test_wait_for_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert wait_for(lambda: next(counter) >= 3 and "done", timeout=5, message="three") == "done"


def test_wait_for_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match=r"after 0.05s waiting for the moon \(last: \[\]\)"):
        wait_for(list, timeout=0.05, interval=0.01, message="the moon")
    with pytest.raises(TimeoutError, match="waiting for two, seen 1 "):
        wait_for(lambda: False, timeout=0, message=lambda: "two, seen 1")


def test_the_http_server_serves_on_loopback_until_stopped() -> None:
    with LocalHTTPServer(Hello) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(server.url, timeout=5) as response:
            assert response.read() == b"hello"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass


def test_waiting_for_a_port() -> None:
    port = free_port()
    with pytest.raises(TimeoutError, match=f"listen on 127.0.0.1:{port}"):
        wait_for_port(port, timeout=0.1)
    with socket.create_server(("127.0.0.1", port)):
        wait_for_port(port, timeout=5)
