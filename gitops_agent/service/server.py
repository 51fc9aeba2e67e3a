"""The agent's HTTP server: webhooks, health, readiness and metrics.

``AgentServer(config, on_push=..., on_pull_request=..., metrics=..., health=...)`` runs a
stdlib ``ThreadingHTTPServer`` in a thread (``start``/``stop`` or ``with``). Routes:
``POST /webhooks/{github,gitlab,gitea,bitbucket,generic}`` (signature or token checked in constant
time; 401 when wrong or missing, 409 for a replay, 400 for a malformed request, 413 over the
body limit, 202 for an ignored event; a valid push calls ``on_push(PushHint)``, a pull/merge
request ``on_pull_request(PullRequestHint)``), ``GET /healthz`` (200 while the process
lives), ``GET /readyz`` (503 until ``health.mark_ready()``), ``GET /metrics`` (Prometheus
text), and any other GET the status page (``pages``, from ``service.ui.routes``) answers. Every refusal is counted and logged (rate-limited) with its reason and the peer
address. Callbacks run on the request thread and must only hand the hint over (set an
event, enqueue), not reconcile. Built by the CLI's ``run`` command.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self

from gitops_agent.errors import ConfigError
from gitops_agent.service.metrics import CONTENT_TYPE, AgentMetrics
from gitops_agent.service.refusals import (
    Refusal,
    RefusalLog,
    ReplayCache,
    WebhookRefusedError,
    content_length,
    printable,
    single_headers,
)
from gitops_agent.service.webhooks import (
    PING,
    SIGNATURE_WINDOW,
    Delivery,
    Event,
    Forge,
    PullRequestHint,
    PushHint,
    WebhookSecrets,
    authenticate,
    parse,
)

DEFAULT_MAX_BODY = 1 << 20  # GitHub caps payloads at 25 MB; pushes of manifests are small
DEFAULT_REPLAY_CAPACITY = 10_000  # delivery ids remembered per forge
DELIVERY_ID_MEMORY = 24 * 3600.0  # seconds a forge's delivery id is remembered

log = logging.getLogger(__name__)

#: The status page's routes (``service.ui.routes.StatusPages.answer``): None for other paths.
Pages = Callable[[str, Mapping[str, str]], "PageAnswer | None"]


class PageAnswer(Protocol):
    """What the page answers: status, body, content type, extra headers."""

    @property
    def status(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...
    @property
    def headers(self) -> tuple[tuple[str, str], ...]: ...


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Where to listen and what to accept."""

    port: int
    host: str = "127.0.0.1"
    secrets: WebhookSecrets = field(default_factory=WebhookSecrets)
    max_body_bytes: int = DEFAULT_MAX_BODY
    read_timeout: float = 10.0
    replay_capacity: int = DEFAULT_REPLAY_CAPACITY
    refusal_log_lines: int = 10  # per reason and minute; the rest is counted

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"server.port {self.port} is not a TCP port")
        if self.max_body_bytes <= 0:
            raise ConfigError("server.maxBodyBytes must be positive")
        if self.replay_capacity <= 0 or self.read_timeout <= 0:
            raise ConfigError("the replay capacity and the read timeout must be positive")


class Health:
    """Liveness is implicit; readiness turns on after the first successful cycle."""

    def __init__(self) -> None:
        self._ready = threading.Event()

    def mark_ready(self) -> None:
        """Called by the agent loop after its first successful cycle."""
        self._ready.set()

    @property
    def ready(self) -> bool:
        """True once ``mark_ready`` was called."""
        return self._ready.is_set()


def _ignore_pull_request(hint: PullRequestHint) -> None:
    log.debug("pull request #%d event ignored: previews are not wired", hint.number)


class AgentServer:
    """Serves webhooks, health and metrics on one port."""

    def __init__(
        self,
        config: ServerOptions,
        *,
        on_push: Callable[[PushHint], None],
        on_pull_request: Callable[[PullRequestHint], None] = _ignore_pull_request,
        metrics: AgentMetrics | None = None,
        health: Health | None = None,
        pages: Pages | None = None,
    ) -> None:
        self.config = config
        self.pages = pages
        self.on_push = on_push
        self.on_pull_request = on_pull_request
        self.metrics = metrics or AgentMetrics()
        self.health = health or Health()
        self.replays = {
            forge: ReplayCache(
                capacity=config.replay_capacity,
                # a generic signature stays acceptable for at most two windows
                ttl=2 * SIGNATURE_WINDOW if forge is Forge.GENERIC else DELIVERY_ID_MEMORY,
            )
            for forge in Forge
        }
        self.refusals = RefusalLog(log, per_minute=config.refusal_log_lines)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        if self._server is None:
            raise RuntimeError("server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.config.host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a background thread."""
        try:
            self._server = _QuietServer((self.config.host, self.config.port), _handler_for(self))
        except OSError as exc:
            where = f"{self.config.host}:{self.config.port}"
            raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="agent-http", daemon=True
        )
        self._thread.start()
        log.info("listening on %s", self.url)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        self.refusals.flush()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def handle_webhook(
        self, forge: Forge, headers: dict[str, str], body: bytes, *, peer: str = "-"
    ) -> tuple[int, dict[str, Any]]:
        """Verify, check for a replay, parse and dispatch one delivery from ``peer``;
        returns (status, JSON answer). ``headers`` have lower-case names."""
        secret = self.config.secrets.for_forge(forge)
        try:
            delivery = authenticate(forge, secret, body, headers, now=time.time())
            self._claim(forge, delivery)
            event = parse(forge, headers, body)
        except WebhookRefusedError as refused:
            return self.refuse(forge, refused, peer=peer)
        status, answer = self._dispatch(forge, event)
        if status >= 500:
            self.replays[forge].release(delivery.keys)
        return status, answer

    def refuse(
        self, forge: Forge, refused: WebhookRefusedError, *, peer: str
    ) -> tuple[int, dict[str, Any]]:
        """Count and log a refused request; returns (status, JSON answer)."""
        reason = refused.refusal
        self.metrics.webhooks.inc(forge=forge.value, outcome=reason.outcome)
        self.metrics.webhook_refusals.inc(forge=forge.value, reason=reason.value)
        self.refusals.record(refused, peer=peer, endpoint=f"/webhooks/{forge.value}")
        return reason.status, {"error": str(refused)}

    def _claim(self, forge: Forge, delivery: Delivery) -> None:
        if not self.replays[forge].claim(delivery.keys):
            what = f"delivery {delivery.label}" if delivery.label else "this signed delivery"
            raise WebhookRefusedError(Refusal.REPLAY, f"{what} was already received")

    def _dispatch(self, forge: Forge, event: Event) -> tuple[int, dict[str, Any]]:
        if event is PING:
            self.metrics.webhooks.inc(forge=forge.value, outcome="ping")
            return 200, {"status": "pong"}
        if not isinstance(event, PushHint | PullRequestHint):
            self.metrics.webhooks.inc(forge=forge.value, outcome="ignored")
            return 202, {"status": "ignored"}
        try:
            if isinstance(event, PushHint):
                self.on_push(event)
            else:
                self.on_pull_request(event)
        except Exception:
            log.exception("webhook callback for %s failed", forge.value)
            self.metrics.webhooks.inc(forge=forge.value, outcome="failed")
            return 500, {"error": "the agent could not take the event"}
        self.metrics.webhooks.inc(forge=forge.value, outcome="accepted")
        return 202, {"status": "accepted"}


class _QuietServer(ThreadingHTTPServer):
    """A threading server whose broken connections make a log line, not a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        log.debug("connection from %s ended: %s", client_address, type(error).__name__)


def _handler_for(server: AgentServer) -> type[BaseHTTPRequestHandler]:
    class AgentHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = server.config.read_timeout
        server_version = "gitops-agent"
        sys_version = ""

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), printable(format % args))

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send_json(200, {"status": "ok"})
            elif self.path == "/readyz":
                ready = server.health.ready
                self._send_json(200 if ready else 503, {"ready": ready})
            elif self.path == "/metrics":
                self._send(200, server.metrics.render().encode(), CONTENT_TYPE)
            else:
                self._send_page()

        def _send_page(self) -> None:
            headers = single_headers(self.headers.items())
            found = server.pages(self.path, headers) if server.pages is not None else None
            if found is None:
                self._send_json(404, {"error": "not found"})
                return
            self._send(found.status, found.body, found.content_type, found.headers)

        def do_POST(self) -> None:
            prefix, _, name = self.path.partition("?")[0].rpartition("/")
            forge = next((f for f in Forge if f.value == name), None)
            if prefix != "/webhooks" or forge is None:
                self._send_json(404, {"error": "not found"}, close=True)
                return
            try:
                length = content_length(
                    self.headers.get_all("Content-Length") or [],
                    self.headers.get_all("Transfer-Encoding") or [],
                    limit=server.config.max_body_bytes,
                )
                headers = single_headers(self.headers.items())
                body = self._read_body(length)
            except WebhookRefusedError as refused:
                self.close_connection = True
                self._send_json(*server.refuse(forge, refused, peer=self._peer()))
                return
            except OSError:  # the peer went away while sending its body
                self.close_connection = True
                return
            status, answer = server.handle_webhook(forge, headers, body, peer=self._peer())
            self._send_json(status, answer)

        def _read_body(self, length: int) -> bytes:
            """Exactly ``length`` bytes, within ``read_timeout`` in all (not per read)."""
            deadline = time.monotonic() + server.config.read_timeout
            chunks: list[bytes] = []
            missing = length
            try:
                while missing > 0:
                    self.connection.settimeout(max(deadline - time.monotonic(), 0.001))
                    chunk = self.rfile.read1(missing)
                    if not chunk:
                        raise WebhookRefusedError(
                            Refusal.SHORT_BODY, "body shorter than Content-Length"
                        )
                    chunks.append(chunk)
                    missing -= len(chunk)
            except TimeoutError:
                raise WebhookRefusedError(
                    Refusal.BODY_TIMEOUT, f"body not received within {server.config.read_timeout} s"
                ) from None
            finally:
                self.connection.settimeout(server.config.read_timeout)
            return b"".join(chunks)

        def _peer(self) -> str:
            host, port = self.client_address[:2]
            return f"{host}:{port}"

        def _send_json(self, status: int, body: dict[str, Any], *, close: bool = False) -> None:
            if close:
                self.close_connection = True
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(
            self,
            status: int,
            payload: bytes,
            content_type: str,
            extra: tuple[tuple[str, str], ...] = (),
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in extra:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the peer is gone: nobody to answer
                self.close_connection = True

    return AgentHandler
