"""The HTTP layer: a threading HTTP/1.1 server on 127.0.0.1 that speaks the API over JSON.

``ApiServer`` reads each request into a ``wire.Request``, applies injected faults (latency,
error status, connection reset), lets ``handlers.ApiHandler`` (or the control API under
``/_kubesim``) answer, writes the answer (chunked for streams), and records the request in
the simulator's log. It tracks its connections and handler threads so that ``close`` ends
them all. Owned by ``KubeSim``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.authn import ANONYMOUS
from gitops_agent.testing.kubesim.control import Fault, RequestRecord
from gitops_agent.testing.kubesim.handlers import error_response
from gitops_agent.testing.kubesim.wire import Request, Response, Target, parse_target

if TYPE_CHECKING:
    from gitops_agent.testing.kubesim.simulator import KubeSim

CONTROL_PREFIX = "/_kubesim"
HANDSHAKE_TIMEOUT = 10.0  # seconds a client may take over its TLS handshake
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small answers must not wait for delayed ACKs
    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the simulator's."""

    def setup(self) -> None:
        """With TLS, the handshake runs here, on the connection's own thread, bounded."""
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(HANDSHAKE_TIMEOUT)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _read(self) -> Request:
        url = urllib.parse.urlsplit(self.path)
        query = {
            k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()
        }
        headers = {k.lower(): v for k, v in self.headers.items()}
        seen: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            seen.setdefault(name.lower(), []).append(value)
        repeated = {k: tuple(v) for k, v in seen.items() if len(v) > 1}
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        path = urllib.parse.unquote(url.path)
        return Request(self.command, path, query, headers, body, repeated)

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    def _serve(self) -> None:
        started = time.time()
        request = self._read()
        sim = self.server.sim
        if request.path.startswith(CONTROL_PREFIX):
            self._write(sim.control_api.handle(request))
            return
        target = parse_target(request.method, request.path, request.flag("watch"))
        try:
            request = dataclasses.replace(request, identity=sim.security.identify(request))
            sim.security.authorize(request.identity or ANONYMOUS, request)
        except errors.ApiError as refused:
            denial = error_response(refused)
            sim.control.record(_record(request, target, denial.code, started))
            self._write(denial)
            return
        fault = None
        if target is not None:
            resource = target.rt.plural + (f"/{target.subresource}" if target.subresource else "")
            fault = sim.control.fault_for(target.verb, resource, target.namespace, target.name)
        if fault is not None and fault.latency and sim.stopping.wait(fault.latency):
            sim.control.record(_record(request, target, 0, started))
            return  # shutting down: the connection is dropped
        with sim.traffic.busy():
            response = self._answer(request, target, fault)
            # Recorded before the answer is sent: a client that has its answer finds its
            # request in the log (tests read the log right after a call returns).
            sim.control.record(_record(request, target, response.code if response else 0, started))
            if response is not None and response.stream is None:
                self._write(response)
        if response is not None and response.stream is not None:
            self._write(response)

    def _answer(
        self, request: Request, target: Target | None, fault: Fault | None
    ) -> Response | None:
        """The response to send, or None when the connection is to be dropped."""
        sim = self.server.sim
        if fault is not None and fault.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return None
        if fault is not None and fault.code:
            error = errors.ApiError(
                fault.code, fault.reason or _REASONS.get(fault.code, "Unknown"), fault.message
            )
            if fault.code == 429:
                error.headers["Retry-After"] = "1"
            response = error_response(error)
        else:
            response = sim.api.handle(request, target)
        return response

    def _write(self, response: Response) -> None:
        self.send_response(response.code)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in response.headers:
            self.send_header(name, value)
        if response.stream is None:
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._write_stream(response)

    def _write_stream(self, response: Response) -> None:
        stream = response.stream
        assert stream is not None
        try:
            for chunk in stream:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()


def _record(request: Request, target: Target | None, code: int, started: float) -> RequestRecord:
    rt = target.rt if target is not None else None
    return RequestRecord(
        time=started,
        method=request.method,
        verb=target.verb if target is not None else request.method.lower(),
        path=request.path,
        group=rt.group if rt else "",
        version=rt.version if rt else "",
        resource=rt.plural if rt else "",
        subresource=target.subresource if target else "",
        namespace=target.namespace if target else "",
        name=target.name if target else "",
        query=dict(request.query),
        dry_run=request.query.get("dryRun") == "All",
        code=code,
        field_manager=request.query.get("fieldManager", ""),
        content_type=request.header("Content-Type"),
        user_agent=request.header("User-Agent"),
        duration=time.time() - started,
        user=request.identity.user if request.identity is not None else "",
    )


class ApiServer(ThreadingHTTPServer):
    """The listening socket and its connection threads."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, sim: KubeSim, host: str, port: int, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.sim = sim
        self.tls = tls
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._conn_threads: set[threading.Thread] = set()
        super().__init__((host, port), _Handler)

    def get_request(self) -> tuple[Any, Any]:
        """An accepted connection, wrapped in TLS (handshake left to its thread) when on."""
        conn, address = super().get_request()
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._run, args=(request, client_address), name="kubesim-conn", daemon=True
        )
        with self._lock:
            self._connections.add(request)
            self._conn_threads.add(thread)
        thread.start()

    def _run(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._connections.discard(request)
                self._conn_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (killed, timed out) is not an error of the
        server: a real API server logs nothing for it. Anything else is still printed."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | ssl.SSLError):
            return
        super().handle_error(request, client_address)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Shut every open connection and wait for the handler threads to end."""
        with self._lock:
            connections, threads = list(self._connections), list(self._conn_threads)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
