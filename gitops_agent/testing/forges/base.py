"""Shared machinery of the forge API emulators: HTTP server, routing, records, faults.

A ``ForgeEmulator`` is a real HTTP server on 127.0.0.1 (free port; ``serving.LocalHTTPServer``)
run in a thread while its ``with`` block lasts. Subclasses (GitHub, GitLab, Gitea, Bitbucket)
declare routes as ``(method, regex, handler)`` and the forge's error bodies; this base keeps
the state tests inspect: statuses posted per repository and SHA, pull requests, comments and
who wrote them (the token's user is ``user``), every request seen, a queue of injected
failures (``fail_next``, optionally for one method and path, optionally after the request
took effect) and hostile answers a test substitutes for a route's (``tamper``), and the
repositories' issues (``tracker``, served by ``forges.issues``). Used by the reporter tests,
the preview tests and the drift tests.
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
from gitops_agent.testing.forges.tracker import IssueTracker

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
    body: Any = None  # JSON, or bytes sent as they are
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
    """A pull (merge) request of an emulated repository; ``state`` open, closed or merged."""

    number: int
    head_sha: str
    head_ref: str
    base_ref: str = "main"
    head_repository: str = ""  # empty: same repository (not a fork)
    title: str = "change manifests"
    state: str = "open"


@dataclass(slots=True)
class Comment:
    """A comment on a pull request and the login of its author."""

    id: int
    number: int
    body: str
    author: str = ""


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected failure: answer ``status`` (with ``Retry-After`` when given).

    ``method`` and ``path`` (a regex searched in the path) choose the requests it hits;
    ``after``: the request is served first (a comment is created...), then the answer lost.
    """

    status: int
    retry_after: str | None = None
    method: str | None = None
    path: str | None = None
    after: bool = False

    def hits(self, request: Request) -> bool:
        """True when this fault applies to ``request``."""
        if self.method is not None and request.method != self.method:
            return False
        return self.path is None or re.search(self.path, request.path) is not None


Handler = Callable[[Request, re.Match[str]], Response]
Tamper = Callable[[Request], Response]


class ForgeEmulator:
    """Base class: state, faults and the HTTP server. Subclasses add ``routes``."""

    api_prefix = ""

    def __init__(
        self, *, token: str, repositories: Iterable[str], user: str = "gitops-agent-bot"
    ) -> None:
        self.token = token
        self.user = user
        self.repositories = list(repositories)
        self.requests: list[Request] = []
        self.pull_requests: dict[str, list[PullRequest]] = {r: [] for r in self.repositories}
        self._statuses: dict[tuple[str, str], list[PostedStatus]] = {}
        self._comments: dict[tuple[str, int], list[Comment]] = {}
        self._faults: list[Fault] = []
        self._tampers: list[tuple[str, str, Tamper]] = []
        self._ids: dict[tuple[str, str], int] = {}
        self._next_id = 1000
        self.tracker = IssueTracker()
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
        return f"{self.origin}{self.api_prefix}"

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``: what absolute URLs in answers start with."""
        assert self._http is not None, "use the emulator inside its with block"
        return self._http.url

    def fail_next(
        self,
        count: int,
        *,
        status: int = 503,
        retry_after: str | None = None,
        method: str | None = None,
        path: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer the next ``count`` requests (of ``method`` on a ``path`` matching the regex,
        when given) with ``status`` and ``Retry-After``; ``after``: serve them, then fail."""
        fault = Fault(status, retry_after, method, path, after)
        with self._lock:
            self._faults.extend(fault for _ in range(count))

    def tamper(self, method: str, pattern: str, respond: Tamper) -> None:
        """Answer ``method`` requests whose path matches ``pattern`` (in full) with
        ``respond(request)`` instead of the forge's answer: hostile or broken answers."""
        with self._lock:
            self._tampers.append((method, self.api_prefix + pattern, respond))

    def user_id(self, login: str) -> int:
        """The numeric id of user ``login`` (stable for the emulator's life)."""
        return self._numeric_id("user", login)

    def repo_id(self, full_name: str) -> int:
        """The numeric id of repository ``full_name`` (stable for the emulator's life)."""
        return self._numeric_id("repo", full_name)

    def _numeric_id(self, kind: str, name: str) -> int:
        with self._lock:
            return self._ids.setdefault((kind, name), 1 + len(self._ids))

    def close_pull(self, repository: str, number: int, *, merged: bool = False) -> None:
        """Close (or merge) pull request ``number``."""
        with self._lock:
            pull = self.find_pull(repository, number)
            assert pull is not None, f"no pull request {number} in {repository}"
            pull.state = "merged" if merged else "closed"

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

    def add_comment(self, repository: str, number: int, body: str, *, author: str = "") -> Comment:
        """A comment on ``number`` by ``author`` (default: the token's user)."""
        comment = Comment(self.new_id(), number, body, author or self.user)
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
        """Record ``request``, apply an injected fault if one is queued for it, else route it."""
        with self._lock:
            self.requests.append(request)
            fault = next((f for f in self._faults if f.hits(request)), None)
            if fault is not None:
                self._faults.remove(fault)
            tampered = [
                respond
                for method, pattern, respond in self._tampers
                if method == request.method and re.fullmatch(pattern, request.path)
            ]
        if fault is not None and not fault.after:
            return self._fault_answer(fault)
        response = tampered[-1](request) if tampered else self.route(request)
        return self._fault_answer(fault) if fault is not None else response

    def _fault_answer(self, fault: Fault) -> Response:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return Response(fault.status, self.error(fault.status, "injected failure").body, headers)

    def route(self, request: Request) -> Response:
        """The forge's own answer to ``request`` (what a ``tamper`` may start from)."""
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


def _payload(body: Any) -> bytes:
    """A response body as sent: bytes as they are (a broken answer), else JSON."""
    if isinstance(body, bytes):
        return body
    return b"" if body is None else json.dumps(body).encode()


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
            payload = _payload(response.body)
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client read enough
                self.close_connection = True

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
