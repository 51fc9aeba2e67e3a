"""The status page's routes: ``GET /``, ``/favicon.svg``, ``/cycles/<seq>``, ``/api/v1/resources``,
``/api/v1/history``, ``/api/v1/history/<seq>`` and ``/api/v1/bundles/<name>/graph``.

``StatusPages(board, token=...)`` answers a GET from the board's newest snapshot (never the
cluster) with an ETag (a repeated request with ``If-None-Match`` gets 304), ``Cache-Control:
no-cache``, a Content-Security-Policy that admits only the page's own style and script, and
``X-Content-Type-Options: nosniff``. With a token (``server.uiTokenEnv``) every route asks for
it: ``Authorization: Bearer <token>``, or the ``gitops_agent_ui`` cookie, which ``/?token=``
sets (HttpOnly, SameSite=Strict) before redirecting to the page without the token in its
address; tokens are compared in constant time, and a wrong one is a 401 that says how to
log in, never what was sent. Called by ``service.server`` for GETs it does not serve itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gitops_agent.core.history import to_json
from gitops_agent.service.ui.board import StatusBoard
from gitops_agent.service.ui.page import CSP, ICON, cycle_page, page
from gitops_agent.service.ui.snapshot import graph_json, history_json, resources_json

COOKIE = "gitops_agent_ui"
HTML = "text/html; charset=utf-8"
JSON = "application/json"
MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class Response:
    """An answer: status, body, content type and extra headers."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


class StatusPages:
    """The page and its JSON API over one board."""

    def __init__(self, board: StatusBoard, *, token: str = "") -> None:
        self.board = board
        self._token = token.encode()

    def answer(self, target: str, headers: Mapping[str, str]) -> Response | None:
        """The answer to ``GET target`` (``headers`` lower-cased), or None for a path that is
        not the page's."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query[:2048])
        if path == "/favicon.svg":
            return _cached(Response(200, ICON.encode(), "image/svg+xml"), "")
        if not (path == "/" or path.startswith(("/cycles/", "/api/v1/"))):
            return None
        if self._token:
            login = self._login(path, query)
            if login is not None:
                return login
            if not self._allowed(headers):
                return _json(
                    401, {"error": "log in: /?token=<token>, or send Authorization: Bearer <token>"}
                )
        found = self._route(path, query)
        return _cached(found, headers.get("if-none-match", ""))

    def _route(self, path: str, query: Mapping[str, list[str]]) -> Response:
        snapshot = self.board.snapshot
        if path == "/":
            text = (query.get("q") or [""])[0][:MAX_QUERY]
            return Response(200, page(snapshot, query=text).encode(), HTML)
        if path == "/api/v1/resources":
            return _json(200, resources_json(snapshot))
        if path == "/api/v1/history":
            return _json(200, history_json(snapshot))
        for prefix, html in (("/cycles/", True), ("/api/v1/history/", False)):
            if path.startswith(prefix):
                return self._cycle(path.removeprefix(prefix), html=html)
        name = path.removeprefix("/api/v1/bundles/").removesuffix("/graph")
        if path.startswith("/api/v1/bundles/") and path.endswith("/graph"):
            graph = next((g for g in snapshot.graphs if g.bundle.name == name), None)
            if graph is not None:
                return _json(200, graph_json(graph))
            return _json(404, {"error": f"no bundle named {name[:100]!r} is applied"})
        return _json(404, {"error": "not found"})

    def _cycle(self, text: str, *, html: bool) -> Response:
        snapshot = self.board.snapshot
        seq = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else -1
        found = next((c for c in snapshot.cycles if c.seq == seq), None)
        if found is None:
            return _json(404, {"error": f"no cycle {text[:20]!r} in the history"})
        if html:
            return Response(200, cycle_page(snapshot.agent, found).encode(), HTML)
        return _json(200, to_json(found))

    def _login(self, path: str, query: Mapping[str, list[str]]) -> Response | None:
        """``/?token=``: a right token becomes the cookie; a wrong one a 401."""
        given = query.get("token")
        if path != "/" or not given:
            return None
        if not hmac.compare_digest(given[0].encode(), self._token):
            return _json(401, {"error": "wrong token"})
        cookie = f"{COOKIE}={given[0]}; HttpOnly; SameSite=Strict; Path=/"
        return Response(303, b"", HTML, (("Location", "/"), ("Set-Cookie", cookie)))

    def _allowed(self, headers: Mapping[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self._token):
            return True
        try:
            jar = SimpleCookie(headers.get("cookie", ""))
        except CookieError:
            return False
        morsel = jar.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), self._token)


def _json(status: int, data: Any) -> Response:
    return Response(status, json.dumps(data, indent=1).encode(), JSON)


def _cached(found: Response, if_none_match: str) -> Response:
    """ETag, revalidation and the security headers."""
    security = (
        ("Cache-Control", "no-cache"),
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    )
    if found.status != 200:
        return Response(found.status, found.body, found.content_type, found.headers + security)
    tag = '"' + hashlib.sha256(found.body).hexdigest()[:32] + '"'
    headers = (("ETag", tag), *security)
    if tag in (t.strip() for t in if_none_match.split(",")):
        return Response(304, b"", found.content_type, headers)
    return Response(200, found.body, found.content_type, headers)
