"""Shared machinery of the forge API emulators: HTTP server, routing, records, faults.

A ``ForgeEmulator`` is a real HTTP server on 127.0.0.1 (free port; ``serving.LocalHTTPServer``)
run in a thread while its ``with`` block lasts. Subclasses (GitHub, GitLab, Gitea, Bitbucket)
declare routes as ``(method, regex, handler)`` and the forge's error bodies; this base keeps
the state tests inspect: statuses posted per repository and SHA, pull requests, comments,
every request seen, and a queue of injected failures (``fail_next``). Used by the reporter tests
and, later, by the preview tests.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from gitops_agent.testing.forges.serving import LocalHTTPServer

MAX_BODY = 1 << 20
HEX_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the emulator saw it."""

    method: str
    path: str  # as sent: percent-encoding kept, so ``group%2Fproject`` stays one segment
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def header(self, name: str) -> str:
        """A header value by case-insensitive name, or ``""``."""
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        """The body parsed as JSON; ``ValueError`` when it is not."""
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True, slots=True)
class Response:
    """What a route answers."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PostedStatus:
    """A commit status as posted, in the forge's own words (its state names)."""

    context: str
    state: str
    description: str
    target_url: str
    raw: Mapping[str, Any]


@dataclass(slots=True)
class PullRequest:
    """An open pull (merge) request of an emulated repository."""

    number: int
    head_sha: str
    head_ref: str
    base_ref: str = "main"
    head_repository: str = ""  # empty: same repository (not a fork)
    title: str = "change manifests"
    state: str = "open"


@dataclass(slots=True)
class Comment:
    """A comment on a pull request."""

    id: int
    number: int
    body: str


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected failure: answer ``status`` (with ``Retry-After`` when given)."""

    status: int
    retry_after: str | None = None


Handler = Callable[[Request, re.Match[str]], Response]


class ForgeEmulator:
    """Base class: state, faults and the HTTP server. Subclasses add ``routes``."""

    api_prefix = ""

    def __init__(self, *, token: str, repositories: Iterable[str]) -> None:
        self.token = token
        self.repositories = list(repositories)
        self.requests: list[Request] = []
        self.pull_requests: dict[str, list[PullRequest]] = {r: [] for r in self.repositories}
        self._statuses: dict[tuple[str, str], list[PostedStatus]] = {}
        self._comments: dict[tuple[str, int], list[Comment]] = {}
        self._faults: list[Fault] = []
        self._next_id = 1000
        self._lock = threading.RLock()
        self._http: LocalHTTPServer | None = None

    # ----- what subclasses provide
    def routes(self) -> list[tuple[str, str, Handler]]:
        """``(method, path regex, handler)`` triples; the regex is matched in full."""
        return []

    def error(self, status: int, message: str) -> Response:
        """The forge's error body for ``status``."""
        return Response(status, {"message": message})

    # ----- control API for tests
    @property
    def base_url(self) -> str:
        """The API root a reporter is configured with (``http://127.0.0.1:PORT`` + prefix)."""
        assert self._http is not None, "use the emulator inside its with block"
        return f"{self._http.url}{self.api_prefix}"

    def fail_next(self, count: int, *, status: int = 503, retry_after: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and ``Retry-After``)."""
        with self._lock:
            self._faults.extend(Fault(status, retry_after) for _ in range(count))

    def statuses(self, repository: str, sha: str) -> list[PostedStatus]:
        """Every status posted for ``sha`` in ``repository``, oldest first."""
        with self._lock:
            return list(self._statuses.get((repository, sha), []))

    def add_pull_request(self, repository: str, pull: PullRequest) -> None:
        """Open a pull request in ``repository``."""
        with self._lock:
            self.pull_requests[repository].append(pull)

    def comments(self, repository: str, number: int) -> list[Comment]:
        """The comments of pull request ``number``, oldest first."""
        with self._lock:
            return list(self._comments.get((repository, number), []))

    # ----- helpers for subclasses
    def record_status(self, repository: str, sha: str, status: PostedStatus) -> None:
        with self._lock:
            self._statuses.setdefault((repository, sha), []).append(status)

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def find_pull(self, repository: str, number: int) -> PullRequest | None:
        with self._lock:
            return next((p for p in self.pull_requests[repository] if p.number == number), None)

    def add_comment(self, repository: str, number: int, body: str) -> Comment:
        comment = Comment(id=self.new_id(), number=number, body=body)
        with self._lock:
            self._comments.setdefault((repository, number), []).append(comment)
        return comment

    def find_comment(self, repository: str, comment_id: int) -> Comment | None:
        with self._lock:
            for (repo, _), comments in self._comments.items():
                for comment in comments:
                    if repo == repository and comment.id == comment_id:
                        return comment
        return None

    # ----- dispatch
    def dispatch(self, request: Request) -> Response:
        """Record ``request``, apply an injected fault if queued, else route it."""
        with self._lock:
            self.requests.append(request)
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            response = self.error(fault.status, "injected failure")
            return Response(fault.status, response.body, headers)
        for method, pattern, handler in self.routes():
            match = re.fullmatch(pattern, request.path)
            if match and method == request.method:
                return handler(request, match)
        return self.error(404, "Not Found")

    def __enter__(self) -> Self:
        self._http = LocalHTTPServer(_handler_for(self), name=type(self).__name__)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            self._http.stop()
        self._http = None


def json_body(request: Request) -> dict[str, Any] | None:
    """The JSON object body of ``request`` when its content type says JSON, else ``None``."""
    if not request.header("Content-Type").lower().startswith("application/json"):
        return None
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _handler_for(emulator: ForgeEmulator) -> type[BaseHTTPRequestHandler]:
    class ForgeHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(emulator.error(413, "Request Entity Too Large"))
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(self.command, parts.path, query, headers, body)
            self._send(emulator.dispatch(request))

        def _send(self, response: Response) -> None:
            payload = b"" if response.body is None else json.dumps(response.body).encode()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

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

    return ForgeHandler
